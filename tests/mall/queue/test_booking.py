"""Online booking: the happy path, every refusal, cancel and reschedule, and the reminders."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection

from mall.actions import add_closure
from mall.queue import rules
from mall.queue.actions import (
    book,
    cancel_booking,
    ensure_slots,
    reschedule_booking,
    save_queue_setting,
)
from mall.queue.models import Booking, DayQuota, Slot
from mall.queue.reminders import (
    LoggingReminderChannel,
    ReminderChannel,
    reminder_channel,
    send_booking_message_task,
)
from mpp.audit.models import AuditEvent
from tests.mall.queue.conftest import KTP, MONDAY, Mall, at, error_code, nik

FRIDAY_BEFORE = at(MONDAY - dt.timedelta(days=3), 10)


def slots(day: dt.date = MONDAY) -> list[Slot]:
    return ensure_slots(KTP, day, now=FRIDAY_BEFORE)


def place(slot: Slot, serial: int, **extra: Any) -> Booking:
    fields = {"name": "Warga", "nik": nik(serial), "phone": "081234567890", "now": FRIDAY_BEFORE}
    return book(KTP, slot.pk, **(fields | extra))


def booked(slot: Slot) -> int:
    return Slot.objects.get(pk=slot.pk).booked


def quota_used(day: dt.date = MONDAY) -> int:
    row = DayQuota.objects.filter(service_key=KTP, date=day).first()
    return row.used if row else 0


def test_a_booking_takes_a_place_and_gets_a_code(mall_a: Mall) -> None:
    slot = slots()[2]
    booking = book(
        KTP,
        slot.pk,
        name="  Siti   Aminah ",
        nik="2171 0115 0390 0001",
        phone="0812-3456-7890",
        email="Siti@Example.ID",
        now=FRIDAY_BEFORE,
    )
    assert len(booking.code) == 8 and all(ch in rules.CODE_ALPHABET for ch in booking.code)
    assert not set(booking.code) & set("0O1IL")
    assert (booking.name, booking.phone, booking.email) == (
        "Siti Aminah",
        "081234567890",
        "siti@example.id",
    )
    assert booking.status == "booked" and booking.date == MONDAY
    assert booking.nik_masked == "2171********0001"
    assert booked(slot) == 1 and quota_used() == 1
    event = AuditEvent.objects.get(action="queue.booked")
    assert event.after["code"] == booking.code and event.actor_id is None


def test_codes_are_random_and_distinct(mall_a: Mall) -> None:
    codes = {rules.new_booking_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert rules.normalise_code(" abcd-efgh ") == "ABCDEFGH"


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"nik": "12345"}, "nik", "16 digit"),
        ({"nik": "9971011503900001"}, "nik", "Kode provinsi"),
        ({"nik": "2171013102900001"}, "nik", "bukan tanggal yang ada"),
        ({"name": "   "}, "name", "Isi nama"),
        ({"name": "x" * 101}, "name", "100 karakter"),
        ({"phone": "", "email": ""}, "phone", "telepon atau e-mail"),
        ({"phone": "12ab"}, "phone", "8–15 angka"),
        ({"email": "bukan-email"}, "email", "tidak valid"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    mall_a: Mall, fields: dict[str, str], field: str, fragment: str
) -> None:
    slot = slots()[0]
    with pytest.raises(ValidationError) as caught:
        place(slot, 1, **fields)
    assert fragment in " ".join(caught.value.message_dict[field])
    assert booked(slot) == 0 and quota_used() == 0 and not Booking.objects.exists()


def test_a_past_slot_is_refused(mall_a: Mall) -> None:
    slot = slots()[2]  # 09:00
    with pytest.raises(ValidationError) as caught:
        place(slot, 1, now=at(MONDAY, 9, 0))
    assert error_code(caught.value, "slot") == "past"
    assert booked(slot) == 0


def test_an_unknown_slot_or_one_of_another_service_is_refused(mall_a: Mall) -> None:
    other = ensure_slots("dukcapil-kk-baru", MONDAY, now=FRIDAY_BEFORE)[0]
    for slot_id in (other.pk, 999_999, "abc", None):
        with pytest.raises(ValidationError) as caught:
            book(KTP, slot_id, name="A", nik=nik(1), phone="081234567890", now=FRIDAY_BEFORE)
        assert error_code(caught.value, "slot") == "not_found"


def test_a_day_closed_after_its_slots_were_made_is_refused(mall_a: Mall) -> None:
    slot = slots()[0]
    add_closure(MONDAY, "Cuti bersama", acting_user=None)
    with pytest.raises(ValidationError) as caught:
        place(slot, 1)
    assert error_code(caught.value, "slot") == "closed"
    assert caught.value.messages == ["Mal tutup: Cuti bersama."]
    assert booked(slot) == 0


def test_a_full_slot_says_so(mall_a: Mall) -> None:
    slot = slots()[0]  # capacity 2
    place(slot, 1)
    place(slot, 2)
    with pytest.raises(ValidationError) as caught:
        place(slot, 3)
    assert error_code(caught.value, "slot") == "full"
    assert "penuh" in caught.value.messages[0]
    assert booked(slot) == 2 and quota_used() == 2 and Booking.objects.count() == 2


def test_one_active_booking_per_nik_service_and_day(mall_a: Mall) -> None:
    first, second = slots()[0], slots()[1]
    booking = place(first, 1)
    with pytest.raises(ValidationError) as caught:
        place(second, 1)
    assert error_code(caught.value, "nik") == "already_booked"
    # The refused attempt took nothing: the database undid its place and quota.
    assert booked(second) == 0 and quota_used() == 1
    # Another day, or another NIK, is fine.
    place(slots(MONDAY + dt.timedelta(days=1))[0], 1)
    place(second, 2)
    # After a cancel, the same NIK may book that day again.
    cancel_booking(booking.code.lower(), now=FRIDAY_BEFORE)
    again = place(second, 1)
    assert again.status == "booked" and booked(first) == 0 and booked(second) == 2


def test_cancel_gives_back_the_place_and_quota_once(mall_a: Mall) -> None:
    slot = slots()[0]
    booking = place(slot, 1)
    cancelled = cancel_booking(rules.format_code(booking.code), now=FRIDAY_BEFORE)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert booked(slot) == 0 and quota_used() == 0
    with pytest.raises(ValidationError) as caught:
        cancel_booking(booking.code, now=FRIDAY_BEFORE)
    assert error_code(caught.value, "code") == "cancelled"
    assert booked(slot) == 0 and quota_used() == 0
    assert AuditEvent.objects.filter(action="queue.booking_cancelled").count() == 1


def test_cancel_refuses_unknown_codes_and_started_slots(mall_a: Mall) -> None:
    for code in ("ZZZZZZZZ", "0000", "", "<script>"):
        with pytest.raises(ValidationError) as caught:
            cancel_booking(code, now=FRIDAY_BEFORE)
        assert error_code(caught.value, "code") == "not_found"
    booking = place(slots()[0], 1)
    with pytest.raises(ValidationError) as caught:
        cancel_booking(booking.code, now=at(MONDAY, 8, 5))
    assert error_code(caught.value, "code") == "past"


def test_reschedule_frees_the_old_slot(mall_a: Mall) -> None:
    old, new = slots()[0], slots()[3]
    booking = place(old, 1)
    moved = reschedule_booking(booking.code, new.pk, now=FRIDAY_BEFORE)
    assert moved.code == booking.code and moved.slot_id == new.pk
    assert booked(old) == 0 and booked(new) == 1 and quota_used() == 1
    # To another day: the quota moves with it.
    tuesday = slots(MONDAY + dt.timedelta(days=1))[0]
    reschedule_booking(booking.code, tuesday.pk, now=FRIDAY_BEFORE)
    assert booked(new) == 0 and booked(tuesday) == 1
    assert quota_used() == 0 and quota_used(MONDAY + dt.timedelta(days=1)) == 1
    assert Booking.objects.get().date == MONDAY + dt.timedelta(days=1)


def test_reschedule_refusals_change_nothing(mall_a: Mall) -> None:
    first, full = slots()[0], slots()[1]
    booking = place(first, 1)
    place(full, 2)
    place(full, 3)
    for slot_id, code in [(full.pk, "full"), (first.pk, "same"), (0, "not_found")]:
        with pytest.raises(ValidationError) as caught:
            reschedule_booking(booking.code, slot_id, now=FRIDAY_BEFORE)
        assert error_code(caught.value, "slot") == code
    # The same NIK already holds a booking on Tuesday: moving there is refused.
    tuesday = slots(MONDAY + dt.timedelta(days=1))
    place(tuesday[0], 1)
    with pytest.raises(ValidationError) as caught:
        reschedule_booking(booking.code, tuesday[1].pk, now=FRIDAY_BEFORE)
    assert error_code(caught.value, "nik") == "already_booked"
    assert booked(first) == 1 and booked(full) == 2 and booked(tuesday[1]) == 0
    assert Booking.objects.get(pk=booking.pk).slot_id == first.pk
    cancel_booking(booking.code, now=FRIDAY_BEFORE)
    with pytest.raises(ValidationError) as caught:
        reschedule_booking(booking.code, slots()[4].pk, now=FRIDAY_BEFORE)
    assert error_code(caught.value, "code") == "cancelled"


def test_the_day_quota_counts_bookings(mall_a: Mall) -> None:
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=3, acting_user=None)
    day = slots()
    place(day[0], 1)
    place(day[0], 2)
    place(day[1], 3)
    with pytest.raises(ValidationError) as caught:
        place(day[1], 4)
    assert error_code(caught.value, "slot") == "quota"
    assert "Kuota harian" in caught.value.messages[0]
    assert booked(day[1]) == 1 and quota_used() == 3
    # Raising the quota lets the next one in; lowering it never drops below what is used.
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=1, acting_user=None)
    assert DayQuota.objects.get(service_key=KTP, date=MONDAY).quota == 3
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=4, acting_user=None)
    place(day[1], 4)
    assert quota_used() == 4


def test_a_slot_capacity_change_never_drops_below_its_bookings(mall_a: Mall) -> None:
    slot = slots()[0]
    place(slot, 1)
    place(slot, 2)
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=1, acting_user=None)
    assert Slot.objects.get(pk=slot.pk).capacity == 2
    assert Slot.objects.get(pk=slots()[1].pk).capacity == 1
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=3, acting_user=None)
    place(slot, 3)
    assert booked(slot) == 3


# --- Reminders -----------------------------------------------------------------------------


def test_booking_queues_its_confirmation_and_reminders_on_commit(
    mall_a: Mall, dummy_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = slots()[2]  # Monday 09:00 WIB
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking = place(slot, 1)
    assert dummy_tasks.results == []  # nothing before the commit
    for callback in callbacks:
        callback()
    queued = {r.args[3]: r for r in dummy_tasks.results if r.task.name.startswith("send_booking")}
    assert set(queued) == {"confirmation", "day_before", "hour_before"}
    assert queued["confirmation"].task.run_after is None
    assert queued["day_before"].task.run_after == at(MONDAY - dt.timedelta(days=1), 9)
    assert queued["hour_before"].task.run_after == at(MONDAY, 8)
    assert list(queued["hour_before"].args) == [
        connection.schema_name,
        booking.pk,
        slot.pk,
        "hour_before",
    ]


def test_a_late_booking_gets_only_the_reminders_still_ahead() -> None:
    starts = at(MONDAY, 9)
    assert set(rules.reminder_times(starts, at(MONDAY, 6))) == {"hour_before"}
    assert rules.reminder_times(starts, at(MONDAY, 8, 30)) == {}


def test_a_rolled_back_booking_queues_nothing(
    mall_a: Mall, dummy_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = slots()[0]
    place(slot, 1)
    place(slot, 2)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        place(slot, 3)
    assert not [r for r in dummy_tasks.results if r.task.name.startswith("send_booking")]


def run_message(booking: Booking, kind: str, slot_id: int | None = None) -> str:
    return send_booking_message_task.call(
        connection.schema_name, booking.pk, slot_id or booking.slot_id, kind
    )


def test_a_reminder_goes_out_by_email_and_phone_once(
    mall_a: Mall, caplog: pytest.LogCaptureFixture
) -> None:
    # The task checks "started?" against the real clock: use a slot well ahead of it.
    booking = place(slots()[2], 1, email="warga@example.id")
    with caplog.at_level(logging.INFO, logger="mall.queue.reminders"):
        assert run_message(booking, "day_before") == "sent: email, phone"
    [message] = mail.outbox
    assert message.to == ["warga@example.id"] and "besok" in message.subject
    assert rules.format_code(booking.code) in message.body
    assert "09:00–09:30" in message.body  # local time
    assert any("0812*****890" in r.getMessage() for r in caplog.records)
    assert run_message(booking, "day_before") == "skipped: already sent"
    assert len(mail.outbox) == 1
    assert Booking.objects.get(pk=booking.pk).reminders_sent == [f"day_before@{booking.slot_id}"]


def test_the_confirmation_carries_a_qr_code(mall_a: Mall) -> None:
    booking = place(slots()[2], 1, email="warga@example.id", phone="")
    assert run_message(booking, "confirmation") == "sent: email"
    [(name, content, kind)] = mail.outbox[0].attachments
    assert name == f"booking-{booking.code}.png" and kind == "image/png"
    assert content.startswith(b"\x89PNG")


def test_no_reminder_for_a_cancelled_or_moved_booking(mall_a: Mall) -> None:
    cancelled = place(slots()[2], 1, email="a@example.id")
    cancel_booking(cancelled.code, now=FRIDAY_BEFORE)
    assert run_message(cancelled, "hour_before") == "skipped: booking is cancelled"
    moved = place(slots()[2], 2, email="b@example.id")
    old_slot = moved.slot_id
    reschedule_booking(moved.code, slots()[5].pk, now=FRIDAY_BEFORE)
    assert run_message(moved, "hour_before", old_slot) == "skipped: booking moved to another slot"
    assert mail.outbox == []


def test_without_a_deferring_backend_reminders_are_left_out(
    mall_a: Mall,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with (
        caplog.at_level(logging.WARNING, logger="mall.queue.reminders"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = place(slots()[2], 1, email="warga@example.id")
    # The confirmation ran at once; the reminders were not sent early.
    assert [m.subject for m in mail.outbox] == [
        f"Booking antrean {rules.format_code(booking.code)}"
    ]
    assert any("cannot defer" in r.getMessage() for r in caplog.records)


class RecordingChannel(ReminderChannel):
    sent: list[tuple[str, str]] = []

    def send(self, *, phone: str, message: str, booking: Booking) -> None:
        RecordingChannel.sent.append((phone, message))


def test_the_phone_channel_is_chosen_by_setting(mall_a: Mall, settings: Any) -> None:
    assert isinstance(reminder_channel(), LoggingReminderChannel)
    settings.QUEUE_REMINDER_CHANNEL = f"{__name__}.RecordingChannel"
    booking = place(slots()[2], 1)
    RecordingChannel.sent.clear()
    assert run_message(booking, "hour_before") == "sent: phone"
    assert RecordingChannel.sent[0][0] == "081234567890"
    assert "satu jam lagi" in RecordingChannel.sent[0][1]
    settings.QUEUE_REMINDER_CHANNEL = "mall.queue.models.Booking"
    with pytest.raises(ImproperlyConfigured, match="is not a mall\\.queue\\.reminders"):
        reminder_channel()
