"""Response shapes of the queue API, and request bodies described for OpenAPI.

Queue data is validated by ``mall.queue.actions``, one rule set for the citizen pages, the
kiosk, the counter screens, the API and the CLI; the ``*Input`` serializers only document
request bodies (``mall.queue.api.base.parse_body`` checks their keys and JSON types).

Times are instants on the tenant's wall clock (WIB, WITA or WIT), ISO 8601 with the offset,
e.g. ``2026-05-04T10:00:00+08:00``. A NIK is only ever shown masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mall.queue import rules
from mall.queue.actions import tenant_zone
from mall.queue.models import Booking, Counter, Ticket

BOOKING_STATUSES = ", ".join(Booking.Status.values)
TICKET_STATUSES = ", ".join(Ticket.Status.values)
TICKET_KINDS = ", ".join(Ticket.Kind.values)


class LocalDateTimeField(serializers.DateTimeField):
    """An instant on the tenant's wall clock, ISO 8601 with its UTC offset."""

    def default_timezone(self) -> dt.tzinfo:
        return tenant_zone()


def mask_phone(phone: str) -> str:
    """``081234567890`` → ``0812*****890``: enough to recognise, not to call."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 7) + phone[-3:]


def mask_email(email: str) -> str:
    """``siti@example.com`` → ``s***@example.com``."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else ""


# --- Services and slots (public) ----------------------------------------------------------


class QueueServiceSerializer(serializers.Serializer[Any]):
    """A service citizens can book online, with how it is queued."""

    key = serializers.CharField(read_only=True)
    name_id = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    agency_code = serializers.CharField(read_only=True)
    agency_name = serializers.CharField(read_only=True)
    slot_minutes = serializers.IntegerField(source="queue_setting.slot_minutes", read_only=True)
    slot_capacity = serializers.IntegerField(
        source="queue_setting.slot_capacity", read_only=True, help_text="Places per slot"
    )
    daily_quota = serializers.IntegerField(
        source="queue_setting.daily_quota",
        read_only=True,
        help_text="Bookings plus walk-in tickets per day",
    )
    booking_horizon_days = serializers.SerializerMethodField(
        help_text="How many days ahead a slot may be booked"
    )

    def get_booking_horizon_days(self, service: Any) -> int:
        return rules.BOOKING_HORIZON_DAYS


class QueueSlotSerializer(serializers.Serializer[Any]):
    """A bookable time window and the places left in it (full ones are listed too)."""

    id = serializers.IntegerField(read_only=True)
    starts_at = LocalDateTimeField(read_only=True)
    ends_at = LocalDateTimeField(read_only=True)
    capacity = serializers.IntegerField(read_only=True)
    remaining = serializers.IntegerField(read_only=True)
    full = serializers.BooleanField(source="is_full", read_only=True)


class QueueDaySerializer(serializers.Serializer[Any]):
    """The slots of one service on one local date not yet started."""

    service = serializers.CharField(read_only=True)
    date = serializers.DateField(read_only=True)
    closed = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Why the mall is closed that day (then ``slots`` is empty), or null",
    )
    slots = QueueSlotSerializer(many=True, read_only=True)


# --- Bookings (public, by code) ------------------------------------------------------------


class QueueTicketBriefSerializer(serializers.Serializer[Ticket]):
    """A ticket's number and state, as a citizen or the board sees it."""

    number = serializers.CharField(read_only=True, help_text="e.g. DKP-007")
    status = serializers.CharField(read_only=True, help_text=TICKET_STATUSES)


