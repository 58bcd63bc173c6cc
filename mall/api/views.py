"""Mall API views on a tenant's host: parse, check permission, call ``mall.actions``, answer.

Every change goes through ``update_mall_profile``, ``add_closure`` or ``remove_closure`` — the
same actions as the staff page and ``mpp mall`` — so validation, audit rows and page-cache
invalidation are never duplicated here.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.permissions import TenantCataloguePermission
from mall.actions import (
    PROFILE_FIELDS,
    add_closure,
    get_mall_profile,
    local_today,
    parse_closure_date,
    remove_closure,
    update_mall_profile,
)
from mall.api import serializers as s
from mall.models import Closure
from tenants.api.views import call_action

NOT_AN_OBJECT = "Isi permintaan harus berupa objek JSON. / The body must be a JSON object."
UNKNOWN_FIELD = "Kolom tidak dikenal. / Unknown field."
NOT_TEXT = "Harus berupa teks. / Must be a string."
NOTHING_TO_CHANGE = "Tidak ada perubahan. / Nothing to change."
TEXT_FIELDS = ("display_name", "address", "phone", "email", "accent_color")


class MallPermission(TenantCataloguePermission):
    """Tenant host only: the tenant's officers read the mall's data; its tenant admins change it."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        allowed = super().has_permission(request, view)
        if not allowed and request.method not in SAFE_METHODS:
            self.message = (
                "Hanya admin daerah yang dapat mengubah profil dan hari libur mal. / "
                "Only the tenant admin may change the mall's profile and closures."
            )
        return allowed


def _is_multipart(request: Request) -> bool:
    return (request.content_type or "").lower().startswith("multipart/")


def _profile_changes(request: Request) -> dict[str, Any]:
    """The profile fields sent, as ``update_mall_profile`` takes them; a 400 by field else.

    Only the request's shape is checked here (known field, right JSON type, JSON text in a
    form); whether a value is acceptable is the action's to say.
    """
    multipart = _is_multipart(request)
    data = request.data
    if not isinstance(data, dict):
        raise APIValidationError({"non_field_errors": [NOT_AN_OBJECT]})
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name in data:
        if name not in PROFILE_FIELDS:
            errors[name] = [UNKNOWN_FIELD]
            continue
        # A form's values are lists of strings (files separately); JSON's are typed.
        value = data.get(name) if multipart else data[name]
        if name == "logo":
            upload = request.FILES.get("logo") if multipart else None
            if upload is not None:
                changes[name] = upload
            elif value is None or (multipart and value == ""):
                changes[name] = None
            else:
                errors[name] = [
                    "Kirim logo sebagai berkas (multipart/form-data), atau null untuk "
                    "menghapusnya. / Send the logo as a multipart file, or null to remove it."
                ]
        elif name == "opening_hours" and multipart:
            try:
                changes[name] = json.loads(value) if value.strip() else None
            except (AttributeError, json.JSONDecodeError):  # a file, or not JSON
                errors[name] = [
                    'Tulis jam layanan sebagai JSON, misalnya [["08:00", "15:00"], …]. / '
                    "Send the opening hours as JSON text."
                ]
        elif name in TEXT_FIELDS and value is not None and not isinstance(value, str):
            errors[name] = [NOT_TEXT]
        else:
            changes[name] = value
    if errors:
        raise APIValidationError(errors)
    if not changes:
        raise APIValidationError({"non_field_errors": [NOTHING_TO_CHANGE]})
    return changes


PROFILE_REQUEST = {
    "application/json": s.MallProfileInputSerializer,
    "multipart/form-data": s.MallProfileUploadSerializer,
}


class MallProfileView(APIView):
    """The mall's name, address, contact, opening hours and branding."""

    permission_classes = [MallPermission]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(responses=s.MallProfileSerializer)
    def get(self, request: Request) -> Response:
        """The profile as stored (empty fields until the admin fills them in)."""
        return Response(s.MallProfileSerializer(get_mall_profile()).data)

    @extend_schema(request=PROFILE_REQUEST, responses=s.MallProfileSerializer)
    def patch(self, request: Request) -> Response:
        """Change some fields; a multipart form carries a new ``logo`` file."""
        changes = _profile_changes(request)
        profile = call_action(update_mall_profile, changes, acting_user=request.user)
        return Response(s.MallProfileSerializer(profile).data)


class ClosureViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Holidays and special closures, one a date (the tenant's local date)."""

    queryset = Closure.objects.all()
    serializer_class = s.ClosureSerializer
    permission_classes = [MallPermission]
    parser_classes = [JSONParser]
    lookup_field = "date"
    # Anything up to the slash, so a malformed date answers 400 with the reason, not 404.
    lookup_value_regex = r"[^/]+"

    def get_queryset(self) -> QuerySet[Closure]:
        return Closure.objects.order_by("date")

    @extend_schema(parameters=[s.ClosureFilterSerializer])
    def list(self, request: Request) -> Response:
        """Closures from today on (``?all=1``: past ones too), oldest first; paginated."""
        params = s.ClosureFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        closures = self.get_queryset()
        if not params.validated_data["all"]:
            closures = closures.filter(date__gte=local_today())
        page = self.paginate_queryset(closures)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=s.ClosureInputSerializer, responses={201: s.ClosureSerializer})
    def create(self, request: Request) -> Response:
        """Close the mall on a date, saying why."""
        data = request.data
        if not isinstance(data, dict):
            raise APIValidationError({"non_field_errors": [NOT_AN_OBJECT]})
        errors = {name: [UNKNOWN_FIELD] for name in sorted(set(data) - {"date", "name"})}
        for name in ("date", "name"):
            if data.get(name) is not None and not isinstance(data[name], str):
                errors[name] = [NOT_TEXT]
        if errors:
            raise APIValidationError(errors)
        closure = call_action(
            add_closure, data.get("date"), data.get("name"), acting_user=request.user
        )
        return Response(s.ClosureSerializer(closure).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="YYYY-MM-DD"
            )
        ],
        request=None,
        responses={
            204: None,
            400: OpenApiResponse(description="Malformed date"),
            404: OpenApiResponse(description="No closure on that date"),
        },
    )
    def destroy(self, request: Request, date: str) -> Response:
        """Open the mall again on that date as its weekly hours say."""
        try:
            day = parse_closure_date(date)
        except DjangoValidationError as exc:
            raise APIValidationError({"date": exc.messages}) from None
        try:
            remove_closure(day, acting_user=request.user)
        except DjangoValidationError:
            # The date parsed, so the action's only refusal left is "no closure that day".
            raise NotFound(
                f"Tidak ada penutupan pada {day.isoformat()}. / No closure on {day.isoformat()}."
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
