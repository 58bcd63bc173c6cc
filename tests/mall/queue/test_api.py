"""The queue API on a tenant's host: every endpoint, bad input, roles, isolation, OpenAPI.

The clock is frozen at a Monday 09:00 (WIB) a week or two ahead, by replacing
``django.utils.timezone.now`` (what the actions, the NIK check and the audit log all read):
the API has no ``now=`` to pass, and the mall must be open for walk-ins and calls whatever
the hour the suite runs. Every client here fails the test if a full NIK appears in any answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mall.actions import add_closure
from mall.queue.actions import issue_walk_in, save_counter, save_queue_setting
from mall.queue.models import Booking, Counter, QueueSetting, Slot, Ticket
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.actions import suspend_tenant
from tenants.models import Tenant
from tenants.routing import route_cache
from tests.conftest import api_client_for
from tests.mall.queue.conftest import KK, KTP, MONDAY, SUNDAY, Mall, at, nik, set_up_mall

API = "/api/v1/queue/"
SERVICES, BOOKINGS, TICKETS = f"{API}services/", f"{API}bookings/", f"{API}tickets/"
COUNTERS, SETTINGS, BOARD = f"{API}counters/", f"{API}settings/", f"{API}board/"
PASSWORD = "Rahasia-Antrean-API-2026"
NOW = at(MONDAY, 9)
TUESDAY = MONDAY + dt.timedelta(days=1)
# Every NIK a test here may send: none may ever come back in clear.
FULL_NIKS = [nik(serial) for serial in range(1, 60)]


# --- Clients and fixtures -------------------------------------------------------------------


class GuardedClient(APIClient):
    """An API client that fails the test when an answer carries a full NIK."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        content = response.content.decode(errors="replace")
        leaked = [n for n in FULL_NIKS if n in content]
        assert not leaked, f"full NIK in the answer: {content}"
        return response


def api(tenant: Tenant, user: User | None = None) -> GuardedClient:
    """A client on ``tenant``'s host, authenticated by ``user``'s token (in its schema)."""
    client = GuardedClient(HTTP_HOST=tenant.host)
    if user is not None:
        with tenant_context(tenant):
            token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@dataclass
class Clock:
    """The frozen current instant; tests move it forward."""

    now: dt.datetime


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(NOW)
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@dataclass
class Site:
    """A tenant with its queue set up, and the people who use it."""

    tenant: Tenant
    mall: Mall
    admin: User
    officer: User  # works counter 1 ("Loket 1")
    other_officer: User  # works counter 2 ("Loket 2", priority lane) only

    @property
    def counter(self) -> int:
        return self.mall.counter.pk

    @property
    def other_counter(self) -> int:
        return self.mall.priority_counter.pk


def set_up_site(tenant: Tenant) -> Site:
    with tenant_context(tenant):
        mall = set_up_mall(tenant)
        admin = User.objects.get(email=f"admin@{tenant.slug}.go.id")
        other = User.objects.create_user(
            f"petugas2@{tenant.slug}.go.id", PASSWORD, role=User.Role.OFFICER
        )
        save_counter(
            mall.priority_counter,
            name="Loket 2",
            agency_code="dukcapil",
            prefix="DKP",
            service_keys=[KTP, KK],
            officers=[other],
            priority_lane=True,
            acting_user=None,
        )
    return Site(tenant, mall, admin, mall.officer, other)


@pytest.fixture
def site(tenant_a: Tenant, clock: Clock) -> Site:
    """Tenant A (WIB) with hours, two Dukcapil counters and KTP slots of 30 minutes × 2."""
    return set_up_site(tenant_a)


@pytest.fixture
def site_b(tenant_b: Tenant, clock: Clock) -> Site:
    """Tenant B (WITA), set up the same way."""
    return set_up_site(tenant_b)


@pytest.fixture(autouse=True)
def _public_schema_after() -> Iterator[None]:
    yield
    connection.set_schema_to_public()


# --- Helpers --------------------------------------------------------------------------------


def slots(tenant: Tenant, day: dt.date = MONDAY, service: str = KTP) -> list[dict[str, Any]]:
    response = api(tenant).get(f"{SERVICES}{service}/slots/?date={day.isoformat()}")
    assert response.status_code == 200, response.json()
    return response.json()["slots"]


def slot_at(tenant: Tenant, hour: int, minute: int = 0, day: dt.date = MONDAY) -> int:
    """The id of the KTP slot starting at hour:minute (the tenant's wall clock) on ``day``."""
    for slot in slots(tenant, day):
        starts = dt.datetime.fromisoformat(slot["starts_at"])
        if (starts.hour, starts.minute) == (hour, minute):
            return slot["id"]
    raise AssertionError(f"no slot at {hour}:{minute:02d}")


def booking_body(slot: int, serial: int = 1, **overrides: Any) -> dict[str, Any]:
    return {
        "service": KTP,
        "slot": slot,
        "name": "Siti Aminah",
        "nik": nik(serial),
        "phone": "081234567890",
        "email": "siti@example.com",
    } | overrides


