"""The citizen's queue pages at ``/antrian/``: book a slot online, see, cancel or move it.

No account and no JavaScript: a citizen picks a service, a date and a time, types their
name, NIK and a way to reach them, and gets a booking code (with its QR code) to bring to
the kiosk. Whoever holds a code may see and change its booking — codes are 8 random
characters from a 31-letter alphabet (``rules.new_booking_code``), not guessable — and the
NIK is only ever shown masked.

Every page here carries a CSRF token or personal data, so none is page-cached
(``mall.page_cache.cached_page`` is not applied) and all say ``Cache-Control: private,
no-store``. State changes go through ``mall.queue.actions`` only; these views parse input,
call them and show their per-field errors next to the fields.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Exists
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from catalog.local.models import LocalService
from mall.actions import closures_between, get_mall_profile, local_today
from mall.hours import week_hours
from mall.queue import rules
from mall.queue.actions import (
    available_slots,
    book,
    cancel_booking,
    closed_reason,
    reschedule_booking,
    slot_view,
)
from mall.queue.actions.booking import parse_day
from mall.queue.forms import BookingForm, CodeForm, SlotForm
from mall.queue.models import Booking, Counter, QueueSetting, Ticket
from mall.queue.qr import qr_svg
from mall.templatetags.portal import tr
from mall.views import citizen_page, mall_name, visible_services

View = Callable[..., HttpResponse]

# Columns a service line on these pages needs.
SERVICE_COLUMNS = ("key", "name_id", "name_en", "agency_code", "agency_name")
# Citizens' POSTs (booking, code look-up, cancel, move) per client address and window.
# Generous on purpose: islanders on one mobile carrier often share an address (CGNAT).
DEFAULT_POST_LIMIT = 30
DEFAULT_POST_WINDOW_SECONDS = 600


# --- Helpers ---------------------------------------------------------------------------------


def queue_page(view: View) -> View:
    """A citizen queue page: Indonesian first (``citizen_page``) and never cached."""
    return never_cache(citizen_page(view))


def client_address(request: HttpRequest) -> str:
    """The client's address as the server saw it (a reverse proxy must pass it through)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_post_limit(request: HttpRequest, scope: str = "citizen") -> bool:
    """Count one POST from this client; True once it went over the limit of the window.

    A fixed window in Django's cache (per process with the in-memory cache; the key carries
    the tenant's schema, so tenants never share a budget). ``QUEUE_CITIZEN_POST_LIMIT``
    (0 turns it off) and ``QUEUE_CITIZEN_POST_WINDOW`` (seconds) may tune it.
    """
    limit = int(getattr(settings, "QUEUE_CITIZEN_POST_LIMIT", DEFAULT_POST_LIMIT))
    window = int(getattr(settings, "QUEUE_CITIZEN_POST_WINDOW", DEFAULT_POST_WINDOW_SECONDS))
    if limit <= 0 or window <= 0:
        return False
    key = f"queue-post:{scope}:{client_address(request)}:{int(time.time()) // window}"
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first POST
        cache.set(key, 1, window)
        count = 1
    return count > limit


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render with what every portal page shows: the mall's name, branding and footer."""
    profile = get_mall_profile()
    tenant = request.tenant  # type: ignore[attr-defined]
    base = {
        "tenant": tenant,
        "profile": profile,
        "mall_name": mall_name(profile, tenant),
        "accent_color": profile.accent_color,
    }
    return render(request, template, base | context, status=status)


def too_many(request: HttpRequest) -> HttpResponse:
    """The answer to a client over its POST limit (429, with a Retry-After)."""
    response = render_page(request, "queue/citizen/too_many.html", {}, status=429)
    response["Retry-After"] = str(
        int(getattr(settings, "QUEUE_CITIZEN_POST_WINDOW", DEFAULT_POST_WINDOW_SECONDS))
    )
    return response


