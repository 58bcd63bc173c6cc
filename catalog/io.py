"""Catalogue import and export: JSON (the master.json format), CSV and Open Referral HSDS 3.x.

Exports read the master tables, a release's snapshot or a tenant's effective catalogue and
render one of the formats. Imports parse a file into the same ``{"agencies", "categories",
"services"}`` shape, check every row and every field, and only then change anything, through
the domain actions and in one transaction: an import with a single bad row writes nothing
and reports every bad row (row number, service key, field, reason).

The CLI (``mpp catalogue import/export``) and the API only call the functions here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from catalog.actions import load_master_catalogue
from catalog.local.actions import create_local_service, override_field
from catalog.local.models import LocalAgency, LocalService
from catalog.models import Agency, AgencyKind, Category, Service
from catalog.releases import SERVICE_FIELDS, get_release, snapshot_master
from catalog.validation import KEY_RE, clean_field, clean_key

# Key order of each record, as in catalog/data/master.json.
AGENCY_KEYS = ("code", "name", "kind", "website", "contact")
CATEGORY_KEYS = ("code", "name_id", "name_en")
SERVICE_KEYS = ("key", "agency", "categories", *SERVICE_FIELDS)
REQUIREMENT_KEYS = ("document", "note")
SECTIONS = ("agencies", "categories", "services")

CSV_COLUMNS = SERVICE_KEYS
# Fields a CSV cell holds as one item per line.
LIST_FIELDS = ("requirements", "procedure", "legal_basis", "keywords")
INT_FIELDS = ("processing_days", "fee")
BOOL_FIELDS = ("same_day",)
_INT_RE = re.compile(r"^[+-]?\d+$")
# "document | note": spaces around the bar are optional when a person types it.
_REQUIREMENT_SPLIT = re.compile(r"\s*\|\s*")

# Every HSDS id is a UUID derived from our stable keys, so re-exports keep the same ids.
HSDS_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://satuatap.id/hsds")
# Where a tenant portal shows one service, relative to ``base_url`` (export_hsds).
SERVICE_URL_PATH = "/layanan/{key}/"


@dataclass(frozen=True)
class RowError:
    """One problem in an import file: where (row, service key, field) and why."""

    row: int | None  # 1-based data row; for CSV the spreadsheet row (header = 1); None = file
    key: str
    field: str
    reason: str

    def __str__(self) -> str:
        if self.row is None:
            return f"{self.field}: {self.reason}" if self.field else self.reason
        where = f"row {self.row}" + (f" ({self.key})" if self.key else "")
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class CatalogueImportError(Exception):
    """Raised with .errors: list[RowError] when any row is invalid; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class _CsvCatalogue(dict[str, Any]):
    """What ``parse_csv`` returns: a plain catalogue dict that also remembers, for each
    service, the spreadsheet row it came from, so errors point at the row a person sees."""

    rows: list[int]


# --------------------------------------------------------------------------- reading data


def master_catalogue_data(release_version: int | None = None) -> dict[str, Any]:
    """The live master tables (``snapshot_master()``), or release ``release_version``'s snapshot."""
    with schema_context(get_public_schema_name()):
        if release_version is None:
            return snapshot_master()
        return get_release(release_version).snapshot


def _require_tenant_schema(what: str) -> None:
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError(f"{what} must run inside a tenant's schema (tenant_context)")


