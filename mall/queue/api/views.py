"""Queue API views on a tenant's host: parse, check permission, call the queue action, answer.

Every change goes through ``mall.queue.actions`` (``book``, ``cancel_booking``,
``reschedule_booking``, ``issue_walk_in``, ``check_in``, ``call_next``, ``recall``, ``skip``,
``start_serving``, ``finish``, ``transfer``, ``save_counter``, ``save_queue_setting``) — the
same functions as the citizen pages, the kiosk, the counter screens and the CLI — so
validation, capacity, audit rows and board notifications are never duplicated here. Citizens
act anonymously (the actions audit them with no actor); staff act as themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.local.models import LocalService
from mall.queue import rules
from mall.queue.actions import (
    available_slots,
    book,
    call_next,
    cancel_booking,
    check_in,
    closed_reason,
    finish,
    issue_walk_in,
    may_operate,
    recall,
    reschedule_booking,
    save_counter,
    save_queue_setting,
    skip,
    start_serving,
    transfer,
)
from mall.queue.actions._common import local_date, setting_for
from mall.queue.actions.booking import parse_day
from mall.queue.api import serializers as s
from mall.queue.api.base import (
    Field,
    QueueAPIMixin,
    QueueConflict,
    acting_user,
    call,
    error_body,
    parse_body,
)
from mall.queue.api.permissions import QueueAdmin, QueuePublic, QueueStaff
from mall.queue.models import Booking, Counter, QueueSetting, Ticket

# The actions name the service ``service_key``; request bodies call it ``service``.
SERVICE = {"service_key": "service"}
# A service in the URL that cannot be booked online is, for this API, not there.
UNBOOKABLE = frozenset({"not_found", "offline", "no_counter"})
SERVICE_FIELDS = ("key", "name_id", "name_en", "agency_code", "agency_name")

BOOKING_BODY = {
    "service": Field("str", required=True),
    "slot": Field("int", required=True),
    "name": Field("str"),
    "nik": Field("str"),
    "phone": Field("str"),
    "email": Field("str"),
}
COUNTER_BODY = {
    "name": Field("str", required=True),
    "agency_code": Field("str", required=True),
    "prefix": Field("str", required=True),
    "service_keys": Field("str_list", required=True),
    "officers": Field("int_list"),
    "active": Field("bool"),
    "priority_lane": Field("bool"),
}
COUNTER_DEFAULTS = {"officers": [], "active": True, "priority_lane": False}
SETTING_BODY = {
    "slot_minutes": Field("int", required=True),
    "slot_capacity": Field("int", required=True),
    "daily_quota": Field("int", required=True),
    "online_booking": Field("bool", required=True),
}
TICKET_GUARD = {"ticket": Field("int")}

CURRENT = (Ticket.Status.CALLED, Ticket.Status.SERVING)
BOARD_RECENT = 10


def _optional(fields: dict[str, Field]) -> dict[str, Field]:
    """The same keys and types, none required (PATCH)."""
    return {name: Field(spec.kind) for name, spec in fields.items()}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI descriptions of the error answers an operation may give."""
    described = {
        400: "Bad input: `{field: [messages], codes: {field: [codes]}}`",
        401: "No valid credentials of this tenant",
        403: "The caller's role may not do this (or does not work this counter)",
        404: "Unknown on this host",
        409: "Refused by the current state (full, quota, already_booked, busy, state…); "
        "same shape as 400",
    }
    return {
        c: OpenApiResponse(response=OpenApiTypes.OBJECT, description=described[c]) for c in codes
    }


def _today() -> dt.date:
    return local_date(timezone.now())


# --- Services and slots (public) ----------------------------------------------------------


def bookable_services() -> QuerySet[LocalService]:
    """Enabled services an active counter serves and whose setting allows online booking."""
    served: set[str] = set()
    for keys in Counter.objects.filter(active=True).values_list("service_keys", flat=True):
        served.update(keys)
    offline = QueueSetting.objects.filter(service_key=OuterRef("key"), online_booking=False)
    return (
        LocalService.objects.filter(key__in=served, enabled=True, retired=False)
        .exclude(Exists(offline))
        .only(*SERVICE_FIELDS)
        .order_by("agency_name", "name_id", "key")
    )


