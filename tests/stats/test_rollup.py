"""The rollup: refreshed rows match the naive per-schema reading, per province, and the
chart reads; rebuilds go on past a failing tenant; the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from catalog.actions import update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Service
from catalog.releases import publish_release
from mpp.audit.models import AuditEvent
from stats import collectors
from stats.collectors import Metric, register
from stats.models import TenantMetric, TenantSnapshot
from stats.queries import (
    catalogue_freshness,
    province_overview,
    province_overview_naive,
    services_by_agency,
)
from stats.rollup import rebuild_all, refresh_tenant_stats
from stats.tasks import refresh_tenant_stats_task
from tenants.actions import archive_tenant, suspend_tenant
from tenants.models import Province, Tenant
from tenants.provisioning import provision_tenant
from tests.conftest import spec
from tests.mpp.test_cli import mpp
from tests.stats.conftest import KTP, SIM, Customised


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_never_refreshed_tenants_show_with_empty_figures(kepri: Province, tenant_a: Tenant) -> None:
    [row] = province_overview(kepri)
    assert (row.slug, row.name, row.status) == ("alpha", "Kota Alpha", "active")
    assert row.services_total is None and row.refreshed_at is None and row.metrics == {}


def test_rollup_matches_the_naive_reading_after_refresh(
    kepri: Province, kaltim: Province, tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised
) -> None:
    rebuild_all(acting_user=None)
    for province in (kepri, kaltim):
        rolled, naive = province_overview(province), province_overview_naive(province)
        assert rolled == naive
        assert all(row.refreshed_at is not None for row in rolled)
    [a] = province_overview(kepri)
    [b] = province_overview(kaltim)
    assert (a.slug, b.slug) == ("alpha", "beta")  # each province sees its own tenant only
    assert (a.services_local, a.services_overridden) == (1, 1)
    assert (b.services_local, b.services_overridden) == (0, 0)
    assert a.services_enabled == customised_a.services_before
    assert b.services_enabled == customised_a.services_before


def test_a_change_makes_the_rollup_stale_until_its_refresh_runs(
    kepri: Province, tenant_a: Tenant
) -> None:
    refresh_tenant_stats(tenant_a)
    with tenant_context(tenant_a):
        local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
    [stale], [truth] = province_overview(kepri), province_overview_naive(kepri)
    assert stale.services_enabled == truth.services_enabled + 1
    refresh_tenant_stats_task.call(tenant_a.schema_name)
    assert province_overview(kepri) == province_overview_naive(kepri)


def test_status_and_name_are_read_live_and_archived_tenants_drop_out(
    kepri: Province, tenant_a: Tenant
) -> None:
    refresh_tenant_stats(tenant_a)
    suspend_tenant(tenant_a, reason="Audit", acting_user=None)
    assert [r.status for r in province_overview(kepri)] == ["suspended"]
    gamma = provision_tenant(spec(kepri), acting_user=None)
    assert [r.slug for r in province_overview(kepri)] == ["gamma", "alpha"]  # by name
    archive_tenant(gamma, acting_user=None)
    assert [r.slug for r in province_overview(kepri)] == ["alpha"]
    assert [r.slug for r in province_overview_naive(kepri)] == ["alpha"]


def test_refresh_replaces_the_tenants_metrics(tenant_a: Tenant, tenant_b: Tenant) -> None:
    refresh_tenant_stats(tenant_a)
    refresh_tenant_stats(tenant_b)
    before = TenantMetric.objects.filter(tenant=tenant_a).count()
    with tenant_context(tenant_a):
        agency = local.create_local_agency(code="upt-pulau", name="UPT Pulau", acting_user=None)
        local.create_local_service(
            {"key": "alpha-antar", "name_id": "Antar berkas", "agency_code": agency.code},
            acting_user=None,
        )
    refresh_tenant_stats(tenant_a)
    assert TenantMetric.objects.filter(tenant=tenant_a).count() == before + 1
    assert TenantMetric.objects.get(tenant=tenant_a, dimension="upt-pulau").value == 1
    assert not TenantMetric.objects.filter(tenant=tenant_b, dimension="upt-pulau").exists()
    assert TenantSnapshot.objects.count() == 2


@pytest.fixture
def clean_registry() -> Iterator[None]:
    before = collectors.registered()
    yield
    collectors._registry.clear()
    collectors._registry.update(before)


def test_a_later_apps_metric_reaches_the_overview(
    kepri: Province, tenant_a: Tenant, clean_registry: None
) -> None:
    @register("survey")
    def survey() -> list[Metric]:
        return [Metric("survey.ikm", Decimal("82.3456")), Metric("survey.responses", 12)]

    refresh_tenant_stats(tenant_a)
    [row] = province_overview(kepri)
    assert row.metrics == {"survey.ikm": Decimal("82.3456"), "survey.responses": 12}
    assert province_overview(kepri) == province_overview_naive(kepri)


def test_rebuild_goes_on_past_a_failing_tenant(
    tenant_a: Tenant, tenant_b: Tenant, clean_registry: None
) -> None:
    from django.db import connection

    @register("flaky")
    def flaky() -> list[Metric]:
        if connection.tenant.slug == "alpha":
            raise RuntimeError("alpha's queue table is locked")
        return []

    seen: list[tuple[int, int, str, bool]] = []
    report = rebuild_all(
        acting_user=None, progress=lambda i, n, t, e: seen.append((i, n, t.slug, e is None))
    )
    assert report.refreshed == ["beta"]
    assert report.failed == {"alpha": "RuntimeError: alpha's queue table is locked"}
    assert seen == [(1, 2, "beta", True), (2, 2, "alpha", False)]  # by name: Kabupaten, Kota
    assert list(TenantSnapshot.objects.values_list("tenant__slug", flat=True)) == ["beta"]
    event = AuditEvent.objects.filter(action="stats.rebuilt").latest("id")
    assert event.after == {"refreshed": 1, "failed": ["alpha"]}


def test_services_by_agency_and_freshness(
    kepri: Province, kaltim: Province, tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised
) -> None:
    gamma = provision_tenant(spec(kepri), acting_user=None)
    update_master_service(Service.objects.get(key=SIM), {"fee": 125000}, acting_user=None)
    release = publish_release(acting_user=None)
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    rebuild_all(acting_user=None)

    agencies = {row.code: row for row in services_by_agency(kepri)}
    assert agencies["upt-pulau"].by_tenant == {"alpha": 1}
    assert agencies["upt-pulau"].name == "upt-pulau"  # a local agency: no master name
    ktp_agency = agencies[customised_a.agency_of_ktp]
    assert ktp_agency.by_tenant["gamma"] == ktp_agency.by_tenant["alpha"] + 1
    assert ktp_agency.name != ktp_agency.code  # the master agency's name
    assert all(set(row.by_tenant) <= {"alpha", "gamma"} for row in agencies.values())
    assert {row.code for row in services_by_agency(kaltim)} >= {customised_a.agency_of_ktp}
    assert "upt-pulau" not in {row.code for row in services_by_agency(kaltim)}

    fresh = catalogue_freshness(kepri)
    assert [(g.master_version, g.current, g.tenants) for g in fresh] == [
        (release.version, True, ["alpha"]),
        (release.version - 1, False, [gamma.slug]),
    ]
    [beta] = catalogue_freshness(kaltim)
    assert (beta.current, beta.tenants) == (False, ["beta"])


# --- CLI -----------------------------------------------------------------------------------


def test_cli_rebuild_and_show(kepri: Province, tenant_a: Tenant, tenant_b: Tenant) -> None:
    out = run("stats", "show", "--province", "21")
    assert "alpha" in out and "not refreshed yet" in out and "beta" not in out
    assert "1 tenants refreshed, 0 failed" in run("stats", "rebuild", "--province", "21")
    assert list(TenantSnapshot.objects.values_list("tenant__slug", flat=True)) == ["alpha"]
    assert "1 tenants refreshed" in run("stats", "rebuild", "--tenant", "beta")
    assert "2 tenants refreshed" in run("stats", "rebuild")
    out = run("stats", "show", "--province", "21")
    assert "alpha" in out and "not refreshed yet" not in out
    data = json.loads(run("stats", "show", "--province", "64", "--json"))
    assert [t["slug"] for t in data["tenants"]] == ["beta"]
    assert data["tenants"][0]["services_total"] > 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "--province", "99"], "no province with code '99' \\(known: 21, 64\\)"),
        (["rebuild", "--province", "x"], "no province with code 'x'"),
        (["rebuild", "--tenant", "nowhere"], "no tenant with slug 'nowhere'"),
        (["rebuild", "--province", "21", "--tenant", "beta"], "beta is not in province 21"),
    ],
)
def test_cli_bad_input(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("stats", *args)
    assert not TenantSnapshot.objects.exists()


def test_cli_refuses_an_archived_tenant(tenant_b: Tenant) -> None:
    archive_tenant(tenant_b, acting_user=None)
    with pytest.raises(CommandError, match="beta is archived"):
        run("stats", "rebuild", "--tenant", "beta")


def test_cli_rebuild_fails_loudly_when_a_tenant_fails(
    tenant_a: Tenant, tenant_b: Tenant, clean_registry: None
) -> None:
    register("broken")(lambda: [Metric("broken.x", 1.5)])
    with pytest.raises(CommandError, match="2 tenants failed; run the command again"):
        run("stats", "rebuild")


@pytest.mark.parametrize("verb", [["stats"], ["stats", "rebuild"], ["stats", "show"], ["worker"]])
def test_help_on_the_new_verbs(db: None, verb: list[str]) -> None:
    result = mpp(*verb, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_the_overview_lists_the_new_verbs() -> None:
    out = mpp().stdout
    assert "stats              rebuild | show" in out and "worker " in out
