"""Control-plane API views: parse, check permission, call the action, shape the answer."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import actions
from tenants.api import permissions as perms
from tenants.api.serializers import (
    CsvRowSerializer,
    CsvUploadSerializer,
    DomainSerializer,
    OnboardedTenantSerializer,
    ProvinceSerializer,
    ReasonSerializer,
    TenantCreateSerializer,
    TenantRestoreSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)
from tenants.archive import export_tenant, read_manifest, restore_tenant
from tenants.models import Province, Tenant
from tenants.onboarding import OnboardingRequest, onboard_from_csv, onboard_tenant
from tenants.provisioning import TenantSpec

T = TypeVar("T")


def call_action(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a domain action, turning its ValidationError into a 400 with field details."""
    try:
        return fn(*args, **kwargs)
    except DjangoValidationError as exc:
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        raise APIValidationError(detail) from None


class ProvinceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Provinces: operators create them; province admins see their own."""

    serializer_class = ProvinceSerializer
    permission_classes = [perms.IsPlatformStaff]
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Province]:
        live = ~Q(tenants__status=Tenant.Status.ARCHIVED)
        return (
            perms.visible_provinces(self.request.user)
            .annotate(tenant_count=Count("tenants", filter=live))
            .order_by("code")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not request.user.is_operator:
            raise PermissionDenied("Only platform operators may create provinces.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        province = call_action(
            actions.create_province,
            code=serializer.validated_data["code"],
            name=serializer.validated_data["name"],
            time_zone=serializer.validated_data.get("time_zone", ""),
            acting_user=request.user,
        )
        province.tenant_count = 0  # type: ignore[attr-defined]
        return Response(ProvinceSerializer(province).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": CsvUploadSerializer},
        responses={201: CsvRowSerializer(many=True), 400: CsvRowSerializer(many=True)},
    )
    @action(detail=True, methods=["post"], url_path="onboard-csv", parser_classes=[MultiPartParser])
    def onboard_csv(self, request: Request, code: str) -> Response:
        """Onboard every regency in an uploaded CSV; nothing at all when a row is bad."""
        province = self.get_object()
        payload = CsvUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows = call_action(
            onboard_from_csv,
            province,
            payload.validated_data["file"].read(),
            acting_user=request.user,
        )
        answer = [
            {
                "line": row.line,
                "slug": row.values.get("slug", ""),
                "status": "created" if row.report else ("invalid" if row.errors else "not_created"),
                "host": row.report.tenant.host if row.report else "",
                "seconds": round(row.report.seconds, 3) if row.report else None,
                "errors": row.errors,
            }
            for row in rows
        ]
        created = all(row.report is not None for row in rows)
        return Response(
            CsvRowSerializer(answer, many=True).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_400_BAD_REQUEST,
        )


class TenantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Regency and city tenants within the provinces the caller may manage."""

    serializer_class = TenantSerializer
    permission_classes = [perms.IsPlatformStaff]
    lookup_field = "slug"
    # A tenant is named by its slug or, as audit rows and exports name it, by its id.
    lookup_value_regex = r"[a-z0-9][a-z0-9-]*"

    def get_object(self) -> Tenant:
        """The tenant named in the URL, among those the caller may see (404 otherwise)."""
        value = self.kwargs[self.lookup_field]
        field = "pk" if value.isdigit() else "slug"
        tenant = self.get_queryset().filter(**{field: value}).first()
        if tenant is None:
            raise NotFound(f"No tenant {value!r} is visible to you.")
        self.check_object_permissions(self.request, tenant)
        return tenant

    def get_queryset(self) -> QuerySet[Tenant]:
        tenants = (
            perms.visible_tenants(self.request.user)
            .select_related("province")
            .prefetch_related("domains")
        )
        province = self.request.query_params.get("province")
        if province:
            tenants = tenants.filter(province__code=province)
        state = self.request.query_params.get("status")
        if state:
            tenants = tenants.filter(status=state)
        return tenants

    @extend_schema(request=TenantCreateSerializer, responses={201: OnboardedTenantSerializer})
    def create(self, request: Request) -> Response:
        """Onboard a regency: cloned schema, seeded catalogue, agencies, invited admin."""
        payload = TenantCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        province = perms.visible_provinces(request.user).filter(code=data.pop("province")).first()
        if province is None:
            raise APIValidationError({"province": ["Unknown province, or not one you manage."]})
        agencies = data.pop("agencies_present", None)
        report = call_action(
            onboard_tenant,
            OnboardingRequest(TenantSpec(province=province, **data), agencies_present=agencies),
            acting_user=request.user,
        )
        tenant = report.tenant
        tenant.steps = [{"name": s.name, "detail": s.detail} for s in report.steps]  # type: ignore[attr-defined]
        tenant.seconds = round(report.seconds, 3)  # type: ignore[attr-defined]
        return Response(OnboardedTenantSerializer(tenant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TenantUpdateSerializer, responses=TenantSerializer)
    def partial_update(self, request: Request, slug: str) -> Response:
        """Rename a tenant."""
        tenant = self.get_object()
        payload = TenantUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        tenant = call_action(
            actions.rename_tenant, tenant, name=payload.validated_data["name"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(TenantSerializer(tenant).data)

    def _lifecycle(self, request: Request, fn: Callable[..., Tenant], **extra: Any) -> Response:
        tenant = self.get_object()
        tenant = call_action(fn, tenant, acting_user=request.user, **extra)
        return Response(TenantSerializer(tenant).data)

    @extend_schema(request=ReasonSerializer, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, slug: str) -> Response:
        """Suspend: the portal shows the reason and refuses changes."""
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._lifecycle(
            request, actions.suspend_tenant, reason=payload.validated_data["reason"]
        )

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, slug: str) -> Response:
        """Lift a suspension."""
        return self._lifecycle(request, actions.resume_tenant)

    @extend_schema(request=ReasonSerializer, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, slug: str) -> Response:
        """Archive: gone from routing; the schema is kept."""
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._lifecycle(
            request, actions.archive_tenant, reason=payload.validated_data["reason"]
        )

    @extend_schema(request=DomainSerializer, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def domains(self, request: Request, slug: str) -> Response:
        """Add a custom domain."""
        tenant = self.get_object()
        payload = DomainSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        call_action(
            actions.add_custom_domain, tenant, payload.validated_data["domain"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(TenantSerializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"domains/(?P<domain>[^/]+)")
    def remove_domain(self, request: Request, slug: str, domain: str) -> Response:
        """Remove a custom domain."""
        tenant = self.get_object()
        call_action(actions.remove_custom_domain, tenant, domain, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={(200, "application/gzip"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["post"])
    def export(self, request: Request, slug: str) -> FileResponse:
        """Download a complete, restorable archive of the tenant (data, files, manifest)."""
        tenant = self.get_object()
        folder = Path(tempfile.mkdtemp(prefix="mpp-export-"))
        try:
            path = export_tenant(tenant, acting_user=request.user, destination=folder)
            handle = path.open("rb")
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            handle.seek(0)
        finally:
            # The open handle keeps the file readable while it streams; nothing stays on disk.
            shutil.rmtree(folder, ignore_errors=True)
        response = FileResponse(
            handle, as_attachment=True, filename=path.name, content_type="application/gzip"
        )
        response["X-Archive-SHA256"] = digest
        return response

    @extend_schema(
        request={"multipart/form-data": TenantRestoreSerializer},
        responses={201: TenantSerializer, 200: TenantSerializer},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def restore(self, request: Request) -> Response:
        """Restore an archive as a new tenant (201) or over an existing one with replace (200)."""
        payload = TenantRestoreSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        with tempfile.NamedTemporaryFile(prefix="mpp-restore-", suffix=".tar.gz") as upload:
            for chunk in data["archive"].chunks():
                upload.write(chunk)
            upload.flush()
            manifest = call_action(read_manifest, upload.name)
            if data["replace"]:
                if not perms.visible_tenants(request.user).filter(slug=data["slug"]).exists():
                    raise NotFound("No such tenant, or not one you manage.")
            else:
                code = manifest["tenant"]["province"].get("code")
                province = Province.objects.filter(code=code).first()
                if province is not None and not perms.can_manage_province(request.user, province):
                    raise PermissionDenied(
                        f"The archive's tenant is in province {code}, which you do not manage."
                    )
            tenant = call_action(
                restore_tenant, upload.name, slug=data["slug"], replace=data["replace"],
                name=data.get("name") or None, region_code=data.get("region_code") or None,
                acting_user=request.user,
            )  # fmt: skip
        return Response(
            TenantSerializer(tenant).data,
            status=status.HTTP_200_OK if data["replace"] else status.HTTP_201_CREATED,
        )
