"""Catalogue API views: parse, check permission, call the domain action, shape the answer.

The master catalogue and its releases are served on the apex (public schema); a tenant's
effective catalogue and its sync on the tenant's own host (its schema). Every change goes
through ``catalog.actions``, ``catalog.releases`` or ``catalog.local.actions``/``sync``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Func, IntegerField, Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.actions import create_master_service, delete_master_service, update_master_service
from catalog.api import serializers as s
from catalog.api.permissions import MasterCataloguePermission, TenantCataloguePermission
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import Upstream, apply_sync, plan_sync, tenant_upstream
from catalog.models import Agency, Category, Release, Service
from catalog.releases import diff_snapshots, get_release, publish_release
from tenants.api.views import call_action

NOT_AN_OBJECT = "Isi permintaan harus berupa objek JSON. / The body must be a JSON object."
UNKNOWN_FIELD = "Kolom tidak dikenal. / Unknown field."


# --- Helpers ------------------------------------------------------------------------------


def _body(
    request: Request, allowed: tuple[str, ...], *, fixed: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON object sent, refusing keys the action would silently ignore."""
    data = request.data
    if not isinstance(data, dict):
        raise APIValidationError({"non_field_errors": [NOT_AN_OBJECT]})
    errors = {
        name: [
            "Kolom ini tidak dapat diubah. / This field cannot be changed."
            if name in fixed
            else UNKNOWN_FIELD
        ]
        for name in sorted(set(data) - set(allowed))
    }
    if errors:
        raise APIValidationError(errors)
    return dict(data)


def _master_body(request: Request, *, creating: bool) -> dict[str, Any]:
    """A master service body; ``categories`` must be a list of codes (the action looks them
    up with ``code__in``, which would otherwise split a lone string into letters)."""
    if creating:
        data = _body(request, s.MASTER_INPUT_FIELDS)
    else:
        editable = tuple(name for name in s.MASTER_INPUT_FIELDS if name != "key")
        data = _body(request, editable, fixed=("key",))
    categories = data.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise APIValidationError(
            {"categories": ["Harus daftar kode kategori. / Must be a list of category codes."]}
        )
    return data


