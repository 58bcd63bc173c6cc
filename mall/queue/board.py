"""The hall display board: its state, and live updates fed by PostgreSQL LISTEN/NOTIFY.

Every call, recall, skip, start, finish and transfer runs ``pg_notify('queue_board',
<schema>)`` in its transaction (``mall.queue.actions._common.notify_board``), so the
notification arrives only once the change is committed, whichever process or program made
it. Each web process holds ONE listener thread with a ``LISTEN`` connection (the pattern of
``tenants.routing``), reconnecting with backoff. It fans notifications out to the
Server-Sent Events streams waiting in that process through a version counter and a
``threading.Condition`` per schema: a stream sleeps on its own tenant's condition, so a call
in tenant A wakes A's streams only, never B's.

While the listener is not connected (start-up, a database restart) streams fall back to
re-reading the board every few seconds; when it (re)connects every stream re-reads once,
so a notification lost meanwhile never leaves a board stale.

The board shows ticket numbers and counter names only: never a citizen's name or NIK.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.utils import timezone

from mall.queue.actions._common import BOARD_CHANNEL, local_date, tenant_zone
from mall.queue.models import Counter, Ticket
from mpp.db.listen import Listener, ProcessListener
from tenants.routing import activate_schema

logger = logging.getLogger(__name__)

# How many recent calls the board lists (the newest is highlighted).
LATEST_CALLS = 6
# An SSE response ends after this long (the browser's EventSource reconnects at once, after
# ``RETRY_MS``), so no worker thread is held by a TV forever and every connection is
# re-routed now and then (a suspended or archived tenant is noticed).
STREAM_SECONDS = 55.0
# A comment line this often keeps proxies and the browser from timing an idle stream out.
HEARTBEAT_SECONDS = 15.0
# While the listener is down, a stream re-reads the board this often instead.
POLL_SECONDS = 5.0
RETRY_MS = 2000

S = Ticket.Status
ON_BOARD = (S.CALLED, S.SERVING)
WAITING = (S.WAITING, S.TRANSFERRED)
# A call stays in "latest calls" after it was served or skipped, not after a transfer (the
# ticket then waits for another counter, and its counter is no longer the one that called).
CALL_HISTORY = (S.CALLED, S.SERVING, S.DONE, S.NO_SHOW)


# --- The board's state ------------------------------------------------------------------


def call_key(ticket_id: int, called_at: dt.datetime) -> str:
    """Identifies one call (a recall is a new call): what makes the board chime."""
    return f"{ticket_id}@{int(called_at.timestamp() * 1000)}"


def board_state(now: dt.datetime | None = None) -> dict[str, Any]:
    """Today's board of the current tenant: each active counter's called or served ticket,
    the latest calls and how many tickets wait. Four queries, whatever the day's size."""
    now = now or timezone.now()
    today = local_date(now)
    zone = tenant_zone()
    counters = list(Counter.objects.filter(active=True).order_by("name").values("id", "name"))
    current: dict[int, dict[str, Any]] = {}
    for row in (
        Ticket.objects.filter(date=today, status__in=ON_BOARD, counter__isnull=False)
        .order_by("called_at")
        .values("id", "number", "status", "counter_id", "called_at")
    ):
        current[row["counter_id"]] = row
    latest = [
        {
            "number": row["number"],
            "counter": row["counter__name"],
            "status": row["status"],
            "time": row["called_at"].astimezone(zone).strftime("%H:%M"),
            "key": call_key(row["id"], row["called_at"]),
        }
        for row in Ticket.objects.filter(
            date=today, status__in=CALL_HISTORY, called_at__isnull=False, counter__isnull=False
        )
        .order_by("-called_at", "-id")
        .values("id", "number", "status", "counter__name", "called_at")[:LATEST_CALLS]
    ]
    waiting = Ticket.objects.filter(date=today, status__in=WAITING).count()
    latest_key = latest[0]["key"] if latest else ""
    return {
        "date": today.isoformat(),
        "counters": [
            {
                "id": c["id"],
                "name": c["name"],
                "number": current[c["id"]]["number"] if c["id"] in current else None,
                "status": current[c["id"]]["status"] if c["id"] in current else None,
                "latest": bool(
                    c["id"] in current
                    and call_key(current[c["id"]]["id"], current[c["id"]]["called_at"])
                    == latest_key
                ),
            }
            for c in counters
        ],
        "latest": latest,
        "latest_key": latest_key,
        "waiting": waiting,
    }


