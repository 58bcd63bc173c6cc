"""The tenant admin's queue pages at ``/staff/antrian/``, over real HTTP.

Counters and settings change only through ``save_counter`` / ``save_queue_setting``: these
tests check what the pages show, what is stored and audited, that every bad input is
refused with the action's message next to its field (nothing stored), who is kept out, and
that tenant B's admin cannot reach tenant A's counters.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from catalog.local.actions import set_enabled
from catalog.local.models import LocalService
from mall.queue.actions import issue_walk_in, save_counter, save_queue_setting
from mall.queue.models import Counter, QueueSetting
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant
from tests.mall.queue.conftest import KK, KTP, MONDAY, Mall, at
from tests.mall.queue.test_reports import KTP_NAME, TUESDAY, play_two_days

PASSWORD = "Rahasia-Antrean-2026"
BASE = "/staff/antrian/"
NEW = BASE + "loket/baru/"
BPJS = "bpjs-kesehatan-pendaftaran-mandiri"
KIA = "dukcapil-kia"


def sign_in(tenant: Tenant, email: str, role: str = User.Role.TENANT_ADMIN) -> Client:
    """A client on ``tenant``'s host, signed in through /staff/login/ as ``email``."""
    with tenant_context(tenant):
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, role=role
        )
        user.set_password(PASSWORD)
        user.save()
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    response = client.post("/staff/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return client


@pytest.fixture
def admin_a(mall_a: Mall) -> Client:
    return sign_in(mall_a.tenant, "admin@alpha.go.id")


@pytest.fixture
def officer_a(mall_a: Mall) -> Client:
    return sign_in(mall_a.tenant, mall_a.officer.email, role=User.Role.OFFICER)


def html(response: Any) -> str:
    return response.content.decode()


def in_a(tenant: Tenant, fn: Any) -> Any:
    """``fn()`` in tenant A's schema (a request to another host switches the connection)."""
    with tenant_context(tenant):
        return fn()


def counter_post(**overrides: Any) -> dict[str, Any]:
    """A complete, valid counter form; override any field (lists are checkbox values)."""
    return {
        "name": "Loket 7",
        "agency_code": "dukcapil",
        "prefix": "kia",
        "service_keys": [KIA, KTP],
        "officers": [],
        "active": "on",
    } | overrides


def counter_state(tenant: Tenant) -> list[tuple[Any, ...]]:
    with tenant_context(tenant):
        return [
            (c.name, c.agency_code, c.prefix, tuple(c.service_keys), c.active, c.priority_lane)
            for c in Counter.objects.order_by("pk")
        ]


def all_urls(mall: Mall) -> list[tuple[str, str]]:
    pk = mall.counter.pk
    return [
        ("get", BASE),
        ("get", NEW),
        ("post", NEW),
        ("get", f"{BASE}loket/{pk}/"),
        ("post", f"{BASE}loket/{pk}/"),
        ("post", f"{BASE}loket/{pk}/status/"),
        ("get", f"{BASE}layanan/?layanan={KTP}"),
        ("get", f"{BASE}layanan/{KTP}/"),
        ("post", f"{BASE}layanan/{KTP}/"),
        ("get", f"{BASE}statistik/"),
        ("get", f"{BASE}statistik/csv/"),
    ]


# --- Who gets in ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(mall_a: Mall) -> None:
    client = Client(HTTP_HOST="alpha.localhost")
    before = counter_state(mall_a.tenant)
    for method, url in all_urls(mall_a):
        response = getattr(client, method)(url, {"aktif": "0"} if method == "post" else {})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/staff/login/?next=/staff/antrian/"), url
    assert counter_state(mall_a.tenant) == before


def test_officers_are_refused(mall_a: Mall, officer_a: Client) -> None:
    before = counter_state(mall_a.tenant)
    for method, url in all_urls(mall_a):
        data = counter_post() | {"aktif": "0", "slot_minutes": "10"} if method == "post" else {}
        response = getattr(officer_a, method)(url, data)
        assert response.status_code == 403, url
        assert "Hanya admin daerah" in html(response)
        assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert counter_state(mall_a.tenant) == before
    setting = in_a(mall_a.tenant, lambda: QueueSetting.objects.get(service_key=KTP))
    assert setting.slot_minutes == 30


def test_pages_are_never_cached(admin_a: Client) -> None:
    for url in (BASE, NEW, f"{BASE}statistik/"):
        response = admin_a.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], url


