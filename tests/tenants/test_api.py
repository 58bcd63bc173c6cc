"""The control-plane API: auth, role scoping, lifecycle, bad input, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_exists

from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Domain, Province, Tenant
from tests.conftest import api_client_for

NEW_TENANT = {
    "province": "21",
    "name": "Kabupaten Gamma",
    "slug": "gamma",
    "kind": "kabupaten",
    "region_code": "21.92",
    "admin_email": "admin@gamma.go.id",
}


def test_anonymous_is_refused(db: None) -> None:
    assert api_client_for(None).get("/api/v1/tenants/").status_code == 401


def test_operator_sees_every_tenant(operator: User, tenant_a: Tenant, tenant_b: Tenant) -> None:
    body = api_client_for(operator).get("/api/v1/tenants/").json()
    assert {t["slug"] for t in body["results"]} == {"alpha", "beta"}


def test_tenant_list_query_count_does_not_grow(
    operator: User, kepri: Province, django_assert_max_num_queries: Any
) -> None:
    client = api_client_for(operator)
    client.get("/api/v1/tenants/")
    # token lookup, count, page, domains prefetch
    with django_assert_max_num_queries(4):
        client.get("/api/v1/tenants/")
    for i in range(5):
        Tenant.objects.create(
            province=kepri, name=f"T{i}", slug=f"extra{i}", schema_name=f"extra{i}",
            kind="kota", region_code=f"21.8{i}", admin_email="x@y.id",
        )  # fmt: skip
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/tenants/").json()
    assert body["count"] == 7


def test_province_admin_sees_only_their_province(
    kepri_admin: User, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    client = api_client_for(kepri_admin)
    assert [t["slug"] for t in client.get("/api/v1/tenants/").json()["results"]] == ["alpha"]
    assert client.get("/api/v1/tenants/beta/").status_code == 404
    assert client.post("/api/v1/tenants/beta/suspend/", {"reason": "x"}).status_code == 404
    assert client.post("/api/v1/tenants/beta/archive/").status_code == 404
    assert client.patch("/api/v1/tenants/beta/", {"name": "Hijacked"}).status_code == 404
    assert [p["code"] for p in client.get("/api/v1/provinces/").json()["results"]] == ["21"]
    assert client.get("/api/v1/provinces/64/").status_code == 404
    beta = Tenant.objects.get(slug="beta")
    # By id — as audit rows name tenants — just as unknown as by slug.
    assert client.get(f"/api/v1/tenants/{beta.pk}/").status_code == 404
    assert client.post(f"/api/v1/tenants/{beta.pk}/suspend/", {"reason": "x"}).status_code == 404
    assert client.post(f"/api/v1/tenants/{beta.pk}/export/").status_code == 404
    assert client.get(f"/api/v1/tenants/{tenant_a.pk}/").json()["slug"] == "alpha"
    beta.refresh_from_db()
    assert (beta.status, beta.name) == ("active", "Kabupaten Beta")


def test_province_admin_cannot_create_in_another_province(
    kaltim_admin: User, kepri: Province
) -> None:
    response = api_client_for(kaltim_admin).post("/api/v1/tenants/", NEW_TENANT, format="json")
    assert response.status_code == 400
    assert "province" in response.json()
    assert not Tenant.objects.filter(slug="gamma").exists()


def test_province_admin_cannot_create_provinces(kepri_admin: User) -> None:
    response = api_client_for(kepri_admin).post(
        "/api/v1/provinces/", {"code": "31", "name": "DKI Jakarta"}, format="json"
    )
    assert response.status_code == 403


def test_operator_creates_a_province(operator: User) -> None:
    client = api_client_for(operator)
    response = client.post(
        "/api/v1/provinces/",
        {"code": "73", "name": "Sulawesi Selatan", "time_zone": "Asia/Makassar"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "sulawesi-selatan"
    again = client.post(
        "/api/v1/provinces/", {"code": "73", "name": "Sulawesi Selatan"}, format="json"
    )
    assert again.status_code == 400
    assert set(again.json()) == {"code", "name"}
    bad = client.post("/api/v1/provinces/", {"code": "7", "name": ""}, format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"code", "name"}


def test_province_admin_creates_a_tenant(
    kepri_admin: User, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(kepri_admin).post(
            "/api/v1/tenants/", NEW_TENANT | {"custom_domains": ["mpp.gamma.go.id"]}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["host"] == "gamma.localhost" and body["url"] == "http://gamma.localhost:8000/"
    assert body["custom_domains"] == ["mpp.gamma.go.id"]
    assert body["time_zone"] == "Asia/Jakarta" and body["status"] == "active"
    assert schema_exists("gamma")
    assert mailoutbox[0].to == ["admin@gamma.go.id"]
    event = AuditEvent.objects.get(action="tenant.provisioned", target_label="Kabupaten Gamma")
    assert event.actor_email == kepri_admin.email


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "admin"}, "slug"),
        ({"slug": "static"}, "slug"),
        ({"slug": "Bad_Slug"}, "slug"),
        ({"slug": "alpha"}, "slug"),
        ({"region_code": "xx"}, "region_code"),
        ({"kind": "village"}, "kind"),
        ({"admin_email": "nope"}, "admin_email"),
        ({"province": "99"}, "province"),
        ({"time_zone": "UTC"}, "time_zone"),
        ({"custom_domains": ["-bad-.id"]}, "custom_domains"),
    ],
)
def test_bad_tenant_input_gets_field_errors(
    operator: User, tenant_a: Tenant, change: dict, field: str
) -> None:
    response = api_client_for(operator).post("/api/v1/tenants/", NEW_TENANT | change, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert response.json()[field][0]
    assert Tenant.objects.count() == 2


def test_missing_fields_are_all_reported(operator: User) -> None:
    response = api_client_for(operator).post("/api/v1/tenants/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {
        "province",
        "name",
        "slug",
        "kind",
        "region_code",
        "admin_email",
    }


def test_lifecycle_through_the_api(operator: User, tenant_a: Tenant) -> None:
    client = api_client_for(operator)
    no_reason = client.post("/api/v1/tenants/alpha/suspend/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    suspended = client.post("/api/v1/tenants/alpha/suspend/", {"reason": "Audit"}, format="json")
    assert suspended.json()["status"] == "suspended"
    assert client.post("/api/v1/tenants/alpha/resume/").json()["status"] == "active"
    renamed = client.patch("/api/v1/tenants/alpha/", {"name": "Kota Alpha Raya"}, format="json")
    assert renamed.json()["name"] == "Kota Alpha Raya"
    added = client.post(
        "/api/v1/tenants/alpha/domains/", {"domain": "mpp.alpha.go.id"}, format="json"
    )
    assert added.status_code == 201 and added.json()["custom_domains"] == ["mpp.alpha.go.id"]
    dup = client.post(
        "/api/v1/tenants/alpha/domains/", {"domain": "mpp.alpha.go.id"}, format="json"
    )
    assert dup.status_code == 400 and "domain" in dup.json()
    assert client.delete("/api/v1/tenants/alpha/domains/mpp.alpha.go.id/").status_code == 204
    assert not Domain.objects.exists()
    archived = client.post("/api/v1/tenants/alpha/archive/", {"reason": "merged"}, format="json")
    assert archived.json()["status"] == "archived"
    again = client.post("/api/v1/tenants/alpha/resume/")
    assert again.status_code == 400 and "status" in again.json()
    actions = list(
        AuditEvent.objects.filter(target_type="tenants.tenant", target_id=str(tenant_a.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-6:] == [
        "tenant.suspended", "tenant.active", "tenant.renamed", "tenant.domain_added",
        "tenant.domain_removed", "tenant.archived",
    ]  # fmt: skip


def test_openapi_schema_describes_the_api(db: None) -> None:
    response = api_client_for(None).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/tenants/" in paths and "/api/v1/tenants/{slug}/suspend/" in paths
    assert "/api/v1/provinces/" in paths
