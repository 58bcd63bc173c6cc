"""Background tasks that belong to a tenant: each carries its schema and runs inside it.

SatuAtap uses the Django Tasks API (``django_tasks``, the backport of Django 6's
``django.tasks``) with the database backend, so the queue is a table in the public schema
and PostgreSQL stays the only service. A worker process (``mpp worker``, also started by
``mpp up``) takes tasks from that table, whatever tenant they belong to; so a task must say
which tenant it is for and must not trust the worker's connection to be anywhere in
particular. ``tenant_task`` makes that the only way to write one::

    @tenant_task()
    def recount(schema_name: str, *, day: str) -> int:
        ...  # runs inside schema_name, with connection.tenant set

    recount.enqueue(tenant.schema_name, day="2026-11-30")

The schema is looked up in the public schema on every run: a task for a schema that is no
tenant's (public, the template, a spare, a typo) or for an archived tenant is refused with
``TenantTaskRefused`` before any of its code runs, and the worker records it as failed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django_tasks import task
from django_tasks.base import Task
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

T = TypeVar("T")


class TenantTaskRefused(Exception):
    """A tenant task was asked to run in a schema it may not run in."""


def tenant_for_schema(schema_name: Any) -> Any:
    """The live tenant owning ``schema_name``; raise ``TenantTaskRefused`` otherwise."""
    from tenants.models import Tenant

    if not isinstance(schema_name, str) or not schema_name:
        raise TenantTaskRefused(f"a tenant task needs a schema name, got {schema_name!r}")
    with schema_context(get_public_schema_name()):
        tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        raise TenantTaskRefused(f"no tenant has the schema {schema_name!r}; task refused")
    if tenant.status == Tenant.Status.ARCHIVED:
        raise TenantTaskRefused(f"tenant {tenant.slug} is archived; task refused")
    return tenant


def tenant_task(**options: Any) -> Callable[[Callable[..., T]], Task[Any, T]]:
    """Decorate ``fn(schema_name, …)`` into a task that runs inside that tenant's schema.

    ``options`` are those of ``django_tasks.task`` (priority, queue_name, backend).
    """

    def decorator(fn: Callable[..., T]) -> Task[Any, T]:
        @functools.wraps(fn)
        def run_in_tenant_schema(schema_name: str, *args: Any, **kwargs: Any) -> T:
            tenant = tenant_for_schema(schema_name)
            with tenant_context(tenant):
                return fn(schema_name, *args, **kwargs)

        return task(**options)(run_in_tenant_schema)

    return decorator
