"""Tenant sync: every merge case, retirement, additions, idempotence, many tenants."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from catalog.actions import create_master_service, delete_master_service, update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService, SyncState
from catalog.local.sync import apply_sync, latest_upstream, plan_sync, sync_tenants
from catalog.models import Release, Service
from catalog.releases import diff_snapshots, publish_release
from mpp.audit.models import AuditEvent
from tenants.models import Tenant

KTP = "dukcapil-ktp-el-baru"
SIM = "satpas-sim-a-baru"


def svc(tenant: Tenant, key: str) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=key)


def release_with(**edits: dict[str, Any]) -> Release:
    """Edit master services (key → field changes) and publish a release."""
    for key, changes in edits.items():
        update_master_service(Service.objects.get(key=key), changes, acting_user=None)
    return publish_release(acting_user=None)


def test_seeded_tenant_is_at_the_latest_release(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        state = SyncState.objects.get()
        assert state.master_version == Release.objects.latest("version").version
        service = LocalService.objects.get(key=KTP)
        assert service.enabled and service.base["name_id"] == service.name_id
        assert service.overrides == {} and service.conflicts == {}
    plan = plan_sync(tenant_a, latest_upstream())
    assert not plan.changes_anything and plan.services == []


def test_untouched_field_follows_upstream(tenant_a: Tenant) -> None:
    release = release_with(**{SIM: {"fee": 125000}})
    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert plan.counts()["applied"] == 1 and plan.to_version == release.version
    assert svc(tenant_a, SIM).fee == 125000


def test_local_edit_is_kept_when_upstream_did_not_change_it(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee_note", "Bayar di Bank Riau", acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    counts = plan.counts()
    assert (counts["applied"], counts["kept"], counts["conflict"]) == (1, 1, 0)
    service = svc(tenant_a, SIM)
    assert (service.fee, service.fee_note) == (125000, "Bayar di Bank Riau")


def test_both_sides_changed_is_a_conflict_keeping_the_local_value(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee", 150000, acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert plan.counts()["conflict"] == 1
    assert "CONFLICT upstream 120000 → 125000, yours 150000" in plan.render()
    service = svc(tenant_a, SIM)
    assert service.fee == 150000
    assert service.conflicts == {"fee": {"base": 120000, "upstream": 125000, "local": 150000}}

    with tenant_context(tenant_a):
        taken = local.resolve_conflict(service, "fee", "upstream", acting_user=None)
    assert (taken.fee, taken.overrides, taken.conflicts) == (125000, {}, {})


def test_keep_mine_clears_the_conflict_and_keeps_the_override(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee", 150000, acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    with tenant_context(tenant_a):
        kept = local.resolve_conflict(svc(tenant_a, SIM), "fee", "mine", acting_user=None)
        assert AuditEvent.objects.filter(action="catalogue.conflict_kept").count() == 1
    assert (kept.fee, kept.overrides, kept.conflicts) == (150000, {"fee": 150000}, {})
    # The next release that leaves the fee alone keeps it without asking again.
    release_with(**{KTP: {"fee_note": "Gratis"}})
    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert plan.counts()["conflict"] == 0 and svc(tenant_a, SIM).fee == 150000


def test_same_change_on_both_sides_converges(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee", 125000, acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert plan.counts()["converged"] == 1
    service = svc(tenant_a, SIM)
    assert (service.fee, service.overrides, service.conflicts) == (125000, {"fee": 125000}, {})
    # The value stays the tenant's: upstream changing it later is a conflict to decide.
    release_with(**{SIM: {"fee": 130000}})
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert svc(tenant_a, SIM).fee == 125000 and "fee" in svc(tenant_a, SIM).conflicts


def test_new_upstream_service_arrives_disabled_and_removed_one_is_retired(
    tenant_a: Tenant,
) -> None:
    create_master_service(
        {"key": "dukcapil-antar-dokumen", "agency": "dukcapil", "categories": ["kependudukan"],
         "name_id": "Antar Dokumen Kependudukan", "fee": 0, "requirements": ["KTP-el"]},
        acting_user=None,
    )  # fmt: skip
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, KTP), "fee_note", "Catatan lokal", acting_user=None)
    delete_master_service(Service.objects.get(key=KTP), acting_user=None)
    publish_release(acting_user=None)

    plan = apply_sync(tenant_a, latest_upstream(), acting_user=None)
    counts = plan.counts()
    assert (counts["added"], counts["retired"]) == (1, 1)
    added = svc(tenant_a, "dukcapil-antar-dokumen")
    assert not added.enabled and added.requirements == [{"document": "KTP-el", "note": ""}]
    retired = svc(tenant_a, KTP)
    assert retired.retired and retired.fee_note == "Catatan lokal"  # kept, edits and all
    home = _home(tenant_a)
    assert retired.name_id not in home and added.name_id not in home


def _home(tenant: Tenant) -> str:
    """The citizen portal's list of every service the tenant shows."""
    from django.test import Client

    return Client(HTTP_HOST=f"{tenant.slug}.localhost").get("/layanan/").content.decode()


