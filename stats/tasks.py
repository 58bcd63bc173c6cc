"""Keeping the rollup current: a background task per changed tenant, queued on commit.

Every action that changes a tenant's data calls ``schedule_refresh()`` inside its
transaction. Nothing is queued until the transaction commits (a rolled-back change queues
nothing), and a transaction queues one refresh per tenant however many changes it makes —
an import of 200 rows is one refresh, not 200.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

from mpp.tasks import tenant_task

logger = logging.getLogger(__name__)


@tenant_task()
def refresh_tenant_stats_task(schema_name: str) -> dict[str, Any]:
    """Recompute the rollup rows of the tenant owning ``schema_name`` (runs inside it)."""
    from stats.rollup import refresh_tenant_stats

    snapshot = refresh_tenant_stats(connection.tenant)
    return {"schema": schema_name, "refreshed_at": snapshot.refreshed_at.isoformat()}


class _EnqueueRefresh:
    """The on-commit callback; its schema lets a transaction see what it already queued."""

    def __init__(self, schema_name: str) -> None:
        self.schema_name = schema_name

    def __call__(self) -> None:
        refresh_tenant_stats_task.enqueue(self.schema_name)

    def __repr__(self) -> str:
        return f"<refresh stats of {self.schema_name}>"


def schedule_refresh(schema_name: str | None = None) -> None:
    """Queue a refresh of a tenant's rollup once the current transaction commits.

    ``schema_name`` defaults to the schema the connection is working in; in the public
    schema that is no tenant's, and nothing is queued. Called again in the same
    transaction for the same tenant, it does nothing.
    """
    schema = schema_name or connection.schema_name
    if not schema or schema == get_public_schema_name():
        return
    # Django keeps the callbacks of the open transaction (and drops those of a rolled-back
    # savepoint) in run_on_commit; looking there needs no bookkeeping of our own that a
    # rollback could leave stale.
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _EnqueueRefresh) and callback.schema_name == schema:
            return
    # robust: the change itself has committed; a queue failure must not turn it into an
    # error page. The rollup is derived data and `mpp stats rebuild` restores it.
    transaction.on_commit(_EnqueueRefresh(schema), robust=True)
