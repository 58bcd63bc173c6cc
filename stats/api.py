"""Province statistics on the apex API: parse, check permission, read the rollup."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stats.queries import province_overview
from tenants.api import permissions as perms


class OverviewRowSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region_code = serializers.CharField()
    status = serializers.CharField()
    master_version = serializers.IntegerField(allow_null=True)
    overlay_version = serializers.IntegerField(allow_null=True)
    pending_conflicts = serializers.IntegerField(allow_null=True)
    services_total = serializers.IntegerField(allow_null=True)
    services_enabled = serializers.IntegerField(allow_null=True)
    services_local = serializers.IntegerField(allow_null=True)
    services_overridden = serializers.IntegerField(allow_null=True)
    admins_active = serializers.IntegerField(allow_null=True)
    last_activity = serializers.DateTimeField(allow_null=True)
    # Whole numbers stay integers; scores with decimals are sent as JSON numbers.
    metrics = serializers.JSONField()
    refreshed_at = serializers.DateTimeField(allow_null=True)


class ProvinceOverviewSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    tenants = OverviewRowSerializer(many=True)


class ProvinceOverviewView(APIView):
    """One row per live tenant of a province: catalogue release, conflicts, services, admins,
    last activity — read from the rollup. Figures are null until the tenant's first refresh."""

    permission_classes = [perms.IsPlatformStaff]

    @extend_schema(responses=ProvinceOverviewSerializer)
    def get(self, request: Request, code: str) -> Response:
        # Another province's code answers exactly like an unknown one.
        province = perms.visible_provinces(request.user).filter(code=code).first()
        if province is None:
            raise NotFound(f"No province with code {code!r} is visible to you.")
        rows = [row.as_dict() for row in province_overview(province)]
        payload = {"code": province.code, "name": province.name, "tenants": rows}
        return Response(ProvinceOverviewSerializer(payload).data)
