"""Users of both planes: platform/province staff in public, tenant staff in each tenant."""
