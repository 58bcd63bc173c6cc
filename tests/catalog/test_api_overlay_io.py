"""The province overlay API and catalogue import/export API: happy paths, bad input with
nothing written, roles (another province's overlay is 404), tenant isolation, round trips,
query counts and the OpenAPI schemas of the apex and of a tenant host.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from catalog import overlay
from catalog.actions import update_master_service
from catalog.io import export_csv, export_hsds, export_json, master_catalogue_data
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.models import (
    ProvinceOverlay,
    ProvinceRelease,
    ProvinceServiceEdit,
    Service,
)
from catalog.releases import publish_release, snapshot_master
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Province, Tenant
from tenants.routing import route_cache
from tests.catalog.test_api import KTP, SIM, staff, tenant_api
from tests.conftest import api_client_for

API = "/api/v1/catalogue"
KEPRI_OVERLAY = f"{API}/provinces/21/overlay"
KALTIM_OVERLAY = f"{API}/provinces/64/overlay"
PROVINCE_SERVICE = {
    "key": "kepri-izin-labuh-kapal",
    "agency": "dishub",
    "categories": ["perhubungan"],
    "name_id": "Izin Labuh Kapal Antarpulau",
    "fee": 0,
    "requirements": [{"document": "Surat kapal", "note": ""}],
}
LOCAL_KEY = "kurir-dokumen-pulau"


# --- Helpers ----------------------------------------------------------------------------------


def local_row(key: str = LOCAL_KEY, **changes: Any) -> dict[str, Any]:
    """A valid local service row in the import file format."""
    return {
        "key": key,
        "agency": "dukcapil",
        "categories": ["kependudukan"],
        "name_id": "Antar Dokumen ke Pulau Terluar",
        "requirements": [{"document": "Bukti pengajuan", "note": "Dari loket MPP"}],
        "procedure": ["Daftar di loket", "Dokumen diantar dengan kapal dinas"],
        "processing_days": 3,
        "fee": 0,
        "channel": "onsite",
    } | changes


def services_file(*rows: dict[str, Any]) -> str:
    """A JSON import file holding ``rows`` only."""
    return json.dumps({"agencies": [], "categories": [], "services": list(rows)})


def master_fingerprint() -> tuple[int, str, int]:
    """Number of master services, a checksum of the whole live master catalogue and the
    number of control-plane audit events."""
    connection.set_schema_to_public()
    snapshot = json.dumps(snapshot_master(), sort_keys=True)
    digest = hashlib.sha256(snapshot.encode()).hexdigest()
    return Service.objects.count(), digest, AuditEvent.objects.count()


def overlay_state() -> tuple[Any, ...]:
    """Everything the overlay endpoints could change, across every province."""
    connection.set_schema_to_public()
    return (
        list(ProvinceOverlay.objects.order_by("pk").values()),
        list(ProvinceServiceEdit.objects.order_by("pk").values()),
        list(ProvinceRelease.objects.order_by("pk").values_list("pk", "version")),
        AuditEvent.objects.filter(action__startswith="province_catalogue.").count(),
    )


def local_state(tenant: Tenant) -> tuple[Any, ...]:
    """What an import into ``tenant`` could change."""
    with tenant_context(tenant):
        return (
            LocalService.objects.count(),
            list(
                LocalService.objects.filter(origin="local")
                .order_by("key")
                .values_list("key", "fee", "procedure", "overrides")
            ),
            LocalService.objects.get(key=SIM).overrides,
            AuditEvent.objects.count(),
        )


def import_errors(response: Any) -> list[tuple[Any, str, str]]:
    """(row, key, field) of each error of a refused import, checking the answer's shape."""
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    for error in errors:
        assert set(error) == {"row", "key", "field", "reason"} and error["reason"]
    return [(e["row"], e["key"], e["field"]) for e in errors]


def raw_post(
    client: APIClient, path: str, text: str | bytes, content_type: str, **extra: Any
) -> Any:
    """POST ``text`` as the request body, with ``content_type``."""
    return client.generic("POST", path, text, content_type=content_type, **extra)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def alpha_admin(tenant_a: Tenant) -> User:
    return staff(tenant_a, "admin@alpha.go.id")  # invited as tenant_admin at provisioning


@pytest.fixture
def alpha_officer(tenant_a: Tenant) -> User:
    return staff(tenant_a, "petugas@alpha.go.id", User.Role.OFFICER)


@pytest.fixture
def beta_admin(tenant_b: Tenant) -> User:
    return staff(tenant_b, "admin@beta.go.id")


# --- Province overlay: roles ------------------------------------------------------------------

OVERLAY_READS = ["/", "/releases/", "/releases/1/"]
OVERLAY_WRITES: list[tuple[str, str, Any]] = [
    ("post", "/fields/", {"key": SIM, "field": "fee", "value": 1}),
    ("post", "/services/", PROVINCE_SERVICE),
    ("post", "/resolve/", {"key": SIM, "field": "fee", "choice": "mine"}),
    ("patch", "/", {"new_services_enabled": True}),
    ("post", "/releases/", {"note": "x"}),
]


