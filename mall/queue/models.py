"""Queue tables (tenant schema): counters, settings, slots, quotas, bookings and tickets.

Capacity and numbering are the database's job: ``Slot.booked`` and ``DayQuota.used`` are
raised only by conditional UPDATEs and bounded by CHECK constraints, one active booking per
NIK, service and day is a partial unique index, and ticket numbers come from
``TicketSequence`` rows taken in the same transaction as the ticket. Every change goes
through ``mall.queue.actions``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

PREFIX_PATTERN = r"^[A-Z]{2,4}$"


class Counter(models.Model):
    """A counter (loket) of an agency present in the mall, serving some of its services."""

    name = models.CharField(_("nama loket"), max_length=60, unique=True)
    agency_code = models.SlugField(_("instansi"), max_length=50)
    # Ticket numbers start with it ("DKP-007"); counters of one agency usually share one.
    prefix = models.CharField(_("awalan nomor"), max_length=4)
    service_keys = ArrayField(models.SlugField(max_length=80), default=list, blank=True)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="queue_counters",
        through="CounterOfficer",
    )
    active = models.BooleanField(_("aktif"), default=True)
    # Serves elderly, disabled and pregnant citizens' tickets before everyone else's.
    priority_lane = models.BooleanField(_("jalur prioritas"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prefix__regex=PREFIX_PATTERN), name="queue_counter_prefix"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CounterOfficer(models.Model):
    """An officer who works a counter.

    The user model lives in both planes (platform staff in public, tenant staff here), but
    this table only in tenant schemas. With Django's default CASCADE, deleting a platform
    user would make Django look for this table in public and fail; DO_NOTHING keeps the
    deletion collector away, and without a database constraint a removed tenant user simply
    stops matching (staff are deactivated, not deleted, anyway).
    """

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["counter", "user"], name="counter_officer_once")
        ]

    def __str__(self) -> str:
        return f"{self.counter} · user {self.user_id}"


class QueueSetting(models.Model):
    """How one service is queued: slot length and capacity, daily quota, online booking."""

    service_key = models.SlugField(max_length=80, unique=True)
    slot_minutes = models.PositiveSmallIntegerField(_("lama slot (menit)"), default=15)
    slot_capacity = models.PositiveSmallIntegerField(_("kapasitas per slot"), default=4)
    daily_quota = models.PositiveIntegerField(_("kuota harian"), default=100)
    online_booking = models.BooleanField(_("bisa dipesan online"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=120),
                name="queue_setting_slot_minutes",
            ),
            models.CheckConstraint(
                condition=Q(slot_capacity__gte=1, slot_capacity__lte=500),
                name="queue_setting_slot_capacity",
            ),
            models.CheckConstraint(
                condition=Q(daily_quota__gte=1, daily_quota__lte=100_000),
                name="queue_setting_daily_quota",
            ),
        ]

    def __str__(self) -> str:
        return self.service_key


class Slot(models.Model):
    """A bookable time window of one service on one local date, with its capacity."""

    service_key = models.SlugField(max_length=80)
    date = models.DateField()  # the tenant's local date
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["service_key", "starts_at"], name="queue_slot_unique"),
            models.CheckConstraint(
                condition=Q(booked__gte=0, booked__lte=F("capacity")), name="queue_slot_capacity"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="queue_slot_span"),
        ]
        indexes = [models.Index(fields=["service_key", "date"], name="queue_slot_day")]

    def __str__(self) -> str:
        return f"{self.service_key} {self.starts_at:%Y-%m-%d %H:%M}"


class DayQuota(models.Model):
    """Bookings plus walk-in tickets of one service on one local date, against its quota."""

    service_key = models.SlugField(max_length=80)
    date = models.DateField()
    quota = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_key", "date"], name="queue_dayquota_unique"),
            models.CheckConstraint(
                condition=Q(used__gte=0, used__lte=F("quota")), name="queue_dayquota_used"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_key} {self.date}: {self.used}/{self.quota}"


class Booking(models.Model):
    """A citizen's online booking of a slot; its code is what they bring (and type or scan)."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Terpesan")
        CHECKED_IN = "checked_in", _("Sudah check-in")
        CANCELLED = "cancelled", _("Dibatalkan")
        DONE = "done", _("Selesai")
        NO_SHOW = "no_show", _("Tidak hadir")

    ACTIVE = (Status.BOOKED, Status.CHECKED_IN)

    code = models.CharField(_("kode booking"), max_length=8)
    service_key = models.SlugField(max_length=80)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    date = models.DateField()
    name = models.CharField(_("nama"), max_length=100)
    # The NIK itself is never stored in clear: see mall/nik.py.
    nik_hash = models.CharField(max_length=64)
    nik_encrypted = models.TextField()
    nik_masked = models.CharField(_("NIK"), max_length=16)
    phone = models.CharField(_("telepon"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Reminders already sent, as "<kind>@<slot id>", so a repeated task never sends twice.
    reminders_sent = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="queue_booking_code_unique"),
            # One active booking per NIK, service and day — the database says no to a second.
            # Written with OR, not IN: PostgreSQL prints an IN list back in a form that
            # re-parses differently, and tenant schemas are cloned from that printed form.
            models.UniqueConstraint(
                fields=["nik_hash", "service_key", "date"],
                condition=Q(status="booked") | Q(status="checked_in"),
                name="queue_booking_one_active",
            ),
        ]
        indexes = [models.Index(fields=["nik_hash"], name="queue_booking_nik")]

    def __str__(self) -> str:
        return self.code


class TicketSequence(models.Model):
    """The last ticket number handed out for a prefix on a local date (gap-free numbering)."""

    prefix = models.CharField(max_length=4)
    date = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "date"], name="queue_ticketsequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.date}: {self.last_number}"


class Ticket(models.Model):
    """A place in today's queue: a walk-in, or a booking that checked in."""

    class Kind(models.TextChoices):
        ONLINE = "online", _("Booking online")
        WALK_IN = "walk_in", _("Datang langsung")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Menunggu")
        CALLED = "called", _("Dipanggil")
        SERVING = "serving", _("Dilayani")
        DONE = "done", _("Selesai")
        NO_SHOW = "no_show", _("Tidak hadir")
        # Waiting again, for the counter it was transferred to (``counter``).
        TRANSFERRED = "transferred", _("Dialihkan")

    number = models.CharField(_("nomor"), max_length=12)  # "DKP-007"
    prefix = models.CharField(max_length=4)
    seq = models.PositiveIntegerField()
    date = models.DateField()
    service_key = models.SlugField(max_length=80)
    agency_code = models.SlugField(max_length=50)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="ticket"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    priority = models.BooleanField(_("prioritas"), default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    # The counter that called it last, or the one it was transferred to.
    counter = models.ForeignKey(
        Counter, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    issued_at = models.DateTimeField()
    first_called_at = models.DateTimeField(null=True, blank=True)  # waiting time ends here
    called_at = models.DateTimeField(null=True, blank=True)  # the latest call (or recall)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    transferred_at = models.DateTimeField(null=True, blank=True)
    recall_count = models.PositiveSmallIntegerField(default=0)
    application_ref = models.CharField(_("nomor permohonan"), max_length=40, blank=True)
    slot_starts_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "prefix", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["prefix", "date", "seq"], name="queue_ticket_number"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="queue_ticket_seq"),
        ]
        indexes = [
            models.Index(fields=["date", "status", "service_key"], name="queue_ticket_waiting"),
            models.Index(fields=["date", "counter", "status"], name="queue_ticket_counter"),
        ]

    def __str__(self) -> str:
        return self.number
