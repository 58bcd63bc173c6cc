"""Citizen portal pages on a tenant's host, and the tenant admin's profile page.

Every citizen page is server-rendered, works without JavaScript and reads only this tenant's
schema (plus the public, shared table of category names). Only services that are enabled and
not retired are ever shown; anything else is a 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import F, Func, IntegerField, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_safe

from catalog.local.models import LocalAgency, LocalService
from catalog.models import Category
from mall.actions import (
    LOGO_CONTENT_TYPES,
    add_closure,
    closures_between,
    get_mall_profile,
    local_today,
    remove_closure,
    update_mall_profile,
)
from mall.forms import ClosureForm, MallProfileForm, SearchForm
from mall.hours import WEEKDAYS, opening_status, seconds_until_change, week_hours
from mall.jsonld import as_script, government_service
from mall.models import Closure, MallProfile
from mall.page_cache import cached_page
from mall.search import search_services
from mall.templatetags.portal import is_english, tr
from mpp.accounts.models import User

View = Callable[..., HttpResponse]

# Columns a service list shows (name, agency, fee, processing time), nothing heavier.
LIST_COLUMNS = (
    "key",
    "name_id",
    "name_en",
    "agency_code",
    "agency_name",
    "fee",
    "same_day",
    "processing_days",
)
# "Most used" until the queue and applications record real use: the services an MPP counter
# sees most (ID card, family card, birth certificate, driving licence, vehicle tax, police
# certificate, passport, business ID, health insurance), then, to fill the list, those the
# catalogue gives the most search keywords — a proxy for how many ways people ask for them.
POPULAR_KEYS = (
    "dukcapil-ktp-el-baru",
    "dukcapil-kk-perubahan",
    "dukcapil-akta-kelahiran",
    "satpas-sim-c-perpanjangan",
    "samsat-pajak-tahunan",
    "polres-skck-baru",
    "imigrasi-paspor-elektronik",
    "dpmptsp-nib-oss",
    "bpjs-kesehatan-pendaftaran-mandiri",
)
POPULAR_COUNT = 8
# The home page lists the holidays and closures of the next two months, the first few.
UPCOMING_CLOSURE_DAYS = 60
UPCOMING_CLOSURE_COUNT = 5


def visible_services() -> QuerySet[LocalService]:
    """Services citizens may see: enabled in this mall and still offered upstream."""
    return LocalService.objects.filter(enabled=True, retired=False)


@dataclass(frozen=True)
class CategoryName:
    """A category as pages show it (name in both languages, from the public table)."""

    code: str
    name_id: str
    name_en: str = ""


def category_names(codes: Iterable[str]) -> dict[str, CategoryName]:
    """Names of the given category codes; a code unknown upstream shows as itself.

    ``catalog_category`` is a public reference table, reached through the tenant's
    search_path (``<tenant>, public``): one query, no schema switch.
    """
    wanted = set(codes)
    found = {
        code: CategoryName(code, name_id, name_en)
        for code, name_id, name_en in Category.objects.filter(code__in=wanted).values_list(
            "code", "name_id", "name_en"
        )
    }
    return {code: found.get(code, CategoryName(code, code)) for code in wanted}


def mall_name(profile: MallProfile, tenant: Any) -> str:
    """The name the portal goes by: the admin's choice, else "Mal Pelayanan Publik <tenant>"."""
    return profile.display_name or f"Mal Pelayanan Publik {tenant.name}"


def citizen_page(view: View) -> View:
    """Citizen pages speak Indonesian unless the visitor chose English with the switch.

    The browser's Accept-Language is deliberately ignored: many phones in Indonesia are set
    to English, and the portal is Bahasa Indonesia first.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    profile: MallProfile | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render with what every portal page shows: the mall's name, branding and footer."""
    if profile is None:
        profile = get_mall_profile()
    tenant = request.tenant  # type: ignore[attr-defined]
    base = {
        "tenant": tenant,
        "profile": profile,
        "mall_name": mall_name(profile, tenant),
        "accent_color": profile.accent_color,
    }
    return render(request, template, base | context, status=status)


def _service_rows(queryset: QuerySet[LocalService]) -> list[LocalService]:
    """A list page's services, sorted by the name shown in the page's language."""
    rows = list(queryset.only(*LIST_COLUMNS))
    rows.sort(key=lambda s: tr(s, "name").casefold())
    return rows


# --- Pages ---------------------------------------------------------------------------------