def test_sync_is_idempotent(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee", 150000, acting_user=None)
    release_with(**{SIM: {"fee": 125000, "fee_note": "PNBP"}})
    upstream = latest_upstream()
    first = apply_sync(tenant_a, upstream, acting_user=None)
    assert first.changes_anything
    with tenant_context(tenant_a):
        snapshot = list(LocalService.objects.order_by("key").values())
        events = AuditEvent.objects.filter(action="catalogue.synced").count()
    second = apply_sync(tenant_a, upstream, acting_user=None)
    assert not second.changes_anything
    with tenant_context(tenant_a):
        assert list(LocalService.objects.order_by("key").values()) == snapshot
        assert AuditEvent.objects.filter(action="catalogue.synced").count() == events


def test_local_only_service_is_never_touched_by_sync(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        own = local.create_local_service(
            {"key": "alpha-antar-berkas", "agency_code": "dukcapil",
             "name_id": "Antar Berkas ke Pulau", "fee": 0},
            acting_user=None,
        )  # fmt: skip
    release_with(**{SIM: {"fee": 125000}})
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert svc(tenant_a, own.key).origin == "local"
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key=own.key).exists()


def test_sync_many_tenants_reports_a_failure_and_goes_on(
    tenant_a: Tenant, tenant_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_with(**{SIM: {"fee": 125000}})
    upstream = latest_upstream()
    import catalog.local.sync as sync_module

    real = sync_module.apply_sync

    def failing(tenant: Tenant, *args: Any, **kwargs: Any) -> Any:
        if tenant.slug == "alpha":
            raise RuntimeError("disk full")
        return real(tenant, *args, **kwargs)

    monkeypatch.setattr(sync_module, "apply_sync", failing)
    seen: list[tuple[int, str]] = []
    report = sync_tenants(
        Tenant.objects.order_by("slug"), upstream, acting_user=None,
        progress=lambda i, n, t, plan, error: seen.append((i, t.slug)),
    )  # fmt: skip
    assert report.failed == {"alpha": "RuntimeError: disk full"}
    assert report.synced == ["beta"] and seen == [(1, "alpha"), (2, "beta")]
    assert svc(tenant_b, SIM).fee == 125000 and svc(tenant_a, SIM).fee == 120000

    monkeypatch.setattr(sync_module, "apply_sync", real)
    again = sync_tenants(Tenant.objects.order_by("slug"), upstream, acting_user=None)
    assert again.synced == ["alpha"] and again.unchanged == ["beta"] and not again.failed


def test_bad_override_is_refused_with_the_field(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        for field, value, fragment in [
            ("fee", -5, "negative"),
            ("fee", "gratis", "whole number"),
            ("requirements", [{"note": "x"}], "document"),
            ("channel", "pos", "must be one of"),
            ("agency_code", "polres", "cannot be changed"),
            ("name_id", "", "required"),
        ]:
            with pytest.raises(ValidationError) as caught:
                local.override_field(svc(tenant_a, SIM), field, value, acting_user=None)
            assert fragment in " ".join(caught.value.message_dict[field])
        assert svc(tenant_a, SIM).overrides == {}


def test_release_diff_and_changelog(db: None) -> None:
    before = Release.objects.latest("version")
    after = release_with(**{SIM: {"fee": 125000}})
    diff = diff_snapshots(before.snapshot, after.snapshot)
    assert diff.changed == {SIM: {"fee": (120000, 125000)}}
    assert f"~ {SIM}: fee" in after.changelog
    assert "fee: 120000 → 125000" in diff.render()


def test_releases_are_immutable(db: None) -> None:
    from django.db import DatabaseError, transaction

    release = Release.objects.latest("version")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Release.objects.filter(pk=release.pk).update(changelog="rewritten")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        release.delete()


def test_sync_of_many_tenants(kepri: Any, tenant_a: Tenant, tenant_b: Tenant) -> None:
    from tenants.provisioning import provision_tenant
    from tests.conftest import spec

    extra = [
        provision_tenant(
            spec(kepri, slug=f"pulau-{i}", region_code=f"21.8{i}", name=f"Pulau {i}"),
            acting_user=None,
        )
        for i in range(4)
    ]
    for i, tenant in enumerate(extra):  # some tenants edit the field the release changes
        if i % 2:
            with tenant_context(tenant):
                local.override_field(svc(tenant, SIM), "fee", 150000, acting_user=None)
    release = release_with(**{SIM: {"fee": 125000}, KTP: {"fee_note": "Gratis."}})
    steps: list[int] = []
    report = sync_tenants(
        Tenant.objects.order_by("slug"), None, acting_user=None,
        progress=lambda i, n, *_: steps.append(i),
    )  # fmt: skip
    assert steps == [1, 2, 3, 4, 5, 6] and len(report.synced) == 6 and not report.failed
    assert report.open_conflicts == {"pulau-1": 1, "pulau-3": 1}
    for tenant in [tenant_a, tenant_b, *extra]:
        with tenant_context(tenant):
            assert SyncState.objects.get().master_version == release.version
        assert svc(tenant, KTP).fee_note == "Gratis."
        assert svc(tenant, SIM).fee == (150000 if tenant.slug in {"pulau-1", "pulau-3"} else 125000)
