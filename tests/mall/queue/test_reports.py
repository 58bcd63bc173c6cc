"""Queue figures for a range of local dates (``mall.queue.reports``), checked by hand.

Two scripted days of tickets, made through the actions with ``now=``: every median and p90
below is worked out in the comments (PostgreSQL's ``percentile_cont`` interpolates: the p-th
value of n sorted values sits at position p·(n−1), counting from 0).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_tenants.utils import tenant_context

from mall.queue.actions import call_next, finish, issue_walk_in, skip, start_serving
from mall.queue.reports import (
    CSV_HEADER,
    MAX_DAYS,
    Figures,
    build_report,
    duration_text,
    parse_range,
    report_csv,
    report_json,
)
from mall.queue.stats import queue_metrics
from tenants.models import Tenant
from tests.mall.queue.conftest import KK, KTP, MONDAY, Mall, at, set_up_mall

TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)
KTP_NAME = "Penerbitan KTP-el Baru (Pemula)"
KK_NAME = "Penerbitan Kartu Keluarga Baru (Membentuk Keluarga Baru)"


def play_two_days(mall: Mall) -> None:
    """Monday: 3 tickets (one no-show); Tuesday: 3 (one never called); Saturday before: 1."""
    c1, c2 = mall.counter, mall.priority_counter  # "Loket 1", "Loket 2"
    issue_walk_in(KTP, now=at(MONDAY - dt.timedelta(days=2), 9))  # outside every range below

    def m(hour: int, minute: int) -> dt.datetime:
        return at(MONDAY, hour, minute)

    issue_walk_in(KTP, now=m(8, 0))  # M1
    issue_walk_in(KK, now=m(8, 5))  # M2
    issue_walk_in(KTP, now=m(8, 10))  # M3
    m1 = call_next(c1, acting_user=None, now=m(8, 10))  # waited 600 s
    start_serving(m1, acting_user=None, now=m(8, 11))
    finish(m1, acting_user=None, now=m(8, 21))  # served 600 s
    m2 = call_next(c1, acting_user=None, now=m(8, 25))  # waited 1200 s
    start_serving(m2, acting_user=None, now=m(8, 26))
    m3 = call_next(c2, acting_user=None, now=m(8, 40))  # waited 1800 s
    skip(m3, acting_user=None, now=m(8, 45))  # no-show
    finish(m2, acting_user=None, now=m(8, 56))  # served 1800 s
    assert (m1.service_key, m2.service_key, m3.service_key) == (KTP, KK, KTP)

    def t(hour: int, minute: int) -> dt.datetime:
        return at(TUESDAY, hour, minute)

    issue_walk_in(KTP, now=t(9, 0))  # T1
    issue_walk_in(KTP, now=t(9, 0))  # T2
    t1 = call_next(c2, acting_user=None, now=t(9, 5))  # waited 300 s
    start_serving(t1, acting_user=None, now=t(9, 5))
    finish(t1, acting_user=None, now=t(9, 20))  # served 900 s
    t2 = call_next(c1, acting_user=None, now=t(9, 30))  # waited 1800 s
    start_serving(t2, acting_user=None, now=t(9, 31))
    finish(t2, acting_user=None, now=t(9, 33))  # served 120 s
    issue_walk_in(KK, now=t(10, 0))  # T3, never called
    assert (t1.number, t2.number) == ("DKP-001", "DKP-002")


@pytest.fixture
def played(mall_a: Mall) -> Mall:
    play_two_days(mall_a)
    return mall_a


# Monday: waits 600, 1200, 1800 → median 1200, p90 at 1.8 → 1200 + .8·600 = 1680;
# service 600, 1800 → median 1200, p90 at .9 → 600 + .9·1200 = 1680.
MONDAY_FIGURES = Figures(3, 1, 1200, 1680, 1200, 1680)
# Tuesday: waits 300, 1800 → median 1050, p90 300 + .9·1500 = 1650;
# service 120, 900 → median 510, p90 120 + .9·780 = 822.
TUESDAY_FIGURES = Figures(3, 0, 1050, 1650, 510, 822)
# Both days: waits 300, 600, 1200, 1800, 1800 → median 1200, p90 at 3.6 → 1800;
# service 120, 600, 900, 1800 → median 750, p90 at 2.7 → 900 + .7·900 = 1530.
TWO_DAYS = Figures(6, 1, 1200, 1800, 750, 1530)


def test_one_day(played: Mall) -> None:
    report = build_report(MONDAY, MONDAY)
    assert report.total == MONDAY_FIGURES
    assert [(r.key, r.figures) for r in report.days] == [(MONDAY.isoformat(), MONDAY_FIGURES)]


def test_a_range_is_computed_over_every_ticket_not_averaged_per_day(played: Mall) -> None:
    report = build_report(MONDAY, WEDNESDAY)
    assert report.total == TWO_DAYS
    assert [(r.key, r.figures) for r in report.days] == [
        (MONDAY.isoformat(), MONDAY_FIGURES),
        (TUESDAY.isoformat(), TUESDAY_FIGURES),
        (WEDNESDAY.isoformat(), Figures()),  # a day without tickets is still listed
    ]


def test_the_splits(played: Mall) -> None:
    report = build_report(MONDAY, TUESDAY)
    services = {r.key: (r.label, r.figures) for r in report.services}
    # KTP: waits 300, 600, 1800, 1800 → median 1200, p90 at 2.7 → 1800;
    # service 120, 600, 900 → median 600, p90 at 1.8 → 600 + .8·300 = 840.
    assert services[KTP] == (KTP_NAME, Figures(4, 1, 1200, 1800, 600, 840))
    # KK: one wait of 1200 s and one service of 1800 s (Tuesday's KK ticket was never called).
    assert services[KK] == (KK_NAME, Figures(2, 0, 1200, 1200, 1800, 1800))
    assert [r.label for r in report.services] == [KK_NAME, KTP_NAME]  # by name
    assert [(r.key, r.label, r.figures) for r in report.agencies] == [
        ("dukcapil", "Dinas Kependudukan dan Pencatatan Sipil (Disdukcapil)", TWO_DAYS)
    ]
    counters = [(r.key, r.label, r.figures) for r in report.counters]
    assert counters == [
        # Loket 1: waits 600, 1200, 1800 → 1200 / 1680; service 120, 600, 1800 →
        # median 600, p90 at 1.8 → 600 + .8·1200 = 1560.
        ("Loket 1", "Loket 1", Figures(3, 0, 1200, 1680, 600, 1560)),
        # Loket 2: waits 1800, 300 → 1050 / 1650; one service of 900 s; one no-show.
        ("Loket 2", "Loket 2", Figures(2, 1, 1050, 1650, 900, 900)),
        ("", "Belum dipanggil loket", Figures(1, 0, None, None, None, None)),
    ]
    assert sum(r.figures.tickets for r in report.counters) == report.total.tickets


def test_the_range_agrees_with_the_rollup_collector(
    played: Mall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The province rollup's "today" figures are the report's figures of that day."""
    import django.utils.timezone

    monkeypatch.setattr(django.utils.timezone, "now", lambda: at(TUESDAY, 17))
    plain = {m.name: m.value for m in queue_metrics() if not m.dimension}
    figures = build_report(TUESDAY, TUESDAY).total
    assert plain == {f"queue.{k}": v for k, v in vars(figures).items() if v is not None}
    assert plain["queue.tickets"] == 3


