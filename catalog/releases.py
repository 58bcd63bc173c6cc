"""Releases: immutable, numbered snapshots of the master catalogue, and their diffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max

from catalog.models import Agency, Category, Release, Service, StandarPelayanan
from mpp.accounts.models import User
from mpp.audit.actions import record_event

SERVICE_FIELDS = StandarPelayanan.component_names()
# What a service row of a snapshot carries besides its key.
SNAPSHOT_FIELDS = ("agency", "categories", *SERVICE_FIELDS)


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
            for a in Agency.objects.order_by("code")
        ],
        "categories": [
            {"code": c.code, "name_id": c.name_id, "name_en": c.name_en}
            for c in Category.objects.order_by("code")
        ],
        "services": sorted(services, key=lambda s: s["key"]),
    }  # fmt: skip


@dataclass
class SnapshotDiff:
    """What changed between two snapshots."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # key → {field: (old, new)}
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    agencies_changed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.agencies_changed)

    def changelog(self) -> str:
        """A human summary, one line per service."""
        if self.is_empty:
            return "Tidak ada perubahan / no changes."
        lines = [f"+ {key} (baru / added)" for key in self.added]
        lines += [f"- {key} (dihapus / removed)" for key in self.removed]
        lines += [f"~ {key}: {', '.join(sorted(f))}" for key, f in sorted(self.changed.items())]
        lines += [f"~ instansi {code}" for code in self.agencies_changed]
        return "\n".join(lines)

    def render(self) -> str:
        """Every changed field with its old and new value (for `mpp catalogue diff`)."""
        out = [f"+ {key}" for key in self.added] + [f"- {key}" for key in self.removed]
        for key, fields in sorted(self.changed.items()):
            out.append(f"~ {key}")
            for name, (old, new) in sorted(fields.items()):
                out.append(f"    {name}: {format_change(old, new)}")
        out += [f"~ agency {code}" for code in self.agencies_changed]
        return "\n".join(out) if out else "no changes"


def _item(value: Any) -> str:
    if isinstance(value, dict) and "document" in value:
        note = value.get("note")
        return repr(value["document"] + (f" ({note})" if note else ""))
    return repr(value)


def format_change(old: Any, new: Any) -> str:
    """``old → new`` for a value, or the items added and removed for a list."""
    if isinstance(old, list) and isinstance(new, list):
        parts = [f"+ {_item(x)}" for x in new if x not in old]
        parts += [f"- {_item(x)}" for x in old if x not in new]
        if not parts:
            return "reordered"
        return ", ".join(parts)
    return f"{old!r} → {new!r}"


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> SnapshotDiff:
    """Compare two snapshots service by service, field by field."""
    before = {s["key"]: s for s in old.get("services", [])}
    after = {s["key"]: s for s in new.get("services", [])}
    diff = SnapshotDiff(
        added=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys())
    )
    for key in sorted(before.keys() & after.keys()):
        fields = {
            name: (before[key].get(name), after[key].get(name))
            for name in SNAPSHOT_FIELDS
            if before[key].get(name) != after[key].get(name)
        }
        if fields:
            diff.changed[key] = fields
    old_agencies = {a["code"]: a for a in old.get("agencies", [])}
    diff.agencies_changed = sorted(
        a["code"] for a in new.get("agencies", []) if old_agencies.get(a["code"]) != a
    )
    return diff


def latest_release() -> Release | None:
    """The newest published release, if any."""
    return Release.objects.order_by("-version").first()


def publish_release(*, acting_user: User | None, changelog: str = "") -> Release:
    """Freeze the master catalogue as the next release; the changelog is generated from the diff
    with the previous release, after any note given in ``changelog``."""
    with transaction.atomic():
        # Serialise publishers so two releases never get the same version number.
        Release.objects.select_for_update().order_by().values("id").last()
        previous = latest_release()
        version = (Release.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        snapshot = snapshot_master()
        generated = diff_snapshots(previous.snapshot if previous else {}, snapshot).changelog()
        release = Release.objects.create(
            version=version,
            published_by=getattr(acting_user, "email", ""),
            changelog=f"{changelog.strip()}\n\n{generated}".strip(),
            snapshot=snapshot,
        )
        record_event(
            "catalogue.release_published",
            acting_user=acting_user,
            target=release,
            after={"version": version, "services": len(snapshot["services"])},
        )
    return release


def get_release(version: int) -> Release:
    """Release ``version``; raise Release.DoesNotExist with a clear message."""
    try:
        return Release.objects.get(version=version)
    except Release.DoesNotExist:
        raise Release.DoesNotExist(f"no catalogue release {version}") from None
