"""The operator's master-catalogue pages: services, releases, diffs and publishing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Func, IntegerField, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django_tenants.utils import get_public_schema_name

from catalog.actions import create_master_service, delete_master_service, update_master_service
from catalog.models import Agency, Category, Release, Service
from catalog.operator.forms import (
    PublishForm,
    ReleaseDiffForm,
    ServiceFilterForm,
    ServiceForm,
    service_initial,
    service_values,
)
from catalog.releases import (
    SnapshotDiff,
    diff_snapshots,
    latest_release,
    publish_release,
    snapshot_master,
)

PAGE_SIZE = 50
CHANGELOG_PREVIEW_LINES = 3

View = Callable[..., HttpResponse]


def operator_required(view: View) -> View:
    """Let only signed-in platform operators of the public schema through."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The URLs are only in the apex URL conf; this guards against a mis-wired include.
        if connection.schema_name != get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_operator:  # type: ignore[union-attr]
            return render(request, "catalog_operator/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def rupiah(fee: int | None) -> str:
    """``Rp 15.000`` with Indonesian digit grouping; ``Gratis`` for 0, ``Beragam`` for None."""
    if fee is None:
        return "Beragam"
    if fee == 0:
        return "Gratis"
    return "Rp " + f"{fee:,}".replace(",", ".")


def _agencies() -> list[Agency]:
    return list(Agency.objects.only("code", "name").order_by("name"))


def _categories() -> list[Category]:
    return list(Category.objects.only("code", "name_id").order_by("name_id"))


def _with_service_count(releases: QuerySet[Release]) -> QuerySet[Release]:
    # Counted in PostgreSQL so a list of releases never loads their (large) snapshots.
    count = Func(
        KeyTransform("services", "snapshot"),
        function="jsonb_array_length",
        output_field=IntegerField(),
    )
    return releases.defer("snapshot").annotate(service_count=count)


# --- Services ------------------------------------------------------------------------------


@operator_required
@require_http_methods(["GET"])
def service_list(request: HttpRequest) -> HttpResponse:
    """Master services, filtered by agency, category, fee and name; 50 per page."""
    agencies, categories = _agencies(), _categories()
    form = ServiceFilterForm(request.GET, agencies=agencies, categories=categories)
    form.is_valid()  # invalid filters are shown as errors and left out of cleaned_data
    filters = form.cleaned_data
    services = (
        Service.objects.select_related("agency")
        .prefetch_related("categories")
        .only("key", "name_id", "name_en", "fee", "processing_days", "same_day", "agency__name")
        .order_by("name_id", "key")
    )
    if filters.get("q"):
        q = filters["q"]
        services = services.filter(
            Q(name_id__icontains=q) | Q(name_en__icontains=q) | Q(key__icontains=q)
        )
    if filters.get("agency"):
        services = services.filter(agency__code=filters["agency"])
    if filters.get("category"):
        services = services.filter(categories__code=filters["category"])
    fee = filters.get("fee")
    if fee == "gratis":
        services = services.filter(fee=0)
    elif fee == "berbayar":
        services = services.filter(fee__gt=0)
    elif fee == "beragam":
        services = services.filter(fee__isnull=True)
    page = Paginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "service": s,
            "fee": rupiah(s.fee),
            "categories": ", ".join(c.name_id for c in s.categories.all()),
        }
        for s in page.object_list
    ]
    return render(
        request,
        "catalog_operator/service_list.html",
        {"form": form, "page": page, "rows": rows},
    )


def _service_form(request: HttpRequest, *, creating: bool, **kwargs: Any) -> ServiceForm:
    return ServiceForm(
        request.POST if request.method == "POST" else None,
        agencies=_agencies(),
        categories=_categories(),
        creating=creating,
        **kwargs,
    )


@operator_required
@require_http_methods(["GET", "POST"])
def service_create(request: HttpRequest) -> HttpResponse:
    """Add a master service through ``create_master_service``."""
    form = _service_form(request, creating=True, initial={"channel": "onsite"})
    if request.method == "POST" and form.is_valid():
        data = form.service_data() | {"key": form.cleaned_data["key"]}
        try:
            service = create_master_service(data, acting_user=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                f"Layanan {service.name_id} ditambahkan; tenant menerimanya setelah rilis "
                "berikutnya diterbitkan.",
            )
            return redirect("catalog_operator:service-edit", key=service.key)
    return render(
        request,
        "catalog_operator/service_form.html",
        {"form": form, "service": None},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, key: str) -> HttpResponse:
    """Edit every Standar Pelayanan field of a master service via ``update_master_service``."""
    service = get_object_or_404(
        Service.objects.select_related("agency").prefetch_related("categories"), key=key
    )
    form = _service_form(request, creating=False, initial=service_initial(service))
    if request.method == "POST" and form.is_valid():
        current = service_values(service)
        # Only what changed goes to the action, so the audit row says what the operator did.
        changes = {k: v for k, v in form.service_data().items() if current[k] != v}
        if not changes:
            messages.info(request, "Tidak ada perubahan yang disimpan (nothing changed).")
            return redirect("catalog_operator:service-edit", key=service.key)
        try:
            update_master_service(service, changes, acting_user=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                f"Perubahan tersimpan: {', '.join(sorted(changes))}. Terbitkan rilis "
                "agar tenant menerimanya.",
            )
            return redirect("catalog_operator:service-edit", key=service.key)
    return render(
        request,
        "catalog_operator/service_form.html",
        {"form": form, "service": service},
    )