# --- Overview -----------------------------------------------------------------------------------


def test_the_overview_shows_counters_and_settings(mall_a: Mall, admin_a: Client) -> None:
    page = html(admin_a.get(BASE))
    assert "Loket 1" in page and "Loket 2" in page
    assert mall_a.officer.email in page  # Loket 1's officer
    assert "Jalur prioritas" in page  # Loket 2
    # KTP has its setting (30 min, 2 per slot, 50 a day); KK is served with the defaults.
    assert f'href="/staff/antrian/layanan/{KTP}/"' in page
    assert f'href="/staff/antrian/layanan/{KK}/"' in page
    assert "bawaan" in page
    assert '<td class="num">30</td>' in page and '<td class="num">50</td>' in page
    # The picker offers every visible service, e.g. one no counter serves.
    assert f'<option value="{BPJS}">' in page


def test_the_overview_costs_the_same_queries_for_many_counters(
    mall_a: Mall, admin_a: Client
) -> None:
    def queries() -> tuple[int, str]:
        admin_a.get(BASE)  # the same connection state before every measured request
        with CaptureQueriesContext(connection) as captured:
            response = admin_a.get(BASE)
        assert response.status_code == 200
        return len(captured), html(response)

    few, _page = queries()
    with tenant_context(mall_a.tenant):
        staff = [
            User.objects.create_user(f"p{n}@alpha.go.id", role=User.Role.OFFICER) for n in range(3)
        ]
        for n in range(3, 13):
            save_counter(
                name=f"Loket {n}",
                agency_code="dukcapil",
                prefix="DKP",
                service_keys=[KTP, KIA, "dukcapil-akta-kelahiran"],
                officers=staff,
                acting_user=None,
            )
            save_queue_setting(KIA, daily_quota=n, acting_user=None)
    many, page = queries()
    assert "Loket 12" in page and "p2@alpha.go.id" in page
    # Session, user, counters, their officers, agencies, settings, services.
    assert many == few <= 7


# --- Counters ---------------------------------------------------------------------------------