def state_json(state: dict[str, Any]) -> str:
    """The state as compact JSON (one SSE ``data:`` line: JSON never holds a raw newline)."""
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False)


# --- The per-process fan-out --------------------------------------------------------------


class BoardHub:
    """Versions per schema, bumped by the listener; streams wait for their own schema's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One condition per schema with streams, all on the one lock: notify_all on A's
        # condition wakes only the streams of A.
        self._conditions: dict[str, threading.Condition] = {}
        self._versions: dict[str, int] = {}
        # Bumped on every (re)connect of the listener: every schema's streams re-read once.
        self._epoch = 0
        self._listener = ProcessListener(self._new_listener, self._lock)

    def _new_listener(self) -> Listener:
        return Listener(
            BOARD_CHANNEL,
            name="queue-board-listener",
            on_notify=self.publish,
            # Whatever changed while nobody listened: every board re-reads.
            on_connect=self.publish_all,
        )

    def _condition(self, schema: str) -> threading.Condition:
        # Called with the lock held.
        cond = self._conditions.get(schema)
        if cond is None:
            cond = self._conditions[schema] = threading.Condition(self._lock)
        return cond

    def _current(self, schema: str) -> int:
        return self._epoch + self._versions.get(schema, 0)

    def version(self, schema: str) -> int:
        """``schema``'s version now; registers it so that its notifications are counted."""
        with self._lock:
            self._condition(schema)
            return self._current(schema)

    def wait(self, schema: str, seen: int, timeout: float) -> int:
        """Sleep until ``schema``'s version differs from ``seen`` or ``timeout`` passes;
        return the version then (``seen`` on a timeout)."""
        with self._lock:
            cond = self._condition(schema)
            cond.wait_for(lambda: self._current(schema) != seen, timeout=max(0.0, timeout))
            return self._current(schema)

    def publish(self, schema: str) -> None:
        """A change in ``schema`` committed: wake its streams (and only those)."""
        with self._lock:
            cond = self._conditions.get(schema)
            if cond is None:  # no stream here has ever shown this board: nobody to tell
                return
            self._versions[schema] = self._versions.get(schema, 0) + 1
            cond.notify_all()

    def publish_all(self) -> None:
        """Notifications may have been missed: every stream re-reads its board."""
        with self._lock:
            self._epoch += 1
            for cond in self._conditions.values():
                cond.notify_all()

    @property
    def live(self) -> bool:
        """Whether this process's listener is connected (notifications are arriving)."""
        return self._listener.live

    def ensure_listener(self) -> None:
        """Start this process's listener thread if it is not running (after a fork too)."""
        self._listener.ensure()

    def wait_until_listening(self, timeout: float = 5.0) -> bool:
        """Start the listener if needed and wait until it is connected."""
        return self._listener.wait_until_listening(timeout)

    def stop_listener(self, timeout: float = 5.0) -> None:
        """Stop this process's listener (before dropping a database, e.g. in tests)."""
        self._listener.stop(timeout)


board_hub = BoardHub()


# --- The Server-Sent Events stream ------------------------------------------------------


def event_stream(tenant: Any, *, hub: BoardHub | None = None) -> Iterator[str]:
    """The SSE body for ``tenant``'s board: ``retry:``, then the state whenever it changes,
    a heartbeat comment when idle, until ``STREAM_SECONDS`` have passed."""
    hub = hub or board_hub
    schema = tenant.schema_name
    deadline = time.monotonic() + STREAM_SECONDS
    yield f"retry: {RETRY_MS}\n\n"
    sent = ""
    last_write = time.monotonic()
    while True:
        # The version is taken before reading: a change committed during the read bumps it
        # again, and the loop reads once more.
        seen = hub.version(schema)
        # The WSGI server runs this generator after the view returned; make sure the
        # connection still points at this tenant.
        activate_schema(connection, tenant)
        payload = state_json(board_state())
        if payload != sent:
            sent = payload
            last_write = time.monotonic()
            yield f"event: board\ndata: {payload}\n\n"
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            wait = min(deadline - now, last_write + HEARTBEAT_SECONDS - now)
            if not hub.live:
                wait = min(wait, POLL_SECONDS)
            if hub.wait(schema, seen, wait) != seen:
                break  # this tenant's board changed: read it again
            if time.monotonic() >= last_write + HEARTBEAT_SECONDS:
                last_write = time.monotonic()
                yield ": heartbeat\n\n"
            if not hub.live:
                break  # no notification would arrive: poll
