"""Online booking: slots of a day, book, cancel, reschedule. Run inside the tenant's schema."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mall import nik as nik_rules
from mall.hours import WEEKDAYS
from mall.queue import reminders, rules
from mall.queue.actions._common import (
    SlotView,
    booking_snapshot,
    field_error,
    hours_on,
    local_date,
    lock_day_quotas,
    locked_booking,
    prefix_for,
    release_day_quota,
    release_slot_place,
    resolve_now,
    setting_for,
    slot_view,
    take_day_quota,
    take_slot_place,
    tenant_zone,
    visible_service,
)
from mall.queue.models import Booking, Slot
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

NAME_MAX = 100
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")
CODE_ATTEMPTS = 5


def parse_day(value: Any) -> dt.date:
    """A date or ``"YYYY-MM-DD"``; ValidationError on the ``date`` field otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise field_error(
            "date", _("Tulis tanggal sebagai TTTT-BB-HH, misalnya 2026-12-25."), "invalid"
        ) from None


def closed_reason(day: dt.date) -> str:
    """Why the mall is closed on ``day`` (a closure's name or the weekday), or "" if open."""
    hours, closure = hours_on(day)
    if hours is not None:
        return ""
    if closure:
        return _("Mal tutup: %(reason)s.") % {"reason": closure}
    return _("Mal tutup setiap hari %(day)s.") % {"day": WEEKDAYS[day.weekday()]}


def ensure_slots(service_key: str, date: dt.date, *, now: dt.datetime | None = None) -> list[Slot]:
    """The slots of a service on a local date, created on first use (idempotent).

    A closed day has none. Slots are only created from today up to the booking horizon;
    outside it the existing ones (if any) are returned.
    """
    service = visible_service(service_key)
    day = parse_day(date)
    setting = setting_for(service.key)
    hours, _closure = hours_on(day)
    times = rules.slot_times(day, hours, setting.slot_minutes, tenant_zone())
    if not times:
        return []
    today = local_date(resolve_now(now))
    if today <= day <= today + dt.timedelta(days=rules.BOOKING_HORIZON_DAYS):
        # INSERT … ON CONFLICT DO NOTHING: two requests materialising a day at once agree.
        Slot.objects.bulk_create(
            [
                Slot(
                    service_key=service.key,
                    date=day,
                    starts_at=start,
                    ends_at=end,
                    capacity=setting.slot_capacity,
                )
                for start, end in times
            ],
            ignore_conflicts=True,
        )
    wanted = set(times)
    existing = Slot.objects.filter(service_key=service.key, date=day).order_by("starts_at")
    # Only the slots of today's layout: one left over from an older slot length is not
    # offered (its bookings stay valid).
    return [s for s in existing if (s.starts_at, s.ends_at) in wanted]


def _check_bookable_service(service_key: Any) -> str:
    service = visible_service(service_key)
    if not setting_for(service.key).online_booking:
        raise field_error(
            "service_key",
            _("Layanan ini tidak bisa dipesan online; ambil nomor antrean di mal."),
            "offline",
        )
    prefix_for(service.key)  # a service no counter serves cannot be booked
    return service.key


def available_slots(
    service_key: str, date: dt.date, *, now: dt.datetime | None = None
) -> list[SlotView]:
    """The slots of a service on a local date not yet started, with the places left (full
    ones too, ``remaining == 0``). A closed day has none (see ``closed_reason``)."""
    now = resolve_now(now)
    key = _check_bookable_service(service_key)
    day = parse_day(date)
    today = local_date(now)
    if day < today:
        raise field_error("date", _("Tanggal ini sudah lewat."), "past")
    if day > today + dt.timedelta(days=rules.BOOKING_HORIZON_DAYS):
        raise field_error(
            "date",
            _("Booking paling jauh %(n)d hari ke depan.") % {"n": rules.BOOKING_HORIZON_DAYS},
            "horizon",
        )
    return [slot_view(s) for s in ensure_slots(key, day, now=now) if s.starts_at > now]


