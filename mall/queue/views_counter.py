"""The counter console at ``/staff/loket/``: officers call and serve tickets at their counter.

Signed-in tenant staff see the counters they may work (``may_operate``: the counter's
officers, and the tenant admin at every counter). Each action is a POST with a CSRF token
that calls one ``mall.queue.actions`` verb and redirects back to the console (Post/Redirect/
Get), with what happened — or why it was refused — in a message. No JavaScript is needed.
Ticket actions name the ticket the officer saw, and it must be at this counter: an officer of
counter 1 cannot finish counter 2's ticket by posting its id to counter 1.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_tenants.utils import get_public_schema_name

from catalog.local.models import LocalAgency, LocalService
from mall.queue import rules
from mall.queue.actions import (
    call_next,
    finish,
    may_operate,
    recall,
    skip,
    start_serving,
    transfer,
)
from mall.queue.actions._common import field_error, local_date
from mall.queue.models import Counter, Ticket
from mpp.accounts.models import User

View = Callable[..., HttpResponse]
S = Ticket.Status
# How many of today's finished tickets the console lists.
RECENT_TICKETS = 5


def staff_only(view: View) -> View:
    """Signed-in users only (others are sent to sign in); never cached (CSRF, live data)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The URLs are only in the tenant URL conf; this guards against a mis-wired include.
        if connection.schema_name == get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def _forbidden(request: HttpRequest, counter: Counter) -> HttpResponse:
    return render(
        request,
        "queue/counter/forbidden.html",
        {"tenant": request.tenant, "counter": counter},  # type: ignore[attr-defined]
        status=403,
    )


def _counter_for(request: HttpRequest, counter_id: int) -> Counter | HttpResponse:
    """The counter if the user may work it; a 404 when it does not exist here, else 403."""
    counter = Counter.objects.filter(pk=counter_id).first()
    if counter is None:
        raise Http404
    if not may_operate(request.user, counter):
        return _forbidden(request, counter)
    return counter


def _today() -> Any:
    return local_date(timezone.now())


# --- Pages ---------------------------------------------------------------------------------


@require_safe
@staff_only
def counter_list(request: HttpRequest) -> HttpResponse:
    """The counters this user may work, each with the ticket it is handling now."""
    user = request.user
    counters = Counter.objects.order_by("name")
    if getattr(user, "role", "") != User.Role.TENANT_ADMIN:
        counters = counters.filter(officers=user)
    counters = list(counters)
    current = {
        row["counter_id"]: row
        for row in Ticket.objects.filter(
            date=_today(), counter__in=[c.pk for c in counters], status__in=(S.CALLED, S.SERVING)
        ).values("counter_id", "number", "status")
    }
    rows = [(counter, current.get(counter.pk)) for counter in counters]
    return render(
        request,
        "queue/counter/list.html",
        {"tenant": request.tenant, "rows": rows},  # type: ignore[attr-defined]
    )


def waiting_counts(counter: Counter, day: Any) -> dict[str, int]:
    """How many tickets ``counter`` may call on ``day``, split the way officers ask: sent
    here by another counter, priority, checked-in bookings and walk-ins (one query)."""
    view = rules.CounterView(counter.pk, tuple(counter.service_keys), counter.priority_lane)
    waiting = Q(status=S.WAITING)
    # Aggregate names may not shadow the fields the filters use ("priority"): prefix them.
    counts = Ticket.objects.filter(rules.callable_filter(view, day)).aggregate(
        n_total=Count("id"),
        n_transferred=Count("id", filter=Q(status=S.TRANSFERRED)),
        n_priority=Count("id", filter=waiting & Q(priority=True)),
        n_booked=Count("id", filter=waiting & Q(priority=False, kind=Ticket.Kind.ONLINE)),
        n_walk_in=Count("id", filter=waiting & Q(priority=False, kind=Ticket.Kind.WALK_IN)),
    )
    return {name.removeprefix("n_"): value for name, value in counts.items()}


