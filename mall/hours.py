"""Opening hours of a mall: their stored form, validation, and "open now?" in the tenant's zone.

Stored as a list of seven entries, Monday first (Python's ``weekday()`` order): ``None`` for a
closed day, else ``["HH:MM", "HH:MM"]`` (opening, closing). Everything here is pure — "now" is
always passed in — so the rules are tested directly with fixed instants.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WEEKDAYS = (
    _("Senin"),
    _("Selasa"),
    _("Rabu"),
    _("Kamis"),
    _("Jumat"),
    _("Sabtu"),
    _("Minggu"),
)
# Short, stable names used in form field names (``mon_open``…), not shown to citizens.
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

DayHours = tuple[dt.time, dt.time]


def parse_hhmm(value: Any) -> dt.time:
    """``"08:00"`` → ``time(8, 0)``; anything else raises ValidationError."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        raise ValidationError(_("Tulis jam sebagai JJ:MM, misalnya 08:00."), code="invalid")
    hours, minutes = value.strip().split(":")
    return dt.time(int(hours), int(minutes))


def clean_day(value: Any) -> DayHours | None:
    """One day's entry: ``None`` (closed) or an (opening, closing) pair, closing after opening."""
    if value is None or value == [] or value == ():
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValidationError(_("Isi jam buka dan jam tutup, atau tandai tutup."), code="invalid")
    opens, closes = (parse_hhmm(v) for v in value)
    if closes <= opens:
        raise ValidationError(_("Jam tutup harus setelah jam buka."), code="order")
    return opens, closes


def clean_opening_hours(value: Any) -> list[list[str] | None]:
    """Validate a whole week and return it in stored form; errors name the day."""
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or len(value) not in (0, 7):
        raise ValidationError(_("Jam layanan harus berisi tujuh hari, Senin sampai Minggu."))
    week: list[list[str] | None] = []
    errors: list[str] = []
    for name, entry in zip(WEEKDAYS, value, strict=True):
        try:
            day = clean_day(entry)
        except ValidationError as exc:
            errors.extend(f"{name}: {message}" for message in exc.messages)
            continue
        week.append(None if day is None else [t.strftime("%H:%M") for t in day])
    if errors:
        raise ValidationError(errors)
    return week


def week_hours(stored: Any) -> list[DayHours | None]:
    """Stored form → seven (opening, closing) pairs or None; an unset week is seven Nones."""
    if not stored:
        return [None] * 7
    return [clean_day(entry) for entry in stored]


Closures = Mapping[dt.date, str]  # date → why the mall is closed that day (holiday, closure)


@dataclass(frozen=True)
class OpeningStatus:
    """Whether the mall is open at one instant, seen in its own time zone."""

    known: bool  # False when the admin has not published any hours yet
    is_open: bool
    weekday: int  # 0 = Monday, in the tenant's zone
    today: DayHours | None  # today's hours; None when closed all day (weekly or a closure)
    local_time: dt.datetime
    # When closed: the next opening (weekday, time) — later today or on a following day —
    # and its date, which closures may push more than a week ahead.
    next_open: tuple[int, dt.time] | None = None
    next_open_date: dt.date | None = None
    closure: str = ""  # why today is closed, when it is a holiday or special closure

    @property
    def opens_later_today(self) -> bool:
        """Closed now, but opening again before the day is over."""
        return (
            self.next_open is not None
            and self.next_open[0] == self.weekday
            and (self.today is not None and self.local_time.time() < self.today[0])
        )


def opening_status(
    stored: Any, now: dt.datetime, zone: str | dt.tzinfo, closures: Closures | None = None
) -> OpeningStatus:
    """Is the mall open at ``now`` (an aware instant), on the wall clock of ``zone``?

    Open from the opening minute up to, not including, the closing minute, on a day that is
    not one of ``closures`` (holidays and special closures, by local date).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    closures = closures or {}
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = now.astimezone(tz)
    week = week_hours(stored)
    closure = closures.get(local.date(), "")
    today = None if closure else week[local.weekday()]
    current = local.time().replace(tzinfo=None)
    is_open = today is not None and today[0] <= current < today[1]
    next_open: tuple[int, dt.time] | None = None
    next_open_date: dt.date | None = None
    if not is_open:
        if today is not None and current < today[0]:
            next_open, next_open_date = (local.weekday(), today[0]), local.date()
        elif any(week):
            # Each closure can push the next opening by a day; a week more finds any weekday.
            for offset in range(1, 8 + len(closures)):
                date = local.date() + dt.timedelta(days=offset)
                hours = week[date.weekday()]
                if hours is not None and date not in closures:
                    next_open, next_open_date = (date.weekday(), hours[0]), date
                    break
    return OpeningStatus(
        known=bool(stored),
        is_open=is_open,
        weekday=local.weekday(),
        today=today,
        local_time=local,
        next_open=next_open,
        next_open_date=next_open_date,
        closure=closure,
    )


def seconds_until_change(
    stored: Any, now: dt.datetime, zone: str | dt.tzinfo, closures: Closures | None = None
) -> int:
    """Seconds from ``now`` until what the home page says about opening can next change.

    That is the next opening or closing minute today, or else the next local midnight (when
    "today" moves on in the week's table). Used to bound how long the page may be cached.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = now.astimezone(tz)
    tomorrow = local.date() + dt.timedelta(days=1)
    moments = [dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=tz)]
    today = None if local.date() in (closures or {}) else week_hours(stored)[local.weekday()]
    if today is not None:
        moments += [dt.datetime.combine(local.date(), t, tzinfo=tz) for t in today]
    upcoming = min(m for m in moments if m > local)
    return max(1, int((upcoming - local).total_seconds() + 0.999))
