"""The local admin's catalogue screens on a tenant host (``/staff/katalog/``), over real HTTP.

Every change goes through ``catalog.local.actions`` / ``apply_sync``; these tests look at what
the pages show, what lands in the tenant's catalogue and audit log, and who is kept out —
including the admin of another tenant.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from catalog import overlay
from catalog.actions import create_master_service, delete_master_service, update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalAgency, LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Service
from catalog.releases import publish_release
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Province, Tenant

BASE = "/staff/katalog/"
SIM = "satpas-sim-a-baru"  # fee Rp 120.000 in the shipped catalogue
KTP = "dukcapil-ktp-el-baru"
LOCAL_KEY = "alpha-antar-berkas"
SERVICE_LINK = re.compile(r'<td><a href="/staff/katalog/layanan/([a-z0-9-]+)/">')
PASSWORD = "Rahasia-Katalog-2026"


# --- Helpers -------------------------------------------------------------------------------


def sign_in(tenant: Tenant, email: str, role: str = User.Role.TENANT_ADMIN) -> Client:
    """A client on ``tenant``'s host, signed in through /staff/login/ as ``email``."""
    with tenant_context(tenant):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, role=role)
        user.set_password(PASSWORD)
        user.save()
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    response = client.post("/staff/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return client


@pytest.fixture
def admin_a(tenant_a: Tenant) -> Client:
    return sign_in(tenant_a, "admin@alpha.go.id")


@pytest.fixture
def admin_b(tenant_b: Tenant) -> Client:
    return sign_in(tenant_b, "admin@beta.go.id")


@pytest.fixture
def officer_a(tenant_a: Tenant) -> Client:
    return sign_in(tenant_a, "petugas@alpha.go.id", role=User.Role.OFFICER)


def html(response: Any) -> str:
    return response.content.decode()


def shown_keys(response: Any) -> list[str]:
    """Service keys linked from a list page, in page order."""
    return SERVICE_LINK.findall(html(response))


def field_section(response: Any, field: str) -> str:
    """The part of a service page about one field (its values, forms and errors)."""
    match = re.search(rf'<section[^>]*id="f-{field}".*?</section>', html(response), re.S)
    assert match, f"no section for {field}"
    return match.group(0)


def svc(tenant: Tenant, key: str) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=key)


def audit_actions(tenant: Tenant) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.values_list("action", "actor_email"))


def local_service(tenant: Tenant) -> LocalService:
    """A service only ``tenant`` has, made through the actions."""
    with tenant_context(tenant):
        return local.create_local_service(
            {"key": LOCAL_KEY, "agency_code": "dukcapil", "name_id": "Antar Berkas ke Pulau",
             "fee": 0},
            acting_user=None,
        )  # fmt: skip


def master_release(**edits: dict[str, Any]) -> None:
    """Edit master services (key → changes) and publish a release (public schema)."""
    connection.set_schema_to_public()
    for key, changes in edits.items():
        update_master_service(Service.objects.get(key=key), changes, acting_user=None)
    publish_release(acting_user=None)


def make_fee_conflict(tenant: Tenant) -> None:
    """Tenant sets SIM's fee to 150.000, upstream to 125.000, then the tenant syncs."""
    with tenant_context(tenant):
        local.override_field(svc(tenant, SIM), "fee", 150000, acting_user=None)
    master_release(**{SIM: {"fee": 125000}})
    apply_sync(tenant, latest_upstream(), acting_user=None)
    assert svc(tenant, SIM).conflicts["fee"]["upstream"] == 125000


# --- Pages ---------------------------------------------------------------------------------


