"""API rate limits, read from settings at request time (so operators and tests can set them).

Callers with credentials are counted per user. Most endpoints refuse a request without
valid credentials (401) before any throttle runs; the few open to anyone (the citizen queue
API) add ``AnonThrottle``, which counts anonymous callers per client address.

Counts live in Django's cache, per process with the default in-memory cache: the limit is
then per process, which is what stops one runaway client hogging a worker. The cache key
carries the schema (django-tenants' key function) and the user, so tenants never share a
budget.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Requests per signed-in user (or token)."""

    def get_rate(self) -> str | None:
        return settings.API_RATE_USER or None


class AnonThrottle(AnonRateThrottle):
    """Requests per client address from callers without credentials (signed-in ones pass)."""

    def get_rate(self) -> str | None:
        return settings.API_RATE_ANON or None