@require_safe
@citizen_page
@cached_page
def home(request: HttpRequest) -> HttpResponse:
    """Front page: who and where the mall is, whether it is open now, and ways in."""
    profile = get_mall_profile()
    now, zone = timezone.now(), request.tenant.time_zone  # type: ignore[attr-defined]
    today = now.astimezone(ZoneInfo(zone)).date()
    closures = closures_between(today, today + dt.timedelta(days=UPCOMING_CLOSURE_DAYS))
    status = opening_status(profile.opening_hours, now, zone, closures)
    keyword_count = Func(F("keywords"), function="jsonb_array_length", output_field=IntegerField())
    services = list(
        visible_services()
        .only(*LIST_COLUMNS, "category_codes")
        .annotate(keyword_count=keyword_count)
    )
    per_agency = Counter(s.agency_code for s in services)
    per_category = Counter(code for s in services for code in s.category_codes)
    agencies = [
        (agency, per_agency[agency.code])
        for agency in LocalAgency.objects.filter(present=True, code__in=per_agency)
    ]
    names = category_names(per_category)
    categories = sorted(
        ((names[code], n) for code, n in per_category.items()),
        key=lambda pair: tr(pair[0], "name").casefold(),
    )
    by_key = {s.key: s for s in services}
    popular = [by_key[k] for k in POPULAR_KEYS if k in by_key][:POPULAR_COUNT]
    if len(popular) < POPULAR_COUNT:
        rest = sorted(
            (s for s in services if s.key not in POPULAR_KEYS),
            key=lambda s: (-s.keyword_count, s.name_id),
        )
        popular += rest[: POPULAR_COUNT - len(popular)]
    week = [
        (name, day, i == status.weekday)
        for i, (name, day) in enumerate(
            zip(WEEKDAYS, week_hours(profile.opening_hours), strict=True)
        )
    ]
    response = _render(
        request,
        "mall/home.html",
        {
            "status": status,
            "next_open_day": WEEKDAYS[status.next_open[0]] if status.next_open else "",
            # Beyond the coming week a weekday name alone is ambiguous: say the date too.
            "next_open_far": bool(
                status.next_open_date and (status.next_open_date - today).days >= 7
            ),
            "upcoming_closures": sorted(closures.items())[:UPCOMING_CLOSURE_COUNT],
            "week": week,
            "service_count": len(services),
            "agency_count": len(per_agency),
            "agencies": agencies,
            "categories": categories,
            "popular": popular,
            "search_form": SearchForm(),
        },
        profile=profile,
    )
    # "Open now" must not outlive the next opening or closing minute in the cache.
    response.cache_seconds = seconds_until_change(profile.opening_hours, now, zone, closures)  # type: ignore[attr-defined]
    return response


@require_safe
@citizen_page
@cached_page
def search(request: HttpRequest) -> HttpResponse:
    """Full-text search over this mall's services (ranked by ``mall.search``)."""
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    results = search_services(query) if query else []
    return _render(
        request,
        "mall/search.html",
        {"search_form": form, "query": query, "results": results},
    )


@require_safe
@citizen_page
@cached_page
def service_list(request: HttpRequest) -> HttpResponse:
    """Every service of this mall, A to Z."""
    return _render(
        request, "mall/service_list.html", {"services": _service_rows(visible_services())}
    )


@require_safe
@citizen_page
@cached_page
def agency_list(request: HttpRequest) -> HttpResponse:
    """Agencies with at least one service here; those with a counter in the mall first."""
    per_agency = Counter(visible_services().values_list("agency_code", flat=True))
    agencies = [
        (agency, per_agency[agency.code])
        for agency in LocalAgency.objects.filter(code__in=per_agency)
    ]
    return _render(
        request,
        "mall/agency_list.html",
        {
            "present": [pair for pair in agencies if pair[0].present],
            "elsewhere": [pair for pair in agencies if not pair[0].present],
        },
    )


@require_safe
@citizen_page
@cached_page
def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One agency: where it sits in the mall and the services it offers here."""
    agency = LocalAgency.objects.filter(code=code).first()
    services = _service_rows(visible_services().filter(agency_code=code))
    if agency is None or not services:
        raise Http404
    return _render(request, "mall/agency_detail.html", {"agency": agency, "services": services})


@require_safe
@citizen_page
@cached_page
def category_list(request: HttpRequest) -> HttpResponse:
    """Themes to browse by, with how many services each holds here."""
    per_category = Counter(
        code
        for codes in visible_services().values_list("category_codes", flat=True)
        for code in codes
    )
    names = category_names(per_category)
    categories = sorted(
        ((names[code], n) for code, n in per_category.items()),
        key=lambda pair: tr(pair[0], "name").casefold(),
    )
    return _render(request, "mall/category_list.html", {"categories": categories})


@require_safe
@citizen_page
@cached_page
def category_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The services of one category."""
    services = _service_rows(visible_services().filter(category_codes__contains=[code]))
    if not services:
        raise Http404
    return _render(
        request,
        "mall/category_detail.html",
        {"category": category_names([code])[code], "services": services},
    )


