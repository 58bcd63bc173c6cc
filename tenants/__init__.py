"""Provinces, their regency/city tenants and domains: provisioning, routing, lifecycle."""