def test_every_page_renders_for_the_admin(tenant_a: Tenant, admin_a: Client) -> None:
    local_service(tenant_a)
    listing = admin_a.get(BASE)
    assert listing.status_code == 200
    assert "Diubah lokal" in html(listing) and "Pensiun" in html(listing)
    detail = admin_a.get(f"{BASE}layanan/{SIM}/")
    assert detail.status_code == 200
    assert "Induk (upstream):" in html(detail) and "Milik daerah (yours):" in html(detail)
    assert "Rp 120.000" in field_section(detail, "fee")
    assert "Nonaktifkan layanan" in html(detail)
    local_detail = admin_a.get(f"{BASE}layanan/{LOCAL_KEY}/")
    assert local_detail.status_code == 200 and "layanan lokal" in html(local_detail)
    assert "Induk (upstream):" not in html(local_detail)
    assert "Kembalikan ke induk" not in html(local_detail)
    create = admin_a.get(f"{BASE}layanan/baru/")
    assert create.status_code == 200 and 'name="requirements"' in html(create)
    agencies = admin_a.get(f"{BASE}instansi/")
    assert agencies.status_code == 200 and "Tambah instansi lokal" in html(agencies)
    sync = admin_a.get(f"{BASE}sinkronisasi/")
    assert sync.status_code == 200 and "Katalog sudah mutakhir" in html(sync)
    assert "Terapkan sinkronisasi" not in html(sync)  # nothing to apply
    assert admin_a.get(f"{BASE}layanan/tidak-ada/").status_code == 404


def test_list_is_paginated_by_fifty_with_bounded_queries(
    tenant_a: Tenant, admin_a: Client, django_assert_max_num_queries: Any
) -> None:
    with tenant_context(tenant_a):
        total = LocalService.objects.count()
    assert total > 150
    admin_a.get(BASE)  # the host's route is cached by the first request
    with django_assert_max_num_queries(6):
        first = admin_a.get(BASE)
    assert f"{total} layanan" in html(first) and len(shown_keys(first)) == 50
    last_page = (total + 49) // 50
    with django_assert_max_num_queries(6):
        last = admin_a.get(BASE, {"page": last_page, "status": "semua"})
    assert len(shown_keys(last)) == total - 50 * (last_page - 1)
    assert not set(shown_keys(first)) & set(shown_keys(last))
    with django_assert_max_num_queries(6):
        searched = admin_a.get(BASE, {"status": "aktif", "q": "sim"})
    assert searched.status_code == 200 and SIM in shown_keys(searched)


def test_list_filters_by_status_and_name(tenant_a: Tenant, admin_a: Client) -> None:
    # One service of each kind, all through the actions and a real sync.
    connection.set_schema_to_public()
    retired_key = "kemenag-pendaftaran-haji"
    assert Service.objects.filter(key=retired_key).exists()
    delete_master_service(Service.objects.get(key=retired_key), acting_user=None)
    make_fee_conflict(tenant_a)  # also publishes the release without retired_key
    local_service(tenant_a)
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, KTP), "fee_note", "Gratis di MPP", acting_user=None)
        local.set_enabled(svc(tenant_a, KTP), False, acting_user=None)

    def keys(status: str, **extra: str) -> set[str]:
        found: set[str] = set()
        for page in (1, 2, 3, 4, 5):
            response = admin_a.get(BASE, {"status": status, "page": page, **extra})
            assert response.status_code == 200
            found |= set(shown_keys(response))
        return found

    with tenant_context(tenant_a):
        everything = set(LocalService.objects.values_list("key", flat=True))
    assert keys("semua") == everything
    assert keys("diubah") == {SIM, KTP}
    assert keys("konflik") == {SIM}
    assert keys("lokal") == {LOCAL_KEY}
    assert keys("pensiun") == {retired_key}
    assert keys("nonaktif") == {KTP}
    assert keys("aktif") == everything - {KTP, retired_key}
    assert keys("semua", q="KTP-el Baru") == {KTP}
    assert keys("konflik", q="KTP-el Baru") == set()

    listing = admin_a.get(BASE, {"status": "konflik"})
    row = re.search(rf'<tr>\s*<td><a href="{BASE}layanan/{SIM}/">.*?</tr>', html(listing), re.S)
    assert row and "diubah" in row.group(0) and "konflik" in row.group(0)
    assert "Konflik (1)" in html(listing) and "Layanan lokal (1)" in html(listing)
    bad = admin_a.get(BASE, {"status": "rusak"})
    assert bad.status_code == 200 and "errorlist" in html(bad)
    assert len(shown_keys(bad)) == 50  # an unknown filter is reported and ignored


# --- Overrides, reverts, conflicts ---------------------------------------------------------