@require_safe
@citizen_page
@cached_page
def service_detail(request: HttpRequest, key: str) -> HttpResponse:
    """Everything the Standar Pelayanan says about one service, and where to go for it.

    ``?cetak=1`` gives the printable checklist alone.
    """
    # The merge state and search vector are staff and search matters, not this page's.
    heavy = ("search_vector", "base", "overrides", "conflicts")
    service = visible_services().filter(key=key).defer(*heavy).first()
    if service is None:
        raise Http404
    profile = get_mall_profile()
    agency = LocalAgency.objects.filter(code=service.agency_code).first()
    categories = sorted(
        category_names(service.category_codes).values(), key=lambda c: tr(c, "name").casefold()
    )
    name, description = tr(service, "name"), tr(service, "description")
    tenant = request.tenant  # type: ignore[attr-defined]
    counters = agency.counters if agency is not None and agency.present else ""
    page_url = request.build_absolute_uri(reverse("mall:service", args=[service.key]))
    jsonld = government_service(
        service,
        url=page_url,
        name=name,
        description=description,
        mall_name=mall_name(profile, tenant),
        mall_address=profile.address,
        area_name=tenant.name,
        counters=counters,
        category_names=[tr(c, "name") for c in categories],
    )
    printable = request.GET.get("cetak") == "1"
    return _render(
        request,
        "mall/service_print.html" if printable else "mall/service_detail.html",
        {
            "service": service,
            "name": name,
            "description": description,
            "agency": agency,
            "counters": counters,
            "categories": categories,
            "jsonld": as_script(jsonld),
            "page_url": page_url,
            "english": is_english(),
            # Catalogue text with no English version is marked as Indonesian for screen readers.
            "id_lang": mark_safe(' lang="id"') if is_english() else "",
        },
        profile=profile,
    )


@require_safe
def media_file(request: HttpRequest, name: str) -> HttpResponse:
    """Serve this tenant's logo, and nothing else: any other name is a 404.

    The name is compared with the one stored in this schema's profile, so a path of another
    tenant's file (or ``../``) never reaches the file system.
    """
    profile = get_mall_profile()
    stored = profile.logo.name or ""
    schema = request.tenant.schema_name  # type: ignore[attr-defined]
    if not stored or name != stored or not stored.startswith(f"{schema}/"):
        raise Http404
    content_type = LOGO_CONTENT_TYPES.get(stored.rsplit(".", 1)[-1])
    if content_type is None:
        raise Http404
    try:
        handle = profile.logo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    # The name holds a hash of the content: a new logo gets a new URL, so cache for long.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# --- Staff: the mall profile -----------------------------------------------------------------


def _is_tenant_admin(user: Any) -> bool:
    """Only the tenant admin (or a superuser) changes the mall's profile."""
    return bool(user.is_active and (user.is_superuser or user.role == User.Role.TENANT_ADMIN))


def _admin_or_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the tenant admin is signed in, else the sign-in redirect or a 403 page."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not _is_tenant_admin(user):
        tenant = request.tenant  # type: ignore[attr-defined]
        return render(request, "mall/forbidden.html", {"tenant": tenant}, status=403)
    return None


def _profile_page(
    request: HttpRequest,
    *,
    form: MallProfileForm | None = None,
    closure_form: ClosureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    profile = get_mall_profile()
    today = local_today()
    return render(
        request,
        "mall/staff_profile.html",
        {
            "tenant": request.tenant,  # type: ignore[attr-defined]
            "form": form or MallProfileForm(profile=profile),
            "closure_form": closure_form or ClosureForm(),
            "closures": Closure.objects.filter(date__gte=today),
            "today": today,
            "profile": profile,
            "accent_color": profile.accent_color,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def staff_profile(request: HttpRequest) -> HttpResponse:
    """The tenant admin edits the mall's name, contact, hours, colour and logo."""
    refusal = _admin_or_refusal(request)
    if refusal is not None:
        return refusal
    if request.method == "POST":
        form = MallProfileForm(request.POST, request.FILES, profile=get_mall_profile())
        if form.is_valid():
            try:
                update_mall_profile(form.changes(), acting_user=request.user)
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                messages.success(request, "Profil mal disimpan.")
                return redirect("mall:staff-profile")
        return _profile_page(request, form=form)
    return _profile_page(request)


@require_http_methods(["POST"])
def staff_closure_add(request: HttpRequest) -> HttpResponse:
    """The tenant admin closes the mall on a date (holiday or special closure)."""
    refusal = _admin_or_refusal(request)
    if refusal is not None:
        return refusal
    form = ClosureForm(request.POST)
    if form.is_valid():
        try:
            closure = add_closure(
                form.cleaned_data["date"], form.cleaned_data["name"], acting_user=request.user
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, f"Mal tutup pada {closure.date:%d-%m-%Y}: {closure.name}.")
            return redirect(reverse("mall:staff-profile") + "#libur")
    return _profile_page(request, closure_form=form, status=400)


@require_http_methods(["POST"])
def staff_closure_remove(request: HttpRequest) -> HttpResponse:
    """The tenant admin cancels a closure: the weekly hours apply that day again."""
    refusal = _admin_or_refusal(request)
    if refusal is not None:
        return refusal
    try:
        remove_closure(request.POST.get("date", ""), acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Penutupan dibatalkan; jam layanan biasa berlaku lagi.")
    return redirect(reverse("mall:staff-profile") + "#libur")
