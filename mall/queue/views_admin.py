"""The tenant admin's queue pages (``/staff/antrian/``): counters, queue settings, statistics.

Only the tenant admin (or a superuser of the tenant) gets in; officers get 403 and anonymous
visitors the sign-in page. The forms here check nothing themselves: whatever was submitted
goes to ``save_counter`` / ``save_queue_setting``, and their per-field ValidationErrors are
shown next to the fields, so the rules are the same as for the API and the CLI. Objects are
looked up in the current tenant's schema only, so another tenant's counter id is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tenants.utils import get_public_schema_name

from catalog.local.forms import add_action_errors
from catalog.local.models import LocalAgency, LocalService
from mall.queue.actions import save_counter, save_queue_setting
from mall.queue.actions.admin import STAFF_ROLES
from mall.queue.models import Counter, QueueSetting
from mall.queue.reports import (
    MAX_DAYS,
    Figures,
    Report,
    Row,
    build_report,
    duration_text,
    local_today,
    parse_range,
    report_csv,
)
from mall.templatetags.portal import tr
from mpp.accounts.models import User

View = Callable[..., HttpResponse]
TEMPLATES = "queue/admin/"


def is_tenant_admin(user: Any) -> bool:
    """Whether ``user`` runs this mall's queue set-up: the tenant admin (or a superuser)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role == User.Role.TENANT_ADMIN)
    )


def admin_page(view: View) -> View:
    """Tenant admin only: anonymous → sign-in page, anyone else → 403. Never cached."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The URLs are only in the tenant URL conf; this guards against a mis-wired include.
        if connection.schema_name == get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_tenant_admin(request.user):
            response = render(request, TEMPLATES + "forbidden.html", status=403)
        else:
            response = view(request, *args, **kwargs)
        # Counters, officers' e-mails and figures are the tenant's business only.
        add_never_cache_headers(response)
        return response

    return wrapped


# --- Forms ---------------------------------------------------------------------------------


class SubmittedValues(forms.Field):
    """A list of checkbox values handed to the action unchecked: the action alone decides
    which are wrong (a service of another agency, an unknown officer) and says so."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[str]:
        return [str(v) for v in value or []]