def test_the_admin_creates_a_counter(mall_a: Mall, admin_a: Client) -> None:
    first = html(admin_a.get(NEW))
    assert 'name="instansi"' in first and 'name="service_keys"' not in first
    page = html(admin_a.get(NEW, {"instansi": "dukcapil"}))
    assert f'value="{KIA}"' in page and f'value="{BPJS}"' not in page
    assert f'value="{mall_a.officer.pk}"' in page  # staff are offered as officers
    response = admin_a.post(
        NEW, counter_post(officers=[str(mall_a.officer.pk)], priority_lane="on")
    )
    assert response.status_code == 302 and response["Location"] == BASE + "#loket"
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(name="Loket 7")
        assert (counter.prefix, counter.service_keys, counter.active, counter.priority_lane) == (
            "KIA",
            [KIA, KTP],
            True,
            True,
        )
        assert list(counter.officers.all()) == [mall_a.officer]
        event = AuditEvent.objects.filter(action="queue.counter_saved").latest("pk")
        assert event.actor_email == "admin@alpha.go.id"
        assert event.after["name"] == "Loket 7" and event.before == {}
    assert "Loket 7 disimpan" in html(admin_a.get(BASE))


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"name": "  "}, "Isi nama loket"),
        ({"name": "LOKET 1"}, "Nama loket ini sudah dipakai."),
        ({"name": "L" * 61}, "Paling banyak 60 karakter."),
        ({"prefix": "D"}, "Awalan nomor 2–4 huruf"),
        ({"prefix": "DK1"}, "Awalan nomor 2–4 huruf"),
        ({"prefix": "ABCDE"}, "Awalan nomor 2–4 huruf"),
        ({"prefix": ""}, "Awalan nomor 2–4 huruf"),
        ({"service_keys": []}, "Pilih minimal satu layanan."),
        ({"service_keys": [KTP, BPJS]}, f"Bukan layanan instansi ini: {BPJS}."),
        ({"service_keys": ["no-such-service"]}, "Bukan layanan instansi ini: no-such-service."),
        ({"officers": ["999999"]}, "Petugas harus staf aktif daerah ini"),
        ({"officers": ["abc"]}, "Petugas tidak dikenal."),
        ({"agency_code": "no-such-agency"}, "Instansi tidak ditemukan atau tidak hadir"),
        ({"agency_code": ""}, "Instansi tidak ditemukan atau tidak hadir"),
    ],
)
def test_bad_counter_input_is_refused_and_explained(
    mall_a: Mall, admin_a: Client, overrides: dict[str, Any], field_error: str
) -> None:
    before = counter_state(mall_a.tenant)
    events = in_a(mall_a.tenant, AuditEvent.objects.count)
    response = admin_a.post(NEW, counter_post(**overrides))
    assert response.status_code == 400
    page = html(response)
    assert field_error in page
    assert '<ul class="errorlist' in page
    # What was typed is kept for correcting.
    if "name" not in overrides:
        assert 'value="Loket 7"' in page
    assert counter_state(mall_a.tenant) == before
    assert in_a(mall_a.tenant, AuditEvent.objects.count) == events


def test_a_deactivated_officer_cannot_be_given_a_counter(mall_a: Mall, admin_a: Client) -> None:
    with tenant_context(mall_a.tenant):
        gone = User.objects.create_user("pensiun@alpha.go.id", role=User.Role.OFFICER)
        gone.is_active = False
        gone.save()
    response = admin_a.post(NEW, counter_post(officers=[str(gone.pk)]))
    assert response.status_code == 400
    assert "staf aktif" in html(response)
    assert f'value="{gone.pk}"' not in html(admin_a.get(NEW, {"instansi": "dukcapil"}))


def test_an_unknown_agency_in_the_picker_is_explained(mall_a: Mall, admin_a: Client) -> None:
    response = admin_a.get(NEW, {"instansi": "no-such-agency"})
    assert response.status_code == 400
    assert "Instansi tidak ditemukan atau tidak hadir di mal ini." in html(response)
    assert 'name="service_keys"' not in html(response)


def test_the_admin_edits_a_counter(mall_a: Mall, admin_a: Client) -> None:
    url = f"{BASE}loket/{mall_a.counter.pk}/"
    page = html(admin_a.get(url))
    assert 'value="Loket 1"' in page and 'value="DKP"' in page
    assert f'value="{KTP}"' in page and "checked" in page
    response = admin_a.post(
        url,
        counter_post(name="Loket 1A", prefix="DKA", service_keys=[KK], officers=[]),
    )
    assert response.status_code == 302
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(pk=mall_a.counter.pk)
        assert (counter.name, counter.prefix, counter.service_keys) == ("Loket 1A", "DKA", [KK])
        assert not counter.officers.exists()
        event = AuditEvent.objects.filter(action="queue.counter_saved").latest("pk")
        assert event.before["officers"] == [mall_a.officer.email]
        assert event.after["officers"] == []


def test_switching_the_agency_lists_its_services(mall_a: Mall, admin_a: Client) -> None:
    page = html(admin_a.get(f"{BASE}loket/{mall_a.counter.pk}/", {"instansi": "bpjs-kesehatan"}))
    assert f'value="{BPJS}"' in page and f'value="{KTP}"' not in page
    assert 'name="agency_code" value="bpjs-kesehatan"' in page