def test_override_shows_the_local_value_beside_upstream(
    tenant_a: Tenant, tenant_b: Tenant, admin_a: Client
) -> None:
    response = admin_a.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "150000"})
    assert response.status_code == 302 and response["Location"].endswith(f"/{SIM}/#f-fee")
    page = admin_a.get(f"{BASE}layanan/{SIM}/")
    section = field_section(page, "fee")
    assert "Induk (upstream):" in section and "Rp 120.000" in section
    assert "Milik daerah (yours):" in section and "Rp 150.000" in section
    assert "diubah" in section and "Kembalikan ke induk" in section
    service = svc(tenant_a, SIM)
    assert (service.fee, service.overrides, service.base["fee"]) == (
        150000,
        {"fee": 150000},
        120000,
    )
    assert ("catalogue.field_overridden", "admin@alpha.go.id") in audit_actions(tenant_a)
    assert svc(tenant_b, SIM).fee == 120000  # tenant B's catalogue is its own

    requirements = "KTP-el asli | dan fotokopi 1 lembar\n\nSurat keterangan sehat|dari dokter\n"
    admin_a.post(f"{BASE}layanan/{SIM}/ubah/requirements/", {"requirements": requirements})
    assert svc(tenant_a, SIM).requirements == [
        {"document": "KTP-el asli", "note": "dan fotokopi 1 lembar"},
        {"document": "Surat keterangan sehat", "note": "dari dokter"},
    ]
    admin_a.post(f"{BASE}layanan/{SIM}/ubah/procedure/", {"procedure": " Ambil antrean \n\nUji"})
    assert svc(tenant_a, SIM).procedure == ["Ambil antrean", "Uji"]
    admin_a.post(f"{BASE}layanan/{SIM}/ubah/same_day/", {"same_day": "on"})
    assert svc(tenant_a, SIM).same_day is True
    page = html(admin_a.get(f"{BASE}layanan/{SIM}/"))
    assert "Surat keterangan sehat — dari dokter" in page

    # Setting a field back to upstream's value is not an override.
    admin_a.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "120000"})
    service = svc(tenant_a, SIM)
    assert service.fee == 120000 and "fee" not in service.overrides


def test_revert_follows_upstream_again(tenant_a: Tenant, admin_a: Client) -> None:
    admin_a.post(f"{BASE}layanan/{SIM}/ubah/fee_note/", {"fee_note": "Bayar di Bank Riau"})
    assert svc(tenant_a, SIM).overrides == {"fee_note": "Bayar di Bank Riau"}
    response = admin_a.post(f"{BASE}layanan/{SIM}/kembalikan/fee_note/")
    assert response.status_code == 302
    service = svc(tenant_a, SIM)
    assert service.overrides == {} and service.fee_note == service.base["fee_note"]
    page = admin_a.get(response["Location"])
    assert "dikembalikan ke versi induk" in html(page)
    assert "Kembalikan ke induk" not in field_section(page, "fee_note")
    # Reverting a field that follows upstream already is refused with its message.
    again = admin_a.post(f"{BASE}layanan/{SIM}/kembalikan/fee_note/", follow=True)
    assert "not overridden" in html(again)
    assert [a for a, _ in audit_actions(tenant_a)].count("catalogue.field_reverted") == 1


@pytest.mark.parametrize(("choice", "fee", "overrides"), [
    ("upstream", 125000, {}),
    ("mine", 150000, {"fee": 150000}),
])  # fmt: skip
def test_conflict_is_resolved_either_way(
    tenant_a: Tenant, admin_a: Client, choice: str, fee: int, overrides: dict[str, int]
) -> None:
    make_fee_conflict(tenant_a)
    page = admin_a.get(f"{BASE}layanan/{SIM}/")
    section = field_section(page, "fee")
    assert "konflik" in section and "Pakai versi induk" in section
    assert "Pertahankan milik saya" in section
    assert "Rp 120.000" in section and "Rp 125.000" in section and "Rp 150.000" in section

    response = admin_a.post(f"{BASE}layanan/{SIM}/konflik/fee/", {"choice": choice})
    assert response.status_code == 302
    service = svc(tenant_a, SIM)
    assert (service.fee, service.overrides, service.conflicts) == (fee, overrides, {})
    kind = "taken" if choice == "upstream" else "kept"
    assert (f"catalogue.conflict_{kind}", "admin@alpha.go.id") in audit_actions(tenant_a)
    after = admin_a.get(f"{BASE}layanan/{SIM}/")
    assert "Pakai versi induk" not in html(after)
    assert "Konflik selesai" not in html(after)  # the message names the field
    assert "Konflik Biaya/tarif (rupiah) selesai" in html(after)


