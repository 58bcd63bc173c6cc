"""Host → schema routing with a per-process cache kept honest by PostgreSQL NOTIFY.

django-tenants' own middleware joins domain and tenant on every request. Here each process
keeps the answer per host in memory. A trigger on the tenant and domain tables (see the
``0002`` migration) sends ``NOTIFY tenants_routing`` on every change, including raw SQL and
bulk updates; a listener thread in each process clears its cache when one arrives. While
the listener is not connected the cache is bypassed, so a missed notification can never
route a request to a stale tenant. The process that makes a change also clears its own
cache on commit, so its very next request sees the change without waiting for the echo.
"""

from __future__ import annotations

import functools
import logging
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils import timezone

from mpp.db.listen import Listener, ProcessListener

logger = logging.getLogger(__name__)

CHANNEL = "tenants_routing"
_MAX_ENTRIES = 10_000  # unknown hosts are cached too; bound what a scanner can fill


@dataclass(frozen=True, slots=True)
class Route:
    """What the router needs to know about a tenant, detached from any database row."""

    id: int
    schema_name: str
    slug: str
    name: str
    status: str
    status_reason: str
    time_zone: str
    province_id: int

    def as_tenant(self) -> Any:
        """A Tenant instance built without a query (fields beyond these load lazily)."""
        from tenants.models import Tenant

        tenant = Tenant(
            id=self.id,
            schema_name=self.schema_name,
            slug=self.slug,
            name=self.name,
            status=self.status,
            status_reason=self.status_reason,
            time_zone=self.time_zone,
            province_id=self.province_id,
        )
        tenant._state.adding = False
        tenant._state.db = "default"
        return tenant


_ROUTE_FIELDS = (
    "id",
    "schema_name",
    "slug",
    "name",
    "status",
    "status_reason",
    "time_zone",
    "province_id",
)


def is_apex(host: str) -> bool:
    """True for the platform's own host (and its www alias)."""
    apex = settings.PLATFORM_DOMAIN
    return host == apex or host == f"www.{apex}"


def lookup_route(host: str) -> Route | None:
    """Query the database for the live (not archived) tenant serving ``host``."""
    from tenants.models import Tenant

    apex_suffix = "." + settings.PLATFORM_DOMAIN
    tenants = Tenant.objects.exclude(status=Tenant.Status.ARCHIVED)
    if host.endswith(apex_suffix):
        label = host[: -len(apex_suffix)]
        if not label or "." in label:
            return None
        tenants = tenants.filter(slug=label)
    else:
        tenants = tenants.filter(domains__domain=host)
    row = tenants.values(*_ROUTE_FIELDS).first()
    return Route(**row) if row else None


class RouteCache:
    """Per-process host → Route map, trusted only while the NOTIFY listener is connected."""

    def __init__(self) -> None:
        self._entries: dict[str, Route | None] = {}
        self._lock = threading.Lock()
        # Bumped on every notification, (re)connection and disconnection: an answer looked
        # up across a bump may be stale and is not stored.
        self._generation = 0
        self._listener = ProcessListener(self._new_listener, self._lock)

    def _new_listener(self) -> Listener:
        # Runs with the lock held, as the new listener starts: nothing cached before it (by
        # the parent of a fork, say) can be trusted.
        self._entries.clear()
        return Listener(
            CHANNEL,
            name="tenant-routing-listener",
            on_notify=lambda _payload: self._bump(),
            on_connect=self._bump,
            on_disconnect=self._bump,
        )

    def _bump(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def resolve(self, host: str) -> Route | None:
        """Return the route for ``host``, from memory when that is safe."""
        if not settings.TENANT_ROUTING_CACHE:
            return lookup_route(host)
        listener = self._listener.ensure()
        if not listener.ready.is_set():
            return lookup_route(host)
        with self._lock:
            if host in self._entries:
                return self._entries[host]
            generation = self._generation
        route = lookup_route(host)
        with self._lock:
            # A notification that arrived during the lookup may describe a change the lookup
            # did not see; only store the answer if none did.
            if self._generation == generation and listener.ready.is_set():
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries.clear()
                self._entries[host] = route
        return route

    def clear(self) -> None:
        """Forget every cached host."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def stop_listener(self, timeout: float = 5.0) -> None:
        """Stop this process's listener (used before dropping a database, e.g. in tests)."""
        self._listener.stop(timeout)
        self.clear()

    def wait_until_listening(self, timeout: float = 5.0) -> bool:
        """Start the listener if needed and wait for it to be connected."""
        return self._listener.wait_until_listening(timeout)


route_cache = RouteCache()


def _clear_on_commit(**_: Any) -> None:
    transaction.on_commit(route_cache.clear)


def connect_invalidation_signals() -> None:
    """Clear this process's cache as soon as a tenant or domain change commits."""
    from tenants.models import Domain, Tenant

    for model in (Tenant, Domain):
        post_save.connect(_clear_on_commit, sender=model, dispatch_uid=f"route-{model.__name__}")
        post_delete.connect(
            _clear_on_commit, sender=model, dispatch_uid=f"route-del-{model.__name__}"
        )


def request_host(request: HttpRequest) -> str:
    """The request's host name, lower-cased, without port or trailing dot."""
    host = request.get_host().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".")


class TenantRoutingMiddleware:
    """Point the connection and URL conf at the apex (public) or at one tenant's schema.

    An unknown or archived host gets a bare 404: never another tenant's pages, never the
    platform's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            host = request_host(request)
        except DisallowedHost:  # not even a valid host name
            return _not_found()
        if is_apex(host):
            activate_schema(connection, None)
            timezone.deactivate()
            request.tenant = connection.tenant  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
        else:
            route = route_cache.resolve(host)
            if route is None:
                return _not_found()
            tenant = route.as_tenant()
            tenant.domain_url = host
            activate_schema(connection, tenant)
            # Times on a tenant's pages are in its own zone (WIB, WITA or WIT).
            timezone.activate(_zone(tenant.time_zone))
            request.tenant = tenant  # type: ignore[attr-defined]
            request.urlconf = settings.ROOT_URLCONF  # type: ignore[attr-defined]
        set_urlconf(request.urlconf)  # type: ignore[attr-defined]
        return self.get_response(request)


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _not_found() -> HttpResponse:
    return HttpResponseNotFound(
        b"Not found: no portal is served on this host.\n", content_type="text/plain"
    )


def activate_schema(conn: Any, tenant: Any | None) -> None:
    """Point ``conn`` at ``tenant``'s schema (public when None).

    django-tenants forgets the search_path it set whenever a tenant is set, costing a
    ``SET search_path`` round trip per request; when the schema is the one already active
    (the common case for a worker thread serving one tenant), only the tenant object is
    swapped. A reconnect or rollback still resets the path, as django-tenants tracks.
    """
    schema = tenant.schema_name if tenant is not None else "public"
    if conn.schema_name == schema and conn.include_public_schema:
        if tenant is not None:
            conn.tenant = tenant
        return
    if tenant is None:
        conn.set_schema_to_public()
    else:
        conn.set_tenant(tenant)


class TenantStatusMiddleware:
    """A suspended tenant's portal stays readable with a notice but refuses every change."""

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            getattr(tenant, "status", None) == "suspended"
            and request.method not in self.SAFE_METHODS
        ):
            return render(request, "mall/suspended.html", {"tenant": tenant}, status=503)
        return self.get_response(request)