def test_overlay_refuses_anonymous_and_tenant_tokens(tenant_a: Tenant, kepri: Province) -> None:
    alpha_token = tenant_api(tenant_a, staff(tenant_a, "admin@alpha.go.id"))  # alpha's schema
    before = overlay_state()
    for client in (api_client_for(None), alpha_token):
        for path in OVERLAY_READS:
            response = client.get(KEPRI_OVERLAY + path, HTTP_HOST="localhost")
            assert response.status_code == 401, path
        for method, path, body in OVERLAY_WRITES:
            response = getattr(client, method)(
                KEPRI_OVERLAY + path, body, format="json", HTTP_HOST="localhost"
            )
            assert response.status_code == 401, path
    assert overlay_state() == before


def test_another_provinces_admin_gets_404_and_changes_nothing(
    kepri: Province, kaltim_admin: User
) -> None:
    # Kepri has an overlay with an edit and a release that Kaltim's admin must not reach.
    overlay.set_province_field(kepri, SIM, "fee_note", "Bank Riau Kepri", acting_user=None)
    overlay.publish_province_release(kepri, acting_user=None)
    before = overlay_state()
    client = api_client_for(kaltim_admin)
    for path in OVERLAY_READS:
        response = client.get(KEPRI_OVERLAY + path)
        assert response.status_code == 404, path
        assert "Bank Riau" not in response.content.decode()
    for method, path, body in OVERLAY_WRITES:
        response = getattr(client, method)(KEPRI_OVERLAY + path, body, format="json")
        assert response.status_code == 404, path
    # Exactly the answer for a province that does not exist: no probing for codes.
    missing = client.get(f"{API}/provinces/99/overlay/")
    assert missing.status_code == 404
    assert missing.json() == client.get(KEPRI_OVERLAY + "/").json()
    assert overlay_state() == before
    # Their own province is theirs to read: empty, and reading creates nothing.
    own = client.get(KALTIM_OVERLAY + "/")
    assert own.status_code == 200
    assert own.json() == {"new_services_enabled": False, "edits": [], "releases": []}
    assert overlay_state() == before


def test_operator_reaches_every_province_but_not_one_that_does_not_exist(
    operator: User, kepri: Province, kaltim: Province
) -> None:
    client = api_client_for(operator)
    for base in (KEPRI_OVERLAY, KALTIM_OVERLAY):
        assert client.get(base + "/").status_code == 200
    body = {"key": SIM, "field": "fee", "value": 125000}
    assert client.post(KALTIM_OVERLAY + "/fields/", body, format="json").status_code == 200
    assert kaltim.catalogue_overlay.edits.get(key=SIM).overrides == {"fee": 125000}
    assert not ProvinceOverlay.objects.filter(province=kepri).exists()
    assert client.get(f"{API}/provinces/99/overlay/").status_code == 404
    missing = client.post(f"{API}/provinces/99/overlay/fields/", body, format="json")
    assert missing.status_code == 404


# --- Province overlay: happy paths ------------------------------------------------------------


