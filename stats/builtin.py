"""What the rollup reads in each tenant schema today: the overview figures and the
per-agency service counts. Later capabilities add theirs through ``stats.collectors``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.signals import user_logged_in
from django.db.models import Count, Max, Q

from catalog.local.models import LocalService, SyncState
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from stats.collectors import Metric, register


@dataclass(frozen=True)
class OverviewFigures:
    """The typed overview columns of one tenant (``stats.TenantSnapshot`` without keys)."""

    master_version: int | None
    overlay_version: int | None
    pending_conflicts: int
    services_total: int
    services_enabled: int
    services_local: int
    services_overridden: int
    admins_active: int
    last_activity: dt.datetime | None


def overview_figures() -> OverviewFigures:
    """Compute the overview figures of the tenant whose schema is current."""
    state = SyncState.objects.order_by("pk").first()
    counts = LocalService.objects.filter(retired=False).aggregate(
        total=Count("pk"),
        enabled=Count("pk", filter=Q(enabled=True)),
        local=Count("pk", filter=Q(origin=LocalService.Origin.LOCAL)),
        overridden=Count("pk", filter=Q(origin=LocalService.Origin.MASTER) & ~Q(overrides={})),
    )
    # A conflict is a field: a service may carry several (as the sync plan counts them).
    conflicts = sum(
        len(fields)
        for fields in LocalService.objects.exclude(conflicts={}).values_list("conflicts", flat=True)
    )
    admins = (
        User.objects.filter(role=User.Role.TENANT_ADMIN, is_active=True)
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(password="")
        .count()
    )
    last_change = AuditEvent.objects.aggregate(at=Max("created_at"))["at"]
    last_login = User.objects.aggregate(at=Max("last_login"))["at"]
    moments = [m for m in (last_change, last_login) if m is not None]
    return OverviewFigures(
        master_version=state.master_version if state else None,
        overlay_version=state.overlay_version if state else None,
        pending_conflicts=conflicts,
        services_total=counts["total"],
        services_enabled=counts["enabled"],
        services_local=counts["local"],
        services_overridden=counts["overridden"],
        admins_active=admins,
        last_activity=max(moments) if moments else None,
    )


@register("services")
def services_metrics() -> list[Metric]:
    """Services offered to citizens, per agency (the "services by agency" chart)."""
    rows = (
        LocalService.objects.filter(enabled=True, retired=False)
        .values("agency_code")
        .annotate(n=Count("pk"))
        .order_by("agency_code")
    )
    return [Metric("services.by_agency", row["n"], row["agency_code"]) for row in rows]


def _refresh_after_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # A staff sign-in is activity; it changes no audited data, so nothing else schedules it.
    from stats.tasks import schedule_refresh

    schedule_refresh()


def connect_signals() -> None:
    """Refresh a tenant's rollup when its staff sign in (sign-ins in public are no tenant's)."""
    user_logged_in.connect(_refresh_after_sign_in, dispatch_uid="stats.refresh_after_sign_in")
