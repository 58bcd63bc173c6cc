"""mpp web: the production web role — gunicorn serving the platform and every tenant."""

from __future__ import annotations

import copy
import os
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

# gunicorn 25.1 added a control socket under $HOME; the container has no use for it.
OPTIONAL = frozenset({"control_socket_disable"})
# gunicorn makes its heartbeat files there with mkstemp (private, unique names).
TMPFS = "/dev/shm"  # noqa: S108


class WebApplication(BaseApplication):
    """gunicorn run from Python with the options given, serving Django's WSGI handler."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Options of newer gunicorn releases are skipped on older ones (OPTIONAL only).
            if key in self.cfg.settings or key not in OPTIONAL:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()


def gunicorn_logging() -> dict[str, Any]:
    """The project's LOGGING, with gunicorn's own lines sent through the same handler.

    gunicorn would otherwise reconfigure logging with its plain-text handlers; its access
    log is dropped because ``AccessLogMiddleware`` writes one that knows the tenant.
    """
    config = copy.deepcopy(settings.LOGGING)
    loggers = config.setdefault("loggers", {})
    loggers["gunicorn.error"] = {"level": "INFO", "handlers": [], "propagate": True}
    loggers["gunicorn.access"] = {"level": "WARNING", "handlers": [], "propagate": False}
    return config


def _missing_static_manifest() -> bool:
    """True when hashed static files are expected but ``collectstatic`` has not been run."""
    read_manifest = getattr(staticfiles_storage, "read_manifest", None)
    return read_manifest is not None and read_manifest() is None


class Command(BaseCommand):
    help = (
        "Serve the platform with gunicorn (WEB_CONCURRENCY processes of WEB_THREADS threads "
        "on WEB_BIND). Run `mpp migrate` first; SIGTERM lets requests in flight finish. "
        "The container's default role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=None, help="host:port (default WEB_BIND)")
        parser.add_argument(
            "--workers", type=int, default=None, help="processes (default WEB_CONCURRENCY)"
        )
        parser.add_argument(
            "--threads", type=int, default=None, help="threads per process (default WEB_THREADS)"
        )
        parser.add_argument(
            "--timeout", type=int, default=None, help="worker timeout, s (default WEB_TIMEOUT)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def given(option: str, setting: str) -> Any:
            value = options[option]
            return getattr(settings, setting) if value is None else value

        bind = given("bind", "WEB_BIND")
        workers = given("workers", "WEB_CONCURRENCY")
        threads = given("threads", "WEB_THREADS")
        timeout = given("timeout", "WEB_TIMEOUT")
        for name, value in (("--workers", workers), ("--threads", threads), ("--timeout", timeout)):
            if value < 1:
                raise CommandError(f"{name} must be at least 1, got {value}")
        if ":" not in bind and not bind.startswith("unix:"):
            raise CommandError(f"--bind must be host:port or unix:PATH, got {bind!r}")
        if _missing_static_manifest():
            raise CommandError(
                f"no static files manifest in STATIC_ROOT ({settings.STATIC_ROOT}): "
                "run `mpp collectstatic --no-input` first (the container image has done so)"
            )
        # Workers are forked from this process: none may inherit its database connections.
        connections.close_all()
        WebApplication(
            {
                "bind": [bind],
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": timeout,
                "graceful_timeout": timeout,
                "logconfig_dict": gunicorn_logging(),
                "accesslog": None,
                "proc_name": "mpp-web",
                # Each worker imports the project itself (no --preload): the routing cache's
                # listener thread and the database connections are per process.
                "preload_app": False,
                "control_socket_disable": True,
                # The workers' heartbeat files: on tmpfs where there is one, so a slow or
                # read-only disk never makes a healthy worker look stuck.
                "worker_tmp_dir": TMPFS if os.path.isdir(TMPFS) else None,
            }
        ).run()
