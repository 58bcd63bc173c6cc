"""The local admin's catalogue screens on a tenant's host (``/staff/katalog/``).

Tenant staff read their mall's catalogue here; only the tenant admin changes it, and every
change goes through ``catalog.local.actions`` (or ``apply_sync``) with the signed-in user as
the actor. Views only parse input, check permission and call the actions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_tenants.utils import get_public_schema_name, schema_context

from catalog.local.actions import (
    OVERRIDABLE_FIELDS,
    create_local_agency,
    create_local_service,
    override_field,
    resolve_conflict,
    revert_field,
    set_agency_presence,
    set_enabled,
    upstream_and_local,
)
from catalog.local.forms import (
    LIST_FIELDS,
    AgencyPresenceForm,
    ApplySyncForm,
    EnabledForm,
    FieldOverrideForm,
    LocalAgencyForm,
    LocalServiceForm,
    ResolveConflictForm,
    ServiceFilterForm,
    add_action_errors,
    label,
)
from catalog.local.models import LocalAgency, LocalService
from catalog.local.sync import SyncPlan, Upstream, apply_sync, plan_sync, tenant_upstream
from catalog.models import Category, Channel
from catalog.releases import SERVICE_FIELDS
from mpp.accounts.models import User

PAGE_SIZE = 50
STAFF_ROLES = frozenset({User.Role.TENANT_ADMIN, User.Role.OFFICER})

View = Callable[..., HttpResponse]


def can_edit(user: Any) -> bool:
    """Whether ``user`` may change this mall's catalogue (the tenant admin only)."""
    return bool(user.is_active and (user.is_superuser or user.role == User.Role.TENANT_ADMIN))


def staff_required(*, admin_only: bool = False) -> Callable[[View], View]:
    """Let signed-in tenant staff read; only the tenant admin may POST (or open ``admin_only``
    pages). Anyone else is sent to sign in (anonymous) or refused with 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # The URLs are only in the tenant URL conf; this guards against a mis-wired include.
            if connection.schema_name == get_public_schema_name():
                raise Http404
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_superuser or user.role in STAFF_ROLES):  # type: ignore[union-attr]
                return _forbidden(request)
            if (admin_only or request.method == "POST") and not can_edit(user):
                return _forbidden(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _forbidden(request: HttpRequest) -> HttpResponse:
    return _page(request, "forbidden.html", {}, status=403)


def rupiah(fee: int | None) -> str:
    """``Rp 15.000`` with Indonesian digit grouping; ``Gratis`` for 0, ``Beragam`` for None."""
    if fee is None:
        return "Beragam / tidak tetap"
    if fee == 0:
        return "Gratis"
    return "Rp " + f"{fee:,}".replace(",", ".")


def display_lines(field: str, value: Any) -> list[str]:
    """A field's value as the lines an officer reads (lists one item per line)."""
    if field == "fee":
        return [rupiah(value)]
    if field == "same_day":
        return ["Ya" if value else "Tidak"]
    if value is None or value == "" or value == []:
        return ["(kosong)"]
    if field == "requirements":
        return [
            f"{item['document']} — {item['note']}" if item.get("note") else item["document"]
            for item in value
        ]
    if field in LIST_FIELDS:
        return [str(item) for item in value]
    if field == "processing_days":
        return [f"{value} hari kerja"]
    if field == "channel":
        return [str(dict(Channel.choices).get(value, value))]
    return [str(value)]