def test_an_edit_with_bad_input_changes_nothing(mall_a: Mall, admin_a: Client) -> None:
    before = counter_state(mall_a.tenant)
    response = admin_a.post(
        f"{BASE}loket/{mall_a.counter.pk}/",
        counter_post(name="Loket 2", prefix="X"),  # taken by the other counter; bad prefix
    )
    assert response.status_code == 400
    assert "sudah dipakai" in html(response) and "2–4 huruf" in html(response)
    assert counter_state(mall_a.tenant) == before


def test_a_counter_is_deactivated_not_deleted(mall_a: Mall, admin_a: Client) -> None:
    url = f"{BASE}loket/{mall_a.counter.pk}/status/"
    response = admin_a.post(url, {"aktif": "0"})
    assert response.status_code == 302
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(pk=mall_a.counter.pk)
        assert not counter.active
        assert list(counter.officers.all()) == [mall_a.officer]  # the rest is kept
        event = AuditEvent.objects.filter(action="queue.counter_saved").latest("pk")
        assert event.before == {"active": True} and event.after == {"active": False}
    page = html(admin_a.get(BASE))
    assert "dinonaktifkan" in page and "Aktifkan" in page
    admin_a.post(url, {"aktif": "1"})
    assert in_a(mall_a.tenant, lambda: Counter.objects.get(pk=mall_a.counter.pk).active)


@pytest.mark.parametrize("value", ["", "ya", "2"])
def test_a_bad_status_changes_nothing(mall_a: Mall, admin_a: Client, value: str) -> None:
    response = admin_a.post(f"{BASE}loket/{mall_a.counter.pk}/status/", {"aktif": value})
    assert response.status_code == 302
    assert "Pilih aktif (1) atau nonaktif (0)." in html(admin_a.get(BASE))
    assert in_a(mall_a.tenant, lambda: Counter.objects.get(pk=mall_a.counter.pk).active)


def test_deactivating_a_counter_whose_service_was_retired_is_explained(
    mall_a: Mall, admin_a: Client
) -> None:
    with tenant_context(mall_a.tenant):
        LocalService.objects.filter(key=KK).update(retired=True)
    admin_a.post(f"{BASE}loket/{mall_a.counter.pk}/status/", {"aktif": "0"})
    page = html(admin_a.get(BASE))
    assert "tidak bisa diubah" in page and KK in page
    assert in_a(mall_a.tenant, lambda: Counter.objects.get(pk=mall_a.counter.pk).active)


def test_unknown_counter_ids_are_404(mall_a: Mall, admin_a: Client) -> None:
    assert admin_a.get(f"{BASE}loket/999999/").status_code == 404
    assert admin_a.post(f"{BASE}loket/999999/", counter_post()).status_code == 404
    assert admin_a.post(f"{BASE}loket/999999/status/", {"aktif": "0"}).status_code == 404
    assert admin_a.get(f"{BASE}loket/abc/").status_code == 404


def test_status_only_accepts_post(mall_a: Mall, admin_a: Client) -> None:
    assert admin_a.get(f"{BASE}loket/{mall_a.counter.pk}/status/").status_code == 405


# --- Isolation ----------------------------------------------------------------------------------


