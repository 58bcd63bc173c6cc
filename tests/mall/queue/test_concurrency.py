"""The database keeps the queue's promises under concurrency: real threads, each on its own
connection, racing over committed data.

Rows written in the usual rolled-back test transaction would be invisible to other
connections, so these tests work in a tenant of their own ("antrian"), provisioned and
committed for this module and dropped after it, and do every write on a connection of its
own (``committed``); the test's own connection only reads. Tasks go to the dummy backend
meanwhile, so nothing queued by these commits is left in the shared task table.

PostgreSQL accepts a limited number of connections (100 by default, shared with anything
else running on the server), so the attempts run at most ``parallel`` at a time; each one
still opens, uses and closes its own connection.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test import override_settings
from django_tenants.utils import tenant_context

from mall.queue.actions import (
    book,
    call_next,
    ensure_slots,
    issue_walk_in,
    reschedule_booking,
    save_counter,
    save_queue_setting,
    skip,
)
from mall.queue.models import Booking, DayQuota, Slot, Ticket, TicketSequence
from tenants.models import Province, Tenant
from tenants.provisioning import TenantSpec, provision_tenant
from tests.mall.queue.conftest import EVERY_DAY, KK, KTP, WIB, at, nik, set_up_mall

pytestmark = pytest.mark.django_db  # the test database, and reads on the main connection

SLUG = "antrian"
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
EXTRA_COUNTERS = 6


@pytest.fixture(scope="module")
def antrian(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """A committed tenant open every day, KTP slots of 30 minutes for 10, eight counters."""
    with override_settings(TASKS=DUMMY_TASKS):
        with django_db_blocker.unblock():
            tenant = provision_tenant(
                TenantSpec(
                    province=Province.objects.get(code="21"),
                    name="Kota Antrian",
                    slug=SLUG,
                    kind="kota",
                    region_code="21.94",
                    admin_email=f"admin@{SLUG}.go.id",
                ),
                acting_user=None,
            )
            try:
                with tenant_context(tenant):
                    set_up_mall(tenant, hours=EVERY_DAY)
                    save_queue_setting(
                        KTP, slot_minutes=30, slot_capacity=10, daily_quota=5000, acting_user=None
                    )
                    save_queue_setting(KK, daily_quota=5000, acting_user=None)
                    for i in range(EXTRA_COUNTERS):
                        save_counter(
                            name=f"Loket {i + 3}",
                            agency_code="dukcapil",
                            prefix="DKP",
                            service_keys=[KTP, KK],
                            acting_user=None,
                        )
            except BaseException:
                Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)
                raise
            connection.set_schema_to_public()
        yield tenant
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


@pytest.fixture
def unblocked(antrian: Tenant) -> Iterator[Tenant]:
    """The committed tenant, current on the test's own (read-only) connection."""
    with tenant_context(antrian):
        yield antrian


