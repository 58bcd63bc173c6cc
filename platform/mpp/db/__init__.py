"""Database plumbing for running many processes against one PostgreSQL (see docs/operations.md).

- ``mpp.db.backend``: django-tenants' backend made safe behind PgBouncer in transaction mode
  (``DB_POOL_MODE=transaction``);
- :func:`direct_connection_params`: where to open a connection that must keep its session —
  ``LISTEN``, session advisory locks — past a transaction pooler (``DATABASE_DIRECT_URL``);
- ``mpp.db.citus_rules``: the data-model rules that keep each tenant schema movable to its
  own Citus worker, checked by ``manage.py check`` and the test suite.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

#: The ``DATABASES`` alias of the direct (unpooled) connection, when one is configured.
DIRECT_ALIAS = "direct"

# Keys Django's PostgreSQL backend adds for its own cursors; libpq does not know them.
_DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold", "server_side_binding")


def direct_connection_params() -> dict[str, Any]:
    """psycopg ``connect()`` keywords for a connection that keeps its session.

    ``LISTEN`` and session-level locks need one server connection for their whole life, which
    PgBouncer in transaction mode does not give: with ``DATABASE_DIRECT_URL`` set they go
    there (the ``direct`` alias), otherwise to the default database.
    """
    alias = DIRECT_ALIAS if DIRECT_ALIAS in connections.settings else "default"
    params = dict(connections[alias].get_connection_params())
    for key in _DJANGO_ONLY:
        params.pop(key, None)
    return params
