"""The mall's profile and closures over the tenant host's REST API (``/api/v1/mall/``)."""
