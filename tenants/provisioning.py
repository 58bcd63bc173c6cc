"""Provisioning: a new tenant is a clone of a migrated template schema, then seeded.

``provision_tenant`` is the single way a tenant comes into existence: the CLI, the API,
the demo loader, the benches and the test fixtures all call it. It runs in one transaction
(PostgreSQL DDL is transactional), so a failure at any step leaves no tenant row, domain,
schema, user or catalogue behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import (
    app_labels,
    get_public_schema_name,
    schema_context,
    schema_exists,
    tenant_context,
)
from psycopg import sql

from catalog.local import seeding
from mpp.accounts.actions import invite_user
from mpp.accounts.models import User
from mpp.audit.actions import record_event
from mpp.db.locks import advisory_lock
from stats.tasks import schedule_refresh
from tenants import spares
from tenants.models import Domain, Province, Tenant
from tenants.validators import schema_name_for, validate_custom_domain

logger = logging.getLogger(__name__)

ProvisionMethod = Literal["clone", "migrate"]
# Serialises template rebuilds across processes (any constant unique to this use).
_TEMPLATE_LOCK_KEY = 0x5A7A_7E3A


@cache
def expected_tenant_migrations() -> frozenset[tuple[str, str]]:
    """Every (app, migration) the tenant apps define on disk."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = set(app_labels(settings.TENANT_APPS))
    return frozenset(key for key in loader.disk_migrations if key[0] in labels)


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    """The migrations recorded in ``schema``'s own django_migrations table."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT app, name FROM {}.django_migrations")
            .format(sql.Identifier(schema))
            .as_string()
        )
        return set(cursor.fetchall())


def template_state() -> Literal["missing", "stale", "current"]:
    """Whether the template schema exists and carries every tenant migration."""
    template = settings.TENANT_TEMPLATE_SCHEMA
    if not schema_exists(template):
        return "missing"
    try:
        with transaction.atomic():
            applied = applied_migrations(template)
    except Exception:
        return "stale"
    return "current" if expected_tenant_migrations() <= applied else "stale"


def clone_schema(source: str, target: str) -> None:
    """Copy ``source`` (tables, keys, indexes, rows, triggers) into a new schema ``target``.

    See the ``mpp_clone_schema`` SQL function (tenants migration 0003).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT mpp_clone_schema(%s, %s)", [source, target])