class CounterForm(forms.Form):
    """A counter's fields, as ``save_counter`` takes them."""

    name = forms.CharField(
        label=gettext_lazy("Nama loket"),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": 60}),
        help_text=gettext_lazy("Misalnya Loket 3."),
    )
    agency_code = forms.CharField(required=False, widget=forms.HiddenInput)
    prefix = forms.CharField(
        label=gettext_lazy("Awalan nomor antrean"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 4, "size": 5}),
        help_text=gettext_lazy("2–4 huruf, misalnya DKP untuk nomor DKP-001."),
    )
    service_keys = SubmittedValues(label=gettext_lazy("Layanan yang dilayani"), required=False)
    officers = SubmittedValues(label=gettext_lazy("Petugas"), required=False)
    active = forms.BooleanField(label=gettext_lazy("Aktif"), required=False)
    priority_lane = forms.BooleanField(
        label=gettext_lazy("Jalur prioritas"),
        required=False,
        help_text=gettext_lazy(
            "Melayani lansia, penyandang disabilitas dan ibu hamil lebih dahulu."
        ),
    )

    def __init__(
        self,
        *args: Any,
        services: list[LocalService],
        officers: list[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_keys"].widget.choices = [
            (s.key, tr(s, "name") + ("" if s.enabled else _(" (nonaktif di katalog)")))
            for s in services
        ]
        self.fields["officers"].widget.choices = [
            (str(u.pk), f"{u.full_name} <{u.email}>" if u.full_name else u.email) for u in officers
        ]

    def action_kwargs(self) -> dict[str, Any]:
        """What to hand to ``save_counter`` (after ``is_valid()``, which is always true)."""
        data = self.cleaned_data
        return {
            "name": data.get("name", ""),
            "agency_code": data.get("agency_code", ""),
            "prefix": data.get("prefix", ""),
            "service_keys": data.get("service_keys", []),
            "officers": data.get("officers", []),
            "active": bool(data.get("active")),
            "priority_lane": bool(data.get("priority_lane")),
        }


def _number_input() -> forms.TextInput:
    # Text, not type=number: a browser would drop "lima" silently; the action explains it.
    return forms.TextInput(attrs={"inputmode": "numeric", "size": 7})


class SettingForm(forms.Form):
    """One service's queue setting, as ``save_queue_setting`` takes it."""

    slot_minutes = forms.CharField(
        label=gettext_lazy("Lama slot (menit)"),
        required=False,
        widget=_number_input(),
        help_text=gettext_lazy("5–120 menit."),
    )
    slot_capacity = forms.CharField(
        label=gettext_lazy("Kapasitas per slot"),
        required=False,
        widget=_number_input(),
        help_text=gettext_lazy("1–500 warga per slot."),
    )
    daily_quota = forms.CharField(
        label=gettext_lazy("Kuota harian"),
        required=False,
        widget=_number_input(),
        help_text=gettext_lazy("1–100.000; booking online dan nomor di tempat dihitung bersama."),
    )
    online_booking = forms.BooleanField(label=gettext_lazy("Bisa dipesan online"), required=False)


class RangeForm(forms.Form):
    """The statistics page's date range (local dates); checked by ``reports.parse_range``."""

    dari = forms.CharField(
        label=gettext_lazy("Dari tanggal"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sampai = forms.CharField(
        label=gettext_lazy("Sampai tanggal"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


# --- Overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingRow:
    """A service on the overview: its setting (saved, or the defaults) and its counters."""

    service: LocalService
    name: str
    agency_name: str
    setting: QueueSetting
    saved: bool
    counters: list[str]


def _overview(
    request: HttpRequest, *, picker_error: str = "", picked: str = "", status: int = 200
) -> HttpResponse:
    """Counters and queue settings, in a constant number of queries."""
    officers = Prefetch("officers", queryset=User.objects.only("email", "full_name"))
    counters = list(Counter.objects.prefetch_related(officers).order_by("name"))
    agencies = dict(LocalAgency.objects.values_list("code", "name"))
    saved = {s.service_key: s for s in QueueSetting.objects.all()}
    services = {
        s.key: s
        for s in LocalService.objects.filter(retired=False).only(
            "key", "name_id", "name_en", "agency_code", "enabled"
        )
    }
    served: dict[str, list[str]] = {}
    for counter in counters:
        for key in counter.service_keys:
            served.setdefault(key, [])
            if counter.active:
                served[key].append(counter.name)
    setting_rows = [
        SettingRow(
            service=services[key],
            name=tr(services[key], "name"),
            agency_name=agencies.get(services[key].agency_code, services[key].agency_code),
            setting=saved.get(key) or QueueSetting(service_key=key),
            saved=key in saved,
            counters=served.get(key, []),
        )
        for key in set(served) | set(saved)
        if key in services  # a retired service's setting no longer matters
    ]
    setting_rows.sort(key=lambda r: (r.agency_name.casefold(), r.name.casefold()))
    counter_rows = [
        (
            counter,
            agencies.get(counter.agency_code, counter.agency_code),
            [tr(services[k], "name") if k in services else k for k in counter.service_keys],
        )
        for counter in counters
    ]
    # The "other service" picker: every service citizens can see, grouped by agency.
    groups: dict[str, list[tuple[str, str]]] = {}
    for service in services.values():
        if service.enabled:
            agency = agencies.get(service.agency_code, service.agency_code)
            groups.setdefault(agency, []).append((service.key, tr(service, "name")))
    picker = [
        (agency, sorted(options, key=lambda o: o[1].casefold()))
        for agency, options in sorted(groups.items(), key=lambda g: g[0].casefold())
    ]
    return render(
        request,
        TEMPLATES + "overview.html",
        {
            "counter_rows": counter_rows,
            "setting_rows": setting_rows,
            "picker": picker,
            "picker_error": picker_error,
            "picked": picked,
        },
        status=status,
    )


@admin_page
@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    """Counters and the queue settings of the services they serve."""
    return _overview(request)


# --- Counters ------------------------------------------------------------------------------


def _staff_choices() -> list[User]:
    return list(
        User.objects.filter(is_active=True, role__in=STAFF_ROLES)
        .only("email", "full_name")
        .order_by("email")
    )


def _agency_services(agency_code: str) -> list[LocalService]:
    services = LocalService.objects.filter(agency_code=agency_code, retired=False).only(
        "key", "name_id", "name_en", "enabled"
    )
    return sorted(services, key=lambda s: tr(s, "name").casefold())


def _counter_page(
    request: HttpRequest, counter: Counter | None, *, status: int = 200
) -> HttpResponse:
    """The create/edit form; ``?instansi=`` switches the agency whose services are listed."""
    posted = request.method == "POST"
    if posted:
        agency_code = request.POST.get("agency_code", "").strip()
    else:
        agency_code = request.GET.get("instansi", "").strip() or (
            counter.agency_code if counter else ""
        )
    agency = LocalAgency.objects.filter(code=agency_code).first() if agency_code else None
    agency_warning = ""
    if agency_code and (agency is None or not agency.present):
        agency_warning = _("Instansi tidak ditemukan atau tidak hadir di mal ini.")
    services = _agency_services(agency_code) if agency_code else []
    form_kwargs: dict[str, Any] = {"services": services, "officers": _staff_choices()}
    if posted:
        form = CounterForm(request.POST, **form_kwargs)
        form.is_valid()
        try:
            saved = save_counter(counter, **form.action_kwargs(), acting_user=request.user)
        except ValidationError as exc:
            add_action_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("Loket %(name)s disimpan.") % {"name": saved.name})
            return redirect(reverse("queue_admin:overview") + "#loket")
    else:
        same_agency = counter is not None and counter.agency_code == agency_code
        initial: dict[str, Any] = {"agency_code": agency_code, "active": True}
        if counter is not None:
            initial |= {
                "name": counter.name,
                "prefix": counter.prefix,
                "officers": [str(pk) for pk in counter.officers.values_list("pk", flat=True)],
                "active": counter.active,
                "priority_lane": counter.priority_lane,
            }
        if same_agency:
            initial["service_keys"] = list(counter.service_keys)  # type: ignore[union-attr]
        form = CounterForm(initial=initial, **form_kwargs)
        if agency_warning:
            status = 400 if counter is None else status
    return render(
        request,
        TEMPLATES + "counter_form.html",
        {
            "counter": counter,
            "form": form,
            "agency": agency,
            "agency_code": agency_code,
            "agency_warning": agency_warning,
            "show_form": posted or (agency is not None),
            "agencies": LocalAgency.objects.filter(present=True).order_by("name"),
        },
        status=status,
    )


@admin_page
@require_http_methods(["GET", "POST"])
def counter_create(request: HttpRequest) -> HttpResponse:
    """A new counter: pick its agency, then its name, prefix, services and officers."""
    return _counter_page(request, None)


@admin_page
@require_http_methods(["GET", "POST"])
def counter_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a counter of this mall (another tenant's id is unknown here: 404)."""
    return _counter_page(request, get_object_or_404(Counter, pk=pk))


@admin_page
@require_POST
def counter_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate a counter (``aktif=0``) or bring it back (``aktif=1``); never deleted,
    since its tickets keep pointing at it."""
    counter = get_object_or_404(Counter.objects.prefetch_related("officers"), pk=pk)
    wanted = request.POST.get("aktif", "")
    if wanted not in {"0", "1"}:
        messages.error(request, _("Pilih aktif (1) atau nonaktif (0)."))
        return redirect(reverse("queue_admin:overview") + "#loket")
    try:
        save_counter(
            counter,
            name=counter.name,
            agency_code=counter.agency_code,
            prefix=counter.prefix,
            service_keys=counter.service_keys,
            officers=[user.pk for user in counter.officers.all()],
            active=wanted == "1",
            priority_lane=counter.priority_lane,
            acting_user=request.user,
        )
    except ValidationError as exc:
        messages.error(
            request,
            _("Loket %(name)s tidak bisa diubah: %(why)s")
            % {"name": counter.name, "why": " ".join(exc.messages)},
        )
    else:
        text = (
            _("Loket %(name)s aktif kembali.")
            if wanted == "1"
            else _("Loket %(name)s dinonaktifkan; tiketnya tetap tercatat.")
        )
        messages.success(request, text % {"name": counter.name})
    return redirect(reverse("queue_admin:overview") + "#loket")


# --- Queue settings ------------------------------------------------------------------------


@admin_page
@require_safe
def setting_pick(request: HttpRequest) -> HttpResponse:
    """``?layanan=KEY`` from the overview's picker → that service's setting page."""
    key = request.GET.get("layanan", "").strip()
    if key and LocalService.objects.filter(key=key, enabled=True, retired=False).exists():
        return redirect("queue_admin:setting", key=key)
    return _overview(
        request,
        picker_error=_("Pilih layanan dari daftar.")
        if not key
        else _("Layanan tidak ditemukan: %(key)s.") % {"key": key[:80]},
        picked=key,
        status=400,
    )


@admin_page
@require_http_methods(["GET", "POST"])
def setting_edit(request: HttpRequest, key: str) -> HttpResponse:
    """How one service is queued: slot length, capacity, daily quota, online booking."""
    service = get_object_or_404(
        LocalService.objects.only("key", "name_id", "name_en", "agency_code", "agency_name"),
        key=key,
        retired=False,
    )
    current = QueueSetting.objects.filter(service_key=key).first()
    status = 200
    if request.method == "POST":
        form = SettingForm(request.POST)
        form.is_valid()
        data = form.cleaned_data
        try:
            save_queue_setting(
                key,
                slot_minutes=data.get("slot_minutes", ""),
                slot_capacity=data.get("slot_capacity", ""),
                daily_quota=data.get("daily_quota", ""),
                online_booking=bool(data.get("online_booking")),
                acting_user=request.user,
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
            status = 400
        else:
            messages.success(
                request, _("Pengaturan antrean %(name)s disimpan.") % {"name": tr(service, "name")}
            )
            return redirect(reverse("queue_admin:overview") + "#pengaturan")
    else:
        shown = current or QueueSetting(service_key=key)
        form = SettingForm(
            initial={
                f: getattr(shown, f)
                for f in ("slot_minutes", "slot_capacity", "daily_quota", "online_booking")
            }
        )
    return render(
        request,
        TEMPLATES + "setting_form.html",
        {
            "service": service,
            "service_name": tr(service, "name"),
            "form": form,
            "saved": current is not None,
        },
        status=status,
    )


# --- Statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureLine:
    """A report row as the page shows it: counts, and times as minutes people read."""

    key: str
    label: str
    tickets: int
    no_shows: int
    times: list[str]


def _line(key: str, label: str, figures: Figures) -> FigureLine:
    times = [
        duration_text(getattr(figures, name))
        for name in ("wait_median_s", "wait_p90_s", "service_median_s", "service_p90_s")
    ]
    return FigureLine(key, label, figures.tickets, figures.no_shows, times)


def _lines(rows: list[Row]) -> list[FigureLine]:
    return [_line(row.key, row.label, row.figures) for row in rows]


def _day_lines(rows: list[Row]) -> list[FigureLine]:
    # "Sen, 5 Jan 2026" reads better than the ISO date the row is keyed by.
    return [
        _line(row.key, date_format(dt.date.fromisoformat(row.key), "D, j M Y"), row.figures)
        for row in rows
    ]


def _range(request: HttpRequest) -> tuple[RangeForm, Report | None]:
    """The range asked for (today by default) and its report; None with form errors."""
    today = local_today().isoformat()
    data = {
        "dari": request.GET.get("dari", "").strip() or today,
        "sampai": request.GET.get("sampai", "").strip() or today,
    }
    form = RangeForm(data)
    form.is_valid()
    try:
        first, last = parse_range(data["dari"], data["sampai"], today=local_today())
    except ValidationError as exc:
        add_action_errors(form, exc)
        return form, None
    return form, build_report(first, last)


@admin_page
@require_safe
def statistics(request: HttpRequest) -> HttpResponse:
    """Tickets, no-shows, waiting and service times for ``?dari=…&sampai=…`` (local dates)."""
    form, report = _range(request)
    context: dict[str, Any] = {"form": form, "report": report, "max_days": MAX_DAYS}
    if report is not None:
        context |= {
            "total": _line("", "", report.total),
            "sections": [
                (_("Per hari"), _("Tanggal"), _day_lines(report.days)),
                (_("Per layanan"), _("Layanan"), _lines(report.services)),
                (_("Per instansi"), _("Instansi"), _lines(report.agencies)),
                (_("Per loket"), _("Loket"), _lines(report.counters)),
            ],
            "query": request.GET.urlencode(),
        }
    return render(request, TEMPLATES + "statistics.html", context, status=200 if report else 400)


@admin_page
@require_safe
def statistics_csv(request: HttpRequest) -> HttpResponse:
    """The statistics page's figures as CSV (times in seconds)."""
    form, report = _range(request)
    if report is None:
        lines = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
        return HttpResponse(
            "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    slug = request.tenant.slug  # type: ignore[attr-defined]
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    response = HttpResponse("\ufeff" + report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="antrean-{slug}-{report.first:%Y%m%d}-{report.last:%Y%m%d}.csv"'
    )
    return response