def test_no_tickets(mall_a: Mall) -> None:
    report = build_report(MONDAY, MONDAY)
    assert report.total == Figures()
    assert report.services == report.agencies == report.counters == []
    assert duration_text(report.total.wait_median_s) == "–"


def test_the_report_reads_only_its_own_tenant(
    played: Mall, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_b):
        set_up_mall(tenant_b)
        assert build_report(MONDAY, TUESDAY).total == Figures()
        issue_walk_in(KTP, now=at(MONDAY, 9, zone=ZoneInfo(tenant_b.time_zone)))
        assert build_report(MONDAY, TUESDAY).total.tickets == 1
    with tenant_context(tenant_a):
        assert build_report(MONDAY, TUESDAY).total == TWO_DAYS


def test_the_query_count_does_not_grow_with_the_range(
    played: Mall, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(3):  # figures, service names, agency names
        build_report(MONDAY, MONDAY)
    with django_assert_num_queries(3):
        build_report(MONDAY - dt.timedelta(days=MAX_DAYS - 1), MONDAY)


# --- Ranges ---------------------------------------------------------------------------------

TODAY = dt.date(2026, 3, 10)


def test_an_empty_range_is_today() -> None:
    assert parse_range("", None, today=TODAY) == (TODAY, TODAY)
    assert parse_range("2026-03-01", "", today=TODAY) == (dt.date(2026, 3, 1), TODAY)
    assert parse_range(" 2026-03-01 ", "2026-03-01", today=TODAY) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 1),
    )


