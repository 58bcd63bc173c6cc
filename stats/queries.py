"""Reading the rollup for a province's dashboard, plus the naive per-schema baseline.

``province_overview`` answers from the public rollup in two queries whatever the number of
tenants. ``province_overview_naive`` computes the same rows by opening every tenant's schema
— the source of truth the rollup is rebuilt from, and the bench's baseline. Both return rows
equal field by field for a rollup that is current (``refreshed_at`` aside).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from catalog.models import Agency, ProvinceRelease, Release
from stats.builtin import OverviewFigures, overview_figures
from stats.collectors import Metric, collect_metrics
from stats.models import TenantMetric
from tenants.models import Province, Tenant

Number = int | Decimal
_FOUR_PLACES = Decimal("0.0001")
_FIGURES = tuple(OverviewFigures.__dataclass_fields__)


def as_number(value: Any) -> Number:
    """A metric value as stored (four decimals), as an int when it is whole."""
    exact = Decimal(value).quantize(_FOUR_PLACES)
    return int(exact) if exact == exact.to_integral_value() else exact.normalize()


@dataclass(frozen=True)
class OverviewRow:
    """One tenant on the province overview. Figures are None until first refreshed."""

    slug: str
    name: str
    kind: str
    region_code: str
    status: str
    master_version: int | None = None
    overlay_version: int | None = None
    pending_conflicts: int | None = None
    services_total: int | None = None
    services_enabled: int | None = None
    services_local: int | None = None
    services_overridden: int | None = None
    admins_active: int | None = None
    last_activity: dt.datetime | None = None
    # Plain figures of registered collectors (``stats.collectors``), by metric name.
    metrics: dict[str, Number] = field(default_factory=dict)
    refreshed_at: dt.datetime | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (for the API and ``--json``)."""
        return asdict(self)


def _live_tenants(province: Province) -> QuerySet[Tenant]:
    return (
        Tenant.objects.filter(province=province)
        .exclude(status=Tenant.Status.ARCHIVED)
        .order_by("name", "slug")
    )


_IDENTITY = ("slug", "name", "kind", "region_code", "status")


def province_overview(province: Province) -> list[OverviewRow]:
    """One row per live tenant of ``province``, read from the rollup (two queries)."""
    with schema_context(get_public_schema_name()):
        tenants = list(
            _live_tenants(province).values(
                "pk",
                *_IDENTITY,
                *(f"stats_snapshot__{name}" for name in _FIGURES),
                "stats_snapshot__refreshed_at",
            )
        )
        scalars: dict[int, dict[str, Number]] = defaultdict(dict)
        for tenant_id, name, value in (
            TenantMetric.objects.filter(tenant__in=[t["pk"] for t in tenants], dimension="")
            .order_by("name")
            .values_list("tenant_id", "name", "value")
        ):
            scalars[tenant_id][name] = as_number(value)
    return [
        OverviewRow(
            **{name: t[name] for name in _IDENTITY},
            **{name: t[f"stats_snapshot__{name}"] for name in _FIGURES},
            metrics=scalars.get(t["pk"], {}),
            refreshed_at=t["stats_snapshot__refreshed_at"],
        )
        for t in tenants
    ]


def _scalar_metrics(metrics: list[Metric]) -> dict[str, Number]:
    plain = sorted((m for m in metrics if not m.dimension), key=lambda m: m.name)
    return {m.name: as_number(m.value) for m in plain}


def province_overview_naive(province: Province) -> list[OverviewRow]:
    """The same rows computed by opening every tenant's schema (no rollup involved)."""
    rows = []
    with schema_context(get_public_schema_name()):
        tenants = list(_live_tenants(province))
    for tenant in tenants:
        with tenant_context(tenant):
            figures = overview_figures()
            metrics = collect_metrics()
        rows.append(
            OverviewRow(
                **{name: getattr(tenant, name) for name in _IDENTITY},
                **asdict(figures),
                metrics=_scalar_metrics(metrics),
            )
        )
    return rows


@dataclass(frozen=True)
class AgencyServices:
    """Services offered by one agency, tenant by tenant (a row of the agency chart)."""

    code: str
    name: str
    by_tenant: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_tenant.values())


def services_by_agency(province: Province) -> list[AgencyServices]:
    """Services offered to citizens per agency across ``province``'s tenants, most first."""
    with schema_context(get_public_schema_name()):
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for slug, code, value in (
            TenantMetric.objects.filter(
                name="services.by_agency",
                tenant__province=province,
            )
            .exclude(tenant__status=Tenant.Status.ARCHIVED)
            .order_by("tenant__slug")
            .values_list("tenant__slug", "dimension", "value")
        ):
            counts[code][slug] = int(value)
        names = dict(Agency.objects.filter(code__in=counts).values_list("code", "name"))
    rows = [AgencyServices(code, names.get(code, code), dict(by)) for code, by in counts.items()]
    return sorted(rows, key=lambda row: (-row.total, row.name))


@dataclass(frozen=True)
class ReleaseGroup:
    """The tenants running one catalogue version, and whether it is their newest."""

    master_version: int | None
    overlay_version: int | None
    current: bool
    tenants: list[str]


def catalogue_freshness(province: Province) -> list[ReleaseGroup]:
    """Which catalogue release each live tenant of ``province`` runs, newest first."""
    with schema_context(get_public_schema_name()):
        overlay = (
            ProvinceRelease.objects.filter(overlay__province=province).order_by("-version").first()
        )
        if overlay is not None:
            newest = (overlay.master_version, overlay.version)
        else:
            latest = Release.objects.order_by("-version").values_list("version", flat=True).first()
            newest = (latest, None)
        groups: dict[tuple[int | None, int | None], list[str]] = defaultdict(list)
        for slug, master, overlay_version in _live_tenants(province).values_list(
            "slug", "stats_snapshot__master_version", "stats_snapshot__overlay_version"
        ):
            groups[(master, overlay_version)].append(slug)
    ordered = sorted(
        groups.items(), key=lambda item: (item[0][0] or 0, item[0][1] or 0), reverse=True
    )
    return [
        ReleaseGroup(master, overlay_version, (master, overlay_version) == newest, sorted(slugs))
        for (master, overlay_version), slugs in ordered
    ]
