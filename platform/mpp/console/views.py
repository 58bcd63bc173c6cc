"""Province console pages: parse, check who may act on which province, call the action.

Operators see every province; a province admin sees only theirs — any other province, or
a tenant of it, is a 404 (as if it did not exist), never a hint that it does.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tenants.utils import get_public_schema_name

from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from mpp.audit.queries import province_events
from mpp.console.charts import Bar, bar_chart
from mpp.console.forms import CsvUploadForm, DomainForm, OnboardForm, ReasonForm, RenameForm
from stats.queries import (
    OverviewRow,
    catalogue_freshness,
    province_overview,
    services_by_agency,
)
from tenants import actions
from tenants.api.permissions import visible_provinces
from tenants.models import Province, Tenant
from tenants.onboarding import OnboardingRequest, onboard_from_csv, onboard_tenant
from tenants.provisioning import TenantSpec

View = Callable[..., HttpResponse]
AUDIT_PAGE_SIZE = 50


def console_required(view: View) -> View:
    """Only signed-in operators and province admins of the public schema get through."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if connection.schema_name != get_public_schema_name():
            raise Http404  # the URLs exist only on the apex; guard a mis-wired include
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_operator or user.role == User.Role.PROVINCE_ADMIN):  # type: ignore[union-attr]
            return render(request, "console/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _province(request: HttpRequest, code: str) -> Province:
    """The province ``code`` if this user may see it, else 404."""
    return get_object_or_404(visible_provinces(request.user), code=code)  # type: ignore[arg-type]


def _tenant(province: Province, slug: str) -> Tenant:
    return get_object_or_404(Tenant.objects.filter(province=province), slug=slug)


def _action_errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{msg}" for msgs in exc.message_dict.values() for msg in msgs]
    return list(exc.messages)


# --- Provinces and their tenants ---------------------------------------------------------


@require_safe
@console_required
def province_list(request: HttpRequest) -> HttpResponse:
    """The provinces this user may see; a province admin of one goes straight to it."""
    provinces = list(visible_provinces(request.user).order_by("name"))  # type: ignore[arg-type]
    if len(provinces) == 1 and not request.user.is_operator:  # type: ignore[union-attr]
        return redirect("console:province", code=provinces[0].code)
    return render(request, "console/province_list.html", {"provinces": provinces})


# Columns the overview sorts by (``?urut=<column>``, ``-`` first for descending).
SORTABLE = {
    "name": "Daerah",
    "status": "Status",
    "release": "Rilis",
    "pending_conflicts": "Konflik",
    "services_enabled": "Layanan aktif",
    "services_local": "Lokal",
    "services_overridden": "Diubah",
    "admins_active": "Admin aktif",
    "last_activity": "Aktivitas terakhir",
}
CSV_FIELDS = (
    "slug", "name", "kind", "region_code", "status", "master_version", "overlay_version",
    "pending_conflicts", "services_total", "services_enabled", "services_local",
    "services_overridden", "admins_active", "last_activity", "refreshed_at",
)  # fmt: skip
TOP_AGENCIES = 12


def _sort_value(row: OverviewRow, column: str) -> Any:
    if column == "release":
        if row.master_version is None:
            return None
        return (row.master_version, row.overlay_version or 0)
    value = getattr(row, column)
    return value.casefold() if isinstance(value, str) else value


def sorted_overview(rows: list[OverviewRow], order: str) -> tuple[list[OverviewRow], str]:
    """``rows`` sorted as ``order`` asks; rows with no figure yet come last either way.

    An unknown column falls back to the name; ties are broken by the name.
    """
    column = order.lstrip("-")
    if column not in SORTABLE:
        column, order = "name", "name"
    known = [r for r in rows if _sort_value(r, column) is not None]
    unknown = sorted((r for r in rows if _sort_value(r, column) is None), key=lambda r: r.name)
    known.sort(key=lambda r: r.name.casefold())
    known.sort(key=lambda r: _sort_value(r, column), reverse=order.startswith("-"))
    return known + unknown, order


def overview_csv(province: Province, rows: list[OverviewRow]) -> HttpResponse:
    """The overview as a CSV download (UTF-8 with a BOM, so spreadsheets read it right)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ringkasan-{province.slug}.csv"'
    metric_names = sorted({name for row in rows for name in row.metrics})
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([*CSV_FIELDS, *metric_names])
    for row in rows:
        data = row.as_dict()
        writer.writerow(
            [
                *("" if data[f] is None else data[f] for f in CSV_FIELDS),
                *(row.metrics.get(name, "") for name in metric_names),
            ]
        )
    return response


def _release_label(master: int | None, overlay: int | None) -> str:
    if master is None:
        return "Belum disinkronkan"
    return f"Induk {master}" + (f" + provinsi {overlay}" if overlay else "")


@require_safe
@console_required
def province_home(request: HttpRequest, code: str) -> HttpResponse:
    """The province dashboard: every regency at a glance, from the statistics rollup."""
    province = _province(request, code)
    rows, order = sorted_overview(province_overview(province), request.GET.get("urut", "name"))
    if request.GET.get("format") == "csv":
        return overview_csv(province, rows)
    agencies = services_by_agency(province)[:TOP_AGENCIES]
    agency_chart = bar_chart(
        [Bar(a.name, a.total, note=f"di {len(a.by_tenant)} daerah") for a in agencies],
        title="Layanan per instansi di seluruh daerah",
        description="; ".join(f"{a.name}: {a.total} layanan" for a in agencies)
        or "Belum ada data.",
        ident="chart-agency",
    )
    groups = catalogue_freshness(province)
    freshness_chart = bar_chart(
        [
            Bar(
                _release_label(g.master_version, g.overlay_version),
                len(g.tenants),
                "" if g.current else "stale",
                "terbaru" if g.current else "tertinggal",
            )
            for g in groups
        ],
        title="Rilis katalog yang dipakai daerah",
        description="; ".join(
            f"{_release_label(g.master_version, g.overlay_version)}: {len(g.tenants)} daerah"
            f"{'' if g.current else ' (tertinggal)'}"
            for g in groups
        )
        or "Belum ada data.",
        ident="chart-release",
    )
    tenants = {t.slug: t for t in Tenant.objects.filter(province=province)}
    return render(
        request,
        "console/province.html",
        {
            "province": province,
            "rows": rows,
            "order": order,
            "columns": SORTABLE,
            "archived": [t for t in tenants.values() if t.status == Tenant.Status.ARCHIVED],
            "agency_rows": [
                (a, min(a.by_tenant.values()), max(a.by_tenant.values())) for a in agencies
            ],
            "agency_chart": agency_chart,
            "groups": groups,
            "freshness_chart": freshness_chart,
            "totals": {
                "tenants": len(rows),
                "services": sum(r.services_enabled or 0 for r in rows),
                "conflicts": sum(r.pending_conflicts or 0 for r in rows),
                "behind": sum(len(g.tenants) for g in groups if not g.current),
            },
        },
    )


# --- Onboarding ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@console_required
def onboard(request: HttpRequest, code: str) -> HttpResponse:
    """The onboarding wizard: one form, then the result of every step."""
    province = _province(request, code)
    if request.method == "POST":
        form = OnboardForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            spec = TenantSpec(
                province=province,
                name=data["name"],
                slug=data["slug"],
                kind=data["kind"],
                region_code=data["region_code"],
                admin_email=data["admin_email"],
                time_zone=data["time_zone"],
                custom_domains=(data["custom_domain"],) if data["custom_domain"] else (),
                admin_name=data["admin_name"],
            )
            try:
                report = onboard_tenant(
                    OnboardingRequest(spec, agencies_present=data["agencies"]),
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                return render(
                    request,
                    "console/onboard_done.html",
                    {"province": province, "report": report, "tenant": report.tenant},
                    status=201,
                )
        status = 400
    else:
        form, status = OnboardForm(), 200
    return render(
        request, "console/onboard.html", {"province": province, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
@console_required
def onboard_csv(request: HttpRequest, code: str) -> HttpResponse:
    """Bulk onboarding: upload a CSV, get a report per row (nothing created on a bad row)."""
    province = _province(request, code)
    rows, problem, status = None, "", 200
    if request.method == "POST":
        form = CsvUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                rows = onboard_from_csv(
                    province,
                    form.cleaned_data["file"].read(),
                    acting_user=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as exc:
                problem = " ".join(exc.messages)
        if problem or not form.is_valid() or any(row.errors for row in rows or []):
            status = 400
    else:
        form = CsvUploadForm()
    created = [row for row in rows or [] if row.report is not None]
    return render(
        request,
        "console/onboard_csv.html",
        {
            "province": province,
            "form": form,
            "rows": rows,
            "created": created,
            "problem": problem,
        },
        status=status,
    )


# --- One tenant and its lifecycle ----------------------------------------------------------


def _tenant_audit(tenant: Tenant) -> Q:
    return Q(target_type=Tenant._meta.label_lower, target_id=str(tenant.pk))


@require_safe
@console_required
def tenant_detail(request: HttpRequest, code: str, slug: str) -> HttpResponse:
    """A tenant's facts, its lifecycle buttons and its recent history."""
    province = _province(request, code)
    tenant = _tenant(province, slug)
    return _tenant_page(request, province, tenant)


def _tenant_page(
    request: HttpRequest,
    province: Province,
    tenant: Tenant,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "province": province,
        "tenant": tenant,
        "domains": list(tenant.domains.order_by("domain")),
        "events": list(AuditEvent.objects.filter(_tenant_audit(tenant))[:20]),
        "suspend_form": ReasonForm(prefix="suspend"),
        "archive_form": ReasonForm(prefix="archive"),
        "rename_form": RenameForm(initial={"name": tenant.name}),
        "domain_form": DomainForm(),
    } | (forms or {})
    return render(request, "console/tenant.html", context, status=status)


# verb → (form class and prefix or None, action, success message)
LIFECYCLE: dict[str, tuple[type[Any] | None, str, str]] = {
    "tangguhkan": (ReasonForm, "suspend", "Layanan {name} ditangguhkan."),
    "aktifkan": (None, "", "Layanan {name} aktif kembali."),
    "arsipkan": (ReasonForm, "archive", "{name} diarsipkan; datanya disimpan."),
    "ganti-nama": (RenameForm, "", "Nama diganti menjadi {name}."),
    "tambah-domain": (DomainForm, "", "Domain ditambahkan ke {name}."),
    "undang-ulang": (None, "", "Undangan baru dikirim ke admin {name}."),
}


@require_POST
@console_required
def tenant_action(request: HttpRequest, code: str, slug: str, verb: str) -> HttpResponse:
    """Suspend, resume, archive, rename, add a domain or re-invite the admin."""
    province = _province(request, code)
    tenant = _tenant(province, slug)
    if verb not in LIFECYCLE:
        raise Http404
    form_class, prefix, done = LIFECYCLE[verb]
    form = form_class(request.POST, prefix=prefix or None) if form_class else None
    user: User = request.user  # type: ignore[assignment]
    if form is not None and not form.is_valid():
        return _tenant_page(request, province, tenant, forms=_form_slot(verb, form), status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        if verb == "tangguhkan":
            tenant = actions.suspend_tenant(tenant, reason=data["reason"], acting_user=user)
        elif verb == "aktifkan":
            tenant = actions.resume_tenant(tenant, acting_user=user)
        elif verb == "arsipkan":
            tenant = actions.archive_tenant(tenant, reason=data["reason"], acting_user=user)
        elif verb == "ganti-nama":
            tenant = actions.rename_tenant(tenant, name=data["name"], acting_user=user)
        elif verb == "tambah-domain":
            actions.add_custom_domain(tenant, data["domain"], acting_user=user)
        elif verb == "undang-ulang":
            actions.resend_admin_invitation(tenant, acting_user=user)
    except ValidationError as exc:
        if form is not None:
            for message in _action_errors(exc):
                form.add_error(None, message)
            return _tenant_page(request, province, tenant, forms=_form_slot(verb, form), status=400)
        for message in _action_errors(exc):
            messages.error(request, message)
        return redirect("console:tenant", code=province.code, slug=tenant.slug)
    messages.success(request, done.format(name=tenant.name))
    return redirect("console:tenant", code=province.code, slug=tenant.slug)


def _form_slot(verb: str, form: Any) -> dict[str, Any]:
    """Which template variable a bound, invalid form goes back into."""
    slot = {
        "tangguhkan": "suspend_form",
        "arsipkan": "archive_form",
        "ganti-nama": "rename_form",
        "tambah-domain": "domain_form",
    }[verb]
    return {slot: form, "failed": verb}


# --- Audit ---------------------------------------------------------------------------------


@require_safe
@console_required
def audit_log(request: HttpRequest, code: str) -> HttpResponse:
    """Who changed what in this province's tenants, newest first."""
    province = _province(request, code)
    events = province_events(Province.objects.filter(pk=province.pk))
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("halaman"))
    labels = dict(Tenant.objects.filter(province=province).values_list("pk", "name"))
    return render(
        request,
        "console/audit.html",
        {
            "province": province,
            "page": page,
            "labels": {str(k): v for k, v in labels.items()},
            "base_url": reverse("console:audit", args=[province.code]),
        },
    )
