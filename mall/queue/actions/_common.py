"""Helpers shared by the queue actions: the tenant's clock, services, capacity and numbering.

The capacity helpers are single SQL statements whose WHERE clause carries the rule, so two
transactions can never both take the last place: PostgreSQL's row lock makes the second
one re-check the condition against the first one's committed row.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.local.models import LocalService
from mall.actions import closures_between, get_mall_profile
from mall.hours import DayHours, week_hours
from mall.queue import rules
from mall.queue.models import Booking, Counter, DayQuota, QueueSetting, Slot, TicketSequence

DEFAULT_ZONE = "Asia/Jakarta"
BOARD_CHANNEL = "queue_board"


def field_error(field: str, message: str, code: str) -> ValidationError:
    """A ValidationError for one field whose entry keeps its ``code`` (``full``, ``past``…)."""
    return ValidationError({field: ValidationError(message, code=code)})


def tenant_zone() -> zoneinfo.ZoneInfo:
    """The current tenant's time zone (WIB/WITA/WIT)."""
    name = getattr(getattr(connection, "tenant", None), "time_zone", "") or DEFAULT_ZONE
    return zoneinfo.ZoneInfo(name)


def resolve_now(now: dt.datetime | None) -> dt.datetime:
    """``now`` (aware) or the current instant."""
    if now is None:
        return timezone.now()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now


def local_date(moment: dt.datetime) -> dt.date:
    """The tenant's local date at ``moment``."""
    return moment.astimezone(tenant_zone()).date()


def hours_on(day: dt.date) -> tuple[DayHours | None, str]:
    """The mall's hours on ``day`` and, when closed by a closure, why."""
    closures = closures_between(day, day)
    week = week_hours(get_mall_profile().opening_hours)
    return rules.day_hours(day, week, closures), closures.get(day, "")


def visible_service(service_key: Any) -> LocalService:
    """The enabled, current service ``service_key``; ValidationError naming the field if not."""
    service = LocalService.objects.filter(
        key=str(service_key or ""), enabled=True, retired=False
    ).first()
    if service is None:
        raise field_error("service_key", _("Layanan tidak ditemukan."), "not_found")
    return service


def setting_for(service_key: str) -> QueueSetting:
    """The service's queue setting, or an unsaved one with the defaults."""
    return QueueSetting.objects.filter(service_key=service_key).first() or QueueSetting(
        service_key=service_key
    )


def prefix_for(service_key: str) -> str:
    """The ticket prefix of a service: that of the first active counter serving it."""
    counter = (
        Counter.objects.filter(active=True, service_keys__contains=[service_key])
        .order_by("pk")
        .only("prefix")
        .first()
    )
    if counter is None:
        raise field_error(
            "service_key", _("Belum ada loket aktif yang melayani layanan ini."), "no_counter"
        )
    return counter.prefix


def take_slot_place(slot_id: int) -> bool:
    """Take one place in a slot if one is left; False when it is full."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Slot._meta.db_table} SET booked = booked + 1 "
            "WHERE id = %s AND booked < capacity",
            [slot_id],
        )
        return cursor.rowcount == 1


def release_slot_place(slot_id: int) -> None:
    """Give one place back to a slot."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Slot._meta.db_table} SET booked = booked - 1 WHERE id = %s AND booked > 0",
            [slot_id],
        )


def take_day_quota(service_key: str, day: dt.date) -> bool:
    """Count one more booking or walk-in against the day's quota; False when it is used up."""
    table = DayQuota._meta.db_table
    take = (
        f"UPDATE {table} SET used = used + 1 WHERE service_key = %s AND date = %s AND used < quota"
    )
    with connection.cursor() as cursor:
        # The row exists but for the day's very first place: try the update alone first,
        # since an INSERT … ON CONFLICT on a row another booking holds waits for it too.
        cursor.execute(take, [service_key, day])
        if cursor.rowcount == 1:
            return True
        cursor.execute(
            f"INSERT INTO {table} (service_key, date, quota, used) VALUES (%s, %s, %s, 0) "
            "ON CONFLICT (service_key, date) DO NOTHING",
            [service_key, day, setting_for(service_key).daily_quota],
        )
        cursor.execute(take, [service_key, day])
        return cursor.rowcount == 1


def lock_day_quotas(service_key: str, days: list[dt.date]) -> None:
    """Create (if need be) and lock the quota rows of ``days``, in date order."""
    table = DayQuota._meta.db_table
    quota = setting_for(service_key).daily_quota
    with connection.cursor() as cursor:
        for day in sorted(days):
            cursor.execute(
                f"INSERT INTO {table} (service_key, date, quota, used) VALUES (%s, %s, %s, 0) "
                "ON CONFLICT (service_key, date) DO NOTHING",
                [service_key, day, quota],
            )
        cursor.execute(
            f"SELECT id FROM {table} WHERE service_key = %s AND date = ANY(%s) "
            "ORDER BY date FOR UPDATE",
            [service_key, sorted(days)],
        )


def release_day_quota(service_key: str, day: dt.date) -> None:
    """Give one place back to the day's quota (a cancelled or moved booking)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DayQuota._meta.db_table} SET used = used - 1 "
            "WHERE service_key = %s AND date = %s AND used > 0",
            [service_key, day],
        )


def next_ticket_seq(prefix: str, day: dt.date) -> int:
    """The next ticket number of ``prefix`` on ``day``.

    The sequence row stays locked until the transaction ends, so numbers are handed out one
    transaction at a time, and a rollback gives its number back: no gaps, no duplicates.
    """
    table = TicketSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS s (prefix, date, last_number) VALUES (%s, %s, 1) "
            "ON CONFLICT (prefix, date) DO UPDATE SET last_number = s.last_number + 1 "
            "RETURNING last_number",
            [prefix, day],
        )
        return cursor.fetchone()[0]


def notify_board() -> None:
    """Tell display boards that this tenant's calls changed (delivered on commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [BOARD_CHANNEL, connection.schema_name])


def locked_booking(code: Any) -> Booking:
    """The booking with ``code``, locked for this transaction; ValidationError if unknown."""
    normalised = rules.normalise_code(code)
    booking = None
    if rules.is_well_formed_code(normalised):
        booking = Booking.objects.select_for_update().filter(code=normalised).first()
    if booking is None:
        raise field_error("code", _("Kode booking tidak ditemukan."), "not_found")
    return booking


@dataclass(frozen=True)
class SlotView:
    """A slot as a citizen sees it: local times and the places left."""

    id: int
    service_key: str
    date: dt.date
    starts_at: dt.datetime  # in the tenant's zone
    ends_at: dt.datetime
    capacity: int
    remaining: int

    @property
    def is_full(self) -> bool:
        """No place left."""
        return self.remaining <= 0


def slot_view(slot: Slot) -> SlotView:
    """``slot`` seen on the tenant's wall clock."""
    zone = tenant_zone()
    return SlotView(
        id=slot.pk,
        service_key=slot.service_key,
        date=slot.date,
        starts_at=slot.starts_at.astimezone(zone),
        ends_at=slot.ends_at.astimezone(zone),
        capacity=slot.capacity,
        remaining=max(0, slot.capacity - slot.booked),
    )


def booking_snapshot(booking: Booking) -> dict[str, Any]:
    """What the audit log keeps of a booking (the NIK only masked)."""
    return {
        "code": booking.code,
        "service_key": booking.service_key,
        "slot": booking.slot_id,
        "starts_at": booking.slot.starts_at.isoformat() if booking.slot_id else None,
        "date": booking.date.isoformat(),
        "nik_masked": booking.nik_masked,
        "status": booking.status,
    }