def local_catalogue_data(*, include_master: bool = True) -> dict[str, Any]:
    """The current tenant's effective catalogue in the master.json format.

    Services are those the mall offers (enabled, not retired); ``include_master=False``
    keeps only the tenant's own (origin local) services. Call inside ``tenant_context``.
    """
    _require_tenant_schema("local_catalogue_data")
    services = (
        LocalService.objects.filter(enabled=True, retired=False)
        .defer("base", "overrides", "conflicts", "search_vector")  # merge state is not exported
        .order_by("key")
    )
    if not include_master:
        services = services.filter(origin=LocalService.Origin.LOCAL)
    rows, agency_names = [], {}
    for service in services:
        row: dict[str, Any] = {
            "key": service.key,
            "agency": service.agency_code,
            "categories": sorted(service.category_codes),
        }
        row |= {name: getattr(service, name) for name in SERVICE_FIELDS}
        rows.append(row)
        agency_names.setdefault(service.agency_code, service.agency_name)

    agencies = {}
    for agency in LocalAgency.objects.order_by("code"):
        if (
            include_master
            or agency.origin == LocalService.Origin.LOCAL
            or agency.code in agency_names
        ):
            agencies[agency.code] = {
                "code": agency.code,
                "name": agency.name,
                "kind": agency.kind,
                "website": "",
                "contact": "",
            }
    # A service names its agency by value; keep the file self-consistent even if the
    # agency row has gone.
    for code, name in agency_names.items():
        agencies.setdefault(
            code, {"code": code, "name": name, "kind": "other", "website": "", "contact": ""}
        )

    used = {code for row in rows for code in row["categories"]}
    categories = [
        {"code": c.code, "name_id": c.name_id, "name_en": c.name_en}
        for c in Category.objects.order_by("code")  # public table, on the search path
        if include_master or c.code in used
    ]
    return {
        "agencies": sorted(agencies.values(), key=lambda a: a["code"]),
        "categories": categories,
        "services": rows,
    }


# --------------------------------------------------------------------------- JSON


def _ordered(record: Any, keys: Iterable[str]) -> Any:
    """``record`` with ``keys`` first, in that order, then any others as they came."""
    if not isinstance(record, dict):
        return record
    result = {k: record[k] for k in keys if k in record}
    result.update((k, v) for k, v in record.items() if k not in result)
    return result


def _ordered_service(service: Any) -> Any:
    service = _ordered(service, SERVICE_KEYS)
    if isinstance(service, dict) and isinstance(service.get("requirements"), list):
        service["requirements"] = [_ordered(r, REQUIREMENT_KEYS) for r in service["requirements"]]
    return service


