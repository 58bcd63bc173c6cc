"""Shared set-up for the benches: throw-away databases on the same server as the product.

With no DATABASE_URL the embedded PostgreSQL under .data/ is used, in databases of their
own (``satuatap_bench…``) that are dropped at the end; with DATABASE_URL, the database named
there gets ``_bench…`` siblings.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def use_database(suffix: str = "") -> None:
    """Point this process (before django.setup) at the bench database ``…_bench<suffix>``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        name = parts.path.lstrip("/") + "_bench" + suffix
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    else:
        os.environ["MPP_DB_NAME"] = "satuatap_bench" + suffix
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpp.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Invitations are part of provisioning; keep them in memory instead of on the console.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()


def _reset(create: bool) -> None:
    import psycopg
    from django.db import connection
    from psycopg import sql

    params = connection.get_connection_params()
    name = params["dbname"]
    admin = {k: v for k, v in params.items() if k in {"user", "password", "host", "port"}}
    connection.close()
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(drop)
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def create_database() -> None:
    """(Re)create the configured bench database and migrate it."""
    from django.core.management import call_command

    _reset(create=True)
    with open(os.devnull, "w") as quiet:
        call_command("migrate_all", verbosity=0, stdout=quiet)


def drop_database() -> None:
    """Drop the configured bench database."""
    from tenants.routing import route_cache

    route_cache.stop_listener()
    _reset(create=False)


@contextmanager
def bench_database(suffix: str = "") -> Iterator[None]:
    """A fresh, migrated bench database for the duration of the block."""
    use_database(suffix)
    create_database()
    try:
        yield
    finally:
        drop_database()


def seed_catalogue() -> int:
    """Load the shipped master catalogue and publish it as release 1."""
    from catalog.actions import load_master_catalogue, read_shipped_catalogue
    from catalog.releases import publish_release

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
