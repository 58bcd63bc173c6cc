"""Shared set-up for the benches: a throw-away database on the same server as the product.

With no DATABASE_URL the embedded PostgreSQL under .data/ is used, in a database of its own
(``satuatap_bench``) that is dropped at the end; with DATABASE_URL, the database named there
gets a ``_bench`` sibling.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

BENCH_DB = "satuatap_bench"


def _point_at_bench_database() -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        name = parts.path.lstrip("/") + "_bench"
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    else:
        os.environ["MPP_DB_NAME"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpp.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Invitations are part of provisioning; keep them in memory instead of on the console.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")


@contextmanager
def bench_database() -> Iterator[None]:
    """Create a fresh, migrated bench database; drop it afterwards."""
    _point_at_bench_database()
    import django
    import psycopg
    from psycopg import sql

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    params = connection.get_connection_params()
    name = params["dbname"]
    admin = {k: v for k, v in params.items() if k in {"user", "password", "host", "port"}}

    def reset(create: bool) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if create:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    connection.close()
    reset(create=True)
    call_command("migrate_all", verbosity=0, stdout=open(os.devnull, "w"))
    try:
        yield
    finally:
        from tenants.routing import route_cache

        route_cache.stop_listener()
        connection.close()
        reset(create=False)


def seed_catalogue() -> int:
    """Load the shipped master catalogue and publish it as release 1."""
    from catalog.actions import load_master_catalogue, publish_release, read_shipped_catalogue

    counts = load_master_catalogue(read_shipped_catalogue(), acting_user=None)
    publish_release(acting_user=None)
    return counts["services"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