def test_bad_conflict_choice_and_missing_conflict_change_nothing(
    tenant_a: Tenant, admin_a: Client
) -> None:
    make_fee_conflict(tenant_a)
    bad = admin_a.post(f"{BASE}layanan/{SIM}/konflik/fee/", {"choice": "both"}, follow=True)
    assert "Pilih versi induk atau milik saya" in html(bad)
    none = admin_a.post(f"{BASE}layanan/{SIM}/konflik/product/", {"choice": "mine"}, follow=True)
    assert "no conflict" in html(none)
    assert svc(tenant_a, SIM).conflicts["fee"]["local"] == 150000


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("fee", "-5000", "Tidak boleh negatif"),
    ("fee", "lima ribu", "angka bulat"),
    ("processing_days", "-1", "Tidak boleh negatif"),
    ("name_id", "   ", "Wajib diisi"),
    ("requirements", "KTP-el asli | fotokopi | 2 lembar", "Baris 1"),
    ("requirements", "Pas foto\n| tanpa nama dokumen", "Baris 2"),
    ("channel", "merpati", "Pilih salah satu saluran"),
    ("product", "x" * 301, "Paling banyak 300"),
])  # fmt: skip
def test_bad_field_input_is_shown_next_to_the_field_and_changes_nothing(
    tenant_a: Tenant, admin_a: Client, field: str, value: str, message: str
) -> None:
    before = svc(tenant_a, SIM)
    events = len(audit_actions(tenant_a))
    response = admin_a.post(f"{BASE}layanan/{SIM}/ubah/{field}/", {field: value})
    assert response.status_code == 200
    section = field_section(response, field)
    assert "errorlist" in section and message in section
    assert "<details open>" in section  # the form is shown open, with what was typed
    after = svc(tenant_a, SIM)
    assert getattr(after, field) == getattr(before, field) and after.overrides == {}
    assert len(audit_actions(tenant_a)) == events


def test_fields_that_stay_upstream_have_no_form(tenant_a: Tenant, admin_a: Client) -> None:
    for field in ("agency_code", "category_codes", "base", "nothing"):
        response = admin_a.post(f"{BASE}layanan/{SIM}/ubah/{field}/", {field: "polres"})
        assert response.status_code == 404
    assert svc(tenant_a, SIM).agency_code == "satpas"
    assert 'action="/staff/katalog/layanan/' + SIM + '/ubah/agency_code/"' not in html(
        admin_a.get(f"{BASE}layanan/{SIM}/")
    )


# --- Enable / disable ----------------------------------------------------------------------


def test_enable_and_disable_a_service(tenant_a: Tenant, admin_a: Client) -> None:
    response = admin_a.post(f"{BASE}layanan/{SIM}/status/", {"enabled": "0"})
    assert response.status_code == 302 and svc(tenant_a, SIM).enabled is False
    page = admin_a.get(f"{BASE}layanan/{SIM}/")
    assert "Aktifkan layanan" in html(page) and "dinonaktifkan" in html(page)
    assert SIM not in html(Client(HTTP_HOST="alpha.localhost").get("/"))  # hidden from citizens
    admin_a.post(f"{BASE}layanan/{SIM}/status/", {"enabled": "1"})
    assert svc(tenant_a, SIM).enabled is True
    bad = admin_a.post(f"{BASE}layanan/{SIM}/status/", {"enabled": "mungkin"})
    assert bad.status_code == 200 and "Pilih aktif atau nonaktif" in html(bad)
    assert svc(tenant_a, SIM).enabled is True
    actions = [a for a, _ in audit_actions(tenant_a)]
    assert actions.count("catalogue.service_disabled") == actions.count(
        "catalogue.service_enabled"
    ) == 1  # fmt: skip


# --- Sync ----------------------------------------------------------------------------------


