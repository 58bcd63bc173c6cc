"""Catalogue import and export: JSON, CSV and HSDS round trips, bad files, tenant isolation."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from catalog.actions import SHIPPED_CATALOGUE, create_master_service, read_shipped_catalogue
from catalog.io import (
    HSDS_NAMESPACE,
    CatalogueImportError,
    RowError,
    export_csv,
    export_hsds,
    export_json,
    import_local_services,
    import_master,
    local_catalogue_data,
    master_catalogue_data,
    parse_csv,
    parse_json,
    validate_master_import,
)
from catalog.local import actions as local
from catalog.local.models import LocalAgency, LocalService
from catalog.models import Release, Service
from catalog.releases import SERVICE_FIELDS, latest_release, snapshot_master
from catalog.validation import clean_field
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant

SIM = "satpas-sim-a-baru"
KTP = "dukcapil-ktp-el-baru"

# Property names of the Open Referral HSDS 3.0 schema files (openreferral/specification,
# schema/*.json) for the objects we emit.
HSDS_SERVICE = {
    "id", "organization_id", "program_id", "name", "alternate_name", "description", "url",
    "email", "status", "interpretation_services", "application_process", "fees_description",
    "accreditations", "eligibility_description", "minimum_age", "maximum_age", "assured_date",
    "assurer_email", "alert", "schedules", "languages", "program", "fundings",
    "required_documents", "service_at_locations", "phones", "organization", "contacts",
    "cost_options", "service_areas", "attributes", "metadata",
}  # fmt: skip
HSDS_ORGANIZATION = {
    "id", "name", "alternate_name", "description", "email", "website", "year_incorporated",
    "legal_status", "logo", "uri", "parent_organization_id", "organization_identifiers",
    "programs", "contacts", "locations", "fundings", "phones", "attributes", "metadata",
}  # fmt: skip
HSDS_COST_OPTION = {"id", "service_id", "valid_from", "valid_to", "option", "currency", "amount",
                    "amount_description", "attributes", "metadata"}  # fmt: skip
HSDS_REQUIRED_DOCUMENT = {"id", "service_id", "document", "attributes", "metadata"}
HSDS_LANGUAGE = {"id", "service_id", "location_id", "phone_id", "name", "code", "note",
                 "attributes", "metadata"}  # fmt: skip


def fingerprint() -> tuple[int, str]:
    """Number of master services and a checksum of the whole master catalogue."""
    with schema_context("public"):
        snapshot = json.dumps(snapshot_master(), sort_keys=True)
        return Service.objects.count(), hashlib.sha256(snapshot.encode()).hexdigest()


def by_key(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in data["services"] if s["key"] == key)


def local_row(key: str = "kurir-dokumen-pulau", **changes: Any) -> dict[str, Any]:
    """A valid local service row in the file format."""
    return {
        "key": key,
        "agency": "dukcapil",
        "categories": ["kependudukan"],
        "name_id": "Antar Dokumen ke Pulau Terluar",
        "name_en": "Document courier to outer islands",
        "requirements": [{"document": "Bukti pengajuan", "note": "Dari loket MPP"}],
        "procedure": ["Daftar di loket", "Dokumen diantar dengan kapal dinas"],
        "processing_days": 3,
        "same_day": False,
        "fee": 0,
        "channel": "onsite",
    } | changes


def services_file(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"agencies": [], "categories": [], "services": list(rows)}


def test_row_errors_read_as_sentences() -> None:
    assert str(RowError(3, SIM, "fee", "must not be negative (got -5)")) == (
        "row 3 (satpas-sim-a-baru), fee: must not be negative (got -5)"
    )
    assert str(RowError(4, "", "", "must be an object")) == "row 4: must be an object"
    assert str(RowError(None, "", "fee", "missing column")) == "fee: missing column"
    assert str(RowError(None, "", "", "invalid JSON: x")) == "invalid JSON: x"
    error = CatalogueImportError([RowError(None, "", "", "a"), RowError(2, "k", "f", "b")])
    assert str(error) == "a\nrow 2 (k), f: b" and len(error.errors) == 2


# --------------------------------------------------------------------------- JSON


def test_json_round_trip_of_the_shipped_catalogue(db: None) -> None:
    text = SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    data = read_shipped_catalogue()
    assert export_json(data) == text  # byte for byte the file we ship
    assert parse_json(text) == data
    assert parse_json(export_json(data)) == data


def test_json_round_trip_of_the_live_master_and_a_release(
    db: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(5):
        live = master_catalogue_data()
    assert parse_json(export_json(live)) == live
    shipped = read_shipped_catalogue()
    # The master keeps category codes sorted; the shipped file lists some in another order.
    expected = [s | {"categories": sorted(s["categories"])} for s in shipped["services"]]
    assert live["services"] == sorted(expected, key=lambda s: s["key"])
    assert "Satuan Penyelenggara Administrasi SIM" in export_json(live)  # UTF-8, not \u escapes

    release = latest_release()
    snapshot = master_catalogue_data(release.version)
    assert snapshot == release.snapshot
    assert parse_json(export_json(snapshot)) == release.snapshot
    with pytest.raises(Release.DoesNotExist, match="no catalogue release 999"):
        master_catalogue_data(999)


def test_export_json_keeps_the_key_order_of_master_json(db: None) -> None:
    service = dict(reversed(list(by_key(master_catalogue_data(), SIM).items())))
    service["requirements"] = [{"note": "n", "document": "d"}]
    text = export_json({"agencies": [], "categories": [], "services": [service]})
    keys = list(json.loads(text)["services"][0])
    assert keys[:3] == ["key", "agency", "categories"] and keys[3:] == list(SERVICE_FIELDS)
    assert text.index('"document"') < text.index('"note"')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON: Expecting property name enclosed in double quotes (line 1"),
        ("", "invalid JSON: Expecting value (line 1, column 1)"),
        ("[1, 2]", "the file must be a JSON object with agencies, categories and services"),
        ('{"agencies": []}', "services: is required"),
        ('{"services": {"a": 1}}', "services: must be a list"),
        ('{"services": [], "layanan": []}', "layanan: unknown section"),
    ],
)
def test_malformed_json_is_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogueImportError) as caught:
        parse_json(text)
    assert str(caught.value.errors[0]).startswith(message)
    assert all(error.row is None for error in caught.value.errors)


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip_of_the_master_catalogue(db: None) -> None:
    data = master_catalogue_data()
    parsed = parse_csv(export_csv(data))
    assert parsed == {"agencies": [], "categories": [], "services": data["services"]}
    assert validate_master_import(parsed) == []


def test_csv_cells_are_readable_in_a_spreadsheet(db: None) -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(master_catalogue_data()), newline="")))
    row = next(r for r in rows if r["key"] == SIM)
    assert list(row) == ["key", "agency", "categories", *SERVICE_FIELDS]
    assert (row["agency"], row["categories"], row["fee"]) == ("satpas", "kendaraan-sim", "120000")
    assert (row["same_day"], row["processing_days"], row["channel"]) == ("true", "", "onsite")
    assert row["requirements"].splitlines()[:2] == [
        "KTP-el asli dan fotokopi",
        "Surat keterangan sehat jasmani dari dokter | Berlaku pada saat permohonan",
    ]
    assert row["procedure"].splitlines()[0].startswith("Ambil nomor antrean")
    assert next(r for r in rows if r["key"] == "dpmptsp-pkkpr")["fee"] == ""  # None: varies


def test_csv_round_trip_equals_the_cleaned_services(db: None) -> None:
    raw = {
        "key": "uji-layanan",
        "agency": "dukcapil",
        "categories": ["kependudukan", "kendaraan-sim"],
        "name_id": "  Layanan Uji  ",
        "name_en": "",
        "description_id": "Baris satu",
        "requirements": ["KTP-el", {"document": " KK ", "note": " asli "}],
        "procedure": [" Ambil antrean ", "Serahkan berkas"],
        "processing_days": "7",
        "same_day": False,
        "fee": None,
        "fee_note": "Tarif | sesuai perda",  # a bar outside requirements is plain text
        "legal_basis": [],
        "channel": "both",
        "keywords": ["uji", "tes"],
    }
    cleaned = {k: raw[k] for k in ("key", "agency", "categories")} | {
        name: clean_field(name, raw[name]) for name in SERVICE_FIELDS if name in raw
    }
    assert cleaned["requirements"] == [
        {"document": "KTP-el", "note": ""},
        {"document": "KK", "note": "asli"},
    ]
    # Cleaned services come back exactly; columns a row lacked come back empty.
    parsed = parse_csv(export_csv(services_file(cleaned)))["services"][0]
    assert {name: parsed[name] for name in cleaned} == cleaned
    assert (parsed["description_en"], parsed["product"]) == ("", "")
    # Raw values come back as what validation turns into the cleaned ones.
    parsed = parse_csv(export_csv(services_file(raw)))["services"][0]
    assert {
        name: clean_field(name, parsed[name]) if name in SERVICE_FIELDS else parsed[name]
        for name in cleaned
    } == cleaned
    assert validate_master_import(parse_csv(export_csv(services_file(raw)))) == []


def test_csv_from_a_spreadsheet_with_bom_crlf_and_blank_rows(db: None) -> None:
    text = export_csv(services_file(by_key(master_catalogue_data(), SIM)))
    text = "\ufeff" + text.replace(",true,", ",TRUE,") + ",,,,,,,,,,,,,,,,,,\r\n\r\n"
    parsed = parse_csv(text)
    assert parsed["services"] == [by_key(master_catalogue_data(), SIM)]
    assert validate_master_import(parsed) == []


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", ["the file is empty (no header row)"]),
        (
            "key,agency\nx,y\n",
            [f"{name}: missing column" for name in ("categories", *SERVICE_FIELDS)],
        ),
        ('key,agency,"categories\n', ["invalid CSV: unexpected end of data"]),
    ],
)
def test_malformed_csv_is_refused(text: str, errors: list[str]) -> None:
    with pytest.raises(CatalogueImportError) as caught:
        parse_csv(text)
    assert [str(e) for e in caught.value.errors] == errors


def test_csv_with_renamed_or_extra_columns_or_short_rows(db: None) -> None:
    text = export_csv(master_catalogue_data())
    header, rest = text.split("\r\n", 1)
    with pytest.raises(CatalogueImportError) as caught:
        parse_csv(header.replace(",fee,", ",biaya,") + "\r\n" + rest)
    assert [str(e) for e in caught.value.errors] == ["fee: missing column", "biaya: unknown column"]

    with pytest.raises(CatalogueImportError) as caught:
        parse_csv(header + "\r\n" + f"{SIM},satpas,kendaraan-sim\r\n")
    assert [str(e) for e in caught.value.errors] == [
        f"row 2 ({SIM}): expected {len(SERVICE_FIELDS) + 3} cells, got 3"
    ]


# --------------------------------------------------------------------------- HSDS


def test_hsds_export_structure(db: None) -> None:
    data = master_catalogue_data()
    hsds = export_hsds(data, base_url="https://alpha.satuatap.id/")
    assert set(hsds) == {"organizations", "services"}
    assert len(hsds["organizations"]) == len(data["agencies"])
    assert len(hsds["services"]) == len(data["services"])
    json.dumps(hsds)  # plain JSON

    org_ids = {o["id"] for o in hsds["organizations"]}
    assert len(org_ids) == len(data["agencies"])
    for organization in hsds["organizations"]:
        assert set(organization) <= HSDS_ORGANIZATION
        assert organization["name"] and organization["description"]
    service_ids = {s["id"] for s in hsds["services"]}
    assert len(service_ids) == len(data["services"])
    for service in hsds["services"]:
        assert set(service) <= HSDS_SERVICE
        assert {"id", "name", "status"} <= set(service)  # required by the schema
        assert service["status"] == "active" and service["organization_id"] in org_ids
        assert all(set(c) <= HSDS_COST_OPTION for c in service["cost_options"])
        assert all(set(d) <= HSDS_REQUIRED_DOCUMENT for d in service["required_documents"])
        assert all(set(lang) <= HSDS_LANGUAGE for lang in service["languages"])
        uuid.UUID(service["id"])

    source = by_key(data, SIM)
    sim = next(s for s in hsds["services"] if s["name"] == "Penerbitan SIM A Baru")
    assert sim["id"] == str(uuid.uuid5(HSDS_NAMESPACE, f"service/{SIM}"))
    assert sim["url"] == f"https://alpha.satuatap.id/layanan/{SIM}/"
    assert sim["alternate_name"] == "New driving licence, class A"
    [cost] = sim["cost_options"]
    assert (cost["amount"], cost["currency"], cost["option"]) == (
        120000,
        "IDR",
        source["fee_note"],
    )
    assert [d["document"] for d in sim["required_documents"]] == [
        "KTP-el asli dan fotokopi",
        "Surat keterangan sehat jasmani dari dokter (Berlaku pada saat permohonan)",
        "Surat keterangan lulus tes psikologi",
        "Usia minimal 17 tahun (Dibuktikan dengan KTP-el)",
    ]
    assert sim["fees_description"].startswith("Rp 120.000\nPNBP penerbitan SIM")
    assert sim["application_process"].startswith("1. Ambil nomor antrean")
    assert sim["accreditations"].splitlines()[0] == source["legal_basis"][0]
    assert sim["languages"][0]["code"] == "id"
    satpas = next(o for o in hsds["organizations"] if o["id"] == sim["organization_id"])
    assert satpas["website"] == "https://polri.go.id"

    by_name = {s["name"]: s for s in hsds["services"]}
    assert by_name[by_key(data, KTP)["name_id"]]["cost_options"][0]["amount"] == 0
    assert by_name[by_key(data, "dpmptsp-pkkpr")["name_id"]]["cost_options"] == []
    # Ids are stable: the same catalogue exports the same document.
    assert export_hsds(data, base_url="https://alpha.satuatap.id/") == hsds
    assert "url" not in export_hsds(data)["services"][0]


# --------------------------------------------------------------------------- bad imports


def _negative_fee(data: dict[str, Any]) -> None:
    by_key(data, SIM)["fee"] = -5


def _unknown_agency(data: dict[str, Any]) -> None:
    by_key(data, SIM)["agency"] = "dinas-entah"


def _duplicate_key(data: dict[str, Any]) -> None:
    data["services"].append(copy.deepcopy(by_key(data, SIM)))


def _missing_name(data: dict[str, Any]) -> None:
    del by_key(data, SIM)["name_id"]


def _requirements_text(data: dict[str, Any]) -> None:
    by_key(data, SIM)["requirements"] = "KTP-el asli"


def _requirement_without_document(data: dict[str, Any]) -> None:
    by_key(data, SIM)["requirements"] = [{"document": 5, "note": ""}]


def _fee_as_text(data: dict[str, Any]) -> None:
    by_key(data, SIM)["fee"] = "seratus ribu"


def _unknown_field(data: dict[str, Any]) -> None:
    by_key(data, SIM)["biaya"] = 1


def _unknown_category(data: dict[str, Any]) -> None:
    by_key(data, SIM)["categories"] = ["kendaraan-sim", "hiburan"]


def _bad_key(data: dict[str, Any]) -> None:
    data["services"].append(by_key(copy.deepcopy(data), SIM) | {"key": "SIM A Baru"})


JSON_CASES: list[tuple[Callable[[dict[str, Any]], None], str, str, str]] = [
    (_negative_fee, SIM, "fee", "must not be negative (got -5)"),
    (_unknown_agency, SIM, "agency", "unknown agency 'dinas-entah'"),
    (_duplicate_key, SIM, "key", "duplicate key; first used in row {row}"),
    (_missing_name, SIM, "name_id", "is required"),
    (_requirements_text, SIM, "requirements", "must be a list of {document, note}"),
    (_requirement_without_document, SIM, "requirements", "item 1 needs a document name"),
    (_fee_as_text, SIM, "fee", "must be a whole number of rupiah or empty"),
    (_unknown_field, SIM, "biaya", "unknown field"),
    (_unknown_category, SIM, "categories", "unknown category 'hiburan'"),
    (_bad_key, "SIM A Baru", "key", "must be lowercase letters, digits and hyphens"),
]


@pytest.mark.parametrize(("breaks", "key", "field", "reason"), JSON_CASES)
def test_bad_json_row_is_named_and_nothing_is_written(
    operator: User, breaks: Callable[[dict[str, Any]], None], key: str, field: str, reason: str
) -> None:
    data = master_catalogue_data()
    sim_row = [s["key"] for s in data["services"]].index(SIM) + 1
    breaks(data)
    before = fingerprint()
    # Change a valid row too: it must not be written either.
    by_key(data, KTP)["fee"] = 999

    parsed = parse_json(export_json(data))
    errors = validate_master_import(parsed)
    with pytest.raises(CatalogueImportError) as caught:
        import_master(parsed, acting_user=operator)
    assert caught.value.errors == errors
    [error] = errors
    row = len(data["services"]) if field == "key" else sim_row
    assert (error.row, error.key, error.field) == (row, key, field)
    assert error.reason.startswith(reason.replace("{row}", str(sim_row)))
    assert str(error).startswith(f"row {row} ({key}), {field}: ")
    assert fingerprint() == before
    assert not AuditEvent.objects.filter(actor_email=operator.email).exists()


def test_every_bad_row_is_reported_at_once(db: None) -> None:
    data = master_catalogue_data()
    by_key(data, SIM)["fee"] = -5
    by_key(data, SIM)["channel"] = "pos"
    by_key(data, KTP)["name_id"] = ""
    data["agencies"][0]["kind"] = "swasta"
    data["categories"][0]["name_id"] = ""
    errors = {(e.key, e.field) for e in validate_master_import(data)}
    assert errors == {
        (SIM, "fee"),
        (SIM, "channel"),
        (KTP, "name_id"),
        (data["agencies"][0]["code"], "agencies.kind"),
        (data["categories"][0]["code"], "categories.name_id"),
    }


def test_bad_csv_row_names_the_spreadsheet_row(operator: User) -> None:
    data = master_catalogue_data()
    lines = export_csv(data)
    reader_rows = list(csv.reader(io.StringIO(lines, newline="")))
    row_of = {r[0]: number for number, r in enumerate(reader_rows, start=1)}
    broken = copy.deepcopy(data)
    by_key(broken, SIM)["fee"] = -5
    by_key(broken, KTP)["name_id"] = ""
    before = fingerprint()

    parsed = parse_csv(export_csv(broken))
    with pytest.raises(CatalogueImportError) as caught:
        import_master(parsed, acting_user=operator)
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        f"row {row_of[KTP]} ({KTP}), name_id: is required",
        f"row {row_of[SIM]} ({SIM}), fee: must not be negative (got -5)",
    ]
    assert fingerprint() == before


def test_csv_rows_refer_to_the_master_agencies(db: None) -> None:
    row = by_key(master_catalogue_data(), SIM) | {"key": "satpas-sim-baru", "agency": "polda"}
    errors = validate_master_import(parse_csv(export_csv(services_file(row))))
    assert [str(e) for e in errors] == ["row 2 (satpas-sim-baru), agency: unknown agency 'polda'"]


def test_an_empty_file_imports_nothing(operator: User) -> None:
    with pytest.raises(CatalogueImportError, match="the file contains nothing to import"):
        import_master(services_file(), acting_user=operator)
    with pytest.raises(CatalogueImportError, match="the file contains nothing to import"):
        import_master(parse_csv(export_csv(services_file())), acting_user=operator)


# --------------------------------------------------------------------------- valid imports


def test_a_changed_catalogue_updates_the_master(operator: User) -> None:
    data = master_catalogue_data()
    count = len(data["services"])
    by_key(data, SIM)["fee"] = 125000
    by_key(data, SIM)["requirements"].append({"document": "Sertifikat mengemudi", "note": ""})
    data["agencies"].append(
        {"code": "upt-samsat-pulau", "name": "UPT Samsat Pulau", "kind": "skpd", "website": "",
         "contact": ""}
    )  # fmt: skip
    data["services"].append(
        by_key(data, SIM) | {"key": "samsat-pulau-pajak", "agency": "upt-samsat-pulau",
                             "name_id": "  Pajak Kendaraan Pulau  "}
    )  # fmt: skip

    counts = import_master(parse_json(export_json(data)), acting_user=operator)

    assert counts == {
        "agencies": len(data["agencies"]),
        "categories": len(data["categories"]),
        "services": count + 1,
    }
    assert Service.objects.count() == count + 1
    sim = Service.objects.get(key=SIM)
    assert sim.fee == 125000 and sim.requirements[-1]["document"] == "Sertifikat mengemudi"
    new = Service.objects.get(key="samsat-pulau-pajak")
    assert (new.name_id, new.agency.code) == ("Pajak Kendaraan Pulau", "upt-samsat-pulau")
    assert AuditEvent.objects.filter(action="catalogue.loaded", actor_email=operator.email).count()
    # The next export carries the change, and importing it again changes nothing.
    after = master_catalogue_data()
    assert by_key(after, SIM)["fee"] == 125000
    before = fingerprint()
    import_master(parse_json(export_json(after)), acting_user=operator)
    assert fingerprint() == before


def test_a_csv_import_updates_only_the_services_it_lists(operator: User) -> None:
    data = master_catalogue_data()
    sim = by_key(data, SIM) | {"fee": 130000, "keywords": ["sim", "sim a"]}
    counts = import_master(parse_csv(export_csv(services_file(sim))), acting_user=operator)
    assert counts == {"agencies": 1, "categories": 1, "services": 1}
    updated = master_catalogue_data()
    assert by_key(updated, SIM) == sim
    assert updated["agencies"] == data["agencies"] and updated["categories"] == data["categories"]
    assert [s for s in updated["services"] if s["key"] != SIM] == [
        s for s in data["services"] if s["key"] != SIM
    ]


def test_import_master_from_inside_a_tenant_still_writes_public(
    operator: User, tenant_a: Tenant
) -> None:
    data = master_catalogue_data()
    by_key(data, SIM)["fee"] = 126000
    with tenant_context(tenant_a):
        import_master(data, acting_user=operator)
        assert not AuditEvent.objects.filter(actor_email=operator.email).exists()  # tenant log
    connection.set_schema_to_public()
    assert Service.objects.get(key=SIM).fee == 126000
    assert AuditEvent.objects.filter(action="catalogue.loaded", actor_email=operator.email).exists()


# --------------------------------------------------------------------------- tenants


def test_local_import_creates_only_in_this_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        counts = import_local_services(services_file(local_row()), acting_user=None)
        assert counts == {"created": 1, "updated": 0, "unchanged": 0}
        service = LocalService.objects.get(key="kurir-dokumen-pulau")
        assert (service.origin, service.agency_code, service.category_codes) == (
            "local",
            "dukcapil",
            ["kependudukan"],
        )
        assert service.requirements == [{"document": "Bukti pengajuan", "note": "Dari loket MPP"}]
        assert AuditEvent.objects.filter(action="catalogue.local_service_created").count() == 1
    with tenant_context(tenant_b):
        assert not LocalService.objects.filter(key="kurir-dokumen-pulau").exists()
        assert not AuditEvent.objects.filter(action="catalogue.local_service_created").exists()
    with schema_context("public"):
        assert not Service.objects.filter(key="kurir-dokumen-pulau").exists()


def test_local_import_refuses_master_keys_and_writes_nothing(tenant_a: Tenant) -> None:
    with schema_context("public"):
        # In the master but not yet synced to the tenant: still a master key.
        create_master_service(
            local_row("dukcapil-baru-upstream", categories=[]) | {"agency": "dukcapil"},
            acting_user=None,
        )
    with tenant_context(tenant_a):
        count = LocalService.objects.count()
        sim = LocalService.objects.get(key=SIM)
        with pytest.raises(CatalogueImportError) as caught:
            import_local_services(
                services_file(
                    local_row(),
                    local_row(SIM, agency="satpas", categories=[], fee=1),
                    local_row("dukcapil-baru-upstream"),
                ),
                acting_user=None,
            )
        assert [(e.row, e.key, e.field) for e in caught.value.errors] == [
            (2, SIM, "key"),
            (3, "dukcapil-baru-upstream", "key"),
        ]
        assert "master service" in caught.value.errors[0].reason
        assert LocalService.objects.count() == count  # the valid row was not written either
        sim.refresh_from_db()
        assert sim.fee == 120000 and sim.overrides == {}


def test_local_import_only_knows_this_tenants_agencies(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_b):
        local.create_local_agency(code="upt-beta", name="UPT Beta", acting_user=None)
    with tenant_context(tenant_a):
        with pytest.raises(CatalogueImportError) as caught:
            import_local_services(services_file(local_row(agency="upt-beta")), acting_user=None)
        assert [str(e) for e in caught.value.errors] == [
            "row 1 (kurir-dokumen-pulau), agency: unknown agency 'upt-beta'"
        ]
        assert not LocalService.objects.filter(origin="local").exists()
    with tenant_context(tenant_b):
        import_local_services(services_file(local_row(agency="upt-beta")), acting_user=None)
        assert LocalService.objects.get(key="kurir-dokumen-pulau").agency_name == "UPT Beta"


def test_local_import_updates_its_own_services(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        import_local_services(services_file(local_row()), acting_user=None)
        changed = local_row(fee=15000, procedure=["Daftar di loket"])
        counts = import_local_services(services_file(changed), acting_user=None)
        assert counts == {"created": 0, "updated": 1, "unchanged": 0}
        service = LocalService.objects.get(key="kurir-dokumen-pulau")
        assert (service.fee, service.procedure) == (15000, ["Daftar di loket"])
        overridden = AuditEvent.objects.filter(action="catalogue.field_overridden")
        assert sorted(e.after.popitem()[0] for e in overridden) == ["fee", "procedure"]
        # Importing the same file again changes nothing.
        again = import_local_services(services_file(changed), acting_user=None)
        assert again == {"created": 0, "updated": 0, "unchanged": 1}

        with pytest.raises(CatalogueImportError) as caught:
            import_local_services(
                services_file(local_row(agency="satpas", categories=["kendaraan-sim"], fee=1)),
                acting_user=None,
            )
        assert [e.field for e in caught.value.errors] == ["agency", "categories"]
        assert LocalService.objects.get(key="kurir-dokumen-pulau").fee == 15000


def test_local_import_bad_rows(tenant_a: Tenant) -> None:
    rows = [
        local_row("layanan-a", fee=-5),
        local_row("layanan-a"),
        local_row("layanan-c", requirements="KTP"),
        local_row("layanan-d", name_id=""),
        local_row("layanan-e", categories=["hiburan"]),
    ]
    with tenant_context(tenant_a):
        with pytest.raises(CatalogueImportError) as caught:
            import_local_services(services_file(*rows), acting_user=None)
        assert [str(e) for e in caught.value.errors] == [
            "row 1 (layanan-a), fee: must not be negative (got -5)",
            "row 2 (layanan-a), key: duplicate key; first used in row 1",
            "row 3 (layanan-c), requirements: must be a list of {document, note}",
            "row 4 (layanan-d), name_id: is required",
            "row 5 (layanan-e), categories: unknown category 'hiburan'",
        ]
        assert not LocalService.objects.filter(origin="local").exists()
        with pytest.raises(CatalogueImportError, match="services: the file contains no services"):
            import_local_services(services_file(), acting_user=None)


def test_local_import_needs_a_tenant(db: None) -> None:
    with pytest.raises(RuntimeError, match="tenant"):
        import_local_services(services_file(local_row()), acting_user=None)
    with pytest.raises(RuntimeError, match="tenant"):
        local_catalogue_data()


def test_local_csv_round_trip(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        import_local_services(services_file(local_row()), acting_user=None)
        exported = local_catalogue_data(include_master=False)
        text = export_csv(exported).replace(",false,0,", ",false,25000,")
        counts = import_local_services(parse_csv(text), acting_user=None)
        assert counts == {"created": 0, "updated": 1, "unchanged": 0}
        assert LocalService.objects.get(key="kurir-dokumen-pulau").fee == 25000


def test_local_export_never_contains_another_tenants_services(
    tenant_a: Tenant, tenant_b: Tenant, django_assert_max_num_queries: Any
) -> None:
    with tenant_context(tenant_b):
        local.create_local_agency(code="upt-beta", name="UPT Beta", acting_user=None)
        import_local_services(
            services_file(local_row("rahasia-beta", agency="upt-beta")), acting_user=None
        )
    with tenant_context(tenant_a):
        import_local_services(services_file(local_row("milik-alpha")), acting_user=None)
        ktp = LocalService.objects.get(key=KTP)
        local.set_enabled(ktp, False, acting_user=None)
        local.override_field(
            LocalService.objects.get(key=SIM), "fee_note", "Bayar di Bank Riau", acting_user=None
        )
        with django_assert_max_num_queries(4):
            own = local_catalogue_data(include_master=False)
        with django_assert_max_num_queries(4):
            full = local_catalogue_data()
        agency_codes = set(LocalAgency.objects.values_list("code", flat=True))

    assert [s["key"] for s in own["services"]] == ["milik-alpha"]
    assert [a["code"] for a in own["agencies"]] == ["dukcapil"]
    assert [c["code"] for c in own["categories"]] == ["kependudukan"]
    keys = {s["key"] for s in full["services"]}
    assert "milik-alpha" in keys and SIM in keys
    assert "rahasia-beta" not in keys and KTP not in keys  # B's service; A's disabled one
    assert "upt-beta" not in {a["code"] for a in full["agencies"]} | agency_codes
    assert by_key(full, SIM)["fee_note"] == "Bayar di Bank Riau"  # the effective value
    for text in (export_json(full), export_csv(full), json.dumps(export_hsds(full))):
        assert "rahasia-beta" not in text and "UPT Beta" not in text
    assert parse_json(export_json(full)) == full
    assert validate_master_import(full) == []  # self-consistent in the master format
