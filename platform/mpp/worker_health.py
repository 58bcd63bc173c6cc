"""``/healthz`` and ``/readyz`` for ``mpp worker``, which otherwise serves no HTTP.

Orchestrators probe over HTTP, while the worker's loop (django_tasks_db's ``Worker``) holds
the main thread; so a small standard-library server answers from a daemon thread beside it:

- ``/healthz``: 200 while the loop has polled the queue recently (it stamps a heartbeat on
  every turn, idle or not); 503 with the reason once the heartbeat is older than
  ``stale_after(interval)``: the loop is stuck (a hung task or query) and should be restarted.
- ``/readyz``: the web role's check (``mpp.health.readiness``): database reachable, public
  schema migrated.

Anything else is 404. Probes are not logged: one every few seconds would bury the task log.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker

from mpp.health import readiness

# The loop may be silent this long at least: a task of a few dozen seconds is not "stuck".
MIN_STALE_SECONDS = 60.0


def stale_after(interval: float) -> float:
    """Seconds without a heartbeat after which a loop polling every ``interval`` is stuck."""
    return max(MIN_STALE_SECONDS, 10 * interval)


class Heartbeat:
    """When the worker loop last showed it was turning, and how old that may get."""

    def __init__(self, limit: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self.last = clock()

    def beat(self) -> None:
        """Record that the loop is turning now."""
        self.last = self.clock()

    def check(self) -> tuple[bool, dict[str, object]]:
        """Whether the last beat is recent enough, with its age (and, if not, the reason)."""
        age = self.clock() - self.last
        detail: dict[str, object] = {"heartbeat_age": round(age, 1), "limit": self.limit}
        if age > self.limit:
            detail["reason"] = (
                f"the worker loop has not polled the queue for {age:.0f} s "
                f"(limit {self.limit:.0f} s): it is stuck"
            )
            return False, detail
        return True, detail


class HeartbeatWorker(Worker):
    """django_tasks_db's worker, stamping ``heartbeat`` on every turn of its loop.

    The loop tests ``self.running`` once per turn (``while self.running``), whether it found
    a task or slept on an empty queue, so a property there sees every turn without a copy of
    the loop to keep in step with the library.
    """

    def __init__(self, *, heartbeat: Heartbeat, **options: Any) -> None:
        self.heartbeat = heartbeat
        super().__init__(**options)

    @property
    def running(self) -> bool:
        """Whether the loop goes on; reading it is the loop's sign of life."""
        self.heartbeat.beat()
        return self._running

    @running.setter
    def running(self, value: bool) -> None:
        self._running = value


def _ready() -> tuple[bool, dict[str, object]]:
    try:
        return readiness()
    except Exception as exc:  # a probe gets an answer, whatever went wrong
        return False, {"error": exc.__class__.__name__}
    finally:
        # Each request runs in a thread of its own, with its own connection: close it.
        connection.close()


class _ProbeHandler(BaseHTTPRequestHandler):
    server: _ProbeServer
    server_version = "mpp-worker"
    sys_version = ""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            ok, detail = self.server.heartbeat.check()
        elif path == "/readyz":
            ok, detail = _ready()
        else:
            self._reply(404, {"status": "not found", "paths": ["/healthz", "/readyz"]})
            return
        self._reply(200 if ok else 503, {"status": "ok" if ok else "unavailable", **detail})

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing (see the module's docstring)."""


class _ProbeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _ProbeHandler)


class HealthServer:
    """The probe server on ``host:port``, from a daemon thread; a context manager.

    Binding happens on construction, so a taken port fails before the worker starts; leaving
    the ``with`` block (the loop ended, SIGTERM, an error) shuts the server and its port.
    """

    def __init__(self, heartbeat: Heartbeat, host: str, port: int) -> None:
        self._httpd = _ProbeServer((host, port), heartbeat)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="mpp-worker-health",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self._httpd.server_address[1])

    def __enter__(self) -> HealthServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering and close the port."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()
