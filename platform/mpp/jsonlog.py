"""Structured logs: one JSON object per line, each tagged with the tenant schema.

``LOG_FORMAT=json`` (the production default) sends every record — Django's, the task
worker's, gunicorn's — through :class:`JsonFormatter`. :class:`TenantSchemaFilter` adds the
schema the thread's database connection is on, so a line written while serving ``batam``
says ``"schema": "batam"`` without any call site passing it. ``ACCESS_LOG=1`` adds one line
per request from :class:`AccessLogMiddleware`, tagged with the tenant the request was routed
to (``-`` for a host no tenant owns).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "schema"}

access_logger = logging.getLogger("mpp.access")


def current_schema() -> str:
    """The schema this thread's database connection is on, or ``-`` outside Django."""
    try:
        from django.db import connection

        return str(getattr(connection, "schema_name", None) or "-")
    except Exception:  # settings not configured yet (a server's own start-up lines)
        return "-"


class TenantSchemaFilter(logging.Filter):
    """Tag each record with the current tenant schema (kept if the caller set one).

    A record about a request (``django.request`` passes it) takes the tenant the request
    was routed to, ``-`` when none was: the connection may still be on an earlier
    request's schema then.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "schema"):
            return True
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            tenant = getattr(request, "tenant", None)
            record.schema = getattr(tenant, "schema_name", None) or "-"
        else:
            record.schema = current_schema()
        return True


def _plain(value: Any) -> Any:
    """A JSON-safe form of an ``extra=`` value: an HttpRequest becomes method and path."""
    if isinstance(value, HttpRequest):
        return {"method": value.method, "path": value.path}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """Render a record as one line of JSON: time, level, logger, schema, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "schema": getattr(record, "schema", None) or current_schema(),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class AccessLogMiddleware:
    """Log each request once it is answered: method, path, status, time, host, tenant.

    Sits just inside the health probes (orchestrators poll them every few seconds; they
    would drown the log) and outside everything else, so the time covers the whole stack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.ACCESS_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        schema = getattr(tenant, "schema_name", None) or "-"
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "schema": schema,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                # As sent: get_host() would raise on a host the router has just refused.
                "host": request.META.get("HTTP_HOST", ""),
            },
        )
        return response
