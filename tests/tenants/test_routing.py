"""Host routing: apex, tenant subdomains, custom domains, unknown/archived/suspended hosts."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from catalog.local.models import LocalService
from tenants import actions
from tenants.models import Tenant
from tenants.routing import route_cache


def get(host: str, path: str = "/") -> Any:
    return Client(HTTP_HOST=host).get(path)


def test_apex_lists_provinces_and_their_tenants(tenant_a: Tenant, tenant_b: Tenant) -> None:
    page = get("localhost").content.decode()
    assert "Kepulauan Riau" in page and "Kalimantan Timur" in page
    assert "alpha.localhost" in page and "beta.localhost" in page


def test_tenant_host_shows_its_own_name_and_services(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        LocalService.objects.create(
            key="alpha-antar-berkas", origin="local", agency_code="dukcapil",
            agency_name="Dinas Kependudukan", name_id="Antar Berkas ke Pulau Alpha",
        )  # fmt: skip
        expected = LocalService.objects.filter(enabled=True).count()
    page_a = get("alpha.localhost").content.decode()
    page_b = get("beta.localhost").content.decode()
    assert "Kota Alpha" in page_a and "Kabupaten Beta" not in page_a
    assert "Kabupaten Beta" in page_b and "Kota Alpha" not in page_b
    assert f"{expected} layanan" in page_a
    # The home page shows a selection; the full list is /layanan/.
    services_a = get("alpha.localhost", "/layanan/").content.decode()
    services_b = get("beta.localhost", "/layanan/").content.decode()
    assert "Antar Berkas ke Pulau Alpha" in services_a
    assert "Antar Berkas ke Pulau Alpha" not in services_b


@pytest.mark.parametrize("host", ["unknown.localhost", "a.b.localhost", "example.org", "10.0.0.1"])
def test_unknown_host_is_a_plain_404(host: str, tenant_a: Tenant) -> None:
    response = get(host)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert b"SatuAtap" not in response.content and b"Alpha" not in response.content


def test_archived_tenant_is_gone_from_routing(tenant_a: Tenant) -> None:
    assert get("alpha.localhost").status_code == 200
    actions.archive_tenant(tenant_a, reason="merged", acting_user=None)
    route_cache.clear()  # what the on_commit hook does once the transaction commits
    assert get("alpha.localhost").status_code == 404


def test_suspended_tenant_shows_notice_and_refuses_changes(tenant_a: Tenant) -> None:
    actions.suspend_tenant(tenant_a, reason="Tunggakan langganan", acting_user=None)
    page = get("alpha.localhost")
    assert page.status_code == 200
    assert "Layanan ditangguhkan" in page.content.decode()
    assert "Tunggakan langganan" in page.content.decode()
    refused = Client(HTTP_HOST="alpha.localhost").post("/staff/login/", {"username": "x"})
    assert refused.status_code == 503
    actions.resume_tenant(tenant_a, acting_user=None)
    route_cache.clear()
    assert "ditangguhkan" not in get("alpha.localhost").content.decode()


def test_custom_domain_routes_to_its_tenant(tenant_a: Tenant) -> None:
    assert get("mpp.alpha.go.id").status_code == 404
    actions.add_custom_domain(tenant_a, "MPP.alpha.go.id", acting_user=None)
    route_cache.clear()
    assert "Kota Alpha" in get("mpp.alpha.go.id").content.decode()
    actions.remove_custom_domain(tenant_a, "mpp.alpha.go.id", acting_user=None)
    route_cache.clear()
    assert get("mpp.alpha.go.id").status_code == 404


def test_api_and_apex_pages_are_not_served_on_tenant_hosts(tenant_a: Tenant) -> None:
    assert get("alpha.localhost", "/api/v1/tenants/").status_code == 404
    assert get("alpha.localhost", "/api/v1/provinces/").status_code == 404
    assert get("alpha.localhost", "/accounts/login/").status_code == 404
    # The tenant host describes its own API only, never the control plane's.
    schema = Client(HTTP_HOST="alpha.localhost").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/services/" in paths
    assert not [p for p in paths if p.startswith(("/api/v1/tenants", "/api/v1/provinces"))]


def test_change_commits_invalidate_this_process_at_once(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    assert route_cache.wait_until_listening()
    assert "Kota Alpha" in get("alpha.localhost").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        actions.rename_tenant(tenant_a, name="Kota Alpha Baru", acting_user=None)
    assert "Kota Alpha Baru" in get("alpha.localhost").content.decode()


def test_cached_route_costs_no_query(tenant_a: Tenant, django_assert_max_num_queries: Any) -> None:
    assert route_cache.wait_until_listening()
    get("alpha.localhost")  # fills the cache
    with django_assert_max_num_queries(4) as queries:  # the home page's own reads only
        assert get("alpha.localhost").status_code == 200
    routing = [q["sql"] for q in queries.captured_queries if "tenants_" in q["sql"]]
    assert routing == [], routing


@pytest.mark.django_db(transaction=False)
def test_change_from_another_process_reaches_the_cache(
    django_db_blocker: Any, tenant_a: Tenant
) -> None:
    """A change committed by another connection (as another process would) clears the cache."""
    assert route_cache.wait_until_listening()
    get("alpha.localhost")
    assert len(route_cache) == 1
    params = {k: v for k, v in connection.get_connection_params().items() if k in {
        "dbname", "user", "password", "host", "port"}}  # fmt: skip
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("UPDATE tenants_domain SET domain = domain WHERE false")
    deadline = time.monotonic() + 5
    while len(route_cache) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(route_cache) == 0, "NOTIFY from another connection did not clear the cache"


def test_each_tenant_host_works_in_its_own_time_zone(tenant_a: Tenant, tenant_b: Tenant) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils import timezone

    from tenants.routing import TenantRoutingMiddleware

    middleware = TenantRoutingMiddleware(
        lambda request: HttpResponse(timezone.get_current_timezone_name())
    )
    zones = {
        host: middleware(RequestFactory(HTTP_HOST=host).get("/")).content.decode()
        for host in ("alpha.localhost", "beta.localhost", "localhost")
    }
    assert zones == {
        "alpha.localhost": "Asia/Jakarta",  # Kepulauan Riau, WIB
        "beta.localhost": "Asia/Makassar",  # Kalimantan Timur, WITA
        "localhost": "Asia/Jakarta",  # the platform's own default
    }