def _bookable_slot(service_key: str, slot_id: Any, now: dt.datetime) -> Slot:
    """The slot ``slot_id`` of the service if it can be booked at ``now`` (capacity aside)."""
    try:
        pk = int(slot_id)
    except (TypeError, ValueError):
        pk = None
    slot = Slot.objects.filter(pk=pk, service_key=service_key).first() if pk else None
    if slot is None:
        raise field_error("slot", _("Jam layanan tidak ditemukan."), "not_found")
    if slot.starts_at <= now:
        raise field_error("slot", _("Jam ini sudah lewat. Pilih jam lain."), "past")
    if slot.date > local_date(now) + dt.timedelta(days=rules.BOOKING_HORIZON_DAYS):
        raise field_error(
            "slot",
            _("Booking paling jauh %(n)d hari ke depan.") % {"n": rules.BOOKING_HORIZON_DAYS},
            "horizon",
        )
    reason = closed_reason(slot.date)
    if reason:
        raise field_error("slot", reason, "closed")
    hours, _closure = hours_on(slot.date)
    times = rules.slot_times(slot.date, hours, setting_for(service_key).slot_minutes, tenant_zone())
    if (slot.starts_at, slot.ends_at) not in set(times):
        raise field_error("slot", _("Jam ini tidak lagi tersedia. Pilih jam lain."), "unavailable")
    return slot


def clean_contact(phone: Any, email: Any) -> tuple[str, str, dict[str, list[str]]]:
    """Phone (digits, optional leading +) and e-mail; at least one is needed for reminders."""
    errors: dict[str, list[str]] = {}
    phone_text = re.sub(r"[\s\-().]", "", str(phone or ""))
    if phone_text and not _PHONE.match(phone_text):
        errors["phone"] = [_("Nomor telepon 8–15 angka, boleh diawali +, misalnya 081234567890.")]
    email_text = str(email or "").strip().lower()
    if email_text:
        try:
            validate_email(email_text)
        except ValidationError:
            errors["email"] = [_("Alamat e-mail tidak valid.")]
    if not phone_text and not email_text:
        errors["phone"] = [_("Isi nomor telepon atau e-mail untuk menerima pengingat.")]
    return phone_text, email_text, errors


def _insert_booking(**fields: Any) -> Booking:
    """Insert a booking under a fresh random code; a code collision draws another."""
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Booking.objects.create(code=rules.new_booking_code(), **fields)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "")
            if constraint == "queue_booking_one_active":
                raise _already_booked() from None
            if constraint != "queue_booking_code_unique":
                raise
    raise RuntimeError("could not draw an unused booking code")  # 31^8 codes: never happens


def _already_booked() -> ValidationError:
    return field_error(
        "nik",
        _("NIK ini sudah punya booking aktif untuk layanan ini pada tanggal tersebut."),
        "already_booked",
    )


