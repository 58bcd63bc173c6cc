"""Tickets: walk-ins, check-in of bookings, and what an officer does at a counter.

Ticket states: waiting → called → serving → done; called → no_show (skip); called or
serving → transferred (waiting again, for another counter) → called …; called → called
(recall). Anything else is refused with a ValidationError on the ``ticket`` field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.local.models import LocalService
from mall.queue import rules
from mall.queue.actions._common import (
    field_error,
    hours_on,
    local_date,
    locked_booking,
    next_ticket_seq,
    notify_board,
    prefix_for,
    resolve_now,
    take_day_quota,
    tenant_zone,
    visible_service,
)
from mall.queue.actions.booking import closed_reason
from mall.queue.models import Booking, Counter, Ticket
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

_APPLICATION_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$")
S = Ticket.Status


def _new_ticket(
    prefix: str,
    day: dt.date,
    service_key: str,
    agency_code: str,
    *,
    kind: str,
    priority: bool,
    now: dt.datetime,
    booking: Booking | None = None,
) -> Ticket:
    seq = next_ticket_seq(prefix, day)
    return Ticket.objects.create(
        number=rules.ticket_number(prefix, seq),
        prefix=prefix,
        seq=seq,
        date=day,
        service_key=service_key,
        agency_code=agency_code,
        booking=booking,
        kind=kind,
        priority=priority,
        issued_at=now,
        slot_starts_at=booking.slot.starts_at if booking is not None else None,
    )


def _ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "status": ticket.status,
        "counter": ticket.counter_id,
        "service_key": ticket.service_key,
    }


def issue_walk_in(
    service_key: str,
    *,
    priority: bool = False,
    acting_user: Any | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """A walk-in ticket for today (kiosk), counted against the service's daily quota."""
    now = resolve_now(now)
    service = visible_service(service_key)
    today = local_date(now)
    reason = closed_reason(today)
    if reason:
        raise field_error("service_key", reason, "closed")
    hours, _closure = hours_on(today)
    if now.astimezone(tenant_zone()).time() >= hours[1]:
        raise field_error(
            "service_key", _("Mal sudah tutup untuk hari ini; silakan datang besok."), "closed"
        )
    prefix = prefix_for(service.key)
    with transaction.atomic():
        if not take_day_quota(service.key, today):
            raise field_error(
                "service_key", _("Kuota harian layanan ini sudah habis untuk hari ini."), "quota"
            )
        ticket = _new_ticket(
            prefix,
            today,
            service.key,
            service.agency_code,
            kind=Ticket.Kind.WALK_IN,
            priority=bool(priority),
            now=now,
        )
        record_event(
            "queue.ticket_issued",
            acting_user=acting_user,
            target=ticket,
            after=_ticket_snapshot(ticket) | {"kind": ticket.kind, "priority": ticket.priority},
        )
        schedule_refresh()
    return ticket


