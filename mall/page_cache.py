"""Server-side cache of anonymous citizen pages, per tenant, invalidated by the database.

A cached page's key holds everything its content depends on:

- the tenant: its schema (django-tenants' cache key function prefixes every key with it),
  the host asked for (pages carry absolute URLs), and the tenant's name, status and notice
  as routed (a suspension or rename shows at once);
- the tenant's page version: a counter in the tenant schema that triggers bump on every
  change to its services, agencies or profile, and to the shared category names (catalog
  migration 0006, mall migration 0002) — so any catalogue change, by any path, makes the
  old entries unreachable in every process at the next request;
- the language chosen, the method and the full path with its query string.

One cheap query (the version) stands in for the page's several. Only anonymous GET/HEAD
requests answered 200 without cookies are stored; a signed-in visitor always gets a fresh,
private page. A view may shorten its entry's life by setting ``response.cache_seconds`` (the
home page does, up to the next opening or closing). Responses tell browsers and proxies they
vary by cookie (the language), and carry a short max-age: revalidation against the ETag
then costs a weak link only headers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers

View = Callable[..., HttpResponse]

KEY_PREFIX = "portal-page"


def page_version() -> str:
    """This tenant's page version: the counter and the transaction that last wrote it.

    The writer's transaction id (``xmin``) makes a version unique even when a transaction
    that bumped the counter rolled back and another then reached the same number: a page
    rendered inside the first (which can only happen within that very transaction, e.g.
    in a test) is never served for the second.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT version, xmin::text FROM mall_pageversion WHERE id = 1")
        row = cursor.fetchone()
    return f"{row[0]}.{row[1]}" if row else "0"


def page_key(request: HttpRequest, version: str) -> str:
    """The cache key of this request's page on this tenant at this page version."""
    tenant = request.tenant  # type: ignore[attr-defined]
    parts = (
        tenant.schema_name,
        version,
        tenant.name,
        tenant.status,
        tenant.status_reason,
        tenant.time_zone,
        request.get_host(),
        translation.get_language() or "",
        request.method or "",
        request.get_full_path(),
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{KEY_PREFIX}:{tenant.schema_name}:{digest}"


def _signed_in(request: HttpRequest) -> bool:
    # Reading request.user costs a session query only when a session cookie was sent.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def cached_page(view: View) -> View:
    """Serve an anonymous citizen page from the cache, or render and store it."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        seconds = settings.PORTAL_CACHE_SECONDS
        if request.method not in ("GET", "HEAD") or _signed_in(request):
            response = view(request, *args, **kwargs)
            response.__dict__.pop("cache_seconds", None)
            patch_cache_control(response, private=True, no_cache=True)
            return response
        key = page_key(request, page_version()) if seconds else ""
        if key:
            cached = cache.get(key)
            if cached is not None:
                cached["X-Page-Cache"] = "hit"
                return cached
        response = view(request, *args, **kwargs)
        seconds = min(seconds, response.__dict__.pop("cache_seconds", seconds))
        patch_vary_headers(response, ("Cookie",))
        patch_cache_control(
            response, public=True, max_age=min(seconds, settings.PORTAL_BROWSER_MAX_AGE)
        )
        if key and seconds > 0 and _storable(response):
            cache.set(key, response, seconds)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapped


def _storable(response: HttpResponse) -> bool:
    """Only a plain, whole 200 page that sets no cookie may be shared between visitors."""
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Set-Cookie")
    )
