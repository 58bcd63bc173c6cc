"""Who may call the queue API on a tenant's host.

Citizens need no account: services, slots, their booking by its code and the hall board are
open to anyone (and throttled per address). Staff are authenticated against the tenant's own
schema, so another tenant's staff, or the platform's, are simply unknown here. Whether an
officer may work a given counter is ``may_operate``'s to say, asked by the view.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from catalog.api.permissions import TenantCataloguePermission
from mpp.accounts.models import User

STAFF_ROLES = frozenset({User.Role.TENANT_ADMIN, User.Role.OFFICER})


def _on_public_schema() -> bool:
    return connection.schema_name == get_public_schema_name()


def _active(user: object) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.is_active)  # type: ignore[attr-defined]


class QueuePublic(BasePermission):
    """Anyone, on a tenant host (the URLs exist only there; this guards a mis-wired include)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not _on_public_schema()


class QueueStaff(BasePermission):
    """This tenant's officers and admins, reading and acting alike (counters, check-in)."""

    message = "Hanya petugas daerah ini. / This tenant's staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if _on_public_schema() or not _active(request.user):
            return False
        return request.user.role in STAFF_ROLES  # type: ignore[union-attr]


class QueueAdmin(TenantCataloguePermission):
    """Officers read counters and settings; only the tenant admin changes them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        allowed = super().has_permission(request, view)
        if not allowed and request.method not in SAFE_METHODS:
            self.message = (
                "Hanya admin daerah yang dapat mengatur loket dan antrean. / "
                "Only the tenant admin may change counters and queue settings."
            )
        return allowed
