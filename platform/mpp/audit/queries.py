"""Which control-plane audit events a person may read (public schema)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Province, Tenant


def province_events(provinces: QuerySet[Province]) -> QuerySet[AuditEvent]:
    """Events about the given provinces and about any of their tenants."""
    tenant_ids = [
        str(pk) for pk in Tenant.objects.filter(province__in=provinces).values_list("pk", flat=True)
    ]
    province_ids = [str(pk) for pk in provinces.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type=Tenant._meta.label_lower, target_id__in=tenant_ids)
        | Q(target_type=Province._meta.label_lower, target_id__in=province_ids)
    )


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """Operators read the whole control-plane log; a province admin, their provinces' part."""
    if user.is_operator:
        return AuditEvent.objects.all()
    return province_events(Province.objects.filter(admins=user))