@operator_required
@require_http_methods(["GET", "POST"])
def service_delete(request: HttpRequest, key: str) -> HttpResponse:
    """Confirm, then remove a master service via ``delete_master_service``."""
    service = get_object_or_404(Service.objects.select_related("agency"), key=key)
    if request.method == "POST":
        name = service.name_id
        delete_master_service(service, acting_user=request.user)  # type: ignore[arg-type]
        messages.success(
            request,
            f"Layanan {name} ({key}) dihapus dari katalog induk; tenant menandainya pensiun "
            "setelah rilis berikutnya.",
        )
        return redirect("catalog_operator:services")
    return render(request, "catalog_operator/service_delete.html", {"service": service})


# --- Releases ------------------------------------------------------------------------------


@operator_required
@require_http_methods(["GET"])
def release_list(request: HttpRequest) -> HttpResponse:
    """Published releases, newest first, with the first lines of each changelog."""
    releases = _with_service_count(Release.objects.order_by("-version"))
    page = Paginator(releases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for release in page.object_list:
        lines = release.changelog.splitlines()
        rows.append(
            {
                "release": release,
                "summary": "\n".join(lines[:CHANGELOG_PREVIEW_LINES]),
                "more": len(lines) > CHANGELOG_PREVIEW_LINES,
            }
        )
    return render(request, "catalog_operator/release_list.html", {"page": page, "rows": rows})


@operator_required
@require_http_methods(["GET"])
def release_detail(request: HttpRequest, version: int) -> HttpResponse:
    """One release: its changelog, how many services it holds, links to its diffs."""
    release = get_object_or_404(_with_service_count(Release.objects.all()), version=version)
    previous = (
        Release.objects.filter(version__lt=version)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return render(
        request,
        "catalog_operator/release_detail.html",
        {"release": release, "previous": previous},
    )


def _diff_summary(diff: SnapshotDiff) -> str:
    return (
        f"{len(diff.added)} layanan baru, {len(diff.removed)} dihapus, "
        f"{len(diff.changed)} berubah, {len(diff.agencies_changed)} instansi berubah"
    )


@operator_required
@require_http_methods(["GET"])
def release_diff(request: HttpRequest) -> HttpResponse:
    """Compare any two releases, field by field (``?dari=1&ke=2``)."""
    versions = list(Release.objects.order_by("-version").values_list("version", flat=True))
    data = request.GET
    if "dari" not in data and "ke" not in data and len(versions) >= 2:
        data = {"dari": str(versions[1]), "ke": str(versions[0])}  # the latest step by default
    form = ReleaseDiffForm(data or None, versions=versions)
    diff = None
    if form.is_bound and form.is_valid():
        old, new = form.cleaned_data["dari"], form.cleaned_data["ke"]
        snapshots = dict(
            Release.objects.filter(version__in={old, new}).values_list("version", "snapshot")
        )
        diff = diff_snapshots(snapshots[old], snapshots[new])
    return render(
        request,
        "catalog_operator/release_diff.html",
        {
            "form": form,
            "diff": diff,
            "summary": _diff_summary(diff) if diff else "",
        },
    )


@operator_required
@require_http_methods(["GET", "POST"])
def release_publish(request: HttpRequest) -> HttpResponse:
    """Preview what changed since the latest release, then publish the next one."""
    latest = latest_release()
    base = latest.version if latest else 0
    form = PublishForm(request.POST or None, initial={"base": base})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["base"] != base:
            # Someone published since this preview (or the form was sent twice): the operator
            # must look at the new preview before publishing what they have not seen.
            form = PublishForm({"base": base, "note": form.cleaned_data["note"]})
            form.is_valid()
            form.add_error(
                None,
                f"Rilis {base} sudah diterbitkan sejak pratinjau ini dibuat; periksa perubahan "
                "di bawah lalu terbitkan lagi (a newer release exists).",
            )
        else:
            release = publish_release(
                acting_user=request.user,  # type: ignore[arg-type]
                changelog=form.cleaned_data["note"],
            )
            messages.success(request, f"Rilis {release.version} diterbitkan.")
            return redirect("catalog_operator:release-detail", version=release.version)
    diff = diff_snapshots(latest.snapshot if latest else {}, snapshot_master())
    return render(
        request,
        "catalog_operator/release_publish.html",
        {"form": form, "latest": latest, "diff": diff, "summary": _diff_summary(diff)},
    )
