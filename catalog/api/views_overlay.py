"""A province's catalogue overlay on the apex: ``/api/v1/catalogue/provinces/{code}/overlay/``.

Operators manage every province's overlay, a province admin only their own: any other
province answers 404, exactly as one that does not exist. Every change goes through
``catalog.overlay``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import overlay
from catalog.api import serializers as s
from catalog.api.permissions import ProvinceOverlayPermission
from catalog.api.views import _master_body, _payload
from catalog.models import ProvinceOverlay, ProvinceRelease, ProvinceServiceEdit
from tenants.api.permissions import visible_provinces
from tenants.api.views import call_action
from tenants.models import Province

NO_PROVINCE = "Provinsi tidak ditemukan. / No such province."


class ProvinceOverlayViewSet(viewsets.ViewSet):
    """A province's own layer of the catalogue: field edits, its own services, its releases."""

    permission_classes = [ProvinceOverlayPermission]
    parser_classes = [JSONParser]

    def _province(self, code: str) -> Province:
        # Same answer for "not yours" and "does not exist": no probing for province codes.
        province = visible_provinces(self.request.user).filter(code=code).first()
        if province is None:
            raise NotFound(NO_PROVINCE)
        return province

    def _releases(self, province: Province) -> Any:
        # A list never loads the (large) snapshots.
        return (
            ProvinceRelease.objects.filter(overlay__province=province)
            .defer("snapshot")
            .order_by("-version")
        )

    def _shown(self, province: Province) -> dict[str, Any]:
        """The overlay as answered by GET; reading never creates an empty overlay."""
        current = ProvinceOverlay.objects.filter(province=province).first()
        if current is None:
            return {"new_services_enabled": False, "edits": [], "releases": []}
        return s.ProvinceOverlaySerializer(
            {
                "new_services_enabled": current.new_services_enabled,
                "edits": current.edits.defer("base").order_by("key"),
                "releases": self._releases(province),
            }
        ).data

    @extend_schema(operation_id="province_overlay_retrieve", responses=s.ProvinceOverlaySerializer)
    def retrieve(self, request: Request, code: str) -> Response:
        """The province's overlay: its setting for new services, its edits, its releases."""
        return Response(self._shown(self._province(code)))

    @extend_schema(
        operation_id="province_overlay_partial_update",
        request=s.ProvinceSettingsSerializer,
        responses=s.ProvinceOverlaySerializer,
    )
    def partial_update(self, request: Request, code: str) -> Response:
        """Choose whether services new upstream start enabled in the province's tenants."""
        province = self._province(code)
        payload = _payload(s.ProvinceSettingsSerializer, request)
        call_action(
            overlay.set_new_services_enabled, province, payload["new_services_enabled"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(self._shown(province))

    @extend_schema(
        operation_id="province_overlay_field_set",
        request=s.ProvinceFieldSerializer,
        responses=s.ProvinceEditSerializer,
    )
    def set_field(self, request: Request, code: str) -> Response:
        """Change one field of a service for every tenant of the province."""
        province = self._province(code)
        payload = _payload(s.ProvinceFieldSerializer, request)
        edit = call_action(
            overlay.set_province_field, province, payload["key"], payload["field"],
            payload["value"], acting_user=request.user,
        )  # fmt: skip
        return Response(s.ProvinceEditSerializer(edit).data)

    @extend_schema(
        operation_id="province_overlay_service_add",
        request=s.MasterServiceInputSerializer,
        responses={201: s.ProvinceEditSerializer},
    )
    def add_service(self, request: Request, code: str) -> Response:
        """Add a service of the province's own, on top of the master catalogue."""
        province = self._province(code)
        data = _master_body(request, creating=True)
        edit = call_action(overlay.add_province_service, province, data, acting_user=request.user)
        return Response(s.ProvinceEditSerializer(edit).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="province_overlay_conflict_resolve",
        request=s.ProvinceResolveSerializer,
        responses=s.ProvinceEditSerializer,
    )
    def resolve(self, request: Request, code: str) -> Response:
        """Settle a field both the master and the province changed."""
        province = self._province(code)
        payload = _payload(s.ProvinceResolveSerializer, request)
        edit = ProvinceServiceEdit.objects.filter(
            overlay__province=province, key=payload["key"]
        ).first()
        if edit is None:
            raise APIValidationError(
                {
                    "key": [
                        "Provinsi belum mengubah layanan ini. / No province edit of this service."
                    ]
                }
            )
        edit = call_action(
            overlay.resolve_province_conflict, edit, payload["field"], payload["choice"],
            acting_user=request.user,
        )  # fmt: skip
        return Response(s.ProvinceEditSerializer(edit).data)

    @extend_schema(
        operation_id="province_overlay_releases_list",
        responses=s.ProvinceReleaseSerializer(many=True),
    )
    def releases(self, request: Request, code: str) -> Response:
        """The province's published releases, newest first, without their snapshots."""
        province = self._province(code)
        return Response(s.ProvinceReleaseSerializer(self._releases(province), many=True).data)

    @extend_schema(
        operation_id="province_overlay_release_publish",
        request=s.ProvincePublishSerializer,
        responses={201: s.ProvinceReleaseSerializer},
    )
    def publish(self, request: Request, code: str) -> Response:
        """Merge the overlay with the newest master release and freeze it for the tenants."""
        province = self._province(code)
        payload = _payload(s.ProvincePublishSerializer, request)
        release = call_action(
            overlay.publish_province_release, province, acting_user=request.user,
            note=payload["note"],
        )  # fmt: skip
        return Response(s.ProvinceReleaseSerializer(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="province_overlay_release_retrieve",
        responses=s.ProvinceReleaseDetailSerializer,
    )
    def release(self, request: Request, code: str, version: int) -> Response:
        """One province release with its whole snapshot."""
        province = self._province(code)
        release = ProvinceRelease.objects.filter(
            overlay__province=province, version=version
        ).first()
        if release is None:
            raise NotFound(f"Rilis provinsi {version} tidak ada. / No province release {version}.")
        return Response(s.ProvinceReleaseDetailSerializer(release).data)
