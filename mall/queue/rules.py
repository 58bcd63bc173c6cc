"""Pure queue rules: booking codes, the slot layout of a day, and the order of the call queue.

Nothing here reads the database or the clock ("now" is always passed in), so the rules are
tested directly. ``call_order_expressions`` states the call order once more in SQL for
``call_next``; a test checks that both orders agree.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce

from mall.hours import DayHours

# No 0/O, 1/I/L: a code read aloud or typed from paper cannot be mistaken for another.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# How far ahead citizens may book.
BOOKING_HORIZON_DAYS = 30
# When reminders go out, before the slot starts.
REMINDER_OFFSETS = {"day_before": dt.timedelta(days=1), "hour_before": dt.timedelta(hours=1)}


def new_booking_code() -> str:
    """A random booking code (``secrets``): 8 characters from ``CODE_ALPHABET``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(value: Any) -> str:
    """What a citizen typed → the stored form: upper case, spaces and dashes dropped."""
    return "".join(str(value or "").split()).replace("-", "").upper()


def is_well_formed_code(code: str) -> bool:
    """Eight characters, all from the alphabet (lets a lookup refuse junk without a query)."""
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def format_code(code: str) -> str:
    """``ABCD2345`` → ``ABCD-2345``, easier to read aloud."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def ticket_number(prefix: str, seq: int) -> str:
    """``("DKP", 7)`` → ``"DKP-007"``."""
    return f"{prefix}-{seq:03d}"


def day_hours(
    day: dt.date, week: list[DayHours | None], closures: Mapping[dt.date, str]
) -> DayHours | None:
    """The mall's hours on ``day``: None when closed that weekday or by a closure."""
    if day in closures:
        return None
    return week[day.weekday()]


def slot_times(
    day: dt.date, hours: DayHours | None, slot_minutes: int, zone: dt.tzinfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The slots of ``day`` (local wall clock in ``zone``): back to back from opening, each
    ``slot_minutes`` long, the last one ending no later than closing."""
    if hours is None:
        return []
    opens = dt.datetime.combine(day, hours[0], tzinfo=zone)
    closes = dt.datetime.combine(day, hours[1], tzinfo=zone)
    step = dt.timedelta(minutes=slot_minutes)
    slots = []
    start = opens
    while start + step <= closes:
        slots.append((start, start + step))
        start += step
    return slots


def reminder_times(starts_at: dt.datetime, now: dt.datetime) -> dict[str, dt.datetime]:
    """When each reminder of a booking for ``starts_at`` is due; those already past are left
    out (a booking made an hour before its slot gets no reminder at all)."""
    due = {kind: starts_at - offset for kind, offset in REMINDER_OFFSETS.items()}
    return {kind: when for kind, when in due.items() if when > now}


# --- The call order ------------------------------------------------------------------------


class Lane(IntEnum):
    """Which group a waiting ticket is called in; lower first."""

    PRIORITY = 0  # elderly, disabled, pregnant — at a counter with the priority lane
    TRANSFERRED = 1  # sent here by another counter: they have waited once already
    BOOKED = 2  # checked-in bookings whose slot has started, by slot
    WALK_IN = 3  # walk-ins, first come first served
    EARLY = 4  # checked in before their slot: served when nobody else is waiting


class Waiting(Protocol):
    """What the call order looks at in a ticket."""

    id: Any
    kind: str
    priority: bool
    status: str
    issued_at: dt.datetime
    slot_starts_at: dt.datetime | None
    transferred_at: dt.datetime | None


@dataclass(frozen=True)
class CounterView:
    """What the call order looks at in a counter."""

    id: Any
    service_keys: tuple[str, ...]
    priority_lane: bool


def lane(ticket: Waiting, *, now: dt.datetime, priority_lane: bool) -> Lane:
    """The lane a waiting ticket is in at ``now`` for a counter with or without priority lane."""
    if priority_lane and ticket.priority:
        return Lane.PRIORITY
    if ticket.status == "transferred":
        return Lane.TRANSFERRED
    if ticket.kind == "online":
        started = ticket.slot_starts_at is None or ticket.slot_starts_at <= now
        return Lane.BOOKED if started else Lane.EARLY
    return Lane.WALK_IN


def call_order_key(ticket: Waiting, *, now: dt.datetime, priority_lane: bool) -> tuple[Any, ...]:
    """Sort key of the call order: lane, then the time that ranks within it, then id."""
    which = lane(ticket, now=now, priority_lane=priority_lane)
    if which is Lane.TRANSFERRED:
        moment = ticket.transferred_at or ticket.issued_at
    elif which in (Lane.BOOKED, Lane.EARLY):
        moment = ticket.slot_starts_at or ticket.issued_at
    else:
        moment = ticket.issued_at
    return (int(which), moment, ticket.issued_at, ticket.id)


W = TypeVar("W", bound=Waiting)


def call_order(tickets: Iterable[W], *, now: dt.datetime, priority_lane: bool) -> list[W]:
    """``tickets`` (already those the counter may call) in the order they will be called."""
    return sorted(tickets, key=lambda t: call_order_key(t, now=now, priority_lane=priority_lane))


def callable_filter(counter: CounterView, day: dt.date) -> Q:
    """The tickets ``counter`` may call on ``day``: waiting for one of its services, or
    transferred to it."""
    return Q(date=day) & (
        Q(status="waiting", service_key__in=list(counter.service_keys))
        | Q(status="transferred", counter_id=counter.id)
    )


def call_order_expressions(*, now: dt.datetime, priority_lane: bool) -> dict[str, Any]:
    """``call_order_key`` as annotations (``lane``, then ``moment``, which refers to ``lane``:
    annotate them in that order) for an ORDER BY in SQL."""
    whens = []
    if priority_lane:
        whens.append(When(priority=True, then=Value(int(Lane.PRIORITY))))
    whens += [
        When(status="transferred", then=Value(int(Lane.TRANSFERRED))),
        When(
            Q(kind="online") & (Q(slot_starts_at__isnull=True) | Q(slot_starts_at__lte=now)),
            then=Value(int(Lane.BOOKED)),
        ),
        When(kind="online", then=Value(int(Lane.EARLY))),
    ]
    lane_expr = Case(*whens, default=Value(int(Lane.WALK_IN)), output_field=IntegerField())
    moment = Case(
        When(lane=int(Lane.TRANSFERRED), then=Coalesce("transferred_at", "issued_at")),
        When(
            lane__in=[int(Lane.BOOKED), int(Lane.EARLY)],
            then=Coalesce("slot_starts_at", "issued_at"),
        ),
        default="issued_at",
    )
    return {"lane": lane_expr, "moment": moment}


CALL_ORDER_BY = ("lane", "moment", "issued_at", "id")