def test_province_admin_edits_adds_publishes_and_reads_back(
    kepri_admin: User, kepri: Province, kaltim: Province
) -> None:
    client = api_client_for(kepri_admin)
    empty = client.get(KEPRI_OVERLAY + "/")
    assert empty.status_code == 200
    assert empty.json() == {"new_services_enabled": False, "edits": [], "releases": []}
    assert not ProvinceOverlay.objects.exists()  # reading created nothing

    field = client.post(
        KEPRI_OVERLAY + "/fields/",
        {"key": SIM, "field": "fee_note", "value": "Bayar di Bank Riau Kepri"},
        format="json",
    )
    assert field.status_code == 200, field.json()
    assert field.json() == {
        "key": SIM, "origin": "master", "overrides": {"fee_note": "Bayar di Bank Riau Kepri"},
        "conflicts": {}, "values": {},
    }  # fmt: skip
    # null is a value: the fee "varies" in this province
    varies = client.post(
        KEPRI_OVERLAY + "/fields/", {"key": SIM, "field": "fee", "value": None}, format="json"
    )
    assert varies.status_code == 200 and varies.json()["overrides"]["fee"] is None

    added = client.post(KEPRI_OVERLAY + "/services/", PROVINCE_SERVICE, format="json")
    assert added.status_code == 201, added.json()
    body = added.json()
    assert (body["key"], body["origin"], body["overrides"]) == (
        PROVINCE_SERVICE["key"], "province", {},
    )  # fmt: skip
    assert body["values"]["agency"] == "dishub"
    assert body["values"]["categories"] == ["perhubungan"]
    assert body["values"]["name_id"] == "Izin Labuh Kapal Antarpulau"

    patched = client.patch(KEPRI_OVERLAY + "/", {"new_services_enabled": True}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["new_services_enabled"] is True
    assert [e["key"] for e in patched.json()["edits"]] == [PROVINCE_SERVICE["key"], SIM]

    published = client.post(KEPRI_OVERLAY + "/releases/", {"note": "Kanal bayar"}, format="json")
    assert published.status_code == 201, published.json()
    release = published.json()
    assert set(release) == {"version", "master_version", "published_at", "published_by",
                            "changelog"}  # fmt: skip
    assert (release["version"], release["master_version"], release["published_by"]) == (
        1, 1, kepri_admin.email,
    )  # fmt: skip
    assert release["changelog"].startswith("Kanal bayar")
    assert f"~ {SIM}: fee" in release["changelog"]
    assert f"+ {PROVINCE_SERVICE['key']}" in release["changelog"]

    shown = client.get(KEPRI_OVERLAY + "/").json()
    assert shown["new_services_enabled"] is True
    assert [r["version"] for r in shown["releases"]] == [1]
    assert "snapshot" not in shown["releases"][0]
    listed = client.get(KEPRI_OVERLAY + "/releases/")
    assert listed.status_code == 200 and listed.json() == shown["releases"]

    detail = client.get(KEPRI_OVERLAY + "/releases/1/")
    assert detail.status_code == 200
    rows = {row["key"]: row for row in detail.json()["snapshot"]["services"]}
    assert rows[SIM]["fee_note"] == "Bayar di Bank Riau Kepri" and rows[SIM]["fee"] is None
    assert rows[PROVINCE_SERVICE["key"]]["agency"] == "dishub"
    assert client.get(KEPRI_OVERLAY + "/releases/2/").status_code == 404

    events = AuditEvent.objects.filter(action__startswith="province_catalogue.")
    assert {e.actor_email for e in events} == {kepri_admin.email}
    assert sorted(e.action for e in events) == sorted(
        ["province_catalogue.field_set"] * 2
        + ["province_catalogue.service_added", "province_catalogue.new_services_enabled",
           "province_catalogue.release_published"]
    )  # fmt: skip
    # Kaltim's overlay is untouched.
    assert not ProvinceOverlay.objects.filter(province=kaltim).exists()


@pytest.mark.parametrize(("choice", "fee"), [("upstream", 125000), ("mine", 130000)])
def test_province_admin_resolves_a_conflict(
    kepri_admin: User, kepri: Province, choice: str, fee: int
) -> None:
    client = api_client_for(kepri_admin)
    body = {"key": SIM, "field": "fee", "value": 130000}
    assert client.post(KEPRI_OVERLAY + "/fields/", body, format="json").status_code == 200
    update_master_service(Service.objects.get(key=SIM), {"fee": 125000}, acting_user=None)
    publish_release(acting_user=None)
    assert client.post(KEPRI_OVERLAY + "/releases/", {}, format="json").status_code == 201
    edit = client.get(KEPRI_OVERLAY + "/").json()["edits"][0]
    assert edit["conflicts"] == {"fee": {"base": 120000, "upstream": 125000, "local": 130000}}

    resolved = client.post(
        KEPRI_OVERLAY + "/resolve/", {"key": SIM, "field": "fee", "choice": choice}, format="json"
    )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["conflicts"] == {}
    published = client.post(KEPRI_OVERLAY + "/releases/", format="json")
    assert published.status_code == 201 and published.json()["version"] == 2
    snapshot = client.get(KEPRI_OVERLAY + "/releases/2/").json()["snapshot"]
    assert next(r for r in snapshot["services"] if r["key"] == SIM)["fee"] == fee


# --- Province overlay: bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("post", "/fields/", {"field": "fee", "value": 1}, {"key"}),
        ("post", "/fields/", {"key": SIM, "value": 1}, {"field"}),
        ("post", "/fields/", {"key": SIM, "field": "fee"}, {"value"}),
        ("post", "/fields/", {"key": SIM, "field": "warna", "value": 1}, {"field"}),
        ("post", "/fields/", {"key": SIM, "field": "agency_code", "value": "x"}, {"field"}),
        ("post", "/fields/", {"key": SIM, "field": "fee", "value": -1}, {"fee"}),
        ("post", "/fields/", {"key": SIM, "field": "channel", "value": "kapal"}, {"channel"}),
        ("post", "/fields/", {"key": "no-such-service", "field": "fee", "value": 1}, {"key"}),
        ("post", "/fields/", {"key": ["x"], "field": "fee", "value": 1}, {"key"}),
        ("post", "/fields/", [SIM, "fee", 1], {"non_field_errors"}),
        ("post", "/services/", {k: v for k, v in PROVINCE_SERVICE.items() if k != "name_id"},
         {"name_id"}),
        ("post", "/services/", PROVINCE_SERVICE | {"key": SIM}, {"key"}),  # a master service
        ("post", "/services/", PROVINCE_SERVICE | {"key": "Kunci Buruk"}, {"key"}),
        ("post", "/services/", PROVINCE_SERVICE | {"agency": "nope"}, {"agency"}),
        ("post", "/services/", PROVINCE_SERVICE | {"categories": ["nope"]}, {"categories"}),
        ("post", "/services/", PROVINCE_SERVICE | {"categories": "perhubungan"}, {"categories"}),
        ("post", "/services/", PROVINCE_SERVICE | {"fee": -5, "channel": "kapal"},
         {"fee", "channel"}),
        ("post", "/services/", PROVINCE_SERVICE | {"enabled": True}, {"enabled"}),
        ("post", "/resolve/", {"key": SIM, "field": "fee", "choice": "keduanya"}, {"choice"}),
        ("post", "/resolve/", {"key": SIM, "field": "fee"}, {"choice"}),
        ("post", "/resolve/", {"key": SIM, "choice": "mine"}, {"field"}),
        ("post", "/resolve/", {"key": KTP, "field": "fee", "choice": "mine"}, {"key"}),  # no edit
        ("post", "/resolve/", {"key": SIM, "field": "fee_note", "choice": "mine"},
         {"fee_note"}),  # an edit, but no conflict on that field
        ("patch", "/", {}, {"new_services_enabled"}),
        ("patch", "/", {"new_services_enabled": "mungkin"}, {"new_services_enabled"}),
        ("patch", "/", {"new_services_enabled": None}, {"new_services_enabled"}),
        ("post", "/releases/", {"note": ["bukan", "teks"]}, {"note"}),
        ("post", "/releases/", {"note": "x" * 5001}, {"note"}),
        ("post", "/releases/", ["note"], {"non_field_errors"}),
    ],
)  # fmt: skip
def test_overlay_writes_refuse_bad_input_and_change_nothing(
    kepri_admin: User, kepri: Province, method: str, path: str, body: Any, fields: set[str]
) -> None:
    # An existing edit (without a conflict), so that "resolve" has something to refuse.
    overlay.set_province_field(kepri, SIM, "fee", 130000, acting_user=None)
    before = overlay_state()
    client = api_client_for(kepri_admin)
    response = getattr(client, method)(KEPRI_OVERLAY + path, body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert overlay_state() == before


def test_overlay_refuses_a_body_that_is_not_json(kepri_admin: User) -> None:
    before = overlay_state()
    response = api_client_for(kepri_admin).post(
        KEPRI_OVERLAY + "/fields/", {"key": SIM, "field": "fee", "value": "1"}
    )  # multipart
    assert response.status_code == 415
    assert overlay_state() == before


def test_overlay_read_does_not_grow_in_queries(
    kepri_admin: User, kepri: Province, django_assert_max_num_queries: Any
) -> None:
    client = api_client_for(kepri_admin)
    overlay.set_province_field(kepri, SIM, "fee", 130000, acting_user=None)
    overlay.publish_province_release(kepri, acting_user=None)
    # token + user, province, overlay, edits, releases
    with django_assert_max_num_queries(5):
        small = client.get(KEPRI_OVERLAY + "/").json()
    overlay.set_province_field(kepri, KTP, "fee_note", "Gratis", acting_user=None)
    for i in range(4):
        overlay.add_province_service(
            kepri, PROVINCE_SERVICE | {"key": f"kepri-layanan-{i}"}, acting_user=None
        )
        overlay.publish_province_release(kepri, acting_user=None)
    with django_assert_max_num_queries(5):
        large = client.get(KEPRI_OVERLAY + "/").json()
    assert (len(small["edits"]), len(small["releases"])) == (1, 1)
    assert (len(large["edits"]), len(large["releases"])) == (6, 5)
    with django_assert_max_num_queries(3):
        assert len(client.get(KEPRI_OVERLAY + "/releases/").json()) == 5


# --- Master export (apex) ---------------------------------------------------------------------


def test_master_export_in_every_format(
    kepri_admin: User, operator: User, django_assert_max_num_queries: Any
) -> None:
    data = master_catalogue_data()
    for user in (operator, kepri_admin):  # province admins read the master too
        client = api_client_for(user)
        # token + user, search path (catalog.io reads the public schema explicitly),
        # services, their categories, agencies, categories: whatever the catalogue's size
        with django_assert_max_num_queries(6):
            exported = client.get(f"{API}/export/")
        assert exported.status_code == 200
        assert exported["Content-Type"] == "application/json; charset=utf-8"
        assert exported["Content-Disposition"] == 'attachment; filename="satuatap-induk.json"'
        assert exported.content.decode() == export_json(data)

    client = api_client_for(operator)
    as_csv = client.get(f"{API}/export/?format=csv")
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert as_csv["Content-Disposition"] == 'attachment; filename="satuatap-induk.csv"'
    assert as_csv.content.decode() == export_csv(data)
    rows = csv_rows(as_csv.content.decode())
    assert len(rows) == 198 and next(r for r in rows if r["key"] == SIM)["fee"] == "120000"

    hsds = client.get(f"{API}/export/?format=hsds")
    assert hsds.status_code == 200 and hsds["Content-Type"] == "application/json; charset=utf-8"
    assert hsds["Content-Disposition"] == 'attachment; filename="satuatap-induk-hsds.json"'
    assert hsds.json() == export_hsds(data)
    assert len(hsds.json()["services"]) == 198 and hsds.json()["organizations"]

    # A release is exported as published, not as the master is now.
    update_master_service(Service.objects.get(key=SIM), {"fee": 125000}, acting_user=None)
    released = client.get(f"{API}/export/?release=1&format=json")
    assert released["Content-Disposition"] == 'attachment; filename="satuatap-induk-rilis-1.json"'
    assert next(s for s in released.json()["services"] if s["key"] == SIM)["fee"] == 120000
    live = client.get(f"{API}/export/").json()
    assert next(s for s in live["services"] if s["key"] == SIM)["fee"] == 125000


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("format=xml", {"format"}),
        ("release=99", {"release"}),
        ("release=satu", {"release"}),
        ("release=0", {"release"}),
        ("format=pdf&release=-1", {"format", "release"}),
    ],
)
def test_master_export_refuses_bad_parameters_by_name(
    operator: User, query: str, fields: set[str]
) -> None:
    response = api_client_for(operator).get(f"{API}/export/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == fields


def test_master_export_refuses_anonymous_and_tenant_tokens(
    tenant_a: Tenant, alpha_admin: User
) -> None:
    assert api_client_for(None).get(f"{API}/export/").status_code == 401
    alpha = tenant_api(tenant_a, alpha_admin)
    assert alpha.get(f"{API}/export/?format=csv", HTTP_HOST="localhost").status_code == 401


# --- Master import (apex) ---------------------------------------------------------------------


def test_master_import_of_a_json_body(operator: User) -> None:
    data = master_catalogue_data()
    next(s for s in data["services"] if s["key"] == SIM)["fee"] = 130000
    response = raw_post(
        api_client_for(operator), f"{API}/import/", export_json(data), "application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "format": "json", "counts": {"agencies": 32, "categories": 15, "services": 198},
    }  # fmt: skip
    assert Service.objects.get(key=SIM).fee == 130000
    event = AuditEvent.objects.get(action="catalogue.loaded", actor_email=operator.email)
    assert event.after == response.json()["counts"]


def test_master_import_of_csv_body_and_uploads(operator: User) -> None:
    client = api_client_for(operator)
    sim = next(s for s in master_catalogue_data()["services"] if s["key"] == SIM)
    services = {"services": [sim | {"fee": 131000}]}

    body = raw_post(client, f"{API}/import/", export_csv(services), "text/csv; charset=utf-8")
    assert body.status_code == 200, body.json()
    assert body.json() == {"format": "csv",
                           "counts": {"agencies": 1, "categories": 1, "services": 1}}  # fmt: skip
    assert Service.objects.get(key=SIM).fee == 131000

    # A spreadsheet's upload: the format comes from the file name.
    text = export_csv({"services": [sim | {"fee": 132000}]})
    upload = SimpleUploadedFile("katalog.CSV", text.encode(), content_type="text/csv")
    uploaded = client.post(f"{API}/import/", {"file": upload}, format="multipart")
    assert uploaded.status_code == 200, uploaded.json()
    assert uploaded.json()["format"] == "csv"
    assert Service.objects.get(key=SIM).fee == 132000

    # ...or from the `format` field when the name says nothing.
    text = export_json({"agencies": [], "categories": [], "services": [sim | {"fee": 133000}]})
    upload = SimpleUploadedFile("unduhan.txt", text.encode(), content_type="text/plain")
    uploaded = client.post(f"{API}/import/", {"file": upload, "format": "json"}, format="multipart")
    assert uploaded.status_code == 200, uploaded.json()
    assert uploaded.json()["format"] == "json"
    assert Service.objects.get(key=SIM).fee == 133000


def test_master_json_export_round_trips_through_import(operator: User) -> None:
    client = api_client_for(operator)
    before = master_fingerprint()
    exported = client.get(f"{API}/export/?format=json")
    upload = SimpleUploadedFile("satuatap-induk.json", exported.content)
    response = client.post(f"{API}/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["counts"]["services"] == 198
    after = master_fingerprint()
    assert after[:2] == before[:2]  # the catalogue is exactly as it was
    assert after[2] == before[2] + 1  # the import itself is on record
    assert client.get(f"{API}/export/?format=json").content == exported.content


def _bad_master_rows() -> str:
    data = master_catalogue_data()
    data["services"][2]["fee"] = -5
    data["services"][4]["agency"] = "nope"
    data["services"][4]["warna"] = "merah"
    return export_json(data)


def _bad_csv_row() -> str:
    sim = next(s for s in master_catalogue_data()["services"] if s["key"] == SIM)
    return export_csv({"services": [sim | {"fee": 1}, sim | {"key": "Bukan Kunci", "fee": "x"}]})


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (("raw", "{ bukan json", "application/json"), [(None, "", "")]),
        (("raw", "[1, 2]", "application/json"), [(None, "", "")]),
        (("raw", '{"services": [], "warna": []}', "application/json"), [(None, "", "warna")]),
        (("raw", "", "application/json"), [(None, "", "file")]),
        (("raw", "key,agency\nx,y\n", "text/csv"), "missing-columns"),
        (("raw", _bad_csv_row, "text/csv"), [(3, "Bukan Kunci", "key"), (3, "Bukan Kunci", "fee")]),
        (("raw", b"\xff\xfe{}", "application/json"), [(None, "", "file")]),
        (("raw", _bad_master_rows, "application/json"), "bad-rows"),
        (("multipart", None, None), [(None, "", "file")]),
        (("multipart", "katalog.xlsx", None), [(None, "", "format")]),
        (("multipart", "katalog.json", "hsds"), [(None, "", "format")]),
    ],
)  # fmt: skip
def test_master_import_refuses_bad_files_and_writes_nothing(
    operator: User, send: tuple[str, Any, Any], expected: Any
) -> None:
    client = api_client_for(operator)
    how, content, kind = send
    content = content() if callable(content) else content
    before = master_fingerprint()
    if how == "raw":
        response = raw_post(client, f"{API}/import/", content, kind)
    else:
        form: dict[str, Any] = {"format": kind} if kind else {}
        if content:
            form["file"] = SimpleUploadedFile(
                content, export_json(master_catalogue_data()).encode()
            )
        response = client.post(f"{API}/import/", form, format="multipart")
    errors = import_errors(response)
    if expected == "missing-columns":
        assert {field for _, _, field in errors} >= {"categories", "name_id", "fee"}
        assert {row for row, _, _ in errors} == {None}
    elif expected == "bad-rows":
        data = master_catalogue_data()
        third, fifth = data["services"][2]["key"], data["services"][4]["key"]
        assert errors == [(3, third, "fee"), (5, fifth, "agency"), (5, fifth, "warna")]
    else:
        assert errors == expected
    assert master_fingerprint() == before


