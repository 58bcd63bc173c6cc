"""Tenant B cannot reach tenant A's data: cache keys, sessions, staff pages."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from catalog.local.models import LocalService
from mpp.accounts.models import User
from tenants.models import Tenant


def test_cache_keys_are_per_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        cache.set("home-page", "alpha's page")
    with tenant_context(tenant_b):
        assert cache.get("home-page") is None
        cache.set("home-page", "beta's page")
    with tenant_context(tenant_a):
        assert cache.get("home-page") == "alpha's page"
    assert connection.schema_name == "public"
    assert cache.get("home-page") is None


def test_a_session_from_one_tenant_is_worthless_on_another(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_a):
        staff = User.objects.get(email="admin@alpha.go.id")
        staff.set_password("Rahasia-Alpha-1")
        staff.save()
    alpha = Client(HTTP_HOST="alpha.localhost")
    response = alpha.post(
        "/staff/login/", {"username": "admin@alpha.go.id", "password": "Rahasia-Alpha-1"}
    )
    assert response.status_code == 302
    session_id = alpha.cookies["sessionid"].value
    with tenant_context(tenant_a):
        from django.contrib.sessions.models import Session

        assert Session.objects.filter(session_key=session_id).exists()
    with tenant_context(tenant_b):
        assert not Session.objects.filter(session_key=session_id).exists()
    connection.set_schema_to_public()  # a request leaves the connection on its tenant
    assert not Session.objects.filter(session_key=session_id).exists()  # nor in public
    # The login page redirects a signed-in user away; an anonymous one gets the form.
    assert alpha.get("/staff/login/").status_code == 302
    replayed = Client(HTTP_HOST="beta.localhost")
    replayed.cookies["sessionid"] = session_id
    assert replayed.get("/staff/login/").status_code == 200


def test_tenant_rows_live_only_in_their_schema(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        LocalService.objects.filter(key__startswith="dukcapil").update(enabled=False)
        disabled_in_a = LocalService.objects.filter(enabled=False).count()
    assert disabled_in_a > 0
    with tenant_context(tenant_b):
        assert LocalService.objects.filter(enabled=False).count() == 0
    beta_page = Client(HTTP_HOST="beta.localhost").get("/layanan/").content.decode()
    alpha_page = Client(HTTP_HOST="alpha.localhost").get("/layanan/").content.decode()
    assert alpha_page.count("<li>") + disabled_in_a == beta_page.count("<li>")
