"""The catalogue REST API: master catalogue and releases on the apex, a tenant's catalogue and
its sync on the tenant's host. Happy paths, bad input, roles, isolation, query counts, OpenAPI.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.actions import create_master_service, delete_master_service, update_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Agency, Category, Release, Service
from catalog.releases import latest_release, publish_release
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant
from tenants.routing import route_cache
from tests.conftest import api_client_for

KTP = "dukcapil-ktp-el-baru"
SIM = "satpas-sim-a-baru"  # fee 120000, channel onsite, category kendaraan-sim
API = "/api/v1/catalogue"

NEW_MASTER = {
    "key": "dukcapil-antar-dokumen",
    "agency": "dukcapil",
    "categories": ["kependudukan"],
    "name_id": "Antar Dokumen Kependudukan",
    "name_en": "Delivery of civil registry documents",
    "fee": 0,
    "requirements": [{"document": "KTP-el", "note": ""}],
    "channel": "both",
}
NEW_LOCAL = {
    "key": "kurir-dokumen-pulau",
    "agency_code": "dukcapil",
    "name_id": "Kurir Dokumen ke Pulau Terluar",
    "fee": 15000,
    "category_codes": ["kependudukan"],
}


# --- Helpers --------------------------------------------------------------------------------


def staff(tenant: Tenant, email: str, role: str = User.Role.OFFICER) -> User:
    """A staff user of ``tenant`` (created in its schema if missing)."""
    with tenant_context(tenant):
        user = User.objects.filter(email=email).first()
        return user or User.objects.create_user(email, "Rahasia-Staf-2026", role=role)


def tenant_api(tenant: Tenant, user: User | None = None) -> APIClient:
    """An API client on ``tenant``'s host, authenticated by ``user``'s token (in its schema)."""
    client = APIClient(HTTP_HOST=tenant.host)
    if user is not None:
        with tenant_context(tenant):
            token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def local_svc(tenant: Tenant, key: str) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=key)


def local_state(tenant: Tenant, key: str) -> tuple[Any, ...]:
    service = local_svc(tenant, key)
    return (service.fee, service.fee_note, service.enabled, service.overrides, service.conflicts)


def master_state(key: str) -> tuple[Any, ...]:
    connection.set_schema_to_public()
    service = Service.objects.get(key=key)
    categories = sorted(c.code for c in service.categories.all())
    return (service.name_id, service.fee, service.channel, service.agency.code, categories)


def release_with(**edits: dict[str, Any]) -> Release:
    """Edit master services (key → field changes) and publish a release."""
    connection.set_schema_to_public()
    for key, changes in edits.items():
        update_master_service(Service.objects.get(key=key), changes, acting_user=None)
    return publish_release(acting_user=None)


@pytest.fixture
def alpha_admin(tenant_a: Tenant) -> User:
    return staff(tenant_a, "admin@alpha.go.id")  # invited as tenant_admin at provisioning


@pytest.fixture
def alpha_officer(tenant_a: Tenant) -> User:
    return staff(tenant_a, "petugas@alpha.go.id", User.Role.OFFICER)


@pytest.fixture
def beta_admin(tenant_b: Tenant) -> User:
    return staff(tenant_b, "admin@beta.go.id")


# --- Apex: authentication and roles ---------------------------------------------------------


APEX_READS = ["services/", f"services/{KTP}/", "agencies/", "categories/", "releases/",
              "releases/1/", "releases/1/diff/1/"]  # fmt: skip


def test_anonymous_is_refused_on_every_apex_endpoint(db: None) -> None:
    client = api_client_for(None)
    for path in APEX_READS:
        assert client.get(f"{API}/{path}").status_code == 401, path
    assert client.post(f"{API}/services/", NEW_MASTER, format="json").status_code == 401
    assert client.patch(f"{API}/services/{SIM}/", {"fee": 1}, format="json").status_code == 401
    assert client.delete(f"{API}/services/{SIM}/").status_code == 401
    assert client.post(f"{API}/releases/", {}, format="json").status_code == 401
    assert not Service.objects.filter(key=NEW_MASTER["key"]).exists()
    assert Release.objects.count() == 1


def test_province_admin_reads_the_master_catalogue_but_cannot_change_it(
    kepri_admin: User,
) -> None:
    client = api_client_for(kepri_admin)
    for path in APEX_READS:
        assert client.get(f"{API}/{path}").status_code == 200, path
    before = (master_state(SIM), master_state(KTP), Release.objects.count())
    refused = [
        client.post(f"{API}/services/", NEW_MASTER, format="json"),
        client.patch(f"{API}/services/{SIM}/", {"fee": 1}, format="json"),
        client.delete(f"{API}/services/{KTP}/"),
        client.post(f"{API}/releases/", {"changelog": "x"}, format="json"),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert "operator" in refused[0].json()["detail"]
    assert (master_state(SIM), master_state(KTP), Release.objects.count()) == before
    assert not Service.objects.filter(key=NEW_MASTER["key"]).exists()


def test_tenant_staff_token_does_not_work_on_the_apex(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)  # a token from alpha's schema
    connection.set_schema_to_public()
    assert client.get(f"{API}/services/", HTTP_HOST="localhost").status_code == 401
    patched = client.patch(f"{API}/services/{SIM}/", {"fee": 1}, format="json",
                           HTTP_HOST="localhost")  # fmt: skip
    assert patched.status_code == 401
    assert master_state(SIM)[1] == 120000


# --- Apex: services ---------------------------------------------------------------------------


def test_service_list_is_paginated(operator: User) -> None:
    body = api_client_for(operator).get(f"{API}/services/").json()
    assert body["count"] == Service.objects.count() == 198
    assert len(body["results"]) == 50 and body["next"].endswith("page=2")
    first = body["results"][0]
    assert set(first) >= {"key", "agency", "agency_name", "categories", "name_id", "fee",
                          "requirements", "procedure", "legal_basis", "updated_at"}  # fmt: skip
    assert [r["key"] for r in body["results"]] == sorted(r["key"] for r in body["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agency=satpas", lambda qs: qs.filter(agency__code="satpas")),
        ("category=kendaraan-sim", lambda qs: qs.filter(categories__code="kendaraan-sim")),
        ("channel=online", lambda qs: qs.filter(channel="online")),
        ("fee=free", lambda qs: qs.filter(fee=0)),
        ("fee=paid", lambda qs: qs.filter(fee__gt=0)),
        ("fee=varies", lambda qs: qs.filter(fee__isnull=True)),
        ("q=ktp", lambda qs: qs.filter(name_id__icontains="ktp")),
        ("agency=satpas&fee=paid", lambda qs: qs.filter(agency__code="satpas", fee__gt=0)),
        ("agency=&fee=", lambda qs: qs),  # an empty form field is no filter
        ("agency=no-such-agency", lambda qs: qs.none()),
    ],
)
def test_service_list_filters(operator: User, query: str, expected: Any) -> None:
    want = sorted(expected(Service.objects.all()).values_list("key", flat=True))
    client = api_client_for(operator)
    keys: list[str] = []
    url: str | None = f"{API}/services/?{query}"
    while url:
        body = client.get(url).json()
        keys += [r["key"] for r in body["results"]]
        url = body["next"]
    assert sorted(keys) == want
    if query != "agency=no-such-agency":
        assert want  # the filter is exercised on real rows


def test_service_list_refuses_unknown_filter_values_by_name(operator: User) -> None:
    response = api_client_for(operator).get(f"{API}/services/?fee=mahal&channel=kapal")
    assert response.status_code == 400
    assert set(response.json()) == {"fee", "channel"}


def test_service_list_query_count_does_not_grow(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    client = api_client_for(operator)
    # token + user, count, page, categories prefetch
    with django_assert_max_num_queries(4):
        small = client.get(f"{API}/services/?agency=satpas").json()
    for i in range(6):
        create_master_service(
            {"key": f"satpas-uji-{i}", "agency": "satpas", "name_id": f"Uji {i}",
             "categories": ["kendaraan-sim", "perhubungan"]},
            acting_user=None,
        )  # fmt: skip
    with django_assert_max_num_queries(4):
        large = client.get(f"{API}/services/?agency=satpas").json()
    assert large["count"] == small["count"] + 6
    assert {"kendaraan-sim", "perhubungan"} <= set(
        next(r for r in large["results"] if r["key"] == "satpas-uji-0")["categories"]
    )
    with django_assert_max_num_queries(4):
        assert len(client.get(f"{API}/services/").json()["results"]) == 50


def test_service_detail_and_missing_service(operator: User) -> None:
    client = api_client_for(operator)
    body = client.get(f"{API}/services/{SIM}/").json()
    assert (body["key"], body["agency"], body["fee"]) == (SIM, "satpas", 120000)
    assert body["categories"] == ["kendaraan-sim"]
    assert client.get(f"{API}/services/no-such-service/").status_code == 404


def test_operator_creates_changes_and_deletes_a_master_service(operator: User) -> None:
    client = api_client_for(operator)
    created = client.post(f"{API}/services/", NEW_MASTER, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["key"], body["agency"], body["categories"]) == (
        NEW_MASTER["key"], "dukcapil", ["kependudukan"],
    )  # fmt: skip
    assert body["requirements"] == [{"document": "KTP-el", "note": ""}]
    assert AuditEvent.objects.get(action="catalogue.service_created").actor_email == operator.email

    changed = client.patch(
        f"{API}/services/{NEW_MASTER['key']}/",
        {"fee": 5000, "channel": "online", "categories": ["kependudukan", "sosial"]},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["fee"], changed.json()["categories"]) == (
        5000, ["kependudukan", "sosial"],
    )  # fmt: skip
    assert master_state(NEW_MASTER["key"]) == (
        NEW_MASTER["name_id"], 5000, "online", "dukcapil", ["kependudukan", "sosial"],
    )  # fmt: skip

    assert client.put(f"{API}/services/{SIM}/", NEW_MASTER, format="json").status_code == 405
    assert client.delete(f"{API}/services/{NEW_MASTER['key']}/").status_code == 204
    assert not Service.objects.filter(key=NEW_MASTER["key"]).exists()
    assert client.get(f"{API}/services/{NEW_MASTER['key']}/").status_code == 404
    assert AuditEvent.objects.filter(action="catalogue.service_deleted").count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({k: v for k, v in NEW_MASTER.items() if k != "name_id"}, {"name_id"}),
        (NEW_MASTER | {"key": "Bukan Kunci"}, {"key"}),
        (NEW_MASTER | {"key": KTP}, {"key"}),  # taken
        (NEW_MASTER | {"agency": "nope"}, {"agency"}),
        (NEW_MASTER | {"categories": ["nope"]}, {"categories"}),
        (NEW_MASTER | {"categories": "kependudukan"}, {"categories"}),
        (NEW_MASTER | {"fee": -5, "channel": "kapal"}, {"fee", "channel"}),
        (NEW_MASTER | {"requirements": [{"doc": "x"}]}, {"requirements"}),
        (NEW_MASTER | {"enabled": True}, {"enabled"}),  # not a field of a master service
        ([NEW_MASTER], {"non_field_errors"}),
    ],
)
def test_create_refuses_bad_input_by_field(operator: User, body: Any, fields: set[str]) -> None:
    before = Service.objects.count()
    response = api_client_for(operator).post(f"{API}/services/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert Service.objects.count() == before
    assert not Service.objects.filter(key__in=["dukcapil-antar-dokumen", "bukan-kunci"]).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"fee": "seratus ribu"}, {"fee"}),
        ({"channel": "kapal", "name_id": ""}, {"channel", "name_id"}),
        ({"agency": "nope"}, {"agency"}),
        ({"categories": ["nope"]}, {"categories"}),
        ({"categories": [1, 2]}, {"categories"}),
        ({"key": "sim-baru"}, {"key"}),  # a key never changes
        ({"fee": 1, "warna": "merah"}, {"warna"}),
        ({}, {"non_field_errors"}),
        ("fee=1", {"non_field_errors"}),
    ],
)
def test_update_refuses_bad_input_by_field(operator: User, body: Any, fields: set[str]) -> None:
    before = master_state(SIM)
    response = api_client_for(operator).patch(f"{API}/services/{SIM}/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert master_state(SIM) == before
    assert not AuditEvent.objects.filter(action="catalogue.service_updated").exists()


def test_non_json_body_is_refused(operator: User) -> None:
    response = api_client_for(operator).post(f"{API}/services/", NEW_MASTER)  # multipart
    assert response.status_code == 415
    assert not Service.objects.filter(key=NEW_MASTER["key"]).exists()


# --- Apex: agencies and categories ------------------------------------------------------------


def test_agencies_and_categories_with_service_counts(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    client = api_client_for(operator)
    with django_assert_max_num_queries(3):
        agencies = client.get(f"{API}/agencies/").json()
    assert agencies["count"] == Agency.objects.count() == 32
    satpas = next(a for a in agencies["results"] if a["code"] == "satpas")
    assert satpas["service_count"] == Service.objects.filter(agency__code="satpas").count() > 0
    assert set(satpas) == {"code", "name", "kind", "website", "contact", "service_count"}
    with django_assert_max_num_queries(3):
        categories = client.get(f"{API}/categories/").json()
    assert categories["count"] == Category.objects.count() == 15
    sim = next(c for c in categories["results"] if c["code"] == "kendaraan-sim")
    assert sim["service_count"] == Service.objects.filter(categories__code="kendaraan-sim").count()


def test_agency_and_category_lists_do_not_grow_in_queries(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        Agency.objects.create(code=f"uji-{i}", name=f"Instansi Uji {i}", kind="skpd")
        Category.objects.create(code=f"uji-{i}", name_id=f"Kategori Uji {i}")
    client = api_client_for(operator)
    with django_assert_max_num_queries(3):
        assert client.get(f"{API}/agencies/").json()["count"] == 37
    with django_assert_max_num_queries(3):
        assert client.get(f"{API}/categories/").json()["count"] == 20


# --- Apex: releases ---------------------------------------------------------------------------


def test_release_list_and_detail(operator: User, django_assert_max_num_queries: Any) -> None:
    client = api_client_for(operator)
    with django_assert_max_num_queries(3):
        body = client.get(f"{API}/releases/").json()
    assert body["count"] == 1
    (release,) = body["results"]
    assert set(release) == {"version", "published_at", "published_by", "changelog",
                            "service_count"}  # fmt: skip
    assert (release["version"], release["service_count"]) == (1, 198)
    assert release["changelog"].startswith("test release")
    detail = client.get(f"{API}/releases/1/").json()
    assert detail["service_count"] == 198 and len(detail["snapshot"]["services"]) == 198
    assert client.get(f"{API}/releases/99/").status_code == 404


def test_release_list_query_count_does_not_grow(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    for fee in (1000, 2000, 3000, 4000):
        release_with(**{SIM: {"fee": fee}})
    client = api_client_for(operator)
    with django_assert_max_num_queries(3):
        body = client.get(f"{API}/releases/").json()
    assert [r["version"] for r in body["results"]] == [5, 4, 3, 2, 1]
    assert {r["service_count"] for r in body["results"]} == {198}


def test_operator_publishes_a_release_and_diffs_it(operator: User) -> None:
    client = api_client_for(operator)
    assert client.patch(f"{API}/services/{SIM}/", {"fee": 125000}, format="json").status_code == 200
    assert client.post(f"{API}/services/", NEW_MASTER, format="json").status_code == 201
    assert client.delete(f"{API}/services/{KTP}/").status_code == 204

    published = client.post(f"{API}/releases/", {"changelog": "Tarif SIM 2026"}, format="json")
    assert published.status_code == 201, published.json()
    body = published.json()
    assert (body["version"], body["service_count"], body["published_by"]) == (
        2, 198, operator.email,
    )  # fmt: skip
    assert body["changelog"].startswith("Tarif SIM 2026")
    assert f"~ {SIM}: fee" in body["changelog"] and "snapshot" not in body
    assert latest_release().version == 2

    diff = client.get(f"{API}/releases/1/diff/2/").json()
    assert diff["from_version"] == 1 and diff["to_version"] == 2
    assert diff["added"] == [NEW_MASTER["key"]] and diff["removed"] == [KTP]
    assert diff["changed"] == {SIM: {"fee": [120000, 125000]}}
    back = client.get(f"{API}/releases/2/diff/1/").json()
    assert back["changed"] == {SIM: {"fee": [125000, 120000]}}
    assert back["added"] == [KTP]
    assert client.get(f"{API}/releases/1/diff/9/").status_code == 404
    assert client.get(f"{API}/releases/9/diff/1/").status_code == 404


def test_publish_without_a_note_generates_the_changelog(operator: User) -> None:
    update_master_service(Service.objects.get(key=SIM), {"fee": 1}, acting_user=None)
    response = api_client_for(operator).post(f"{API}/releases/", format="json")
    assert response.status_code == 201
    assert response.json()["changelog"] == f"~ {SIM}: fee"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changelog": ["bukan", "teks"]}, "changelog"),
        ({"changelog": "x" * 5001}, "changelog"),
        (["changelog"], "non_field_errors"),
    ],
)
def test_publish_refuses_bad_input(operator: User, body: Any, field: str) -> None:
    response = api_client_for(operator).post(f"{API}/releases/", body, format="json")
    assert response.status_code == 400 and set(response.json()) == {field}
    assert Release.objects.count() == 1


def test_releases_cannot_be_edited_through_the_api(operator: User) -> None:
    client = api_client_for(operator)
    before = Release.objects.values().get(version=1)
    assert client.patch(f"{API}/releases/1/", {"changelog": "x"}, format="json").status_code == 405
    assert client.put(f"{API}/releases/1/", {"changelog": "x"}, format="json").status_code == 405
    assert client.delete(f"{API}/releases/1/").status_code == 405
    assert client.delete(f"{API}/releases/").status_code == 405
    assert client.post(f"{API}/releases/1/diff/1/", {}, format="json").status_code == 405
    assert Release.objects.values().get(version=1) == before


# --- Tenant host: authentication, roles, isolation --------------------------------------------

TENANT_READS = ["/api/v1/services/", f"/api/v1/services/{KTP}/", "/api/v1/sync/plan/"]
TENANT_WRITES = [
    ("/api/v1/services/", NEW_LOCAL),
    (f"/api/v1/services/{SIM}/override/", {"field": "fee", "value": 1}),
    (f"/api/v1/services/{SIM}/revert/", {"field": "fee"}),
    (f"/api/v1/services/{SIM}/resolve/", {"field": "fee", "choice": "mine"}),
    (f"/api/v1/services/{SIM}/enable/", {"enabled": False}),
    ("/api/v1/sync/apply/", {}),
]


def test_anonymous_is_refused_on_the_tenant_host(tenant_a: Tenant) -> None:
    before = local_state(tenant_a, SIM)
    client = APIClient(HTTP_HOST=tenant_a.host)
    for path in TENANT_READS:
        assert client.get(path).status_code == 401, path
    for path, body in TENANT_WRITES:
        assert client.post(path, body, format="json").status_code == 401, path
    assert local_state(tenant_a, SIM) == before
    with tenant_context(tenant_a):
        assert not LocalService.objects.filter(key=NEW_LOCAL["key"]).exists()


def test_officer_reads_but_cannot_change_anything(tenant_a: Tenant, alpha_officer: User) -> None:
    client = tenant_api(tenant_a, alpha_officer)
    for path in TENANT_READS:
        assert client.get(path).status_code == 200, path
    before = local_state(tenant_a, SIM)
    for path, body in TENANT_WRITES:
        response = client.post(path, body, format="json")
        assert response.status_code == 403, path
        assert "admin daerah" in response.json()["detail"]
    assert local_state(tenant_a, SIM) == before
    with tenant_context(tenant_a):
        assert not LocalService.objects.filter(key=NEW_LOCAL["key"]).exists()
        assert not AuditEvent.objects.filter(actor_email=alpha_officer.email).exists()


def test_staff_of_tenant_a_are_unknown_on_tenant_b(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User
) -> None:
    token_client = tenant_api(tenant_a, alpha_admin)
    assert token_client.get("/api/v1/services/").status_code == 200
    # Alpha's token presented on beta's host: beta's schema has no such token.
    for path in TENANT_READS:
        assert token_client.get(path, HTTP_HOST=tenant_b.host).status_code == 401, path
    for path, body in TENANT_WRITES:
        response = token_client.post(path, body, format="json", HTTP_HOST=tenant_b.host)
        assert response.status_code == 401, path

    # Alpha's signed-in session presented on beta's host: beta has no such session.
    with tenant_context(tenant_a):
        alpha_admin.set_password("Rahasia-Alpha-1")
        alpha_admin.save()
    session = Client(HTTP_HOST=tenant_a.host)
    signed_in = session.post(
        "/staff/login/", {"username": alpha_admin.email, "password": "Rahasia-Alpha-1"}
    )
    assert signed_in.status_code == 302
    assert session.get("/api/v1/services/").status_code == 200
    assert session.get("/api/v1/services/", HTTP_HOST=tenant_b.host).status_code == 401
    posted = session.post(
        f"/api/v1/services/{SIM}/enable/", {"enabled": False},
        content_type="application/json", HTTP_HOST=tenant_b.host,
    )  # fmt: skip
    assert posted.status_code == 401
    assert local_svc(tenant_b, SIM).enabled


def test_session_writes_need_the_csrf_token(tenant_a: Tenant, alpha_admin: User) -> None:
    with tenant_context(tenant_a):
        alpha_admin.set_password("Rahasia-Alpha-1")
        alpha_admin.save()
    session = Client(HTTP_HOST=tenant_a.host, enforce_csrf_checks=True)
    session.get("/staff/login/")
    signed_in = session.post(
        "/staff/login/",
        {"username": alpha_admin.email, "password": "Rahasia-Alpha-1",
         "csrfmiddlewaretoken": session.cookies["csrftoken"].value},
    )  # fmt: skip
    assert signed_in.status_code == 302
    posted = session.post(
        f"/api/v1/services/{SIM}/enable/", {"enabled": False}, content_type="application/json"
    )
    assert posted.status_code == 403 and "CSRF" in posted.json()["detail"]
    assert local_svc(tenant_a, SIM).enabled
    allowed = session.post(
        f"/api/v1/services/{SIM}/enable/", {"enabled": False}, content_type="application/json",
        HTTP_X_CSRFTOKEN=session.cookies["csrftoken"].value,
    )  # fmt: skip
    assert allowed.status_code == 200
    assert not local_svc(tenant_a, SIM).enabled


def test_platform_tokens_do_not_work_on_a_tenant_host(
    tenant_a: Tenant, operator: User, kepri_admin: User
) -> None:
    for user in (operator, kepri_admin):
        connection.set_schema_to_public()
        client = api_client_for(user)
        assert client.get("/api/v1/services/", HTTP_HOST=tenant_a.host).status_code == 401
        applied = client.post("/api/v1/sync/apply/", {}, format="json", HTTP_HOST=tenant_a.host)
        assert applied.status_code == 401


def test_local_service_of_a_is_invisible_and_untouchable_on_b(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User, beta_admin: User
) -> None:
    created = tenant_api(tenant_a, alpha_admin).post("/api/v1/services/", NEW_LOCAL, format="json")
    assert created.status_code == 201, created.json()
    beta = tenant_api(tenant_b, beta_admin)
    listed = beta.get("/api/v1/services/?status=local").json()
    assert listed["count"] == 0
    assert NEW_LOCAL["key"] not in {
        r["key"] for r in beta.get(f"/api/v1/services/?q={NEW_LOCAL['key']}").json()["results"]
    }
    key = NEW_LOCAL["key"]
    assert beta.get(f"/api/v1/services/{key}/").status_code == 404
    for action, body in [
        ("override", {"field": "fee", "value": 0}),
        ("enable", {"enabled": False}),
        ("revert", {"field": "fee"}),
        ("resolve", {"field": "fee", "choice": "mine"}),
    ]:
        assert (
            beta.post(f"/api/v1/services/{key}/{action}/", body, format="json").status_code == 404
        )
    service = local_svc(tenant_a, key)
    assert (service.fee, service.enabled, service.origin) == (15000, True, "local")
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key=key).exists()


def test_changes_on_a_do_not_reach_b(tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    body = {"field": "fee", "value": 99000}
    assert client.post(f"/api/v1/services/{SIM}/override/", body, format="json").status_code == 200
    assert local_svc(tenant_a, SIM).fee == 99000
    assert local_svc(tenant_b, SIM).fee == 120000


# --- Tenant host: reading ---------------------------------------------------------------------


def test_list_and_detail_of_the_effective_catalogue(tenant_a: Tenant, alpha_officer: User) -> None:
    client = tenant_api(tenant_a, alpha_officer)
    body = client.get("/api/v1/services/").json()
    with tenant_context(tenant_a):
        assert body["count"] == LocalService.objects.count() == 198
    assert len(body["results"]) == 50
    row = body["results"][0]
    assert set(row) >= {
        "key", "origin", "enabled", "retired", "agency_code", "agency_name", "category_codes",
        "fee", "overridden_fields", "conflict_fields",
    }  # fmt: skip
    assert "fields" not in row and "search_vector" not in row and "base" not in row

    detail = client.get(f"/api/v1/services/{SIM}/").json()
    assert (detail["key"], detail["fee"], detail["origin"]) == (SIM, 120000, "master")
    fee = next(r for r in detail["fields"] if r["field"] == "fee")
    assert fee == {"field": "fee", "upstream": 120000, "value": 120000, "overridden": False,
                   "conflict": None}  # fmt: skip
    assert {r["field"] for r in detail["fields"]} >= {"name_id", "agency_code", "category_codes"}
    assert client.get("/api/v1/services/no-such-service/").status_code == 404


def test_status_and_field_filters(tenant_a: Tenant, alpha_admin: User) -> None:
    lost = "dukcapil-ktp-el-hilang-rusak"
    with tenant_context(tenant_a):
        local.override_field(local_svc(tenant_a, KTP), "fee_note", "Lokal", acting_user=None)
        local.override_field(local_svc(tenant_a, SIM), "fee", 150000, acting_user=None)
        local.set_enabled(local_svc(tenant_a, lost), False, acting_user=None)
        local.create_local_service(NEW_LOCAL, acting_user=None)
    connection.set_schema_to_public()
    delete_master_service(
        Service.objects.get(key="dukcapil-ktp-el-perubahan-data"), acting_user=None
    )
    release_with(**{SIM: {"fee": 125000}})
    apply_sync(tenant_a, latest_upstream(), acting_user=None)  # SIM now conflicts

    client = tenant_api(tenant_a, alpha_admin)

    def keys(query: str) -> set[str]:
        body = client.get(f"/api/v1/services/?{query}").json()
        assert body["count"] <= 50, query  # every case fits on one page
        return {r["key"] for r in body["results"]}

    assert keys("status=overridden") == {KTP, SIM}
    assert keys("status=conflict") == {SIM}
    assert keys("status=disabled") == {lost}
    assert keys("status=local") == {NEW_LOCAL["key"]}
    assert keys("status=retired") == {"dukcapil-ktp-el-perubahan-data"}
    enabled = client.get("/api/v1/services/?status=enabled").json()["count"]
    assert enabled == 198 + 1 - 1 - 1  # + local, - disabled, - retired
    with tenant_context(tenant_a):
        services = LocalService.objects.all()
        kemenag = services.filter(agency_code="kemenag")
        paid = set(kemenag.filter(fee__gt=0).values_list("key", flat=True))
        free = set(kemenag.filter(fee=0).values_list("key", flat=True))
        varies = set(kemenag.filter(fee__isnull=True).values_list("key", flat=True))
        online = set(services.filter(channel="online").values_list("key", flat=True))
    assert paid and free and varies and online
    assert keys("agency=kemenag&fee=paid") == paid
    assert keys("agency=kemenag&fee=free") == free
    assert keys("agency=kemenag&fee=varies") == varies
    assert keys("channel=online") == online
    assert SIM in keys("category=kendaraan-sim") and KTP not in keys("category=kendaraan-sim")
    assert NEW_LOCAL["key"] in keys("q=kurir&fee=paid")
    assert keys("agency=dukcapil&status=local") == {NEW_LOCAL["key"]}
    sim_row = client.get("/api/v1/services/?status=conflict").json()["results"][0]
    assert (sim_row["fee"], sim_row["overridden_fields"], sim_row["conflict_fields"]) == (
        150000, ["fee"], ["fee"],
    )  # fmt: skip


def test_tenant_list_refuses_unknown_filter_values(tenant_a: Tenant, alpha_officer: User) -> None:
    response = tenant_api(tenant_a, alpha_officer).get(
        "/api/v1/services/?status=hilang&fee=mahal&channel=kapal"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"status", "fee", "channel"}


def test_tenant_list_query_count_does_not_grow(
    tenant_a: Tenant, alpha_admin: User, django_assert_max_num_queries: Any
) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    assert route_cache.wait_until_listening()  # until then every request looks its host up

    def warm() -> None:
        # Cache the route and leave the connection on alpha's schema, as in steady state.
        assert client.get("/api/v1/services/").status_code == 200

    warm()
    # token + user, count, page
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/services/?status=local").json()["count"] == 0
    with tenant_context(tenant_a):
        for i in range(5):
            local.create_local_service(
                NEW_LOCAL | {"key": f"lokal-{i}", "name_id": f"Lokal {i}"}, acting_user=None
            )
    warm()
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/services/?status=local").json()["count"] == 5
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/v1/services/").json()["results"]) == 50


# --- Tenant host: changing the catalogue ------------------------------------------------------


def test_admin_overrides_then_reverts_a_field(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    upstream_note = local_svc(tenant_a, SIM).fee_note
    response = client.post(
        f"/api/v1/services/{SIM}/override/",
        {"field": "fee_note", "value": "Bayar di Bank Riau Kepri"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["fee_note"] == "Bayar di Bank Riau Kepri"
    assert body["overridden_fields"] == ["fee_note"]
    row = next(r for r in body["fields"] if r["field"] == "fee_note")
    assert (row["upstream"], row["value"], row["overridden"]) == (
        upstream_note, "Bayar di Bank Riau Kepri", True,
    )  # fmt: skip
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="catalogue.field_overridden")
        assert event.actor_email == alpha_admin.email

    # null is a value: the fee "varies"
    varies = client.post(f"/api/v1/services/{SIM}/override/", {"field": "fee", "value": None},
                         format="json")  # fmt: skip
    assert varies.status_code == 200 and varies.json()["fee"] is None

    reverted = client.post(f"/api/v1/services/{SIM}/revert/", {"field": "fee_note"}, format="json")
    assert reverted.status_code == 200
    assert reverted.json()["fee_note"] == upstream_note
    assert reverted.json()["overridden_fields"] == ["fee"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"value": 1}, {"field"}),
        ({"field": "fee"}, {"value"}),
        ({"field": "warna", "value": 1}, {"field"}),
        ({"field": "agency_code", "value": "bpn"}, {"field"}),  # where it sits stays upstream's
        ({"field": "fee", "value": -1}, {"fee"}),
        ({"field": "channel", "value": "kapal"}, {"channel"}),
        ({"field": "requirements", "value": "satu teks"}, {"requirements"}),
        ([{"field": "fee", "value": 1}], {"non_field_errors"}),
    ],
)
def test_override_refuses_bad_input(
    tenant_a: Tenant, alpha_admin: User, body: Any, fields: set[str]
) -> None:
    before = local_state(tenant_a, SIM)
    response = tenant_api(tenant_a, alpha_admin).post(
        f"/api/v1/services/{SIM}/override/", body, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert local_state(tenant_a, SIM) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"field"}),
        ({"field": "warna"}, {"field"}),
        ({"field": "fee"}, {"fee"}),  # not overridden
    ],
)
def test_revert_refuses_bad_input(
    tenant_a: Tenant, alpha_admin: User, body: Any, fields: set[str]
) -> None:
    before = local_state(tenant_a, SIM)
    response = tenant_api(tenant_a, alpha_admin).post(
        f"/api/v1/services/{SIM}/revert/", body, format="json"
    )
    assert response.status_code == 400 and set(response.json()) == fields
    assert local_state(tenant_a, SIM) == before


def conflict_on_sim_fee(tenant: Tenant) -> None:
    """Local fee 150000, then upstream moves 120000 → 125000 and the tenant syncs."""
    with tenant_context(tenant):
        local.override_field(local_svc(tenant, SIM), "fee", 150000, acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    apply_sync(tenant, latest_upstream(), acting_user=None)
    assert local_svc(tenant, SIM).conflicts


@pytest.mark.parametrize(("choice", "fee"), [("upstream", 125000), ("mine", 150000)])
def test_admin_resolves_a_conflict(
    tenant_a: Tenant, alpha_admin: User, choice: str, fee: int
) -> None:
    conflict_on_sim_fee(tenant_a)
    client = tenant_api(tenant_a, alpha_admin)
    detail = client.get(f"/api/v1/services/{SIM}/").json()
    row = next(r for r in detail["fields"] if r["field"] == "fee")
    assert row["conflict"] == {"base": 120000, "upstream": 125000, "local": 150000}
    resolved = client.post(
        f"/api/v1/services/{SIM}/resolve/", {"field": "fee", "choice": choice}, format="json"
    )
    assert resolved.status_code == 200, resolved.json()
    assert (resolved.json()["fee"], resolved.json()["conflict_fields"]) == (fee, [])
    assert local_svc(tenant_a, SIM).conflicts == {}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"field": "fee", "choice": "keduanya"}, {"choice"}),
        ({"field": "fee"}, {"choice"}),
        ({"choice": "mine"}, {"field"}),
        ({"field": "fee_note", "choice": "mine"}, {"fee_note"}),  # no conflict there
    ],
)
def test_resolve_refuses_bad_input(
    tenant_a: Tenant, alpha_admin: User, body: Any, fields: set[str]
) -> None:
    conflict_on_sim_fee(tenant_a)
    before = local_state(tenant_a, SIM)
    response = tenant_api(tenant_a, alpha_admin).post(
        f"/api/v1/services/{SIM}/resolve/", body, format="json"
    )
    assert response.status_code == 400 and set(response.json()) == fields
    assert local_state(tenant_a, SIM) == before


def test_admin_disables_and_enables_a_service(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    off = client.post(f"/api/v1/services/{SIM}/enable/", {"enabled": False}, format="json")
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert not local_svc(tenant_a, SIM).enabled
    assert SIM in {
        r["key"] for r in client.get("/api/v1/services/?status=disabled").json()["results"]
    }
    on = client.post(f"/api/v1/services/{SIM}/enable/", {"enabled": True}, format="json")
    assert on.status_code == 200 and local_svc(tenant_a, SIM).enabled


@pytest.mark.parametrize("body", [{}, {"enabled": "mungkin"}, {"enabled": None}])
def test_enable_refuses_bad_input(tenant_a: Tenant, alpha_admin: User, body: Any) -> None:
    response = tenant_api(tenant_a, alpha_admin).post(
        f"/api/v1/services/{SIM}/enable/", body, format="json"
    )
    assert response.status_code == 400 and set(response.json()) == {"enabled"}
    assert local_svc(tenant_a, SIM).enabled


def test_admin_creates_a_local_service(tenant_a: Tenant, alpha_admin: User) -> None:
    response = tenant_api(tenant_a, alpha_admin).post("/api/v1/services/", NEW_LOCAL, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["key"], body["origin"], body["enabled"], body["agency_code"]) == (
        NEW_LOCAL["key"], "local", True, "dukcapil",
    )  # fmt: skip
    assert body["category_codes"] == ["kependudukan"] and body["fee"] == 15000
    service = local_svc(tenant_a, NEW_LOCAL["key"])
    assert service.agency_name == local_svc(tenant_a, KTP).agency_name


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({k: v for k, v in NEW_LOCAL.items() if k != "name_id"}, {"name_id"}),
        (NEW_LOCAL | {"key": "Kunci Buruk"}, {"key"}),
        (NEW_LOCAL | {"key": KTP}, {"key"}),  # taken by a master service
        (NEW_LOCAL | {"agency_code": "nope"}, {"agency_code"}),
        (NEW_LOCAL | {"fee": "gratis", "channel": "kapal"}, {"fee", "channel"}),
        (NEW_LOCAL | {"category_codes": "kependudukan"}, {"category_codes"}),
        (NEW_LOCAL | {"origin": "master"}, {"origin"}),
        ("kurir", {"non_field_errors"}),
    ],
)
def test_create_local_service_refuses_bad_input(
    tenant_a: Tenant, alpha_admin: User, body: Any, fields: set[str]
) -> None:
    with tenant_context(tenant_a):
        before = LocalService.objects.count()
    response = tenant_api(tenant_a, alpha_admin).post("/api/v1/services/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    with tenant_context(tenant_a):
        assert LocalService.objects.count() == before


# --- Tenant host: sync ------------------------------------------------------------------------


def test_sync_plan_then_apply(tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    idle = client.get("/api/v1/sync/plan/").json()
    assert idle["from_version"] == idle["to_version"] == 1
    assert idle["changes_anything"] is False and idle["services"] == []

    with tenant_context(tenant_a):
        local.override_field(local_svc(tenant_a, SIM), "fee_note", "Lokal", acting_user=None)
    release_with(**{SIM: {"fee": 125000}})
    plan = client.get("/api/v1/sync/plan/").json()
    assert (plan["tenant"], plan["from_version"], plan["to_version"]) == ("alpha", 1, 2)
    assert plan["changes_anything"] is True and plan["open_conflicts"] == 0
    assert plan["counts"]["applied"] == 1 and plan["counts"]["conflict"] == 0
    (service,) = plan["services"]
    assert (service["key"], service["action"]) == (SIM, "update")
    assert {"field": "fee", "action": "applied", "base": 120000, "upstream": 125000,
            "local": None} in service["changes"]  # fmt: skip
    assert local_svc(tenant_a, SIM).fee == 120000  # planning changes nothing

    applied = client.post("/api/v1/sync/apply/", format="json")
    assert applied.status_code == 200, applied.json()
    assert applied.json()["counts"]["applied"] == 1
    assert local_state(tenant_a, SIM)[:2] == (125000, "Lokal")
    assert client.get("/api/v1/sync/plan/").json()["changes_anything"] is False
    assert local_svc(tenant_b, SIM).fee == 120000  # beta syncs on its own


# --- OpenAPI ----------------------------------------------------------------------------------


def test_apex_openapi_schema_lists_the_catalogue_endpoints(db: None) -> None:
    response = APIClient(HTTP_HOST="localhost").get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/catalogue/services/",
        "/api/v1/catalogue/services/{key}/",
        "/api/v1/catalogue/agencies/",
        "/api/v1/catalogue/categories/",
        "/api/v1/catalogue/releases/",
        "/api/v1/catalogue/releases/{version}/",
        "/api/v1/catalogue/releases/{version}/diff/{other}/",
    } <= set(paths)
    assert set(paths["/api/v1/catalogue/services/{key}/"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/catalogue/releases/{version}/"]) == {"get"}
    params = {p["name"] for p in paths["/api/v1/catalogue/services/"]["get"]["parameters"]}
    assert {"agency", "category", "channel", "fee", "q", "page"} <= params
    assert "/api/v1/services/" not in paths  # tenant endpoints are described on tenant hosts
    # The control-plane API's enum keeps its name (an agency ``kind`` enum would rename it).
    assert "KindEnum" in response.json()["components"]["schemas"]


def test_tenant_openapi_schema_lists_the_tenant_endpoints(tenant_a: Tenant) -> None:
    response = APIClient(HTTP_HOST=tenant_a.host).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {
        "/api/v1/services/",
        "/api/v1/services/{key}/",
        "/api/v1/services/{key}/override/",
        "/api/v1/services/{key}/revert/",
        "/api/v1/services/{key}/resolve/",
        "/api/v1/services/{key}/enable/",
        "/api/v1/sync/plan/",
        "/api/v1/sync/apply/",
    } <= set(paths)
    assert set(paths["/api/v1/services/"]) == {"get", "post"}
    params = {p["name"] for p in paths["/api/v1/services/"]["get"]["parameters"]}
    assert {"agency", "category", "channel", "fee", "status", "page"} <= params
    detail = schema["components"]["schemas"]["LocalServiceDetail"]["properties"]
    assert detail["fields"]["type"] == "array"
    # Only this host's API: neither the master catalogue nor the control plane.
    assert not any(p.startswith(("/api/v1/catalogue/", "/api/v1/tenants/", "/api/v1/provinces/"))
                   for p in paths)  # fmt: skip
