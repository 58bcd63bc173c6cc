"""The control-plane audit log on the apex API: who changed what, when, before and after."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView

from mpp.audit.models import AuditEvent
from mpp.audit.queries import province_events, visible_events
from tenants.api import permissions as perms
from tenants.models import Tenant


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor_email", "actor_schema", "action",
            "target_type", "target_id", "target_label", "before", "after",
        ]  # fmt: skip


@extend_schema(
    parameters=[
        OpenApiParameter("province", OpenApiTypes.STR, description="province code, e.g. 21"),
        OpenApiParameter("tenant", OpenApiTypes.STR, description="tenant slug"),
        OpenApiParameter("action", OpenApiTypes.STR, description="e.g. tenant.suspended"),
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601, inclusive"),
    ]
)
class AuditEventList(ListAPIView[AuditEvent]):
    """Control-plane audit events, newest first; a province admin sees their provinces' only."""

    serializer_class = AuditEventSerializer
    permission_classes = [perms.IsPlatformStaff]

    def get_queryset(self) -> Any:
        params = self.request.query_params
        user = self.request.user
        events = visible_events(user)  # type: ignore[arg-type]
        if code := params.get("province"):
            province = perms.visible_provinces(user).filter(code=code)  # type: ignore[arg-type]
            if not province.exists():
                raise NotFound(f"No province with code {code!r} is visible to you.")
            events = events & province_events(province)
        if slug := params.get("tenant"):
            tenant = perms.visible_tenants(user).filter(slug=slug).first()  # type: ignore[arg-type]
            if tenant is None:
                raise NotFound(f"No tenant with slug {slug!r} is visible to you.")
            events = events.filter(target_type=Tenant._meta.label_lower, target_id=str(tenant.pk))
        if action := params.get("action"):
            events = events.filter(action=action)
        if since := params.get("since"):
            moment = parse_datetime(since)
            if moment is None:
                raise ValidationError({"since": ["Use ISO 8601, e.g. 2026-11-29T08:00:00+07:00."]})
            events = events.filter(created_at__gte=moment)
        return events.order_by("-created_at", "-id")