def hidden(response: Any, name: str) -> str:
    match = re.search(rf'name="{name}"(?: value="([^"]*)")?', html(response))
    assert match, f"no hidden {name}"
    return match.group(1) or ""


def test_sync_page_shows_the_plan_and_applies_it(tenant_a: Tenant, admin_a: Client) -> None:
    with tenant_context(tenant_a):
        local.override_field(svc(tenant_a, SIM), "fee", 150000, acting_user=None)
        local.override_field(svc(tenant_a, SIM), "fee_note", "Bayar di Bank Riau", acting_user=None)
    connection.set_schema_to_public()
    retired_key = "kemenag-pendaftaran-haji"
    delete_master_service(Service.objects.get(key=retired_key), acting_user=None)
    create_master_service(
        {"key": "dukcapil-antar-dokumen", "agency": "dukcapil", "categories": ["kependudukan"],
         "name_id": "Antar Dokumen Kependudukan", "fee": 0},
        acting_user=None,
    )  # fmt: skip
    master_release(**{SIM: {"fee": 125000}, KTP: {"product": "KTP-el dan tanda terima"}})

    preview = admin_a.get(f"{BASE}sinkronisasi/")
    page = html(preview)
    assert preview.status_code == 200 and "Terapkan sinkronisasi" in page
    sections = {
        name: re.search(rf'<section id="{name}">.*?</section>', page, re.S).group(0)  # type: ignore[union-attr]
        for name in ("ditambahkan", "diperbarui", "dipertahankan", "konflik", "dipensiunkan")
    }
    assert "Antar Dokumen Kependudukan" in sections["ditambahkan"]
    assert "KTP-el dan tanda terima" in sections["diperbarui"]
    assert "Bayar di Bank Riau" in sections["dipertahankan"]
    assert "Rp 125.000" in sections["konflik"] and "Rp 150.000" in sections["konflik"]
    assert retired_key in sections["dipensiunkan"]
    assert svc(tenant_a, KTP).product == "KTP-el"  # a preview changes nothing

    applied = admin_a.post(
        f"{BASE}sinkronisasi/",
        {"to_version": hidden(preview, "to_version"), "to_overlay": hidden(preview, "to_overlay")},
        follow=True,
    )
    text = html(applied)
    assert "1 layanan ditambahkan" in text and "1 konflik baru" in text
    assert "1 layanan dipensiunkan" in text and "1 kolom milik daerah dipertahankan" in text
    assert "menunggu keputusan" in text and SIM in shown_keys(applied)  # sent to the conflicts
    assert svc(tenant_a, KTP).product == "KTP-el dan tanda terima"
    assert svc(tenant_a, retired_key).retired is True
    added = svc(tenant_a, "dukcapil-antar-dokumen")
    assert added.enabled is False and added.origin == "master"
    assert svc(tenant_a, SIM).conflicts["fee"]["upstream"] == 125000
    assert ("catalogue.synced", "admin@alpha.go.id") in audit_actions(tenant_a)
    assert "Katalog sudah mutakhir" in html(admin_a.get(f"{BASE}sinkronisasi/"))


def test_sync_refuses_a_stale_preview(tenant_a: Tenant, admin_a: Client) -> None:
    synced = [a for a, _ in audit_actions(tenant_a)].count("catalogue.synced")  # seeding
    master_release(**{KTP: {"product": "KTP-el baru"}})
    preview = admin_a.get(f"{BASE}sinkronisasi/")
    old_version = hidden(preview, "to_version")
    master_release(**{KTP: {"product": "KTP-el terbaru"}})  # published while the admin read
    stale = admin_a.post(f"{BASE}sinkronisasi/", {"to_version": old_version}, follow=True)
    assert "rilis yang lebih baru" in html(stale) and "KTP-el terbaru" in html(stale)
    assert svc(tenant_a, KTP).product == "KTP-el"
    garbled = admin_a.post(f"{BASE}sinkronisasi/", {"to_version": "x"}, follow=True)
    assert "Permintaan tidak lengkap" in html(garbled)
    assert svc(tenant_a, KTP).product == "KTP-el"
    assert [a for a, _ in audit_actions(tenant_a)].count("catalogue.synced") == synced