def place(tenant: Tenant, slot: int, serial: int = 1) -> dict[str, Any]:
    response = api(tenant).post(BOOKINGS, booking_body(slot, serial), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def count(tenant: Tenant, model: Any, **filters: Any) -> int:
    with tenant_context(tenant):
        return model.objects.filter(**filters).count()


def events(tenant: Tenant, action: str) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def walk_in(site: Site, service: str = KTP, **extra: Any) -> dict[str, Any]:
    response = api(site.tenant, site.officer).post(
        TICKETS, {"service": service, **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def view_queries(client: APIClient, path: str) -> int:
    """Queries a GET of ``path`` costs, leaving out routing the host (cold or warm cache)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return sum(
        not (q["sql"].startswith("SET search_path") or '"tenants_tenant"' in q["sql"])
        for q in captured.captured_queries
    )


def assert_refused(response: Any, status: int, field: str, code: str, fragment: str = "") -> None:
    """The answer is ``status`` with ``code`` on ``field`` (and the message names the case)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert field in body and code in body["codes"][field], body
    assert fragment in " ".join(body[field]), body


# --- Services and slots ---------------------------------------------------------------------


def test_services_list_those_booked_online_with_their_settings(
    site: Site, django_assert_max_num_queries: Any
) -> None:
    client = api(site.tenant)
    # Routing the host (3, as the routing cache is cold in tests), counters, count, page and
    # settings.
    with django_assert_max_num_queries(7):
        response = client.get(SERVICES)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    rows = {row["key"]: row for row in response.json()["results"]}
    assert set(rows) == {KTP, KK}
    assert rows[KTP] | {"name_id": ""} == {
        "key": KTP, "name_id": "", "name_en": rows[KTP]["name_en"], "agency_code": "dukcapil",
        "agency_name": rows[KTP]["agency_name"], "slot_minutes": 30, "slot_capacity": 2,
        "daily_quota": 50, "booking_horizon_days": 30,
    }  # fmt: skip
    assert rows[KTP]["name_id"] and rows[KK]["slot_minutes"] == 15  # KK: the defaults

    with tenant_context(site.tenant):
        save_queue_setting(KK, online_booking=False, acting_user=None)
    assert [r["key"] for r in client.get(SERVICES).json()["results"]] == [KTP]
    assert client.get(f"{SERVICES}{KTP}/").json()["slot_capacity"] == 2
    refused = client.get(f"{SERVICES}{KK}/")
    assert refused.status_code == 404 and "online" in refused.json()["detail"]
    assert client.get(f"{SERVICES}no-such-service/").status_code == 404


def test_the_service_list_costs_the_same_however_many_services(site: Site) -> None:
    client = api(site.tenant)
    few = view_queries(client, SERVICES)
    more = ["dukcapil-akta-kelahiran", "dukcapil-akta-kematian", "dukcapil-pindah-datang"]
    with tenant_context(site.tenant):
        save_counter(
            name="Loket 3", agency_code="dukcapil", prefix="DKA", service_keys=more,
            acting_user=None,
        )  # fmt: skip
        save_queue_setting(more[0], slot_minutes=10, acting_user=None)
    assert view_queries(client, SERVICES) == few
    assert client.get(SERVICES).json()["count"] == 5


def test_inactive_counters_offer_no_booking(site: Site) -> None:
    with tenant_context(site.tenant):
        for counter in Counter.objects.all():
            fields = {"name": counter.name, "agency_code": counter.agency_code}
            save_counter(
                counter, **fields, prefix="DKP", service_keys=[KTP, KK], active=False,
                acting_user=None,
            )  # fmt: skip
    client = api(site.tenant)
    assert client.get(SERVICES).json()["count"] == 0
    assert client.get(f"{SERVICES}{KTP}/slots/?date={MONDAY}").status_code == 404


def test_slots_of_a_day_in_the_tenants_own_time(site: Site, site_b: Site) -> None:
    day = slots(site.tenant)
    # 08:00–15:00 in 30 minutes; at 09:00 the slots from 09:30 on are still to come.
    assert [s["starts_at"] for s in day[:2]] == [
        f"{MONDAY}T09:30:00+07:00",
        f"{MONDAY}T10:00:00+07:00",
    ]
    assert day[-1]["ends_at"] == f"{MONDAY}T15:00:00+07:00"
    assert day[0] | {"id": 0} == {
        "id": 0, "starts_at": f"{MONDAY}T09:30:00+07:00", "ends_at": f"{MONDAY}T10:00:00+07:00",
        "capacity": 2, "remaining": 2, "full": False,
    }  # fmt: skip
    response = api(site.tenant).get(f"{SERVICES}{KTP}/slots/?date={MONDAY}").json()
    assert response["service"] == KTP and response["date"] == str(MONDAY)
    assert response["closed"] is None
    # Tenant B is on WITA: its 10:00 is 09:00 WIB, so its 09:30 slot has started already.
    beta = slots(site_b.tenant)
    assert beta[0]["starts_at"] == f"{MONDAY}T10:30:00+08:00"


def test_slots_query_cost_is_bounded(site: Site, django_assert_max_num_queries: Any) -> None:
    client = api(site.tenant)
    client.get(f"{SERVICES}{KTP}/slots/?date={MONDAY}")  # the slots are made on first use
    with django_assert_max_num_queries(9):
        assert client.get(f"{SERVICES}{KTP}/slots/?date={MONDAY}").status_code == 200


def test_a_closed_day_answers_with_the_reason_and_no_slots(site: Site) -> None:
    client = api(site.tenant)
    sunday = client.get(f"{SERVICES}{KTP}/slots/?date={SUNDAY}")
    assert sunday.status_code == 200
    assert sunday.json()["slots"] == [] and "Minggu" in sunday.json()["closed"]
    with tenant_context(site.tenant):
        add_closure(TUESDAY, "Idul Adha", acting_user=None)
    holiday = client.get(f"{SERVICES}{KTP}/slots/?date={TUESDAY}").json()
    assert holiday["slots"] == [] and "Idul Adha" in holiday["closed"]


@pytest.mark.parametrize(
    ("query", "status", "field", "code"),
    [
        ("", 400, "date", "invalid"),
        ("?date=", 400, "date", "invalid"),
        ("?date=25-12-2026", 400, "date", "invalid"),
        ("?date=2026-02-30", 400, "date", "invalid"),
        (f"?date={MONDAY - dt.timedelta(days=1)}", 400, "date", "past"),
        (f"?date={MONDAY + dt.timedelta(days=31)}", 400, "date", "horizon"),
    ],
)
def test_slots_refuse_a_bad_date(
    site: Site, query: str, status: int, field: str, code: str
) -> None:
    response = api(site.tenant).get(f"{SERVICES}{KTP}/slots/{query}")
    assert_refused(response, status, field, code)
    assert count(site.tenant, Slot) == 0


def test_slots_of_an_unknown_or_offline_service_are_404(site: Site) -> None:
    client = api(site.tenant)
    unknown = client.get(f"{SERVICES}no-such-service/slots/?date={MONDAY}")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Layanan tidak ditemukan."
    with tenant_context(site.tenant):
        save_queue_setting(KK, online_booking=False, acting_user=None)
    offline = client.get(f"{SERVICES}{KK}/slots/?date={MONDAY}")
    assert offline.status_code == 404 and "tidak bisa dipesan online" in offline.json()["detail"]


# --- Booking --------------------------------------------------------------------------------


def test_a_citizen_books_reads_and_gets_the_code(site: Site) -> None:
    slot = slot_at(site.tenant, 10)
    client = api(site.tenant)
    response = client.post(
        BOOKINGS,
        booking_body(slot, name="  Siti   Aminah ", nik="2171 0115 0390 0001"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    code = body["code"]
    assert response["Location"] == f"{BOOKINGS}{code}/"
    assert "no-store" in response["Cache-Control"]
    assert body == {
        "code": code, "code_display": f"{code[:4]}-{code[4:]}", "status": "booked",
        "service": KTP, "date": str(MONDAY), "starts_at": f"{MONDAY}T10:00:00+07:00",
        "ends_at": f"{MONDAY}T10:30:00+07:00", "name": "Siti Aminah",
        "nik_masked": "2171********0001", "phone": "0812*****890", "email": "s***@example.com",
        "created_at": NOW.isoformat(), "checked_in_at": None, "cancelled_at": None,
        "ticket": None,
    }  # fmt: skip
    [event] = events(site.tenant, "queue.booked")
    assert event.actor_id is None and event.after["nik_masked"] == "2171********0001"

    # The code as a citizen types it: any case, with the dash.
    for typed in (code, code.lower(), f"{code[:4]}-{code[4:]}".lower()):
        read = client.get(f"{BOOKINGS}{typed}/")
        assert read.status_code == 200 and read.json() == body
    remaining = {s["id"]: s["remaining"] for s in slots(site.tenant)}
    assert remaining[slot] == 1


def test_reading_a_booking_costs_few_queries(
    site: Site, django_assert_max_num_queries: Any
) -> None:
    code = place(site.tenant, slot_at(site.tenant, 10))["code"]
    client = api(site.tenant)
    with django_assert_max_num_queries(3):
        assert client.get(f"{BOOKINGS}{code}/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field", "code", "fragment"),
    [
        ({"nik": "21710115039000"}, "nik", "invalid", "16 digit"),
        ({"nik": "2171O11503900001"}, "nik", "invalid", "hanya berisi angka"),
        ({"nik": "9971011503900001"}, "nik", "invalid", "Kode provinsi"),
        ({"nik": "2171013202900001"}, "nik", "invalid", "bukan tanggal yang ada"),
        ({"nik": ""}, "nik", "invalid", "Isi NIK"),
        ({"nik": 2171011503900001}, "nik", "invalid", "Must be a string."),
        ({"name": "  "}, "name", "invalid", "Isi nama lengkap."),
        ({"name": 42}, "name", "invalid", "Must be a string."),
        ({"name": "x" * 101}, "name", "invalid", "100 karakter"),
        ({"phone": "", "email": ""}, "phone", "invalid", "telepon atau e-mail"),
        ({"phone": "12ab"}, "phone", "invalid", "8–15 angka"),
        ({"email": "bukan-email"}, "email", "invalid", "tidak valid"),
        ({"slot": 999_999_999}, "slot", "not_found", "tidak ditemukan"),
        ({"slot": "12"}, "slot", "invalid", "Must be an integer."),
        ({"slot": True}, "slot", "invalid", "Must be an integer."),
        ({"slot": [1]}, "slot", "invalid", "Must be an integer."),
        ({"slot": None}, "slot", "required", "required"),
        ({"service": None}, "service", "required", "required"),
        ({"service": ["x"]}, "service", "invalid", "Must be a string."),
        ({"service": "no-such-service"}, "service", "not_found", "Layanan tidak ditemukan."),
        ({"alasan": "x"}, "alasan", "unknown", "Unknown field."),
    ],
)  # fmt: skip
def test_booking_refuses_bad_input_and_stores_nothing(
    site: Site, overrides: dict[str, Any], field: str, code: str, fragment: str
) -> None:
    body = booking_body(slot_at(site.tenant, 10)) | overrides
    body = {k: v for k, v in body.items() if v is not None}
    response = api(site.tenant).post(BOOKINGS, body, format="json")
    assert_refused(response, 400, field, code, fragment)
    assert count(site.tenant, Booking) == 0
    assert events(site.tenant, "queue.booked") == []


@pytest.mark.parametrize("body", [[booking_body(1)], "booking", 42])
def test_booking_refuses_a_body_that_is_not_an_object(site: Site, body: Any) -> None:
    response = api(site.tenant).post(BOOKINGS, json.dumps(body), content_type="application/json")
    assert_refused(response, 400, "non_field_errors", "invalid", "JSON object")


def test_booking_refuses_malformed_json(site: Site) -> None:
    response = api(site.tenant).post(BOOKINGS, "{nik: 1", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_a_slot_of_another_service_is_unknown(site: Site) -> None:
    kk_slot = slots(site.tenant, service=KK)[0]["id"]
    response = api(site.tenant).post(BOOKINGS, booking_body(kk_slot), format="json")
    assert_refused(response, 400, "slot", "not_found")


def test_a_started_slot_cannot_be_booked(site: Site, clock: Clock) -> None:
    slot = slot_at(site.tenant, 10)
    clock.now = at(MONDAY, 10, 5)
    response = api(site.tenant).post(BOOKINGS, booking_body(slot), format="json")
    assert_refused(response, 400, "slot", "past", "sudah lewat")


def test_a_slot_on_a_day_closed_since_cannot_be_booked(site: Site) -> None:
    slot = slot_at(site.tenant, 10, day=TUESDAY)
    with tenant_context(site.tenant):
        add_closure(TUESDAY, "Idul Adha", acting_user=None)
    response = api(site.tenant).post(BOOKINGS, booking_body(slot), format="json")
    assert_refused(response, 400, "slot", "closed", "Idul Adha")


def test_an_offline_service_cannot_be_booked(site: Site) -> None:
    slot = slot_at(site.tenant, 10)
    with tenant_context(site.tenant):
        save_queue_setting(KTP, slot_minutes=30, online_booking=False, acting_user=None)
    response = api(site.tenant).post(BOOKINGS, booking_body(slot), format="json")
    assert_refused(response, 400, "service", "offline", "tidak bisa dipesan online")


def test_a_full_slot_and_a_used_up_quota_are_conflicts(site: Site) -> None:
    slot = slot_at(site.tenant, 10)
    place(site.tenant, slot, 1)
    place(site.tenant, slot, 2)
    full = api(site.tenant).post(BOOKINGS, booking_body(slot, 3), format="json")
    assert_refused(full, 409, "slot", "full", "sudah penuh")
    assert [s["full"] for s in slots(site.tenant) if s["id"] == slot] == [True]

    with tenant_context(site.tenant):
        save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=2, acting_user=None)
    quota = api(site.tenant).post(
        BOOKINGS, booking_body(slot_at(site.tenant, 11), 4), format="json"
    )
    assert_refused(quota, 409, "slot", "quota", "Kuota harian")
    assert count(site.tenant, Booking) == 2


def test_a_second_booking_of_the_same_nik_that_day_is_a_conflict(site: Site) -> None:
    place(site.tenant, slot_at(site.tenant, 10), 7)
    again = api(site.tenant).post(
        BOOKINGS, booking_body(slot_at(site.tenant, 11), 7), format="json"
    )
    assert_refused(again, 409, "nik", "already_booked", "sudah punya booking aktif")
    # Another day is fine.
    place(site.tenant, slot_at(site.tenant, 10, day=TUESDAY), 7)


@pytest.mark.parametrize("code", ["ABCDEFGH", "abcd-efgh", "tidak-ada", "0000OOOO", "X" * 40])
def test_an_unknown_booking_code_is_404_everywhere(site: Site, code: str) -> None:
    client = api(site.tenant)
    assert client.get(f"{BOOKINGS}{code}/").status_code == 404
    assert client.post(f"{BOOKINGS}{code}/cancel/", format="json").status_code == 404
    moved = client.post(
        f"{BOOKINGS}{code}/reschedule/", {"slot": slot_at(site.tenant, 10)}, format="json"
    )
    assert moved.status_code == 404
    staff = api(site.tenant, site.officer)
    assert staff.post(f"{BOOKINGS}{code}/check-in/", format="json").status_code == 404
    assert client.get(f"{BOOKINGS}{code}/").json()["detail"] == "Kode booking tidak ditemukan."


def test_a_citizen_cancels_a_booking_once(site: Site) -> None:
    slot = slot_at(site.tenant, 10)
    code = place(site.tenant, slot)["code"]
    client = api(site.tenant)
    cancelled = client.post(f"{BOOKINGS}{code.lower()}/cancel/", format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] == NOW.isoformat()
    assert {s["id"]: s["remaining"] for s in slots(site.tenant)}[slot] == 2
    again = client.post(f"{BOOKINGS}{code}/cancel/", format="json")
    assert_refused(again, 409, "code", "cancelled", "sudah dibatalkan")
    junk = client.post(f"{BOOKINGS}{code}/cancel/", {"alasan": "x"}, format="json")
    assert_refused(junk, 400, "alasan", "unknown")
    assert [e.actor_id for e in events(site.tenant, "queue.booking_cancelled")] == [None]


def test_a_booking_whose_slot_started_cannot_be_cancelled(site: Site, clock: Clock) -> None:
    code = place(site.tenant, slot_at(site.tenant, 10))["code"]
    clock.now = at(MONDAY, 10, 1)
    response = api(site.tenant).post(f"{BOOKINGS}{code}/cancel/", format="json")
    assert_refused(response, 400, "code", "past", "sudah lewat")


def test_a_citizen_reschedules_a_booking(site: Site) -> None:
    ten, eleven = slot_at(site.tenant, 10), slot_at(site.tenant, 11)
    code = place(site.tenant, ten, 1)["code"]
    client = api(site.tenant)
    moved = client.post(f"{BOOKINGS}{code}/reschedule/", {"slot": eleven}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["code"] == code
    assert moved.json()["starts_at"] == f"{MONDAY}T11:00:00+07:00"
    remaining = {s["id"]: s["remaining"] for s in slots(site.tenant)}
    assert (remaining[ten], remaining[eleven]) == (2, 1)

    same = client.post(f"{BOOKINGS}{code}/reschedule/", {"slot": eleven}, format="json")
    assert_refused(same, 400, "slot", "same")
    for bad, field, error in [
        ({}, "slot", "required"),
        ({"slot": "besok"}, "slot", "invalid"),
        ({"slot": 999_999_999}, "slot", "not_found"),
        ({"slot": ten, "nik": nik(1)}, "nik", "unknown"),
    ]:
        assert_refused(
            client.post(f"{BOOKINGS}{code}/reschedule/", bad, format="json"), 400, field, error
        )
    place(site.tenant, ten, 2)
    place(site.tenant, ten, 3)
    full = client.post(f"{BOOKINGS}{code}/reschedule/", {"slot": ten}, format="json")
    assert_refused(full, 409, "slot", "full")
    assert client.get(f"{BOOKINGS}{code}/").json()["starts_at"].endswith("T11:00:00+07:00")


# --- Check-in and walk-ins (staff) ----------------------------------------------------------


def test_staff_check_a_booking_in_on_its_day(site: Site) -> None:
    code = place(site.tenant, slot_at(site.tenant, 10))["code"]
    assert api(site.tenant).post(f"{BOOKINGS}{code}/check-in/", format="json").status_code == 401
    staff = api(site.tenant, site.officer)
    bad = staff.post(f"{BOOKINGS}{code}/check-in/", {"priority": "ya"}, format="json")
    assert_refused(bad, 400, "priority", "invalid")
    response = staff.post(f"{BOOKINGS}{code}/check-in/", {"priority": True}, format="json")
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert (ticket["number"], ticket["kind"], ticket["status"]) == ("DKP-001", "online", "waiting")
    assert ticket["priority"] is True
    assert ticket["slot_starts_at"] == f"{MONDAY}T10:00:00+07:00"
    booking = api(site.tenant).get(f"{BOOKINGS}{code}/").json()
    assert booking["status"] == "checked_in"
    assert booking["ticket"] == {"number": "DKP-001", "status": "waiting"}
    again = staff.post(f"{BOOKINGS}{code}/check-in/", format="json")
    assert_refused(again, 409, "code", "checked_in", "DKP-001")
    [event] = events(site.tenant, "queue.checked_in")
    assert event.actor_email == site.officer.email

    tomorrow = place(site.tenant, slot_at(site.tenant, 10, day=TUESDAY), 2)["code"]
    wrong_day = staff.post(f"{BOOKINGS}{tomorrow}/check-in/", format="json")
    assert_refused(wrong_day, 400, "code", "wrong_day")


def test_staff_issue_walk_in_tickets(site: Site) -> None:
    first = walk_in(site)
    assert (first["number"], first["kind"], first["priority"]) == ("DKP-001", "walk_in", False)
    assert first["issued_at"] == NOW.isoformat() and first["counter"] is None
    second = walk_in(site, KK, priority=True)
    assert second["number"] == "DKP-002" and second["priority"] is True
    officer = api(site.tenant, site.officer)
    read = officer.get(f"{TICKETS}{first['id']}/")
    assert read.status_code == 200 and read.json() == first
    assert officer.get(f"{TICKETS}999999999/").status_code == 404
    assert officer.get(f"{TICKETS}abc/").status_code == 404
    [event, _] = events(site.tenant, "queue.ticket_issued")
    assert event.actor_email == site.officer.email


@pytest.mark.parametrize(
    ("body", "status", "field", "code"),
    [
        ({}, 400, "service", "required"),
        ({"service": 7}, 400, "service", "invalid"),
        ({"service": "no-such-service"}, 400, "service", "not_found"),
        ({"service": KTP, "priority": "ya"}, 400, "priority", "invalid"),
        ({"service": KTP, "priority": 1}, 400, "priority", "invalid"),
        ({"service": KTP, "loket": 1}, 400, "loket", "unknown"),
    ],
)
def test_walk_in_refuses_bad_input(
    site: Site, body: dict[str, Any], status: int, field: str, code: str
) -> None:
    response = api(site.tenant, site.officer).post(TICKETS, body, format="json")
    assert_refused(response, status, field, code)
    assert count(site.tenant, Ticket) == 0


def test_walk_ins_stop_at_the_quota_and_on_closed_days(site: Site, clock: Clock) -> None:
    with tenant_context(site.tenant):
        save_queue_setting(KTP, slot_minutes=30, daily_quota=1, acting_user=None)
    walk_in(site)
    client = api(site.tenant, site.officer)
    assert_refused(client.post(TICKETS, {"service": KTP}, format="json"), 409, "service", "quota")
    clock.now = at(SUNDAY, 9)
    sunday = client.post(TICKETS, {"service": KK}, format="json")
    assert_refused(sunday, 400, "service", "closed", "Minggu")


def test_tickets_need_an_active_staff_member(site: Site) -> None:
    anonymous = api(site.tenant)
    assert anonymous.post(TICKETS, {"service": KTP}, format="json").status_code == 401
    assert anonymous.get(f"{TICKETS}1/").status_code == 401
    with tenant_context(site.tenant):
        former = User.objects.create_user(
            "mantan@alpha.go.id", PASSWORD, role=User.Role.OFFICER, is_active=False
        )
    refused = api(site.tenant, former).post(TICKETS, {"service": KTP}, format="json")
    assert refused.status_code == 401
    assert count(site.tenant, Ticket) == 0


# --- Counters: the officer's work -----------------------------------------------------------


def action(site: Site, user: User, counter: int, verb: str, body: Any = None) -> Any:
    return api(site.tenant, user).post(f"{COUNTERS}{counter}/{verb}/", body, format="json")


def test_an_officer_works_the_queue_at_the_counter(site: Site, clock: Clock) -> None:
    first, second = walk_in(site), walk_in(site)
    officer, counter = site.officer, site.counter

    called = action(site, officer, counter, "call-next")
    assert called.status_code == 200, called.json()
    assert called.json()["id"] == first["id"]
    assert called.json() | {"called_at": None} == first | {
        "status": "called", "counter": counter, "counter_name": "Loket 1", "called_at": None,
    }  # fmt: skip
    busy = action(site, officer, counter, "call-next")
    assert_refused(busy, 409, "counter", "busy", "DKP-001")

    clock.now = at(MONDAY, 9, 2)
    recalled = action(site, officer, counter, "recall", {"ticket": first["id"]})
    assert recalled.status_code == 200 and recalled.json()["recall_count"] == 1
    assert recalled.json()["called_at"] == clock.now.isoformat()
    not_yet = action(site, officer, counter, "finish")
    assert_refused(not_yet, 409, "ticket", "state")
    started = action(site, officer, counter, "start")
    assert started.status_code == 200 and started.json()["status"] == "serving"
    bad_ref = action(site, officer, counter, "finish", {"application_ref": "no spaces!"})
    assert_refused(bad_ref, 400, "application_ref", "invalid")
    done = action(site, officer, counter, "finish", {"application_ref": "KTP/2026/0001"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["application_ref"]) == ("done", "KTP/2026/0001")

    assert action(site, officer, counter, "call-next").json()["id"] == second["id"]
    skipped = action(site, officer, counter, "skip")
    assert skipped.status_code == 200 and skipped.json()["status"] == "no_show"
    empty = action(site, officer, counter, "call-next")
    assert empty.status_code == 204 and empty.content == b""
    idle = action(site, officer, counter, "recall")
    assert_refused(idle, 409, "ticket", "idle")
    actions = [e.action for e in events(site.tenant, "queue.called")]
    assert actions == ["queue.called", "queue.called"]
    with tenant_context(site.tenant):
        emails = set(
            AuditEvent.objects.filter(action__in=["queue.recalled", "queue.finished"]).values_list(
                "actor_email", flat=True
            )
        )
    assert emails == {officer.email}


def test_a_ticket_is_transferred_to_another_counter(site: Site) -> None:
    ticket = walk_in(site)
    action(site, site.officer, site.counter, "call-next")
    for body, field, code in [
        ({}, "counter", "required"),
        ({"counter": "Loket 2"}, "counter", "invalid"),
        ({"counter": 999_999_999}, "counter", "not_found"),
        ({"counter": site.counter}, "counter", "same"),
    ]:
        assert_refused(action(site, site.officer, site.counter, "transfer", body), 400, field, code)
    moved = action(site, site.officer, site.counter, "transfer", {"counter": site.other_counter})
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["status"], moved.json()["counter"]) == ("transferred", site.other_counter)
    assert moved.json()["counter_name"] == "Loket 2"
    # The other counter calls it before anyone else.
    walk_in(site)
    taken = action(site, site.other_officer, site.other_counter, "call-next")
    assert taken.json()["id"] == ticket["id"] and taken.json()["status"] == "called"


def test_the_ticket_named_must_be_the_counters_current_one(site: Site) -> None:
    first, second = walk_in(site), walk_in(site)
    action(site, site.officer, site.counter, "call-next")
    stale = action(site, site.officer, site.counter, "skip", {"ticket": second["id"]})
    assert_refused(stale, 409, "ticket", "stale", "DKP-001")
    for body, code in [({"ticket": "DKP-001"}, "invalid"), ({"tiket": 1}, "unknown")]:
        field = next(iter(body))
        assert_refused(action(site, site.officer, site.counter, "skip", body), 400, field, code)
    with tenant_context(site.tenant):
        assert Ticket.objects.get(pk=first["id"]).status == "called"
    assert action(site, site.officer, site.counter, "call-next", {"x": 1}).status_code == 400


def test_who_may_work_a_counter(site: Site) -> None:
    walk_in(site)
    anonymous = api(site.tenant).post(f"{COUNTERS}{site.counter}/call-next/", format="json")
    assert anonymous.status_code == 401
    refused = action(site, site.other_officer, site.counter, "call-next")
    assert (
        refused.status_code == 403 and "not an officer of this counter" in refused.json()["detail"]
    )
    assert action(site, site.officer, site.other_counter, "call-next").status_code == 403
    for verb in ("recall", "skip", "start", "finish", "transfer"):
        assert action(site, site.other_officer, site.counter, verb).status_code == 403, verb
    assert count(site.tenant, Ticket, status="waiting") == 1
    # The tenant admin may work any counter.
    assert action(site, site.admin, site.counter, "call-next").status_code == 200
    assert action(site, site.officer, site.counter, "skip").status_code == 200
    assert action(site, site.officer, 999_999_999, "call-next").status_code == 404


def test_an_inactive_counter_calls_nobody(site: Site) -> None:
    walk_in(site)
    admin = api(site.tenant, site.admin)
    assert admin.delete(f"{COUNTERS}{site.counter}/").status_code == 200
    refused = action(site, site.officer, site.counter, "call-next")
    assert_refused(refused, 409, "counter", "inactive")


# --- Counters: listing and the admin's set-up -----------------------------------------------


def test_staff_list_counters_with_their_current_ticket(
    site: Site, django_assert_max_num_queries: Any
) -> None:
    walk_in(site)
    walk_in(site, KK)
    action(site, site.officer, site.counter, "call-next")
    client = api(site.tenant, site.officer)
    # The token, count, page, officers, current tickets, waiting counts (one query for all).
    with django_assert_max_num_queries(7):
        response = client.get(COUNTERS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["Loket 1", "Loket 2"]
    one, two = rows
    assert one["current_ticket"]["number"] == "DKP-001" and two["current_ticket"] is None
    assert (one["waiting"], two["waiting"]) == (1, 1)
    assert one["officers"] == [site.officer.pk] and two["officers"] == [site.other_officer.pk]
    assert one | {"current_ticket": None} == {
        "id": site.counter, "name": "Loket 1", "agency_code": "dukcapil", "prefix": "DKP",
        "service_keys": [KTP, KK], "officers": [site.officer.pk], "active": True,
        "priority_lane": False, "current_ticket": None, "waiting": 1,
    }  # fmt: skip
    detail = client.get(f"{COUNTERS}{site.counter}/")
    assert detail.status_code == 200 and detail.json() == one
    assert api(site.tenant).get(COUNTERS).status_code == 401


def test_the_counter_list_costs_the_same_however_many_counters(site: Site) -> None:
    client = api(site.tenant, site.admin)

    few = view_queries(client, COUNTERS)
    with tenant_context(site.tenant):
        for n in range(3, 9):
            save_counter(
                name=f"Loket {n}", agency_code="dukcapil", prefix="DKP",
                service_keys=[KTP], officers=[site.officer], acting_user=None,
            )  # fmt: skip
            issue_walk_in(KTP)
    assert view_queries(client, COUNTERS) == few
    assert client.get(COUNTERS).json()["count"] == 8


def counter_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Loket 9",
        "agency_code": "dukcapil",
        "prefix": "dkc",
        "service_keys": [KK],
    } | overrides


def test_the_admin_sets_up_counters(site: Site) -> None:
    admin = api(site.tenant, site.admin)
    created = admin.post(COUNTERS, counter_body(officers=[site.officer.pk]), format="json")
    assert created.status_code == 201, created.json()
    counter = created.json()
    assert counter | {"id": 0} == {
        "id": 0, "name": "Loket 9", "agency_code": "dukcapil", "prefix": "DKC",
        "service_keys": [KK], "officers": [site.officer.pk], "active": True,
        "priority_lane": False, "current_ticket": None, "waiting": 0,
    }  # fmt: skip
    url = f"{COUNTERS}{counter['id']}/"
    patched = admin.patch(url, {"name": "Loket 9A", "priority_lane": True}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json() | {"id": 0} == counter | {
        "id": 0, "name": "Loket 9A", "priority_lane": True,
    }  # fmt: skip
    replaced = admin.put(url, counter_body(name="Loket 10", service_keys=[KTP]), format="json")
    assert replaced.status_code == 200, replaced.json()
    # PUT replaces: officers and the priority lane fall back to a new counter's defaults.
    assert (replaced.json()["officers"], replaced.json()["priority_lane"]) == ([], False)
    deactivated = admin.delete(url)
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert deactivated.json()["name"] == "Loket 10"
    assert admin.get(url).json()["active"] is False  # never deleted
    reactivated = admin.patch(url, {"active": True}, format="json")
    assert reactivated.json()["active"] is True
    saved = events(site.tenant, "queue.counter_saved")
    assert {e.actor_email for e in saved[-5:]} == {site.admin.email}


@pytest.mark.parametrize(
    ("overrides", "field", "code", "fragment"),
    [
        ({"name": " "}, "name", "invalid", "Isi nama loket"),
        ({"name": "loket 1"}, "name", "invalid", "sudah dipakai"),
        ({"prefix": "D1"}, "prefix", "invalid", "2–4 huruf"),
        ({"agency_code": "no-such"}, "agency_code", "invalid", "tidak ditemukan"),
        ({"service_keys": []}, "service_keys", "invalid", "minimal satu"),
        ({"service_keys": ["bpjs-kesehatan-pendaftaran-mandiri"]}, "service_keys", "invalid",
         "Bukan layanan"),
        ({"officers": [999_999_999]}, "officers", "invalid", "staf aktif"),
        ({"service_keys": KTP}, "service_keys", "invalid", "list of strings"),
        ({"officers": ["1"]}, "officers", "invalid", "list of integers"),
        ({"officers": [True]}, "officers", "invalid", "list of integers"),
        ({"active": "no"}, "active", "invalid", "true or false"),
        ({"name": None}, "name", "required", "required"),
        ({"id": 5}, "id", "unknown", "Unknown field"),
    ],
)  # fmt: skip
def test_counter_input_is_checked(
    site: Site, overrides: dict[str, Any], field: str, code: str, fragment: str
) -> None:
    body = {k: v for k, v in (counter_body() | overrides).items() if v is not None}
    before = count(site.tenant, Counter)
    response = api(site.tenant, site.admin).post(COUNTERS, body, format="json")
    assert_refused(response, 400, field, code, fragment)
    assert count(site.tenant, Counter) == before


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": "Loket 2"}, "name", "invalid"),  # the other counter's name
        ({"prefix": ""}, "prefix", "invalid"),
        ({"service_keys": "dukcapil-kk-baru"}, "service_keys", "invalid"),
        ({"active": None, "priority_lane": "ya"}, "priority_lane", "invalid"),
        ({"counter": 2}, "counter", "unknown"),
    ],
)
def test_a_counter_patch_is_checked_and_changes_nothing(
    site: Site, body: dict[str, Any], field: str, code: str
) -> None:
    response = api(site.tenant, site.admin).patch(f"{COUNTERS}{site.counter}/", body, format="json")
    assert_refused(response, 400, field, code)
    with tenant_context(site.tenant):
        counter = Counter.objects.get(pk=site.counter)
        assert (counter.name, counter.prefix, counter.active) == ("Loket 1", "DKP", True)


def test_officers_may_not_set_up_counters(site: Site) -> None:
    officer = api(site.tenant, site.officer)
    url = f"{COUNTERS}{site.counter}/"
    for method, path, body in [
        ("post", COUNTERS, counter_body()),
        ("put", url, counter_body()),
        ("patch", url, {"name": "Loket X"}),
        ("delete", url, None),
    ]:
        response = getattr(officer, method)(path, body, format="json")
        assert response.status_code == 403, method
        assert "Only the tenant admin" in response.json()["detail"]
        assert getattr(api(site.tenant), method)(path, body, format="json").status_code == 401
    with tenant_context(site.tenant):
        assert Counter.objects.get(pk=site.counter).active
        assert Counter.objects.count() == 2


# --- Settings --------------------------------------------------------------------------------


def test_staff_read_and_the_admin_changes_queue_settings(
    site: Site, django_assert_max_num_queries: Any
) -> None:
    officer, admin = api(site.tenant, site.officer), api(site.tenant, site.admin)
    # Routing (3, cold cache), the token, saved settings, counters, count, page, settings.
    with django_assert_max_num_queries(9):
        listed = officer.get(SETTINGS)
    assert listed.status_code == 200
    rows = {r["service_key"]: r for r in listed.json()["results"]}
    assert set(rows) == {KTP, KK}
    assert (rows[KTP]["slot_minutes"], rows[KTP]["saved"]) == (30, True)
    assert rows[KK] | {"name_id": "", "agency_code": ""} == {
        "service_key": KK, "name_id": "", "agency_code": "", "slot_minutes": 15,
        "slot_capacity": 4, "daily_quota": 100, "online_booking": True, "saved": False,
        "updated_at": None,
    }  # fmt: skip
    assert officer.get(f"{SETTINGS}{KK}/").json() == rows[KK]

    whole = {"slot_minutes": 20, "slot_capacity": 3, "daily_quota": 60, "online_booking": False}
    put = admin.put(f"{SETTINGS}{KK}/", whole, format="json")
    assert put.status_code == 200, put.json()
    assert put.json() | {"updated_at": None} == rows[KK] | whole | {"saved": True}
    patched = admin.patch(f"{SETTINGS}{KK}/", {"online_booking": True}, format="json")
    assert patched.json() | {"updated_at": None} == rows[KK] | whole | {
        "saved": True, "online_booking": True,
    }  # fmt: skip
    assert [e.actor_email for e in events(site.tenant, "queue.setting_saved")][-2:] == [
        site.admin.email,
        site.admin.email,
    ]
    # A service of the catalogue no counter serves yet may be set up in advance.
    other = "dukcapil-akta-kelahiran"
    assert admin.get(f"{SETTINGS}{other}/").json()["saved"] is False
    assert admin.patch(f"{SETTINGS}{other}/", {"daily_quota": 5}, format="json").status_code == 200
    assert other in {r["service_key"] for r in officer.get(SETTINGS).json()["results"]}


def test_the_settings_list_and_the_board_cost_the_same_however_long(site: Site) -> None:
    admin = api(site.tenant, site.admin)
    settings_few, board_few = view_queries(admin, SETTINGS), view_queries(admin, BOARD)
    with tenant_context(site.tenant):
        for key in ("dukcapil-akta-kelahiran", "dukcapil-akta-kematian", "dukcapil-kia"):
            save_queue_setting(key, daily_quota=10, acting_user=None)
        save_counter(
            name="Loket 3", agency_code="dukcapil", prefix="DKP", service_keys=[KTP],
            acting_user=None,
        )  # fmt: skip
    for _ in range(3):
        walk_in(site)
    action(site, site.officer, site.counter, "call-next")
    action(site, site.other_officer, site.other_counter, "call-next")
    assert view_queries(admin, SETTINGS) == settings_few
    assert view_queries(admin, BOARD) == board_few
    assert admin.get(SETTINGS).json()["count"] == 5
    assert len(admin.get(BOARD).json()["recent"]) == 2


@pytest.mark.parametrize(
    ("method", "body", "field", "code", "fragment"),
    [
        ("patch", {"slot_minutes": 3}, "slot_minutes", "invalid", "Antara 5 dan 120"),
        ("patch", {"slot_capacity": 501}, "slot_capacity", "invalid", "Antara 1 dan 500"),
        ("patch", {"daily_quota": 0}, "daily_quota", "invalid", "Antara 1 dan 100000"),
        ("patch", {"daily_quota": "50"}, "daily_quota", "invalid", "Must be an integer"),
        ("patch", {"slot_minutes": 15.5}, "slot_minutes", "invalid", "Must be an integer"),
        ("patch", {"online_booking": "false"}, "online_booking", "invalid", "true or false"),
        ("patch", {"kuota": 5}, "kuota", "unknown", "Unknown field"),
        ("put", {"slot_minutes": 15}, "daily_quota", "required", "required"),
    ],
)
def test_queue_setting_input_is_checked(
    site: Site, method: str, body: dict[str, Any], field: str, code: str, fragment: str
) -> None:
    response = getattr(api(site.tenant, site.admin), method)(
        f"{SETTINGS}{KTP}/", body, format="json"
    )
    assert_refused(response, 400, field, code, fragment)
    with tenant_context(site.tenant):
        setting = QueueSetting.objects.get(service_key=KTP)
    assert (setting.slot_minutes, setting.slot_capacity, setting.daily_quota) == (30, 2, 50)


def test_queue_settings_of_unknown_services_and_by_officers_are_refused(site: Site) -> None:
    admin, officer = api(site.tenant, site.admin), api(site.tenant, site.officer)
    assert admin.get(f"{SETTINGS}no-such-service/").status_code == 404
    assert admin.patch(f"{SETTINGS}no-such-service/", {}, format="json").status_code == 404
    refused = officer.patch(f"{SETTINGS}{KTP}/", {"daily_quota": 5}, format="json")
    assert refused.status_code == 403
    assert "Only the tenant admin" in refused.json()["detail"]
    assert api(site.tenant).get(SETTINGS).status_code == 401
    with tenant_context(site.tenant):
        assert QueueSetting.objects.get(service_key=KTP).daily_quota == 50


# --- The hall board ---------------------------------------------------------------------------


def test_the_board_shows_numbers_and_counter_names_only(
    site: Site, clock: Clock, django_assert_max_num_queries: Any
) -> None:
    code = place(site.tenant, slot_at(site.tenant, 10))["code"]
    api(site.tenant, site.officer).post(f"{BOOKINGS}{code}/check-in/", format="json")
    walk_in(site)
    clock.now = at(MONDAY, 10, 1)
    action(site, site.officer, site.counter, "call-next")
    clock.now = at(MONDAY, 10, 2)
    action(site, site.other_officer, site.other_counter, "call-next")
    action(site, site.other_officer, site.other_counter, "start")
    client = api(site.tenant)
    with django_assert_max_num_queries(3):  # counters, current tickets, recent calls
        response = client.get(BOARD)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    board = response.json()
    assert board == {
        "date": str(MONDAY),
        "counters": [
            {"counter": "Loket 1", "number": "DKP-001", "status": "called",
             "called_at": f"{MONDAY}T10:01:00+07:00"},
            {"counter": "Loket 2", "number": "DKP-002", "status": "serving",
             "called_at": f"{MONDAY}T10:02:00+07:00"},
        ],
        "recent": [
            {"counter": "Loket 2", "number": "DKP-002", "status": "serving",
             "called_at": f"{MONDAY}T10:02:00+07:00"},
            {"counter": "Loket 1", "number": "DKP-001", "status": "called",
             "called_at": f"{MONDAY}T10:01:00+07:00"},
        ],
    }  # fmt: skip
    assert "Siti" not in response.content.decode() and "2171" not in response.content.decode()


# --- Throttling, suspension -------------------------------------------------------------------


def test_anonymous_callers_are_throttled_per_address(site: Site, settings: Any) -> None:
    settings.API_RATE_ANON = "3/min"
    client = api(site.tenant)
    assert [client.get(SERVICES).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(BOARD)
    assert limited.status_code == 429 and "Retry-After" in limited
    assert client.get(SERVICES, REMOTE_ADDR="10.0.0.9").status_code == 200
    # Staff are counted per user, not by the anonymous budget.
    staff = api(site.tenant, site.officer)
    assert [staff.get(SERVICES).status_code for _ in range(5)] == [200] * 5


def test_a_suspended_tenant_takes_no_booking(site: Site) -> None:
    slot = slot_at(site.tenant, 10)
    suspend_tenant(site.tenant, reason="Tunggakan langganan", acting_user=None)
    route_cache.clear()  # what the on_commit hook does once the transaction commits
    client = api(site.tenant)
    assert client.get(SERVICES).status_code == 200
    assert client.post(BOOKINGS, booking_body(slot), format="json").status_code == 503
    assert count(site.tenant, Booking) == 0


# --- Tenant isolation -------------------------------------------------------------------------


def test_a_booking_of_one_tenant_is_unknown_on_the_other(site: Site, site_b: Site) -> None:
    code_a = place(site.tenant, slot_at(site.tenant, 10), 1)["code"]
    code_b = place(site_b.tenant, slot_at(site_b.tenant, 11), 1)["code"]
    for code, home, other in [(code_a, site, site_b), (code_b, site_b, site)]:
        client = api(other.tenant)
        assert client.get(f"{BOOKINGS}{code}/").status_code == 404
        assert client.post(f"{BOOKINGS}{code}/cancel/", format="json").status_code == 404
        moved = client.post(
            f"{BOOKINGS}{code}/reschedule/", {"slot": slot_at(other.tenant, 12)}, format="json"
        )
        assert moved.status_code == 404
        staff = api(other.tenant, other.admin)
        assert staff.post(f"{BOOKINGS}{code}/check-in/", format="json").status_code == 404
        assert api(home.tenant).get(f"{BOOKINGS}{code}/").json()["status"] == "booked"


@pytest.mark.parametrize("direction", ["a_to_b", "b_to_a"])
def test_counters_and_tickets_of_one_tenant_are_unknown_on_the_other(
    tenant_a: Tenant, tenant_b: Tenant, clock: Clock, direction: str
) -> None:
    home_tenant, other_tenant = (
        (tenant_a, tenant_b) if direction == "a_to_b" else (tenant_b, tenant_a)
    )
    home = set_up_site(home_tenant)
    with tenant_context(other_tenant):  # the other tenant has no counter and no ticket
        other_admin = User.objects.get(email=f"admin@{other_tenant.slug}.go.id")
        assert not Counter.objects.exists() and not Ticket.objects.exists()
    ticket = walk_in(home)
    action(home, home.officer, home.counter, "call-next")
    client = api(other_tenant, other_admin)
    for counter in (home.counter, home.other_counter):
        url = f"{COUNTERS}{counter}/"
        assert client.get(url).status_code == 404
        assert client.patch(url, {"name": "Diambil"}, format="json").status_code == 404
        assert client.put(url, counter_body(), format="json").status_code == 404
        assert client.delete(url).status_code == 404
        for verb in ("call-next", "recall", "skip", "start", "finish"):
            assert client.post(f"{url}{verb}/", format="json").status_code == 404, verb
        assert client.post(f"{url}transfer/", {"counter": 1}, format="json").status_code == 404
    assert client.get(f"{TICKETS}{ticket['id']}/").status_code == 404
    assert client.get(COUNTERS).json()["count"] == 0
    assert client.get(SETTINGS).json()["count"] == 0
    assert api(other_tenant).get(BOARD).json()["counters"] == []
    assert api(other_tenant).get(SERVICES).json()["count"] == 0
    # The home tenant's call is untouched.
    with tenant_context(home_tenant):
        assert Ticket.objects.get(pk=ticket["id"]).status == "called"
        assert Counter.objects.get(pk=home.counter).name == "Loket 1"


def test_a_token_of_one_tenant_is_refused_on_the_other(site: Site, site_b: Site) -> None:
    walk_in(site_b)
    alpha_admin = api(site.tenant, site.admin)
    assert alpha_admin.get(COUNTERS).status_code == 200
    beta = site_b.tenant.host
    assert alpha_admin.get(COUNTERS, HTTP_HOST=beta).status_code == 401
    assert alpha_admin.get(SETTINGS, HTTP_HOST=beta).status_code == 401
    refused = alpha_admin.post(
        f"{COUNTERS}{site_b.counter}/call-next/", format="json", HTTP_HOST=beta
    )
    assert refused.status_code == 401
    assert (
        alpha_admin.post(TICKETS, {"service": KTP}, format="json", HTTP_HOST=beta).status_code
        == 401
    )
    # Public endpoints: an invalid token is refused, not treated as anonymous.
    assert alpha_admin.get(SERVICES, HTTP_HOST=beta).status_code == 401
    assert count(site_b.tenant, Ticket, status="waiting") == 1

    # Alpha's signed-in session presented on beta's host: beta has no such session.
    with tenant_context(site.tenant):
        site.admin.set_password(PASSWORD)
        site.admin.save()
    session = Client(HTTP_HOST=site.tenant.host)
    assert (
        session.post(
            "/staff/login/", {"username": site.admin.email, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert session.get(COUNTERS).status_code == 200
    assert session.get(COUNTERS, HTTP_HOST=beta).status_code == 401


def test_platform_tokens_do_not_work_on_a_tenant_host(site: Site, operator: User) -> None:
    connection.set_schema_to_public()
    client = api_client_for(operator)
    assert client.get(COUNTERS, HTTP_HOST=site.tenant.host).status_code == 401


def test_the_queue_api_is_not_served_on_the_apex(operator: User) -> None:
    connection.set_schema_to_public()
    assert api_client_for(operator).get(SERVICES).status_code == 404
    assert APIClient(HTTP_HOST="localhost").get(BOARD).status_code == 404


# --- OpenAPI ----------------------------------------------------------------------------------


def test_the_tenant_schema_describes_the_queue_api_and_validates(tenant_a: Tenant) -> None:
    GENERATOR_STATS.reset()
    response = APIClient(HTTP_HOST=tenant_a.host).get("/api/schema/?format=json")
    assert response.status_code == 200
    warnings = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    assert not warnings, warnings
    schema = response.json()
    validate_schema(schema)  # OpenAPI 3.0 JSON Schema
    paths = schema["paths"]
    expected = {
        "services/": {"get"},
        "services/{key}/": {"get"},
        "services/{key}/slots/": {"get"},
        "bookings/": {"post"},
        "bookings/{code}/": {"get"},
        "bookings/{code}/cancel/": {"post"},
        "bookings/{code}/reschedule/": {"post"},
        "bookings/{code}/check-in/": {"post"},
        "tickets/": {"post"},
        "tickets/{id}/": {"get"},
        "counters/": {"get", "post"},
        "counters/{id}/": {"get", "put", "patch", "delete"},
        "settings/": {"get"},
        "settings/{service_key}/": {"get", "put", "patch"},
        "board/": {"get"},
    } | {f"counters/{{id}}/{verb}/": {"post"} for verb in (
        "call-next", "recall", "skip", "start", "finish", "transfer")}  # fmt: skip
    queue = {p.removeprefix(API): set(ops) for p, ops in paths.items() if p.startswith(API)}
    assert queue == expected
    slots_op = paths[f"{API}services/{{key}}/slots/"]["get"]
    [date] = [p for p in slots_op["parameters"] if p["name"] == "date"]
    assert date["required"] is True and date["in"] == "query"
    booking_op = paths[f"{API}bookings/"]["post"]
    assert {"201", "400", "409"} <= set(booking_op["responses"])
    assert "QueueBookingInput" in json.dumps(booking_op["requestBody"])
    assert {"200", "204", "409"} <= set(
        paths[f"{API}counters/{{id}}/call-next/"]["post"]["responses"]
    )
    components = schema["components"]["schemas"]
    assert "nik" not in components["QueueBooking"]["properties"]
    assert "nik_masked" in components["QueueBooking"]["properties"]
