"""The service catalogue: master (public schema), releases and each tenant's local copy."""
