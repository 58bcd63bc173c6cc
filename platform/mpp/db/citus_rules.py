"""The data-model rules that keep every tenant schema movable to its own Citus worker.

With Citus schema-based sharding each tenant schema becomes a *distributed schema*: its
tables are placed together on one worker node, while the public schema stays on the
coordinator. Citus then refuses (``schema_based_sharding.c``, ``EnsureFKeysForTenantTable``
and ``EnsureTableKindSupportedForTenantSchema``):

- a foreign key from a tenant table to another schema, unless the referenced table is a
  Citus *reference table* (copied to every node);
- any foreign key from another schema into a tenant schema;
- table inheritance in a tenant schema, and partitions whose parent is in another schema.

In Django terms, with django-tenants' two lists of apps: a model stored in tenant schemas
(its app in ``TENANT_APPS``) may point at a model stored only in public (``SHARED_APPS``
only) only if that model is listed in :data:`REFERENCE_TABLES`; a model stored in public
never points at a model stored only in tenant schemas; multi-table inheritance never
crosses planes; and no table is pinned to a schema by a qualified ``db_table``. A model in
both lists (users, groups, sessions, the audit log) has one table per schema, and its
relations to other both-plane models stay inside each schema.

:func:`check_models` applies these rules to every installed model; ``manage.py check``
runs it (``mpp.db.apps``) and ``tests/deploy/test_citus_rules.py`` asserts it is clean.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import models

#: Public models a tenant model may reference, because they can be Citus reference tables:
#: small, changed rarely, no triggers (a trigger on a reference table fires on every node),
#: and pointing only at other reference tables. None is needed today — tenant tables copy
#: what they need from public by value — so the list is empty. ``catalog.Agency`` would
#: qualify; ``catalog.Category`` would not while its trigger bumps every tenant's page
#: version (catalog migration 0006).
REFERENCE_TABLES: frozenset[str] = frozenset()


class Plane(enum.StrEnum):
    """Where a model's table lives."""

    PUBLIC = "public"  # SHARED_APPS only: the coordinator
    TENANT = "tenant"  # TENANT_APPS only: every tenant schema
    BOTH = "both"  # in both lists: one table per schema


@dataclass(frozen=True)
class Violation:
    """One broken rule: which model and field, and why."""

    code: str
    model: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.model}.{self.field}" if self.field else self.model
        return f"{self.code} {where}: {self.message}"


def model_plane(
    model: type[models.Model], shared_apps: Iterable[str], tenant_apps: Iterable[str]
) -> Plane | None:
    """The plane of ``model``'s app, or None for an app in neither list."""
    name = model._meta.app_config.name
    shared, tenant = name in shared_apps, name in tenant_apps
    if shared and tenant:
        return Plane.BOTH
    if shared:
        return Plane.PUBLIC
    if tenant:
        return Plane.TENANT
    return None


def _relations(model: type[models.Model]) -> Iterable[tuple[str, type[models.Model]]]:
    """(field name, target model) for each relation stored in ``model``'s own tables."""
    for field in model._meta.local_fields:
        if field.is_relation and field.remote_field is not None:
            yield field.name, field.related_model
    for field in model._meta.local_many_to_many:
        # An explicit through model is a model of its own and is checked as one.
        if field.remote_field.through._meta.auto_created:
            yield field.name, field.related_model


def check_models(
    candidates: Iterable[type[models.Model]] | None = None,
    *,
    shared_apps: Iterable[str] | None = None,
    tenant_apps: Iterable[str] | None = None,
    reference_tables: Iterable[str] = REFERENCE_TABLES,
) -> list[Violation]:
    """Every way ``candidates`` (default: all installed models) break the Citus rules."""
    shared = set(settings.SHARED_APPS if shared_apps is None else shared_apps)
    tenant = set(settings.TENANT_APPS if tenant_apps is None else tenant_apps)
    references = set(reference_tables)
    if candidates is None:
        candidates = apps.get_models()
    found: list[Violation] = []

    def plane(model: Any) -> Plane | None:
        return model_plane(model, shared, tenant)

    for model in candidates:
        meta = model._meta
        if meta.proxy:
            continue  # the concrete model's table, checked there
        source = plane(model)
        if source is None:
            continue
        label = meta.label
        if "." in meta.db_table or '"' in meta.db_table:
            found.append(
                Violation(
                    "citus.E005",
                    label,
                    "",
                    f"db_table {meta.db_table!r} names a schema: a table must live in its "
                    "plane's schema, found through the search path",
                )
            )
        for parent in meta.parents:
            if plane(parent) != source:
                found.append(
                    Violation(
                        "citus.E004",
                        label,
                        "",
                        f"inherits from {parent._meta.label} ({plane(parent)}) but is stored "
                        f"in {source}: multi-table inheritance must stay in one plane",
                    )
                )
        for name, target in _relations(model):
            if isinstance(target, str):
                continue  # unresolved lazy reference; Django's own checks report it
            target_plane, target_label = plane(target), target._meta.label
            if (
                source in (Plane.TENANT, Plane.BOTH)
                and target_plane == Plane.PUBLIC
                and target_label not in references
            ):
                found.append(
                    Violation(
                        "citus.E001",
                        label,
                        name,
                        f"a tenant-schema table points at {target_label}, which lives only "
                        "in public and is not an allowed reference table "
                        "(mpp.db.citus_rules.REFERENCE_TABLES): copy the values instead",
                    )
                )
            if source in (Plane.PUBLIC, Plane.BOTH) and target_plane == Plane.TENANT:
                found.append(
                    Violation(
                        "citus.E002",
                        label,
                        name,
                        f"a public table points at {target_label}, which lives only in "
                        "tenant schemas: nothing in public may reference a tenant schema",
                    )
                )
    found.extend(_reference_table_violations(references, plane))
    return found


def _reference_table_violations(references: set[str], plane: Any) -> list[Violation]:
    """A listed reference table must be public-only and point only at reference tables."""
    found: list[Violation] = []
    for label in sorted(references):
        try:
            model = apps.get_model(label)
        except LookupError:
            found.append(Violation("citus.E003", label, "", "listed but not a model"))
            continue
        if plane(model) != Plane.PUBLIC:
            found.append(
                Violation(
                    "citus.E003",
                    label,
                    "",
                    f"a reference table must live only in public, not in {plane(model)}",
                )
            )
        for name, target in _relations(model):
            if not isinstance(target, str) and target._meta.label not in references:
                found.append(
                    Violation(
                        "citus.E003",
                        label,
                        name,
                        f"a reference table may point only at reference tables, not at "
                        f"{target._meta.label}",
                    )
                )
    return found


def check_citus_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Django system check: report each Citus rule a model breaks as an error."""
    return [
        checks.Error(v.message, obj=f"{v.model}.{v.field}" if v.field else v.model, id=v.code)
        for v in check_models()
    ]