def migrate_schema(schema: str, *, verbosity: int = 0) -> None:
    """Create ``schema`` if needed and apply every tenant migration to it."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)).as_string()
        )
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=schema,
        interactive=False,
        verbosity=verbosity,
    )
    connection.set_schema_to_public()


def ensure_template(*, verbosity: int = 0) -> str:
    """Bring the template schema up to date; return 'current', 'created' or 'migrated'.

    Runs under an advisory lock so that concurrent provisioners migrate it once.
    """
    state = template_state()
    if state == "current":
        return state
    started = time.monotonic()
    # Held on a connection of its own: a session lock must outlive the transactions a
    # pooler in transaction mode would spread the work over (mpp/db/locks.py).
    with advisory_lock(_TEMPLATE_LOCK_KEY):
        state = template_state()
        if state == "current":
            return state
        migrate_schema(settings.TENANT_TEMPLATE_SCHEMA, verbosity=verbosity)
    result = "created" if state == "missing" else "migrated"
    logger.info("template schema %s in %.1fs", result, time.monotonic() - started)
    return result


@dataclass
class TenantSpec:
    """Everything needed to create a tenant, as given by a person or an import."""

    province: Province
    name: str
    slug: str
    kind: str
    region_code: str
    admin_email: str
    time_zone: str = ""
    custom_domains: Iterable[str] = field(default_factory=tuple)
    admin_name: str = ""


def provision_tenant(
    spec: TenantSpec,
    *,
    acting_user: User | None,
    method: ProvisionMethod = "clone",
    seed_catalogue: bool = True,
    invite_admin: bool = True,
) -> Tenant:
    """Create a tenant: row, domains, schema (cloned), catalogue, invited admin; one transaction.

    Raises ``ValidationError`` (with per-field messages) for bad input before touching the
    database schema. ``method='migrate'`` runs every migration instead of cloning; it exists
    for the provisioning benchmark and as the fallback path's test. A restore from an archive
    (``tenants.archive``) passes ``seed_catalogue=False, invite_admin=False``: the archive
    brings the catalogue and the users, and nobody must get an invitation to a schema whose
    rows are about to be replaced.
    """
    tenant = _tenant_from_spec(spec)
    # Tenants are control-plane rows: whatever schema the caller was on, work in public.
    with schema_context(get_public_schema_name()):
        errors = _new_tenant_errors(tenant, list(spec.custom_domains))
        if errors:
            raise ValidationError(errors)
        if method == "clone":
            ensure_template()
        with transaction.atomic():
            tenant.save()
            for domain in spec.custom_domains:
                Domain.objects.create(
                    tenant=tenant, domain=domain.strip().lower(), is_primary=False
                )
            built_by = method
            if method == "migrate":
                migrate_schema(tenant.schema_name)
            elif spares.claim_spare(tenant.schema_name):
                built_by = "spare"
            else:
                clone_schema(settings.TENANT_TEMPLATE_SCHEMA, tenant.schema_name)
            _initialise_tenant_schema(
                tenant,
                acting_user=acting_user,
                seed_catalogue=seed_catalogue,
                invite_admin=invite_admin,
                admin_name=spec.admin_name.strip(),
            )
            schedule_refresh(tenant.schema_name)  # the province dashboard's first figures
            record_event(
                "tenant.provisioned",
                acting_user=acting_user,
                target=tenant,
                after=tenant_snapshot(tenant) | {"method": built_by},
            )
            if method != "migrate":
                transaction.on_commit(spares.refill_in_background)
    logger.debug("provisioned tenant %s (%s)", tenant.slug, method)
    return tenant


def _tenant_from_spec(spec: TenantSpec) -> Tenant:
    slug = spec.slug.strip().lower()
    return Tenant(
        province=spec.province,
        name=spec.name.strip(),
        slug=slug,
        schema_name=schema_name_for(slug),
        kind=spec.kind,
        region_code=spec.region_code.strip(),
        time_zone=spec.time_zone or spec.province.time_zone,
        admin_email=spec.admin_email.strip().lower(),
    )


def spec_errors(spec: TenantSpec) -> dict[str, list[str]]:
    """What is wrong with ``spec`` for a new tenant, by field (empty when it is fine)."""
    with schema_context(get_public_schema_name()):
        return _new_tenant_errors(_tenant_from_spec(spec), list(spec.custom_domains))


def _new_tenant_errors(tenant: Tenant, custom_domains: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        tenant.full_clean(exclude=["domain_url"])
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    if "slug" not in errors and "schema_name" not in errors and schema_exists(tenant.schema_name):
        errors["slug"] = [f"A schema named {tenant.schema_name} already exists."]
    if "slug" in errors:
        errors.pop("schema_name", None)  # the same problem, said once in the slug's words
    for domain in custom_domains:
        try:
            validate_custom_domain(domain)
        except ValidationError as exc:
            errors.setdefault("custom_domains", []).extend(exc.messages)
            continue
        if Domain.objects.filter(domain=domain.lower()).exists():
            errors.setdefault("custom_domains", []).append(f"“{domain}” is already in use.")
    return errors


def _initialise_tenant_schema(
    tenant: Tenant,
    *,
    acting_user: User | None,
    seed_catalogue: bool,
    invite_admin: bool = True,
    admin_name: str = "",
) -> None:
    """Fill a fresh schema: the catalogue and the tenant's first admin (invited by e-mail)."""
    with tenant_context(tenant):
        if seed_catalogue:
            seeding.seed_tenant_catalogue(tenant)
        if not invite_admin:
            return
        invite_user(
            tenant.admin_email,
            role=User.Role.TENANT_ADMIN,
            host=tenant.host,
            acting_user=acting_user,
            full_name=admin_name,
        )


def tenant_snapshot(tenant: Tenant) -> dict[str, Any]:
    """The audited fields of a tenant."""
    return {
        "name": tenant.name,
        "slug": tenant.slug,
        "province": tenant.province_id,
        "kind": tenant.kind,
        "region_code": tenant.region_code,
        "time_zone": tenant.time_zone,
        "status": tenant.status,
        "status_reason": tenant.status_reason,
        "admin_email": tenant.admin_email,
    }
