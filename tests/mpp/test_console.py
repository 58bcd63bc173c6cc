"""The province console on the apex: who gets in, onboarding, CSV, lifecycle, audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from catalog.local.models import LocalAgency
from mpp.accounts.models import Invitation, User
from mpp.audit.models import AuditEvent
from tenants.models import Domain, Province, Tenant

HEADER = "name,kind,region_code,slug,admin_email,time_zone,admin_name,agencies,custom_domains\n"
NEW = {
    "name": "Kabupaten Natuna Uji",
    "kind": "kabupaten",
    "region_code": "21.83",
    "slug": "natuna-uji",
    "time_zone": "",
    "admin_name": "Rina",
    "admin_email": "admin@natuna-uji.go.id",
    "custom_domain": "",
    "agencies": ["dukcapil", "imigrasi"],
}


def apex(user: User | None = None, **kwargs: Any) -> Client:
    """A client on the apex host, signed in as ``user`` (a public-schema account)."""
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="localhost", **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def page(response: Any) -> str:
    return response.content.decode()


# --- Who gets in ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = apex().get("/provinsi/21/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_province_admin_goes_straight_to_their_province(kepri_admin: User) -> None:
    response = apex(kepri_admin).get("/provinsi/")
    assert response.status_code == 302 and response["Location"] == "/provinsi/21/"


def test_the_operator_sees_every_province(operator: User) -> None:
    body = page(apex(operator).get("/provinsi/"))
    assert "Kepulauan Riau" in body and "Kalimantan Timur" in body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/provinsi/64/"),
        ("get", "/provinsi/64/daerah/baru/"),
        ("get", "/provinsi/64/daerah/impor/"),
        ("get", "/provinsi/64/daerah/beta/"),
        ("get", "/provinsi/64/audit/"),
        ("post", "/provinsi/64/daerah/beta/tangguhkan/"),
        ("post", "/provinsi/64/daerah/beta/undang-ulang/"),
        # Another province's tenant by slug through one's own province: not found either.
        ("get", "/provinsi/21/daerah/beta/"),
        ("post", "/provinsi/21/daerah/beta/arsipkan/"),
    ],
)
def test_a_kepri_admin_cannot_reach_kaltim(kepri_admin: User, method: str, path: str) -> None:
    response = getattr(apex(kepri_admin), method)(
        path, {"suspend-reason": "x", "archive-reason": "x"}
    )
    assert response.status_code == 404, path
    assert Tenant.objects.get(slug="beta").status == Tenant.Status.ACTIVE


def test_tenant_staff_are_not_let_in(db: None) -> None:
    officer = User.objects.create_user(
        "petugas@apex.test", "s3cret-Petugas", role=User.Role.OFFICER
    )
    assert apex(officer).get("/provinsi/21/").status_code == 403


def test_the_console_is_not_served_on_a_tenant_host(tenant_a: Tenant) -> None:
    assert Client(HTTP_HOST="alpha.localhost").get("/provinsi/21/").status_code == 404


# --- Onboarding ----------------------------------------------------------------------------


def test_onboarding_wizard_shows_every_step(
    kepri_admin: User, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    client = apex(kepri_admin)
    form = page(client.get("/provinsi/21/daerah/baru/"))
    assert 'name="agencies" value="dukcapil"' in form and "checked" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/provinsi/21/daerah/baru/", NEW)
    assert response.status_code == 201, page(response)
    body = page(response)
    for step in ("Skema dibuat", "Katalog diisi", "2 instansi membuka loket", "Admin diundang"):
        assert step in body
    assert "natuna-uji.localhost" in body and "Selesai dalam" in body
    assert mailoutbox[0].to == ["admin@natuna-uji.go.id"]
    tenant = Tenant.objects.get(slug="natuna-uji")
    with tenant_context(tenant):
        assert set(LocalAgency.objects.filter(present=True).values_list("code", flat=True)) == {
            "dukcapil",
            "imigrasi",
        }
    connection.set_schema_to_public()
    assert Client(HTTP_HOST="natuna-uji.localhost").get("/").status_code == 200  # live


def test_onboarding_errors_are_shown_on_their_fields(kepri_admin: User) -> None:
    bad = NEW | {"region_code": "64.05", "slug": "alpha", "admin_email": "bukan"}
    response = apex(kepri_admin).post("/provinsi/21/daerah/baru/", bad)
    assert response.status_code == 400
    body = page(response)
    assert 'id="id_admin_email_error"' in body  # the e-mail field carries its error
    assert 'value="Kabupaten Natuna Uji"' in body  # what was typed is kept
    response = apex(kepri_admin).post(
        "/provinsi/21/daerah/baru/", NEW | {"region_code": "64.05", "slug": "alpha"}
    )
    assert response.status_code == 400
    assert "bukan di provinsi Kepulauan Riau" in page(response)
    assert not Tenant.objects.filter(name="Kabupaten Natuna Uji").exists()


def test_bulk_onboarding_reports_each_row(kepri_admin: User) -> None:
    data = (
        HEADER
        + "Kabupaten Satu,kabupaten,21.85,satu-uji,admin@satu.go.id,,,,\n"
        + "Kabupaten Dua,kabupaten,21.86,dua-uji,admin@dua.go.id,,,dukcapil;satpas,\n"
    )
    upload = SimpleUploadedFile("daerah.csv", data.encode(), content_type="text/csv")
    response = apex(kepri_admin).post("/provinsi/21/daerah/impor/", {"file": upload})
    assert response.status_code == 200
    body = page(response)
    assert (
        "2 daerah dibuka" in body and "satu-uji.localhost" in body and "dua-uji.localhost" in body
    )
    assert schema_exists("satu_uji") and schema_exists("dua_uji")


def test_bulk_onboarding_with_a_bad_row_creates_nothing(kepri_admin: User) -> None:
    data = (
        HEADER
        + "Kabupaten Satu,kabupaten,21.85,satu-uji,admin@satu.go.id,,,,\n"
        + "Kabupaten Kaltim,kabupaten,64.09,kaltim-uji,admin@k.go.id,,,,\n"
    )
    upload = SimpleUploadedFile("daerah.csv", data.encode(), content_type="text/csv")
    response = apex(kepri_admin).post("/provinsi/21/daerah/impor/", {"file": upload})
    assert response.status_code == 400
    body = page(response)
    assert "64.09 bukan di provinsi Kepulauan Riau" in body
    assert "Tidak dibuat (ada baris lain yang salah)" in body
    assert not Tenant.objects.filter(slug__in=["satu-uji", "kaltim-uji"]).exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Bidang ini harus diisi"),
        ({"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00", content_type="text/csv")}, "UTF-8"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")}, "wajib"),
    ],
)
def test_bulk_onboarding_refuses_a_bad_file(
    kepri_admin: User, payload: dict[str, Any], message: str
) -> None:
    before = Tenant.objects.count()
    response = apex(kepri_admin).post("/provinsi/21/daerah/impor/", payload)
    assert response.status_code == 400 and message in page(response)
    assert Tenant.objects.count() == before


# --- Lifecycle -----------------------------------------------------------------------------


def test_suspend_shows_the_reason_on_the_portal_and_resume_lifts_it(
    kepri_admin: User, tenant_a: Tenant
) -> None:
    client = apex(kepri_admin)
    response = client.post(
        "/provinsi/21/daerah/alpha/tangguhkan/", {"suspend-reason": "Perawatan server"}
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.SUSPENDED
    from tenants.routing import route_cache

    route_cache.clear()  # the commit's NOTIFY would; the test transaction never commits
    assert "Perawatan server" in page(Client(HTTP_HOST="alpha.localhost").get("/"))
    connection.set_schema_to_public()
    assert apex(kepri_admin).post("/provinsi/21/daerah/alpha/aktifkan/").status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.ACTIVE
    actions = list(
        AuditEvent.objects.filter(
            target_type="tenants.tenant", target_id=str(tenant_a.pk)
        ).values_list("action", flat=True)
    )
    assert actions[:2] == ["tenant.active", "tenant.suspended"]
    assert AuditEvent.objects.filter(actor_email=kepri_admin.email).count() >= 2


def test_lifecycle_bad_input_is_explained(kepri_admin: User, tenant_a: Tenant) -> None:
    client = apex(kepri_admin)
    response = client.post("/provinsi/21/daerah/alpha/tangguhkan/", {"suspend-reason": ""})
    assert response.status_code == 400 and "Bidang ini harus diisi" in page(response)
    response = client.post("/provinsi/21/daerah/alpha/tambah-domain/", {"domain": "-bad-.id"})
    assert response.status_code == 400
    response = client.post("/provinsi/21/daerah/alpha/ganti-nama/", {"name": "  "})
    assert response.status_code == 400 and "Bidang ini harus diisi" in page(response)
    assert client.post("/provinsi/21/daerah/alpha/terbang/").status_code == 404
    assert client.get("/provinsi/21/daerah/alpha/tangguhkan/").status_code == 405
    tenant_a.refresh_from_db()
    assert (
        tenant_a.status == Tenant.Status.ACTIVE
        and not tenant_a.domains.filter(domain="-bad-.id").exists()
    )


def test_rename_add_domain_and_reinvite(
    kepri_admin: User, tenant_a: Tenant, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    client = apex(kepri_admin)
    client.post("/provinsi/21/daerah/alpha/ganti-nama/", {"name": "Kota Alpha Raya"})
    client.post("/provinsi/21/daerah/alpha/tambah-domain/", {"domain": "mpp.alpha.go.id"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/provinsi/21/daerah/alpha/undang-ulang/", follow=True)
    assert "Undangan baru dikirim" in page(response)
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Kota Alpha Raya"
    assert Domain.objects.filter(tenant=tenant_a, domain="mpp.alpha.go.id").exists()
    assert mailoutbox[-1].to == [tenant_a.admin_email]
    with tenant_context(tenant_a):
        assert Invitation.objects.filter(user__email=tenant_a.admin_email).exists()
    connection.set_schema_to_public()
    body = page(apex(kepri_admin).get("/provinsi/21/audit/"))
    assert "tenant.invitation_resent" in body and "tenant.renamed" in body


def test_reinvite_is_refused_once_the_admin_has_a_password(
    kepri_admin: User, tenant_a: Tenant
) -> None:
    with tenant_context(tenant_a):
        admin = User.objects.get(email=tenant_a.admin_email)
        admin.set_password("Sudah-Punya-Sandi-1")
        admin.save()
    response = apex(kepri_admin).post("/provinsi/21/daerah/alpha/undang-ulang/", follow=True)
    assert "already accepted" in page(response)


def test_audit_log_of_kepri_never_shows_kaltim(
    kepri_admin: User, operator: User, tenant_b: Tenant
) -> None:
    apex(operator).post(
        "/provinsi/64/daerah/beta/tangguhkan/", {"suspend-reason": "Rahasia Kaltim"}
    )
    assert Tenant.objects.get(slug="beta").status == Tenant.Status.SUSPENDED
    body = page(apex(kepri_admin).get("/provinsi/21/audit/"))
    assert "Rahasia Kaltim" not in body and "Kabupaten Beta" not in body
    assert "Rahasia Kaltim" in page(apex(operator).get("/provinsi/64/audit/"))


def test_province_page_lists_its_tenants_only(
    kepri_admin: User, tenant_a: Tenant, tenant_b: Tenant, kepri: Province
) -> None:
    body = page(apex(kepri_admin).get("/provinsi/21/"))
    assert tenant_a.name in body and tenant_b.name not in body


# --- The dashboard -------------------------------------------------------------------------


@pytest.fixture
def kepri_dashboard(tenant_a: Tenant, kepri: Province) -> Tenant:
    """Tenant A with a disabled service, its figures in the rollup."""
    from catalog.local import actions as local
    from catalog.local.models import LocalService
    from stats.rollup import refresh_tenant_stats

    with tenant_context(tenant_a):
        local.set_enabled(
            LocalService.objects.get(key="satpas-sim-a-baru"), False, acting_user=None
        )
    refresh_tenant_stats(tenant_a)
    connection.set_schema_to_public()
    return tenant_a


def test_dashboard_shows_each_tenants_figures_and_charts(
    kepri_admin: User, kepri_dashboard: Tenant
) -> None:
    body = page(apex(kepri_admin).get("/provinsi/21/"))
    from django_tenants.utils import tenant_context as ctx

    with ctx(kepri_dashboard):
        from catalog.local.models import LocalService

        enabled = LocalService.objects.filter(enabled=True, retired=False).count()
    connection.set_schema_to_public()
    assert f'{enabled}<span class="meta">dari' in body
    assert body.count('<svg class="chart" role="img"') == 2
    assert '<title id="chart-agency-t">Layanan per instansi' in body
    assert "Induk 1" in body and "(terbaru)" in body
    assert "Kabupaten Beta" not in body


def test_dashboard_sorts_by_any_column_and_keeps_unrefreshed_rows_last(
    kepri_admin: User, kepri_dashboard: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    from tenants.onboarding import OnboardingRequest, onboard_tenant
    from tenants.provisioning import TenantSpec

    onboard_tenant(
        OnboardingRequest(
            TenantSpec(
                province=Province.objects.get(code="21"), name="Aaa Kabupaten Baru",
                slug="aaa-baru", kind="kabupaten", region_code="21.87",
                admin_email="admin@aaa.go.id",
            )
        ),
        acting_user=None,
    )  # fmt: skip
    connection.set_schema_to_public()
    client = apex(kepri_admin)
    by_name = page(client.get("/provinsi/21/?urut=name"))
    assert by_name.index("Aaa Kabupaten Baru") < by_name.index("Kota Alpha")
    # The new tenant has no figures until its refresh task runs: last, both ways.
    for order in ("services_enabled", "-services_enabled"):
        body = page(client.get(f"/provinsi/21/?urut={order}"))
        assert body.index("Kota Alpha") < body.index("Aaa Kabupaten Baru"), order
    assert 'aria-sort="descending"' in page(client.get("/provinsi/21/?urut=-admins_active"))
    assert client.get("/provinsi/21/?urut=;drop table").status_code == 200  # falls back to name


def test_dashboard_exports_csv(kepri_admin: User, kepri_dashboard: Tenant) -> None:
    response = apex(kepri_admin).get("/provinsi/21/?format=csv&urut=-services_enabled")
    assert response["Content-Type"].startswith("text/csv")
    assert "ringkasan-" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("slug,name,kind,region_code,status,master_version")
    alpha = next(line for line in lines if line.startswith("alpha,"))
    assert ",Kota Alpha,kota,21.91,active,1," in alpha
    assert not any(line.startswith("beta,") for line in lines)


def test_dashboard_query_count_does_not_grow_with_tenants(
    kepri_admin: User, kepri_dashboard: Tenant, django_assert_max_num_queries: Any
) -> None:
    client = apex(kepri_admin)
    client.get("/provinsi/21/")
    # Session, user, province; overview (tenants + metrics), agencies (metrics + names),
    # freshness (releases + snapshots), archived tenants; and the stats queries' own
    # switches to public. None of it is per tenant.
    with django_assert_max_num_queries(15):
        assert client.get("/provinsi/21/").status_code == 200
