"""Onboarding: what a province does to open a regency's mall, one at a time or from a CSV.

``onboard_tenant`` is provisioning (``tenants.provisioning.provision_tenant``: schema cloned,
catalogue seeded from the province's upstream, admin invited, host routed) plus what a
province decides at opening — which agencies sit in the mall — in one transaction, and it
reports each step's result for the console. ``onboard_from_csv`` checks every row of a file
first and creates nothing unless all are valid; then each row is onboarded in a transaction
of its own, so a failure never leaves a half-created regency.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from catalog.local.models import LocalAgency, LocalService, SyncState
from catalog.models import Agency
from mpp.accounts.models import Invitation, User
from mpp.audit.actions import record_event
from tenants.models import Domain, Province, Tenant, TimeZone
from tenants.provisioning import TenantSpec, provision_tenant, spec_errors
from tenants.validators import validate_slug

Progress = Callable[[int, int, str], None]

CSV_COLUMNS = ("name", "kind", "region_code", "slug", "admin_email")
CSV_OPTIONAL = ("time_zone", "admin_name", "agencies", "custom_domains")
CSV_MAX_ROWS = 500
CSV_MAX_BYTES = 1024 * 1024


@dataclass
class OnboardingRequest:
    """A regency or city to open: the tenant (with its first admin), the agencies present."""

    spec: TenantSpec
    # Codes of the agencies with a counter in the mall at opening; None means all of them.
    agencies_present: Sequence[str] | None = None


@dataclass(frozen=True)
class Step:
    """One step of an onboarding, as the console shows it."""

    name: str
    detail: str


@dataclass
class OnboardingReport:
    """What an onboarding did, step by step, and how long it took."""

    tenant: Tenant
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0


def master_agency_codes() -> set[str]:
    """Codes of the agencies the master catalogue knows (public schema)."""
    with schema_context(get_public_schema_name()):
        return set(Agency.objects.values_list("code", flat=True))


def _check_request(request: OnboardingRequest) -> dict[str, list[str]]:
    """Checks beyond provisioning's own: the region code's province, the agency codes."""
    errors: dict[str, list[str]] = {}
    spec = request.spec
    prefix = f"{spec.province.code}."
    code = spec.region_code.strip()
    if code and not code.startswith(prefix):
        errors["region_code"] = [
            f"Kode wilayah {code} bukan di provinsi {spec.province.name} (harus diawali {prefix})."
        ]
    if request.agencies_present is not None:
        unknown = sorted(set(request.agencies_present) - master_agency_codes())
        if unknown:
            errors["agencies_present"] = [f"Instansi tidak dikenal: {', '.join(unknown)}."]
    if len(spec.admin_name) > 150:
        errors["admin_name"] = ["Nama admin paling banyak 150 karakter."]
    return errors


def onboard_tenant(request: OnboardingRequest, *, acting_user: User | None) -> OnboardingReport:
    """Open a regency's mall: provision it, set the agencies present, report every step.

    Atomic: bad input raises ``ValidationError`` (per field) and nothing is created.
    """
    # Everything wrong at once: provisioning's own checks, then the province's.
    errors = spec_errors(request.spec)
    for field_name, messages in _check_request(request).items():
        errors.setdefault(field_name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    started = time.perf_counter()
    spec = request.spec
    with transaction.atomic():
        tenant = provision_tenant(spec, acting_user=acting_user)
        closed: list[str] = []
        with tenant_context(tenant):
            if request.agencies_present is not None:
                wanted = set(request.agencies_present)
                closed = sorted(
                    LocalAgency.objects.exclude(code__in=wanted).values_list("code", flat=True)
                )
                # The seed opens every agency; one statement closes those not in the mall
                # (the audit row below says which).
                LocalAgency.objects.filter(code__in=closed).update(present=False)
            present = LocalAgency.objects.filter(present=True).count()
            services = LocalService.objects.count()
            state = SyncState.objects.first()
            invited = (
                Invitation.objects.filter(user__email=tenant.admin_email, used_at__isnull=True)
                .order_by("-created_at")
                .first()
            )
        domains = list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))
        record_event(
            "tenant.onboarded",
            acting_user=acting_user,
            target=tenant,
            after={
                "agencies_present": present,
                "agencies_closed": closed,
                "services": services,
                "admin_name": spec.admin_name,
            },
        )
    release = (
        f"rilis induk {state.master_version}"
        + (f" + rilis provinsi {state.overlay_version}" if state.overlay_version else "")
        if state and state.master_version
        else "tanpa rilis"
    )
    steps = [
        Step(
            "Data diperiksa", f"{tenant.name} ({tenant.get_kind_display()}, {tenant.region_code})"
        ),
        Step("Skema dibuat", f"skema {tenant.schema_name}, zona waktu {tenant.time_zone}"),
        Step("Katalog diisi", f"{services} layanan dari {release}"),
        Step("Instansi hadir", f"{present} instansi membuka loket"),
        Step(
            "Admin diundang",
            f"{tenant.admin_email} — tautan berlaku sampai {invited.expires_at:%d-%m-%Y %H:%M} UTC"
            if invited
            else tenant.admin_email,
        ),
        Step("Portal aktif", ", ".join([tenant.host, *domains])),
    ]
    return OnboardingReport(tenant, steps, time.perf_counter() - started)


# --- Bulk onboarding from a CSV -------------------------------------------------------------


@dataclass
class CsvRow:
    """One data row of an onboarding CSV: its line number, request, or what is wrong."""

    line: int
    values: dict[str, str]
    request: OnboardingRequest | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    report: OnboardingReport | None = None


def _split_codes(value: str) -> list[str]:
    return [code.strip() for code in value.replace(",", ";").split(";") if code.strip()]


def parse_onboarding_csv(data: bytes | str, province: Province) -> list[CsvRow]:
    """Read and check every row of an onboarding CSV without writing anything.

    Columns: name, kind, region_code, slug, admin_email (required) and time_zone, admin_name,
    agencies (codes separated by ``;``), custom_domains (``;``). A row's errors name the
    column; a problem with the file as a whole raises ``ValidationError``.
    """
    if isinstance(data, bytes):
        if len(data) > CSV_MAX_BYTES:
            raise ValidationError(f"Berkas terlalu besar (paling besar {CSV_MAX_BYTES} byte).")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("Berkas bukan teks UTF-8 (simpan sebagai CSV UTF-8).") from None
    sample = data[:2048]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(data), dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            f"Kolom wajib tidak ada: {', '.join(missing)}. "
            f"Baris pertama harus: {','.join(CSV_COLUMNS + CSV_OPTIONAL)}."
        )
    unknown = [h for h in header if h and h not in CSV_COLUMNS + CSV_OPTIONAL]
    if unknown:
        raise ValidationError(f"Kolom tidak dikenal: {', '.join(unknown)}.")
    reader.fieldnames = header
    rows: list[CsvRow] = []
    for values in reader:
        clean = {k: (v or "").strip() for k, v in values.items() if k}
        if not any(clean.values()):
            continue  # a blank line
        rows.append(CsvRow(line=reader.line_num, values=clean))
        if len(rows) > CSV_MAX_ROWS:
            raise ValidationError(f"Paling banyak {CSV_MAX_ROWS} baris sekali unggah.")
    if not rows:
        raise ValidationError("Berkas tidak berisi satu daerah pun.")
    _check_rows(rows, province)
    return rows


def _check_rows(rows: list[CsvRow], province: Province) -> None:
    agencies = master_agency_codes()
    kinds = {k for k, _ in Tenant.Kind.choices}
    zones = {z for z, _ in TimeZone.choices}
    seen: dict[str, dict[str, int]] = {"slug": {}, "region_code": {}, "admin_email": {}}
    taken_slugs = set(Tenant.objects.values_list("slug", flat=True))
    taken_codes = set(Tenant.objects.values_list("region_code", flat=True))
    for row in rows:
        v, errors = row.values, row.errors
        for column in CSV_COLUMNS:
            if not v.get(column):
                errors.setdefault(column, []).append("wajib diisi")
        slug = v.get("slug", "").lower()
        if slug:
            try:
                validate_slug(slug)
            except ValidationError as exc:
                errors.setdefault("slug", []).extend(exc.messages)
            if slug in taken_slugs:
                errors.setdefault("slug", []).append(f"“{slug}” sudah dipakai daerah lain")
        if v.get("kind") and v["kind"] not in kinds:
            errors.setdefault("kind", []).append(
                f"harus salah satu dari {', '.join(sorted(kinds))}"
            )
        code = v.get("region_code", "")
        if code:
            if not code.startswith(f"{province.code}."):
                errors.setdefault("region_code", []).append(
                    f"{code} bukan di provinsi {province.name} (harus diawali {province.code}.)"
                )
            if code in taken_codes:
                errors.setdefault("region_code", []).append(f"{code} sudah terdaftar")
        if v.get("admin_email"):
            try:
                validate_email(v["admin_email"])
            except ValidationError:
                errors.setdefault("admin_email", []).append("bukan alamat e-mail")
        if v.get("time_zone") and v["time_zone"] not in zones:
            errors.setdefault("time_zone", []).append(
                f"harus salah satu dari {', '.join(sorted(zones))}"
            )
        codes = _split_codes(v.get("agencies", ""))
        if set(codes) - agencies:
            errors.setdefault("agencies", []).append(
                f"instansi tidak dikenal: {', '.join(sorted(set(codes) - agencies))}"
            )
        for column in seen:
            value = v.get(column, "").lower()
            if value and value in seen[column]:
                errors.setdefault(column, []).append(
                    f"sama dengan baris {seen[column][value]} di berkas ini"
                )
            elif value:
                seen[column][value] = row.line
        if not errors:
            row.request = OnboardingRequest(
                spec=TenantSpec(
                    province=province,
                    name=v["name"],
                    slug=slug,
                    kind=v["kind"],
                    region_code=code,
                    admin_email=v["admin_email"],
                    time_zone=v.get("time_zone", ""),
                    custom_domains=tuple(_split_codes(v.get("custom_domains", ""))),
                    admin_name=v.get("admin_name", ""),
                ),
                agencies_present=codes or None,
            )


def onboard_from_csv(
    province: Province,
    data: bytes | str,
    *,
    acting_user: User | None,
    progress: Progress | None = None,
) -> list[CsvRow]:
    """Onboard every regency in a CSV; nothing at all when any row is wrong.

    Returns the rows with their reports, or with their errors (then nothing was created).
    A row that still fails while being created (e.g. a slug taken a moment ago) is rolled
    back alone and reported; the rows before it stay onboarded.
    """
    rows = parse_onboarding_csv(data, province)
    if any(row.errors for row in rows):
        return rows
    for i, row in enumerate(rows, start=1):
        assert row.request is not None
        try:
            row.report = onboard_tenant(row.request, acting_user=acting_user)
        except ValidationError as exc:
            row.errors = (
                exc.message_dict if hasattr(exc, "error_dict") else {"": list(exc.messages)}
            )
        if progress:
            progress(i, len(rows), "onboarding")
    return rows


def csv_report(rows: Iterable[CsvRow]) -> str:
    """One line per row: onboarded (with its host and time) or its errors by column."""
    lines = []
    for row in rows:
        if row.report is not None:
            tenant = row.report.tenant
            lines.append(
                f"baris {row.line}: {tenant.slug} dibuka di {tenant.host} "
                f"({row.report.seconds:.2f} s)"
            )
        elif row.errors:
            problems = "; ".join(
                f"{col or 'baris'}: {', '.join(msgs)}" for col, msgs in row.errors.items()
            )
            lines.append(f"baris {row.line}: {problems}")
        else:
            lines.append(f"baris {row.line}: tidak dibuat (baris lain salah)")
    return "\n".join(lines)