@require_safe
@staff_only
def console(request: HttpRequest, counter_id: int) -> HttpResponse:
    """One counter: its current ticket with what can be done with it, and its queue."""
    counter = _counter_for(request, counter_id)
    if isinstance(counter, HttpResponse):
        return counter
    today = _today()
    current = (
        Ticket.objects.filter(date=today, counter=counter, status__in=(S.CALLED, S.SERVING))
        .order_by("called_at")
        .first()
    )
    recent = list(
        Ticket.objects.filter(date=today, counter=counter, status__in=(S.DONE, S.NO_SHOW))
        .order_by("-finished_at", "-id")
        .only("number", "status", "finished_at", "application_ref")[:RECENT_TICKETS]
    )
    targets = list(
        Counter.objects.filter(active=True).exclude(pk=counter.pk).order_by("name").only("name")
    )
    # The officer needs to know what the citizen came for, and which agency: names, not keys.
    service_name = ""
    if current is not None:
        service_name = (
            LocalService.objects.filter(key=current.service_key)
            .values_list("name_id", flat=True)
            .first()
            or current.service_key
        )
    agency_name = (
        LocalAgency.objects.filter(code=counter.agency_code).values_list("name", flat=True).first()
        or counter.agency_code
    )
    return render(
        request,
        "queue/counter/console.html",
        {
            "tenant": request.tenant,  # type: ignore[attr-defined]
            "counter": counter,
            "current": current,
            "waiting": waiting_counts(counter, today),
            "recent": recent,
            "targets": targets,
            "service_name": service_name,
            "agency_name": agency_name,
        },
    )


# --- Actions -------------------------------------------------------------------------------


def _posted_ticket(request: HttpRequest, counter: Counter) -> Ticket:
    """The ticket named by the form, which must be at this counter."""
    try:
        pk = int(request.POST.get("ticket", ""))
    except ValueError:
        pk = 0
    ticket = Ticket.objects.filter(pk=pk, counter=counter).first() if pk > 0 else None
    if ticket is None:
        raise field_error("ticket", _("Tiket tidak ditemukan di loket ini."), "not_found")
    return ticket


def _call(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = call_next(counter, acting_user=request.user)
    if ticket is None:
        return "info", _("Tidak ada antrean yang menunggu untuk loket ini.")
    return "success", _("%(number)s dipanggil ke %(counter)s.") % {
        "number": ticket.number,
        "counter": counter.name,
    }


def _recall(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = recall(_posted_ticket(request, counter), acting_user=request.user)
    return "success", _("%(number)s dipanggil ulang.") % {"number": ticket.number}


def _skip(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = skip(_posted_ticket(request, counter), acting_user=request.user)
    return "success", _("%(number)s ditandai tidak hadir.") % {"number": ticket.number}


def _start(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = start_serving(_posted_ticket(request, counter), acting_user=request.user)
    return "success", _("Mulai melayani %(number)s.") % {"number": ticket.number}


def _finish(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = finish(
        _posted_ticket(request, counter),
        application_ref=request.POST.get("application_ref", ""),
        acting_user=request.user,
    )
    return "success", _("%(number)s selesai dilayani.") % {"number": ticket.number}


def _transfer(request: HttpRequest, counter: Counter) -> tuple[str, str]:
    ticket = _posted_ticket(request, counter)
    try:
        target = int(request.POST.get("target", ""))
    except ValueError:
        raise field_error("counter", _("Pilih loket tujuan."), "required") from None
    ticket = transfer(ticket, target, acting_user=request.user)
    return "success", _("%(number)s dialihkan ke %(counter)s.") % {
        "number": ticket.number,
        "counter": ticket.counter.name,
    }


ACTIONS: dict[str, Callable[[HttpRequest, Counter], tuple[str, str]]] = {
    "call": _call,
    "recall": _recall,
    "skip": _skip,
    "start": _start,
    "finish": _finish,
    "transfer": _transfer,
}


@require_POST
@staff_only
def act(request: HttpRequest, counter_id: int, action: str) -> HttpResponse:
    """Run one console action (``ACTIONS``) and go back to the console with its outcome."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    counter = _counter_for(request, counter_id)
    if isinstance(counter, HttpResponse):
        return counter
    try:
        level, text = handler(request, counter)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        getattr(messages, level)(request, text)
    return redirect("queue_counter:console", counter_id=counter.pk)