def test_sync_page_follows_the_province_overlay(
    kepri: Province, tenant_a: Tenant, tenant_b: Tenant, admin_a: Client, admin_b: Client
) -> None:
    # Alpha's province publishes its own layer: alpha syncs to it, not to bare master
    # (which would retire the province's service again on the next sync).
    overlay.add_province_service(
        kepri,
        {"key": "kepri-izin-labuh-kapal", "agency": "dishub", "categories": ["perhubungan"],
         "name_id": "Izin Labuh Kapal Antarpulau", "fee": 0},
        acting_user=None,
    )  # fmt: skip
    release = overlay.publish_province_release(kepri, acting_user=None)
    preview = admin_a.get(f"{BASE}sinkronisasi/")
    assert f"rilis provinsi {release.version}" in html(preview)
    assert "Izin Labuh Kapal Antarpulau" in html(preview)
    assert hidden(preview, "to_overlay") == str(release.version)
    admin_a.post(
        f"{BASE}sinkronisasi/",
        {"to_version": hidden(preview, "to_version"), "to_overlay": str(release.version)},
    )
    assert svc(tenant_a, "kepri-izin-labuh-kapal").retired is False
    assert "Katalog sudah mutakhir" in html(admin_a.get(f"{BASE}sinkronisasi/"))
    # Tenant B's province has no such layer: nothing to sync there.
    assert "Katalog sudah mutakhir" in html(admin_b.get(f"{BASE}sinkronisasi/"))
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key="kepri-izin-labuh-kapal").exists()


# --- Local services and agencies -----------------------------------------------------------


