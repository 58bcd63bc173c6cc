"""Syncing a tenant's catalogue to a new upstream release: plan, then apply.

The plan is a three-way merge per service (``catalog.merge``): base = what the tenant last
synced, upstream = the new release, local = the tenant's overrides. Applying it is atomic per
tenant and idempotent: a second run finds nothing to do. ``sync_all`` walks every tenant,
one transaction each, so a failure in one leaves the others synced and is reported by name.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from catalog.local.models import LocalAgency, LocalService, SyncState
from catalog.merge import FieldChange, merge_service
from catalog.models import Release
from catalog.releases import SERVICE_FIELDS, format_change
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

# The fields a master service's merge covers: the Standar Pelayanan components plus where
# the service sits (agency and categories, by value).
SYNCED_FIELDS: tuple[str, ...] = (*SERVICE_FIELDS, "agency_code", "agency_name", "category_codes")

ServiceAction = Literal["add", "update", "retire", "restore", "skip"]


@dataclass
class ServicePlan:
    """What a sync does to one service."""

    key: str
    name: str
    action: ServiceAction
    changes: list[FieldChange] = field(default_factory=list)
    note: str = ""


@dataclass
class Upstream:
    """A version of the catalogue a tenant can sync to: a master release, possibly with the
    tenant's province overlay composed on top."""

    version: int  # the master release
    services: dict[str, dict[str, Any]]  # key → synced field values
    agencies: dict[str, dict[str, Any]]
    overlay_version: int | None = None
    # Whether services new upstream start enabled (the province's choice; off by default).
    new_services_enabled: bool = False

    @property
    def label(self) -> str:
        overlay = f" + province overlay {self.overlay_version}" if self.overlay_version else ""
        return f"release {self.version}{overlay}"


