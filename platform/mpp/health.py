"""``/healthz`` (the process answers) and ``/readyz`` (database reachable, schema migrated).

Answered before host routing: orchestrators probe by pod IP, which is no tenant's host.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

_READY_TTL = 30.0  # seconds a successful migration check is trusted
_ready_until = 0.0


def _unapplied_public_migrations() -> list[str]:
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def readiness() -> tuple[bool, dict[str, object]]:
    """Check the database answers and the public schema is fully migrated."""
    global _ready_until
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return False, {"database": f"unreachable: {exc.__class__.__name__}"}
    if time.monotonic() < _ready_until:
        return True, {"database": "ok", "migrations": "ok"}
    pending = _unapplied_public_migrations()
    if pending:
        return False, {
            "database": "ok",
            "migrations": f"{len(pending)} unapplied",
            "pending": pending,
        }
    _ready_until = time.monotonic() + _READY_TTL
    return True, {"database": "ok", "migrations": "ok"}


class HealthCheckMiddleware:
    """Answer the two probe paths on any host, before tenant routing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            ok, detail = readiness()
            return JsonResponse(
                {"status": "ok" if ok else "unavailable", **detail}, status=200 if ok else 503
            )
        return self.get_response(request)
