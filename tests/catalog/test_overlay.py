"""The province layer: its edits reach its own tenants only, merged by the same rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from catalog import overlay
from catalog.actions import create_master_service, update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import apply_sync, sync_tenants, tenant_upstream
from catalog.models import ProvinceOverlay, ProvinceRelease, ProvinceServiceEdit, Service
from catalog.releases import publish_release
from tenants.models import Province, Tenant

SIM = "satpas-sim-a-baru"


def svc(tenant: Tenant, key: str) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=key)


def test_province_edit_reaches_its_tenants_only(
    kepri: Province, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    overlay.set_province_field(kepri, SIM, "fee_note", "Bayar di Bank Riau Kepri", acting_user=None)
    release = overlay.publish_province_release(kepri, acting_user=None, note="Kanal bayar Kepri")
    assert f"~ {SIM}: fee_note" in release.changelog

    report = sync_tenants(Tenant.objects.order_by("slug"), None, acting_user=None)
    assert report.synced == ["alpha"] and report.unchanged == ["beta"]
    assert svc(tenant_a, SIM).fee_note == "Bayar di Bank Riau Kepri"
    assert svc(tenant_b, SIM).fee_note != "Bayar di Bank Riau Kepri"
    # The province value is the tenant's upstream: the tenant has no override of its own.
    assert svc(tenant_a, SIM).overrides == {}
    assert tenant_upstream(tenant_a).overlay_version == release.version
    assert tenant_upstream(tenant_b).overlay_version is None


def test_province_only_service(kepri: Province, tenant_a: Tenant, tenant_b: Tenant) -> None:
    overlay.add_province_service(
        kepri,
        {"key": "kepri-izin-labuh-kapal", "agency": "dishub", "categories": ["perhubungan"],
         "name_id": "Izin Labuh Kapal Antarpulau", "fee": 0, "requirements": ["Surat kapal"]},
        acting_user=None,
    )  # fmt: skip
    overlay.publish_province_release(kepri, acting_user=None)
    plan = apply_sync(tenant_a, tenant_upstream(tenant_a), acting_user=None)
    assert plan.counts()["added"] == 1
    added = svc(tenant_a, "kepri-izin-labuh-kapal")
    assert not added.enabled and added.origin == "master"
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key="kepri-izin-labuh-kapal").exists()


def test_same_rules_at_both_layers(kepri: Province, tenant_a: Tenant) -> None:
    # Province and master both change the fee: the province keeps its value, flagged.
    overlay.set_province_field(kepri, SIM, "fee", 130000, acting_user=None)
    overlay.publish_province_release(kepri, acting_user=None)
    apply_sync(tenant_a, tenant_upstream(tenant_a), acting_user=None)
    assert svc(tenant_a, SIM).fee == 130000
    # The tenant overrides the processing note; the province then changes the same field.
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee_note", "Catatan Alpha", acting_user=None)
    update_master_service(Service.objects.get(key=SIM), {"fee": 125000}, acting_user=None)
    publish_release(acting_user=None)
    overlay.set_province_field(kepri, SIM, "fee_note", "Catatan Kepri", acting_user=None)
    release = overlay.publish_province_release(kepri, acting_user=None)

    edit = kepri.catalogue_overlay.edits.get(key=SIM)
    assert edit.conflicts == {"fee": {"base": 120000, "upstream": 125000, "local": 130000}}
    row = next(s for s in release.snapshot["services"] if s["key"] == SIM)
    assert row["fee"] == 130000  # the province's value stands until it decides

    plan = apply_sync(tenant_a, tenant_upstream(tenant_a), acting_user=None)
    assert plan.counts()["conflict"] == 1
    service = svc(tenant_a, SIM)
    assert service.fee_note == "Catatan Alpha"
    assert service.conflicts["fee_note"]["upstream"] == "Catatan Kepri"

    overlay.resolve_province_conflict(edit, "fee", "upstream", acting_user=None)
    overlay.publish_province_release(kepri, acting_user=None)
    apply_sync(tenant_a, tenant_upstream(tenant_a), acting_user=None)
    assert svc(tenant_a, SIM).fee == 125000


def test_province_may_enable_new_services(kepri: Province, tenant_a: Tenant) -> None:
    overlay.set_new_services_enabled(kepri, True, acting_user=None)
    create_master_service(
        {"key": "dukcapil-antar-dokumen", "agency": "dukcapil", "name_id": "Antar Dokumen"},
        acting_user=None,
    )
    publish_release(acting_user=None)
    apply_sync(tenant_a, tenant_upstream(tenant_a), acting_user=None)
    assert svc(tenant_a, "dukcapil-antar-dokumen").enabled


def test_bad_province_input(kepri: Province) -> None:
    set_field, add = overlay.set_province_field, overlay.add_province_service
    cases = [
        (lambda: set_field(kepri, "no-such-service", "fee", 1, acting_user=None), "key"),
        (lambda: set_field(kepri, SIM, "fee", -1, acting_user=None), "fee"),
        (lambda: set_field(kepri, SIM, "agency_code", "x", acting_user=None), "agency_code"),
        (
            lambda: add(kepri, {"key": SIM, "agency": "satpas", "name_id": "x"}, acting_user=None),
            "key",
        ),
        (
            lambda: add(kepri, {"key": "kepri-x", "agency": "no", "name_id": ""}, acting_user=None),
            "agency",
        ),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as caught:
            call()
        assert field in caught.value.message_dict
    assert not ProvinceRelease.objects.exists()
    assert not ProvinceServiceEdit.objects.exists() and not ProvinceOverlay.objects.exists()
