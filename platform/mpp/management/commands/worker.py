"""mpp worker: run the background task worker (the database backend's queue)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker

from mpp.worker_health import HealthServer, Heartbeat, HeartbeatWorker, stale_after


class Command(BaseCommand):
    help = (
        "Run background tasks from the queue in PostgreSQL until stopped (Ctrl-C or SIGTERM "
        "finish the running task first). Each task runs inside the schema of the tenant it "
        "names. Run as many workers as needed: they never take the same task. With a health "
        "port, /healthz (the loop is turning) and /readyz (database and migrations) answer "
        "on it for orchestrator probes."
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
        parser.add_argument(
            "--health-port",
            type=int,
            default=None,
            help="serve /healthz and /readyz on this port; 0: no server "
            "(default WORKER_HEALTH_PORT)",
        )
        parser.add_argument(
            "--health-host",
            default=None,
            help="address the health server listens on (default WORKER_HEALTH_HOST)",
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
        port = options["health_port"]
        if port is None:
            port = settings.WORKER_HEALTH_PORT
        if not 0 <= port <= 65535:
            raise CommandError(
                f"--health-port must be from 0 to 65535 (0: no health server), got {port}"
            )
        host = options["health_host"] or settings.WORKER_HEALTH_HOST

        # The worker db_worker would run, made here to stamp a heartbeat on each poll.
        db_worker.Command(stdout=self.stdout, stderr=self.stderr).configure_logging(
            options["verbosity"]
        )
        heartbeat = Heartbeat(stale_after(interval))
        worker = HeartbeatWorker(
            heartbeat=heartbeat,
            queue_names=["*"],
            excluded_queue_names=[],
            interval=interval,
            batch=options["batch"],
            backend_name="default",
            startup_delay=not options["batch"],
            max_tasks=options["max_tasks"],
            worker_id=get_random_string(32),
        )
        with contextlib.ExitStack() as stack:
            if port:
                try:
                    server = HealthServer(heartbeat, host, port)
                except OSError as exc:
                    raise CommandError(
                        f"cannot serve health probes on {host}:{port}: {exc.strerror or exc}"
                    ) from None
                # SIGTERM ends the loop with SystemExit: leaving this block closes the port.
                stack.enter_context(server)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Health probes: http://{host}:{port}/healthz and /readyz")
            worker.configure_signals()
            worker.run()
