"""Shared fixtures: two provinces, and tenants A and B built once per test session.

Everything is created through the same actions the product uses (``create_province``,
``provision_tenant``, ``publish_release``), against a real PostgreSQL: the embedded one
unless ``DATABASE_URL`` names a server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.actions import load_master_catalogue, read_shipped_catalogue
from catalog.releases import publish_release
from mpp.accounts.models import User
from tenants.actions import create_province
from tenants.models import Province, Tenant
from tenants.provisioning import TenantSpec, provision_tenant
from tenants.routing import route_cache

# CI explores the same examples on every run, so a landing is never decided by chance; a
# developer's run explores new ones each time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# Tenant A lives in Kepulauan Riau (WIB); tenant B in Kalimantan Timur (WITA).
A = {"slug": "alpha", "name": "Kota Alpha", "kind": "kota", "region_code": "21.91"}
B = {"slug": "beta", "name": "Kabupaten Beta", "kind": "kabupaten", "region_code": "64.91"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: their server needs committed data of its own."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Migrate once, then build the catalogue, two provinces and tenants A and B."""
    from django.conf import settings

    # pytest-django creates a test database only when a collected test asks for one; never
    # let the fixtures below write into a real database.
    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        pytest.exit(f"refusing to build test fixtures in database {name!r}", returncode=3)

    # No background refills racing the tests; tests of spares turn the pool on themselves.
    settings.TENANT_SPARE_SCHEMAS = 0
    with django_db_blocker.unblock():
        load_master_catalogue(read_shipped_catalogue(), acting_user=None)
        publish_release(acting_user=None, changelog="test release")
        kepri = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        kaltim = create_province(
            code="64", name="Kalimantan Timur", time_zone="Asia/Makassar", acting_user=None
        )
        provision_tenant(
            TenantSpec(province=kepri, admin_email="admin@alpha.go.id", **A), acting_user=None
        )
        provision_tenant(
            TenantSpec(province=kaltim, admin_email="admin@beta.go.id", **B), acting_user=None
        )
    yield
    # The listener holds a connection to the test database, which must be dropped next; so
    # may a connection opened in another context (the browser tests' event loop).
    route_cache.stop_listener()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_routing_state() -> Iterator[None]:
    """Each test starts on the public schema with empty routing and Django caches.

    Test transactions roll back without notifying, so a host cached in one test could
    otherwise outlive the rows it described.
    """
    route_cache.clear()
    # Rate-limit counts and cached pages are per process and would otherwise carry over
    # from one test to the next.
    cache.clear()
    yield
    route_cache.clear()
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Archives a test makes (exports, archiving a tenant) go to its own temporary folder."""
    settings.TENANT_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return Tenant.objects.get(slug=A["slug"])


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return Tenant.objects.get(slug=B["slug"])


@pytest.fixture
def kepri(db: None) -> Province:
    return Province.objects.get(code="21")


@pytest.fixture
def kaltim(db: None) -> Province:
    return Province.objects.get(code="64")


@pytest.fixture
def operator(db: None) -> User:
    with schema_context("public"):
        return User.objects.create_user(
            "operator@satuatap.test",
            "s3cret-Operator",
            role="operator",
            is_superuser=True,
            is_staff=True,
        )


@pytest.fixture
def kepri_admin(db: None, kepri: Province) -> User:
    user = User.objects.create_user(
        "admin@kepriprov.go.id", "s3cret-Kepri", role=User.Role.PROVINCE_ADMIN, is_staff=True
    )
    kepri.admins.add(user)
    return user


@pytest.fixture
def kaltim_admin(db: None, kaltim: Province) -> User:
    user = User.objects.create_user(
        "admin@kaltimprov.go.id", "s3cret-Kaltim", role=User.Role.PROVINCE_ADMIN, is_staff=True
    )
    kaltim.admins.add(user)
    return user


def api_client_for(user: User | None) -> APIClient:
    """An API client on the apex host, authenticated by ``user``'s token when given."""
    client = APIClient(HTTP_HOST="localhost")
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def spec(province: Province, **overrides: Any) -> TenantSpec:
    """A valid tenant spec in ``province``; override any field."""
    fields = {
        "name": "Kabupaten Gamma",
        "slug": "gamma",
        "kind": "kabupaten",
        "region_code": "21.92",
        "admin_email": "admin@gamma.go.id",
    } | overrides
    return TenantSpec(province=province, **fields)