def test_local_agency_and_service_are_created(tenant_a: Tenant, admin_a: Client) -> None:
    response = admin_a.post(
        f"{BASE}instansi/baru/",
        {"code": "upt-pelabuhan", "name": "UPT Pelabuhan Alpha", "kind": "skpd",
         "counters": "Loket 12"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_context(tenant_a):
        agency = LocalAgency.objects.get(code="upt-pelabuhan")
    assert (agency.origin, agency.counters, agency.present) == ("local", "Loket 12", True)

    data = {
        "key": "alpha-pas-kapal", "name_id": "Pas Kecil Kapal Nelayan", "agency_code": agency.code,
        "category_codes": ["perizinan-usaha"], "requirements": "KTP-el | asli\nFoto kapal",
        "procedure": "Isi formulir\nCek fisik kapal", "processing_days": "3", "fee": "0",
        "channel": "onsite", "keywords": "pas kecil\nkapal",
    }  # fmt: skip
    created = admin_a.post(f"{BASE}layanan/baru/", data)
    assert created.status_code == 302, html(created)
    service = svc(tenant_a, "alpha-pas-kapal")
    assert (service.origin, service.agency_name, service.fee) == ("local", "UPT Pelabuhan Alpha", 0)
    assert service.requirements == [
        {"document": "KTP-el", "note": "asli"},
        {"document": "Foto kapal", "note": ""},
    ]
    assert service.procedure == ["Isi formulir", "Cek fisik kapal"]
    assert service.category_codes == ["perizinan-usaha"] and service.processing_days == 3
    page = admin_a.get(created["Location"])
    assert "Pas Kecil Kapal Nelayan" in html(page) and "Induk (upstream)" not in html(page)
    # A local service's fields are edited the same way.
    admin_a.post(f"{BASE}layanan/alpha-pas-kapal/ubah/fee/", {"fee": "5000"})
    assert svc(tenant_a, "alpha-pas-kapal").fee == 5000
    assert {"catalogue.local_agency_created", "catalogue.local_service_created"} <= {
        a for a, _ in audit_actions(tenant_a)
    }


def test_bad_local_service_input_is_shown_and_stores_nothing(
    tenant_a: Tenant, admin_a: Client
) -> None:
    with tenant_context(tenant_a):
        count = LocalService.objects.count()
    bad = {
        "key": "Bukan Kunci", "name_id": "", "agency_code": "", "fee": "-1",
        "requirements": "a | b | c", "channel": "onsite",
    }  # fmt: skip
    response = admin_a.post(f"{BASE}layanan/baru/", bad)
    page = html(response)
    assert response.status_code == 200 and "belum ada yang disimpan" in page
    for fragment in ("huruf kecil", "Wajib diisi", "Pilih instansi", "Tidak boleh negatif",
                     "Baris 1"):  # fmt: skip
        assert fragment in page
    # Errors only the action knows about are shown next to their field too.
    taken = admin_a.post(
        f"{BASE}layanan/baru/",
        {"key": KTP, "name_id": "Duplikat", "agency_code": "dukcapil", "channel": "onsite"},
    )
    assert taken.status_code == 200 and "already used" in html(taken)
    reserved = admin_a.post(
        f"{BASE}layanan/baru/",
        {"key": "baru", "name_id": "X", "agency_code": "dukcapil", "channel": "onsite"},
    )
    assert "tidak bisa dipakai" in html(reserved)
    with tenant_context(tenant_a):
        assert LocalService.objects.count() == count


def test_agency_presence_and_bad_agency_input(
    tenant_a: Tenant, admin_a: Client, django_assert_max_num_queries: Any
) -> None:
    admin_a.get(f"{BASE}instansi/")  # the host's route is cached by the first request
    with django_assert_max_num_queries(5):
        listing = admin_a.get(f"{BASE}instansi/")
    with tenant_context(tenant_a):
        assert html(listing).count('<tr id="a-') == LocalAgency.objects.count() > 30
    response = admin_a.post(f"{BASE}instansi/pln/", {"counters": "Loket 9"})  # unchecked
    assert response.status_code == 302
    with tenant_context(tenant_a):
        pln = LocalAgency.objects.get(code="pln")
    assert (pln.present, pln.counters) == (False, "Loket 9")
    page = admin_a.get(f"{BASE}instansi/")
    assert 'value="Loket 9"' in html(page)

    too_long = admin_a.post(f"{BASE}instansi/pln/", {"present": "on", "counters": "L" * 201})
    row = re.search(r'<tr id="a-pln">.*?</tr>', html(too_long), re.S)
    assert too_long.status_code == 200 and row and "Paling banyak 200" in row.group(0)
    with tenant_context(tenant_a):
        assert LocalAgency.objects.get(code="pln").present is False

    for data, fragment in [
        ({"code": "", "name": "", "kind": "skpd"}, "Wajib diisi"),
        ({"code": "UPT", "name": "UPT", "kind": "skpd"}, "huruf kecil"),
        ({"code": "dukcapil", "name": "Dukcapil lagi", "kind": "skpd"}, "sudah dipakai"),
        ({"code": "upt-x", "name": "UPT X", "kind": "kerajaan"}, "Pilih salah satu jenis"),
    ]:
        response = admin_a.post(f"{BASE}instansi/baru/", data)
        assert response.status_code == 200 and fragment in html(response), fragment
    with tenant_context(tenant_a):
        assert not LocalAgency.objects.filter(origin="local").exists()
    assert admin_a.post(f"{BASE}instansi/tidak-ada/", {"present": "on"}).status_code == 404


# --- Who may do what -----------------------------------------------------------------------


def test_officer_may_read_but_not_change(tenant_a: Tenant, officer_a: Client) -> None:
    make_fee_conflict(tenant_a)
    for path in ("", f"layanan/{SIM}/", "instansi/", "sinkronisasi/"):
        response = officer_a.get(BASE + path)
        assert response.status_code == 200, path
        assert "Simpan" not in html(response) and "<form method=\"post\" action=\"/staff/katalog" \
            not in html(response)  # fmt: skip
    assert "Pakai versi induk" not in html(officer_a.get(f"{BASE}layanan/{SIM}/"))
    assert officer_a.get(f"{BASE}layanan/baru/").status_code == 403
    before = svc(tenant_a, SIM)
    events = len(audit_actions(tenant_a))
    for path, data in [
        (f"layanan/{SIM}/ubah/fee/", {"fee": "1"}),
        (f"layanan/{SIM}/kembalikan/fee/", {}),
        (f"layanan/{SIM}/konflik/fee/", {"choice": "upstream"}),
        (f"layanan/{SIM}/status/", {"enabled": "0"}),
        ("layanan/baru/", {"key": "x-y", "name_id": "X", "agency_code": "dukcapil"}),
        ("instansi/baru/", {"code": "upt-x", "name": "UPT X", "kind": "skpd"}),
        ("instansi/pln/", {"present": ""}),
        ("sinkronisasi/", {"to_version": "1"}),
    ]:
        response = officer_a.post(BASE + path, data)
        assert response.status_code == 403, path
        assert "Akses ditolak" in html(response)
    after = svc(tenant_a, SIM)
    assert (after.fee, after.enabled, after.conflicts) == (before.fee, True, before.conflicts)
    assert len(audit_actions(tenant_a)) == events


def test_anonymous_is_sent_to_sign_in(tenant_a: Tenant) -> None:
    client = Client(HTTP_HOST="alpha.localhost")
    for path in ("", f"layanan/{SIM}/", "instansi/", "sinkronisasi/", "layanan/baru/"):
        response = client.get(BASE + path)
        assert response.status_code == 302
        assert response["Location"] == f"/staff/login/?next={BASE}{path}"
    posted = client.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "1"})
    assert posted.status_code == 302 and posted["Location"].startswith("/staff/login/")
    assert svc(tenant_a, SIM).fee == 120000


