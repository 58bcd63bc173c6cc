"""Booking messages: the confirmation, and reminders the day before and an hour before.

``book`` and ``reschedule_booking`` call ``schedule_booking_messages`` inside their
transaction; once it commits, one background task per message is queued, the reminders with
``run_after`` set to when they are due (the database task backend holds them until then).
A task re-reads the booking when it runs and sends nothing for a booking that was cancelled,
checked in or moved to another slot meanwhile, nor a message it already sent.

E-mail goes through Django's mail (``EMAIL_BACKEND``); texts to a phone go through the
``ReminderChannel`` named by ``QUEUE_REMINDER_CHANNEL`` (SMS or WhatsApp gateways plug in
there; the default only logs).
"""

from __future__ import annotations

import abc
import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from mall.hours import WEEKDAYS
from mall.queue import rules
from mall.queue.models import Booking
from mall.queue.qr import qr_png
from mpp.tasks import tenant_task

logger = logging.getLogger(__name__)

CONFIRMATION = "confirmation"
KINDS = (CONFIRMATION, *rules.REMINDER_OFFSETS)


class ReminderChannel(abc.ABC):
    """Where short texts to a citizen's phone go (an SMS or WhatsApp gateway)."""

    @abc.abstractmethod
    def send(self, *, phone: str, message: str, booking: Booking) -> None:
        """Deliver ``message`` to ``phone``; raise to report a failure (the task fails)."""


class LoggingReminderChannel(ReminderChannel):
    """Writes the text to the log instead of sending it (the default, and for development)."""

    def send(self, *, phone: str, message: str, booking: Booking) -> None:
        """Log the message with the phone number partly hidden."""
        hidden = phone[:4] + "*" * max(0, len(phone) - 7) + phone[-3:]
        logger.info("queue reminder to %s (booking %s): %s", hidden, booking.code, message)


def reminder_channel() -> ReminderChannel:
    """The channel ``QUEUE_REMINDER_CHANNEL`` names."""
    path = settings.QUEUE_REMINDER_CHANNEL
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"QUEUE_REMINDER_CHANNEL={path!r} cannot be imported") from exc
    if not (isinstance(cls, type) and issubclass(cls, ReminderChannel)):
        raise ImproperlyConfigured(
            f"QUEUE_REMINDER_CHANNEL={path!r} is not a mall.queue.reminders.ReminderChannel"
        )
    return cls()


def _mall_name() -> str:
    from mall.actions import get_mall_profile

    tenant = getattr(connection, "tenant", None)
    return get_mall_profile().display_name or f"MPP {getattr(tenant, 'name', '')}".strip()


def _service_name(key: str) -> str:
    from catalog.local.models import LocalService

    return LocalService.objects.filter(key=key).values_list("name_id", flat=True).first() or key


def message_for(booking: Booking, kind: str) -> tuple[str, str]:
    """Subject and text of message ``kind`` about ``booking``, in the tenant's local time."""
    from mall.queue.actions._common import slot_view

    view = slot_view(booking.slot)
    when = "{}, {} pukul {}–{}".format(
        WEEKDAYS[view.date.weekday()],
        date_format(view.date, "j F Y"),
        view.starts_at.strftime("%H:%M"),
        view.ends_at.strftime("%H:%M"),
    )
    code = rules.format_code(booking.code)
    mall, service = _mall_name(), _service_name(booking.service_key)
    host = getattr(getattr(connection, "tenant", None), "host", "")
    if kind == CONFIRMATION:
        subject = _("Booking antrean %(code)s") % {"code": code}
        lead = _("Booking Anda tercatat.")
    elif kind == "day_before":
        subject = _("Pengingat: antrean Anda besok (%(code)s)") % {"code": code}
        lead = _("Pengingat: antrean Anda besok.")
    else:
        subject = _("Pengingat: antrean Anda satu jam lagi (%(code)s)") % {"code": code}
        lead = _("Pengingat: antrean Anda satu jam lagi.")
    body = "\n".join(
        [
            lead,
            _("Layanan: %(service)s") % {"service": service},
            _("Tempat: %(mall)s") % {"mall": mall},
            _("Waktu: %(when)s") % {"when": when},
            _("Kode booking: %(code)s") % {"code": code},
            _("Tunjukkan atau ketik kode ini di kios antrean saat tiba untuk mengambil nomor."),
            _("Batalkan atau ubah jadwal dengan kode ini di %(host)s.") % {"host": host},
        ]
    )
    return subject, body


def deliver(booking: Booking, kind: str) -> list[str]:
    """Send message ``kind`` by e-mail and to the phone channel, as the booking has them."""
    subject, body = message_for(booking, kind)
    used = []
    if booking.email:
        mail = EmailMessage(subject, body, to=[booking.email])
        if kind == CONFIRMATION:
            mail.attach(f"booking-{booking.code}.png", qr_png(booking.code), "image/png")
        mail.send()
        used.append("email")
    if booking.phone:
        reminder_channel().send(phone=booking.phone, message=body, booking=booking)
        used.append("phone")
    return used


@tenant_task()
def send_booking_message_task(schema_name: str, booking_id: int, slot_id: int, kind: str) -> str:
    """Send message ``kind`` of a booking if it still applies; say what happened."""
    if kind not in KINDS:
        raise ValueError(f"unknown booking message {kind!r}")
    with transaction.atomic():
        booking = Booking.objects.select_for_update().filter(pk=booking_id).first()
        if booking is None:
            return "skipped: no such booking"
        if booking.status != Booking.Status.BOOKED:
            return f"skipped: booking is {booking.status}"
        if booking.slot_id != slot_id:
            return "skipped: booking moved to another slot"
        mark = f"{kind}@{slot_id}"
        if mark in booking.reminders_sent:
            return "skipped: already sent"
        if kind != CONFIRMATION and booking.slot.starts_at <= timezone.now():
            return "skipped: slot has started"
        used = deliver(booking, kind)
        booking.reminders_sent = [*booking.reminders_sent, mark]
        booking.save(update_fields=["reminders_sent"])
    return "sent: " + (", ".join(used) or "no contact")


def schedule_booking_messages(booking: Booking, *, now: dt.datetime) -> None:
    """Queue the confirmation and the reminders still ahead, once the transaction commits."""
    schema, booking_id, slot_id = connection.schema_name, booking.pk, booking.slot_id
    due = rules.reminder_times(booking.slot.starts_at, now)

    def enqueue() -> None:
        task = send_booking_message_task
        task.enqueue(schema, booking_id, slot_id, CONFIRMATION)
        if not due:
            return
        if not task.get_backend().supports_defer:
            # The immediate backend cannot hold a task until later; sending a reminder now
            # would be wrong, so it is left out (the database backend, the default, defers).
            logger.warning(
                "task backend cannot defer tasks: reminders of booking %s not scheduled",
                booking_id,
            )
            return
        for kind, when in due.items():
            task.using(run_after=when).enqueue(schema, booking_id, slot_id, kind)

    # robust: the booking has committed; a queue failure must not turn it into an error.
    transaction.on_commit(enqueue, robust=True)
