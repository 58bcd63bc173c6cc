"""The kiosk at ``/antrian/kiosk/``: walk-in tickets and check-in of online bookings.

Run by an officer at the entrance, or a self-service device a staff member signed in once:
either way a signed-in tenant staff user (officer or tenant admin) is required, and the
actions (``issue_walk_in``, ``check_in``) are audited under that user. Large buttons, no
JavaScript: each service is a submit button of one form, and a scanner that types the code
it reads works like a keyboard.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from itertools import chain
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from catalog.local.models import LocalService
from mall.queue import rules
from mall.queue.actions import check_in, issue_walk_in
from mall.queue.forms import KioskCheckInForm, KioskWalkInForm
from mall.queue.models import Counter, Ticket
from mall.queue.views_citizen import SERVICE_COLUMNS, render_page
from mall.templatetags.portal import tr
from mall.views import citizen_page, visible_services
from mpp.accounts.models import User

View = Callable[..., HttpResponse]
KIOSK_ROLES = (User.Role.TENANT_ADMIN, User.Role.OFFICER)


def is_kiosk_user(user: Any) -> bool:
    """Tenant staff may run the kiosk: officers and the tenant admin (or a superuser)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or getattr(user, "role", "") in KIOSK_ROLES)
    )


def kiosk_page(view: View) -> View:
    """A kiosk page: staff only (anonymous → sign-in, others → 403), never cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_kiosk_user(user):
            return render_page(request, "queue/kiosk/forbidden.html", {}, status=403)
        return view(request, *args, **kwargs)

    return never_cache(citizen_page(wrapped))


def kiosk_services() -> list[LocalService]:
    """Visible services some active counter serves (walk-ins need no online booking)."""
    served = set(
        chain.from_iterable(
            Counter.objects.filter(active=True).values_list("service_keys", flat=True)
        )
    )
    services = list(visible_services().filter(key__in=served).only(*SERVICE_COLUMNS))
    services.sort(key=lambda s: (s.agency_name.casefold(), tr(s, "name").casefold()))
    return services


def kiosk_screen(
    request: HttpRequest,
    *,
    walk_in: KioskWalkInForm | None = None,
    checkin: KioskCheckInForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The kiosk's one screen: service buttons, and the check-in box."""
    return render_page(
        request,
        "queue/kiosk/kiosk.html",
        {
            "services": kiosk_services(),
            "walk_in": walk_in or KioskWalkInForm(),
            "checkin": checkin or KioskCheckInForm(),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
@kiosk_page
def kiosk(request: HttpRequest) -> HttpResponse:
    """Take a number, or check in a booking."""
    return kiosk_screen(request)


@require_http_methods(["POST"])
@kiosk_page
def walk_in(request: HttpRequest) -> HttpResponse:
    """Issue a walk-in ticket for the service whose button was pressed."""
    form = KioskWalkInForm(request.POST)
    if form.is_valid():
        try:
            ticket = issue_walk_in(
                form.cleaned_data["service_key"],
                priority=form.is_priority(),
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            return redirect("queue_citizen:kiosk-ticket", pk=ticket.pk)
    return kiosk_screen(request, walk_in=form, status=400)


@require_http_methods(["POST"])
@kiosk_page
def kiosk_check_in(request: HttpRequest) -> HttpResponse:
    """Turn a booking code (typed or scanned) into today's ticket."""
    form = KioskCheckInForm(request.POST)
    if form.is_valid() and not rules.normalise_code(form.cleaned_data["code"]):
        form.add_error("code", _("Isi kode booking."))
    if form.is_valid():
        try:
            ticket = check_in(
                form.cleaned_data["code"], priority=form.is_priority(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            return redirect("queue_citizen:kiosk-ticket", pk=ticket.pk)
    return kiosk_screen(request, checkin=form, status=400)


@require_http_methods(["GET", "HEAD"])
@kiosk_page
def kiosk_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable ticket just issued: number, service, time, and how many wait ahead."""
    ticket = Ticket.objects.select_related("booking").filter(pk=pk).first()
    if ticket is None:
        raise Http404
    service = LocalService.objects.filter(key=ticket.service_key).only(*SERVICE_COLUMNS).first()
    # Waiting for the same service and issued earlier: an estimate (priority and booked
    # lanes may still go first), good enough for "about N people ahead of you".
    ahead = Ticket.objects.filter(
        Q(issued_at__lt=ticket.issued_at) | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk),
        date=ticket.date,
        service_key=ticket.service_key,
        status=Ticket.Status.WAITING,
    ).count()
    return render_page(
        request,
        "queue/kiosk/ticket.html",
        {
            "ticket": ticket,
            "service_name": tr(service, "name") if service is not None else ticket.service_key,
            "agency_name": service.agency_name if service is not None else "",
            "ahead": ahead,
            "booking_code": rules.format_code(ticket.booking.code) if ticket.booking else "",
        },
    )
