"""Holidays and special closures: the rules, the admin's page, the portal, isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from mall.actions import add_closure, local_today, remove_closure, update_mall_profile
from mall.hours import opening_status, seconds_until_change
from mall.models import Closure
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant

WEEKDAY_HOURS = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]
EVERY_DAY = [["00:00", "23:59"]] * 7
PASSWORD = "Rahasia-Libur-2026"
MONDAY = dt.date(2026, 3, 2)


def at(date: dt.date, hour: int, minute: int = 0, zone: str = "Asia/Jakarta") -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=ZoneInfo(zone))


# --- The rules (pure) ----------------------------------------------------------------------


def test_a_closure_closes_a_working_day_and_says_why() -> None:
    status = opening_status(WEEKDAY_HOURS, at(MONDAY, 10), "Asia/Jakarta", {MONDAY: "Nyepi"})
    assert not status.is_open and status.closure == "Nyepi" and status.today is None
    assert status.next_open == (1, dt.time(8)) and status.next_open_date == MONDAY.replace(day=3)
    assert not status.opens_later_today


def test_closures_push_the_next_opening_past_them() -> None:
    # Cuti bersama: Tuesday to the next Monday closed; from Monday evening the next opening
    # is Tuesday of the following week, eight days on.
    closures = {MONDAY + dt.timedelta(days=d): "Cuti bersama Idul Fitri" for d in range(1, 8)}
    status = opening_status(WEEKDAY_HOURS, at(MONDAY, 16), "Asia/Jakarta", closures)
    assert status.closure == "" and not status.is_open
    assert status.next_open_date == MONDAY + dt.timedelta(days=8)
    assert status.next_open == (1, dt.time(8))


def test_a_closure_on_a_weekend_changes_nothing() -> None:
    saturday = MONDAY + dt.timedelta(days=5)
    plain = opening_status(WEEKDAY_HOURS, at(saturday, 10), "Asia/Jakarta")
    closed = opening_status(WEEKDAY_HOURS, at(saturday, 10), "Asia/Jakarta", {saturday: "X"})
    assert plain.next_open_date == closed.next_open_date == MONDAY + dt.timedelta(days=7)
    assert not closed.is_open and closed.closure == "X"


def test_closures_are_local_dates() -> None:
    # 16:30 UTC on Sunday is already Monday 01:30 in WIT (Papua), but still Sunday in WIB.
    instant = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    closures = {MONDAY: "Hari libur daerah"}
    assert opening_status(WEEKDAY_HOURS, instant, "Asia/Jayapura", closures).closure
    assert not opening_status(WEEKDAY_HOURS, instant, "Asia/Jakarta", closures).closure


def test_a_closed_day_is_cached_until_midnight_not_until_its_usual_opening() -> None:
    seconds = seconds_until_change(WEEKDAY_HOURS, at(MONDAY, 7), "Asia/Jakarta", {MONDAY: "X"})
    assert seconds == 17 * 3600


def test_no_hours_and_closures_never_loop() -> None:
    status = opening_status([None] * 7, at(MONDAY, 10), "Asia/Jakarta", {MONDAY: "X"})
    assert status.next_open is None and status.next_open_date is None


# --- The actions -----------------------------------------------------------------------------


@pytest.fixture
def soon(tenant_a: Tenant) -> dt.date:
    with tenant_context(tenant_a):
        return local_today() + dt.timedelta(days=10)


def test_add_and_remove_write_the_audit_log(tenant_a: Tenant, soon: dt.date) -> None:
    with tenant_context(tenant_a):
        closure = add_closure(soon.isoformat(), "  Hari   Raya Natal ", acting_user=None)
        assert closure.name == "Hari Raya Natal" and closure.date == soon
        remove_closure(soon, acting_user=None)
        assert not Closure.objects.exists()
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
        assert actions[-2:] == ["mall.closure_added", "mall.closure_removed"]


@pytest.mark.parametrize(
    ("date", "name", "field", "message"),
    [
        ("25-12-2026", "Natal", "date", "TTTT-BB-HH"),
        ("2026-02-30", "Natal", "date", "TTTT-BB-HH"),
        ("", "Natal", "date", "TTTT-BB-HH"),
        (None, "Natal", "date", "TTTT-BB-HH"),
        ("past", "Natal", "date", "sudah lewat"),
        ("far", "Natal", "date", "dua tahun"),
        ("soon", "   ", "name", "Isi keterangan"),
        ("soon", "x" * 121, "name", "121"),
    ],
)
def test_bad_closures_are_refused_with_the_field_and_reason(
    tenant_a: Tenant, soon: dt.date, date: Any, name: str, field: str, message: str
) -> None:
    with tenant_context(tenant_a):
        today = local_today()
        date = {
            "past": today - dt.timedelta(days=1),
            "far": today + dt.timedelta(days=800),
            "soon": soon,
        }.get(date, date)
        with pytest.raises(ValidationError) as caught:
            add_closure(date, name, acting_user=None)
        assert message in " ".join(caught.value.message_dict[field])
        assert not Closure.objects.exists()


def test_a_date_is_closed_once(tenant_a: Tenant, soon: dt.date) -> None:
    with tenant_context(tenant_a):
        add_closure(soon, "Natal", acting_user=None)
        with pytest.raises(ValidationError, match="sudah tercatat: Natal"):
            add_closure(soon, "Lain", acting_user=None)
        with pytest.raises(ValidationError, match="Tidak ada penutupan"):
            remove_closure(soon + dt.timedelta(days=1), acting_user=None)
        with pytest.raises(ValidationError, match="TTTT-BB-HH"):
            remove_closure("besok", acting_user=None)
        assert list(Closure.objects.values_list("name", flat=True)) == ["Natal"]


# --- The portal ----------------------------------------------------------------------------


def test_home_says_closed_today_and_why(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        update_mall_profile({"opening_hours": EVERY_DAY}, acting_user=None)
        today = local_today()
        add_closure(today, "Hari Raya Natal", acting_user=None)
        add_closure(today + dt.timedelta(days=3), "Cuti bersama", acting_user=None)
    page = Client(HTTP_HOST="alpha.localhost").get("/").content.decode()
    assert "Hari ini tutup: Hari Raya Natal." in page
    assert "Buka lagi" in page and "Sekarang buka" not in page
    assert "Hari libur dan penutupan" in page and "Cuti bersama" in page
    assert f'<time datetime="{today + dt.timedelta(days=3):%Y-%m-%d}">' in page


def test_home_in_english_names_the_closure(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        update_mall_profile({"opening_hours": EVERY_DAY}, acting_user=None)
        add_closure(local_today(), "Hari Raya Natal", acting_user=None)
    client = Client(HTTP_HOST="alpha.localhost")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Closed today: Hari Raya Natal." in page and "Holidays and closures" in page


def test_a_new_closure_shows_at_once_on_a_cached_home(tenant_a: Tenant) -> None:
    client = Client(HTTP_HOST="alpha.localhost")
    with tenant_context(tenant_a):
        update_mall_profile({"opening_hours": EVERY_DAY}, acting_user=None)
    client.get("/")
    with tenant_context(tenant_a):
        add_closure(local_today(), "Pemadaman listrik", acting_user=None)
    assert "Hari ini tutup: Pemadaman listrik." in client.get("/").content.decode()


def test_a_closure_of_a_is_not_shown_on_b(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        add_closure(local_today(), "Libur Alpha", acting_user=None)
    with tenant_context(tenant_b):
        assert not Closure.objects.exists()
    assert "Libur Alpha" not in Client(HTTP_HOST="beta.localhost").get("/").content.decode()


# --- The admin's page --------------------------------------------------------------------------


def sign_in(tenant: Tenant, email: str, role: str) -> Client:
    with tenant_context(tenant):
        user = User.objects.create_user(email, role=role)
        user.set_password(PASSWORD)
        user.save()
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    response = client.post("/staff/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_admin_adds_and_cancels_a_closure(tenant_a: Tenant, soon: dt.date) -> None:
    admin = sign_in(tenant_a, "kepala@alpha.go.id", User.Role.TENANT_ADMIN)
    response = admin.post("/staff/profil/libur/", {"date": soon.isoformat(), "name": "Natal"})
    assert response.status_code == 302 and response["Location"].endswith("#libur")
    page = admin.get("/staff/profil/").content.decode()
    assert "Natal" in page and f'value="{soon:%Y-%m-%d}"' in page
    response = admin.post("/staff/profil/libur/hapus/", {"date": soon.isoformat()})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not Closure.objects.exists()


def test_admin_sees_why_a_closure_was_refused(tenant_a: Tenant, soon: dt.date) -> None:
    admin = sign_in(tenant_a, "kepala@alpha.go.id", User.Role.TENANT_ADMIN)
    response = admin.post("/staff/profil/libur/", {"date": "31/12/2026", "name": "Tahun baru"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "TTTT-BB-HH" in page and 'value="Tahun baru"' in page  # what was typed is kept
    response = admin.post("/staff/profil/libur/", {"date": soon.isoformat(), "name": ""})
    assert response.status_code == 400 and "Isi keterangan" in response.content.decode()
    response = admin.post("/staff/profil/libur/hapus/", {"date": soon.isoformat()}, follow=True)
    assert "Tidak ada penutupan" in response.content.decode()
    with tenant_context(tenant_a):
        assert not Closure.objects.exists()


def test_officers_and_visitors_cannot_change_closures(tenant_a: Tenant, soon: dt.date) -> None:
    officer = sign_in(tenant_a, "petugas@alpha.go.id", User.Role.OFFICER)
    assert officer.post("/staff/profil/libur/", {"date": soon, "name": "X"}).status_code == 403
    anonymous = Client(HTTP_HOST="alpha.localhost")
    response = anonymous.post("/staff/profil/libur/", {"date": soon, "name": "X"})
    assert response.status_code == 302 and "/staff/login/" in response["Location"]
    assert anonymous.get("/staff/profil/libur/").status_code == 405
    with tenant_context(tenant_a):
        assert not Closure.objects.exists()


def test_an_admin_of_b_cannot_touch_a(tenant_a: Tenant, tenant_b: Tenant, soon: dt.date) -> None:
    with tenant_context(tenant_a):
        add_closure(soon, "Libur Alpha", acting_user=None)
    admin_b = sign_in(tenant_b, "kepala@beta.go.id", User.Role.TENANT_ADMIN)
    response = admin_b.post("/staff/profil/libur/hapus/", {"date": soon.isoformat()}, follow=True)
    assert "Tidak ada penutupan" in response.content.decode()
    assert "Libur Alpha" not in admin_b.get("/staff/profil/").content.decode()
    # B's session cookie means nothing on A's host.
    admin_b.defaults["HTTP_HOST"] = "alpha.localhost"
    response = admin_b.post("/staff/profil/libur/hapus/", {"date": soon.isoformat()})
    assert response.status_code == 302 and "/staff/login/" in response["Location"]
    with tenant_context(tenant_a):
        assert Closure.objects.filter(date=soon).exists()
