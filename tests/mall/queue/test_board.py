"""The hall display board at /antrian/layar/: what it shows (and never shows), its cost, its
caching, its JSON, the per-process fan-out, and live Server-Sent Events over a real
LISTEN/NOTIFY round trip — tenant by tenant.

The live tests need committed rows (a NOTIFY is only delivered on commit), so they work in two
tenants of their own ("layar" and "layarb"), provisioned for this module and dropped after
it, with a threaded WSGI server in this process serving the real application on the test
database, and every write done on a connection of its own.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from mall.queue import board
from mall.queue.actions import (
    call_next,
    issue_walk_in,
    recall,
    save_counter,
    skip,
    start_serving,
    transfer,
)
from mall.queue.board import BoardHub, board_hub, board_state, event_stream
from mall.queue.models import Booking, Counter
from tenants.models import Province, Tenant
from tenants.provisioning import TenantSpec, provision_tenant
from tests.mall.queue.conftest import EVERY_DAY, KTP, set_up_mall
from tests.mall.queue.test_counter_console import (
    Hall,
    checked_in,
    early_today,
    set_up_hall,
    walk_in,
)

URL = "/antrian/layar/"
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(scope="module", autouse=True)
def _stop_board_listener() -> Iterator[None]:
    """The event stream starts this process's listener; hang it up before the test database
    is dropped (it would otherwise reconnect to it)."""
    yield
    board_hub.stop_listener()


@pytest.fixture
def hall(tenant_a: Tenant) -> Hall:
    return set_up_hall(tenant_a)


def anonymous(tenant: Tenant) -> Client:
    return Client(HTTP_HOST=f"{tenant.slug}.localhost")


def busy_hall(hall: Hall) -> dict[str, Any]:
    """Loket 1 calling a walk-in, Loket 2 serving a booked citizen, two more waiting."""
    booked = checked_in(hall.tenant, 7, name="Siti Rahayu")
    first = walk_in(hall.tenant)
    walk_in(hall.tenant)
    walk_in(hall.tenant, priority=True)
    with tenant_context(hall.tenant):
        # Loket 2 has the priority lane: it takes the priority walk-in.
        at_two = call_next(hall.other, acting_user=None)
        start_serving(at_two, acting_user=None)
        at_one = call_next(hall.counter, acting_user=None)
        booking = Booking.objects.get(pk=booked.booking_id)
    assert at_one.pk == first.pk
    return {"one": at_one, "two": at_two, "booking": booking}


# --- What the board shows ----------------------------------------------------------------------


def test_the_board_shows_numbers_and_counters_never_citizens(hall: Hall) -> None:
    calls = busy_hall(hall)
    response = anonymous(hall.tenant).get(URL)  # public: no sign-in
    assert response.status_code == 200
    body = response.content.decode()
    state = response.context["state"]
    by_name = {c["name"]: c for c in state["counters"]}
    assert by_name["Loket 1"]["number"] == calls["one"].number
    assert by_name["Loket 1"]["status"] == "called" and by_name["Loket 1"]["latest"]
    assert by_name["Loket 2"]["number"] == calls["two"].number
    assert by_name["Loket 2"]["status"] == "serving" and not by_name["Loket 2"]["latest"]
    assert [c["number"] for c in state["latest"]] == [calls["one"].number, calls["two"].number]
    assert state["waiting"] == 2  # a walk-in and the booking
    for text in ("Loket 1", "Loket 2", calls["one"].number, calls["two"].number, "Dipanggil",
                 "Dilayani", "Panggilan terakhir", 'id="board-waiting">2<'):  # fmt: skip
        assert text in body, text
    # Only numbers and counters: never the citizen's name, NIK or booking code.
    booking = calls["booking"]
    for secret in ("Siti Rahayu", booking.nik_masked, booking.code, booking.phone):
        assert secret not in body
        assert secret not in json.dumps(state)


def test_the_board_works_without_javascript_and_has_no_inline_script(hall: Hall) -> None:
    body = anonymous(hall.tenant).get(URL).content.decode()
    # Without JavaScript the page reloads itself; with it, <noscript> is inert.
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in body
    assert '<script src="/static/queue/board.js" defer></script>' in body
    assert body.count("<script") == 1  # no inline script (a CSP without 'unsafe-inline')
    assert 'data-events-url="/antrian/layar/events/"' in body
    assert 'data-status-url="/antrian/layar/status.json"' in body
    assert "Belum ada panggilan hari ini." in body


def test_the_board_is_never_cached(hall: Hall) -> None:
    client = anonymous(hall.tenant)
    walk_in(hall.tenant)
    for path in (URL, f"{URL}status.json"):
        response = client.get(path)
        assert "no-store" in response["Cache-Control"], path
        assert "public" not in response["Cache-Control"], path
        assert "X-Page-Cache" not in response, path
    before = client.get(URL).content.decode()
    with tenant_context(hall.tenant):
        ticket = call_next(hall.counter, acting_user=None)
    after = client.get(URL)
    assert ticket.number not in before and ticket.number in after.content.decode()
    assert "X-Page-Cache" not in after


def test_status_json_is_the_board_state(hall: Hall) -> None:
    calls = busy_hall(hall)
    response = anonymous(hall.tenant).get(f"{URL}status.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    with tenant_context(hall.tenant):
        assert data == json.loads(json.dumps(board_state()))
    assert data["latest_key"] == data["latest"][0]["key"]
    assert data["latest"][0]["number"] == calls["one"].number
    assert set(data["counters"][0]) == {"id", "name", "number", "status", "latest"}
    assert anonymous(hall.tenant).post(f"{URL}status.json").status_code == 405
    assert anonymous(hall.tenant).post(URL).status_code == 405


def test_the_board_costs_a_fixed_number_of_queries(
    hall: Hall, django_assert_max_num_queries: Any
) -> None:
    busy_hall(hall)
    with tenant_context(hall.tenant):
        Counter.objects.exists()  # django-tenants sets the search_path on the first query
        with django_assert_max_num_queries(4):
            board_state()
    client = anonymous(hall.tenant)
    # Routing (3: the test empties the routing cache), the mall's profile, the board (4).
    with django_assert_max_num_queries(8):
        client.get(URL)
    with tenant_context(hall.tenant):
        for i in range(3, 13):
            save_counter(
                name=f"Loket {i}", agency_code="dukcapil", prefix="DKP", service_keys=[KTP],
                acting_user=None,
            )  # fmt: skip
        for _ in range(30):
            issue_walk_in(KTP, now=early_today())
        for counter in Counter.objects.filter(name__in=["Loket 3", "Loket 4", "Loket 5"]):
            call_next(counter, acting_user=None)
    with tenant_context(hall.tenant):
        Counter.objects.exists()
        with django_assert_max_num_queries(4):
            state = board_state()
    assert len(state["counters"]) == 12 and len(state["latest"]) == board.LATEST_CALLS - 1
    with django_assert_max_num_queries(8):
        client.get(URL)


def test_the_latest_calls_follow_recalls_skips_and_transfers(hall: Hall) -> None:
    first = walk_in(hall.tenant)
    second = walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        call_next(hall.counter, acting_user=None)
        key_one = board_state()["latest_key"]
        recall(first, acting_user=None)
        state = board_state()
        assert state["latest_key"] != key_one  # a recall chimes again
        assert state["latest"][0]["number"] == first.number and len(state["latest"]) == 1
        skip(first, acting_user=None)
        state = board_state()
        assert state["counters"][0]["number"] is None  # Loket 1 is free
        assert state["latest"][0]["status"] == "no_show"  # still among the latest calls
        call_next(hall.counter, acting_user=None)
        transfer(second, hall.other, acting_user=None)
        state = board_state()
        # Waiting again, for Loket 2: off the board and out of the latest calls.
        assert [c["number"] for c in state["counters"]] == [None, None]
        assert [c["number"] for c in state["latest"]] == [first.number]
        assert state["waiting"] == 1
        # An inactive counter leaves the board.
        save_counter(
            hall.other, name="Loket 2", agency_code="dukcapil", prefix="DKP",
            service_keys=[KTP], active=False, acting_user=None,
        )  # fmt: skip
        assert [c["name"] for c in board_state()["counters"]] == ["Loket 1"]


def test_boards_are_tenant_isolated(hall: Hall, tenant_b: Tenant) -> None:
    calls = busy_hall(hall)
    with tenant_context(tenant_b):
        set_up_mall(tenant_b, hours=EVERY_DAY)
        save_counter(
            name="Loket Beta", agency_code="dukcapil", prefix="DKB", service_keys=[KTP],
            acting_user=None,
        )  # fmt: skip
    client = anonymous(tenant_b)
    body = client.get(URL).content.decode()
    data = client.get(f"{URL}status.json").json()
    assert "Loket Beta" in body
    for number in (calls["one"].number, calls["two"].number):
        assert number not in body and number not in json.dumps(data)
    assert data["latest"] == [] and data["waiting"] == 0
    assert all(c["number"] is None for c in data["counters"])
    # The apex serves no board at all.
    assert Client(HTTP_HOST="localhost").get(URL).status_code == 404


# --- The fan-out -------------------------------------------------------------------------------


def test_the_hub_wakes_only_the_schema_that_changed() -> None:
    hub = BoardHub()
    seen_a, seen_b = hub.version("alpha"), hub.version("beta")
    woke: dict[str, float] = {}

    def waiter(schema: str, seen: int) -> None:
        start = time.monotonic()
        if hub.wait(schema, seen, timeout=3.0) != seen:
            woke[schema] = time.monotonic() - start

    threads = [
        threading.Thread(target=waiter, args=("alpha", seen_a)),
        threading.Thread(target=waiter, args=("beta", seen_b)),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    hub.publish("alpha")
    threads[0].join(2)
    assert "alpha" in woke and woke["alpha"] < 1.0
    assert threads[1].is_alive()  # beta's stream sleeps on
    assert hub.version("beta") == seen_b
    # A schema nobody shows is not counted (nothing to wake); the listener's reconnect wakes
    # everyone, since notifications may have been lost meanwhile.
    hub.publish("gamma")
    assert "gamma" not in hub._versions
    hub.publish_all()
    threads[1].join(2)
    assert "beta" in woke
    assert hub.wait("alpha", hub.version("alpha"), timeout=0.05) == hub.version("alpha")


def test_the_listener_reconnects_and_then_every_board_rereads(db: None) -> None:
    assert board_hub.wait_until_listening(10)
    seen = board_hub.version("alpha")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = %s",
            [f"LISTEN {board.BOARD_CHANNEL}"],
        )
        assert cursor.rowcount == 1
    deadline = time.monotonic() + 10
    while board_hub.live and time.monotonic() < deadline:
        time.sleep(0.05)
    assert board_hub.wait_until_listening(10), "the listener did not come back"
    assert board_hub.wait("alpha", seen, timeout=2) != seen


def read_stream(chunks: Iterator[bytes], until: Callable[[str], bool]) -> list[str]:
    """Read SSE chunks (decoded) until one satisfies ``until`` or the stream ends."""
    got = []
    for chunk in chunks:
        text = chunk.decode()
        got.append(text)
        if until(text):
            break
    return got


def test_the_stream_sends_the_state_on_change_heartbeats_and_ends(
    hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, "STREAM_SECONDS", 1.5)
    monkeypatch.setattr(board, "HEARTBEAT_SECONDS", 0.3)
    ticket = walk_in(hall.tenant)
    # The browser says it takes gzip: a stream must still not be compressed (a gzip buffer
    # would hold the small events back).
    response = anonymous(hall.tenant).get(f"{URL}events/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert "Content-Encoding" not in response
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 2000\n\n"  # EventSource reconnects 2 s after the end
    first = next(chunks).decode()
    assert first.startswith("event: board\ndata: {") and first.endswith("}\n\n")
    state = json.loads(first.split("data: ", 1)[1])
    assert state["waiting"] == 1 and state["latest"] == []

    with tenant_context(hall.tenant):
        call_next(hall.counter, acting_user=None)
    board_hub.publish(hall.tenant.schema_name)  # what the listener does on the commit
    update = next(chunks).decode()
    state = json.loads(update.split("data: ", 1)[1])
    assert state["counters"][0]["number"] == ticket.number and state["waiting"] == 0

    started = time.monotonic()
    rest = list(chunks)  # the stream ends by itself
    assert time.monotonic() - started < 3
    assert rest and set(rest) == {b": heartbeat\n\n"}
    response.close()


def test_without_the_listener_the_stream_polls(hall: Hall, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board, "STREAM_SECONDS", 2.0)
    monkeypatch.setattr(board, "POLL_SECONDS", 0.1)
    hub = BoardHub()  # never started: not live
    ticket = walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        chunks = event_stream(hall.tenant, hub=hub)
        assert next(chunks) == "retry: 2000\n\n"
        assert '"latest":[]' in next(chunks)
        call_next(hall.counter, acting_user=None)  # and nobody publishes
        started = time.monotonic()
        update = next(chunks)
        assert ticket.number in update and time.monotonic() - started < 1
        chunks.close()


def test_a_stream_of_tenant_b_sleeps_through_tenant_a_calls(
    hall: Hall, tenant_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, "STREAM_SECONDS", 1.0)
    monkeypatch.setattr(board, "HEARTBEAT_SECONDS", 0.25)
    walk_in(hall.tenant)
    response = anonymous(tenant_b).get(f"{URL}events/")
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 2000\n\n"
    assert b'"latest":[]' in next(chunks)
    with tenant_context(hall.tenant):
        ticket = call_next(hall.counter, acting_user=None)
    board_hub.publish(hall.tenant.schema_name)
    rest = list(chunks)
    assert rest and set(rest) == {b": heartbeat\n\n"}
    assert not any(ticket.number.encode() in chunk for chunk in rest)


# --- Live: a committed call travels through PostgreSQL to the right stream only ------------------

LIVE_A, LIVE_B = "layar", "layarb"


@pytest.fixture(scope="module")
def live_tenants(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Tenant, Tenant]]:
    """Two committed tenants open every day with the usual two counters; A has a walk-in."""
    made: list[Tenant] = []
    with override_settings(TASKS=DUMMY_TASKS), django_db_blocker.unblock():
        try:
            for slug, region in ((LIVE_A, "21.86"), (LIVE_B, "21.87")):
                tenant = provision_tenant(
                    TenantSpec(
                        province=Province.objects.get(code="21"),
                        name=f"Kota {slug.title()}",
                        slug=slug,
                        kind="kota",
                        region_code=region,
                        admin_email=f"admin@{slug}.go.id",
                    ),
                    acting_user=None,
                )
                made.append(tenant)
                with tenant_context(tenant):
                    set_up_mall(tenant, hours=EVERY_DAY)
            with tenant_context(made[0]):
                issue_walk_in(KTP, now=early_today())
        except BaseException:
            _drop(made)
            raise
        connection.set_schema_to_public()
    yield made[0], made[1]
    with django_db_blocker.unblock():
        _drop(made)


def _drop(tenants: list[Tenant]) -> None:
    connection.set_schema_to_public()
    for tenant in tenants:
        Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


@pytest.fixture(scope="module")
def live_port(live_tenants: Any, django_db_blocker: Any) -> Iterator[int]:
    """The real WSGI application on a threaded server in this process (test database)."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    httpd.set_app(get_wsgi_application())
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    # Short heartbeats for as long as the server runs: a stream whose client hung up notices
    # at its next write, and lets its connection go.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(board, "HEARTBEAT_SECONDS", 0.5)
        patch.setattr(board, "STREAM_SECONDS", 20.0)
        thread.start()
        yield httpd.server_address[1]
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        board_hub.stop_listener()
        with django_db_blocker.unblock():
            _wait_for_other_sessions(20)


