"""Slots: laid out from the mall's hours and closures, on the tenant's own wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from mall.actions import add_closure, update_mall_profile
from mall.queue import rules
from mall.queue.actions import (
    available_slots,
    closed_reason,
    ensure_slots,
    issue_walk_in,
    save_counter,
    save_queue_setting,
)
from mall.queue.models import Slot
from tests.mall.queue.conftest import KK, KTP, MONDAY, SUNDAY, Mall, at, error_code

WIT = ZoneInfo("Asia/Jayapura")


# --- The layout (pure) ---------------------------------------------------------------------


def test_slots_run_back_to_back_and_end_by_closing() -> None:
    times = rules.slot_times(MONDAY, (dt.time(8), dt.time(10)), 30, WIT)
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in times] == [
        ("08:00", "08:30"),
        ("08:30", "09:00"),
        ("09:00", "09:30"),
        ("09:30", "10:00"),
    ]
    assert all(s.tzinfo is WIT for s, _ in times)
    # A remainder shorter than a slot is not offered.
    assert len(rules.slot_times(MONDAY, (dt.time(8), dt.time(9, 50)), 30, WIT)) == 3
    assert rules.slot_times(MONDAY, None, 30, WIT) == []


def test_a_closure_or_a_closed_weekday_has_no_hours() -> None:
    week = [(dt.time(8), dt.time(15))] * 6 + [None]
    assert rules.day_hours(MONDAY, week, {}) == (dt.time(8), dt.time(15))
    assert rules.day_hours(MONDAY, week, {MONDAY: "Nyepi"}) is None
    assert rules.day_hours(SUNDAY, week, {}) is None


# --- Materialised in the tenant ------------------------------------------------------------


def test_available_slots_of_an_open_day(mall_a: Mall) -> None:
    slots = available_slots(KTP, MONDAY, now=at(MONDAY - dt.timedelta(days=3), 10))
    # 08:00–15:00 in 30-minute slots, capacity 2, times in the tenant's zone (WIB).
    assert len(slots) == 14
    assert slots[0].starts_at == at(MONDAY, 8) and slots[-1].ends_at == at(MONDAY, 15)
    assert str(slots[0].starts_at.tzinfo) == "Asia/Jakarta"
    assert {(s.capacity, s.remaining) for s in slots} == {(2, 2)}
    # Started slots are not offered any more.
    later = available_slots(KTP, MONDAY, now=at(MONDAY, 9, 10))
    assert later[0].starts_at == at(MONDAY, 9, 30) and len(later) == 11


def test_slots_are_created_once(mall_a: Mall) -> None:
    now = at(MONDAY, 6)
    first = [s.pk for s in ensure_slots(KTP, MONDAY, now=now)]
    second = [s.pk for s in ensure_slots(KTP, MONDAY, now=now)]
    assert first == second and Slot.objects.filter(service_key=KTP).count() == 14
    # The default setting (15 minutes, 4 places) for a service without one.
    kk = ensure_slots(KK, MONDAY, now=now)
    assert len(kk) == 28 and {s.capacity for s in kk} == {4}


def test_a_closed_weekday_and_a_closure_have_no_slots(mall_a: Mall) -> None:
    friday_before = at(MONDAY - dt.timedelta(days=3), 10)
    assert available_slots(KTP, SUNDAY, now=friday_before) == []
    assert closed_reason(SUNDAY) == "Mal tutup setiap hari Minggu."
    add_closure(MONDAY, "Hari Raya Nyepi", acting_user=None)
    assert available_slots(KTP, MONDAY, now=friday_before) == []
    assert closed_reason(MONDAY) == "Mal tutup: Hari Raya Nyepi."
    assert not Slot.objects.exists()
    assert closed_reason(MONDAY + dt.timedelta(days=1)) == ""


def test_a_day_outside_the_window_is_refused(mall_a: Mall) -> None:
    now = at(MONDAY, 10)
    with pytest.raises(ValidationError) as caught:
        available_slots(KTP, MONDAY - dt.timedelta(days=1), now=now)
    assert error_code(caught.value, "date") == "past"
    with pytest.raises(ValidationError) as caught:
        available_slots(KTP, MONDAY + dt.timedelta(days=rules.BOOKING_HORIZON_DAYS + 1), now=now)
    assert error_code(caught.value, "date") == "horizon"
    with pytest.raises(ValidationError) as caught:
        available_slots(KTP, "31-12-2026", now=now)
    assert "TTTT-BB-HH" in caught.value.messages[0]
    assert not Slot.objects.exists()


def test_a_service_that_cannot_be_booked_is_refused(mall_a: Mall) -> None:
    now = at(MONDAY, 6)
    for key, code in [
        ("no-such-service", "not_found"),
        ("bpjs-kesehatan-pendaftaran-mandiri", "no_counter"),  # no counter serves it
    ]:
        with pytest.raises(ValidationError) as caught:
            available_slots(key, MONDAY, now=now)
        assert error_code(caught.value, "service_key") == code
    save_queue_setting(KTP, online_booking=False, acting_user=None)
    with pytest.raises(ValidationError) as caught:
        available_slots(KTP, MONDAY, now=now)
    assert error_code(caught.value, "service_key") == "offline"
    assert "ambil nomor antrean" in caught.value.messages[0]


def test_a_new_slot_length_relays_days_without_bookings(mall_a: Mall) -> None:
    now = at(MONDAY - dt.timedelta(days=1), 10)
    assert len(ensure_slots(KTP, MONDAY, now=now)) == 14
    save_queue_setting(KTP, slot_minutes=60, slot_capacity=5, acting_user=None)
    slots = ensure_slots(KTP, MONDAY, now=now)
    assert len(slots) == 7 and {s.capacity for s in slots} == {5}
    assert Slot.objects.filter(service_key=KTP).count() == 7


def test_a_wit_tenant_at_2330_utc_is_already_on_the_next_local_day(mall_a: Mall) -> None:
    tenant = mall_a.tenant
    tenant.time_zone = "Asia/Jayapura"
    tenant.save()  # inside the test's transaction; connection.tenant is this object
    sunday_night_utc = dt.datetime.combine(
        MONDAY - dt.timedelta(days=1), dt.time(23, 30), tzinfo=dt.UTC
    )  # Monday 08:30 WIT
    slots = available_slots(KTP, MONDAY, now=sunday_night_utc)
    assert slots[0].starts_at == at(MONDAY, 9, zone=WIT)  # 08:30 WIT has just started
    assert slots[0].starts_at == sunday_night_utc + dt.timedelta(minutes=30)
    # Sunday is yesterday in Jayapura, though still today in UTC.
    with pytest.raises(ValidationError) as caught:
        available_slots(KTP, MONDAY - dt.timedelta(days=1), now=sunday_night_utc)
    assert error_code(caught.value, "date") == "past"
    ticket = issue_walk_in(KTP, now=sunday_night_utc)
    assert ticket.date == MONDAY and ticket.number == "DKP-001"


def test_the_local_day_decides_whether_the_mall_is_open(mall_a: Mall) -> None:
    # 16:30 UTC on Sunday: Sunday 23:30 in WIB (closed) but Monday 01:30 in WIT (a working
    # day, before opening: walk-in tickets may be taken for the day).
    instant = dt.datetime.combine(MONDAY - dt.timedelta(days=1), dt.time(16, 30), tzinfo=dt.UTC)
    with pytest.raises(ValidationError) as caught:
        issue_walk_in(KTP, now=instant)
    assert caught.value.messages == ["Mal tutup setiap hari Minggu."]
    mall_a.tenant.time_zone = "Asia/Jayapura"
    mall_a.tenant.save()
    assert issue_walk_in(KTP, now=instant).date == MONDAY


def test_hours_changed_after_slots_were_made_are_followed(mall_a: Mall) -> None:
    now = at(MONDAY - dt.timedelta(days=1), 10)
    ensure_slots(KTP, MONDAY, now=now)
    update_mall_profile(
        {"opening_hours": [["08:00", "12:00"]] * 5 + [None, None]}, acting_user=None
    )
    slots = available_slots(KTP, MONDAY, now=now)
    assert len(slots) == 8 and slots[-1].ends_at == at(MONDAY, 12)


def test_another_agencys_services_get_its_counters_prefix(mall_a: Mall) -> None:
    # A second agency's counter: its services get its own prefix.
    save_counter(
        name="Loket BPJS",
        agency_code="bpjs-kesehatan",
        prefix="BPJ",
        service_keys=["bpjs-kesehatan-pendaftaran-mandiri"],
        acting_user=None,
    )
    ticket = issue_walk_in("bpjs-kesehatan-pendaftaran-mandiri", now=at(MONDAY, 9))
    assert ticket.number == "BPJ-001" and ticket.agency_code == "bpjs-kesehatan"
