"""What the rollup reads inside a tenant schema: overview figures and registered metrics."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_tenants.utils import tenant_context

from catalog.actions import update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Release, Service
from catalog.releases import publish_release
from stats import collectors
from stats.builtin import overview_figures
from stats.collectors import CollectorError, Metric, collect_metrics, register
from tenants.models import Tenant
from tests.stats.conftest import SIM, Customised, accept_admin_invitation


def by_agency(tenant: Tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {m.dimension: m.value for m in collect_metrics() if m.name == "services.by_agency"}


def test_fresh_tenant_figures(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        figures = overview_figures()
        services = LocalService.objects.count()
    assert services > 100  # the shipped catalogue
    assert figures.master_version == Release.objects.latest("version").version
    assert figures.overlay_version is None
    assert (figures.services_total, figures.services_enabled) == (services, services)
    assert (figures.services_local, figures.services_overridden) == (0, 0)
    assert figures.pending_conflicts == 0
    # The admin was invited at provisioning but has not accepted yet.
    assert figures.admins_active == 0
    assert figures.last_activity is not None  # the seeding and the invitation are audited


def test_customisations_are_counted_in_a_only(
    tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised
) -> None:
    with tenant_context(tenant_a):
        a = overview_figures()
    with tenant_context(tenant_b):
        b = overview_figures()
    n = customised_a.services_before
    assert a.services_total == n + 1  # the local service
    assert a.services_enabled == n  # + local − disabled KTP
    assert (a.services_local, a.services_overridden) == (1, 1)
    assert (b.services_total, b.services_enabled) == (n, n)
    assert (b.services_local, b.services_overridden) == (0, 0)

    agencies_a, agencies_b = by_agency(tenant_a), by_agency(tenant_b)
    assert agencies_a["upt-pulau"] == 1 and "upt-pulau" not in agencies_b
    assert agencies_a[customised_a.agency_of_ktp] == agencies_b[customised_a.agency_of_ktp] - 1
    assert sum(agencies_a.values()) == a.services_enabled
    assert sum(agencies_b.values()) == b.services_enabled


def test_a_reverted_override_is_no_longer_counted(
    tenant_a: Tenant, customised_a: Customised
) -> None:
    with tenant_context(tenant_a):
        local.revert_field(LocalService.objects.get(key=SIM), "fee_note", acting_user=None)
        assert overview_figures().services_overridden == 0


def test_pending_conflicts_count_fields(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        sim = LocalService.objects.get(key=SIM)
        local.override_field(sim, "fee", 150000, acting_user=None)
        local.override_field(sim, "fee_note", "Bayar di Bank Riau", acting_user=None)
    update_master_service(
        Service.objects.get(key=SIM),
        {"fee": 125000, "fee_note": "Bayar di bank persepsi"},
        acting_user=None,
    )
    release = publish_release(acting_user=None)
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    apply_sync(tenant_b, latest_upstream(), acting_user=None)
    with tenant_context(tenant_a):
        a = overview_figures()
    with tenant_context(tenant_b):
        b = overview_figures()
    assert (a.pending_conflicts, a.master_version) == (2, release.version)
    assert (b.pending_conflicts, b.master_version) == (0, release.version)


def test_active_admins_are_those_who_accepted(tenant_a: Tenant, tenant_b: Tenant) -> None:
    accept_admin_invitation(tenant_a, "admin@alpha.go.id")
    with tenant_context(tenant_a):
        figures = overview_figures()
    with tenant_context(tenant_b):
        assert overview_figures().admins_active == 0
    assert figures.admins_active == 1
    user = accept_admin_invitation(tenant_a, "kedua@alpha.go.id")
    with tenant_context(tenant_a):
        assert overview_figures().admins_active == 2
        user.is_active = False
        user.save()
        assert overview_figures().admins_active == 1


# --- The registry --------------------------------------------------------------------------


@pytest.fixture
def clean_registry() -> Iterator[None]:
    before = collectors.registered()
    yield
    collectors._registry.clear()
    collectors._registry.update(before)


def test_a_registered_collector_runs_in_each_tenant_schema(
    tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised, clean_registry: None
) -> None:
    @register("demo")
    def demo() -> list[Metric]:
        local_services = LocalService.objects.filter(origin="local").count()
        return [
            Metric("demo.local_services", local_services),
            Metric("demo.score", Decimal("82.5")),
        ]

    with tenant_context(tenant_a):
        a = {m.name: m.value for m in collect_metrics() if m.name.startswith("demo.")}
    with tenant_context(tenant_b):
        b = {m.name: m.value for m in collect_metrics() if m.name.startswith("demo.")}
    assert a == {"demo.local_services": 1, "demo.score": Decimal("82.5")}
    assert b == {"demo.local_services": 0, "demo.score": Decimal("82.5")}


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ([("demo.x", 1)], "not a stats.collectors.Metric"),
        ([Metric("other.x", 1)], "must start with 'demo.'"),
        ([Metric("demo", 1)], "must start with 'demo.'"),
        ([Metric("demo.Bad Name", 1)], "must start with 'demo.'"),
        ([Metric("demo.x", 1.5)], "floats are not exact"),
        ([Metric("demo.x", True)], "use an int or a Decimal"),
        ([Metric("demo.x", Decimal("NaN"))], "out of range"),
        ([Metric("demo.x", 10**17)], "out of range"),
        ([Metric("demo.x", 1, "d" * 101)], "at most 100 characters"),
        ([Metric("demo.x", 1), Metric("demo.x", 2)], "twice"),
    ],
)
def test_bad_collector_output_is_refused_by_name(
    tenant_a: Tenant, clean_registry: None, returned: list[object], message: str
) -> None:
    register("demo")(lambda: returned)
    with tenant_context(tenant_a), pytest.raises(CollectorError, match=message) as caught:
        collect_metrics()
    assert "collector 'demo'" in str(caught.value)


def test_collector_names_are_checked_and_unique(clean_registry: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="lower-case"):
        register("Queue")
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        register("services")(lambda: [])
