"""mpp up: migrate, load the demo and serve, with a background task worker beside the server."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django.utils.crypto import get_random_string

from mpp.urls_util import absolute_url
from tenants.demo import load_demo
from tenants.models import Tenant


class WorkerThread:
    """The database task worker (what `mpp worker` runs) in a thread of this process.

    A thread rather than a second process: whatever way `mpp up` ends — Ctrl-C, or
    runserver's own exit when the port is taken — no orphan worker is left holding the
    embedded PostgreSQL open.
    """

    def __init__(self) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["*"],
            excluded_queue_names=[],
            interval=settings.TASKS_WORKER_INTERVAL,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"mpp-up-{get_random_string(12)}",
        )
        self.thread = threading.Thread(target=self._run, name="mpp-task-worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        finally:
            connection.close()  # this thread's own connection

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Let the running task finish, then end the loop (it checks between tasks)."""
        self.worker.running = False
        self.thread.join(timeout)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Migrate every schema, load the Kepulauan Riau demo (idempotent) and serve on "
        "http://localhost:8000 with each tenant at http://<slug>.localhost:8000, running "
        "background tasks beside the server. Ctrl-C stops both and, when nothing else uses "
        "it, the embedded PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="default 127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo")
        parser.add_argument("--reload", action="store_true", help="restart on code changes")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not run background tasks here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Docker, systemd and `kill` send SIGTERM: stop as on Ctrl-C, so the worker finishes
        # its task and the embedded PostgreSQL shuts down (Python's default for SIGTERM is to
        # die on the spot, skipping both). A shell that starts `mpp up` in the background
        # hands it SIGINT ignored; take Ctrl-C back too.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        call_command("migrate_all", verbosity=0, stdout=self.stdout)
        if not options["no_demo"]:
            load_demo(report=self.stdout.write)
        self.stdout.write("")
        self.stdout.write(f"Platform: {absolute_url(settings.PLATFORM_DOMAIN)}")
        for tenant in Tenant.objects.exclude(status=Tenant.Status.ARCHIVED).order_by("name"):
            self.stdout.write(f"  {tenant.name:<30} {absolute_url(tenant.host)}")
        self.stdout.write("")
        worker = None
        # With --reload the first process only restarts the serving one; work in that one.
        serving = not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if serving and not options["no_worker"] and settings.TASKS_BACKEND == "database":
            worker = WorkerThread()
            worker.start()
            self.stdout.write("Background tasks: a worker runs in this process.")
        try:
            call_command(
                "runserver",
                options["addrport"],
                use_reloader=options["reload"],
                skip_checks=True,
                use_threading=True,
            )
        finally:
            if worker is not None:
                worker.stop()