def test_master_import_refuses_other_media_types(operator: User) -> None:
    before = master_fingerprint()
    response = raw_post(api_client_for(operator), f"{API}/import/", "<x/>", "application/xml")
    assert response.status_code == 415
    assert master_fingerprint() == before


def test_only_operators_import_the_master(
    kepri_admin: User, tenant_a: Tenant, alpha_admin: User
) -> None:
    data = master_catalogue_data()
    next(s for s in data["services"] if s["key"] == SIM)["fee"] = 1
    text = export_json(data)
    before = master_fingerprint()
    refused = raw_post(api_client_for(kepri_admin), f"{API}/import/", text, "application/json")
    assert refused.status_code == 403
    assert "operator" in refused.json()["detail"]
    anonymous = raw_post(api_client_for(None), f"{API}/import/", text, "application/json")
    assert anonymous.status_code == 401
    alpha = tenant_api(tenant_a, alpha_admin)
    tenant_token = raw_post(alpha, f"{API}/import/", text, "application/json",
                            HTTP_HOST="localhost")  # fmt: skip
    assert tenant_token.status_code == 401
    assert master_fingerprint() == before


# --- A tenant's export and import (tenant host) ----------------------------------------------


def test_tenant_export_in_every_format(
    tenant_a: Tenant, alpha_officer: User, django_assert_max_num_queries: Any
) -> None:
    with tenant_context(tenant_a):
        local.create_local_service(
            {"key": LOCAL_KEY, "agency_code": "dukcapil", "name_id": "Kurir Dokumen",
             "category_codes": ["kependudukan"], "fee": 15000},
            acting_user=None,
        )  # fmt: skip
        local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
    client = tenant_api(tenant_a, alpha_officer)  # officers may export
    assert route_cache.wait_until_listening()  # until then every request looks its host up
    assert client.get("/api/v1/export/").status_code == 200  # cache the route
    # token + user, services, agencies, categories
    with django_assert_max_num_queries(4):
        full = client.get("/api/v1/export/")
    assert full.status_code == 200
    assert full["Content-Type"] == "application/json; charset=utf-8"
    assert full["Content-Disposition"] == 'attachment; filename="satuatap-alpha.json"'
    keys = [s["key"] for s in full.json()["services"]]
    assert LOCAL_KEY in keys and SIM in keys and KTP not in keys  # offered services only
    assert len(keys) == 198

    own = client.get("/api/v1/export/?scope=local&format=json")
    assert own["Content-Disposition"] == 'attachment; filename="satuatap-alpha-lokal.json"'
    assert [s["key"] for s in own.json()["services"]] == [LOCAL_KEY]
    assert [a["code"] for a in own.json()["agencies"]] == ["dukcapil"]

    as_csv = client.get("/api/v1/export/?format=csv&scope=local")
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert as_csv["Content-Disposition"] == 'attachment; filename="satuatap-alpha-lokal.csv"'
    (row,) = csv_rows(as_csv.content.decode())
    assert (row["key"], row["fee"], row["agency"]) == (LOCAL_KEY, "15000", "dukcapil")

    hsds = client.get("/api/v1/export/?format=hsds")
    assert hsds["Content-Disposition"] == 'attachment; filename="satuatap-alpha-hsds.json"'
    service = next(s for s in hsds.json()["services"] if s["name"] == "Kurir Dokumen")
    # Each service links to its page on this mall's portal.
    assert service["url"] == f"http://{tenant_a.host}/layanan/{LOCAL_KEY}/"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("format=xml", {"format"}),
        ("scope=semua", {"scope"}),
        ("format=pdf&scope=x", {"format", "scope"}),
    ],
)
def test_tenant_export_refuses_bad_parameters_by_name(
    tenant_a: Tenant, alpha_officer: User, query: str, fields: set[str]
) -> None:
    response = tenant_api(tenant_a, alpha_officer).get(f"/api/v1/export/?{query}")
    assert response.status_code == 400 and set(response.json()) == fields


