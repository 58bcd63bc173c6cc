"""The metric collector registry: how any app adds its figures to the province rollup.

A collector is a function that runs inside one tenant's schema (the rollup calls it there)
and returns that tenant's metrics. An app registers it once, typically in its
``AppConfig.ready()``::

    from stats.collectors import Metric, register

    @register("queue")
    def queue_metrics() -> list[Metric]:
        return [
            Metric("queue.tickets_today", Ticket.objects.filter(...).count()),
            *(Metric("queue.waiting_by_counter", n, counter) for counter, n in ...),
        ]

Every metric's name starts with its collector's name and a dot, so two apps can never write
each other's figures. The values land in ``stats.TenantMetric`` at the next refresh of each
tenant (``mpp stats rebuild`` fills them in for all tenants at once); plain figures (no
dimension) also appear in the overview rows' ``metrics``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_NAME = 100
MAX_DIMENSION = 100
# TenantMetric.value is numeric(20, 4).
MAX_VALUE = Decimal(10) ** 16


@dataclass(frozen=True)
class Metric:
    """One number about the current tenant, optionally split by ``dimension``."""

    name: str
    value: int | Decimal
    dimension: str = ""


Collector = Callable[[], Iterable[Metric]]

_registry: dict[str, Collector] = {}


class CollectorError(ValueError):
    """A collector returned something the rollup cannot store."""


def register(name: str) -> Callable[[Collector], Collector]:
    """Register ``fn`` as collector ``name``: run in a tenant schema, it returns its metrics."""
    if not _NAME.match(name):
        raise ImproperlyConfigured(
            f"collector name {name!r} must be lower-case letters, digits and _ (e.g. 'queue')"
        )

    def decorator(fn: Collector) -> Collector:
        existing = _registry.get(name)
        # Re-importing the same module (autoreload, tests) registers the same function again.
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            fn.__module__,
            fn.__qualname__,
        ):
            raise ImproperlyConfigured(
                f"collector {name!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        _registry[name] = fn
        return fn

    return decorator


def unregister(name: str) -> None:
    """Remove collector ``name`` (for tests and for apps switched off)."""
    _registry.pop(name, None)


def registered() -> dict[str, Collector]:
    """The registered collectors by name, in name order."""
    return dict(sorted(_registry.items()))


def _check(collector: str, metric: object) -> Metric:
    where = f"collector {collector!r}"
    if not isinstance(metric, Metric):
        raise CollectorError(f"{where} returned {metric!r}, not a stats.collectors.Metric")
    if not _METRIC_NAME.match(metric.name) or not metric.name.startswith(collector + "."):
        raise CollectorError(
            f"{where} returned metric {metric.name!r}: names must start with "
            f"'{collector}.' and use lower-case letters, digits, _ and dots"
        )
    if len(metric.name) > MAX_NAME:
        raise CollectorError(f"{where}: metric name {metric.name!r} is over {MAX_NAME} characters")
    if not isinstance(metric.dimension, str) or len(metric.dimension) > MAX_DIMENSION:
        raise CollectorError(
            f"{where}: metric {metric.name!r} has dimension {metric.dimension!r}; "
            f"it must be a string of at most {MAX_DIMENSION} characters"
        )
    value = metric.value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise CollectorError(
            f"{where}: metric {metric.name!r} has value {value!r}; use an int or a Decimal "
            "(floats are not exact)"
        )
    if (isinstance(value, Decimal) and not value.is_finite()) or abs(value) >= MAX_VALUE:
        raise CollectorError(f"{where}: metric {metric.name!r} has value {value} out of range")
    return metric


def collect_metrics() -> list[Metric]:
    """Run every registered collector in the current schema and check what each returns."""
    seen: set[tuple[str, str]] = set()
    metrics: list[Metric] = []
    for name, collector in registered().items():
        for raw in collector():
            metric = _check(name, raw)
            key = (metric.name, metric.dimension)
            if key in seen:
                raise CollectorError(
                    f"collector {name!r} returned metric {metric.name!r} "
                    f"(dimension {metric.dimension!r}) twice"
                )
            seen.add(key)
            metrics.append(metric)
    return metrics
