"""Seeding a fresh tenant schema from the newest master release."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.utils import schema_context

from catalog.actions import SERVICE_FIELDS
from catalog.local.models import LocalService
from catalog.models import Release


def seed_tenant_catalogue(tenant: Any) -> int:
    """Copy the newest release's services into the current tenant schema; return how many.

    Called inside ``tenant_context(tenant)``. Services start enabled on a new tenant: a
    regency opens with the province's full catalogue and switches off what it lacks.
    """
    assert connection.schema_name == tenant.schema_name
    with schema_context("public"):
        release = Release.objects.order_by("-version").only("version", "snapshot").first()
    if release is None:
        return 0
    agencies = {a["code"]: a["name"] for a in release.snapshot["agencies"]}
    rows = [
        LocalService(
            key=s["key"],
            origin=LocalService.Origin.MASTER,
            agency_code=s["agency"],
            agency_name=agencies[s["agency"]],
            category_codes=s.get("categories", []),
            release_version=release.version,
            **{f: s[f] for f in SERVICE_FIELDS if f in s},
        )
        for s in release.snapshot["services"]
    ]
    LocalService.objects.bulk_create(rows, batch_size=500)
    return len(rows)
