"""The queue's figures in the province rollup, for a small scripted day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from mall.queue.actions import (
    book,
    call_next,
    check_in,
    ensure_slots,
    finish,
    issue_walk_in,
    skip,
    start_serving,
)
from stats import collectors
from stats.models import TenantMetric
from stats.rollup import refresh_tenant_stats
from tenants.models import Tenant
from tests.mall.queue.conftest import EVERY_DAY, KK, KTP, WIB, Mall, at, nik, set_up_mall


@pytest.fixture
def today_mall(tenant_a: Tenant) -> Iterator[Mall]:
    """Tenant A open every day, so "today" (which the collector reads) is a working day."""
    with tenant_context(tenant_a):
        yield set_up_mall(tenant_a, hours=EVERY_DAY)


def play_the_day(mall: Mall) -> dt.date:
    """Five tickets today (and one yesterday, which must not count)."""
    today = timezone.now().astimezone(WIB).date()
    c1, c2 = mall.counter, mall.priority_counter

    def t(hour: int, minute: int) -> dt.datetime:
        return at(today, hour, minute)

    issue_walk_in(KTP, now=at(today - dt.timedelta(days=1), 9))
    slot = next(s for s in ensure_slots(KTP, today, now=t(6, 0)) if s.starts_at == t(9, 0))
    booking = book(KTP, slot.pk, name="Warga", nik=nik(1), phone="081234567890", now=t(6, 0))
    issue_walk_in(KTP, now=t(8, 0))  # T1
    issue_walk_in(KK, now=t(8, 5))  # T2
    issue_walk_in(KTP, now=t(8, 10))  # T3
    t1 = call_next(c1, acting_user=None, now=t(8, 10))  # waited 10 min
    start_serving(t1, acting_user=None, now=t(8, 11))
    finish(t1, acting_user=None, now=t(8, 21))  # served 10 min
    t2 = call_next(c1, acting_user=None, now=t(8, 25))  # waited 20 min
    start_serving(t2, acting_user=None, now=t(8, 26))
    check_in(booking.code, now=t(8, 30))  # T4: early for its 09:00 slot
    t3 = call_next(c2, acting_user=None, now=t(8, 40))  # waited 30 min
    skip(t3, acting_user=None, now=t(8, 45))  # no-show
    finish(t2, acting_user=None, now=t(8, 56))  # served 30 min
    t4 = call_next(c2, acting_user=None, now=t(9, 10))  # waited 10 min from its slot's start
    start_serving(t4, acting_user=None, now=t(9, 10))
    finish(t4, acting_user=None, now=t(9, 25))  # served 15 min
    issue_walk_in(KTP, now=t(9, 30))  # T5, still waiting
    assert [t1.number, t2.number, t3.number, t4.number] == [
        "DKP-001",
        "DKP-002",
        "DKP-003",
        "DKP-004",
    ]
    return today


def test_the_collector_reports_a_scripted_day(today_mall: Mall) -> None:
    play_the_day(today_mall)
    metrics = {
        (m.name, m.dimension): m.value
        for m in collectors.collect_metrics()
        if m.name.startswith("queue.")
    }
    plain = {name: value for (name, dim), value in metrics.items() if not dim}
    # Waits 600, 1200, 1800, 600 s; service 600, 1800, 900 s (percentile_cont interpolates).
    assert plain == {
        "queue.tickets": 5,
        "queue.no_shows": 1,
        "queue.wait_median_s": 900,
        "queue.wait_p90_s": 1620,
        "queue.service_median_s": 900,
        "queue.service_p90_s": 1620,
    }
    assert metrics[("queue.tickets.by_service", KTP)] == 4
    assert metrics[("queue.tickets.by_service", KK)] == 1
    assert metrics[("queue.tickets.by_agency", "dukcapil")] == 5
    assert metrics[("queue.tickets.by_counter", "Loket 1")] == 2
    assert metrics[("queue.tickets.by_counter", "Loket 2")] == 2  # T5 was never called
    assert metrics[("queue.no_shows.by_counter", "Loket 2")] == 1
    assert metrics[("queue.no_shows.by_counter", "Loket 1")] == 0
    assert metrics[("queue.wait_median_s.by_counter", "Loket 1")] == 900
    assert metrics[("queue.wait_p90_s.by_counter", "Loket 1")] == 1140
    assert metrics[("queue.service_median_s.by_counter", "Loket 1")] == 1200
    assert metrics[("queue.service_p90_s.by_counter", "Loket 2")] == 900
    assert metrics[("queue.wait_median_s.by_service", KK)] == 1200


def test_the_figures_reach_the_rollup(today_mall: Mall, tenant_a: Tenant) -> None:
    play_the_day(today_mall)
    refresh_tenant_stats(tenant_a)
    rows = TenantMetric.objects.filter(tenant=tenant_a, name="queue.tickets")
    assert [(r.dimension, r.value) for r in rows] == [("", 5)]
    assert (
        TenantMetric.objects.filter(tenant=tenant_a, name="queue.tickets.by_counter").count() == 2
    )


def test_a_day_without_tickets_reports_nothing(today_mall: Mall) -> None:
    assert "queue" in collectors.registered()
    assert not [m for m in collectors.collect_metrics() if m.name.startswith("queue.")]