def test_tenant_import_creates_and_updates_local_services(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User
) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    beta_before = local_state(tenant_b)
    created = raw_post(client, "/api/v1/import/", services_file(local_row()), "application/json")
    assert created.status_code == 200, created.json()
    assert created.json() == {"format": "json",
                              "counts": {"created": 1, "updated": 0, "unchanged": 0}}  # fmt: skip
    with tenant_context(tenant_a):
        service = LocalService.objects.get(key=LOCAL_KEY)
        assert (service.origin, service.agency_code, service.fee) == ("local", "dukcapil", 0)
        event = AuditEvent.objects.get(action="catalogue.local_service_created")
        assert event.actor_email == alpha_admin.email

    text = export_csv({"services": [local_row(fee=25000)]})
    upload = SimpleUploadedFile("layanan-lokal.csv", text.encode(), content_type="text/csv")
    updated = client.post("/api/v1/import/", {"file": upload}, format="multipart")
    assert updated.status_code == 200, updated.json()
    assert updated.json()["counts"] == {"created": 0, "updated": 1, "unchanged": 0}
    with tenant_context(tenant_a):
        assert LocalService.objects.get(key=LOCAL_KEY).fee == 25000
    # Nothing reached tenant B, nor the master.
    assert local_state(tenant_b) == beta_before
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key=LOCAL_KEY).exists()
    connection.set_schema_to_public()
    assert not Service.objects.filter(key=LOCAL_KEY).exists()