def export_json(data: dict[str, Any]) -> str:
    """The catalogue in the catalog/data/master.json format (UTF-8 text, indent 2)."""
    document = {
        "agencies": [_ordered(a, AGENCY_KEYS) for a in data.get("agencies", [])],
        "categories": [_ordered(c, CATEGORY_KEYS) for c in data.get("categories", [])],
        "services": [_ordered_service(s) for s in data.get("services", [])],
    }
    document.update((k, v) for k, v in data.items() if k not in document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_json(text: str) -> dict[str, Any]:
    """Read a master.json-format file; raise CatalogueImportError if it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise CatalogueImportError([RowError(None, "", "", reason)]) from None
    if not isinstance(data, dict):
        reason = "the file must be a JSON object with agencies, categories and services"
        raise CatalogueImportError([RowError(None, "", "", reason)])
    errors = [
        RowError(None, "", name, "unknown section (expected agencies, categories, services)")
        for name in data
        if name not in SECTIONS
    ]
    if "services" not in data:
        errors.append(RowError(None, "", "services", "is required"))
    for name in SECTIONS:
        if name in data and not isinstance(data[name], list):
            errors.append(RowError(None, "", name, "must be a list"))
    if errors:
        raise CatalogueImportError(errors)
    # A file of services alone is fine: their agencies and categories must then be known.
    data.setdefault("agencies", [])
    data.setdefault("categories", [])
    return data


# --------------------------------------------------------------------------- CSV


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "categories":
        return ";".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if name == "requirements" and isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict):
                document, note = item.get("document") or "", item.get("note") or ""
                lines.append(f"{document} | {note}" if note else str(document))
            else:
                lines.append(str(item))
        return "\n".join(lines)
    if name in LIST_FIELDS and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_csv(data: dict[str, Any]) -> str:
    """One row per service: key, agency, categories, then every Standar Pelayanan field."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for service in data.get("services", []):
        writer.writerow([_csv_cell(name, service.get(name)) for name in CSV_COLUMNS])
    return out.getvalue()


def _lines(cell: str) -> list[str]:
    return [line.strip() for line in cell.splitlines() if line.strip()]


def _csv_value(name: str, cell: str) -> Any:
    """The typed value of a cell; anything that does not fit is left as text, so that
    validation reports it against its row and field."""
    if name == "categories":
        return [code.strip() for code in cell.split(";") if code.strip()]
    if name == "requirements":
        items = []
        for line in _lines(cell):
            parts = _REQUIREMENT_SPLIT.split(line, maxsplit=1)
            document, note = parts[0], parts[1] if len(parts) > 1 else ""
            items.append({"document": document, "note": note})
        return items
    if name in LIST_FIELDS:
        return _lines(cell)
    if name in INT_FIELDS:
        if not cell.strip():
            return None
        return int(cell) if _INT_RE.match(cell.strip()) else cell
    if name in {"key", "agency"}:
        return cell.strip()  # codes never contain spaces; a spreadsheet may add some
    if name in BOOL_FIELDS:
        lowered = cell.strip().lower()
        return {"true": True, "false": False}.get(lowered, cell)
    return cell


def parse_csv(text: str) -> dict[str, Any]:
    """Read a CSV written by ``export_csv`` (services only); raise CatalogueImportError if
    it is not one. Errors name the spreadsheet row (the header is row 1)."""
    text = text.removeprefix("\ufeff")  # spreadsheets often save UTF-8 with a BOM
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise CatalogueImportError([RowError(None, "", "", f"invalid CSV: {exc}")]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise CatalogueImportError([RowError(None, "", "", "the file is empty (no header row)")])
    header = [cell.strip() for cell in records[0]]
    errors = [RowError(None, "", n, "missing column") for n in CSV_COLUMNS if n not in header]
    errors += [RowError(None, "", n, "unknown column") for n in header if n not in CSV_COLUMNS]
    errors += [
        RowError(None, "", name, "column appears more than once")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    if errors:
        raise CatalogueImportError(errors)

    result = _CsvCatalogue(agencies=[], categories=[], services=[])
    result.rows = []
    for number, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a row a spreadsheet left empty
        if len(cells) != len(header):
            key = cells[header.index("key")].strip() if len(cells) > header.index("key") else ""
            errors.append(
                RowError(number, key, "", f"expected {len(header)} cells, got {len(cells)}")
            )
            continue
        result["services"].append(
            {name: _csv_value(name, cell) for name, cell in zip(header, cells, strict=True)}
        )
        result.rows.append(number)
    if errors:
        raise CatalogueImportError(errors)
    # Columns in our order, whatever order the file had them in.
    result["services"] = [_ordered(s, CSV_COLUMNS) for s in result["services"]]
    return result


# --------------------------------------------------------------------------- HSDS


def _hsds_id(*parts: str) -> str:
    return str(uuid.uuid5(HSDS_NAMESPACE, "/".join(parts)))


def _kind_label(kind: str) -> str:
    try:
        return str(AgencyKind(kind).label)
    except ValueError:
        return kind


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def _fees_description(service: dict[str, Any]) -> str:
    fee = service.get("fee")
    if fee is None:
        lines = ["Biaya bervariasi / varies"]
    elif fee == 0:
        lines = ["Gratis / free (Rp 0)"]
    else:
        lines = [_rupiah(fee)]
    if service.get("fee_note"):
        lines.append(service["fee_note"])
    if service.get("fee_legal_basis"):
        lines.append(f"Dasar hukum tarif: {service['fee_legal_basis']}")
    return "\n".join(lines)


def _hsds_service(service: dict[str, Any], base_url: str) -> dict[str, Any]:
    key = service["key"]
    record: dict[str, Any] = {
        "id": _hsds_id("service", key),
        "organization_id": _hsds_id("organization", service["agency"]),
        "name": service.get("name_id") or key,
    }
    if service.get("name_en"):
        record["alternate_name"] = service["name_en"]
    record["description"] = service.get("description_id") or ""
    if base_url:
        record["url"] = base_url.rstrip("/") + SERVICE_URL_PATH.format(key=key)
    record["status"] = "active"
    steps = service.get("procedure") or []
    if steps:
        record["application_process"] = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    record["fees_description"] = _fees_description(service)
    if service.get("legal_basis"):
        record["accreditations"] = "\n".join(service["legal_basis"])
    record["languages"] = [
        {"id": _hsds_id("language", key, "id"), "name": "Bahasa Indonesia", "code": "id"}
    ]
    record["required_documents"] = [
        {
            "id": _hsds_id("required_document", key, str(position)),
            "document": (
                f"{item['document']} ({item['note']})" if item.get("note") else item["document"]
            ),
        }
        for position, item in enumerate(service.get("requirements") or [], start=1)
    ]
    fee = service.get("fee")
    record["cost_options"] = (
        []
        if fee is None
        else [
            {
                "id": _hsds_id("cost_option", key),
                "option": service.get("fee_note") or ("Gratis" if fee == 0 else "Tarif resmi"),
                "currency": "IDR",
                "amount": fee,
            }
        ]
    )
    return record


def export_hsds(data: dict[str, Any], *, base_url: str = "") -> dict[str, Any]:
    """The catalogue as Open Referral HSDS 3.x JSON: organizations (agencies) and services.

    Ids are UUIDv5 of our keys, stable across exports. With ``base_url`` (a portal such as
    ``https://batam.satuatap.id``) each service carries the URL of its page.
    """
    organizations = []
    for agency in data.get("agencies", []):
        record = {
            "id": _hsds_id("organization", agency["code"]),
            "name": agency["name"],
            "description": f"{agency['name']} — {_kind_label(agency.get('kind', ''))}",
            "legal_status": _kind_label(agency.get("kind", "")),
        }
        if agency.get("website"):
            record["website"] = agency["website"]
        organizations.append(record)
    return {
        "organizations": organizations,
        "services": [_hsds_service(s, base_url) for s in data.get("services", [])],
    }


# --------------------------------------------------------------------------- validation


def _row_numbers(data: dict[str, Any], section: str) -> list[int]:
    count = len(data.get(section) or [])
    rows = getattr(data, "rows", None)
    if section == "services" and isinstance(data, _CsvCatalogue) and len(rows or []) == count:
        return list(rows or [])
    return list(range(1, count + 1))


def _text(value: Any, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"must be text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ValidationError("is required")
    if len(value) > limit:
        raise ValidationError(f"at most {limit} characters (got {len(value)})")
    return value


def _code(value: Any) -> str:
    if not isinstance(value, str) or not KEY_RE.match(value) or len(value) > 50:
        raise ValidationError("must be a lowercase code such as dukcapil (at most 50 characters)")
    return value


def _agency_kind(value: Any) -> str:
    if value not in AgencyKind.values:
        raise ValidationError(f"must be one of {', '.join(AgencyKind.values)} (got {value!r})")
    return value


def _website(value: Any) -> str:
    value = _text(value, 200, required=False)
    if value:
        URLValidator(schemes=["http", "https"])(value)
    return value


AGENCY_CLEANERS = {
    "code": _code,
    "name": lambda v: _text(v, 200, required=True),
    "kind": _agency_kind,
    "website": _website,
    "contact": lambda v: _text(v, 200, required=False),
}
CATEGORY_CLEANERS = {
    "code": _code,
    "name_id": lambda v: _text(v, 100, required=True),
    "name_en": lambda v: _text(v, 100, required=False),
}


def _check_records(
    data: dict[str, Any], section: str, cleaners: dict[str, Any]
) -> tuple[list[RowError], dict[str, dict[str, Any]]]:
    """Check the agencies or categories of a file; return errors and the clean rows by code."""
    errors: list[RowError] = []
    cleaned: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    for number, record in zip(_row_numbers(data, section), data.get(section) or [], strict=True):
        if not isinstance(record, dict):
            errors.append(RowError(number, "", section, "must be an object"))
            continue
        code = record.get("code")
        key = code if isinstance(code, str) else ""
        row: dict[str, Any] = {}
        for name in record:
            if name not in cleaners:
                errors.append(RowError(number, key, f"{section}.{name}", "unknown field"))
        for name, clean in cleaners.items():
            try:
                row[name] = clean(record.get(name))
            except ValidationError as exc:
                errors += [RowError(number, key, f"{section}.{name}", m) for m in exc.messages]
        if key in first_row:
            reason = f"duplicate code; first used in row {first_row[key]}"
            errors.append(RowError(number, key, f"{section}.code", reason))
        elif key:
            first_row[key] = number
        if len(row) == len(cleaners):
            cleaned[row["code"]] = row
    return errors, cleaned


def _clean_categories(value: Any) -> list[str]:
    codes = clean_field("category_codes", value)
    return list(dict.fromkeys(codes))  # drop repeats, keep the order given


def _check_services(
    data: dict[str, Any], *, agencies: set[str], categories: set[str]
) -> tuple[list[RowError], list[tuple[int, dict[str, Any]]]]:
    """Check every service row and field; return errors and (row number, clean row) pairs."""
    errors: list[RowError] = []
    cleaned: list[tuple[int, dict[str, Any]]] = []
    first_row: dict[str, int] = {}
    for number, record in zip(_row_numbers(data, "services"), data["services"], strict=True):
        if not isinstance(record, dict):
            errors.append(RowError(number, "", "", "must be an object"))
            continue
        raw_key = record.get("key")
        key = raw_key if isinstance(raw_key, str) else ""
        problems: list[tuple[str, list[str]]] = []  # (field, messages)
        fail = problems.append
        row: dict[str, Any] = {}
        try:
            row["key"] = clean_key(raw_key)
        except ValidationError as exc:
            fail(("key", exc.messages if raw_key not in (None, "") else ["is required"]))
        if row.get("key") in first_row:
            fail(("key", [f"duplicate key; first used in row {first_row[row['key']]}"]))
        elif "key" in row:
            first_row[row["key"]] = number

        agency = record.get("agency")
        if agency in (None, ""):
            fail(("agency", ["is required"]))
        elif not isinstance(agency, str) or agency not in agencies:
            fail(("agency", [f"unknown agency {agency!r}"]))
        else:
            row["agency"] = agency

        try:
            codes = _clean_categories(record.get("categories"))
        except ValidationError as exc:
            fail(("categories", exc.messages))
        else:
            unknown = [code for code in codes if code not in categories]
            if unknown:
                fail(("categories", [f"unknown category {', '.join(map(repr, unknown))}"]))
            else:
                row["categories"] = codes

        for name in record:
            if name not in SERVICE_KEYS:
                fail((name, ["unknown field"]))
        if "name_id" not in record:
            fail(("name_id", ["is required"]))
        for name in SERVICE_FIELDS:
            if name not in record:
                continue  # absent: an existing service keeps its value
            try:
                row[name] = clean_field(name, record[name])
            except ValidationError as exc:
                fail((name, exc.messages))

        errors += [RowError(number, key, f, m) for f, messages in problems for m in messages]
        if not problems:
            cleaned.append((number, row))
    return errors, cleaned


def _check_file(data: Any) -> list[RowError]:
    if not isinstance(data, dict) or not isinstance(data.get("services"), list):
        return [RowError(None, "", "services", "the file must contain a list of services")]
    errors = [
        RowError(None, "", name, "must be a list")
        for name in ("agencies", "categories")
        if not isinstance(data.get(name, []), list)
    ]
    if not errors and not any(data.get(name) for name in SECTIONS):
        errors.append(RowError(None, "", "", "the file contains nothing to import"))
    return errors


def _check_master(data: dict[str, Any]) -> tuple[list[RowError], dict[str, Any]]:
    """Validate a master import; return errors and the clean catalogue to load."""
    errors = _check_file(data)
    if errors:
        return errors, {}
    agency_errors, agencies = _check_records(data, "agencies", AGENCY_CLEANERS)
    category_errors, categories = _check_records(data, "categories", CATEGORY_CLEANERS)
    errors = agency_errors + category_errors
    # A file with its own agencies and categories (JSON) is self-contained; a file of
    # services only (CSV) refers to the agencies and categories already in the master.
    self_contained = bool(data.get("agencies") or data.get("categories"))
    if self_contained:
        agency_codes = {r.get("code") for r in data["agencies"] if isinstance(r, dict)}
        category_codes = {r.get("code") for r in data["categories"] if isinstance(r, dict)}
    else:
        agency_codes = set(Agency.objects.values_list("code", flat=True))
        category_codes = set(Category.objects.values_list("code", flat=True))
    service_errors, services = _check_services(
        data, agencies=agency_codes, categories=category_codes
    )
    errors += service_errors
    if errors or self_contained:
        return errors, {
            "agencies": list(agencies.values()),
            "categories": list(categories.values()),
            "services": [row for _, row in services],
        }
    used_agencies = {row["agency"] for _, row in services}
    used_categories = {code for _, row in services for code in row.get("categories", [])}
    master = snapshot_master()  # load_master_catalogue resolves codes from the file it gets
    return errors, {
        "agencies": [a for a in master["agencies"] if a["code"] in used_agencies],
        "categories": [c for c in master["categories"] if c["code"] in used_categories],
        "services": [row for _, row in services],
    }


def validate_master_import(data: dict[str, Any]) -> list[RowError]:
    """Every problem with importing ``data`` into the master catalogue (empty list: none)."""
    with schema_context(get_public_schema_name()):
        return _check_master(data)[0]


def import_master(data: dict[str, Any], *, acting_user: Any | None) -> dict[str, int]:
    """Validate every row, then load ``data`` into the master catalogue in one transaction.

    Services are inserted or updated by key; services not in the file are left as they are.
    Raises CatalogueImportError (writing nothing) if any row is invalid.
    """
    with schema_context(get_public_schema_name()), transaction.atomic():
        errors, cleaned = _check_master(data)
        if errors:
            raise CatalogueImportError(errors)
        return load_master_catalogue(cleaned, acting_user=acting_user)


def _local_row_problems(
    row: dict[str, Any], service: LocalService | None, upstream_keys: set[str]
) -> list[tuple[str, str]]:
    """Why a (valid) row cannot be imported into this tenant: (field, reason) pairs."""
    if service is None:
        if row["key"] in upstream_keys:
            return [("key", "this key belongs to the master catalogue; choose another key")]
        return []
    if service.origin != LocalService.Origin.LOCAL:
        return [("key", "this key is a master service in this catalogue; override its fields")]
    # The local actions change only the Standar Pelayanan fields of an existing service.
    problems = []
    if row["agency"] != service.agency_code:
        problems.append(
            ("agency", f"an existing local service stays under {service.agency_code!r}")
        )
    if "categories" in row and sorted(row["categories"]) != sorted(service.category_codes):
        problems.append(("categories", "an import cannot change an existing service's categories"))
    return problems


def import_local_services(data: dict[str, Any], *, acting_user: Any | None) -> dict[str, int]:
    """Create or update the current tenant's own (origin local) services from ``data``.

    Call inside ``tenant_context``. A key used by a master service of this catalogue, or an
    agency this mall does not have, is an error for that row. All or nothing: every row is
    checked first and the changes are made in one transaction. The file's agency and
    category lists are not imported (agencies of a mall are managed on their own).
    """
    _require_tenant_schema("import_local_services")
    if isinstance(data, dict) and data.get("services") == []:
        errors = [RowError(None, "", "services", "the file contains no services")]
    else:
        errors = _check_file(data)
    if errors:
        raise CatalogueImportError(errors)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        existing = {s.key: s for s in LocalService.objects.select_for_update()}
        errors, rows = _check_services(
            data,
            agencies=set(LocalAgency.objects.values_list("code", flat=True)),
            categories=set(Category.objects.values_list("code", flat=True)),
        )
        # Master keys not synced here yet count too: a local service holding one would make
        # this mall skip that master service at every later sync.
        upstream_keys = set(
            Service.objects.filter(key__in=[row["key"] for _, row in rows]).values_list(
                "key", flat=True
            )
        )
        plan: list[tuple[int, dict[str, Any], LocalService | None, list[str]]] = []
        for number, row in rows:
            service = existing.get(row["key"])
            problems = _local_row_problems(row, service, upstream_keys)
            errors += [RowError(number, row["key"], field, reason) for field, reason in problems]
            if not problems:
                changed = [
                    name
                    for name in SERVICE_FIELDS
                    if service is not None and name in row and row[name] != getattr(service, name)
                ]
                plan.append((number, row, service, changed))
        if errors:
            raise CatalogueImportError(errors)

        for number, row, service, changed in plan:
            try:
                if service is None:
                    fields = {name: row[name] for name in SERVICE_FIELDS if name in row}
                    fields |= {
                        "key": row["key"],
                        "agency_code": row["agency"],
                        "category_codes": row.get("categories", []),
                    }
                    create_local_service(fields, acting_user=acting_user)
                    counts["created"] += 1
                elif changed:
                    for name in changed:
                        service = override_field(service, name, row[name], acting_user=acting_user)
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
            except ValidationError as exc:
                # Checked above, so only a concurrent change gets here; roll everything back.
                raise CatalogueImportError(
                    [
                        RowError(number, row["key"], field, message)
                        for field, messages in exc.message_dict.items()
                        for message in messages
                    ]
                ) from None
    return counts
