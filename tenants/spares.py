"""Spare schemas: clones of the template made ahead of time.

Provisioning a tenant then renames a spare (``ALTER SCHEMA … RENAME``, about a millisecond)
instead of cloning on the spot (a few tens of milliseconds of DDL); the pool is topped up
again in a background thread once the provisioning has committed. When no usable spare is
there — the pool is empty, disabled (``TENANT_SPARE_SCHEMAS=0``) or its spares predate a
migration — provisioning clones the template inline, so spares only ever save time.

Spares are not tenants: no row points at them, nothing routes to them, and ``mpp migrate``
replaces them after the template changes.
"""

from __future__ import annotations

import logging
import threading
import uuid

from django.conf import settings
from django.db import connection, connections, transaction
from psycopg import sql

from mpp.db.locks import advisory_lock

logger = logging.getLogger(__name__)

SPARE_PREFIX = "tenant_spare_"
_REFILL_LOCK_KEY = 0x5A7A_5BA2


def _quoted(name: str) -> str:
    return sql.Identifier(name).as_string()


def list_spares() -> list[str]:
    """Names of the spare schemas, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY oid",
            [SPARE_PREFIX],
        )
        return [name for (name,) in cursor.fetchall()]


def _is_current(schema: str) -> bool:
    from tenants.provisioning import applied_migrations, expected_tenant_migrations

    return expected_tenant_migrations() <= applied_migrations(schema)


def claim_spare(target: str) -> bool:
    """Rename a current spare to ``target`` inside the caller's transaction.

    Returns False when there is none to take. A spare found stale is dropped on the way.
    Concurrent provisioners never take the same spare: each claim holds a transaction-level
    advisory lock on the spare's name, and re-checks it still exists once it has the lock.
    """
    for name in list_spares():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [name])
            if not cursor.fetchone()[0]:
                continue
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
            if cursor.fetchone() is None:
                continue  # taken by a provisioning that committed while we waited
            if not _is_current(name):
                cursor.execute(f"DROP SCHEMA {_quoted(name)} CASCADE")
                continue
            cursor.execute(f"ALTER SCHEMA {_quoted(name)} RENAME TO {_quoted(target)}")
            return True
    return False


def refill(count: int | None = None) -> int:
    """Create spares until there are ``count`` (default: the setting); return how many made.

    Only one process refills at a time; another one calling meanwhile returns 0 at once.
    """
    from tenants.provisioning import clone_schema, ensure_template

    wanted = settings.TENANT_SPARE_SCHEMAS if count is None else count
    if wanted <= 0:
        return 0
    made = 0
    # Held on a connection of its own, which a pooler in transaction mode cannot take away
    # between the statements below (mpp/db/locks.py).
    with advisory_lock(_REFILL_LOCK_KEY, wait=False) as acquired:
        if not acquired:
            return 0
        ensure_template()
        for name in list_spares():
            if not _is_current(name):
                drop_spare(name)
        while len(list_spares()) < wanted:
            with transaction.atomic():
                clone_schema(settings.TENANT_TEMPLATE_SCHEMA, SPARE_PREFIX + uuid.uuid4().hex[:12])
            made += 1
    return made


def drop_spare(name: str) -> None:
    """Drop one spare schema (never a tenant's: the name must carry the spare prefix)."""
    if not name.startswith(SPARE_PREFIX):
        raise ValueError(f"{name} is not a spare schema")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quoted(name)} CASCADE")


def _refill_and_close() -> None:
    try:
        refill()
    except Exception:
        logger.warning("refilling spare schemas failed", exc_info=True)
    finally:
        connections.close_all()


def refill_in_background() -> threading.Thread | None:
    """Top the pool up in a thread of its own (it has its own database connection).

    Not a daemon thread: a one-shot CLI command finishes the spare it started rather than
    leave the work half done at exit.
    """
    if settings.TENANT_SPARE_SCHEMAS <= 0:
        return None
    thread = threading.Thread(target=_refill_and_close, name="tenant-spare-refill")
    thread.start()
    return thread
