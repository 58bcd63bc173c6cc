"""mpp worker: run the background task worker (the database backend's queue)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Run background tasks from the queue in PostgreSQL until stopped (Ctrl-C or SIGTERM "
        "finish the running task first). Each task runs inside the schema of the tenant it "
        "names. Run as many workers as needed: they never take the same task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="run the tasks waiting now, then exit"
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="exit after this many tasks"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between looks at an empty queue (default TASKS_WORKER_INTERVAL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TASKS_BACKEND != "database":
            raise CommandError(
                f"TASKS_BACKEND is {settings.TASKS_BACKEND!r}: tasks are not queued in the "
                "database, so there is nothing for a worker to do (set TASKS_BACKEND=database)."
            )
        if options["max_tasks"] is not None and options["max_tasks"] < 1:
            raise CommandError("--max-tasks must be at least 1")
        interval = options["interval"]
        if interval is None:
            interval = settings.TASKS_WORKER_INTERVAL
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        worker_options: dict[str, Any] = {
            "queue_name": "*",
            "interval": interval,
            "batch": options["batch"],
            "reload": False,
            "startup_delay": not options["batch"],
            "verbosity": options["verbosity"],
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if options["max_tasks"] is not None:
            worker_options["max_tasks"] = options["max_tasks"]
        call_command("db_worker", **worker_options)