def committed(tenant: Tenant, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a connection of its own (autocommit) and return what it returns."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            connection.set_tenant(tenant)
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in box:
        raise box["error"]
    return box["value"]


def free_connections() -> int:
    """How many more connections the server accepts now, less a margin for others."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        return cursor.fetchone()[0] - 10


def race(tenant: Tenant, attempts: int, work: Callable[[int], Any]) -> tuple[list[Any], int]:
    """Run ``work(i)`` for every i in its own thread and connection, all released at once;
    return what each returned (or raised) and how many ran at the same time at most."""
    parallel = max(2, min(attempts, free_connections()))
    gate = threading.BoundedSemaphore(parallel)
    go = threading.Event()
    results: list[Any] = [None] * attempts

    def runner(i: int) -> None:
        go.wait()
        with gate:
            try:
                connection.set_tenant(tenant)
                results[i] = work(i)
            except Exception as exc:  # reported to the test, which counts them
                results[i] = exc
            finally:
                connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, parallel


def test_200_concurrent_bookings_for_10_places(unblocked: Tenant) -> None:
    day = dt.datetime.now(WIB).date() + dt.timedelta(days=2)
    slots = committed(unblocked, lambda: ensure_slots(KTP, day))
    slot = next(s for s in slots if s.starts_at == at(day, 10))
    assert slot.capacity == 10 and slot.booked == 0

    def attempt(i: int) -> Booking:
        return book(KTP, slot.pk, name=f"Warga {i}", nik=nik(i + 1), phone="081234567890")

    results, parallel = race(unblocked, 200, attempt)
    ok = sum(isinstance(r, Booking) for r in results)
    full = sum(
        isinstance(r, ValidationError) and r.error_dict.get("slot", [None])[0].code == "full"
        for r in results
    )
    other = len(results) - ok - full
    print(
        f"\n200 attempts ({parallel} connections at once): {ok} booked, {full} full, {other} other"
    )
    assert [r for r in results if not isinstance(r, Booking | ValidationError)] == []
    assert (ok, full, other) == (10, 190, 0)
    messages = {r.messages[0] for r in results if isinstance(r, ValidationError)}
    assert messages == {"Slot ini sudah penuh. Pilih jam lain."}
    assert Slot.objects.get(pk=slot.pk).booked == 10
    assert Booking.objects.filter(slot=slot, status="booked").count() == 10
    assert DayQuota.objects.get(service_key=KTP, date=day).used == 10
    assert len({b.code for b in results if isinstance(b, Booking)}) == 10


def test_bookings_swapping_slots_at_once_never_deadlock(unblocked: Tenant) -> None:
    day = dt.datetime.now(WIB).date() + dt.timedelta(days=2)
    slots = committed(unblocked, lambda: ensure_slots(KTP, day))
    first, second = (next(s for s in slots if s.starts_at == at(day, h)) for h in (13, 14))

    def make() -> list[Booking]:
        return [
            book(KTP, slot.pk, name="Warga", nik=nik(1000 + i), phone="081234567890")
            for i, slot in enumerate([first, second] * 5)
        ]

    bookings = committed(unblocked, make)

    def move(i: int) -> Booking:
        booking = bookings[i]
        target = second if booking.slot_id == first.pk else first
        return reschedule_booking(booking.code, target.pk)

    results, parallel = race(unblocked, len(bookings), move)
    print(f"\n10 swaps ({parallel} at once): {sum(isinstance(r, Booking) for r in results)} moved")
    assert [r for r in results if not isinstance(r, Booking)] == []
    assert Slot.objects.get(pk=first.pk).booked == 5 == Slot.objects.get(pk=second.pk).booked
    moved = Booking.objects.filter(pk__in=[b.pk for b in bookings])
    assert {b.pk: b.slot_id for b in moved} == {
        b.pk: (second.pk if b.slot_id == first.pk else first.pk) for b in bookings
    }


def test_100_concurrent_walk_ins_are_numbered_1_to_100(unblocked: Tenant) -> None:
    day = dt.datetime.now(WIB).date() + dt.timedelta(days=3)
    noon = at(day, 12)

    def attempt(i: int) -> Ticket:
        return issue_walk_in(KK, now=noon)

    results, parallel = race(unblocked, 100, attempt)
    errors = [r for r in results if not isinstance(r, Ticket)]
    seqs = sorted(r.seq for r in results if isinstance(r, Ticket))
    print(
        f"\n100 walk-ins ({parallel} connections at once): numbers {seqs[0]}..{seqs[-1]}, "
        f"{len(set(seqs))} distinct, {len(errors)} errors"
    )
    assert errors == []
    assert seqs == list(range(1, 101))
    stored = sorted(Ticket.objects.filter(date=day, prefix="DKP").values_list("number", flat=True))
    assert stored == [f"DKP-{n:03d}" for n in range(1, 101)]
    assert TicketSequence.objects.get(prefix="DKP", date=day).last_number == 100


def test_counters_calling_at_once_never_share_a_ticket(unblocked: Tenant) -> None:
    from mall.queue.models import Counter

    day = dt.datetime.now(WIB).date() + dt.timedelta(days=4)

    def issue() -> None:
        for minute in range(60):
            issue_walk_in(KTP if minute % 2 else KK, now=at(day, 8, minute))

    committed(unblocked, issue)
    counters = list(Counter.objects.all())
    assert len(counters) == 2 + EXTRA_COUNTERS

    def work(i: int) -> list[int]:
        called = []
        now = at(day, 10)
        while (ticket := call_next(counters[i], acting_user=None, now=now)) is not None:
            called.append(ticket.pk)
            skip(ticket, acting_user=None, now=now)
        return called

    results, parallel = race(unblocked, len(counters), work)
    assert [r for r in results if not isinstance(r, list)] == []
    every_call = [pk for calls in results for pk in calls]
    tally = Tally(every_call)
    print(
        f"\n{len(counters)} counters ({parallel} at once) called {len(every_call)} tickets, "
        f"{len(tally)} distinct; per counter {[len(r) for r in results]}"
    )
    assert len(every_call) == len(tally) == 60
    assert set(Ticket.objects.filter(date=day).values_list("status", flat=True)) == {"no_show"}


def test_a_call_notifies_the_board_on_commit_only(unblocked: Tenant) -> None:
    day = dt.datetime.now(WIB).date() + dt.timedelta(days=5)
    committed(unblocked, lambda: [issue_walk_in(KTP, now=at(day, 8, m)) for m in (0, 1)])
    from mall.queue.models import Counter

    counter = Counter.objects.get(name="Loket 1")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute("LISTEN queue_board")

        def call_and_roll_back() -> None:
            with transaction.atomic():
                call_next(counter, acting_user=None, now=at(day, 9))
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            committed(unblocked, call_and_roll_back)
        assert list(listener.notifies(timeout=0.5)) == []
        ticket = committed(unblocked, lambda: call_next(counter, acting_user=None, now=at(day, 9)))
        assert ticket.number == "DKP-001"
        [note] = list(listener.notifies(timeout=5, stop_after=1))
        assert (note.channel, note.payload) == ("queue_board", unblocked.schema_name)
