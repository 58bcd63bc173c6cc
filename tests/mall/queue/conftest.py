"""Shared set-up of the queue tests: a mall with hours, counters and queue settings.

Dates are taken a week or two after the real today, so closures (which refuse past dates)
and the booking horizon behave as in production; "now" is passed to the actions explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from mall.actions import update_mall_profile
from mall.queue.actions import save_counter, save_queue_setting
from mall.queue.models import Counter
from mpp.accounts.models import User
from tenants.models import Tenant

KTP = "dukcapil-ktp-el-baru"
KK = "dukcapil-kk-baru"
# Monday–Friday 08:00–15:00, Saturday 08:00–12:00, Sunday closed.
WEEK_HOURS = [["08:00", "15:00"]] * 5 + [["08:00", "12:00"], None]
EVERY_DAY = [["00:00", "23:59"]] * 7


def _next_monday(weeks_ahead: int = 1) -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=7 * weeks_ahead - today.weekday())


MONDAY = _next_monday()
SUNDAY = MONDAY + dt.timedelta(days=6)
WIB = ZoneInfo("Asia/Jakarta")


def at(day: dt.date, hour: int, minute: int = 0, zone: Any = WIB) -> dt.datetime:
    """An aware instant on ``day`` at hour:minute in ``zone`` (the tenant's, WIB by default)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def nik(serial: int = 1, *, birth: str = "150390", region: str = "217101") -> str:
    """A valid NIK: Batam (21.71.01), born 15-03-1990, serial ``serial``."""
    return f"{region}{birth}{serial:04d}"


def error_code(exc: ValidationError, field: str) -> str:
    """The code of the first error on ``field``."""
    return exc.error_dict[field][0].code


@dataclass
class Mall:
    """What ``queue_mall`` set up in one tenant."""

    tenant: Tenant
    counter: Counter
    priority_counter: Counter
    officer: User


def set_up_mall(tenant: Tenant, *, hours: list[Any] | None = None) -> Mall:
    """In ``tenant``'s schema (current): hours, two Dukcapil counters, KTP slots of 30 min."""
    update_mall_profile({"opening_hours": hours or WEEK_HOURS}, acting_user=None)
    officer = User.objects.create_user(
        f"petugas@{tenant.slug}.go.id", "Rahasia-Loket-2026", role=User.Role.OFFICER
    )
    counter = save_counter(
        name="Loket 1",
        agency_code="dukcapil",
        prefix="DKP",
        service_keys=[KTP, KK],
        officers=[officer],
        acting_user=None,
    )
    priority = save_counter(
        name="Loket 2",
        agency_code="dukcapil",
        prefix="DKP",
        service_keys=[KTP, KK],
        priority_lane=True,
        acting_user=None,
    )
    save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=50, acting_user=None)
    return Mall(tenant, counter, priority, officer)


@pytest.fixture
def mall_a(tenant_a: Tenant) -> Iterator[Mall]:
    """Tenant A's schema, current for the whole test, with its queue set up."""
    with tenant_context(tenant_a):
        yield set_up_mall(tenant_a)


@pytest.fixture
def dummy_tasks(settings: Any) -> Any:
    """Tasks are recorded by the dummy backend (inspectable, never run)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import task_backends

    backend = task_backends["default"]
    backend.clear()
    return backend