def test_tenant_b_cannot_reach_tenant_as_counters(
    mall_a: Mall, tenant_b: Tenant, admin_a: Client
) -> None:
    admin_b = sign_in(tenant_b, "admin@beta.go.id")
    before = counter_state(mall_a.tenant)
    for pk in (mall_a.counter.pk, mall_a.priority_counter.pk):
        assert admin_b.get(f"{BASE}loket/{pk}/").status_code == 404
        assert admin_b.post(f"{BASE}loket/{pk}/", counter_post()).status_code == 404
        assert admin_b.post(f"{BASE}loket/{pk}/status/", {"aktif": "0"}).status_code == 404
    overview = html(admin_b.get(BASE))
    assert "Loket 1" not in overview and mall_a.officer.email not in overview
    assert "Belum ada loket" in overview
    # KTP's setting is A's: B sees its own (none) and A's is untouched by B's save.
    assert (
        admin_b.post(
            f"{BASE}layanan/{KTP}/",
            {"slot_minutes": "10", "slot_capacity": "9", "daily_quota": "90"},
        ).status_code
        == 302
    )
    assert counter_state(mall_a.tenant) == before
    assert in_a(mall_a.tenant, lambda: QueueSetting.objects.get(service_key=KTP).slot_minutes) == 30
    # A's session means nothing on B's host, and B's nothing on A's.
    assert admin_a.get(BASE, HTTP_HOST="beta.localhost").status_code == 302
    assert admin_b.get(BASE, HTTP_HOST="alpha.localhost").status_code == 302


def test_tenant_bs_statistics_never_count_tenant_as_tickets(mall_a: Mall, tenant_b: Tenant) -> None:
    play_two_days(mall_a)
    admin_b = sign_in(tenant_b, "admin@beta.go.id")
    page = html(
        admin_b.get(
            f"{BASE}statistik/", {"dari": MONDAY.isoformat(), "sampai": TUESDAY.isoformat()}
        )
    )
    assert "<strong>0</strong> tiket" in page and "Loket 1" not in page
    rows = list(
        csv.reader(
            io.StringIO(
                admin_b.get(
                    f"{BASE}statistik/csv/",
                    {"dari": MONDAY.isoformat(), "sampai": TUESDAY.isoformat()},
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert rows[1][3] == "0" and not [r for r in rows if r[0] == "loket"]


# --- Queue settings -----------------------------------------------------------------------------


def test_the_admin_sets_a_services_queue(mall_a: Mall, admin_a: Client) -> None:
    url = f"{BASE}layanan/{KTP}/"
    page = html(admin_a.get(url))
    assert KTP_NAME in page and 'value="30"' in page and 'value="50"' in page
    response = admin_a.post(
        url, {"slot_minutes": "20", "slot_capacity": "3", "daily_quota": "80"}
    )  # online booking unticked
    assert response.status_code == 302 and response["Location"] == BASE + "#pengaturan"
    with tenant_context(mall_a.tenant):
        setting = QueueSetting.objects.get(service_key=KTP)
        assert (setting.slot_minutes, setting.slot_capacity, setting.daily_quota) == (20, 3, 80)
        assert not setting.online_booking
        event = AuditEvent.objects.filter(action="queue.setting_saved").latest("pk")
        assert event.before["slot_minutes"] == 30 and event.after["online_booking"] is False


def test_any_visible_service_can_be_set_up(mall_a: Mall, admin_a: Client) -> None:
    response = admin_a.get(f"{BASE}layanan/", {"layanan": BPJS})
    assert response.status_code == 302 and response["Location"] == f"{BASE}layanan/{BPJS}/"
    page = html(admin_a.get(response["Location"]))
    assert "belum diatur" in page and 'value="15"' in page  # the defaults
    admin_a.post(
        response["Location"],
        {"slot_minutes": "10", "slot_capacity": "6", "daily_quota": "120", "online_booking": "on"},
    )
    assert (
        in_a(mall_a.tenant, lambda: QueueSetting.objects.get(service_key=BPJS).daily_quota) == 120
    )
    assert f'href="/staff/antrian/layanan/{BPJS}/"' in html(admin_a.get(BASE))


@pytest.mark.parametrize(
    ("choice", "message"),
    [("", "Pilih layanan dari daftar."), ("no-such-service", "Layanan tidak ditemukan")],
)
def test_the_picker_explains_a_bad_choice(
    mall_a: Mall, admin_a: Client, choice: str, message: str
) -> None:
    response = admin_a.get(f"{BASE}layanan/", {"layanan": choice})
    assert response.status_code == 400
    assert message in html(response)


def test_a_disabled_service_is_not_offered_but_its_setting_stays_editable(
    mall_a: Mall, admin_a: Client
) -> None:
    with tenant_context(mall_a.tenant):
        set_enabled(LocalService.objects.get(key=KK), False, acting_user=None)
    assert admin_a.get(f"{BASE}layanan/", {"layanan": KK}).status_code == 400
    assert admin_a.get(f"{BASE}layanan/{KK}/").status_code == 200  # a counter still serves it


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"slot_minutes": "4"}, "Antara 5 dan 120."),
        ({"slot_minutes": "121"}, "Antara 5 dan 120."),
        ({"slot_minutes": "lima"}, "Isi angka bulat."),
        ({"slot_capacity": "0"}, "Antara 1 dan 500."),
        ({"slot_capacity": "999"}, "Antara 1 dan 500."),
        ({"slot_capacity": "2.5"}, "Isi angka bulat."),
        ({"daily_quota": "seratus"}, "Isi angka bulat."),
        ({"daily_quota": "0"}, "Antara 1 dan 100000."),
        ({"daily_quota": ""}, "Isi angka bulat."),
        ({"daily_quota": "-5"}, "Antara 1 dan 100000."),
    ],
)
def test_bad_settings_are_refused_and_explained(
    mall_a: Mall, admin_a: Client, data: dict[str, str], field_error: str
) -> None:
    valid = {"slot_minutes": "20", "slot_capacity": "3", "daily_quota": "80"}
    response = admin_a.post(f"{BASE}layanan/{KTP}/", valid | data)
    assert response.status_code == 400
    assert field_error in html(response)
    with tenant_context(mall_a.tenant):
        setting = QueueSetting.objects.get(service_key=KTP)
        assert (setting.slot_minutes, setting.slot_capacity, setting.daily_quota) == (30, 2, 50)