def _payload(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """``request.data`` checked by ``serializer_class``; a 400 by field otherwise."""
    if not isinstance(request.data, dict):
        raise APIValidationError({"non_field_errors": [NOT_AN_OBJECT]})
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return dict(payload.validated_data)


def _filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validated query-string filters; empty values (as an HTML form sends them) are unset."""
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return {k: v for k, v in params.validated_data.items() if v not in ("", None)}


def _filter_common(services: QuerySet[Any], filters: dict[str, Any]) -> QuerySet[Any]:
    """Channel, fee and name filters shared by the master and the tenant lists."""
    if "channel" in filters:
        services = services.filter(channel=filters["channel"])
    fee = filters.get("fee")
    if fee == "free":
        services = services.filter(fee=0)
    elif fee == "paid":
        services = services.filter(fee__gt=0)
    elif fee == "varies":
        services = services.filter(fee__isnull=True)
    if "q" in filters:
        q = filters["q"]
        services = services.filter(
            Q(name_id__icontains=q) | Q(name_en__icontains=q) | Q(key__icontains=q)
        )
    return services


def _with_service_count(releases: QuerySet[Release]) -> QuerySet[Release]:
    # Counted in PostgreSQL so a list of releases never loads their (large) snapshots.
    count = Func(
        KeyTransform("services", "snapshot"),
        function="jsonb_array_length",
        output_field=IntegerField(),
    )
    return releases.defer("snapshot").annotate(service_count=count)


def _release(version: int | str) -> Release:
    try:
        release = get_release(int(version))
    except Release.DoesNotExist:
        raise NotFound(f"Rilis {version} tidak ada. / No catalogue release {version}.") from None
    release.service_count = len(release.snapshot.get("services", []))  # type: ignore[attr-defined]
    return release


# --- Master catalogue (apex) ----------------------------------------------------------------


class MasterServiceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Services of the master catalogue; operators change them, province admins read."""

    queryset = Service.objects.all()
    serializer_class = s.MasterServiceSerializer
    permission_classes = [MasterCataloguePermission]
    parser_classes = [JSONParser]
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9-]+"

    def get_queryset(self) -> QuerySet[Service]:
        return (
            Service.objects.select_related("agency")
            .prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("code")))
            .order_by("key")
        )

    def _shown(self, service: Service) -> dict[str, Any]:
        return s.MasterServiceSerializer(self.get_queryset().get(pk=service.pk)).data

    @extend_schema(parameters=[s.MasterServiceFilterSerializer])
    def list(self, request: Request) -> Response:
        """Master services, filtered by agency, category, channel, fee and name; paginated."""
        filters = _filters(s.MasterServiceFilterSerializer, request)
        services = _filter_common(self.get_queryset(), filters)
        if "agency" in filters:
            services = services.filter(agency__code=filters["agency"])
        if "category" in filters:
            services = services.filter(categories__code=filters["category"])
        page = self.paginate_queryset(services)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=s.MasterServiceInputSerializer, responses={201: s.MasterServiceSerializer}
    )
    def create(self, request: Request) -> Response:
        """Add a master service; tenants receive it with the next release."""
        data = _master_body(request, creating=True)
        service = call_action(create_master_service, data, acting_user=request.user)
        return Response(self._shown(service), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MasterServiceInputSerializer, responses=s.MasterServiceSerializer)
    def partial_update(self, request: Request, key: str) -> Response:
        """Change fields of a master service (its key never changes)."""
        service = self.get_object()
        changes = _master_body(request, creating=False)
        if not changes:
            raise APIValidationError(
                {"non_field_errors": ["Tidak ada perubahan. / Nothing to change."]}
            )
        service = call_action(update_master_service, service, changes, acting_user=request.user)
        return Response(self._shown(service))

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, key: str) -> Response:
        """Take a service out of the master catalogue; tenants retire it at their next sync."""
        call_action(delete_master_service, self.get_object(), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgencyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Agencies of the master catalogue, with how many services each offers."""

    queryset = Agency.objects.all()
    serializer_class = s.AgencySerializer
    permission_classes = [MasterCataloguePermission]

    def get_queryset(self) -> QuerySet[Agency]:
        return Agency.objects.annotate(service_count=Count("services")).order_by("name", "code")


class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Categories of the master catalogue, with how many services each holds."""

    queryset = Category.objects.all()
    serializer_class = s.CategorySerializer
    permission_classes = [MasterCataloguePermission]

    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.annotate(service_count=Count("services")).order_by(
            "name_id", "code"
        )


class ReleaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Published releases. They are immutable: there is no PUT, PATCH or DELETE."""

    queryset = Release.objects.all()
    serializer_class = s.ReleaseSerializer
    permission_classes = [MasterCataloguePermission]
    parser_classes = [JSONParser]
    lookup_field = "version"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Release]:
        return _with_service_count(Release.objects.order_by("-version"))

    @extend_schema(responses=s.ReleaseDetailSerializer)
    def retrieve(self, request: Request, version: str) -> Response:
        """One release with its whole snapshot."""
        return Response(s.ReleaseDetailSerializer(_release(version)).data)

    @extend_schema(request=s.PublishSerializer, responses={201: s.ReleaseSerializer})
    def create(self, request: Request) -> Response:
        """Freeze the master catalogue as the next release."""
        payload = _payload(s.PublishSerializer, request)
        release = call_action(
            publish_release, acting_user=request.user, changelog=payload["changelog"]
        )
        release.service_count = len(release.snapshot["services"])  # type: ignore[attr-defined]
        return Response(s.ReleaseSerializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("other", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=s.ReleaseDiffSerializer,
    )
    @action(detail=True, methods=["get"], url_path=r"diff/(?P<other>[0-9]+)")
    def diff(self, request: Request, version: str, other: str) -> Response:
        """What changed from release ``version`` to release ``other``, field by field."""
        old, new = _release(version), _release(other)
        diff = diff_snapshots(old.snapshot, new.snapshot)
        return Response(
            {
                "from_version": old.version,
                "to_version": new.version,
                "added": diff.added,
                "removed": diff.removed,
                "changed": {
                    key: {name: [before, after] for name, (before, after) in fields.items()}
                    for key, fields in diff.changed.items()
                },
                "agencies_changed": diff.agencies_changed,
            }
        )


# --- A tenant's catalogue (tenant host) -----------------------------------------------------


class LocalServiceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """This tenant's effective catalogue: officers read, the tenant admin customises."""

    queryset = LocalService.objects.all()
    serializer_class = s.LocalServiceSerializer
    permission_classes = [TenantCataloguePermission]
    parser_classes = [JSONParser]
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9-]+"

    def get_queryset(self) -> QuerySet[LocalService]:
        # The search vector is PostgreSQL's business; no answer shows it.
        return LocalService.objects.defer("search_vector").order_by("agency_name", "name_id", "key")

    @extend_schema(parameters=[s.LocalServiceFilterSerializer])
    def list(self, request: Request) -> Response:
        """Every service of this mall (retired and disabled ones too), filtered; paginated."""
        filters = _filters(s.LocalServiceFilterSerializer, request)
        services = _filter_common(self.get_queryset().defer("base"), filters)
        if "agency" in filters:
            services = services.filter(agency_code=filters["agency"])
        if "category" in filters:
            services = services.filter(category_codes__contains=[filters["category"]])
        services = {
            None: services,
            "enabled": services.filter(enabled=True, retired=False),
            "disabled": services.filter(enabled=False, retired=False),
            "overridden": services.exclude(overrides={}),
            "conflict": services.exclude(conflicts={}),
            "local": services.filter(origin=LocalService.Origin.LOCAL),
            "retired": services.filter(retired=True),
        }[filters.get("status")]
        page = self.paginate_queryset(services)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=s.LocalServiceDetailSerializer)
    def retrieve(self, request: Request, key: str) -> Response:
        """One service, each field shown as upstream's value beside this mall's."""
        return Response(s.LocalServiceDetailSerializer(self.get_object()).data)

    @extend_schema(
        request=s.LocalServiceInputSerializer, responses={201: s.LocalServiceDetailSerializer}
    )
    def create(self, request: Request) -> Response:
        """Add a service only this mall offers."""
        data = _body(request, s.LOCAL_INPUT_FIELDS)
        service = call_action(local.create_local_service, data, acting_user=request.user)
        return Response(
            s.LocalServiceDetailSerializer(service).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.OverrideSerializer, responses=s.LocalServiceDetailSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request: Request, key: str) -> Response:
        """Set this mall's own value of a field; upstream's stays recorded beside it."""
        service = self.get_object()
        payload = _payload(s.OverrideSerializer, request)
        service = call_action(
            local.override_field, service, payload["field"], payload["value"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(s.LocalServiceDetailSerializer(service).data)

    @extend_schema(request=s.RevertSerializer, responses=s.LocalServiceDetailSerializer)
    @action(detail=True, methods=["post"])
    def revert(self, request: Request, key: str) -> Response:
        """Drop this mall's value of a field: it follows upstream again."""
        service = self.get_object()
        payload = _payload(s.RevertSerializer, request)
        service = call_action(
            local.revert_field, service, payload["field"], acting_user=request.user
        )
        return Response(s.LocalServiceDetailSerializer(service).data)

    @extend_schema(request=s.ResolveSerializer, responses=s.LocalServiceDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, key: str) -> Response:
        """Settle a conflict: take upstream's value or keep this mall's."""
        service = self.get_object()
        payload = _payload(s.ResolveSerializer, request)
        service = call_action(
            local.resolve_conflict, service, payload["field"], payload["choice"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(s.LocalServiceDetailSerializer(service).data)

    @extend_schema(request=s.EnableSerializer, responses=s.LocalServiceDetailSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, key: str) -> Response:
        """Offer (``enabled: true``) or stop offering (``false``) a service in this mall."""
        service = self.get_object()
        payload = _payload(s.EnableSerializer, request)
        service = call_action(
            local.set_enabled, service, payload["enabled"], acting_user=request.user
        )
        return Response(s.LocalServiceDetailSerializer(service).data)


class SyncViewSet(viewsets.ViewSet):
    """Bring this mall's catalogue up to the newest upstream release, edits kept."""

    permission_classes = [TenantCataloguePermission]
    parser_classes = [JSONParser]

    def _upstream(self, request: Request) -> Upstream:
        # The province's overlay release when it has one, else the newest master release:
        # the same upstream `mpp catalogue sync` uses, so API and CLI never disagree.
        upstream = tenant_upstream(request.tenant)  # type: ignore[attr-defined]
        if upstream is None:
            raise APIValidationError(
                {"release": ["Belum ada rilis katalog. / No catalogue release published yet."]}
            )
        return upstream

    @extend_schema(responses=s.SyncPlanSerializer)
    @action(detail=False, methods=["get"])
    def plan(self, request: Request) -> Response:
        """What a sync would do, service by service and field by field; changes nothing."""
        plan = plan_sync(request.tenant, self._upstream(request))  # type: ignore[attr-defined]
        return Response(s.SyncPlanSerializer(plan).data)

    @extend_schema(request=None, responses=s.SyncPlanSerializer)
    @action(detail=False, methods=["post"])
    def apply(self, request: Request) -> Response:
        """Sync now, in one transaction; answers with the plan it carried out."""
        plan = call_action(
            apply_sync, request.tenant, self._upstream(request),  # type: ignore[attr-defined]
            acting_user=request.user,
        )  # fmt: skip
        return Response(s.SyncPlanSerializer(plan).data)