def test_tenant_json_export_round_trips_through_import(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    rows = [local_row(), local_row("antar-jemput-lansia", name_id="Antar Jemput Lansia", fee=None)]
    first = raw_post(client, "/api/v1/import/", services_file(*rows), "application/json")
    assert first.status_code == 200, first.json()
    before = local_state(tenant_a)
    exported = client.get("/api/v1/export/?scope=local")
    assert [s["key"] for s in exported.json()["services"]] == ["antar-jemput-lansia", LOCAL_KEY]
    again = raw_post(client, "/api/v1/import/", exported.content, "application/json")
    assert again.status_code == 200, again.json()
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert local_state(tenant_a) == before
    assert client.get("/api/v1/export/?scope=local").content == exported.content


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (services_file(local_row(), local_row(SIM)), [(2, SIM, "key")]),  # a master service
        (services_file(local_row("satpas-uji", agency="upt-beta")),
         [(1, "satpas-uji", "agency")]),  # an agency of tenant B only
        (services_file(local_row(fee=-5), local_row(), local_row("x-y", requirements="KTP")),
         [(1, LOCAL_KEY, "fee"), (2, LOCAL_KEY, "key"), (3, "x-y", "requirements")]),
        (services_file(), [(None, "", "services")]),
        ('{"services": "semua"}', [(None, "", "services")]),
        ("{ bukan json", [(None, "", "")]),
    ],
)  # fmt: skip
def test_tenant_import_refuses_bad_files_and_writes_nothing(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User, text: str, expected: Any
) -> None:
    with tenant_context(tenant_b):
        local.create_local_agency(code="upt-beta", name="UPT Beta", acting_user=None)
    before, beta_before = local_state(tenant_a), local_state(tenant_b)
    response = raw_post(
        tenant_api(tenant_a, alpha_admin), "/api/v1/import/", text, "application/json"
    )
    assert import_errors(response) == expected
    assert local_state(tenant_a) == before
    assert local_state(tenant_b) == beta_before


