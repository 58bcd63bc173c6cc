"""A province's overlay: its own edits and services between the master catalogue and its
tenants, merged with each master release by the same rules as a tenant's catalogue.

The province admin edits the overlay (``set_province_field``, ``add_province_service``),
then ``publish_province_release`` merges it with the newest master release and freezes the
result; the province's tenants sync to that instead of the bare master release.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from catalog.local.sync import SYNCED_FIELDS, upstream_from_release
from catalog.merge import merge_service, set_override
from catalog.models import ProvinceOverlay, ProvinceRelease, ProvinceServiceEdit, Release
from catalog.releases import SERVICE_FIELDS, diff_snapshots, latest_release
from catalog.validation import clean_field, clean_fields, clean_key, service_defaults
from mpp.audit.actions import record_event

PROVINCE_FIELDS: tuple[str, ...] = SERVICE_FIELDS


def overlay_for(province: Any) -> ProvinceOverlay:
    """The province's overlay, created empty on first use."""
    overlay, _ = ProvinceOverlay.objects.get_or_create(province=province)
    return overlay


def _master() -> Release:
    release = latest_release()
    if release is None:
        raise ValidationError({"release": ["no master release has been published yet"]})
    return release


def set_province_field(
    province: Any, key: str, field: str, value: Any, *, acting_user: Any | None
) -> ProvinceServiceEdit:
    """Change one field of a master service for every tenant of ``province``."""
    if field not in PROVINCE_FIELDS:
        raise ValidationError({field: ["this field cannot be changed by a province"]})
    try:
        value = clean_field(field, value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
    master = upstream_from_release(_master())
    with transaction.atomic():
        overlay = overlay_for(province)
        edit = (
            ProvinceServiceEdit.objects.select_for_update().filter(overlay=overlay, key=key).first()
        )
        if edit is None:
            if key not in master.services:
                raise ValidationError(
                    {"key": [f"no master service {key!r} in release {master.version}"]}
                )
            edit = ProvinceServiceEdit(overlay=overlay, key=key, base=master.services[key])
        if edit.origin == ProvinceServiceEdit.Origin.PROVINCE:
            before = edit.values.get(field)
            edit.values = edit.values | {field: value}
        else:
            before = (edit.base | edit.overrides).get(field)
            edit.overrides, edit.conflicts = set_override(
                edit.base, edit.overrides, edit.conflicts, field, value
            )
        edit.save()
        record_event(
            "province_catalogue.field_set",
            acting_user=acting_user,
            target=edit,
            before={field: before},
            after={field: value},
        )
    return edit


def add_province_service(
    province: Any, data: dict[str, Any], *, acting_user: Any | None
) -> ProvinceServiceEdit:
    """Add a service every tenant of ``province`` gets, on top of the master catalogue."""
    master = _master()
    errors: dict[str, list[str]] = {}
    try:
        key = clean_key(data.get("key"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        key = ""
    agencies = {a["code"] for a in master.snapshot["agencies"]}
    categories = {c["code"] for c in master.snapshot["categories"]}
    if key and any(s["key"] == key for s in master.snapshot["services"]):
        errors["key"] = [f"{key} is a master service; change its fields instead"]
    if data.get("agency") not in agencies:
        errors["agency"] = [f"unknown agency {data.get('agency')!r}"]
    unknown = [c for c in data.get("categories") or [] if c not in categories]
    if unknown:
        errors["categories"] = [f"unknown category {c!r}" for c in unknown]
    if not data.get("name_id"):
        errors["name_id"] = ["is required"]
    try:
        fields = clean_fields(data, SERVICE_FIELDS)
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
        fields = {}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        overlay = overlay_for(province)
        if ProvinceServiceEdit.objects.filter(overlay=overlay, key=key).exists():
            raise ValidationError({"key": [f"{key} already exists in this province's overlay"]})
        values = {"agency": data["agency"], "categories": list(data.get("categories") or [])}
        edit = ProvinceServiceEdit.objects.create(
            overlay=overlay,
            key=key,
            origin=ProvinceServiceEdit.Origin.PROVINCE,
            values=values | service_defaults() | fields,
        )
        record_event(
            "province_catalogue.service_added", acting_user=acting_user, target=edit, after=fields
        )
    return edit


def resolve_province_conflict(
    edit: ProvinceServiceEdit, field: str, choice: str, *, acting_user: Any | None
) -> ProvinceServiceEdit:
    """Settle a field both the master and the province changed: take master's or keep ours."""
    if choice not in {"upstream", "mine"}:
        raise ValidationError({"choice": ["choose 'upstream' or 'mine'"]})
    with transaction.atomic():
        edit = ProvinceServiceEdit.objects.select_for_update().get(pk=edit.pk)
        conflict = edit.conflicts.pop(field, None)
        if conflict is None:
            raise ValidationError({field: ["there is no conflict on this field"]})
        if choice == "upstream":
            edit.overrides.pop(field, None)
        edit.save()
        record_event(
            f"province_catalogue.conflict_{'taken' if choice == 'upstream' else 'kept'}",
            acting_user=acting_user,
            target=edit,
            before={field: conflict},
        )
    return edit


def _snapshot_row(key: str, values: dict[str, Any]) -> dict[str, Any]:
    """Synced values (agency_code…) back into a release snapshot row (agency…)."""
    row = {"key": key, "agency": values["agency_code"], "categories": values["category_codes"]}
    return row | {name: values.get(name) for name in SERVICE_FIELDS}


def publish_province_release(
    province: Any, *, acting_user: Any | None, note: str = ""
) -> ProvinceRelease:
    """Merge the overlay with the newest master release and freeze it for the province."""
    master_release = _master()
    master = upstream_from_release(master_release)
    with transaction.atomic():
        overlay = ProvinceOverlay.objects.select_for_update().get(pk=overlay_for(province).pk)
        services = dict(master.services)
        conflicts = 0
        province_only = []
        for edit in overlay.edits.select_for_update():
            if edit.origin == ProvinceServiceEdit.Origin.PROVINCE:
                province_only.append({"key": edit.key, **edit.values})
                continue
            if edit.key not in master.services:
                continue  # gone from the master: gone for the province too (edit kept)
            merged = merge_service(
                edit.base, master.services[edit.key], edit.overrides, edit.conflicts, SYNCED_FIELDS
            )
            edit.base, edit.overrides, edit.conflicts = (
                merged.base,
                merged.overrides,
                merged.conflicts,
            )
            edit.save(update_fields=["base", "overrides", "conflicts"])
            services[edit.key] = merged.effective()
            conflicts += len(merged.conflicts)
        snapshot = {
            "agencies": master_release.snapshot["agencies"],
            "categories": master_release.snapshot["categories"],
            "services": sorted(
                [_snapshot_row(key, values) for key, values in services.items()] + province_only,
                key=lambda row: row["key"],
            ),
        }
        # The first province release is described against the master it adapts.
        previous = overlay.releases.order_by("-version").first()
        before = previous.snapshot if previous else master_release.snapshot
        changes = diff_snapshots(before, snapshot).changelog()
        version = (overlay.releases.aggregate(v=Max("version"))["v"] or 0) + 1
        release = ProvinceRelease.objects.create(
            overlay=overlay,
            version=version,
            master_version=master_release.version,
            published_by=getattr(acting_user, "email", ""),
            changelog=f"{note.strip()}\n\n{changes}".strip(),
            snapshot=snapshot,
        )
        record_event(
            "province_catalogue.release_published",
            acting_user=acting_user,
            target=release,
            after={"version": version, "master": master_release.version, "conflicts": conflicts},
        )
    return release


def set_new_services_enabled(province: Any, enabled: bool, *, acting_user: Any | None) -> None:
    """Choose whether services new upstream start enabled in the province's tenants."""
    with transaction.atomic():
        overlay = overlay_for(province)
        before = overlay.new_services_enabled
        overlay.new_services_enabled = bool(enabled)
        overlay.save(update_fields=["new_services_enabled"])
        record_event(
            "province_catalogue.new_services_enabled",
            acting_user=acting_user,
            target=overlay,
            before={"enabled": before},
            after={"enabled": overlay.new_services_enabled},
        )
