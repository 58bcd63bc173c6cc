"""Who may read and change the catalogue through the API, on the apex and on a tenant host."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from mpp.accounts.models import User


def _on_public_schema() -> bool:
    return connection.schema_name == get_public_schema_name()


def _active(user: object) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.is_active)  # type: ignore[attr-defined]


class MasterCataloguePermission(BasePermission):
    """Apex only: operators and province admins read; only operators change anything."""

    message = "Hanya operator platform dan admin provinsi. / Platform staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        # The URLs live only in the apex URL conf; this guards against a mis-wired include.
        if not _on_public_schema() or not _active(request.user):
            return False
        user: User = request.user  # type: ignore[assignment]
        if request.method in SAFE_METHODS:
            return user.is_operator or user.role == User.Role.PROVINCE_ADMIN
        self.message = (
            "Hanya operator platform yang dapat mengubah katalog induk. / "
            "Only platform operators may change the master catalogue."
        )
        return user.is_operator


class TenantCataloguePermission(BasePermission):
    """Tenant host only: the tenant's officers read; only its tenant admins change anything.

    The user was authenticated against the tenant's own schema (its session and token tables),
    so staff of another tenant, or of the platform, are simply unknown here.
    """

    message = "Hanya petugas daerah ini. / This tenant's staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if _on_public_schema() or not _active(request.user):
            return False
        role = request.user.role  # type: ignore[union-attr]
        if request.method in SAFE_METHODS:
            return role in {User.Role.TENANT_ADMIN, User.Role.OFFICER}
        self.message = (
            "Hanya admin daerah yang dapat mengubah katalog. / "
            "Only the tenant admin may change the catalogue."
        )
        return role == User.Role.TENANT_ADMIN


class ProvinceOverlayPermission(BasePermission):
    """Apex only: operators and province admins, reading and changing alike.

    Which province is checked by the view (``visible_provinces``): another province's
    overlay answers 404, as if it did not exist.
    """

    message = "Hanya operator platform dan admin provinsi. / Platform staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not _on_public_schema() or not _active(request.user):
            return False
        user: User = request.user  # type: ignore[assignment]
        return user.is_operator or user.role == User.Role.PROVINCE_ADMIN
