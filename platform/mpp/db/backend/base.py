"""django-tenants' PostgreSQL backend made safe behind a transaction-pooling PgBouncer.

django-tenants points a connection at a tenant with a session-level ``SET search_path``,
issued when a cursor is created and, with ``TENANT_LIMIT_SET_CALLS``, only when the schema
changes. Behind PgBouncer in transaction mode a session is not one server connection: each
transaction may run on a different one, and a ``SET`` stays behind on the server connection
it ran on, for whichever client gets it next. In autocommit mode (Django's default outside
``atomic``) the ``SET`` and the next query are two transactions, so the query can run with
another tenant's path — rows read from, or written into, the wrong tenant.

This backend never leaves a search path on a server connection and never relies on one:

- inside a transaction it issues ``SET LOCAL search_path`` once per transaction (again after
  a schema switch or a savepoint rollback), which ends with the transaction;
- a statement run in autocommit mode is wrapped in a transaction of its own —
  ``BEGIN; SET LOCAL search_path …`` (one round trip), the statement, ``COMMIT`` — so path
  and statement reach the same server connection together.

Session-level advisory locks (``pg_advisory_lock``) are refused with an error: behind the
pooler they would be taken on one server connection and never released (see
``mpp.db.locks``). The few statements PostgreSQL refuses inside a transaction block
(``CREATE DATABASE``, ``VACUUM``, ``… CONCURRENTLY``, ``ALTER SYSTEM``) run as they are; none
of them depends on the search path except ``CREATE INDEX CONCURRENTLY``, which is why
migrations should run over a direct connection (``DATABASE_DIRECT_URL``, see
docs/operations.md). ``COPY`` through ``cursor.copy()`` bypasses Django's execute hooks: run
it inside ``transaction.atomic()`` (the tenant export and restore do).

Selected with ``DB_POOL_MODE=transaction``; Django's documented requirement for transaction
pooling, ``DISABLE_SERVER_SIDE_CURSORS``, is enforced here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import DatabaseError, NotSupportedError
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name
from psycopg.pq import TransactionStatus

# Statements PostgreSQL will not run inside a transaction block.
_NO_TRANSACTION = re.compile(
    r"^\s*(?:(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)\b|VACUUM\b|ALTER\s+SYSTEM\b"
    r"|(?:CREATE|DROP|REINDEX)\b[^;]*\bCONCURRENTLY\b)",
    re.IGNORECASE,
)

# Session-level advisory locks (not the _xact_ ones): they belong to a server connection.
_SESSION_LOCK = re.compile(r"\bpg_(?:try_)?advisory_(?:un)?lock(?:_shared)?\s*\(", re.IGNORECASE)


def _set_local(search_paths: list[str]) -> str:
    return "SET LOCAL search_path = " + ",".join(quote_schema_name(s) for s in search_paths)


class DatabaseWrapper(TenantDatabaseWrapper):
    """A tenant-aware connection whose every statement carries its own search path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A server-side cursor in autocommit mode is WITH HOLD: it outlives the transaction
        # and therefore the server connection PgBouncer lent for it.
        if not self.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
            raise ImproperlyConfigured(
                f"DATABASES[{self.alias!r}] uses mpp.db.backend (transaction pooling) and "
                "must set DISABLE_SERVER_SIDE_CURSORS = True"
            )
        # First in the list, so it is the outermost wrapper: wrappers added later (tests
        # counting queries) see the statement, not the BEGIN/SET/COMMIT around it.
        self.execute_wrappers.insert(0, self._carry_search_path)

    # --- when the path must be set again ---------------------------------------------------

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self.search_path_set_schemas = None  # SET LOCAL ended with the transaction

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self.search_path_set_schemas = None

    def _set_autocommit(self, autocommit: bool) -> None:
        self.search_path_set_schemas = None  # a new transaction starts, maybe elsewhere
        super()._set_autocommit(autocommit)

    # --- setting it ------------------------------------------------------------------------

    def _outside_transaction(self) -> bool:
        conn = self.connection
        return bool(conn.autocommit) and conn.info.transaction_status == TransactionStatus.IDLE

    def _handle_search_path(self, cursor: Any = None) -> None:
        """In a transaction, ``SET LOCAL`` the path once; outside one, each statement sets it."""
        if self._setting_search_path or self.connection is None:
            return
        if self._outside_transaction():
            return
        if not self.schema_name:
            raise ImproperlyConfigured(
                "Database schema not set. Did you forget to call set_schema() or set_tenant()?"
            )
        search_paths = self._get_cursor_search_paths()
        if self.search_path_set_schemas == search_paths:
            return
        self._setting_search_path = True
        target = self.connection.cursor() if cursor is None else cursor
        try:
            target.execute(_set_local(search_paths))
        except (DatabaseError, psycopg.Error):
            # As django-tenants does: in an aborted transaction the SET fails like the
            # statement after it will; the caller's rollback is what comes next.
            self.search_path_set_schemas = None
        else:
            self.search_path_set_schemas = search_paths
        finally:
            self._setting_search_path = False
            if cursor is None:
                target.close()

    def _carry_search_path(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        """Execute wrapper: make sure the statement runs with this connection's path."""
        if self._setting_search_path:  # the SET LOCAL itself
            return execute(sql, params, many, context)
        if isinstance(sql, str) and _SESSION_LOCK.search(sql):
            # Taken on one pooled server connection and released (or not) on another, such
            # a lock would outlive its holder and block every later taker: refuse it loudly.
            raise NotSupportedError(
                "session-level advisory locks do not work through a transaction pooler; "
                "use pg_advisory_xact_lock in a transaction or mpp.db.locks.advisory_lock"
            )
        if not self._outside_transaction():
            self._handle_search_path()
            return execute(sql, params, many, context)
        if isinstance(sql, str) and _NO_TRANSACTION.match(sql):
            return execute(sql, params, many, context)
        conn = self.connection
        # Two statements, one round trip: no parameters, so psycopg sends them as a simple
        # query, and PgBouncer keeps the server connection until the COMMIT below.
        with self.wrap_database_errors, conn.cursor() as cursor:
            cursor.execute("BEGIN; " + _set_local(self._get_cursor_search_paths()))
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            try:
                conn.rollback()
            except psycopg.Error:
                pass  # the connection is gone; the statement's own error says more
            raise
        with self.wrap_database_errors:
            conn.commit()
        return result
