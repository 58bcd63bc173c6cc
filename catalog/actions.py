"""Master catalogue actions: load the shipped catalogue, publish a release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max

from catalog.models import Agency, Category, Release, Service, StandarPelayanan
from mpp.accounts.models import User
from mpp.audit.actions import record_event

SHIPPED_CATALOGUE = Path(__file__).resolve().parent / "data" / "master.json"

SERVICE_FIELDS = StandarPelayanan.component_names()


def read_shipped_catalogue() -> dict[str, Any]:
    """The master catalogue shipped with SatuAtap (agencies, categories, services)."""
    return json.loads(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))


def load_master_catalogue(data: dict[str, Any], *, acting_user: User | None) -> dict[str, int]:
    """Insert or update master agencies, categories and services from ``data``; one transaction."""
    with transaction.atomic():
        agencies = {}
        for row in data["agencies"]:
            agencies[row["code"]], _ = Agency.objects.update_or_create(
                code=row["code"],
                defaults={k: row.get(k, "") for k in ("name", "kind", "website", "contact")},
            )
        categories = {}
        for row in data["categories"]:
            categories[row["code"]], _ = Category.objects.update_or_create(
                code=row["code"], defaults={"name_id": row["name_id"], "name_en": row["name_en"]}
            )
        for row in data["services"]:
            service, _ = Service.objects.update_or_create(
                key=row["key"],
                defaults={"agency": agencies[row["agency"]]}
                | {f: row[f] for f in SERVICE_FIELDS if f in row},
            )
            service.categories.set([categories[c] for c in row.get("categories", [])])
        counts = {
            "agencies": len(agencies),
            "categories": len(categories),
            "services": len(data["services"]),
        }
        record_event(
            "catalogue.loaded",
            acting_user=acting_user,
            target=None,
            target_type="catalog.master",
            after=counts,
        )
    return counts


def snapshot_master() -> dict[str, Any]:
    """Freeze the live master tables into the release snapshot format."""
    services = []
    for service in Service.objects.select_related("agency").prefetch_related("categories"):
        row: dict[str, Any] = {"key": service.key, "agency": service.agency.code}
        row["categories"] = sorted(c.code for c in service.categories.all())
        row |= {f: getattr(service, f) for f in SERVICE_FIELDS}
        services.append(row)
    return {
        "agencies": [
            {"code": a.code, "name": a.name, "kind": a.kind, "website": a.website,
             "contact": a.contact}
            for a in Agency.objects.all()
        ],
        "categories": [
            {"code": c.code, "name_id": c.name_id, "name_en": c.name_en}
            for c in Category.objects.all()
        ],
        "services": services,
    }  # fmt: skip


def publish_release(*, acting_user: User | None, changelog: str = "") -> Release:
    """Freeze the master catalogue as the next release version."""
    with transaction.atomic():
        # Serialise publishers so two releases never get the same version number.
        list(Release.objects.select_for_update().all().only("id"))
        version = (Release.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        release = Release.objects.create(
            version=version,
            published_by=getattr(acting_user, "email", ""),
            changelog=changelog,
            snapshot=snapshot_master(),
        )
        record_event(
            "catalogue.release_published",
            acting_user=acting_user,
            target=release,
            after={"version": version, "services": len(release.snapshot["services"])},
        )
    return release


def latest_release() -> Release | None:
    """The newest published release, if any."""
    return Release.objects.order_by("-version").first()
