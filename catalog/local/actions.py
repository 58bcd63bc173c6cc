"""What a tenant's local admin does to their catalogue. Run inside the tenant's schema.

Each action is atomic, writes the tenant's audit log with the values before and after, and
raises ``ValidationError`` with per-field messages for bad input.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.local.models import LocalAgency, LocalService
from catalog.local.sync import SYNCED_FIELDS
from catalog.merge import set_override
from catalog.releases import SERVICE_FIELDS
from catalog.validation import clean_field, clean_fields, clean_key
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

# Fields a local admin may override on a master service (where it sits stays upstream's).
OVERRIDABLE_FIELDS: tuple[str, ...] = SERVICE_FIELDS


def _locked(service: LocalService) -> LocalService:
    return LocalService.objects.select_for_update().get(pk=service.pk)


def override_field(
    service: LocalService, field: str, value: Any, *, acting_user: Any | None
) -> LocalService:
    """Set the local value of ``field``; upstream's value stays recorded beside it."""
    if field not in (OVERRIDABLE_FIELDS if service.origin == "master" else SERVICE_FIELDS):
        raise ValidationError({field: ["this field cannot be changed locally"]})
    try:
        value = clean_field(field, value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
    with transaction.atomic():
        schedule_refresh()
        service = _locked(service)
        before = getattr(service, field)
        if service.origin == LocalService.Origin.MASTER:
            service.overrides, service.conflicts = set_override(
                service.base, service.overrides, service.conflicts, field, value
            )
        setattr(service, field, value)
        service.save()
        record_event(
            "catalogue.field_overridden",
            acting_user=acting_user,
            target=service,
            before={field: before},
            after={field: value},
        )
    return service


def revert_field(service: LocalService, field: str, *, acting_user: Any | None) -> LocalService:
    """Drop the local value of ``field``: it follows upstream again."""
    if service.origin != LocalService.Origin.MASTER:
        raise ValidationError({field: ["a local service has no upstream to revert to"]})
    with transaction.atomic():
        schedule_refresh()
        service = _locked(service)
        if field not in service.overrides:
            raise ValidationError({field: ["this field is not overridden"]})
        before = service.overrides.pop(field)
        service.conflicts.pop(field, None)
        setattr(service, field, service.base.get(field))
        service.save()
        record_event(
            "catalogue.field_reverted",
            acting_user=acting_user,
            target=service,
            before={field: before},
            after={field: service.base.get(field)},
        )
    return service


def resolve_conflict(
    service: LocalService,
    field: str,
    choice: Literal["upstream", "mine"],
    *,
    acting_user: Any | None,
) -> LocalService:
    """Settle a field changed both upstream and locally: take upstream's value or keep mine."""
    if choice not in {"upstream", "mine"}:
        raise ValidationError({"choice": ["choose 'upstream' or 'mine'"]})
    with transaction.atomic():
        schedule_refresh()
        service = _locked(service)
        conflict = service.conflicts.pop(field, None)
        if conflict is None:
            raise ValidationError({field: ["there is no conflict on this field"]})
        if choice == "upstream":
            service.overrides.pop(field, None)
            setattr(service, field, service.base.get(field))
        service.save()
        record_event(
            f"catalogue.conflict_{'taken' if choice == 'upstream' else 'kept'}",
            acting_user=acting_user,
            target=service,
            before={field: conflict},
            after={field: getattr(service, field)},
        )
    return service


def set_enabled(service: LocalService, enabled: bool, *, acting_user: Any | None) -> LocalService:
    """Offer (or stop offering) a service in this mall."""
    with transaction.atomic():
        schedule_refresh()
        service = _locked(service)
        before = service.enabled
        service.enabled = bool(enabled)
        service.save(update_fields=["enabled", "updated_at"])
        record_event(
            "catalogue.service_enabled" if enabled else "catalogue.service_disabled",
            acting_user=acting_user,
            target=service,
            before={"enabled": before},
            after={"enabled": service.enabled},
        )
    return service


def create_local_service(data: dict[str, Any], *, acting_user: Any | None) -> LocalService:
    """Add a service only this tenant offers (e.g. a document courier to outer islands)."""
    errors: dict[str, list[str]] = {}
    try:
        key = clean_key(data.get("key"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        key = ""
    if key and LocalService.objects.filter(key=key).exists():
        errors["key"] = [f"key {key} is already used in this catalogue"]
    agency = LocalAgency.objects.filter(code=data.get("agency_code")).first()
    if agency is None:
        errors["agency_code"] = [f"unknown agency {data.get('agency_code')!r} in this mall"]
    if not data.get("name_id"):
        errors["name_id"] = ["is required"]
    try:
        fields = clean_fields(data, [*SERVICE_FIELDS, "category_codes"])
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
        fields = {}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        schedule_refresh()
        service = LocalService.objects.create(
            key=key,
            origin=LocalService.Origin.LOCAL,
            agency_code=agency.code,
            agency_name=agency.name,
            **fields,
        )
        record_event(
            "catalogue.local_service_created", acting_user=acting_user, target=service, after=fields
        )
    return service


def create_local_agency(
    *, code: str, name: str, kind: str = "skpd", counters: str = "", acting_user: Any | None
) -> LocalAgency:
    """Add an agency that serves in this mall only (e.g. a regency's own UPT)."""
    agency = LocalAgency(
        code=code.strip(), name=name.strip(), kind=kind, origin="local", counters=counters
    )
    agency.full_clean()
    with transaction.atomic():
        schedule_refresh()
        agency.save()
        record_event(
            "catalogue.local_agency_created",
            acting_user=acting_user,
            target=agency,
            after={"code": agency.code, "name": agency.name},
        )
    return agency


def set_agency_presence(
    agency: LocalAgency, *, present: bool, counters: str = "", acting_user: Any | None
) -> LocalAgency:
    """Say whether an agency serves in this mall, and at which counters (loket)."""
    with transaction.atomic():
        schedule_refresh()
        agency = LocalAgency.objects.select_for_update().get(pk=agency.pk)
        before = {"present": agency.present, "counters": agency.counters}
        agency.present, agency.counters = bool(present), counters.strip()[:200]
        agency.save()
        record_event(
            "catalogue.agency_presence",
            acting_user=acting_user,
            target=agency,
            before=before,
            after={"present": agency.present, "counters": agency.counters},
        )
    return agency


def upstream_and_local(service: LocalService) -> list[dict[str, Any]]:
    """For each field: upstream's value, the local one, and whether it conflicts."""
    rows = []
    for field in SYNCED_FIELDS:
        rows.append(
            {
                "field": field,
                "upstream": service.base.get(field),
                "value": getattr(service, field),
                "overridden": field in service.overrides,
                "conflict": service.conflicts.get(field),
            }
        )
    return rows
