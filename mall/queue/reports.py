"""The queue's figures for any range of the tenant's local dates.

The statistics page, its CSV download and ``mpp queue stats`` read them from here. They are
computed by the same SQL as the province rollup's ``queue`` collector (``mall.queue.stats``),
in one query whatever the range: tickets, no-shows, waiting time (issue — or slot start for
an early check-in — to first call) and service time (start to finish), median and p90 over
the whole range (never a mean of daily medians), for the range, per day, and per service,
agency and counter (the counter that called the ticket last).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from catalog.local.models import LocalAgency, LocalService
from mall.queue.actions._common import local_date
from mall.queue.stats import FIGURES, figure_rows
from mall.templatetags.portal import tr

# Three months and a bit: a quarter of any length fits, and the query stays cheap.
MAX_DAYS = 92
DATE_FORMAT = "%Y-%m-%d"
# The range, each day, then each service, agency and counter over the whole range.
REPORT_SETS = "(), (day), (service_key), (agency_code), (counter_name)"
CSV_HEADER = (
    "cakupan",
    "kunci",
    "nama",
    "tiket",
    "tidak_hadir",
    "tunggu_median_detik",
    "tunggu_p90_detik",
    "layanan_median_detik",
    "layanan_p90_detik",
)
# A spreadsheet runs a cell starting with one of these as a formula: names are the admin's
# free text, so such cells are prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Figures:
    """Tickets, no-shows, and waiting and service time (median, p90) in whole seconds."""

    tickets: int = 0
    no_shows: int = 0
    wait_median_s: int | None = None
    wait_p90_s: int | None = None
    service_median_s: int | None = None
    service_p90_s: int | None = None


@dataclass(frozen=True)
class Row:
    """One line of a split: ``key`` is the date (ISO), service key, agency code or counter
    name (empty for tickets no counter called); ``label`` what people read."""

    key: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    """The figures of local dates ``first``–``last`` (both included)."""

    first: dt.date
    last: dt.date
    total: Figures
    days: list[Row]  # every day of the range, days without tickets included
    services: list[Row]
    agencies: list[Row]
    counters: list[Row]

    def sections(self) -> list[tuple[str, list[Row]]]:
        """(scope, rows) in the order the page and the CSV show them."""
        return [
            ("hari", self.days),
            ("layanan", self.services),
            ("instansi", self.agencies),
            ("loket", self.counters),
        ]


def local_today() -> dt.date:
    """The tenant's local date now."""
    return local_date(timezone.now())


def parse_range(
    first: str | None,
    last: str | None,
    *,
    today: dt.date,
    fields: tuple[str, str] = ("dari", "sampai"),
) -> tuple[dt.date, dt.date]:
    """Two ``YYYY-MM-DD`` texts → a date range; an empty one means ``today``.

    ValidationError, keyed by ``fields``, for a malformed date, an end before the start or
    a range longer than ``MAX_DAYS`` days.
    """
    errors: dict[str, list[str]] = {}
    parsed: list[dt.date | None] = []
    for field, text in zip(fields, (first, last), strict=True):
        value = str(text or "").strip()
        if not value:
            parsed.append(today)
            continue
        try:
            parsed.append(dt.datetime.strptime(value, DATE_FORMAT).date())
        except ValueError:
            errors[field] = [
                _("Tanggal tidak valid: %(value)s. Tulis TTTT-BB-HH, misalnya %(example)s.")
                % {"value": value[:20], "example": today.isoformat()}
            ]
            parsed.append(None)
    start, end = parsed
    if start is not None and end is not None:
        if end < start:
            errors[fields[1]] = [_("Tanggal akhir harus sama dengan atau setelah tanggal awal.")]
        elif (end - start).days + 1 > MAX_DAYS:
            errors[fields[1]] = [
                _("Rentang paling panjang %(n)d hari; pilih rentang yang lebih pendek.")
                % {"n": MAX_DAYS}
            ]
    if errors:
        raise ValidationError(errors)
    assert start is not None and end is not None
    return start, end


