"""PostgreSQL LISTEN in a background thread, one per process, for in-memory caches and feeds.

The routing cache (``tenants/routing.py``) and the queue's hall boards
(``mall/queue/board.py``) both keep state in memory that a ``NOTIFY`` from any process must
invalidate. Each holds one :class:`ProcessListener`: a daemon thread with its own connection
(past a transaction pooler, see :func:`mpp.db.direct_connection_params`), started on first
use, started again in a forked child, reconnecting with backoff, and hung up at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from mpp.db import direct_connection_params

logger = logging.getLogger(__name__)

_FIRST_DELAY = 0.5  # seconds before reconnecting; doubled after each failure
_MAX_DELAY = 10.0


def _nothing() -> None:
    pass


class Listener(threading.Thread):
    """One LISTEN connection on ``channel``, in a daemon thread, reconnecting with backoff.

    ``on_connect`` runs after each (re)connection — notifications sent while nobody listened
    are lost, so the owner must assume anything changed — ``on_notify(payload)`` for each
    notification, and ``on_disconnect`` whenever the connection is lost or the thread stops.
    ``ready`` is set while the connection listens.
    """

    def __init__(
        self,
        channel: str,
        *,
        name: str,
        on_notify: Callable[[str], None],
        on_connect: Callable[[], None] = _nothing,
        on_disconnect: Callable[[], None] = _nothing,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.channel = channel
        self.on_notify = on_notify
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.ready = threading.Event()
        self.stop = threading.Event()
        # Read when the thread is made, in the thread that made it (Django's settings and
        # connection handler are not to be touched from this one).
        self.params = direct_connection_params()

    def run(self) -> None:
        import psycopg

        delay = _FIRST_DELAY
        while not self.stop.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.on_connect()
                    self.ready.set()
                    delay = _FIRST_DELAY
                    while not self.stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.on_notify(note.payload)
            except Exception:
                logger.warning("%s lost its connection", self.name, exc_info=True)
            finally:
                self.ready.clear()
                self.on_disconnect()
            self.stop.wait(delay)
            delay = min(delay * 2, _MAX_DELAY)


class ProcessListener:
    """This process's :class:`Listener` made by ``factory``: started on first use (and again
    in a forked child, where threads do not survive), stopped at exit."""

    def __init__(self, factory: Callable[[], Listener], lock: threading.Lock) -> None:
        # ``lock`` is the owner's: ``factory`` runs with it held, so the owner can reset its
        # state in the same critical section as the new listener starts.
        self._factory = factory
        self._lock = lock
        self._listener: Listener | None = None
        self._pid: int | None = None

    def _current(self) -> Listener | None:
        listener = self._listener
        if listener is not None and self._pid == os.getpid() and listener.is_alive():
            return listener
        return None

    def ensure(self) -> Listener:
        """The running listener, started first if need be."""
        listener = self._current()
        if listener is not None:
            return listener
        with self._lock:
            listener = self._current()
            if listener is None:
                listener = self._listener = self._factory()
                self._pid = os.getpid()
                listener.start()
                # Hang up before the embedded database is stopped at exit (atexit runs in
                # reverse order, and the database registered first).
                atexit.register(self.stop)
        return listener

    @property
    def live(self) -> bool:
        """Whether this process's listener is connected (notifications are arriving)."""
        listener = self._current()
        return listener is not None and listener.ready.is_set()

    def wait_until_listening(self, timeout: float = 5.0) -> bool:
        """Start the listener if needed and wait until it is connected."""
        return self.ensure().ready.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop this process's listener (before dropping a database, e.g. in tests)."""
        listener = self._listener
        if listener is not None:
            listener.stop.set()
            listener.join(timeout)
        self._listener = None
