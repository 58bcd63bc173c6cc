"""Probes answer on any host, before routing."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.1.2.3", "nobody.localhost"])
def test_healthz_on_any_host(host: str, db: None) -> None:
    response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(db: None) -> None:
    response = Client(HTTP_HOST="10.1.2.3").get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "ok"}


def test_readyz_reports_unapplied_migrations(db: None) -> None:
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from mpp import health

    health._ready_until = 0.0  # forget an earlier positive answer
    latest = max(name for app, name in MigrationLoader(None).disk_migrations if app == "tenants")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'tenants' AND name = %s", [latest]
        )
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 503
    assert response.json()["pending"] == [f"tenants.{latest}"]
