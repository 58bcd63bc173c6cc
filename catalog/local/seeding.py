"""Seeding a fresh tenant schema: its first sync, from the newest master release."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context

from catalog.local.sync import apply_sync, tenant_upstream


def seed_tenant_catalogue(tenant: Any, *, acting_user: Any | None = None) -> int:
    """Sync an empty tenant to its upstream (its province's overlay release, else the newest
    master release); return how many services it got.

    Unlike later syncs, everything starts enabled and every agency present: a regency opens
    with the province's full catalogue and switches off what its mall does not offer.
    """
    upstream = tenant_upstream(tenant)
    if upstream is None:
        return 0
    plan = apply_sync(tenant, upstream, acting_user=acting_user, new_enabled=True)
    # Statistics now, not when autovacuum gets round to it: without them the planner skips
    # the search indexes for the tenant's first searches.
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("ANALYZE local_catalog_localservice")
    return plan.counts()["added"]