def test_unknown_and_retired_services_have_no_setting_page(mall_a: Mall, admin_a: Client) -> None:
    assert admin_a.get(f"{BASE}layanan/no-such-service/").status_code == 404
    with tenant_context(mall_a.tenant):
        LocalService.objects.filter(key=KIA).update(retired=True)
    assert admin_a.get(f"{BASE}layanan/{KIA}/").status_code == 404
    assert admin_a.post(f"{BASE}layanan/{KIA}/", {"slot_minutes": "10"}).status_code == 404


# --- Statistics ---------------------------------------------------------------------------------


def test_the_statistics_page(mall_a: Mall, admin_a: Client) -> None:
    play_two_days(mall_a)
    response = admin_a.get(
        f"{BASE}statistik/", {"dari": MONDAY.isoformat(), "sampai": TUESDAY.isoformat()}
    )
    assert response.status_code == 200
    page = html(response)
    assert "<strong>6</strong> tiket" in page and "<strong>1</strong> tidak hadir" in page
    # Range: median wait 1200 s = 20 min, p90 1800 s; service median 750 s, p90 1530 s.
    for text in ("20,0 menit", "30,0 menit", "12,5 menit", "25,5 menit"):
        assert f"<strong>{text}</strong>" in page
    assert KTP_NAME in page and "Loket 2" in page and "Belum dipanggil loket" in page
    assert "Disdukcapil" in page
    csv_link = f"statistik/csv/?dari={MONDAY.isoformat()}&amp;sampai={TUESDAY.isoformat()}"
    assert csv_link in page


