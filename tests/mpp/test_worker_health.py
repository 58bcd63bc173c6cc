"""`mpp worker`'s own /healthz and /readyz (mpp/worker_health.py), for Kubernetes probes.

The real console script is started against the test database with --health-port, probed
over HTTP and stopped with SIGTERM; the staleness rule is checked with an injected clock.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from mpp import worker_health
from mpp.worker_health import HealthServer, Heartbeat, HeartbeatWorker, stale_after
from tests.deploy.production_support import (
    MPP,
    ROOT,
    production_env,
    run_mpp,
    test_database_url,
)


def _env(**overrides: str) -> dict[str, str]:
    """A production process's environment, without the developer's own probe settings."""
    env = production_env()
    for name in ("WORKER_HEALTH_PORT", "WORKER_HEALTH_HOST"):
        env.pop(name, None)
    return env | overrides


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """GET a path of the probe server; (status, JSON body)."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def queue_held(db: None) -> None:
    """Lock the waiting tasks (the session's tenants queued some) in the test's transaction:
    workers skip locked rows, so one started here leaves the shared queue as it found it."""
    list(DBTaskResult.objects.select_for_update().filter(status="READY"))


@pytest.fixture
def no_connection_recycling(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop recycles its connection each turn, which would close the one holding the
    test's transaction (as in tests/stats/test_tasks.py)."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


# --- the real process -------------------------------------------------------------------------


@pytest.mark.django_db  # the test database must exist for the process
def test_worker_answers_probes_and_closes_the_port_on_sigterm(
    django_db_setup: None, django_db_blocker: Any, queue_held: None
) -> None:
    """As in the pod: production settings, WORKER_HEALTH_HOST's default (every interface)."""
    with django_db_blocker.unblock():
        url = test_database_url()
    port = _free_port()
    env = _env(DATABASE_URL=url, TENANT_SPARE_SCHEMAS="0", LOG_FORMAT="text")
    worker = subprocess.Popen(
        [MPP, "worker", "--health-port", str(port), "--interval", "0.2"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _port_open(port):
            assert worker.poll() is None, worker.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "mpp worker did not open its health port in 60 s"
            time.sleep(0.1)
        status, body = _get(port, "/healthz")
        assert status == 200 and body["status"] == "ok", body
        assert body["limit"] == 60.0  # max(60 s, 10 × 0.2 s)
        # The idle loop polls every 0.2 s and stamps the heartbeat each time.
        time.sleep(1.5)
        assert _get(port, "/healthz")[1]["heartbeat_age"] < 1.0
        assert _get(port, "/readyz") == (
            200,
            {"status": "ok", "database": "ok", "migrations": "ok"},
        )
        assert _get(port, "/healthz?from=kubelet")[0] == 200
        for path in ("/", "/healthz/", "/readyz/x", "/admin/"):
            status, body = _get(port, path)
            assert status == 404 and body["paths"] == ["/healthz", "/readyz"], path
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            out, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
    assert worker.returncode == 0, err[-3000:]
    assert not _port_open(port), "the health port is still open after the worker stopped"
    assert f"Health probes: http://0.0.0.0:{port}/healthz and /readyz" in out
    # No access log: probes every few seconds would bury the task log.
    assert "GET /" not in out + err and "HTTP/1.1" not in out + err
    assert "Traceback" not in err, err


# --- the staleness rule, with an injected clock ------------------------------------------------


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_heartbeat_goes_stale_after_its_limit() -> None:
    assert stale_after(1) == 60.0 and stale_after(0.5) == 60.0  # the floor
    assert stale_after(30) == 300.0  # ten polls missed
    clock = FakeClock()
    heartbeat = Heartbeat(60.0, clock)
    clock.now += 60.0
    assert heartbeat.check() == (True, {"heartbeat_age": 60.0, "limit": 60.0})
    clock.now += 15.0
    ok, detail = heartbeat.check()
    assert not ok and detail["heartbeat_age"] == 75.0
    assert detail["reason"] == (
        "the worker loop has not polled the queue for 75 s (limit 60 s): it is stuck"
    )
    heartbeat.beat()
    assert heartbeat.check() == (True, {"heartbeat_age": 0.0, "limit": 60.0})


@pytest.fixture
def probe_server() -> Iterator[tuple[FakeClock, int]]:
    """A probe server on a free local port, its heartbeat on a fake clock."""
    clock = FakeClock()
    with HealthServer(Heartbeat(60.0, clock), "127.0.0.1", 0) as server:
        yield clock, server.port


def test_a_stuck_loop_makes_healthz_answer_503_with_the_reason(
    probe_server: tuple[FakeClock, int],
) -> None:
    clock, port = probe_server
    assert _get(port, "/healthz") == (
        200,
        {"status": "ok", "heartbeat_age": 0.0, "limit": 60.0},
    )
    clock.now += 61.0
    status, body = _get(port, "/healthz")
    assert status == 503 and body["status"] == "unavailable"
    assert body["heartbeat_age"] == 61.0
    assert "has not polled the queue for 61 s (limit 60 s)" in body["reason"]


def test_readyz_answers_503_when_the_check_fails(
    probe_server: tuple[FakeClock, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock, port = probe_server
    monkeypatch.setattr(
        worker_health, "readiness", lambda: (False, {"database": "unreachable: OperationalError"})
    )
    assert _get(port, "/readyz") == (
        503,
        {"status": "unavailable", "database": "unreachable: OperationalError"},
    )

    def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("migration graph unreadable")

    monkeypatch.setattr(worker_health, "readiness", broken)
    assert _get(port, "/readyz") == (503, {"status": "unavailable", "error": "RuntimeError"})


def test_the_server_closes_its_port_when_stopped() -> None:
    server = HealthServer(Heartbeat(60.0), "127.0.0.1", 0)
    with server:
        assert _port_open(server.port)
    assert not _port_open(server.port)
    server.stop()  # stopping twice is harmless


# --- the loop's heartbeat ------------------------------------------------------------------------


def test_every_turn_of_the_loop_beats_idle_ones_too(
    queue_held: None, no_connection_recycling: None
) -> None:
    """The loop reads `running` on each turn and before each idle sleep: beats keep coming
    while the queue is empty (five need at least two turns); the fifth stops the loop."""
    beats: list[float] = []

    class Counting(Heartbeat):
        def beat(self) -> None:
            super().beat()
            beats.append(self.last)
            if len(beats) == 5:
                worker.running = False

    worker = HeartbeatWorker(
        heartbeat=Counting(60.0),
        queue_names=["*"],
        excluded_queue_names=[],
        interval=0.01,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-heartbeat",
    )
    worker.run()
    assert len(beats) == 5 and beats == sorted(beats)


def test_the_setting_opens_the_server_for_the_loops_lifetime(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    queue_held: None,
    no_connection_recycling: None,
) -> None:
    """WORKER_HEALTH_PORT (no flag) starts the server; it is gone when the command returns."""
    port = _free_port()
    settings.WORKER_HEALTH_PORT = port
    seen: dict[str, Any] = {}
    run = HeartbeatWorker.run

    def probed_run(worker: HeartbeatWorker) -> None:
        seen["healthz"] = _get(port, "/healthz")
        run(worker)

    monkeypatch.setattr(HeartbeatWorker, "run", probed_run)
    # Keep pytest's own Ctrl-C handling.
    monkeypatch.setattr(HeartbeatWorker, "configure_signals", lambda worker: None)
    out = io.StringIO()
    call_command("worker", "--batch", "--health-host", "127.0.0.1", stdout=out)
    assert seen["healthz"][0] == 200
    assert f"Health probes: http://127.0.0.1:{port}/healthz" in out.getvalue()
    assert not _port_open(port)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_out_of_range_ports_are_refused(port: str) -> None:
    with pytest.raises(CommandError, match=rf"--health-port must be from 0 to 65535 .*got {port}"):
        call_command("worker", "--health-port", port)


def test_a_taken_port_is_refused_before_the_loop_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=rf"cannot serve health probes on 127.0.0.1:{port}"):
            call_command("worker", "--health-port", str(port), "--health-host", "127.0.0.1")


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--health-port", "abc"], {}, 2, "argument --health-port: invalid int value: 'abc'"),
        (["--health-port", "-1"], {}, 1, "--health-port must be from 0 to 65535"),
        ([], {"WORKER_HEALTH_PORT": "abc"}, 1, "WORKER_HEALTH_PORT must be an integer"),
        ([], {"WORKER_HEALTH_PORT": "-5"}, 1, "WORKER_HEALTH_PORT must be at least 0"),
        ([], {"WORKER_HEALTH_PORT": "70000"}, 1, "WORKER_HEALTH_PORT must be 65535 at most"),
    ],
    ids=["flag-not-a-number", "flag-negative", "env-not-a-number", "env-negative", "env-too-big"],
)
def test_the_console_script_refuses_bad_ports(
    args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    """Before any database is reached (DATABASE_URL points nowhere), with a clear message."""
    result = run_mpp("worker", *args, env=_env(**env), timeout=60)
    assert result.returncode == code, result.stderr
    assert message in result.stderr


def test_the_default_host_is_every_interface_only_in_production() -> None:
    code = "import mpp.settings as s; print(s.WORKER_HEALTH_HOST, s.WORKER_HEALTH_PORT)"
    for mpp_env, host in (("production", "0.0.0.0"), ("development", "127.0.0.1")):  # noqa: S104
        result = subprocess.run(
            [sys.executable, "-c", code], env=_env(MPP_ENV=mpp_env),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.stdout.split() == [host, "0"], result.stderr