def _figures(values: Iterable[Any]) -> Figures:
    tickets, no_shows, *times = values
    return Figures(tickets, no_shows, *(None if t is None else round(t) for t in times))


def build_report(first: dt.date, last: dt.date) -> Report:
    """The figures of local dates ``first``–``last`` in three queries (figures and names)."""
    total = Figures()
    by_day: dict[dt.date, Figures] = {}
    split: dict[str, dict[str | None, Figures]] = {"service": {}, "agency": {}, "counter": {}}
    for (
        g_day,
        g_service,
        g_agency,
        g_counter,
        day,
        service,
        agency,
        counter,
        *values,
    ) in figure_rows(first, last, REPORT_SETS):
        figures = _figures(values)
        if g_day == 0:
            by_day[day] = figures
        elif g_service == 0:
            split["service"][service] = figures
        elif g_agency == 0:
            split["agency"][agency] = figures
        elif g_counter == 0:
            split["counter"][counter] = figures
        else:
            total = figures
    services = {
        s.key: tr(s, "name")
        for s in LocalService.objects.filter(key__in=list(split["service"])).only(
            "key", "name_id", "name_en"
        )
    }
    agencies = dict(
        LocalAgency.objects.filter(code__in=list(split["agency"])).values_list("code", "name")
    )

    def rows(kind: str, names: dict[str, str]) -> list[Row]:
        found = [Row(key, names.get(key, key), f) for key, f in split[kind].items() if key]
        return sorted(found, key=lambda row: (row.label.casefold(), row.key))

    counters = sorted(
        (Row(name, name, f) for name, f in split["counter"].items() if name is not None),
        key=lambda row: row.label.casefold(),
    )
    if None in split["counter"]:
        # Tickets still waiting (or waiting since a transfer nobody called): no counter yet.
        counters.append(Row("", _("Belum dipanggil loket"), split["counter"][None]))
    span = (last - first).days + 1
    days = [first + dt.timedelta(days=n) for n in range(span)]
    return Report(
        first=first,
        last=last,
        total=total,
        days=[Row(day.isoformat(), day.isoformat(), by_day.get(day, Figures())) for day in days],
        services=rows("service", services),
        agencies=rows("agency", agencies),
        counters=counters,
    )


def duration_text(seconds: int | None) -> str:
    """A duration as people read it: ``12,5 menit``, ``1 jam 5 menit``; ``–`` for none."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _("%(minutes)s menit") % {"minutes": number_format(round(seconds / 60, 1), 1)}
    hours, minutes = divmod(round(seconds / 60), 60)
    return _("%(hours)d jam %(minutes)d menit") % {"hours": hours, "minutes": minutes}


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def report_csv(report: Report) -> str:
    """The report as CSV: one line for the range, then one per day, service, agency, counter.

    Times are whole seconds (exact, and no decimal-separator ambiguity in spreadsheets).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    label = f"{report.first.isoformat()}/{report.last.isoformat()}"
    lines = [("total", Row(label, label, report.total))]
    lines += [(scope, row) for scope, rows in report.sections() for row in rows]
    for scope, row in lines:
        values = [getattr(row.figures, figure) for figure in FIGURES]
        writer.writerow([_cell(v) for v in (scope, row.key, row.label, *values)])
    return out.getvalue()


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain data (``mpp queue stats --json``): dates ISO, times in seconds."""

    def lines(rows: list[Row]) -> list[dict[str, Any]]:
        return [{"key": r.key, "name": r.label} | asdict(r.figures) for r in rows]

    return {
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "total": asdict(report.total),
        "days": [{"date": r.key} | asdict(r.figures) for r in report.days],
        "services": lines(report.services),
        "agencies": lines(report.agencies),
        "counters": lines(report.counters),
    }
