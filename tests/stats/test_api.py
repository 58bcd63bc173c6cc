"""GET /api/v1/stats/provinces/<code>/: who may read which province's overview."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mpp.accounts.models import User
from stats.rollup import rebuild_all
from tenants.models import Province, Tenant
from tests.conftest import api_client_for
from tests.stats.conftest import Customised

URL = "/api/v1/stats/provinces/{}/"


def test_operator_reads_every_province(
    operator: User, tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised
) -> None:
    rebuild_all(acting_user=None)
    client = api_client_for(operator)
    kepri = client.get(URL.format("21"))
    assert kepri.status_code == 200
    body = kepri.json()
    assert (body["code"], body["name"]) == ("21", "Kepulauan Riau")
    [row] = body["tenants"]
    assert row["slug"] == "alpha" and row["status"] == "active"
    assert (row["services_local"], row["services_overridden"]) == (1, 1)
    assert row["services_enabled"] == customised_a.services_before
    assert row["master_version"] == 1 and row["pending_conflicts"] == 0
    assert row["refreshed_at"] and row["last_activity"] and row["metrics"] == {}
    assert [t["slug"] for t in client.get(URL.format("64")).json()["tenants"]] == ["beta"]


def test_figures_are_null_before_the_first_refresh(operator: User, tenant_a: Tenant) -> None:
    [row] = api_client_for(operator).get(URL.format("21")).json()["tenants"]
    assert row["slug"] == "alpha" and row["services_total"] is None and row["refreshed_at"] is None


def test_province_admin_reads_only_their_province(
    kepri_admin: User, kaltim_admin: User, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    kepri = api_client_for(kepri_admin)
    assert [t["slug"] for t in kepri.get(URL.format("21")).json()["tenants"]] == ["alpha"]
    other = kepri.get(URL.format("64"))
    unknown = kepri.get(URL.format("99"))
    # Another province's statistics answer exactly like a province that does not exist.
    assert other.status_code == unknown.status_code == 404
    assert "beta" not in other.content.decode()
    assert api_client_for(kaltim_admin).get(URL.format("21")).status_code == 404
    assert api_client_for(kaltim_admin).get(URL.format("64")).status_code == 200


@pytest.mark.parametrize("code", ["99", "abc", "2", "21x", "%20"])
def test_unknown_codes_are_404(operator: User, code: str) -> None:
    response = api_client_for(operator).get(URL.format(code))
    assert response.status_code == 404
    assert "No province with code" in response.json()["detail"]


def test_province_admin_of_no_province_sees_nothing(db: None, kepri: Province) -> None:
    nobody = User.objects.create_user("x@prov.go.id", "s3cret-Nobody", role="province_admin")
    assert api_client_for(nobody).get(URL.format("21")).status_code == 404


def test_other_roles_and_anonymous_are_refused(db: None, kepri: Province, tenant_a: Tenant) -> None:
    assert APIClient(HTTP_HOST="localhost").get(URL.format("21")).status_code == 401
    officer = User.objects.create_user("officer@satuatap.test", "s3cret-Officer", role="officer")
    assert api_client_for(officer).get(URL.format("21")).status_code == 403
    # A tenant admin's token lives in their tenant's schema: unknown on the apex.
    with tenant_context(tenant_a):
        staff = User.objects.get(email="admin@alpha.go.id")
        key = Token.objects.create(user=staff).key
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(URL.format("21")).status_code == 401


def test_not_served_on_a_tenant_host(operator: User, tenant_a: Tenant) -> None:
    client = api_client_for(operator)
    assert client.get(URL.format("21"), HTTP_HOST="alpha.localhost").status_code == 404


def test_write_methods_are_not_allowed(operator: User, kepri: Province) -> None:
    client = api_client_for(operator)
    assert client.post(URL.format("21"), {}).status_code == 405
    assert client.delete(URL.format("21")).status_code == 405


def test_the_endpoint_is_in_the_openapi_schema(operator: User) -> None:
    schema = api_client_for(operator).get("/api/schema/").content.decode()
    assert "/api/v1/stats/provinces/{code}/" in schema and "services_overridden" in schema
