"""The queue API on a tenant's host, at ``/api/v1/queue/``."""