def check_in(
    code: str,
    *,
    priority: bool = False,
    acting_user: Any | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Turn a booking into a ticket at the kiosk; only on the booking's own (local) day."""
    now = resolve_now(now)
    with transaction.atomic():
        booking = locked_booking(code)
        if booking.status == Booking.Status.CHECKED_IN:
            raise field_error(
                "code",
                _("Booking ini sudah check-in; nomor antrean Anda %(number)s.")
                % {"number": booking.ticket.number},
                "checked_in",
            )
        if booking.status != Booking.Status.BOOKED:
            raise field_error(
                "code",
                _("Booking ini tidak bisa check-in (status: %(status)s).")
                % {"status": booking.get_status_display()},
                booking.status,
            )
        today = local_date(now)
        if booking.date != today:
            raise field_error(
                "code",
                _("Booking ini untuk tanggal %(date)s; check-in hanya pada hari itu.")
                % {"date": booking.date.strftime("%d-%m-%Y")},
                "wrong_day",
            )
        service = LocalService.objects.filter(key=booking.service_key).first()
        ticket = _new_ticket(
            prefix_for(booking.service_key),
            today,
            booking.service_key,
            service.agency_code if service else "",
            kind=Ticket.Kind.ONLINE,
            priority=bool(priority),
            now=now,
            booking=booking,
        )
        booking.status = Booking.Status.CHECKED_IN
        booking.checked_in_at = now
        booking.save(update_fields=["status", "checked_in_at"])
        record_event(
            "queue.checked_in",
            acting_user=acting_user,
            target=ticket,
            after=_ticket_snapshot(ticket) | {"booking": booking.code},
        )
        schedule_refresh()
    return ticket


def call_next(
    counter: Counter | int, *, acting_user: Any | None, now: dt.datetime | None = None
) -> Ticket | None:
    """Call the next ticket to ``counter`` (see ``rules.Lane`` for the order); None when
    nobody is waiting. Two counters calling at once never get the same ticket (SKIP LOCKED).

    Refused while the counter still has a ticket called or being served today.
    """
    now = resolve_now(now)
    today = local_date(now)
    pk = counter.pk if isinstance(counter, Counter) else counter
    with transaction.atomic():
        # One call at a time per counter (a double click is one call).
        locked = Counter.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise field_error("counter", _("Loket tidak ditemukan."), "not_found")
        if not locked.active:
            raise field_error("counter", _("Loket ini tidak aktif."), "inactive")
        busy = Ticket.objects.filter(
            date=today, counter=locked, status__in=[S.CALLED, S.SERVING]
        ).first()
        if busy is not None:
            raise field_error(
                "counter",
                _("Loket masih menangani %(number)s: selesaikan atau tandai tidak hadir dulu.")
                % {"number": busy.number},
                "busy",
            )
        view = rules.CounterView(locked.pk, tuple(locked.service_keys), locked.priority_lane)
        order = rules.call_order_expressions(now=now, priority_lane=locked.priority_lane)
        candidates = (
            Ticket.objects.filter(rules.callable_filter(view, today))
            .annotate(lane=order["lane"])
            .annotate(moment=order["moment"])
            .order_by(*rules.CALL_ORDER_BY)
            .select_for_update(skip_locked=True)
        )
        ticket = next(iter(candidates[:1]), None)
        if ticket is None:
            return None
        before = _ticket_snapshot(ticket)
        ticket.status = S.CALLED
        ticket.counter = locked
        ticket.called_at = now
        ticket.first_called_at = ticket.first_called_at or now
        ticket.save(update_fields=["status", "counter", "called_at", "first_called_at"])
        record_event(
            "queue.called",
            acting_user=acting_user,
            target=ticket,
            before=before,
            after=_ticket_snapshot(ticket),
        )
        notify_board()
        schedule_refresh()
    return ticket


def _locked_ticket(ticket: Ticket | int) -> Ticket:
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    found = Ticket.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise field_error("ticket", _("Tiket tidak ditemukan."), "not_found")
    return found


def _require(ticket: Ticket, allowed: tuple[str, ...], doing: str) -> None:
    if ticket.status not in allowed:
        raise field_error(
            "ticket",
            _("Tiket %(number)s berstatus %(status)s; tidak bisa %(doing)s.")
            % {"number": ticket.number, "status": ticket.get_status_display(), "doing": doing},
            "state",
        )


def _change(
    ticket: Ticket | int,
    allowed: tuple[str, ...],
    doing: str,
    action: str,
    acting_user: Any | None,
    apply: Any,
) -> Ticket:
    """Lock the ticket, check its state, apply the change, audit it and tell the board."""
    with transaction.atomic():
        locked = _locked_ticket(ticket)
        _require(locked, allowed, doing)
        before = _ticket_snapshot(locked)
        fields = apply(locked)
        locked.save(update_fields=fields)
        record_event(
            action,
            acting_user=acting_user,
            target=locked,
            before=before,
            after=_ticket_snapshot(locked),
        )
        notify_board()
        schedule_refresh()
    return locked


def recall(
    ticket: Ticket | int, *, acting_user: Any | None, now: dt.datetime | None = None
) -> Ticket:
    """Call a called ticket again (the board chimes again)."""
    now = resolve_now(now)

    def apply(t: Ticket) -> list[str]:
        t.called_at, t.recall_count = now, t.recall_count + 1
        return ["called_at", "recall_count"]

    return _change(ticket, (S.CALLED,), _("dipanggil ulang"), "queue.recalled", acting_user, apply)


def _set_booking_status(ticket: Ticket, status: str) -> None:
    if ticket.booking_id is not None:
        Booking.objects.filter(pk=ticket.booking_id).update(status=status)


def skip(
    ticket: Ticket | int, *, acting_user: Any | None, now: dt.datetime | None = None
) -> Ticket:
    """The called citizen did not come: the ticket (and its booking) become no-show."""
    now = resolve_now(now)

    def apply(t: Ticket) -> list[str]:
        t.status, t.finished_at = S.NO_SHOW, now
        _set_booking_status(t, Booking.Status.NO_SHOW)
        return ["status", "finished_at"]

    return _change(ticket, (S.CALLED,), _("dilewati"), "queue.skipped", acting_user, apply)


def start_serving(
    ticket: Ticket | int, *, acting_user: Any | None, now: dt.datetime | None = None
) -> Ticket:
    """The called citizen is at the counter: service time starts."""
    now = resolve_now(now)

    def apply(t: Ticket) -> list[str]:
        t.status, t.started_at = S.SERVING, t.started_at or now
        return ["status", "started_at"]

    return _change(ticket, (S.CALLED,), _("mulai dilayani"), "queue.serving", acting_user, apply)


def finish(
    ticket: Ticket | int,
    *,
    application_ref: str = "",
    acting_user: Any | None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Service done; ``application_ref`` optionally links the application it produced."""
    now = resolve_now(now)
    ref = str(application_ref or "").strip()
    if ref and not _APPLICATION_REF.match(ref):
        raise field_error(
            "application_ref",
            _("Nomor permohonan 1–40 karakter: huruf, angka, / . _ -"),
            "invalid",
        )

    def apply(t: Ticket) -> list[str]:
        t.status, t.finished_at, t.application_ref = S.DONE, now, ref
        _set_booking_status(t, Booking.Status.DONE)
        return ["status", "finished_at", "application_ref"]

    return _change(ticket, (S.SERVING,), _("diselesaikan"), "queue.finished", acting_user, apply)


def transfer(
    ticket: Ticket | int,
    counter: Counter | int,
    *,
    acting_user: Any | None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Send a called or served ticket to another counter, where it is called before
    ordinary tickets (``rules.Lane.TRANSFERRED``)."""
    now = resolve_now(now)
    pk = counter.pk if isinstance(counter, Counter) else counter
    target = Counter.objects.filter(pk=pk).first()
    if target is None:
        raise field_error("counter", _("Loket tujuan tidak ditemukan."), "not_found")
    if not target.active:
        raise field_error("counter", _("Loket tujuan tidak aktif."), "inactive")

    def apply(t: Ticket) -> list[str]:
        if t.counter_id == target.pk:
            raise field_error("counter", _("Tiket sudah berada di loket ini."), "same")
        t.status, t.counter, t.transferred_at = S.TRANSFERRED, target, now
        return ["status", "counter", "transferred_at"]

    return _change(
        ticket, (S.CALLED, S.SERVING), _("dialihkan"), "queue.transferred", acting_user, apply
    )