def book(
    service_key: str,
    slot_id: int,
    *,
    name: str,
    nik: str,
    phone: str = "",
    email: str = "",
    acting_user: Any | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """Book a place in a slot for a citizen; reminders are queued once it commits.

    ValidationError codes: ``full`` (slot), ``quota`` (day), ``already_booked`` (NIK),
    ``past``/``closed``/``unavailable`` (slot), ``offline``/``no_counter`` (service).
    """
    now = resolve_now(now)
    errors: dict[str, list[str]] = {}
    clean_name = " ".join(str(name or "").split())
    if not clean_name:
        errors["name"] = [_("Isi nama lengkap.")]
    elif len(clean_name) > NAME_MAX:
        errors["name"] = [_("Nama paling banyak %(n)d karakter.") % {"n": NAME_MAX}]
    try:
        clean_nik = nik_rules.validate_nik(nik, today=local_date(now))
    except ValidationError as exc:
        errors["nik"] = exc.messages
    clean_phone, clean_email, contact_errors = clean_contact(phone, email)
    errors |= contact_errors
    if errors:
        raise ValidationError(errors)
    key = _check_bookable_service(service_key)
    slot = _bookable_slot(key, slot_id, now)
    protected = nik_rules.protect(clean_nik)
    with transaction.atomic():
        if not take_slot_place(slot.pk):
            raise field_error("slot", _("Slot ini sudah penuh. Pilih jam lain."), "full")
        booking = _insert_booking(
            service_key=key,
            slot=slot,
            date=slot.date,
            name=clean_name,
            nik_hash=protected.hash,
            nik_encrypted=protected.encrypted,
            nik_masked=protected.masked,
            phone=clean_phone,
            email=clean_email,
        )
        record_event(
            "queue.booked", acting_user=acting_user, target=booking, after=booking_snapshot(booking)
        )
        schedule_refresh()
        reminders.schedule_booking_messages(booking, now=now)
        # Last, so the day's one quota row — which every booking of the service that day
        # needs — stays locked only for the commit, not for the whole booking. The slot row
        # is still taken first: the same order as reschedule_booking, so no deadlock.
        if not take_day_quota(key, slot.date):
            raise field_error(
                "slot", _("Kuota harian layanan ini pada tanggal tersebut sudah habis."), "quota"
            )
    return booking


def _check_changeable(booking: Booking, now: dt.datetime) -> None:
    """A booking can be cancelled or moved while it is booked and its slot has not started."""
    messages = {
        Booking.Status.CHECKED_IN: _("Booking ini sudah check-in."),
        Booking.Status.CANCELLED: _("Booking ini sudah dibatalkan."),
        Booking.Status.DONE: _("Layanan booking ini sudah selesai."),
        Booking.Status.NO_SHOW: _("Booking ini sudah lewat (tidak hadir)."),
    }
    if booking.status != Booking.Status.BOOKED:
        raise field_error("code", messages[booking.status], booking.status)
    if booking.slot.starts_at <= now:
        raise field_error("code", _("Waktu booking ini sudah lewat."), "past")


def cancel_booking(
    code: str, *, acting_user: Any | None = None, now: dt.datetime | None = None
) -> Booking:
    """Cancel a booking by its code; its place and quota go back. Its reminders are dropped
    when they come due (they check the status)."""
    now = resolve_now(now)
    with transaction.atomic():
        booking = locked_booking(code)
        _check_changeable(booking, now)
        release_slot_place(booking.slot_id)
        release_day_quota(booking.service_key, booking.date)
        before = booking_snapshot(booking)
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancelled_at"])
        record_event(
            "queue.booking_cancelled",
            acting_user=acting_user,
            target=booking,
            before=before,
            after={"status": booking.status},
        )
        schedule_refresh()
    return booking


def reschedule_booking(
    code: str, new_slot_id: int, *, acting_user: Any | None = None, now: dt.datetime | None = None
) -> Booking:
    """Move a booking (same code) to another slot of its service; the old place is freed."""
    now = resolve_now(now)
    with transaction.atomic():
        booking = locked_booking(code)
        _check_changeable(booking, now)
        slot = _bookable_slot(booking.service_key, new_slot_id, now)
        if slot.pk == booking.slot_id:
            raise field_error("slot", _("Ini sudah jam booking Anda."), "same")
        # Both slots (and then both days' quotas) are locked in a fixed order first, so two
        # bookings swapping slots wait for each other instead of deadlocking.
        list(
            Slot.objects.select_for_update()
            .filter(pk__in=[slot.pk, booking.slot_id])
            .order_by("pk")
            .values_list("pk")
        )
        if slot.date != booking.date:
            lock_day_quotas(booking.service_key, [booking.date, slot.date])
        if not take_slot_place(slot.pk):
            raise field_error("slot", _("Slot ini sudah penuh. Pilih jam lain."), "full")
        if slot.date != booking.date:
            if not take_day_quota(booking.service_key, slot.date):
                raise field_error(
                    "slot",
                    _("Kuota harian layanan ini pada tanggal tersebut sudah habis."),
                    "quota",
                )
            release_day_quota(booking.service_key, booking.date)
        release_slot_place(booking.slot_id)
        before = booking_snapshot(booking)
        booking.slot, booking.date = slot, slot.date
        try:
            with transaction.atomic():
                booking.save(update_fields=["slot", "date"])
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "")
            if constraint == "queue_booking_one_active":
                raise _already_booked() from None
            raise
        record_event(
            "queue.booking_rescheduled",
            acting_user=acting_user,
            target=booking,
            before=before,
            after=booking_snapshot(booking),
        )
        schedule_refresh()
        reminders.schedule_booking_messages(booking, now=now)
    return booking