def _lines_of(field: str, value: Any) -> dict[str, Any]:
    is_list = (field in LIST_FIELDS or field == "requirements") and bool(value)
    return {"lines": display_lines(field, value), "is_list": is_list}


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a staff page; every page knows whether to offer the forms that change things."""
    context.setdefault("can_edit", can_edit(request.user))
    return render(request, f"local_catalog/{template}", context, status=status)


# --- Service list --------------------------------------------------------------------------

STATUS_QUERIES: dict[str, Q] = {
    "aktif": Q(enabled=True, retired=False),
    "nonaktif": Q(enabled=False, retired=False),
    "diubah": ~Q(overrides={}),
    "konflik": ~Q(conflicts={}),
    "lokal": Q(origin=LocalService.Origin.LOCAL),
    "pensiun": Q(retired=True),
}


def _status_counts() -> dict[str, int]:
    # One query for every filter's count, so the tabs tell the officer where work waits.
    aggregates = {name: Count("pk", filter=query) for name, query in STATUS_QUERIES.items()}
    return LocalService.objects.aggregate(semua=Count("pk"), **aggregates)


@staff_required()
@require_http_methods(["GET"])
def service_list(request: HttpRequest) -> HttpResponse:
    """The mall's services, filtered by status and name; 50 per page."""
    form = ServiceFilterForm(request.GET)
    form.is_valid()  # invalid filters are shown as errors and left out of cleaned_data
    status = form.cleaned_data.get("status") or "semua"
    query = (form.cleaned_data.get("q") or "").strip()
    services: QuerySet[LocalService] = LocalService.objects.only(
        "key", "name_id", "name_en", "agency_name", "origin", "enabled", "retired",
        "overrides", "conflicts",
    ).order_by("agency_name", "name_id", "key")  # fmt: skip
    if status in STATUS_QUERIES:
        services = services.filter(STATUS_QUERIES[status])
    if query:
        services = services.filter(
            Q(name_id__icontains=query) | Q(name_en__icontains=query) | Q(key__icontains=query)
        )
    page = Paginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = _status_counts()
    tabs = [
        {"value": value, "label": text, "count": counts[value], "current": value == status}
        for value, text in form.fields["status"].choices
    ]
    return _page(
        request,
        "service_list.html",
        {"form": form, "page": page, "tabs": tabs, "status": status, "q": query},
    )


# --- One service ---------------------------------------------------------------------------


def _service(key: str) -> LocalService:
    return get_object_or_404(LocalService, key=key)


def _field_rows(
    service: LocalService, editable: bool, bound: dict[str, FieldOverrideForm] | None = None
) -> list[dict[str, Any]]:
    """What the service page shows per field: upstream and local values, a form, a conflict."""
    bound = bound or {}
    rows = []
    for row in upstream_and_local(service):
        field = row["field"]
        if service.origin == LocalService.Origin.LOCAL and field not in SERVICE_FIELDS:
            continue  # a local service's agency is shown in the header
        changeable = editable and field in OVERRIDABLE_FIELDS
        conflict = row["conflict"]
        rows.append(
            {
                "field": field,
                "label": label(field),
                "upstream": _lines_of(field, row["upstream"]),
                "value": _lines_of(field, row["value"]),
                "overridden": row["overridden"],
                "conflict": {
                    "base": _lines_of(field, conflict.get("base")),
                    "upstream": _lines_of(field, conflict.get("upstream")),
                    "local": _lines_of(field, conflict.get("local")),
                }
                if conflict
                else None,
                "form": bound.get(field)
                or (
                    FieldOverrideForm(field, initial={field: row["value"]}) if changeable else None
                ),
            }
        )
    return rows


def _render_service(
    request: HttpRequest,
    service: LocalService,
    *,
    bound: dict[str, FieldOverrideForm] | None = None,
    enabled_form: EnabledForm | None = None,
    status: int = 200,
) -> HttpResponse:
    editable = can_edit(request.user)
    return _page(
        request,
        "service_detail.html",
        {
            "service": service,
            "rows": _field_rows(service, editable, bound),
            "can_edit": editable,
            "is_master": service.origin == LocalService.Origin.MASTER,
            "enabled_form": enabled_form,
        },
        status=status,
    )


def _service_url(service: LocalService, field: str | None = None) -> str:
    url = reverse("local_catalog:service", args=[service.key])
    return f"{url}#f-{field}" if field else url


