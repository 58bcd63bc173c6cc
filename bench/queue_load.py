"""Queue: booking throughput under concurrency, and the counter's call-next latency.

    .venv/bin/python bench/queue_load.py [--rounds 5] [--threads 16] [--counters 8] [--processes 2]

One tenant (the shipped catalogue, open 08:00–20:30 every day), its KTP service in 50 slots
of 15 minutes with ``--capacity`` places each (16: 800 places), eight Dukcapil counters.
The database task backend is on, as in production, so each booking also queues its
confirmation and reminders on commit, and each call its statistics refresh.

(a) Booking: 1,000 attempts — distinct NIKs, 20 per slot, so 800 are booked and 200 told
    "full" — through ``book``: from one thread; from ``--threads`` threads in this process;
    and from the same number of threads spread over ``--processes`` forked processes (the
    shape of ``mpp web``: WEB_CONCURRENCY processes of WEB_THREADS threads). Every thread
    has its own database connection, opened before the clock starts. Attempts/s over the
    wall time, median and p90 latency of one attempt; fresh days every run.
(b) Calling: 500 waiting walk-in tickets (``issue_walk_in``, untimed), drained by cycles of
    ``call_next`` → ``start_serving`` → ``finish`` at one counter; at ``--counters`` counters
    at once (a thread and a connection each) in this process; and at as many spread over
    ``--processes`` processes. Median and p90 of ``call_next`` alone and of the whole
    cycle, and cycles/s; fresh tickets every run.

The ways take turns going first in each round. Prints per-round rates on stderr, then the
medians over rounds with the ratios; also the SQL statements one booking and one counter
cycle cost, and "py CPU": this bench's CPU time per operation (all its threads and
processes) — the Python share of the work, which threads of one process cannot run in
parallel (one interpreter lock), while PostgreSQL's share runs on the same cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from _common import bench_database, median, progress, seed_catalogue

# Bookings queue their confirmation and reminders in the database on commit, as in production.
os.environ.setdefault("TASKS_BACKEND", "database")

KTP = "dukcapil-ktp-el-baru"
KK = "dukcapil-kk-baru"
ZONE = ZoneInfo("Asia/Jakarta")  # the tenant's (Kepri: WIB)
HOURS = [["08:00", "20:30"]] * 7  # 50 slots of 15 minutes a day, every day
SLOT_MINUTES = 15
SLOTS = 50
ATTEMPTS = 1000
TICKETS = 500


def nik(serial: int) -> str:
    """A valid NIK: Batam (21.71.01), born 15-03-1990, serial ``serial``."""
    return f"217101150390{serial:04d}"


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=ZONE)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


@dataclass
class Run:
    """One timed run: wall seconds, per-operation latencies and outcome counts."""

    wall: float = 0.0
    cpu: float = 0.0  # this process's CPU time (all threads) over the run
    latencies: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def in_threads(tenant: Any, jobs: list[Callable[[Run], None]], gate: Any = None) -> Run:
    """Run each job in its own thread on its own connection, all started together once
    every connection is open (and, given ``gate``, once every process passed it); the wall
    time is from the start to the last one done."""
    from django.db import connection

    from mall.queue.models import Slot

    run, lock = Run(), threading.Lock()
    ready, go = threading.Barrier(len(jobs) + 1), threading.Event()
    errors: list[BaseException] = []

    def thread(job: Callable[[Run], None]) -> None:
        mine = Run()
        try:
            connection.set_tenant(tenant)
            Slot.objects.exists()  # connect and set the search path before the clock starts
            ready.wait()
            go.wait()
            job(mine)
        except BaseException as exc:
            errors.append(exc)
            ready.abort()
        finally:
            connection.close()
            with lock:
                run.latencies += mine.latencies
                run.calls += mine.calls
                for outcome, n in mine.outcomes.items():
                    run.outcomes[outcome] = run.outcomes.get(outcome, 0) + n

    threads = [threading.Thread(target=thread, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    try:
        ready.wait()
        if gate is not None:
            gate.wait()
    except threading.BrokenBarrierError:
        pass  # a thread failed before the start; its error is raised below
    began, cpu = time.perf_counter(), time.process_time()
    go.set()
    for t in threads:
        t.join()
    run.wall, run.cpu = time.perf_counter() - began, time.process_time() - cpu
    if errors:
        raise errors[0]
    return run


def in_processes(tenant: Any, jobs: list[Callable[[Run], None]], processes: int) -> Run:
    """``in_threads`` split over ``processes`` forked processes (as gunicorn's workers), all
    started together; the CPU time is the processes' sum."""
    from django.db import connections

    context = multiprocessing.get_context("fork")
    gate, results = context.Barrier(processes + 1), context.Queue()

    def child(mine: list[Callable[[Run], None]]) -> None:
        try:
            results.put(in_threads(tenant, mine, gate))
        except BaseException as exc:
            gate.abort()
            results.put(f"{type(exc).__name__}: {exc}")

    connections.close_all()  # never share a connection with a child
    children = [context.Process(target=child, args=(jobs[p::processes],)) for p in range(processes)]
    for process in children:
        process.start()
    try:
        gate.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass  # a child failed before the start; its error is raised below
    began = time.perf_counter()
    parts = [results.get(timeout=600) for _ in children]
    wall = time.perf_counter() - began
    for process in children:
        process.join()
    failed = [part for part in parts if isinstance(part, str)]
    if failed:
        raise RuntimeError(failed[0])
    run = Run(wall=wall, cpu=sum(part.cpu for part in parts))
    for part in parts:
        run.latencies += part.latencies
        run.calls += part.calls
        for outcome, n in part.outcomes.items():
            run.outcomes[outcome] = run.outcomes.get(outcome, 0) + n
    return run


def book_storm(tenant: Any, day: dt.date, processes: int, threads: int) -> Run:
    """ATTEMPTS bookings of distinct NIKs over the day's SLOTS slots, from ``threads``
    threads in each of ``processes`` processes (1: this one)."""
    from django.core.exceptions import ValidationError

    from mall.queue.actions import book, ensure_slots

    slots = [s.pk for s in ensure_slots(KTP, day)]
    assert len(slots) == SLOTS, len(slots)
    workers = processes * threads

    def job(first: int) -> Callable[[Run], None]:
        def work(run: Run) -> None:
            for i in range(first, ATTEMPTS, workers):
                began = time.perf_counter()
                try:
                    book(
                        KTP, slots[i % SLOTS], name=f"Warga {i}", nik=nik(i + 1), phone="0812345678"
                    )
                    outcome = "booked"
                except ValidationError as exc:
                    outcome = exc.error_dict["slot"][0].code  # "full"; anything else fails below
                run.latencies.append(time.perf_counter() - began)
                run.count(outcome)

        return work

    jobs = [job(w) for w in range(workers)]
    if processes == 1:
        return in_threads(tenant, jobs)
    return in_processes(tenant, jobs, processes)


def call_storm(tenant: Any, day: dt.date, counters: list[Any], processes: int) -> Run:
    """TICKETS walk-ins issued (untimed), then drained by ``counters`` at once, a thread
    each, spread over ``processes`` processes (1: this one)."""
    from mall.queue.actions import call_next, finish, issue_walk_in, start_serving

    for i in range(TICKETS):
        issue_walk_in(KTP if i % 2 else KK, now=at(day, 8, 0, 0) + dt.timedelta(seconds=i))
    now = at(day, 10)

    def job(counter: Any) -> Callable[[Run], None]:
        def work(run: Run) -> None:
            while True:
                began = time.perf_counter()
                ticket = call_next(counter, acting_user=None, now=now)
                called = time.perf_counter()
                if ticket is None:
                    return
                start_serving(ticket, acting_user=None, now=now)
                finish(ticket, acting_user=None, now=now)
                run.calls.append(called - began)
                run.latencies.append(time.perf_counter() - began)
                run.count("served")

        return work

    jobs = [job(c) for c in counters]
    if processes == 1:
        return in_threads(tenant, jobs)
    return in_processes(tenant, jobs, processes)


@contextmanager
def sampling_waits(tally: Counter[str] | None) -> Iterator[None]:
    """Meanwhile, count what the bench database's busy sessions wait on, from
    pg_stat_activity every 10 ms (``tally`` None: nothing is sampled)."""
    if tally is None:
        yield
        return
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(**params, autocommit=True) as conn:
            while not stop.is_set():
                for wait, query in conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), query "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                ):
                    # A lock wait is named by the statement waiting, e.g. "UPDATE queue_dayquota".
                    on = " ".join(query.split()[:3]).replace(" SET", "").replace(" INTO", "")
                    tally[f"{wait} ({on})" if wait.startswith("Lock") else wait] += 1
                stop.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


