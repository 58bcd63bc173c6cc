"""Who may see and manage which provinces and tenants."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from mpp.accounts.models import User
from tenants.models import Province, Tenant


def visible_provinces(user: User) -> QuerySet[Province]:
    """Operators see every province; a province admin sees the ones they administer."""
    if user.is_operator:
        return Province.objects.all()
    return Province.objects.filter(admins=user)


def visible_tenants(user: User) -> QuerySet[Tenant]:
    """Tenants in the provinces ``user`` may see."""
    if user.is_operator:
        return Tenant.objects.all()
    return Tenant.objects.filter(province__admins=user)


def can_manage_province(user: User, province: Province) -> bool:
    """True if ``user`` may create and change tenants in ``province``."""
    return user.is_operator or province.admins.filter(pk=user.pk).exists()


class IsPlatformStaff(BasePermission):
    """Operators and province admins of the public schema; tenant staff never get here."""

    message = "Only platform operators and province admins may use this API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and (user.is_operator or user.role == User.Role.PROVINCE_ADMIN)
        )


class IsOperator(BasePermission):
    message = "Only platform operators may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_operator)
