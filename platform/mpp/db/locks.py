"""Session-level advisory locks that survive a transaction-pooling PgBouncer.

``pg_advisory_lock`` belongs to the server connection (the session) that took it. Behind
PgBouncer in transaction mode the lock and the unlock may run on different server
connections: the unlock fails, the lock stays on a pooled connection nobody owns, and every
later taker waits forever. :func:`advisory_lock` holds the lock on a connection of its own —
the direct one when ``DATABASE_DIRECT_URL`` is set — for the length of the block, while the
work itself goes through the ordinary (pooled) connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mpp.db import direct_connection_params


@contextmanager
def advisory_lock(key: int, *, wait: bool = True) -> Iterator[bool]:
    """Hold advisory lock ``key`` for the block; yield False if ``wait=False`` and it is taken.

    Mutual exclusion is database-wide, so this excludes ``pg_advisory_lock(key)`` taken by any
    other session, pooled or not.
    """
    import psycopg

    with psycopg.connect(**direct_connection_params(), autocommit=True) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", [key])
            acquired = True
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            acquired = bool(row and row[0])
        # Closing the connection releases the lock even if the unlock below never runs.
        try:
            yield acquired
        finally:
            if acquired and not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])