def test_posts_need_the_csrf_token(tenant_a: Tenant) -> None:
    sign_in(tenant_a, "admin@alpha.go.id")
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    with tenant_context(tenant_a):
        client.force_login(User.objects.get(email="admin@alpha.go.id"))
    refused = client.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "1"})
    assert refused.status_code == 403 and svc(tenant_a, SIM).fee == 120000
    page = client.get(f"{BASE}layanan/{SIM}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(page))
    assert token
    accepted = client.post(
        f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "1", "csrfmiddlewaretoken": token.group(1)}
    )
    assert accepted.status_code == 302 and svc(tenant_a, SIM).fee == 1


# --- Isolation -----------------------------------------------------------------------------


def test_tenant_b_admin_cannot_see_or_change_tenant_a(
    tenant_a: Tenant, tenant_b: Tenant, admin_b: Client
) -> None:
    local_service(tenant_a)
    with tenant_context(tenant_a):
        local.create_local_agency(code="upt-alpha", name="UPT Alpha", acting_user=None)
    assert admin_b.get(f"{BASE}layanan/{LOCAL_KEY}/").status_code == 404
    for path, data in [
        (f"layanan/{LOCAL_KEY}/ubah/name_id/", {"name_id": "Dibajak"}),
        (f"layanan/{LOCAL_KEY}/status/", {"enabled": "0"}),
        ("instansi/upt-alpha/", {"present": ""}),
    ]:
        assert admin_b.post(BASE + path, data).status_code == 404, path
    listing = admin_b.get(BASE, {"status": "lokal"})
    assert shown_keys(listing) == [] and "Antar Berkas" not in html(listing)
    assert "UPT Alpha" not in html(admin_b.get(f"{BASE}instansi/"))

    # A service both tenants have: B's admin changes B's copy only.
    admin_b.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "99000"})
    admin_b.post(f"{BASE}layanan/{SIM}/status/", {"enabled": "0"})
    assert (svc(tenant_b, SIM).fee, svc(tenant_b, SIM).enabled) == (99000, False)
    mine = svc(tenant_a, SIM)
    assert (mine.fee, mine.enabled, mine.overrides) == (120000, True, {})
    assert svc(tenant_a, LOCAL_KEY).name_id == "Antar Berkas ke Pulau"
    assert not [e for e in audit_actions(tenant_a) if e[1] == "admin@beta.go.id"]


def test_tenant_a_session_is_anonymous_on_tenant_b(
    tenant_a: Tenant, tenant_b: Tenant, admin_a: Client
) -> None:
    session = admin_a.cookies[settings.SESSION_COOKIE_NAME].value
    assert admin_a.get(BASE).status_code == 200
    intruder = Client(HTTP_HOST="beta.localhost")
    intruder.cookies[settings.SESSION_COOKIE_NAME] = session
    response = intruder.get(BASE)
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    posted = intruder.post(f"{BASE}layanan/{SIM}/ubah/fee/", {"fee": "1"})
    assert posted.status_code == 302 and posted["Location"].startswith("/staff/login/")
    assert svc(tenant_b, SIM).fee == 120000 and svc(tenant_a, SIM).fee == 120000