class QueueBookingSerializer(serializers.Serializer[Booking]):
    """A booking as its holder sees it: the NIK masked, contact details half hidden."""

    code = serializers.CharField(read_only=True, help_text="8 characters, e.g. ABCD2345")
    code_display = serializers.SerializerMethodField(help_text="e.g. ABCD-2345")
    status = serializers.CharField(read_only=True, help_text=BOOKING_STATUSES)
    service = serializers.CharField(source="service_key", read_only=True)
    date = serializers.DateField(read_only=True, help_text="The tenant's local date")
    starts_at = LocalDateTimeField(source="slot.starts_at", read_only=True)
    ends_at = LocalDateTimeField(source="slot.ends_at", read_only=True)
    name = serializers.CharField(read_only=True)
    nik_masked = serializers.CharField(read_only=True, help_text="e.g. 2171********0001")
    phone = serializers.SerializerMethodField(help_text="Masked, e.g. 0812*****890")
    email = serializers.SerializerMethodField(help_text="Masked, e.g. s***@example.com")
    created_at = LocalDateTimeField(read_only=True)
    checked_in_at = LocalDateTimeField(read_only=True, allow_null=True)
    cancelled_at = LocalDateTimeField(read_only=True, allow_null=True)
    ticket = serializers.SerializerMethodField(help_text="The queue ticket once checked in")

    def get_code_display(self, booking: Booking) -> str:
        return rules.format_code(booking.code)

    def get_phone(self, booking: Booking) -> str:
        return mask_phone(booking.phone)

    def get_email(self, booking: Booking) -> str:
        return mask_email(booking.email)

    @extend_schema_field(QueueTicketBriefSerializer(allow_null=True))
    def get_ticket(self, booking: Booking) -> dict[str, Any] | None:
        # Only a booking that checked in has a ticket: spare the others the query.
        if booking.status in (Booking.Status.BOOKED, Booking.Status.CANCELLED):
            return None
        try:
            ticket = booking.ticket
        except Ticket.DoesNotExist:
            return None
        return QueueTicketBriefSerializer(ticket).data


class QueueBookingInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A booking to make (documentation of the request body)."""

    service = serializers.CharField(help_text="Service key, from GET services/")
    slot = serializers.IntegerField(help_text="Slot id, from GET services/{key}/slots/")
    name = serializers.CharField(max_length=100)
    nik = serializers.CharField(help_text="16 digits; stored encrypted, only ever shown masked")
    phone = serializers.CharField(
        required=False, help_text="8–15 digits, optional leading +; phone or e-mail is needed"
    )
    email = serializers.EmailField(required=False)


class QueueRescheduleInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Another slot of the booking's service (documentation)."""

    slot = serializers.IntegerField(help_text="Slot id, from GET services/{key}/slots/")


class QueueCheckInInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Check-in options (documentation)."""

    priority = serializers.BooleanField(
        required=False, default=False, help_text="Elderly, disabled or pregnant citizen"
    )


# --- Tickets and counters (staff) ----------------------------------------------------------


class QueueTicketSerializer(serializers.Serializer[Ticket]):
    """A place in today's queue."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True, help_text="e.g. DKP-007")
    status = serializers.CharField(read_only=True, help_text=TICKET_STATUSES)
    kind = serializers.CharField(read_only=True, help_text=TICKET_KINDS)
    priority = serializers.BooleanField(read_only=True)
    service = serializers.CharField(source="service_key", read_only=True)
    agency_code = serializers.CharField(read_only=True)
    date = serializers.DateField(read_only=True)
    counter = serializers.IntegerField(
        source="counter_id",
        read_only=True,
        allow_null=True,
        help_text="The counter that called it last, or the one it was transferred to",
    )
    counter_name = serializers.CharField(source="counter.name", read_only=True, allow_null=True)
    issued_at = LocalDateTimeField(read_only=True)
    slot_starts_at = LocalDateTimeField(read_only=True, allow_null=True)
    called_at = LocalDateTimeField(read_only=True, allow_null=True)
    started_at = LocalDateTimeField(read_only=True, allow_null=True)
    finished_at = LocalDateTimeField(read_only=True, allow_null=True)
    recall_count = serializers.IntegerField(read_only=True)
    application_ref = serializers.CharField(read_only=True)


class QueueWalkInInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A walk-in ticket to issue for today (documentation)."""

    service = serializers.CharField(help_text="Service key")
    priority = serializers.BooleanField(required=False, default=False)


class QueueCounterSerializer(serializers.Serializer[Counter]):
    """A counter, with what it is handling now and how many tickets it may call."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    agency_code = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True, help_text="Ticket numbers start with it")
    service_keys = serializers.ListField(child=serializers.CharField(), read_only=True)
    officers = serializers.SerializerMethodField(help_text="User ids of its officers")
    active = serializers.BooleanField(read_only=True)
    priority_lane = serializers.BooleanField(read_only=True)
    current_ticket = serializers.SerializerMethodField(
        help_text="The ticket it has called or is serving today, or null"
    )
    waiting = serializers.SerializerMethodField(
        help_text="Tickets it may call now (its services' waiting ones and those sent to it)"
    )

    def get_officers(self, counter: Counter) -> list[int]:
        return sorted(user.pk for user in counter.officers.all())

    @extend_schema_field(QueueTicketSerializer(allow_null=True))
    def get_current_ticket(self, counter: Counter) -> dict[str, Any] | None:
        ticket = self.context.get("current", {}).get(counter.pk)
        return QueueTicketSerializer(ticket).data if ticket else None

    def get_waiting(self, counter: Counter) -> int:
        return self.context.get("waiting", {}).get(counter.pk, 0)


class QueueCounterInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A counter's fields (documentation): all but the last three are needed to create one."""

    name = serializers.CharField(max_length=60, help_text="e.g. Loket 3")
    agency_code = serializers.CharField(help_text="An agency present in the mall")
    prefix = serializers.CharField(help_text="2–4 letters, e.g. DKP")
    service_keys = serializers.ListField(
        child=serializers.CharField(), help_text="Services of that agency it serves"
    )
    officers = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="User ids of staff"
    )
    active = serializers.BooleanField(required=False, default=True)
    priority_lane = serializers.BooleanField(
        required=False, default=False, help_text="Calls priority tickets first"
    )


class QueueCounterActionInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Optionally, the ticket the officer means (documentation)."""

    ticket = serializers.IntegerField(
        required=False,
        help_text="Ticket id; refused with 409 (stale) if it is no longer the counter's current",
    )


class QueueFinishInputSerializer(QueueCounterActionInputSerializer):
    """Finishing the counter's ticket (documentation)."""

    application_ref = serializers.CharField(
        required=False, help_text="The application it produced: 1–40 of A-Z a-z 0-9 / . _ -"
    )


class QueueTransferInputSerializer(QueueCounterActionInputSerializer):
    """Sending the counter's ticket to another counter (documentation)."""

    counter = serializers.IntegerField(help_text="Id of the active counter to send it to")


# --- Settings (admin) ---------------------------------------------------------------------


class QueueSettingSerializer(serializers.Serializer[Any]):
    """How a service is queued (the defaults until the admin saves it)."""

    service_key = serializers.CharField(source="key", read_only=True)
    name_id = serializers.CharField(read_only=True)
    agency_code = serializers.CharField(read_only=True)
    slot_minutes = serializers.IntegerField(source="queue_setting.slot_minutes", read_only=True)
    slot_capacity = serializers.IntegerField(source="queue_setting.slot_capacity", read_only=True)
    daily_quota = serializers.IntegerField(source="queue_setting.daily_quota", read_only=True)
    online_booking = serializers.BooleanField(source="queue_setting.online_booking", read_only=True)
    saved = serializers.SerializerMethodField(help_text="false: the defaults, never saved")
    updated_at = LocalDateTimeField(
        source="queue_setting.updated_at", read_only=True, allow_null=True
    )

    def get_saved(self, service: Any) -> bool:
        return service.queue_setting.pk is not None


class QueueSettingInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A service's queue setting (documentation): PUT needs every field, PATCH any."""

    slot_minutes = serializers.IntegerField(min_value=5, max_value=120)
    slot_capacity = serializers.IntegerField(min_value=1, max_value=500)
    daily_quota = serializers.IntegerField(min_value=1, max_value=100_000)
    online_booking = serializers.BooleanField()


# --- The hall board (public) --------------------------------------------------------------


class QueueBoardCallSerializer(serializers.Serializer[Any]):
    """A counter and the number it has called (or is serving)."""

    counter = serializers.CharField(read_only=True, help_text="The counter's name")
    number = serializers.CharField(read_only=True, allow_null=True, help_text="e.g. DKP-007")
    status = serializers.CharField(
        read_only=True, allow_null=True, help_text="called, serving, done or no_show"
    )
    called_at = LocalDateTimeField(read_only=True, allow_null=True)


class QueueBoardSerializer(serializers.Serializer[Any]):
    """What the hall's display shows: numbers and counter names, nothing personal."""

    date = serializers.DateField(read_only=True, help_text="The tenant's local today")
    counters = QueueBoardCallSerializer(
        many=True,
        read_only=True,
        help_text="Every active counter by name, with the number it handles (or null)",
    )
    recent = QueueBoardCallSerializer(
        many=True, read_only=True, help_text="Today's latest calls (and recalls), newest first"
    )
