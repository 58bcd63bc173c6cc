"""`mpp up` end to end on a brand-new embedded database, as `make up` runs it.

Starts the real console script with no DATABASE_URL and an empty data directory, waits for
the server, reads the apex and a tenant page over HTTP, stops it with Ctrl-C (SIGINT) and
checks PostgreSQL stopped too; then starts it again and checks the data was reused.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tenants.demo import KEPRI_TENANTS

MPP = str(Path(sys.executable).parent / "mpp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, host: str, path: str = "/") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Up:
    """One `mpp up` process on ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MPP_DB_NAME"}}
        env |= {"MPP_DATA_DIR": str(data_dir), "PLATFORM_URL_PORT": str(self.port)}
        self.log = data_dir.parent / f"up-{self.port}.log"
        self.proc = subprocess.Popen(
            [MPP, "up", "--addrport", f"127.0.0.1:{self.port}"],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mpp up exited early:\n{self.log.read_text()}")
            try:
                if fetch(self.port, "localhost", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"mpp up did not answer in {timeout}s:\n{self.log.read_text()}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def postmaster_running(data_dir: Path, timeout: float = 30) -> bool:
    """Whether the embedded PostgreSQL of ``data_dir`` still runs, ``timeout`` s from now.

    Its pid file names the postmaster; a busy machine may take a while to finish the
    shutdown checkpoint, so wait for the process to end rather than look once.
    """
    pid_file = data_dir / "postgres" / "postmaster.pid"
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            return False
        except PermissionError:
            pass  # it exists, run by the server's own system user
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)


def test_make_up_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Up(data_dir)
    try:
        first.wait_ready()
        status, apex = fetch(first.port, "localhost")
        assert status == 200 and "Kepulauan Riau" in apex
        for slug, *_ in KEPRI_TENANTS:
            assert f"{slug}.localhost" in apex
        status, page = fetch(first.port, "anambas.localhost")
        assert status == 200 and "Kabupaten Kepulauan Anambas" in page and "layanan" in page
        assert "Kota Batam" not in page
        assert fetch(first.port, "nowhere.localhost")[0] == 404
        # The demo mall takes bookings and shows its hall board.
        status, booking = fetch(first.port, "anambas.localhost", "/antrian/")
        assert status == 200 and "Penerbitan KTP-el Baru" in booking
        assert fetch(first.port, "anambas.localhost", "/antrian/layar/")[0] == 200
    finally:
        code = first.interrupt()
    assert code == 0, first.log.read_text()
    assert not postmaster_running(data_dir), "embedded PostgreSQL still running after Ctrl-C"
    first_log = first.log.read_text()
    assert re.search(r"\[7/7\] anambas +provisioned in", first_log), first_log
    assert "Traceback" not in first_log, first_log

    second = Up(data_dir)
    try:
        second.wait_ready()
        status, apex = fetch(second.port, "localhost")
        assert status == 200 and apex.count(".localhost:") == len(KEPRI_TENANTS)
        assert fetch(second.port, "batam.localhost")[0] == 200
    finally:
        assert second.interrupt() == 0
    second_log = second.log.read_text()
    assert "provisioned" not in second_log
    assert re.search(r"\[7/7\] anambas +exists", second_log), second_log
    assert not postmaster_running(data_dir)
