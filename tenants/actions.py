"""Province and tenant lifecycle actions (provisioning itself is in ``provisioning``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from mpp.accounts.models import User
from mpp.audit.actions import record_event
from tenants.archive import write_archive
from tenants.models import Domain, Province, Tenant
from tenants.provisioning import tenant_snapshot
from tenants.validators import validate_custom_domain


def create_province(
    *, code: str, name: str, time_zone: str = "", acting_user: User | None
) -> Province:
    """Create a province; raise ``ValidationError`` with field errors on bad input."""
    province = Province(code=code.strip(), name=name.strip(), slug=slugify(name))
    if time_zone:
        province.time_zone = time_zone
    try:
        province.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        slug_errors = errors.pop("slug", None)
        if slug_errors and "name" not in errors:
            # The slug is derived from the name: say it in the name's terms.
            errors["name"] = [f"A province with a name like “{province.name}” already exists."]
        raise ValidationError(errors) from None
    with transaction.atomic():
        province.save()
        record_event(
            "province.created",
            acting_user=acting_user,
            target=province,
            after={"code": province.code, "name": province.name},
        )
    return province


def _change_status(
    tenant: Tenant,
    status: str,
    *,
    reason: str,
    acting_user: User | None,
    allowed_from: set[str],
    first: Callable[[Tenant], dict[str, Any]] | None = None,
) -> Tenant:
    """Change the status under a row lock; ``first`` runs before it, its result is audited."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status not in allowed_from:
            raise ValidationError(
                {"status": [f"Tenant {tenant.slug} is {tenant.status}; cannot become {status}."]}
            )
        extra = first(tenant) if first else {}
        before = tenant_snapshot(tenant)
        tenant.status = status
        tenant.status_reason = reason.strip()
        tenant.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(
            f"tenant.{status}",
            acting_user=acting_user,
            target=tenant,
            before=before,
            after=tenant_snapshot(tenant) | extra,
        )
    return tenant


def suspend_tenant(tenant: Tenant, *, reason: str, acting_user: User | None) -> Tenant:
    """Suspend a tenant: its portal shows ``reason`` and refuses every change."""
    if not reason.strip():
        raise ValidationError({"reason": ["A suspension needs a reason to show on the portal."]})
    return _change_status(
        tenant,
        Tenant.Status.SUSPENDED,
        reason=reason,
        acting_user=acting_user,
        allowed_from={Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED},
    )


def resume_tenant(tenant: Tenant, *, acting_user: User | None) -> Tenant:
    """Lift a suspension."""
    return _change_status(
        tenant,
        Tenant.Status.ACTIVE,
        reason="",
        acting_user=acting_user,
        allowed_from={Tenant.Status.SUSPENDED, Tenant.Status.ACTIVE},
    )


def archive_tenant(
    tenant: Tenant,
    *,
    reason: str = "",
    acting_user: User | None,
    destination: str | os.PathLike[str] | None = None,
) -> Tenant:
    """Export a tenant, then take it off routing for good; its schema and data are kept.

    The export (``tenants.archive``; to ``destination`` or the default export directory)
    runs in the same transaction, with the tenant's tables locked against writes, so it holds
    exactly the data as archived; if it fails, nothing is archived. Its path is on the
    returned tenant as ``export_path`` and, with its checksum, in the audit row.
    """
    written: list[Path] = []

    def export_first(locked: Tenant) -> dict[str, Any]:
        result = write_archive(locked, destination)
        written.append(result.path)
        return {"export": result.summary()}

    tenant = _change_status(
        tenant,
        Tenant.Status.ARCHIVED,
        reason=reason,
        acting_user=acting_user,
        allowed_from={Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED},
        first=export_first,
    )
    tenant.export_path = written[0]  # type: ignore[attr-defined]
    return tenant


def rename_tenant(tenant: Tenant, *, name: str, acting_user: User | None) -> Tenant:
    """Change a tenant's display name (the slug, and so its host and schema, stay)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["The name cannot be empty."]})
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = tenant_snapshot(tenant)
        tenant.name = name
        tenant.save(update_fields=["name", "updated_at"])
        record_event(
            "tenant.renamed",
            acting_user=acting_user,
            target=tenant,
            before=before,
            after=tenant_snapshot(tenant),
        )
    return tenant


def add_custom_domain(tenant: Tenant, domain: str, *, acting_user: User | None) -> Domain:
    """Route an extra host name (e.g. mpp.batam.go.id) to ``tenant``."""
    domain = domain.strip().lower().rstrip(".")
    try:
        validate_custom_domain(domain)
    except ValidationError as exc:
        raise ValidationError({"domain": exc.messages}) from None
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": [f"“{domain}” is already in use."]})
    with transaction.atomic():
        created = Domain.objects.create(tenant=tenant, domain=domain, is_primary=False)
        record_event(
            "tenant.domain_added", acting_user=acting_user, target=tenant, after={"domain": domain}
        )
    return created


def remove_custom_domain(tenant: Tenant, domain: str, *, acting_user: User | None) -> None:
    """Stop routing ``domain`` to ``tenant``."""
    with transaction.atomic():
        deleted, _ = Domain.objects.filter(tenant=tenant, domain=domain.strip().lower()).delete()
        if not deleted:
            raise ValidationError({"domain": [f"{tenant.slug} has no domain “{domain}”."]})
        record_event(
            "tenant.domain_removed",
            acting_user=acting_user,
            target=tenant,
            before={"domain": domain},
        )


def resend_admin_invitation(tenant: Tenant, *, acting_user: User | None) -> str:
    """E-mail the tenant's admin a fresh one-time link (earlier links stop working).

    Returns the link. Refused when the admin has already set a password: they sign in, and
    a forgotten password is reset from the tenant's sign-in page instead.
    """
    from django_tenants.utils import tenant_context

    from mpp.accounts.actions import invite_user

    if tenant.status == Tenant.Status.ARCHIVED:
        raise ValidationError({"status": [f"Tenant {tenant.slug} is archived."]})
    with transaction.atomic():
        with tenant_context(tenant):
            admin = User.objects.filter(email=tenant.admin_email).first()
            if admin is not None and admin.has_usable_password():
                raise ValidationError(
                    {"admin_email": [f"{tenant.admin_email} has already accepted the invitation."]}
                )
            _, link = invite_user(
                tenant.admin_email,
                role=User.Role.TENANT_ADMIN,
                host=tenant.host,
                acting_user=acting_user,
                full_name=admin.full_name if admin else "",
            )
        # The control plane's log says it too, for the province's view of its tenants.
        record_event(
            "tenant.invitation_resent",
            acting_user=acting_user,
            target=tenant,
            after={"admin_email": tenant.admin_email},
        )
    return link