def _wait_for_other_sessions(timeout: float) -> None:
    """Streams still open end at their next heartbeat; wait for their connections to go."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query NOT LIKE 'LISTEN tenants_routing%%'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


@dataclass
class Item:
    """One thing read from a stream: an event, a comment, the retry field or the end."""

    kind: str  # "event" | "comment" | "retry" | "end"
    data: str
    at: float


class SSEClient:
    """A raw-socket EventSource: reads one stream in a thread, item by item, timestamped."""

    def __init__(self, port: int, host: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            f"GET {URL}events/ HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n".encode()
        )
        self.file = self.sock.makefile("rb")
        self.status = self.file.readline().decode()
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().strip()) != "":
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.items: queue.Queue[Item] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        data: list[str] = []
        try:
            for raw in iter(self.file.readline, b""):
                line = raw.decode().rstrip("\n")
                now = time.monotonic()
                if line.startswith(":"):
                    self.items.put(Item("comment", line[1:].strip(), now))
                elif line.startswith("retry:"):
                    self.items.put(Item("retry", line[6:].strip(), now))
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    self.items.put(Item("event", "\n".join(data), now))
                    data = []
        except OSError:
            pass
        self.items.put(Item("end", "", time.monotonic()))

    def next_event(self, timeout: float) -> Item:
        """The next event (skipping comments), or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if item.kind in ("event", "end"):
                return item

    def drain(self) -> list[Item]:
        got = []
        while not self.items.empty():
            got.append(self.items.get_nowait())
        return got

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def committed(tenant: Tenant, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in ``tenant`` on a connection of its own (autocommit): it commits."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            with override_settings(TASKS=DUMMY_TASKS):
                connection.set_tenant(tenant)
                box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.django_db
def test_a_committed_call_reaches_its_own_tenants_stream_only(
    live_tenants: tuple[Tenant, Tenant], live_port: int
) -> None:
    alpha, _beta = live_tenants
    assert (board.HEARTBEAT_SECONDS, board.STREAM_SECONDS) == (0.5, 20.0)  # see live_port
    stream_a = SSEClient(live_port, f"{LIVE_A}.localhost")
    stream_b = SSEClient(live_port, f"{LIVE_B}.localhost")
    try:
        for stream in (stream_a, stream_b):
            assert " 200 " in stream.status
            assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert "content-encoding" not in stream.headers  # asked for gzip: not given
            assert "no-store" in stream.headers["cache-control"]
        first_a = json.loads(stream_a.next_event(10).data)
        first_b = json.loads(stream_b.next_event(10).data)
        assert first_a["waiting"] == 1 and first_a["latest"] == []
        assert first_b["waiting"] == 0 and first_b["latest"] == []
        assert board_hub.wait_until_listening(10)
        stream_b.drain()

        started = time.monotonic()
        ticket = committed(
            alpha, lambda: call_next(Counter.objects.get(name="Loket 1"), acting_user=None)
        )
        event = stream_a.next_event(5)
        delay = event.at - started
        assert event.kind == "event", "tenant A's stream got nothing within 5 s"
        state = json.loads(event.data)
        loket_1 = next(c for c in state["counters"] if c["name"] == "Loket 1")
        assert (loket_1["number"], loket_1["status"]) == (ticket.number, "called")
        assert state["latest"][0]["number"] == ticket.number and state["waiting"] == 0
        print(f"\nSSE: call_next committed in {LIVE_A} reached its stream in {delay * 1000:.0f} ms")
        assert delay < 3

        # Tenant B's stream meanwhile: heartbeats, and nothing else.
        time.sleep(1.5)
        seen_by_b = stream_b.drain()
        assert seen_by_b, "tenant B's stream went silent (no heartbeat)"
        assert {item.kind for item in seen_by_b} == {"comment"}
        assert all(item.data == "heartbeat" for item in seen_by_b)
    finally:
        stream_a.close()
        stream_b.close()