@dataclass
class SyncPlan:
    """Everything a sync of one tenant would do, service by service."""

    tenant: str
    from_version: int | None
    to_version: int
    from_overlay: int | None = None
    to_overlay: int | None = None
    services: list[ServicePlan] = field(default_factory=list)
    # Fields awaiting the admin's decision once this plan is applied (old and new ones).
    open_conflicts: int = 0

    def counts(self) -> dict[str, int]:
        """Applied / kept / conflict / converged fields and added / retired / restored services."""
        counts: Counter[str] = Counter()
        for service in self.services:
            if service.action in {"add", "retire", "restore", "skip"}:
                counts[{"add": "added", "retire": "retired", "restore": "restored",
                        "skip": "skipped"}[service.action]] += 1  # fmt: skip
            for change in service.changes:
                counts[change.action] += 1
        keys = (
            "applied",
            "kept",
            "conflict",
            "converged",
            "added",
            "retired",
            "restored",
            "skipped",
        )
        return {k: counts.get(k, 0) for k in keys}

    @property
    def changes_anything(self) -> bool:
        counts = self.counts()
        moved = (self.from_version, self.from_overlay) != (self.to_version, self.to_overlay)
        return moved or any(counts[k] for k in counts if k != "kept")

    def render(self) -> str:
        """The plan as an officer or operator reads it."""

        def label(version: int | None, overlay: int | None) -> str:
            return f"release {version or '-'}" + (
                f" + province overlay {overlay}" if overlay else ""
            )

        head = (
            f"Sync plan for {self.tenant}: {label(self.from_version, self.from_overlay)} → "
            f"{label(self.to_version, self.to_overlay)}"
        )
        lines = [head]
        symbols = {"applied": "↓", "kept": "=", "conflict": "!", "converged": "≡"}
        for service in self.services:
            label = {
                "add": "+ added", "retire": "- retired", "restore": "+ restored",
                "update": "~", "skip": "x skipped",
            }[service.action]  # fmt: skip
            lines.append(f"{label} {service.key} — {service.name}{service.note}")
            for change in service.changes:
                if change.action == "kept":
                    lines.append(f"    = {change.field}: kept yours {change.local!r}")
                elif change.action == "conflict":
                    lines.append(
                        f"    ! {change.field}: CONFLICT upstream {change.base!r} → "
                        f"{change.upstream!r}, yours {change.local!r} (kept, needs a decision)"
                    )
                else:
                    lines.append(
                        f"    {symbols[change.action]} {change.field}: "
                        f"{format_change(change.base, change.upstream)}"
                        + (" (same as yours)" if change.action == "converged" else "")
                    )
        counts = self.counts()
        lines.append("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        lines.append(f"open conflicts after this sync: {self.open_conflicts}")
        return "\n".join(lines)


def upstream_from_release(release: Release) -> Upstream:
    """The synced field values of every service in ``release``."""
    return upstream_from_snapshot(release.snapshot, version=release.version)


def upstream_from_snapshot(
    snapshot: dict[str, Any],
    *,
    version: int,
    overlay_version: int | None = None,
    new_services_enabled: bool = False,
) -> Upstream:
    """The synced field values of every service in a release snapshot."""
    agencies = {a["code"]: a for a in snapshot["agencies"]}
    services = {}
    for row in snapshot["services"]:
        values = {name: row.get(name) for name in SERVICE_FIELDS}
        values["agency_code"] = row["agency"]
        values["agency_name"] = agencies[row["agency"]]["name"]
        values["category_codes"] = list(row.get("categories", []))
        services[row["key"]] = values
    return Upstream(
        version=version,
        services=services,
        agencies=agencies,
        overlay_version=overlay_version,
        new_services_enabled=new_services_enabled,
    )


def latest_upstream() -> Upstream | None:
    """The newest master release, as an upstream (read from the public schema)."""
    with schema_context("public"):
        release = Release.objects.order_by("-version").first()
        return upstream_from_release(release) if release else None


def tenant_upstream(tenant: Any) -> Upstream | None:
    """What ``tenant`` syncs to: its province's newest overlay release, else the newest
    master release."""
    from catalog.models import ProvinceOverlay, ProvinceRelease

    with schema_context("public"):
        overlay_release = (
            ProvinceRelease.objects.filter(overlay__province_id=tenant.province_id)
            .select_related("overlay")
            .order_by("-version")
            .first()
        )
        if overlay_release is None:
            upstream = latest_upstream()
            if upstream is not None:
                upstream.new_services_enabled = ProvinceOverlay.objects.filter(
                    province_id=tenant.province_id, new_services_enabled=True
                ).exists()
            return upstream
        return upstream_from_snapshot(
            overlay_release.snapshot,
            version=overlay_release.master_version,
            overlay_version=overlay_release.version,
            new_services_enabled=overlay_release.overlay.new_services_enabled,
        )


def _sync_state() -> SyncState:
    state = SyncState.objects.select_for_update().order_by("pk").first()
    return state or SyncState.objects.create()


def plan_sync(tenant: Any, upstream: Upstream) -> SyncPlan:
    """Work out the sync of ``tenant`` (in its own schema) to ``upstream``; change nothing."""
    plan, _ = _plan(tenant, upstream)
    return plan


def _plan(
    tenant: Any, upstream: Upstream
) -> tuple[SyncPlan, list[tuple[ServicePlan, LocalService | None, Any]]]:
    with tenant_context(tenant):
        state = SyncState.objects.order_by("pk").first()
        plan = SyncPlan(
            tenant=tenant.slug,
            from_version=state.master_version if state else None,
            to_version=upstream.version,
            from_overlay=state.overlay_version if state else None,
            to_overlay=upstream.overlay_version,
        )
        work: list[tuple[ServicePlan, LocalService | None, Any]] = []
        local = {s.key: s for s in LocalService.objects.all()}
        for key, values in upstream.services.items():
            service = local.get(key)
            if service is None:
                entry = ServicePlan(key, values["name_id"] or key, "add")
                work.append((entry, None, values))
            elif service.origin == LocalService.Origin.LOCAL:
                entry = ServicePlan(
                    key, service.name_id, "skip", note=" (key used by a local service)"
                )
            else:
                merged = merge_service(
                    service.base, values, service.overrides, service.conflicts, SYNCED_FIELDS
                )
                plan.open_conflicts += len(merged.conflicts)
                action: ServiceAction = "restore" if service.retired else "update"
                entry = ServicePlan(key, service.name_id, action, merged.changes)
                if service.retired or any(c.action != "kept" for c in merged.changes):
                    work.append((entry, service, merged))
            if entry.action != "update" or entry.changes:
                plan.services.append(entry)
        for key, service in local.items():
            if (
                key not in upstream.services
                and service.origin == LocalService.Origin.MASTER
                and not service.retired
            ):
                entry = ServicePlan(key, service.name_id, "retire")
                plan.services.append(entry)
                work.append((entry, service, None))
    return plan, work


def apply_sync(
    tenant: Any, upstream: Upstream, *, acting_user: Any | None, new_enabled: bool | None = None
) -> SyncPlan:
    """Sync ``tenant`` to ``upstream`` in one transaction; return the plan it carried out.

    Services new upstream start disabled unless the province chose otherwise (or
    ``new_enabled`` says so, as seeding does); services gone upstream are retired, never
    deleted.
    """
    if new_enabled is None:
        new_enabled = upstream.new_services_enabled
    with tenant_context(tenant), transaction.atomic():
        _sync_state()  # lock: one sync of this tenant at a time
        schedule_refresh(tenant.schema_name)
        plan, work = _plan(tenant, upstream)
        to_create, to_update = [], []
        for entry, service, merged in work:
            if entry.action == "add":
                to_create.append(
                    LocalService(
                        key=entry.key,
                        origin=LocalService.Origin.MASTER,
                        enabled=new_enabled,
                        base=dict(merged),
                        release_version=upstream.version,
                        **merged,
                    )
                )
            elif entry.action == "retire":
                service.retired = True
                to_update.append(service)
            else:
                service.base, service.overrides = merged.base, merged.overrides
                service.conflicts = merged.conflicts
                for name, value in merged.effective().items():
                    setattr(service, name, value)
                service.retired = False
                service.release_version = upstream.version
                to_update.append(service)
        LocalService.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            LocalService.objects.bulk_update(
                to_update,
                [*SYNCED_FIELDS, "base", "overrides", "conflicts", "retired", "release_version"],
                batch_size=500,
            )
        _sync_agencies(upstream, present_if_new=new_enabled)
        state = _sync_state()
        state.master_version = upstream.version
        state.overlay_version = upstream.overlay_version
        state.synced_at = timezone.now()
        state.save()
        if plan.changes_anything:
            record_event(
                "catalogue.synced",
                acting_user=acting_user,
                target=state,
                before={"release": plan.from_version, "overlay": plan.from_overlay},
                after={
                    "release": upstream.version,
                    "overlay": upstream.overlay_version,
                    **plan.counts(),
                },
            )
    return plan


def _sync_agencies(upstream: Upstream, *, present_if_new: bool) -> None:
    existing = {a.code: a for a in LocalAgency.objects.all()}
    new, changed = [], []
    for code, agency in upstream.agencies.items():
        local = existing.get(code)
        if local is None:
            new.append(
                LocalAgency(
                    code=code, name=agency["name"], kind=agency["kind"], present=present_if_new
                )
            )
        elif local.origin == LocalService.Origin.MASTER and (local.name, local.kind) != (
            agency["name"],
            agency["kind"],
        ):
            local.name, local.kind = agency["name"], agency["kind"]
            changed.append(local)
    LocalAgency.objects.bulk_create(new)
    LocalAgency.objects.bulk_update(changed, ["name", "kind"])


@dataclass
class SyncReport:
    """The outcome of syncing many tenants."""

    synced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)
    open_conflicts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def sync_tenants(
    tenants: Iterable[Any],
    upstream: Upstream | None,
    *,
    acting_user: Any | None,
    progress: Callable[[int, int, Any, SyncPlan | None, Exception | None], None] | None = None,
) -> SyncReport:
    """Sync each tenant in its own transaction; a failure is recorded and the walk goes on.

    With ``upstream`` None each tenant syncs to its own upstream (``tenant_upstream``: its
    province's overlay release, else the newest master release).
    """
    tenants = list(tenants)
    by_province: dict[int, Upstream | None] = {}
    report = SyncReport()
    started = time.monotonic()
    for index, tenant in enumerate(tenants, start=1):
        plan, error = None, None
        try:
            target = upstream
            if target is None:
                if tenant.province_id not in by_province:
                    by_province[tenant.province_id] = tenant_upstream(tenant)
                target = by_province[tenant.province_id]
            if target is None:
                raise LookupError("no catalogue release published yet")
            plan = apply_sync(tenant, target, acting_user=acting_user)
        except Exception as exc:  # one tenant's failure must not stop the others
            error = exc
            report.failed[tenant.slug] = f"{exc.__class__.__name__}: {exc}"
        else:
            (report.synced if plan.changes_anything else report.unchanged).append(tenant.slug)
            report.totals.update(plan.counts())
            if plan.open_conflicts:
                report.open_conflicts[tenant.slug] = plan.open_conflicts
        if progress:
            progress(index, len(tenants), tenant, plan, error)
    report.seconds = time.monotonic() - started
    return report
