"""Master catalogue actions: load a catalogue, edit services (releases: ``releases``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.models import Agency, Category, Service
from catalog.releases import SERVICE_FIELDS
from catalog.validation import clean_fields, clean_key
from mpp.accounts.models import User
from mpp.audit.actions import record_event

SHIPPED_CATALOGUE = Path(__file__).resolve().parent / "data" / "master.json"


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


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    return clean_fields(data, SERVICE_FIELDS)


def create_master_service(data: dict[str, Any], *, acting_user: User | None) -> Service:
    """Add a service to the master catalogue (live until the next release is published)."""
    key = clean_key(data.get("key"))
    errors: dict[str, list[str]] = {}
    if Service.objects.filter(key=key).exists():
        errors["key"] = [f"a master service with key {key} already exists"]
    agency = Agency.objects.filter(code=data.get("agency")).first()
    if agency is None:
        errors["agency"] = [f"unknown agency code {data.get('agency')!r}"]
    codes = data.get("categories") or []
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        errors["categories"] = ["must be a list of category codes"]
        codes = []
    categories = list(Category.objects.filter(code__in=codes))
    if len(categories) != len(set(codes)):
        known = {c.code for c in categories}
        errors["categories"] = [f"unknown category {c!r}" for c in codes if c not in known]
    try:
        fields = _service_fields(data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        fields = {}
    if "name_id" not in data:
        errors.setdefault("name_id", ["is required"])
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        service = Service.objects.create(key=key, agency=agency, **fields)
        service.categories.set(categories)
        record_event(
            "catalogue.service_created", acting_user=acting_user, target=service, after=fields
        )
    return service


def update_master_service(
    service: Service, changes: dict[str, Any], *, acting_user: User | None
) -> Service:
    """Change fields of a master service (``agency`` and ``categories`` by code)."""
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - set(SERVICE_FIELDS) - {"agency", "categories"}
    if unknown:
        errors["non_field_errors"] = [f"unknown field(s): {', '.join(sorted(unknown))}"]
    try:
        fields = _service_fields(changes)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        fields = {}
    agency = None
    if "agency" in changes:
        agency = Agency.objects.filter(code=changes["agency"]).first()
        if agency is None:
            errors["agency"] = [f"unknown agency code {changes['agency']!r}"]
    categories = None
    if "categories" in changes:
        codes = changes["categories"] or []
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            errors["categories"] = ["must be a list of category codes"]
            codes = []
        categories = list(Category.objects.filter(code__in=codes))
        known = {c.code for c in categories}
        if unknown_codes := [c for c in codes if c not in known]:
            errors["categories"] = [f"unknown category {c!r}" for c in unknown_codes]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        before = {name: getattr(service, name) for name in fields}
        for name, value in fields.items():
            setattr(service, name, value)
        if agency is not None:
            before["agency"] = service.agency.code
            service.agency = agency
        service.save()
        if categories is not None:
            before["categories"] = sorted(c.code for c in service.categories.all())
            service.categories.set(categories)
        record_event(
            "catalogue.service_updated",
            acting_user=acting_user,
            target=service,
            before=before,
            after=fields
            | ({"agency": agency.code} if agency else {})
            | (
                {"categories": sorted(c.code for c in categories)} if categories is not None else {}
            ),
        )
    return service


def delete_master_service(service: Service, *, acting_user: User | None) -> None:
    """Take a service out of the master catalogue; tenants retire it at their next sync."""
    with transaction.atomic():
        record_event(
            "catalogue.service_deleted",
            acting_user=acting_user,
            target=service,
            before={"key": service.key, "name_id": service.name_id},
        )
        service.delete()