def test_tenant_import_refuses_a_bad_csv_upload(tenant_a: Tenant, alpha_admin: User) -> None:
    before = local_state(tenant_a)
    text = export_csv({"services": [local_row(), local_row("kedua", fee="gratis")]})
    upload = SimpleUploadedFile("lokal.csv", text.encode())
    response = tenant_api(tenant_a, alpha_admin).post(
        "/api/v1/import/", {"file": upload}, format="multipart"
    )
    assert import_errors(response) == [(3, "kedua", "fee")]  # the spreadsheet's row
    assert local_state(tenant_a) == before


def test_tenant_export_and_import_roles(
    tenant_a: Tenant, alpha_officer: User, operator: User, kepri_admin: User
) -> None:
    before = local_state(tenant_a)
    text = services_file(local_row())
    officer = tenant_api(tenant_a, alpha_officer)
    assert officer.get("/api/v1/export/").status_code == 200
    refused = raw_post(officer, "/api/v1/import/", text, "application/json")
    assert refused.status_code == 403 and "admin daerah" in refused.json()["detail"]

    anonymous = APIClient(HTTP_HOST=tenant_a.host)
    assert anonymous.get("/api/v1/export/").status_code == 401
    assert raw_post(anonymous, "/api/v1/import/", text, "application/json").status_code == 401
    for user in (operator, kepri_admin):  # platform tokens are unknown on a tenant host
        connection.set_schema_to_public()
        client = api_client_for(user)
        assert client.get("/api/v1/export/", HTTP_HOST=tenant_a.host).status_code == 401
        posted = raw_post(client, "/api/v1/import/", text, "application/json",
                          HTTP_HOST=tenant_a.host)  # fmt: skip
        assert posted.status_code == 401
    assert local_state(tenant_a) == before