def queries_per_operation(day: dt.date, desk: Any) -> dict[str, int]:
    """SQL statements for one booking and one counter cycle, including the tasks queued on
    commit (and how many tasks); on a day of their own, outside the timed runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult

    from mall.queue.actions import (
        book,
        call_next,
        ensure_slots,
        finish,
        issue_walk_in,
        start_serving,
    )

    slot = ensure_slots(KTP, day)[0]
    issue_walk_in(KK, now=at(day, 8))
    counted = {}
    tasks = DBTaskResult.objects.count()
    with CaptureQueriesContext(connection) as captured:
        book(KTP, slot.pk, name="Warga", nik=nik(1), phone="0812345678")
    counted["book"] = len(captured)
    counted["book: tasks queued"] = DBTaskResult.objects.count() - tasks
    with CaptureQueriesContext(connection) as captured:
        ticket = call_next(desk, acting_user=None, now=at(day, 9))
    counted["call_next"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        start_serving(ticket, acting_user=None, now=at(day, 9))
        finish(ticket, acting_user=None, now=at(day, 9))
    counted["start_serving + finish"] = len(captured)
    return counted


def set_up(capacity: int, counters: int) -> tuple[Any, list[Any]]:
    """The tenant, its mall hours, queue settings and counters."""
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from mall.actions import update_mall_profile
    from mall.queue.actions import save_counter, save_queue_setting
    from tenants.actions import create_province
    from tenants.provisioning import TenantSpec, provision_tenant

    settings.TENANT_SPARE_SCHEMAS = 0
    seed_catalogue()
    province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
    tenant = provision_tenant(
        TenantSpec(
            province=province, name="Kota Antrian", slug="antrian", kind="kota",
            region_code="21.94", admin_email="admin@antrian.go.id",
        ),
        acting_user=None,
    )  # fmt: skip
    with tenant_context(tenant):
        update_mall_profile({"opening_hours": HOURS}, acting_user=None)
        save_queue_setting(
            KTP,
            slot_minutes=SLOT_MINUTES,
            slot_capacity=capacity,
            daily_quota=100_000,
            acting_user=None,
        )
        save_queue_setting(KK, daily_quota=100_000, acting_user=None)
        desks = [
            save_counter(
                name=f"Loket {n + 1}",
                agency_code="dukcapil",
                prefix="DKP",
                service_keys=[KTP, KK],
                acting_user=None,
            )
            for n in range(counters)
        ]
    return tenant, desks


def table(
    title: str, runs: dict[str, list[Run]], ops: int, columns: dict[str, Callable[[Run], float]]
) -> dict[str, float]:
    """Print one line per way: ops/s and each column, medians over the rounds; return ops/s."""
    print(f"{title:<34}" + "".join(f"{name:>11}" for name in ["per s", *columns]))
    rates = {}
    for way, done in runs.items():
        rates[way] = median([ops / run.wall for run in done])
        cells = [median([column(run) for run in done]) for column in columns.values()]
        print(f"{way:<34}{rates[way]:>11.1f}" + "".join(f"{cell:>11.1f}" for cell in cells))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=16, help="booking threads (connections)")
    parser.add_argument("--counters", type=int, default=8, help="counters calling at once")
    parser.add_argument(
        "--processes", type=int, default=2, help="processes sharing the threads (WEB_CONCURRENCY)"
    )
    parser.add_argument("--capacity", type=int, default=16, help="places per slot")
    parser.add_argument(
        "--waits", action="store_true", help="also sample what the sessions wait on (slower)"
    )
    args = parser.parse_args()
    if not 1 <= args.rounds <= 14:
        parser.error("--rounds: 1 to 14 (two fresh booking days per round, 30-day horizon)")
    if args.processes < 2 or args.threads % args.processes or args.counters % args.processes:
        parser.error("--processes: 2 or more, dividing --threads and --counters")

    p, t, c = args.processes, args.threads, args.counters
    # way -> (processes, threads or counters in all)
    booking_ways = {
        "1 thread": (1, 1),
        f"{t} threads, 1 process": (1, t),
        f"{t} threads, {p} processes x {t // p}": (p, t),
    }
    calling_ways = {
        "1 counter": (1, 1),
        f"{c} counters, 1 process": (1, c),
        f"{c} counters, {p} processes x {c // p}": (p, c),
    }
    bookings: dict[str, list[Run]] = {way: [] for way in booking_ways}
    calls: dict[str, list[Run]] = {way: [] for way in calling_ways}
    every_way = [*booking_ways, *calling_ways]
    waits: dict[str, Counter[str]] = {way: Counter() for way in every_way} if args.waits else {}
    with bench_database("_queue"):
        from django_tenants.utils import tenant_context

        tenant, desks = set_up(args.capacity, args.counters)
        today = dt.datetime.now(ZONE).date()
        # Fresh days for every run: booking days within the 30-day horizon, walk-in days after.
        booking_day = iter(today + dt.timedelta(days=n) for n in range(1, 31))
        ticket_day = iter(today + dt.timedelta(days=n) for n in range(31, 1000))
        with tenant_context(tenant):
            counted = queries_per_operation(today + dt.timedelta(days=30), desks[0])
        expected = min(args.capacity, ATTEMPTS // SLOTS) * SLOTS
        for r in range(args.rounds):
            # The ways take turns going first, so drift on a shared machine hits them alike.
            for way in rotated(list(booking_ways), r):
                processes, threads = booking_ways[way]
                with tenant_context(tenant), sampling_waits(waits.get(way)):
                    run = book_storm(tenant, next(booking_day), processes, threads // processes)
                assert run.outcomes.get("booked") == expected, run.outcomes
                assert run.outcomes.get("booked", 0) + run.outcomes.get("full", 0) == ATTEMPTS
                bookings[way].append(run)
            for way in rotated(list(calling_ways), r):
                processes, counters = calling_ways[way]
                with tenant_context(tenant), sampling_waits(waits.get(way)):
                    run = call_storm(tenant, next(ticket_day), desks[:counters], processes)
                assert run.outcomes.get("served") == TICKETS, run.outcomes
                calls[way].append(run)
            progress(r + 1, args.rounds, "measuring")
            for way, runs in (*bookings.items(), *calls.items()):
                last = runs[-1]
                sys.stderr.write(
                    f"  round {r + 1}: {way:<34}{len(last.latencies) / last.wall:8.1f}/s\n"
                )

    ms = 1000.0
    print("SQL statements: " + ", ".join(f"{k} {v}" for k, v in counted.items()))
    print()
    print(
        f"(a) booking: {ATTEMPTS} attempts over {SLOTS} slots x {args.capacity} places "
        f"({expected} booked, {ATTEMPTS - expected} full every run); {args.rounds} rounds, medians"
    )
    rates = table(
        "way",
        bookings,
        ATTEMPTS,
        {
            "median ms": lambda run: median(run.latencies) * ms,
            "p90 ms": lambda run: p90(run.latencies) * ms,
            "py CPU ms": lambda run: run.cpu / ATTEMPTS * ms,
        },
    )
    for way in list(bookings)[1:]:
        print(
            f"throughput {way} / 1 thread: {rates[way] / rates['1 thread']:.2f}x; "
            + paired(bookings[way], bookings["1 thread"], lambda run: 1 / run.wall)
        )
    print()
    print(
        f"(b) calling: {TICKETS} waiting walk-ins drained by call_next + start_serving + finish; "
        f"{args.rounds} rounds, medians"
    )
    rates = table(
        "way (per s: cycles)",
        calls,
        TICKETS,
        {
            "call ms": lambda run: median(run.calls) * ms,
            "call p90": lambda run: p90(run.calls) * ms,
            "cycle ms": lambda run: median(run.latencies) * ms,
            "cycle p90": lambda run: p90(run.latencies) * ms,
            "py CPU ms": lambda run: run.cpu / TICKETS * ms,
        },
    )
    single_call = median([median(run.calls) for run in calls["1 counter"]])
    for way in list(calls)[1:]:
        call = median([median(run.calls) for run in calls[way]])
        print(
            f"{way} / 1 counter: throughput {rates[way] / rates['1 counter']:.2f}x; "
            + paired(calls[way], calls["1 counter"], lambda run: 1 / run.wall)
        )
        print(
            f"{'':<4}median call latency {call / single_call:.2f}x; "
            + paired(calls[way], calls["1 counter"], lambda run: median(run.calls))
        )
    if waits:
        print()
        print("what busy database sessions waited on (share of samples, top 4):")
        for way, tally in waits.items():
            total = sum(tally.values()) or 1
            top = ", ".join(f"{name} {n / total:.0%}" for name, n in tally.most_common(4))
            print(f"  {way}: {top}")


def paired(runs: list[Run], baseline: list[Run], measure: Callable[[Run], float]) -> str:
    """The ratio within each round (the two ran minutes apart, under the same load), and
    their median: steadier than the ratio of medians on a shared machine."""
    ratios = [measure(a) / measure(b) for a, b in zip(runs, baseline, strict=True)]
    return f"per round {' '.join(f'{r:.2f}' for r in ratios)}, median {median(ratios):.2f}x"


def rotated(items: list[str], by: int) -> list[str]:
    by %= len(items)
    return items[by:] + items[:by]


if __name__ == "__main__":
    main()