def test_the_statistics_csv(mall_a: Mall, admin_a: Client) -> None:
    play_two_days(mall_a)
    response = admin_a.get(
        f"{BASE}statistik/csv/", {"dari": MONDAY.isoformat(), "sampai": TUESDAY.isoformat()}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        f'filename="antrean-alpha-{MONDAY:%Y%m%d}-{TUESDAY:%Y%m%d}.csv"'
        in response["Content-Disposition"]
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["cakupan", "kunci", "nama", "tiket"]
    assert rows[1][3:] == ["6", "1", "1200", "1800", "750", "1530"]
    assert ["loket", "Loket 1", "Loket 1", "3", "0", "1200", "1680", "600", "1560"] in rows


def test_statistics_default_to_the_tenants_own_today(
    mall_a: Mall, tenant_b: Tenant, admin_a: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 16:30 UTC it is 23:30 in Alpha (WIB) and already 00:30 next day in Beta (WITA)."""
    import django.utils.timezone

    admin_b = sign_in(tenant_b, "admin@beta.go.id")
    instant = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(django.utils.timezone, "now", lambda: instant)
    page_a = html(admin_a.get(f"{BASE}statistik/"))
    page_b = html(admin_b.get(f"{BASE}statistik/"))
    assert 'name="dari" value="2026-03-01"' in page_a and "Minggu, 1 Maret 2026" in page_a
    assert 'name="sampai" value="2026-03-02"' in page_b and "Senin, 2 Maret 2026" in page_b
    rows = admin_b.get(f"{BASE}statistik/csv/").content.decode("utf-8-sig").splitlines()
    assert rows[1].startswith("total,2026-03-02/2026-03-02,")


@pytest.mark.parametrize(
    ("query", "field_error"),
    [
        ({"dari": "2026-02-30"}, "Tanggal tidak valid: 2026-02-30"),
        ({"dari": "kemarin"}, "Tanggal tidak valid: kemarin"),
        ({"sampai": "01-03-2026"}, "Tanggal tidak valid: 01-03-2026"),
        ({"dari": "2026-03-10", "sampai": "2026-03-01"}, "setelah tanggal awal"),
        ({"dari": "2026-01-01", "sampai": "2026-04-30"}, "paling panjang 92 hari"),
    ],
)
def test_bad_statistics_ranges_are_explained(
    mall_a: Mall, admin_a: Client, query: dict[str, str], field_error: str
) -> None:
    response = admin_a.get(f"{BASE}statistik/", query)
    assert response.status_code == 400
    assert field_error in html(response) and "<strong>" not in html(response)
    response = admin_a.get(f"{BASE}statistik/csv/", query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert field_error in response.content.decode()


def test_statistics_cost_the_same_queries_whatever_the_range(mall_a: Mall, admin_a: Client) -> None:
    def queries(url: str, query: dict[str, str]) -> int:
        admin_a.get(url, query)  # the same connection state before every measured request
        with CaptureQueriesContext(connection) as captured:
            assert admin_a.get(url, query).status_code == 200
        return len(captured)

    one_day = {"dari": MONDAY.isoformat(), "sampai": MONDAY.isoformat()}
    quarter = {
        "dari": (MONDAY - dt.timedelta(days=80)).isoformat(),
        "sampai": (TUESDAY + dt.timedelta(days=10)).isoformat(),
    }
    page, csv_url = f"{BASE}statistik/", f"{BASE}statistik/csv/"
    empty = queries(page, one_day)
    play_two_days(mall_a)
    baseline = queries(page, one_day)
    with tenant_context(mall_a.tenant):
        for minute in range(0, 50, 5):
            issue_walk_in(KK if minute % 2 else KTP, now=at(TUESDAY, 11, minute))
    # Session, user, figures, service names, agency names; fewer with nothing to name.
    assert empty <= baseline <= 5
    for query in (one_day, quarter):
        assert queries(page, query) == baseline, query
        assert queries(csv_url, query) == baseline, query


def test_the_staff_menus_link_the_queue_pages(mall_a: Mall, admin_a: Client) -> None:
    for url in ("/staff/katalog/", "/staff/profil/", BASE):
        page = html(admin_a.get(url))
        assert 'href="/staff/antrian/"' in page and 'href="/staff/loket/"' in page, url


def test_officers_are_not_offered_the_admin_link(mall_a: Mall, officer_a: Client) -> None:
    page = html(officer_a.get("/staff/katalog/"))
    assert 'href="/staff/loket/"' in page and 'href="/staff/antrian/"' not in page