def test_the_longest_range() -> None:
    first = TODAY - dt.timedelta(days=MAX_DAYS - 1)
    assert parse_range(first.isoformat(), TODAY.isoformat(), today=TODAY) == (first, TODAY)


@pytest.mark.parametrize(
    ("first", "last", "field", "fragment"),
    [
        ("2026-02-30", "", "dari", "Tanggal tidak valid: 2026-02-30"),
        ("10-03-2026", "", "dari", "TTTT-BB-HH"),
        ("kemarin", "", "dari", "tidak valid"),
        ("20260301", "", "dari", "tidak valid"),
        ("", "2026-13-01", "sampai", "tidak valid"),
        ("2026-03-10", "2026-03-09", "sampai", "setelah tanggal awal"),
        ("2025-12-08", "2026-03-10", "sampai", "paling panjang 92 hari"),  # 93 days
    ],
)
def test_bad_ranges_are_refused(first: str, last: str, field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_range(first, last, today=TODAY)
    assert list(caught.value.message_dict) == [field]
    assert fragment in caught.value.message_dict[field][0]


def test_both_bad_dates_are_reported_under_the_callers_names() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_range("x", "y", today=TODAY, fields=("--from", "--to"))
    assert set(caught.value.message_dict) == {"--from", "--to"}


# --- Output ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0, "0,0 menit"),
        (90, "1,5 menit"),
        (1680, "28,0 menit"),
        (3599, "60,0 menit"),
        (3600, "1 jam 0 menit"),
        (3900, "1 jam 5 menit"),
    ],
)
def test_durations_read_as_minutes(seconds: int | None, text: str) -> None:
    with translation.override("id"):
        assert duration_text(seconds) == text


def test_the_csv(played: Mall) -> None:
    text = report_csv(build_report(MONDAY, TUESDAY))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    by_scope = {(row[0], row[1]): row[2:] for row in rows[1:]}
    span = f"{MONDAY.isoformat()}/{TUESDAY.isoformat()}"
    assert by_scope[("total", span)] == [span, "6", "1", "1200", "1800", "750", "1530"]
    assert by_scope[("hari", MONDAY.isoformat())][1:] == ["3", "1", "1200", "1680", "1200", "1680"]
    assert by_scope[("layanan", KTP)] == [KTP_NAME, "4", "1", "1200", "1800", "600", "840"]
    assert by_scope[("instansi", "dukcapil")][1] == "6"
    assert by_scope[("loket", "Loket 2")] == ["Loket 2", "2", "1", "1050", "1650", "900", "900"]
    assert by_scope[("loket", "")] == ["Belum dipanggil loket", "1", "0", "", "", "", ""]
    assert [row[0] for row in rows[1:]] == ["total", "hari", "hari"] + ["layanan"] * 2 + [
        "instansi"
    ] + ["loket"] * 3


def test_csv_cells_never_start_a_formula(mall_a: Mall) -> None:
    from mall.queue.actions import save_counter

    save_counter(
        mall_a.counter,
        name="=HYPERLINK(1)",
        agency_code="dukcapil",
        prefix="DKP",
        service_keys=[KTP],
        acting_user=None,
    )
    ticket = issue_walk_in(KTP, now=at(MONDAY, 8))
    call_next(mall_a.counter, acting_user=None, now=at(MONDAY, 8, 5))
    assert ticket.pk
    rows = list(csv.reader(io.StringIO(report_csv(build_report(MONDAY, MONDAY)))))
    assert ["loket", "'=HYPERLINK(1)", "'=HYPERLINK(1)"] == rows[-1][:3]


def test_the_json(played: Mall) -> None:
    data = report_json(build_report(MONDAY, TUESDAY))
    assert data["from"] == MONDAY.isoformat() and data["to"] == TUESDAY.isoformat()
    assert data["total"] == vars(TWO_DAYS)
    assert data["days"][1] == {"date": TUESDAY.isoformat()} | vars(TUESDAY_FIGURES)
    assert data["counters"][-1] == {"key": "", "name": "Belum dipanggil loket"} | vars(
        Figures(1, 0, None, None, None, None)
    )
