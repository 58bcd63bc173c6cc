"""The one function that writes audit rows."""

from __future__ import annotations

from typing import Any

from django.db import connection

from mpp.audit.models import AuditEvent


def record_event(
    action: str,
    *,
    acting_user: Any | None,
    target: Any | None,
    target_type: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write an audit row in the current schema for ``action`` on ``target``.

    ``target`` may be None for an action on a whole collection; name it by ``target_type``.
    """
    return AuditEvent.objects.create(
        actor_id=getattr(acting_user, "pk", None),
        actor_email=getattr(acting_user, "email", "") or "",
        actor_schema=getattr(acting_user, "_schema", "") or connection.schema_name,
        action=action,
        target_type=target_type or target._meta.label_lower,
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        before=before or {},
        after=after or {},
    )