def test_tenant_a_export_never_contains_b_and_a_import_never_reaches_b(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User, beta_admin: User
) -> None:
    with tenant_context(tenant_b):
        local.create_local_agency(code="upt-beta", name="UPT Beta Rahasia", acting_user=None)
    beta = tenant_api(tenant_b, beta_admin)
    secret = local_row("rahasia-beta", agency="upt-beta", name_id="Layanan Rahasia Beta")
    assert raw_post(beta, "/api/v1/import/", services_file(secret),
                    "application/json").status_code == 200  # fmt: skip

    alpha = tenant_api(tenant_a, alpha_admin)
    for query in ("", "format=csv", "format=hsds", "scope=local",
                  "scope=local&format=csv", "scope=local&format=hsds"):  # fmt: skip
        text = alpha.get(f"/api/v1/export/?{query}").content.decode()
        assert "rahasia-beta" not in text and "Rahasia" not in text, query
    # B's own export does carry it: the check above can fail.
    assert "rahasia-beta" in beta.get("/api/v1/export/?scope=local").content.decode()

    # Alpha imports a service with the same key: it is alpha's, and beta's is untouched.
    beta_before = local_state(tenant_b)
    mine = local_row("rahasia-beta", name_id="Layanan Alpha", fee=5000)
    assert raw_post(alpha, "/api/v1/import/", services_file(mine),
                    "application/json").status_code == 200  # fmt: skip
    assert local_state(tenant_b) == beta_before
    with tenant_context(tenant_b):
        service = LocalService.objects.get(key="rahasia-beta")
        assert (service.name_id, service.fee, service.agency_code) == (
            "Layanan Rahasia Beta", 0, "upt-beta",
        )  # fmt: skip
    with tenant_context(tenant_a):
        assert LocalService.objects.get(key="rahasia-beta").name_id == "Layanan Alpha"


# --- OpenAPI ----------------------------------------------------------------------------------


def test_apex_openapi_schema_lists_overlay_and_io_paths(db: None) -> None:
    response = APIClient(HTTP_HOST="localhost").get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    overlay_path = "/api/v1/catalogue/provinces/{code}/overlay/"
    expected = {
        overlay_path: {"get", "patch"},
        overlay_path + "fields/": {"post"},
        overlay_path + "services/": {"post"},
        overlay_path + "resolve/": {"post"},
        overlay_path + "releases/": {"get", "post"},
        overlay_path + "releases/{version}/": {"get"},
        "/api/v1/catalogue/export/": {"get"},
        "/api/v1/catalogue/import/": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths.get(path, {})) == methods, path
    export = paths["/api/v1/catalogue/export/"]["get"]
    assert {p["name"] for p in export["parameters"]} == {"format", "release"}
    assert set(export["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    import_op = paths["/api/v1/catalogue/import/"]["post"]
    assert set(import_op["requestBody"]["content"]) == {
        "multipart/form-data", "application/json", "text/csv",
    }  # fmt: skip
    assert {"200", "400"} <= set(import_op["responses"])
    assert "/api/v1/export/" not in paths and "/api/v1/import/" not in paths


def test_tenant_openapi_schema_lists_io_paths(tenant_a: Tenant) -> None:
    response = APIClient(HTTP_HOST=tenant_a.host).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/v1/export/"]) == {"get"}
    assert set(paths["/api/v1/import/"]) == {"post"}
    params = {p["name"] for p in paths["/api/v1/export/"]["get"]["parameters"]}
    assert params == {"format", "scope"}
    assert not any(p.startswith("/api/v1/catalogue/") for p in paths)
