"""Writing the rollup: recompute one tenant's rows from its schema, or every tenant's."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from mpp.accounts.models import User
from mpp.audit.actions import record_event
from stats.builtin import overview_figures
from stats.collectors import collect_metrics
from stats.models import TenantMetric, TenantSnapshot
from tenants.models import Province, Tenant

# Advisory lock class for "refreshing this tenant's rollup" (the object id is the tenant's
# primary key): two workers refreshing one tenant take turns, so an older reading can never
# overwrite a newer one.
_REFRESH_LOCK_CLASS = 0x5A7A


def refresh_tenant_stats(tenant: Tenant) -> TenantSnapshot:
    """Recompute ``tenant``'s snapshot and metrics from its schema, in one transaction."""
    with schema_context(get_public_schema_name()), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [_REFRESH_LOCK_CLASS, tenant.pk % 2**31],
            )
        with tenant_context(tenant):
            figures = overview_figures()
            metrics = collect_metrics()
        now = timezone.now()
        snapshot, _ = TenantSnapshot.objects.update_or_create(
            tenant=tenant, defaults={**asdict(figures), "refreshed_at": now}
        )
        TenantMetric.objects.filter(tenant=tenant).delete()
        TenantMetric.objects.bulk_create(
            TenantMetric(
                tenant=tenant,
                name=m.name,
                dimension=m.dimension,
                value=m.value,
                refreshed_at=now,
            )
            for m in metrics
        )
    return snapshot


@dataclass
class RebuildReport:
    """The outcome of rebuilding the rollup of many tenants."""

    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def tenants_to_rebuild(
    *, province: Province | None = None, tenant: Tenant | None = None
) -> list[Tenant]:
    """The live (not archived) tenants a rebuild covers, by name."""
    tenants = Tenant.objects.exclude(status=Tenant.Status.ARCHIVED).select_related("province")
    if province is not None:
        tenants = tenants.filter(province=province)
    if tenant is not None:
        tenants = tenants.filter(pk=tenant.pk)
    return list(tenants.order_by("name", "slug"))


def rebuild_all(
    *,
    acting_user: User | None,
    province: Province | None = None,
    tenant: Tenant | None = None,
    progress: Callable[[int, int, Tenant, Exception | None], None] | None = None,
) -> RebuildReport:
    """Refresh the rollup of every live tenant (or one province's, or one tenant).

    Each tenant is refreshed in its own transaction: a failure is recorded by slug and the
    walk goes on, so re-running picks up exactly what failed.
    """
    with schema_context(get_public_schema_name()):
        tenants = tenants_to_rebuild(province=province, tenant=tenant)
        report = RebuildReport()
        started = time.monotonic()
        for index, each in enumerate(tenants, start=1):
            error: Exception | None = None
            try:
                refresh_tenant_stats(each)
            except Exception as exc:  # one tenant's failure must not stop the others
                error = exc
                report.failed[each.slug] = f"{exc.__class__.__name__}: {exc}"
            else:
                report.refreshed.append(each.slug)
            if progress:
                progress(index, len(tenants), each, error)
        report.seconds = time.monotonic() - started
        record_event(
            "stats.rebuilt",
            acting_user=acting_user,
            target=tenant or province,
            target_type="" if (tenant or province) else "stats.tenantsnapshot",
            after={"refreshed": len(report.refreshed), "failed": sorted(report.failed)},
        )
    return report