@staff_required()
@require_http_methods(["GET"])
def service_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Every Standar Pelayanan field: upstream's value beside the mall's own, with forms."""
    return _render_service(request, _service(key))


def _check_field(field: str) -> None:
    # Where a service sits (agency, categories) stays upstream's: no form, no URL.
    if field not in OVERRIDABLE_FIELDS:
        raise Http404


@staff_required()
@require_POST
def field_override(request: HttpRequest, key: str, field: str) -> HttpResponse:
    """Set the mall's own value of one field (``override_field``)."""
    service = _service(key)
    _check_field(field)
    form = FieldOverrideForm(field, request.POST)
    if form.is_valid():
        if form.value == getattr(service, field):
            messages.info(request, f"{label(field)}: tidak ada perubahan (nothing changed).")
            return redirect(_service_url(service, field))
        try:
            service = override_field(service, field, form.value, acting_user=request.user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            if service.origin == LocalService.Origin.MASTER and field not in service.overrides:
                messages.success(
                    request,
                    f"{label(field)} tersimpan; nilainya sama dengan induk, jadi kolom ini "
                    "kembali mengikuti induk (same as upstream).",
                )
            else:
                messages.success(request, f"{label(field)} tersimpan (saved).")
            return redirect(_service_url(service, field))
    # Shown again with the error next to the field; nothing was stored.
    return _render_service(request, service, bound={field: form})


@staff_required()
@require_POST
def field_revert(request: HttpRequest, key: str, field: str) -> HttpResponse:
    """Drop the mall's own value of a field: it follows upstream again (``revert_field``)."""
    service = _service(key)
    _check_field(field)
    try:
        revert_field(service, field, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, _message(field, exc))
    else:
        messages.success(request, f"{label(field)} dikembalikan ke versi induk (reverted).")
    return redirect(_service_url(service, field))


@staff_required()
@require_POST
def conflict_resolve(request: HttpRequest, key: str, field: str) -> HttpResponse:
    """Settle a conflict: take upstream's value or keep the mall's (``resolve_conflict``)."""
    service = _service(key)
    _check_field(field)
    form = ResolveConflictForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{label(field)}: " + " ".join(form.errors["choice"]))
        return redirect(_service_url(service, field))
    choice = form.cleaned_data["choice"]
    try:
        resolve_conflict(service, field, choice, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, _message(field, exc))
    else:
        done = "memakai versi induk" if choice == "upstream" else "mempertahankan milik daerah"
        messages.success(request, f"Konflik {label(field)} selesai: {done}.")
    return redirect(_service_url(service, field))


def _message(field: str, exc: ValidationError) -> str:
    return f"{label(field)}: " + " ".join(exc.messages)


@staff_required()
@require_POST
def service_enabled(request: HttpRequest, key: str) -> HttpResponse:
    """Offer or stop offering a service in this mall (``set_enabled``)."""
    service = _service(key)
    form = EnabledForm(request.POST)
    if not form.is_valid():
        return _render_service(request, service, enabled_form=form)
    enabled = form.cleaned_data["enabled"]
    set_enabled(service, enabled, acting_user=request.user)
    messages.success(
        request,
        f"{service.name_id} "
        + (
            "diaktifkan: tampil bagi warga."
            if enabled
            else "dinonaktifkan: tidak tampil bagi warga."
        ),
    )
    return redirect(_service_url(service))


# --- Local services and agencies -----------------------------------------------------------


def _local_agencies() -> list[LocalAgency]:
    return list(LocalAgency.objects.only("code", "name").order_by("name"))


def _categories() -> list[tuple[str, str]]:
    # Categories are a platform-wide vocabulary; the tenant stores only their codes.
    with schema_context(get_public_schema_name()):
        return list(Category.objects.order_by("name_id").values_list("code", "name_id"))


@staff_required(admin_only=True)
@require_http_methods(["GET", "POST"])
def local_service_create(request: HttpRequest) -> HttpResponse:
    """Add a service only this mall offers (``create_local_service``)."""
    form = LocalServiceForm(
        request.POST if request.method == "POST" else None,
        agencies=_local_agencies(),
        categories=_categories(),
        initial={"channel": Channel.ONSITE},
    )
    if request.method == "POST" and form.is_valid():
        try:
            service = create_local_service(form.service_data(), acting_user=request.user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Layanan lokal {service.name_id} ditambahkan.")
            return redirect(_service_url(service))
    fieldsets = [
        ("Identitas layanan", ["key", "name_id", "name_en", "agency_code", "category_codes"]),
        ("Uraian", ["description_id", "description_en"]),
        ("Persyaratan", ["requirements"]),
        ("Sistem, mekanisme dan prosedur", ["procedure"]),
        ("Jangka waktu penyelesaian", ["processing_days", "same_day"]),
        ("Biaya/tarif", ["fee", "fee_note", "fee_legal_basis"]),
        ("Produk, pengaduan dan dasar hukum", ["product", "complaint_channel", "legal_basis"]),
        ("Saluran dan kata kunci", ["channel", "keywords"]),
    ]
    return _page(
        request,
        "service_create.html",
        {
            "form": form,
            "fieldsets": [(legend, [form[n] for n in names]) for legend, names in fieldsets],
        },
    )


def _agency_rows(bound: dict[str, AgencyPresenceForm] | None = None) -> list[dict[str, Any]]:
    bound = bound or {}
    service_counts = dict(
        LocalService.objects.values_list("agency_code").annotate(n=Count("pk")).order_by()
    )
    rows = []
    for agency in LocalAgency.objects.order_by("name"):
        form = bound.get(agency.code) or AgencyPresenceForm(
            initial={"present": agency.present, "counters": agency.counters},
            auto_id=f"id_{agency.code}_%s",
        )
        rows.append(
            {"agency": agency, "form": form, "services": service_counts.get(agency.code, 0)}
        )
    return rows


def _render_agencies(
    request: HttpRequest,
    *,
    bound: dict[str, AgencyPresenceForm] | None = None,
    create_form: LocalAgencyForm | None = None,
) -> HttpResponse:
    editable = can_edit(request.user)
    return _page(
        request,
        "agency_list.html",
        {
            "rows": _agency_rows(bound),
            "can_edit": editable,
            "create_form": create_form or (LocalAgencyForm() if editable else None),
        },
    )


@staff_required()
@require_http_methods(["GET"])
def agency_list(request: HttpRequest) -> HttpResponse:
    """The mall's agencies: present or not, at which counters, how many services."""
    return _render_agencies(request)


@staff_required()
@require_POST
def agency_presence(request: HttpRequest, code: str) -> HttpResponse:
    """Say whether an agency serves here, and at which counters (``set_agency_presence``)."""
    agency = get_object_or_404(LocalAgency, code=code)
    form = AgencyPresenceForm(request.POST, auto_id=f"id_{agency.code}_%s")
    if not form.is_valid():
        return _render_agencies(request, bound={agency.code: form})
    set_agency_presence(
        agency,
        present=form.cleaned_data["present"],
        counters=form.cleaned_data["counters"],
        acting_user=request.user,
    )
    messages.success(request, f"{agency.name} tersimpan (saved).")
    return redirect(reverse("local_catalog:agencies") + f"#a-{agency.code}")


@staff_required()
@require_POST
def agency_create(request: HttpRequest) -> HttpResponse:
    """Add an agency that serves in this mall only (``create_local_agency``)."""
    form = LocalAgencyForm(request.POST)
    if form.is_valid():
        try:
            agency = create_local_agency(**form.cleaned_data, acting_user=request.user)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, f"Instansi {agency.name} ditambahkan.")
            return redirect(reverse("local_catalog:agencies") + f"#a-{agency.code}")
    return _render_agencies(request, create_form=form)


# --- Sync ----------------------------------------------------------------------------------


def plan_groups(plan: SyncPlan) -> dict[str, list[dict[str, Any]]]:
    """The plan's services and fields grouped as an officer reads them."""
    groups: dict[str, list[dict[str, Any]]] = {
        "added": [],
        "updated": [],
        "kept": [],
        "conflict": [],
        "retired": [],
        "restored": [],
        "skipped": [],
    }
    service_groups = {"add": "added", "retire": "retired", "restore": "restored", "skip": "skipped"}
    for service in plan.services:
        if service.action in service_groups:
            groups[service_groups[service.action]].append(
                {"key": service.key, "name": service.name}
            )
        for action, group in (
            (("applied", "converged"), "updated"),
            (("kept",), "kept"),
            (("conflict",), "conflict"),
        ):
            changes = [
                {
                    "label": label(change.field),
                    "base": _lines_of(change.field, change.base),
                    "upstream": _lines_of(change.field, change.upstream),
                    "local": _lines_of(change.field, change.local),
                    "converged": change.action == "converged",
                }
                for change in service.changes
                if change.action in action
            ]
            if changes:
                groups[group].append({"key": service.key, "name": service.name, "changes": changes})
    return groups


def _counts_message(plan: SyncPlan) -> str:
    counts = plan.counts()
    parts = [
        f"{counts['added']} layanan ditambahkan",
        f"{counts['applied'] + counts['converged']} kolom diperbarui",
        f"{counts['kept']} kolom milik daerah dipertahankan",
        f"{counts['conflict']} konflik baru",
        f"{counts['retired']} layanan dipensiunkan",
    ]
    if counts["restored"]:
        parts.append(f"{counts['restored']} layanan dipulihkan")
    return ", ".join(parts)


@staff_required()
@require_http_methods(["GET", "POST"])
def sync(request: HttpRequest) -> HttpResponse:
    """Preview the sync to the newest upstream release, then apply it (``apply_sync``)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    # The tenant's own upstream: its province's overlay release if there is one, else the
    # newest master release (syncing a province tenant to bare master would undo its edits).
    upstream = tenant_upstream(tenant)
    if request.method == "POST":
        return _apply(request, tenant, upstream, ApplySyncForm(request.POST))
    plan = plan_sync(tenant, upstream) if upstream is not None else None
    form = ApplySyncForm(
        initial={"to_version": plan.to_version, "to_overlay": plan.to_overlay} if plan else None
    )
    return _page(
        request,
        "sync.html",
        {
            "plan": plan,
            "groups": plan_groups(plan) if plan else None,
            "counts": plan.counts() if plan else None,
            "from_label": _from_label(plan) if plan else "",
            "to_label": _upstream_label(plan) if plan else "",
            "form": form,
            "can_edit": can_edit(request.user),
        },
    )


def _apply(
    request: HttpRequest, tenant: Any, upstream: Upstream | None, form: ApplySyncForm
) -> HttpResponse:
    """Apply the sync the admin previewed, unless upstream moved since."""
    if upstream is None:
        messages.error(request, "Belum ada rilis katalog induk untuk disinkronkan.")
        return redirect("local_catalog:sync")
    if not form.is_valid():
        messages.error(request, "Permintaan tidak lengkap; muat ulang halaman ini lalu coba lagi.")
        return redirect("local_catalog:sync")
    previewed = (form.cleaned_data["to_version"], form.cleaned_data["to_overlay"])
    if previewed != (upstream.version, upstream.overlay_version):
        # A release was published since this preview: the admin must see the new plan
        # before applying what they have not read.
        messages.error(
            request,
            "Ada rilis yang lebih baru sejak pratinjau ini dibuat; periksa rencana di bawah "
            "lalu terapkan lagi (a newer release exists).",
        )
        return redirect("local_catalog:sync")
    plan = apply_sync(tenant, upstream, acting_user=request.user)
    messages.success(
        request, f"Sinkronisasi ke {_upstream_label(plan)} selesai: {_counts_message(plan)}."
    )
    if plan.open_conflicts:
        messages.warning(
            request, f"{plan.open_conflicts} kolom berkonflik menunggu keputusan Anda."
        )
        return redirect(reverse("local_catalog:services") + "?status=konflik")
    return redirect("local_catalog:sync")


def _upstream_label(plan: SyncPlan) -> str:
    overlay = f" + rilis provinsi {plan.to_overlay}" if plan.to_overlay else ""
    return f"rilis {plan.to_version}{overlay}"


def _from_label(plan: SyncPlan) -> str:
    if plan.from_version is None:
        return "belum pernah disinkronkan"
    overlay = f" + rilis provinsi {plan.from_overlay}" if plan.from_overlay else ""
    return f"rilis {plan.from_version}{overlay}"