def with_settings(services: list[LocalService]) -> list[LocalService]:
    """Each service with ``queue_setting``: the saved one, or the defaults (one query)."""
    saved = {
        setting.service_key: setting
        for setting in QueueSetting.objects.filter(service_key__in=[x.key for x in services])
    }
    for service in services:
        service.queue_setting = saved.get(service.key) or QueueSetting(  # type: ignore[attr-defined]
            service_key=service.key
        )
    return services


class QueueServiceViewSet(QueueAPIMixin, viewsets.GenericViewSet):
    """Services citizens can book online, and their free slots."""

    queryset = LocalService.objects.all()
    serializer_class = s.QueueServiceSerializer
    permission_classes = [QueuePublic]
    lookup_field = "key"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses=s.QueueServiceSerializer(many=True))
    def list(self, request: Request) -> Response:
        """Services taking online bookings, by agency and name; paginated."""
        page = self.paginate_queryset(bookable_services())
        return self.get_paginated_response(self.get_serializer(with_settings(page), many=True).data)

    @extend_schema(responses={200: s.QueueServiceSerializer, **_errors(404)})
    def retrieve(self, request: Request, key: str) -> Response:
        """One service taking online bookings."""
        service = bookable_services().filter(key=key).first()
        if service is None:
            raise NotFound(
                "Layanan ini tidak bisa dipesan online di sini. / "
                "No service taking online bookings under this key."
            )
        return Response(self.get_serializer(with_settings([service])[0]).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                OpenApiParameter.QUERY,
                required=True,
                description="YYYY-MM-DD, the tenant's local date: today up to 30 days ahead",
            )
        ],
        responses={200: s.QueueDaySerializer, **_errors(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def slots(self, request: Request, key: str) -> Response:
        """The day's slots not yet started, with the places left (full ones too).

        A day the mall is closed answers 200 with the reason in ``closed`` and no slots: it
        is a fact about that day, not an error in the request.
        """
        date = request.query_params.get("date", "")
        views = call(
            available_slots, key, date, rename=SERVICE, lookup="service", missing=UNBOOKABLE
        )
        day = parse_day(date)  # valid: available_slots accepted it
        # Only a day without slots can be a closed one: spare the others the lookup.
        closed = None if views else closed_reason(day) or None
        body = {"service": key, "date": day, "closed": closed, "slots": views}
        return Response(s.QueueDaySerializer(body).data)


# --- Bookings (public by code; check-in by staff) ------------------------------------------


def _booking(code: str) -> Booking:
    """The booking with ``code`` (as typed: any case, with or without the dash), or 404."""
    normalised = rules.normalise_code(code)
    booking = None
    if rules.is_well_formed_code(normalised):
        booking = Booking.objects.select_related("slot", "ticket").filter(code=normalised).first()
    if booking is None:
        raise NotFound(_("Kode booking tidak ditemukan."))
    return booking


CODE_PARAMETER = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The booking code, e.g. ABCD2345 or abcd-2345",
)


class QueueBookingViewSet(QueueAPIMixin, viewsets.GenericViewSet):
    """Online bookings: anyone holding the code may read, cancel or move one."""

    queryset = Booking.objects.all()
    serializer_class = s.QueueBookingSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"

    def get_permissions(self) -> list[BasePermission]:
        return [QueueStaff()] if self.action == "check_in" else [QueuePublic()]

    @extend_schema(
        request=s.QueueBookingInputSerializer,
        responses={201: s.QueueBookingSerializer, **_errors(400, 409)},
    )
    def create(self, request: Request) -> Response:
        """Book a place in a slot; answers with the code to bring (and the NIK masked)."""
        body = parse_body(request, BOOKING_BODY)
        booking = call(
            book,
            body["service"],
            body["slot"],
            name=body.get("name", ""),
            nik=body.get("nik", ""),
            phone=body.get("phone", ""),
            email=body.get("email", ""),
            acting_user=acting_user(request),
            rename=SERVICE,
        )
        location = reverse("queue-booking-detail", args=[booking.code])
        return Response(
            self.get_serializer(booking).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )

    @extend_schema(
        parameters=[CODE_PARAMETER], responses={200: s.QueueBookingSerializer, **_errors(404)}
    )
    def retrieve(self, request: Request, code: str) -> Response:
        """A booking by its code, with its ticket once checked in."""
        return Response(self.get_serializer(_booking(code)).data)

    @extend_schema(
        parameters=[CODE_PARAMETER],
        request=None,
        responses={200: s.QueueBookingSerializer, **_errors(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, code: str) -> Response:
        """Cancel a booking whose slot has not started; its place goes back."""
        parse_body(request, {})
        booking = call(cancel_booking, code, acting_user=acting_user(request), lookup="code")
        return Response(self.get_serializer(booking).data)

    @extend_schema(
        parameters=[CODE_PARAMETER],
        request=s.QueueRescheduleInputSerializer,
        responses={200: s.QueueBookingSerializer, **_errors(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, code: str) -> Response:
        """Move a booking (same code) to another slot of its service."""
        body = parse_body(request, {"slot": Field("int", required=True)})
        booking = call(
            reschedule_booking, code, body["slot"], acting_user=acting_user(request), lookup="code"
        )
        return Response(self.get_serializer(booking).data)

    @extend_schema(
        parameters=[CODE_PARAMETER],
        request=s.QueueCheckInInputSerializer,
        responses={201: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="check-in", url_name="check-in")
    def check_in(self, request: Request, code: str) -> Response:
        """Staff: turn a booking into a ticket on its day (the citizen has arrived)."""
        body = parse_body(request, {"priority": Field("bool")})
        ticket = call(
            check_in,
            code,
            priority=body.get("priority", False),
            acting_user=request.user,
            lookup="code",
        )
        return Response(s.QueueTicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


# --- Tickets (staff) ----------------------------------------------------------------------


class QueueTicketViewSet(QueueAPIMixin, viewsets.GenericViewSet):
    """Walk-in tickets for today, and any ticket by id."""

    queryset = Ticket.objects.select_related("counter")
    serializer_class = s.QueueTicketSerializer
    permission_classes = [QueueStaff]
    lookup_value_regex = r"[0-9]+"

    @extend_schema(
        request=s.QueueWalkInInputSerializer,
        responses={201: s.QueueTicketSerializer, **_errors(400, 401, 403, 409)},
    )
    def create(self, request: Request) -> Response:
        """Issue a walk-in ticket for today, counted against the service's daily quota."""
        body = parse_body(
            request, {"service": Field("str", required=True), "priority": Field("bool")}
        )
        ticket = call(
            issue_walk_in,
            body["service"],
            priority=body.get("priority", False),
            acting_user=request.user,
            rename=SERVICE,
        )
        return Response(self.get_serializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.QueueTicketSerializer, **_errors(401, 403, 404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One ticket."""
        return Response(self.get_serializer(self.get_object()).data)


# --- Counters (staff work them; the tenant admin sets them up) ----------------------------


def counter_context(counters: list[Counter]) -> dict[str, Any]:
    """Each counter's current ticket and how many it may call, in two queries for all."""
    if not counters:
        return {"current": {}, "waiting": {}}
    today = _today()
    current = {
        ticket.counter_id: ticket
        for ticket in Ticket.objects.filter(
            date=today, counter__in=counters, status__in=CURRENT
        ).select_related("counter")
    }
    # One COUNT per counter, all in one query, each with the call order's own filter.
    counts = Ticket.objects.aggregate(
        **{
            f"c{counter.pk}": Count(
                "pk",
                filter=rules.callable_filter(
                    rules.CounterView(
                        counter.pk, tuple(counter.service_keys), counter.priority_lane
                    ),
                    today,
                ),
            )
            for counter in counters
        }
    )
    waiting = {counter.pk: counts[f"c{counter.pk}"] for counter in counters}
    return {"current": current, "waiting": waiting}


def counter_fields(counter: Counter) -> dict[str, Any]:
    """A counter's current values as ``save_counter`` takes them."""
    return {
        "name": counter.name,
        "agency_code": counter.agency_code,
        "prefix": counter.prefix,
        "service_keys": list(counter.service_keys),
        "officers": sorted(user.pk for user in counter.officers.all()),
        "active": counter.active,
        "priority_lane": counter.priority_lane,
    }


def _conflict(field: str, message: str, code: str) -> QueueConflict:
    error = QueueConflict()
    error.detail = error_body({field: [(message, code)]})
    return error


ADMIN_ACTIONS = frozenset({"create", "update", "partial_update", "destroy"})


class QueueCounterViewSet(QueueAPIMixin, viewsets.GenericViewSet):
    """Counters: staff list them and work the ones they may; the admin sets them up.

    A counter is never deleted (its tickets refer to it): DELETE deactivates it.
    """

    queryset = Counter.objects.order_by("name")
    serializer_class = s.QueueCounterSerializer
    lookup_value_regex = r"[0-9]+"

    def get_permissions(self) -> list[BasePermission]:
        return [QueueAdmin()] if self.action in ADMIN_ACTIONS else [QueueStaff()]

    def get_queryset(self) -> QuerySet[Counter]:
        return Counter.objects.order_by("name").prefetch_related("officers")

    def _answer(self, counter: Counter, code: int = status.HTTP_200_OK) -> Response:
        counter = self.get_queryset().get(pk=counter.pk)  # officers as saved
        context = counter_context([counter])
        return Response(s.QueueCounterSerializer(counter, context=context).data, status=code)

    @extend_schema(responses=s.QueueCounterSerializer(many=True))
    def list(self, request: Request) -> Response:
        """Every counter by name (inactive ones too), with its current ticket; paginated."""
        page = self.paginate_queryset(self.get_queryset())
        context = counter_context(page)
        return self.get_paginated_response(
            s.QueueCounterSerializer(page, many=True, context=context).data
        )

    @extend_schema(responses={200: s.QueueCounterSerializer, **_errors(401, 403, 404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One counter."""
        return self._answer(self.get_object())

    @extend_schema(
        request=s.QueueCounterInputSerializer,
        responses={201: s.QueueCounterSerializer, **_errors(400, 401, 403)},
    )
    def create(self, request: Request) -> Response:
        """Open a counter (officers default to none, active, no priority lane)."""
        body = COUNTER_DEFAULTS | parse_body(request, COUNTER_BODY)
        counter = call(save_counter, None, **body, acting_user=request.user)
        return self._answer(counter, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.QueueCounterInputSerializer,
        responses={200: s.QueueCounterSerializer, **_errors(400, 401, 403, 404)},
    )
    def update(self, request: Request, pk: str) -> Response:
        """Replace a counter's fields (those left out take the defaults of a new one)."""
        counter = self.get_object()
        body = COUNTER_DEFAULTS | parse_body(request, COUNTER_BODY)
        return self._answer(call(save_counter, counter, **body, acting_user=request.user))

    @extend_schema(
        request=s.QueueCounterInputSerializer(partial=True),
        responses={200: s.QueueCounterSerializer, **_errors(400, 401, 403, 404)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change some of a counter's fields."""
        counter = self.get_object()
        body = counter_fields(counter) | parse_body(request, _optional(COUNTER_BODY))
        return self._answer(call(save_counter, counter, **body, acting_user=request.user))

    @extend_schema(responses={200: s.QueueCounterSerializer, **_errors(400, 401, 403, 404)})
    def destroy(self, request: Request, pk: str) -> Response:
        """Deactivate a counter (it stops calling; its history stays). Answers with it."""
        counter = self.get_object()
        body = counter_fields(counter) | {"active": False}
        return self._answer(call(save_counter, counter, **body, acting_user=request.user))

    # What an officer does at the counter.

    def _operated(self) -> Counter:
        """The counter in the URL, if the caller may work it (404 / 403 otherwise)."""
        counter = self.get_object()
        if not may_operate(self.request.user, counter):
            raise PermissionDenied(
                "Anda tidak bertugas di loket ini. / You are not an officer of this counter."
            )
        return counter

    def _current(self, counter: Counter, wanted: int | None) -> Ticket:
        """The ticket the counter has called or is serving today (409 if none, or another)."""
        ticket = (
            Ticket.objects.filter(date=_today(), counter=counter, status__in=CURRENT)
            .order_by("-called_at")
            .first()
        )
        if ticket is None:
            raise _conflict(
                "ticket",
                "Loket ini tidak sedang memanggil atau melayani tiket. / "
                "This counter has no ticket called or being served.",
                "idle",
            )
        if wanted is not None and wanted != ticket.pk:
            raise _conflict(
                "ticket",
                f"Tiket itu tidak lagi ditangani loket ini; sekarang {ticket.number}. / "
                f"That ticket is no longer this counter's; it now handles {ticket.number}.",
                "stale",
            )
        return ticket

    def _on_current(self, request: Request, verb: Any, **extra: Field) -> Response:
        """Apply ``verb`` (an action) to the counter's current ticket."""
        counter = self._operated()
        body = parse_body(request, TICKET_GUARD | extra)
        ticket = self._current(counter, body.pop("ticket", None))
        changed = call(verb, ticket, **body, acting_user=request.user)
        return Response(s.QueueTicketSerializer(changed).data)

    @extend_schema(
        request=None,
        responses={
            200: s.QueueTicketSerializer,
            204: OpenApiResponse(description="Nobody is waiting for this counter"),
            **_errors(401, 403, 404, 409),
        },
    )
    @action(detail=True, methods=["post"], url_path="call-next", url_name="call-next")
    def call_next(self, request: Request, pk: str) -> Response:
        """Call the next ticket in the call order (priority, transferred, booked, walk-in)."""
        counter = self._operated()
        parse_body(request, {})
        ticket = call(call_next, counter, acting_user=request.user)
        if ticket is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.QueueTicketSerializer(ticket).data)

    @extend_schema(
        request=s.QueueCounterActionInputSerializer,
        responses={200: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def recall(self, request: Request, pk: str) -> Response:
        """Call the counter's called ticket again."""
        return self._on_current(request, recall)

    @extend_schema(
        request=s.QueueCounterActionInputSerializer,
        responses={200: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str) -> Response:
        """The called citizen did not come: no-show."""
        return self._on_current(request, skip)

    @extend_schema(
        request=s.QueueCounterActionInputSerializer,
        responses={200: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        """The called citizen is at the counter: service starts."""
        return self._on_current(request, start_serving)

    @extend_schema(
        request=s.QueueFinishInputSerializer,
        responses={200: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def finish(self, request: Request, pk: str) -> Response:
        """Service done, optionally naming the application it produced."""
        return self._on_current(request, finish, application_ref=Field("str"))

    @extend_schema(
        request=s.QueueTransferInputSerializer,
        responses={200: s.QueueTicketSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str) -> Response:
        """Send the counter's ticket to another counter (called there before walk-ins)."""
        return self._on_current(request, transfer, counter=Field("int", required=True))


# --- Queue settings (staff read; the tenant admin sets them) ------------------------------


def _setting_service(key: str) -> LocalService:
    """The (not retired) service ``key``, or 404."""
    service = LocalService.objects.filter(key=key, retired=False).only(*SERVICE_FIELDS).first()
    if service is None:
        raise NotFound(_("Layanan tidak ditemukan."))
    return service


class QueueSettingViewSet(QueueAPIMixin, viewsets.GenericViewSet):
    """How each service is queued: slot length and capacity, daily quota, online booking."""

    queryset = QueueSetting.objects.all()
    serializer_class = s.QueueSettingSerializer
    permission_classes = [QueueAdmin]
    lookup_field = "service_key"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses=s.QueueSettingSerializer(many=True))
    def list(self, request: Request) -> Response:
        """Services a counter serves or with a saved setting, by agency and name; paginated."""
        keys = set(QueueSetting.objects.values_list("service_key", flat=True))
        for served in Counter.objects.values_list("service_keys", flat=True):
            keys.update(served)
        services = (
            LocalService.objects.filter(key__in=keys, retired=False)
            .only(*SERVICE_FIELDS)
            .order_by("agency_name", "name_id", "key")
        )
        page = self.paginate_queryset(services)
        return self.get_paginated_response(self.get_serializer(with_settings(page), many=True).data)

    @extend_schema(responses={200: s.QueueSettingSerializer, **_errors(401, 403, 404)})
    def retrieve(self, request: Request, service_key: str) -> Response:
        """One service's setting (the defaults until saved)."""
        service = with_settings([_setting_service(service_key)])[0]
        return Response(self.get_serializer(service).data)

    def _save(self, request: Request, service_key: str, *, partial: bool) -> Response:
        service = _setting_service(service_key)
        if partial:
            current = setting_for(service.key)
            body = {name: getattr(current, name) for name in SETTING_BODY}
            body |= parse_body(request, _optional(SETTING_BODY))
        else:
            body = parse_body(request, SETTING_BODY)
        call(save_queue_setting, service.key, **body, acting_user=request.user)
        return Response(self.get_serializer(with_settings([service])[0]).data)

    @extend_schema(
        request=s.QueueSettingInputSerializer,
        responses={200: s.QueueSettingSerializer, **_errors(400, 401, 403, 404)},
    )
    def update(self, request: Request, service_key: str) -> Response:
        """Set every field of a service's queue setting."""
        return self._save(request, service_key, partial=False)

    @extend_schema(
        request=s.QueueSettingInputSerializer(partial=True),
        responses={200: s.QueueSettingSerializer, **_errors(400, 401, 403, 404)},
    )
    def partial_update(self, request: Request, service_key: str) -> Response:
        """Change some fields of a service's queue setting."""
        return self._save(request, service_key, partial=True)


# --- The hall board (public) --------------------------------------------------------------


class QueueBoardView(QueueAPIMixin, APIView):
    """Today's calls for the hall's display: ticket numbers and counter names only."""

    permission_classes = [QueuePublic]

    @extend_schema(responses=s.QueueBoardSerializer)
    def get(self, request: Request) -> Response:
        """Every active counter with the number it handles now, and the latest calls."""
        today = _today()
        counters = list(Counter.objects.filter(active=True).order_by("name").only("pk", "name"))
        current = {
            ticket.counter_id: ticket
            for ticket in Ticket.objects.filter(
                date=today, status__in=CURRENT, counter__isnull=False
            ).order_by("called_at")
        }
        recent = (
            Ticket.objects.filter(date=today, counter__isnull=False, called_at__isnull=False)
            .filter(~Q(status=Ticket.Status.TRANSFERRED))
            .select_related("counter")
            .order_by("-called_at", "-pk")[:BOARD_RECENT]
        )

        def entry(name: str, ticket: Ticket | None) -> dict[str, Any]:
            return {
                "counter": name,
                "number": ticket.number if ticket else None,
                "status": ticket.status if ticket else None,
                "called_at": ticket.called_at if ticket else None,
            }

        body = {
            "date": today,
            "counters": [entry(c.name, current.get(c.pk)) for c in counters],
            "recent": [entry(t.counter.name, t) for t in recent],
        }
        return Response(s.QueueBoardSerializer(body).data)