def acting(request: HttpRequest) -> Any | None:
    """Who the audit log names: a signed-in staff member helping a citizen, else nobody."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def takes_online_booking(service_key: str) -> bool:
    """Whether a (visible) service can be booked online: an active counter serves it and
    its queue setting, if any, allows online booking. One query."""
    offline = QueueSetting.objects.filter(service_key=service_key, online_booking=False)
    return (
        Counter.objects.filter(active=True, service_keys__contains=[service_key])
        .filter(~Exists(offline))
        .exists()
    )


def bookable_services() -> list[LocalService]:
    """Visible services that take online bookings, by agency then name. Three queries."""
    served = set(
        chain.from_iterable(
            Counter.objects.filter(active=True).values_list("service_keys", flat=True)
        )
    )
    offline = set(
        QueueSetting.objects.filter(online_booking=False).values_list("service_key", flat=True)
    )
    services = list(visible_services().filter(key__in=served - offline).only(*SERVICE_COLUMNS))
    services.sort(key=lambda s: (s.agency_name.casefold(), tr(s, "name").casefold()))
    return services


def service_or_404(service_key: str) -> LocalService:
    """The visible service ``service_key``; 404 when hidden or unknown."""
    service = visible_services().filter(key=service_key).only(*SERVICE_COLUMNS).first()
    if service is None:
        raise Http404
    return service


@dataclass(frozen=True)
class DayChoice:
    """One date a citizen may pick, or why the mall is closed then."""

    date: dt.date
    closed: str  # closed_reason's text, "" when open


def day_choices(first: dt.date, last: dt.date) -> list[DayChoice]:
    """Each date from ``first`` to ``last`` with the reason it is closed, if it is.

    Open and closed days are told apart from the mall's hours and closures (two queries);
    only closed days ask ``closed_reason`` for its words, once per closure and once per
    closed weekday, so the count of queries does not grow with the number of days.
    """
    week = week_hours(get_mall_profile().opening_hours)
    closures = closures_between(first, last)
    by_weekday: dict[int, str] = {}
    days = []
    day = first
    while day <= last:
        reason = ""
        if rules.day_hours(day, week, closures) is None:
            if day in closures:
                reason = closed_reason(day)
            else:
                if day.weekday() not in by_weekday:
                    by_weekday[day.weekday()] = closed_reason(day)
                reason = by_weekday[day.weekday()]
        days.append(DayChoice(day, reason))
        day += dt.timedelta(days=1)
    return days


def slot_step(service_key: str, raw_day: str | None) -> dict[str, Any]:
    """The date list and, once a date is chosen, its slots (or why there are none).

    Keys: ``days``, ``day`` (the chosen date or None), ``slots``, ``closed`` (the reason the
    chosen date is closed), ``date_errors`` (a bad, past or too distant date), and
    ``service_errors`` (the service cannot be booked online after all).
    """
    today = local_today()
    days = day_choices(today, today + dt.timedelta(days=rules.BOOKING_HORIZON_DAYS))
    step: dict[str, Any] = {
        "days": days,
        "day": None,
        "slots": [],
        "closed": "",
        "date_errors": [],
        "service_errors": [],
    }
    if not raw_day:
        return step
    try:
        day = parse_day(raw_day)
        slots = available_slots(service_key, day)
    except ValidationError as exc:
        errors = exc.message_dict
        step["date_errors"] = errors.get("date", [])
        step["service_errors"] = errors.get("service_key", [])
        return step
    step["day"] = day
    step["slots"] = slots
    if not slots:
        known = {choice.date: choice.closed for choice in days}
        step["closed"] = known[day] if day in known else closed_reason(day)
    return step


def booking_or_404(code: str) -> Booking:
    """The booking with ``code`` (as typed: any case, dashes, spaces); 404 when unknown.

    A code that cannot be one (wrong length or letters) is refused without a query.
    """
    normalised = rules.normalise_code(code)
    booking = None
    if rules.is_well_formed_code(normalised):
        booking = Booking.objects.select_related("slot").filter(code=normalised).first()
    if booking is None:
        raise Http404
    return booking


def changeable(booking: Booking) -> bool:
    """Whether the page offers to cancel or move the booking (the action decides for real)."""
    return booking.status == Booking.Status.BOOKED and booking.slot.starts_at > timezone.now()


def booking_context(booking: Booking) -> dict[str, Any]:
    """What the booking pages show of a booking: never its NIK, only the masked form."""
    service = LocalService.objects.filter(key=booking.service_key).only(*SERVICE_COLUMNS).first()
    ticket_number = ""
    if booking.status in (Booking.Status.CHECKED_IN, Booking.Status.DONE):
        ticket_number = (
            Ticket.objects.filter(booking=booking).values_list("number", flat=True).first() or ""
        )
    return {
        "booking": booking,
        "code": rules.format_code(booking.code),
        "service_name": tr(service, "name") if service is not None else booking.service_key,
        "agency_name": service.agency_name if service is not None else "",
        "slot": slot_view(booking.slot),
        "changeable": changeable(booking),
        "ticket_number": ticket_number,
    }


def unknown_booking(request: HttpRequest) -> HttpResponse:
    """The page for a booking code nobody here knows."""
    return render_page(request, "queue/citizen/not_found.html", {"form": CodeForm()}, status=404)


# --- Pages ---------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@queue_page
def start(request: HttpRequest) -> HttpResponse:
    """Pick a service to book, or type a code you already have."""
    services = bookable_services()
    return render_page(
        request,
        "queue/citizen/start.html",
        {"services": services, "code_form": CodeForm(), "horizon": rules.BOOKING_HORIZON_DAYS},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@queue_page
def book_service(request: HttpRequest, service_key: str) -> HttpResponse:
    """Choose a date, then a time, then give name, NIK and contact: ``book`` does the rest."""
    service = service_or_404(service_key)
    if request.method == "POST":
        if over_post_limit(request):
            return too_many(request)
        form = BookingForm(request.POST)
        raw_day = request.POST.get("tanggal") or request.GET.get("tanggal")
        if form.is_valid():
            slot = form.cleaned_data["slot"]
            try:
                booking = book(
                    service.key,
                    slot or None,
                    name=form.cleaned_data["name"],
                    nik=form.cleaned_data["nik"],
                    phone=form.cleaned_data["phone"],
                    email=form.cleaned_data["email"],
                    acting_user=acting(request),
                )
            except ValidationError as exc:
                form.add_action_errors(without_missing_slot(exc, slot))
                if not slot:
                    form.add_error("slot", _("Pilih salah satu jam kedatangan."))
            else:
                messages.success(
                    request,
                    _("Booking berhasil. Simpan kode booking Anda: %(code)s.")
                    % {"code": rules.format_code(booking.code)},
                )
                return redirect("queue_citizen:booking", code=booking.code)
        step = slot_step(service.key, raw_day)
        return render_page(
            request,
            "queue/citizen/book.html",
            {"service": service, "form": form, "offline": False, **step},
            status=400,
        )
    raw_day = request.GET.get("tanggal")
    if not raw_day and not takes_online_booking(service.key):
        return render_page(
            request, "queue/citizen/book.html", {"service": service, "offline": True}
        )
    step = slot_step(service.key, raw_day)
    status = 400 if step["date_errors"] else 200
    return render_page(
        request,
        "queue/citizen/book.html",
        {
            "service": service,
            "form": BookingForm(),
            "offline": bool(step["service_errors"]),
            **step,
        },
        status=status,
    )


def without_missing_slot(exc: ValidationError, slot: str) -> ValidationError:
    """The action's errors, less "slot not found" when no slot was picked at all (the page
    then says "pick a time" instead)."""
    if slot or not hasattr(exc, "error_dict"):
        return exc
    kept = {field: errors for field, errors in exc.error_dict.items() if field != "slot"}
    return ValidationError(kept) if kept else ValidationError({})


@require_http_methods(["GET", "HEAD"])
@queue_page
def booking_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The booking's ticket: code and QR to show at the kiosk, when, where, and its status."""
    try:
        booking = booking_or_404(code)
    except Http404:
        return unknown_booking(request)
    if code != booking.code:  # typed in lower case or with a dash: one address per booking
        return redirect("queue_citizen:booking", code=booking.code)
    context = booking_context(booking)
    # segno writes the SVG itself from the code's 8 letters and digits: nothing user-typed.
    context["qr"] = mark_safe(qr_svg(booking.code))  # noqa: S308
    return render_page(request, "queue/citizen/booking.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@queue_page
def manage(request: HttpRequest) -> HttpResponse:
    """Type a booking code (or scan it) to reach its page."""
    if request.method != "POST":
        return render_page(request, "queue/citizen/manage.html", {"form": CodeForm()})
    if over_post_limit(request):
        return too_many(request)
    form = CodeForm(request.POST)
    code = rules.normalise_code(form.cleaned_data["code"]) if form.is_valid() else ""
    if form.is_valid() and not code:
        form.add_error("code", _("Isi kode booking."))
    if not form.is_valid():
        return render_page(request, "queue/citizen/manage.html", {"form": form}, status=400)
    try:
        booking = booking_or_404(code)
    except Http404:
        form.add_error("code", _("Kode booking tidak ditemukan."))
        return render_page(request, "queue/citizen/manage.html", {"form": form}, status=404)
    return redirect("queue_citizen:booking", code=booking.code)


@require_http_methods(["GET", "HEAD", "POST"])
@queue_page
def booking_cancel(request: HttpRequest, code: str) -> HttpResponse:
    """Ask "cancel this booking?", and cancel it on POST (``cancel_booking``)."""
    try:
        booking = booking_or_404(code)
    except Http404:
        return unknown_booking(request)
    errors: list[str] = []
    if request.method == "POST":
        if over_post_limit(request):
            return too_many(request)
        try:
            cancel_booking(booking.code, acting_user=acting(request))
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request,
                _("Booking %(code)s dibatalkan. Tempatnya kini terbuka untuk warga lain.")
                % {"code": rules.format_code(booking.code)},
            )
            return redirect("queue_citizen:booking", code=booking.code)
    context = booking_context(booking) | {"errors": errors}
    return render_page(request, "queue/citizen/cancel.html", context, status=400 if errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@queue_page
def booking_reschedule(request: HttpRequest, code: str) -> HttpResponse:
    """Move a booking to another date or time (same code): ``reschedule_booking``."""
    try:
        booking = booking_or_404(code)
    except Http404:
        return unknown_booking(request)
    form = SlotForm()
    status = 200
    raw_day = request.GET.get("tanggal")
    if request.method == "POST":
        if over_post_limit(request):
            return too_many(request)
        form = SlotForm(request.POST)
        raw_day = request.POST.get("tanggal") or raw_day
        slot = form.data.get("slot", "")
        if form.is_valid():
            try:
                reschedule_booking(booking.code, slot or None, acting_user=acting(request))
            except ValidationError as exc:
                form.add_action_errors(without_missing_slot(exc, slot))
                if not slot:
                    form.add_error("slot", _("Pilih salah satu jam kedatangan."))
            else:
                messages.success(request, _("Jadwal booking diubah; kodenya tetap sama."))
                return redirect("queue_citizen:booking", code=booking.code)
        status = 400
    context = booking_context(booking) | {"form": form}
    if context["changeable"]:
        step = slot_step(booking.service_key, raw_day)
        context |= step
        if step["date_errors"]:
            status = 400
    return render_page(request, "queue/citizen/reschedule.html", context, status=status)
