"""Onboarding a regency: one at a time with its agencies, and in bulk from a CSV."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from catalog.local.models import LocalAgency, LocalService
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Province, Tenant
from tenants.onboarding import (
    OnboardingRequest,
    csv_report,
    onboard_from_csv,
    onboard_tenant,
    parse_onboarding_csv,
)
from tenants.provisioning import TenantSpec

HEADER = "name,kind,region_code,slug,admin_email,time_zone,admin_name,agencies,custom_domains\n"
BINTAN = "Kabupaten Bintan Uji,kabupaten,21.81,bintan-uji,admin@bintan-uji.go.id,,Siti,,\n"
KARIMUN = "Kabupaten Karimun Uji,kabupaten,21.82,karimun-uji,admin@karimun-uji.go.id,,,,\n"


def spec(province: Province, **changes: Any) -> TenantSpec:
    fields = {
        "province": province,
        "name": "Kabupaten Lingga Uji",
        "slug": "lingga-uji",
        "kind": "kabupaten",
        "region_code": "21.84",
        "admin_email": "admin@lingga-uji.go.id",
        "admin_name": "Budi Santoso",
    } | changes
    return TenantSpec(**fields)


def test_onboarding_opens_the_mall_with_the_chosen_agencies(
    kepri: Province, kepri_admin: User
) -> None:
    report = onboard_tenant(
        OnboardingRequest(spec(kepri), agencies_present=["dukcapil", "satpas"]),
        acting_user=kepri_admin,
    )
    tenant = report.tenant
    assert schema_exists(tenant.schema_name) and tenant.host == "lingga-uji.localhost"
    with tenant_context(tenant):
        present = set(LocalAgency.objects.filter(present=True).values_list("code", flat=True))
        assert present == {"dukcapil", "satpas"}
        assert LocalAgency.objects.filter(present=False).count() > 5
        assert LocalService.objects.count() > 150
        admin = User.objects.get(email="admin@lingga-uji.go.id")
        assert admin.full_name == "Budi Santoso" and admin.role == User.Role.TENANT_ADMIN
    connection.set_schema_to_public()
    names = [step.name for step in report.steps]
    assert names == [
        "Data diperiksa",
        "Skema dibuat",
        "Katalog diisi",
        "Instansi hadir",
        "Admin diundang",
        "Portal aktif",
    ]
    details = {step.name: step.detail for step in report.steps}
    assert "2 instansi" in details["Instansi hadir"]
    assert "rilis induk 1" in details["Katalog diisi"]
    assert details["Portal aktif"] == "lingga-uji.localhost"
    event = AuditEvent.objects.get(action="tenant.onboarded", target_id=str(tenant.pk))
    assert event.actor_email == kepri_admin.email and "satpas" not in event.after["agencies_closed"]


@pytest.mark.parametrize(
    ("request_changes", "field", "message"),
    [
        ({"region_code": "64.01"}, "region_code", "bukan di provinsi"),
        ({"slug": "alpha"}, "slug", ""),
        ({"admin_email": "bukan-email"}, "admin_email", ""),
        ({"agencies": ["dukcapil", "dinas-rahasia"]}, "agencies_present", "dinas-rahasia"),
        ({"admin_name": "x" * 151}, "admin_name", "150"),
    ],
)
def test_bad_onboarding_names_the_field_and_creates_nothing(
    kepri: Province, request_changes: dict[str, Any], field: str, message: str
) -> None:
    agencies = request_changes.pop("agencies", None)
    before = Tenant.objects.count()
    with pytest.raises(ValidationError) as caught:
        onboard_tenant(
            OnboardingRequest(spec(kepri, **request_changes), agencies_present=agencies),
            acting_user=None,
        )
    assert message in " ".join(caught.value.message_dict[field])
    assert Tenant.objects.count() == before and not schema_exists("lingga_uji")


# --- CSV -----------------------------------------------------------------------------------


def test_a_good_csv_onboards_every_row_with_progress(kepri: Province) -> None:
    seen: list[tuple[int, int]] = []
    rows = onboard_from_csv(
        kepri,
        (HEADER + BINTAN + KARIMUN).encode(),
        acting_user=None,
        progress=lambda done, total, _: seen.append((done, total)),
    )
    assert [row.report.tenant.slug for row in rows if row.report] == ["bintan-uji", "karimun-uji"]
    assert seen == [(1, 2), (2, 2)]
    report = csv_report(rows)
    assert "baris 2: bintan-uji dibuka di bintan-uji.localhost" in report
    assert "baris 3: karimun-uji" in report


def test_one_bad_row_creates_nothing_and_every_problem_is_named(kepri: Province) -> None:
    bad = (
        HEADER
        + BINTAN
        + "Kota Salah,desa,64.01,Bad_Slug,bukan-email,UTC,,dinas-x,\n"
        + "Kabupaten Bintan Kembar,kabupaten,21.81,bintan-uji,admin@lain.go.id,,,,\n"
        + ",kota,21.83,alpha,admin@x.go.id,,,,\n"
    )
    before = Tenant.objects.count()
    rows = onboard_from_csv(kepri, bad, acting_user=None)
    assert Tenant.objects.count() == before and not schema_exists("bintan_uji")
    errors = {row.line: row.errors for row in rows}
    assert errors[2] == {}
    assert set(errors[3]) == {"kind", "region_code", "slug", "admin_email", "time_zone", "agencies"}
    assert "bukan di provinsi Kepulauan Riau" in errors[3]["region_code"][0]
    assert errors[4]["slug"] == ["sama dengan baris 2 di berkas ini"]
    assert errors[4]["region_code"] == ["sama dengan baris 2 di berkas ini"]
    assert errors[5]["name"] == ["wajib diisi"]
    assert "“alpha” sudah dipakai daerah lain" in errors[5]["slug"]
    report = csv_report(rows)
    assert "baris 2: tidak dibuat (baris lain salah)" in report
    line_3 = next(line for line in report.splitlines() if line.startswith("baris 3: "))
    assert "kind: harus salah satu dari kabupaten, kota" in line_3
    assert "admin_email: bukan alamat e-mail" in line_3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"nama,jenis\nA,B\n", "Kolom wajib tidak ada: name, kind, region_code"),
        ((HEADER.strip() + ",warna\n").encode(), "Kolom tidak dikenal: warna"),
        (HEADER.encode(), "tidak berisi satu daerah"),
        (b"x" * (1024 * 1024 + 1), "terlalu besar"),
    ],
)
def test_a_bad_file_is_refused_as_a_whole(kepri: Province, data: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_onboarding_csv(data, kepri)


def test_semicolons_and_a_byte_order_mark_are_understood(kepri: Province) -> None:
    data = "\ufeff" + (HEADER + BINTAN).replace(",", ";").replace(";;Siti;;", ";;Siti;dukcapil;")
    rows = parse_onboarding_csv(data.encode(), kepri)
    assert rows[0].errors == {}
    assert rows[0].request is not None and rows[0].request.spec.slug == "bintan-uji"


def test_a_kaltim_csv_cannot_open_regencies_in_kepri(kaltim: Province) -> None:
    rows = parse_onboarding_csv(HEADER + BINTAN, kaltim)
    assert "bukan di provinsi Kalimantan Timur" in rows[0].errors["region_code"][0]


# --- The same through the API and the CLI -------------------------------------------------


def test_api_onboards_with_agencies_and_reports_the_steps(kepri_admin: User) -> None:
    from tests.conftest import api_client_for

    response = api_client_for(kepri_admin).post(
        "/api/v1/tenants/",
        {
            "province": "21", "name": "Kabupaten Lingga Uji", "slug": "lingga-uji",
            "kind": "kabupaten", "region_code": "21.84", "admin_email": "admin@lingga-uji.go.id",
            "admin_name": "Budi", "agencies_present": ["dukcapil"],
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["host"] == "lingga-uji.localhost" and body["seconds"] > 0
    assert [s["name"] for s in body["steps"]][-1] == "Portal aktif"
    assert "1 instansi membuka loket" in body["steps"][3]["detail"]


def test_api_onboarding_refuses_bad_input_by_field(kepri_admin: User) -> None:
    from tests.conftest import api_client_for

    response = api_client_for(kepri_admin).post(
        "/api/v1/tenants/",
        {
            "province": "21", "name": "X", "slug": "alpha", "kind": "kota",
            "region_code": "64.01", "admin_email": "admin@x.go.id",
            "agencies_present": ["dinas-rahasia"],
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    errors = response.json()
    assert {"slug", "region_code", "agencies_present"} <= set(errors)
    assert not Tenant.objects.filter(name="X").exists()


def test_api_bulk_onboarding(kepri_admin: User, kaltim_admin: User) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import api_client_for

    def upload(text: str) -> Any:
        return {"file": SimpleUploadedFile("d.csv", text.encode(), content_type="text/csv")}

    client = api_client_for(kepri_admin)
    bad = client.post(
        "/api/v1/provinces/21/onboard-csv/", upload(HEADER + BINTAN + BINTAN), format="multipart"
    )
    assert bad.status_code == 400
    assert [row["status"] for row in bad.json()] == ["not_created", "invalid"]
    assert bad.json()[1]["errors"]["slug"] == ["sama dengan baris 2 di berkas ini"]
    assert not Tenant.objects.filter(slug="bintan-uji").exists()
    good = client.post(
        "/api/v1/provinces/21/onboard-csv/", upload(HEADER + BINTAN + KARIMUN), format="multipart"
    )
    assert good.status_code == 201
    assert [row["host"] for row in good.json()] == ["bintan-uji.localhost", "karimun-uji.localhost"]
    # Kaltim's admin cannot onboard into Kepri, not even by CSV.
    refused = api_client_for(kaltim_admin).post(
        "/api/v1/provinces/21/onboard-csv/", upload(HEADER + KARIMUN), format="multipart"
    )
    assert refused.status_code == 404
    no_file = client.post("/api/v1/provinces/21/onboard-csv/", {}, format="multipart")
    assert no_file.status_code == 400 and "file" in no_file.json()
    garbage = client.post(
        "/api/v1/provinces/21/onboard-csv/", upload("tidak,ada,kolom\n"), format="multipart"
    )
    assert garbage.status_code == 400 and "Kolom wajib" in str(garbage.json())


def test_cli_onboards_a_csv_with_a_progress_bar(kepri: Province, tmp_path: Any) -> None:
    import io

    from django.core.management import CommandError, call_command

    good = tmp_path / "daerah.csv"
    good.write_text(HEADER + BINTAN + KARIMUN, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("tenants", "onboard-csv", str(good), "--province", "21", stdout=out, stderr=err)
    assert "2 regencies onboarded" in out.getvalue()
    assert "baris 3: karimun-uji dibuka di karimun-uji.localhost" in out.getvalue()
    assert "2/2" in err.getvalue()  # the progress bar
    bad = tmp_path / "salah.csv"
    bad.write_text(HEADER + BINTAN.replace("bintan-uji", "bintan-dua").replace("21.81", "64.81"))
    with pytest.raises(CommandError, match="0 of 1 regencies onboarded"):
        call_command("tenants", "onboard-csv", str(bad), "--province", "21", stdout=io.StringIO())
    with pytest.raises(CommandError, match="cannot read"):
        call_command("tenants", "onboard-csv", str(tmp_path / "tidak-ada.csv"), "--province", "21")
    with pytest.raises(CommandError, match="no province with code '99'"):
        call_command("tenants", "onboard-csv", str(good), "--province", "99")


def test_cli_create_takes_the_admin_name_and_agencies(kepri: Province) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "tenants", "create", "--province", "21", "--name", "Kabupaten Lingga Uji",
        "--slug", "lingga-uji", "--kind", "kabupaten", "--region-code", "21.84",
        "--admin-email", "admin@lingga-uji.go.id", "--admin-name", "Budi",
        "--agencies", "dukcapil,satpas", stdout=out,
    )  # fmt: skip
    assert "Instansi hadir: 2 instansi membuka loket" in out.getvalue()
    with tenant_context(Tenant.objects.get(slug="lingga-uji")):
        assert User.objects.get(email="admin@lingga-uji.go.id").full_name == "Budi"
