"""Tickets: walk-ins, check-in, the call order, and what an officer may do with a ticket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from mall.actions import add_closure
from mall.queue import rules
from mall.queue.actions import (
    book,
    call_next,
    check_in,
    ensure_slots,
    finish,
    issue_walk_in,
    recall,
    save_counter,
    save_queue_setting,
    skip,
    start_serving,
    transfer,
)
from mall.queue.models import Booking, Counter, DayQuota, Ticket
from mpp.audit.models import AuditEvent
from tests.mall.queue.conftest import KK, KTP, MONDAY, SUNDAY, Mall, at, error_code, nik


def booking_at(hour: int, minute: int, serial: int) -> Booking:
    """A KTP booking for Monday hour:minute, made the Friday before."""
    slot = next(
        s
        for s in ensure_slots(KTP, MONDAY, now=at(MONDAY, 6))
        if s.starts_at == at(MONDAY, hour, minute)
    )
    return book(
        KTP, slot.pk, name="Warga", nik=nik(serial), phone="081234567890", now=at(MONDAY, 6)
    )


# --- Walk-ins -------------------------------------------------------------------------------


def test_walk_in_tickets_are_numbered_per_prefix_and_day(mall_a: Mall) -> None:
    first = issue_walk_in(KTP, now=at(MONDAY, 8))
    second = issue_walk_in(KK, priority=True, now=at(MONDAY, 8, 1))
    tuesday = issue_walk_in(KTP, now=at(MONDAY + dt.timedelta(days=1), 8))
    assert (first.number, second.number, tuesday.number) == ("DKP-001", "DKP-002", "DKP-001")
    assert first.kind == "walk_in" and not first.priority and second.priority
    assert first.agency_code == "dukcapil" and first.status == "waiting"
    assert DayQuota.objects.get(service_key=KTP, date=MONDAY).used == 1
    assert AuditEvent.objects.filter(action="queue.ticket_issued").count() == 3


def test_walk_ins_respect_the_day_quota_and_opening(mall_a: Mall) -> None:
    save_queue_setting(KTP, daily_quota=2, acting_user=None)
    issue_walk_in(KTP, now=at(MONDAY, 8))
    issue_walk_in(KTP, now=at(MONDAY, 8))
    with pytest.raises(ValidationError) as caught:
        issue_walk_in(KTP, now=at(MONDAY, 8))
    assert error_code(caught.value, "service_key") == "quota"
    # The refused ticket took no number: the next one (another service) follows on.
    assert issue_walk_in(KK, now=at(MONDAY, 8)).number == "DKP-003"
    for now, fragment in [
        (at(SUNDAY, 9), "setiap hari Minggu"),
        (at(MONDAY, 15, 0), "sudah tutup"),
    ]:
        with pytest.raises(ValidationError, match=fragment):
            issue_walk_in(KK, now=now)
    add_closure(MONDAY + dt.timedelta(days=1), "Idul Adha", acting_user=None)
    with pytest.raises(ValidationError, match="Idul Adha"):
        issue_walk_in(KK, now=at(MONDAY + dt.timedelta(days=1), 9))
    with pytest.raises(ValidationError) as caught:
        issue_walk_in("no-such-service", now=at(MONDAY, 9))
    assert error_code(caught.value, "service_key") == "not_found"


def test_a_rolled_back_ticket_gives_its_number_back(mall_a: Mall) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        assert issue_walk_in(KTP, now=at(MONDAY, 8)).number == "DKP-001"
        raise RuntimeError("the kiosk's printer failed")
    assert issue_walk_in(KTP, now=at(MONDAY, 8, 1)).number == "DKP-001"
    assert DayQuota.objects.get(service_key=KTP, date=MONDAY).used == 1


# --- Check-in -------------------------------------------------------------------------------


def test_check_in_turns_a_booking_into_a_ticket_on_its_day(mall_a: Mall) -> None:
    booking = booking_at(9, 0, 1)
    with pytest.raises(ValidationError) as caught:
        check_in(booking.code, now=at(MONDAY - dt.timedelta(days=1), 9))
    assert error_code(caught.value, "code") == "wrong_day"
    ticket = check_in(booking.code.lower(), now=at(MONDAY, 8, 40))
    assert ticket.kind == "online" and ticket.booking_id == booking.pk
    assert ticket.slot_starts_at == at(MONDAY, 9) and ticket.number == "DKP-001"
    booking.refresh_from_db()
    assert booking.status == "checked_in" and booking.checked_in_at == at(MONDAY, 8, 40)
    # A booking is in the day quota already: check-in does not count it again.
    assert DayQuota.objects.get(service_key=KTP, date=MONDAY).used == 1
    with pytest.raises(ValidationError) as caught:
        check_in(booking.code, now=at(MONDAY, 8, 41))
    assert error_code(caught.value, "code") == "checked_in"
    assert "DKP-001" in caught.value.messages[0]
    assert Ticket.objects.count() == 1


def test_check_in_refuses_unknown_and_cancelled_bookings(mall_a: Mall) -> None:
    from mall.queue.actions import cancel_booking

    with pytest.raises(ValidationError) as caught:
        check_in("ABCDEFGH", now=at(MONDAY, 8))
    assert error_code(caught.value, "code") == "not_found"
    booking = booking_at(9, 0, 1)
    cancel_booking(booking.code, now=at(MONDAY, 7))
    with pytest.raises(ValidationError) as caught:
        check_in(booking.code, now=at(MONDAY, 8))
    assert error_code(caught.value, "code") == "cancelled"
    assert not Ticket.objects.exists()


# --- The call order -------------------------------------------------------------------------


def scripted_queue() -> dict[str, Ticket]:
    """Walk-ins W1 (08:00), W2 (08:05), priority walk-in P (08:10); bookings B1 (09:00 slot,
    checked in 08:20) and B2 (10:00 slot, checked in 08:30: early)."""
    return {
        "W1": issue_walk_in(KTP, now=at(MONDAY, 8)),
        "W2": issue_walk_in(KK, now=at(MONDAY, 8, 5)),
        "P": issue_walk_in(KTP, priority=True, now=at(MONDAY, 8, 10)),
        "B1": check_in(booking_at(9, 0, 1).code, now=at(MONDAY, 8, 20)),
        "B2": check_in(booking_at(10, 0, 2).code, now=at(MONDAY, 8, 30)),
    }


def drain(counter: Counter, now: dt.datetime) -> list[int]:
    """Call every waiting ticket to ``counter`` in turn (each marked no-show after)."""
    called = []
    while (ticket := call_next(counter, acting_user=None, now=now)) is not None:
        called.append(ticket.pk)
        skip(ticket, acting_user=None, now=now)
    return called


@pytest.mark.parametrize(
    ("priority_lane", "expected"),
    [
        (True, ["P", "B1", "W1", "W2", "B2"]),
        (False, ["B1", "W1", "W2", "P", "B2"]),
    ],
)
def test_call_next_order(mall_a: Mall, priority_lane: bool, expected: list[str]) -> None:
    tickets = scripted_queue()
    counter = mall_a.priority_counter if priority_lane else mall_a.counter
    now = at(MONDAY, 9, 5)
    names = {t.pk: name for name, t in tickets.items()}
    # The pure rule says the same as the SQL that call_next runs.
    pure = rules.call_order(tickets.values(), now=now, priority_lane=priority_lane)
    assert [names[t.pk] for t in pure] == expected
    assert [names[pk] for pk in drain(counter, now)] == expected


def test_a_booking_before_its_slot_waits_behind_walk_ins(mall_a: Mall) -> None:
    tickets = scripted_queue()
    # At 08:45 no slot has started: both bookings are "early" and come last, by slot.
    order = [
        t.pk for t in rules.call_order(tickets.values(), now=at(MONDAY, 8, 45), priority_lane=False)
    ]
    assert order[-2:] == [tickets["B1"].pk, tickets["B2"].pk]
    assert drain(mall_a.counter, at(MONDAY, 8, 45)) == order


def test_a_counter_calls_only_its_services_and_todays_tickets(mall_a: Mall) -> None:
    bpjs = save_counter(
        name="Loket BPJS",
        agency_code="bpjs-kesehatan",
        prefix="BPJ",
        service_keys=["bpjs-kesehatan-pendaftaran-mandiri"],
        acting_user=None,
    )
    issue_walk_in(KTP, now=at(MONDAY, 8))
    assert call_next(bpjs, acting_user=None, now=at(MONDAY, 9)) is None
    # Yesterday's leftovers are not called today.
    assert call_next(mall_a.counter, acting_user=None, now=at(MONDAY + dt.timedelta(1), 9)) is None
    assert call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 9)).number == "DKP-001"


def test_a_counter_finishes_its_ticket_before_calling_the_next(mall_a: Mall) -> None:
    issue_walk_in(KTP, now=at(MONDAY, 8))
    issue_walk_in(KTP, now=at(MONDAY, 8))
    ticket = call_next(mall_a.counter, acting_user=mall_a.officer, now=at(MONDAY, 9))
    assert ticket.status == "called" and ticket.counter_id == mall_a.counter.pk
    with pytest.raises(ValidationError) as caught:
        call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 9, 1))
    assert error_code(caught.value, "counter") == "busy" and "DKP-001" in str(caught.value)
    start_serving(ticket, acting_user=None, now=at(MONDAY, 9, 2))
    with pytest.raises(ValidationError):
        call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 9, 3))
    finish(ticket, acting_user=None, now=at(MONDAY, 9, 10))
    assert call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 9, 11)).number == "DKP-002"
    event = AuditEvent.objects.filter(action="queue.called").order_by("pk").first()
    assert event.actor_email == mall_a.officer.email and event.after["status"] == "called"


def test_an_inactive_counter_calls_nobody(mall_a: Mall) -> None:
    issue_walk_in(KTP, now=at(MONDAY, 8))
    counter = mall_a.counter
    save_counter(
        counter,
        name=counter.name,
        agency_code=counter.agency_code,
        prefix=counter.prefix,
        service_keys=counter.service_keys,
        active=False,
        acting_user=None,
    )
    with pytest.raises(ValidationError) as caught:
        call_next(counter, acting_user=None, now=at(MONDAY, 9))
    assert error_code(caught.value, "counter") == "inactive"


# --- What an officer does with a ticket -----------------------------------------------------


def called_ticket(mall: Mall, *, booked: bool = False) -> Ticket:
    if booked:
        check_in(booking_at(9, 0, 1).code, now=at(MONDAY, 8, 50))
    else:
        issue_walk_in(KTP, now=at(MONDAY, 8))
    return call_next(mall.counter, acting_user=None, now=at(MONDAY, 9))


def test_serve_a_booked_ticket_to_the_end(mall_a: Mall) -> None:
    ticket = called_ticket(mall_a, booked=True)
    ticket = recall(ticket, acting_user=None, now=at(MONDAY, 9, 2))
    assert ticket.recall_count == 1 and ticket.called_at == at(MONDAY, 9, 2)
    assert ticket.first_called_at == at(MONDAY, 9)
    ticket = start_serving(ticket.pk, acting_user=None, now=at(MONDAY, 9, 3))
    assert ticket.status == "serving" and ticket.started_at == at(MONDAY, 9, 3)
    ticket = finish(
        ticket, application_ref="DKP/2026/0001", acting_user=None, now=at(MONDAY, 9, 20)
    )
    assert (ticket.status, ticket.application_ref) == ("done", "DKP/2026/0001")
    assert ticket.booking.status == Booking.objects.get(pk=ticket.booking_id).status == "done"
    actions = list(
        AuditEvent.objects.filter(target_id=str(ticket.pk)).values_list("action", flat=True)
    )
    for action in ("queue.called", "queue.recalled", "queue.serving", "queue.finished"):
        assert action in actions


def test_a_skipped_booking_is_a_no_show(mall_a: Mall) -> None:
    ticket = skip(called_ticket(mall_a, booked=True), acting_user=None, now=at(MONDAY, 9, 5))
    assert ticket.status == "no_show"
    assert Booking.objects.get(pk=ticket.booking_id).status == "no_show"


Step = Callable[[Ticket], Any]


@pytest.mark.parametrize(
    ("prepare", "step", "fragment"),
    [
        ("waiting", lambda t: recall(t, acting_user=None), "Menunggu; tidak bisa dipanggil ulang"),
        ("waiting", lambda t: start_serving(t, acting_user=None), "tidak bisa mulai dilayani"),
        ("waiting", lambda t: finish(t, acting_user=None), "tidak bisa diselesaikan"),
        ("waiting", lambda t: skip(t, acting_user=None), "tidak bisa dilewati"),
        ("called", lambda t: finish(t, acting_user=None), "Dipanggil; tidak bisa diselesaikan"),
        ("serving", lambda t: skip(t, acting_user=None), "Dilayani; tidak bisa dilewati"),
        ("serving", lambda t: recall(t, acting_user=None), "tidak bisa dipanggil ulang"),
        ("done", lambda t: start_serving(t, acting_user=None), "Selesai; tidak bisa"),
        ("no_show", lambda t: recall(t, acting_user=None), "Tidak hadir; tidak bisa"),
    ],
)
def test_bad_transitions_are_refused(mall_a: Mall, prepare: str, step: Step, fragment: str) -> None:
    if prepare == "waiting":
        ticket = issue_walk_in(KTP, now=at(MONDAY, 8))
    else:
        ticket = called_ticket(mall_a)
        if prepare in ("serving", "done"):
            ticket = start_serving(ticket, acting_user=None, now=at(MONDAY, 9, 1))
        if prepare == "done":
            ticket = finish(ticket, acting_user=None, now=at(MONDAY, 9, 2))
        if prepare == "no_show":
            ticket = skip(ticket, acting_user=None, now=at(MONDAY, 9, 1))
    before = Ticket.objects.filter(pk=ticket.pk).values()[0]
    with pytest.raises(ValidationError) as caught:
        step(ticket)
    assert error_code(caught.value, "ticket") == "state"
    assert fragment in caught.value.messages[0]
    assert Ticket.objects.filter(pk=ticket.pk).values()[0] == before


def test_a_bad_application_reference_is_refused(mall_a: Mall) -> None:
    ticket = start_serving(called_ticket(mall_a), acting_user=None, now=at(MONDAY, 9, 1))
    for ref in ("x" * 41, "<b>", "/awal"):
        with pytest.raises(ValidationError) as caught:
            finish(ticket, application_ref=ref, acting_user=None)
        assert "application_ref" in caught.value.error_dict
    assert Ticket.objects.get(pk=ticket.pk).status == "serving"


def test_transfer_sends_a_ticket_to_the_front_of_another_counter(mall_a: Mall) -> None:
    ticket = start_serving(called_ticket(mall_a), acting_user=None, now=at(MONDAY, 9, 1))
    issue_walk_in(KTP, now=at(MONDAY, 8, 30))  # waiting longer than the transfer
    with pytest.raises(ValidationError) as caught:
        transfer(ticket, mall_a.counter, acting_user=None, now=at(MONDAY, 9, 5))
    assert error_code(caught.value, "counter") == "same"
    bpjs = save_counter(
        name="Loket BPJS",
        agency_code="bpjs-kesehatan",
        prefix="BPJ",
        service_keys=["bpjs-kesehatan-pendaftaran-mandiri"],
        acting_user=None,
    )
    moved = transfer(ticket, bpjs, acting_user=None, now=at(MONDAY, 9, 5))
    assert moved.status == "transferred" and moved.counter_id == bpjs.pk
    # The first counter is free again and does not get the transferred ticket …
    assert call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 9, 6)).number == "DKP-002"
    # … the BPJS counter does, although KTP is not one of its services.
    again = call_next(bpjs, acting_user=None, now=at(MONDAY, 9, 7))
    assert again.pk == ticket.pk and again.status == "called"
    assert again.first_called_at == at(MONDAY, 9) and again.started_at == at(MONDAY, 9, 1)
    with pytest.raises(ValidationError) as caught:
        transfer(again, 999_999, acting_user=None)
    assert error_code(caught.value, "counter") == "not_found"


def test_transferred_tickets_come_before_walk_ins(mall_a: Mall) -> None:
    ticket = called_ticket(mall_a)
    issue_walk_in(KTP, now=at(MONDAY, 8, 30))
    transfer(ticket, mall_a.priority_counter, acting_user=None, now=at(MONDAY, 9, 5))
    assert (
        call_next(mall_a.priority_counter, acting_user=None, now=at(MONDAY, 9, 6)).pk == ticket.pk
    )
