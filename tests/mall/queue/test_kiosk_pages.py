"""The kiosk at /antrian/kiosk/ over real HTTP: staff only, walk-in tickets, check-in.

The kiosk acts "now", so the clock is set to next week's Monday at 10:00 WIB (an open day).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import django.utils.timezone
import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from mall.queue.actions import book, cancel_booking, ensure_slots, save_queue_setting
from mall.queue.models import Booking, Ticket
from mpp.accounts.models import User
from tenants.models import Tenant
from tests.mall.queue.conftest import KK, KTP, MONDAY, SUNDAY, Mall, at, nik, set_up_mall

TUESDAY = MONDAY + dt.timedelta(days=1)
FRIDAY_BEFORE = at(MONDAY - dt.timedelta(days=3), 10)
UNSERVED = "bpjs-kesehatan-pendaftaran-mandiri"
TICKET_PAGE = re.compile(r"^/antrian/kiosk/tiket/(\d+)/$")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set "now" for the pages and actions; Monday 10:00 WIB to begin with."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(django.utils.timezone, "now", lambda: moment)

    set_now(at(MONDAY, 10))
    return set_now


def client(slug: str = "alpha", **options: Any) -> Client:
    return Client(HTTP_HOST=f"{slug}.localhost", **options)


def signed_in(user: User, tenant: Tenant, slug: str = "alpha", **options: Any) -> Client:
    c = client(slug, **options)
    with tenant_context(tenant):  # the session lives in the tenant's schema
        c.force_login(user)
    return c


def text(response: Any) -> str:
    return response.content.decode()


def ticket_of(tenant: Tenant, response: Any) -> Ticket:
    assert response.status_code == 302, text(response)[:3000]
    match = TICKET_PAGE.match(response["Location"])
    assert match, response["Location"]
    with tenant_context(tenant):
        return Ticket.objects.get(pk=int(match.group(1)))


def booking_on(tenant: Tenant, day: dt.date, serial: int = 1) -> Booking:
    with tenant_context(tenant):
        slot = ensure_slots(KTP, day, now=FRIDAY_BEFORE)[0]
        return book(
            KTP, slot.pk, name="Warga", nik=nik(serial), phone="081234567890", now=FRIDAY_BEFORE
        )


def no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.fixture
def officer(mall_a: Mall, clock: Any) -> Client:
    return signed_in(mall_a.officer, mall_a.tenant)


# --- Who may use it --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(mall_a: Mall, clock: Any) -> None:
    c = client()
    for method, path in (
        ("get", "/antrian/kiosk/"),
        ("post", "/antrian/kiosk/ambil/"),
        ("post", "/antrian/kiosk/checkin/"),
        ("get", "/antrian/kiosk/tiket/1/"),
    ):
        response = getattr(c, method)(path, {"service_key": KTP} if method == "post" else None)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/staff/login/?next=/antrian/kiosk/")
    with tenant_context(mall_a.tenant):
        assert not Ticket.objects.exists()


def test_other_roles_are_refused(mall_a: Mall, clock: Any) -> None:
    with tenant_context(mall_a.tenant):
        stranger = User.objects.create_user(
            "provinsi@alpha.go.id", "Rahasia-Provinsi-2026", role=User.Role.PROVINCE_ADMIN
        )
    c = signed_in(stranger, mall_a.tenant)
    page = c.get("/antrian/kiosk/")
    assert page.status_code == 403 and "Akses ditolak" in text(page)
    assert c.post("/antrian/kiosk/ambil/", {"service_key": KTP}).status_code == 403
    with tenant_context(mall_a.tenant):
        assert not Ticket.objects.exists()


def test_the_tenant_admin_may_run_the_kiosk(mall_a: Mall, clock: Any) -> None:
    with tenant_context(mall_a.tenant):
        admin = User.objects.get(email="admin@alpha.go.id")
    assert signed_in(admin, mall_a.tenant).get("/antrian/kiosk/").status_code == 200


def test_kiosk_posts_need_the_csrf_token(mall_a: Mall, clock: Any) -> None:
    c = signed_in(mall_a.officer, mall_a.tenant, enforce_csrf_checks=True)
    assert c.post("/antrian/kiosk/ambil/", {"service_key": KTP}).status_code == 403
    with tenant_context(mall_a.tenant):
        assert not Ticket.objects.exists()


# --- The screen ------------------------------------------------------------------------------


def test_the_kiosk_screen_has_a_button_per_served_service(
    mall_a: Mall, officer: Client, django_assert_max_num_queries: Any
) -> None:
    officer.get("/antrian/kiosk/")  # warm routing and the session
    with django_assert_max_num_queries(10):
        page = officer.get("/antrian/kiosk/")
    body = text(page)
    assert page.status_code == 200 and no_store(page)
    assert f'name="service_key" value="{KTP}"' in body
    assert f'name="service_key" value="{KK}"' in body
    assert UNSERVED not in body  # no counter serves it
    assert body.count('type="radio" name="priority"') == 8  # four choices on each form
    assert 'id="walkin_priority_1"' in body and 'id="checkin_priority_1"' in body
    assert "Lansia" in body and "Ibu hamil" in body
    assert 'name="code"' in body


# --- Walk-in tickets -------------------------------------------------------------------------


def test_a_walk_in_ticket_is_issued_and_printed(mall_a: Mall, officer: Client) -> None:
    first = ticket_of(mall_a.tenant, officer.post("/antrian/kiosk/ambil/", {"service_key": KTP}))
    assert (first.number, first.kind, first.priority) == ("DKP-001", "walk_in", False)
    page = officer.get(f"/antrian/kiosk/tiket/{first.pk}/")
    body = text(page)
    assert page.status_code == 200 and no_store(page)
    assert "DKP-001" in body and "Penerbitan KTP-el Baru" in body
    assert "10.00 WIB" in body and "Belum ada yang menunggu" in body

    second = ticket_of(
        mall_a.tenant,
        officer.post("/antrian/kiosk/ambil/", {"service_key": KTP, "priority": "lansia"}),
    )
    assert (second.number, second.priority) == ("DKP-002", True)
    body = text(officer.get(f"/antrian/kiosk/tiket/{second.pk}/"))
    assert "DKP-002" in body and "Prioritas" in body and "Sekitar 1 orang" in body
    with tenant_context(mall_a.tenant):
        assert Ticket.objects.filter(kind="walk_in").count() == 2


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"service_key": "no-such-service"}, "Layanan tidak ditemukan."),
        ({"service_key": ""}, "Layanan tidak ditemukan."),
        ({"service_key": UNSERVED}, "Belum ada loket aktif"),
        ({"service_key": KTP, "priority": "vip"}, "vip"),
    ],
)
def test_bad_walk_in_requests_are_refused(
    mall_a: Mall, officer: Client, data: dict[str, str], fragment: str
) -> None:
    response = officer.post("/antrian/kiosk/ambil/", data)
    assert response.status_code == 400 and fragment in text(response)
    assert f'name="service_key" value="{KTP}"' in text(response)  # the screen again
    with tenant_context(mall_a.tenant):
        assert not Ticket.objects.exists()


def test_walk_ins_are_refused_when_closed_or_over_quota(
    mall_a: Mall, officer: Client, clock: Any
) -> None:
    with tenant_context(mall_a.tenant):
        save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=1, acting_user=None)
    ticket_of(mall_a.tenant, officer.post("/antrian/kiosk/ambil/", {"service_key": KTP}))
    over = officer.post("/antrian/kiosk/ambil/", {"service_key": KTP})
    assert over.status_code == 400 and "Kuota harian layanan ini sudah habis" in text(over)

    clock(at(MONDAY, 16))  # after closing
    late = officer.post("/antrian/kiosk/ambil/", {"service_key": KK})
    assert late.status_code == 400 and "Mal sudah tutup untuk hari ini" in text(late)

    clock(at(SUNDAY, 10))
    sunday = officer.post("/antrian/kiosk/ambil/", {"service_key": KK})
    assert sunday.status_code == 400 and "Mal tutup setiap hari Minggu." in text(sunday)
    with tenant_context(mall_a.tenant):
        assert Ticket.objects.count() == 1


# --- Check-in --------------------------------------------------------------------------------


def test_a_booking_checks_in_by_its_code(mall_a: Mall, officer: Client) -> None:
    booking = booking_on(mall_a.tenant, MONDAY)
    typed = f"{booking.code[:4].lower()}-{booking.code[4:]}"
    ticket = ticket_of(
        mall_a.tenant,
        officer.post("/antrian/kiosk/checkin/", {"code": typed, "priority": "hamil"}),
    )
    assert (ticket.kind, ticket.priority, ticket.booking_id) == ("online", True, booking.pk)
    body = text(officer.get(f"/antrian/kiosk/tiket/{ticket.pk}/"))
    assert ticket.number in body
    assert f"{booking.code[:4]}-{booking.code[4:]}" in body
    assert nik(1) not in body
    with tenant_context(mall_a.tenant):
        assert Booking.objects.get(pk=booking.pk).status == "checked_in"

    # The citizen's own page now shows the number too.
    citizen = text(client().get(f"/antrian/booking/{booking.code}/"))
    assert "Sudah check-in" in citizen and ticket.number in citizen

    again = officer.post("/antrian/kiosk/checkin/", {"code": booking.code})
    assert again.status_code == 400
    assert f"sudah check-in; nomor antrean Anda {ticket.number}" in text(again)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "Isi kode booking."),
        (" - ", "Isi kode booking."),
        ("ABCD2345", "Kode booking tidak ditemukan."),
        ("garbage!", "Kode booking tidak ditemukan."),
        ("A" * 21, "paling banyak 20 karakter"),
    ],
)
def test_unknown_codes_are_refused_at_check_in(
    mall_a: Mall, officer: Client, code: str, fragment: str
) -> None:
    response = officer.post("/antrian/kiosk/checkin/", {"code": code})
    body = text(response)
    assert response.status_code == 400 and fragment in body
    # The message sits with the code box.
    at_input = body.index('name="code"')
    assert fragment in body[at_input : body.index("</p>", at_input)]


def test_check_in_is_refused_on_another_day_or_after_cancelling(
    mall_a: Mall, officer: Client
) -> None:
    tuesday = booking_on(mall_a.tenant, TUESDAY, 1)
    wrong_day = officer.post("/antrian/kiosk/checkin/", {"code": tuesday.code})
    assert wrong_day.status_code == 400
    assert f"untuk tanggal {TUESDAY:%d-%m-%Y}; check-in hanya pada hari itu" in text(wrong_day)

    monday = booking_on(mall_a.tenant, MONDAY, 2)
    with tenant_context(mall_a.tenant):
        cancel_booking(monday.code, now=FRIDAY_BEFORE)
    cancelled = officer.post("/antrian/kiosk/checkin/", {"code": monday.code})
    assert cancelled.status_code == 400 and "status: Dibatalkan" in text(cancelled)
    with tenant_context(mall_a.tenant):
        assert not Ticket.objects.exists()


# --- Tenant isolation ------------------------------------------------------------------------


def test_the_kiosk_of_one_tenant_never_reaches_the_other(
    mall_a: Mall, tenant_b: Tenant, clock: Any
) -> None:
    with tenant_context(tenant_b):
        mall_b = set_up_mall(tenant_b)
    a_booking = booking_on(mall_a.tenant, MONDAY, 1)
    b_booking = booking_on(tenant_b, MONDAY, 2)
    a_officer = signed_in(mall_a.officer, mall_a.tenant)
    b_officer = signed_in(mall_b.officer, tenant_b, "beta")

    a_ticket = ticket_of(
        mall_a.tenant, a_officer.post("/antrian/kiosk/ambil/", {"service_key": KTP})
    )
    # B has no ticket yet: A's ticket id is unknown there.
    assert b_officer.get(f"/antrian/kiosk/tiket/{a_ticket.pk}/").status_code == 404
    for officer_client, other in ((b_officer, a_booking), (a_officer, b_booking)):
        refused = officer_client.post("/antrian/kiosk/checkin/", {"code": other.code})
        assert refused.status_code == 400 and "Kode booking tidak ditemukan." in text(refused)
    with tenant_context(mall_a.tenant):
        assert Booking.objects.get(pk=a_booking.pk).status == "booked"
    with tenant_context(tenant_b):
        assert Booking.objects.get(pk=b_booking.pk).status == "booked"
        assert not Ticket.objects.exists()
    # B's own booking checks in on B, on B's own numbering.
    b_ticket = ticket_of(
        tenant_b, b_officer.post("/antrian/kiosk/checkin/", {"code": b_booking.code})
    )
    assert b_ticket.number == "DKP-001"
    assert "11.00 WITA" in text(b_officer.get(f"/antrian/kiosk/tiket/{b_ticket.pk}/"))
    # A's session means nothing on B's host (staff users live in their tenant's schema).
    assert a_officer.get("/antrian/kiosk/", HTTP_HOST="beta.localhost").status_code == 302
