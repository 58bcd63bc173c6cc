"""The demo loader: Kepulauan Riau and its seven tenants, idempotent."""

from __future__ import annotations

import datetime as dt

from django_tenants.utils import tenant_context

from catalog.local.models import LocalService
from catalog.models import Release
from mall.queue.actions import available_slots
from mall.queue.demo import DEMO_COUNTERS
from mall.queue.models import Counter, QueueSetting
from tenants.demo import KEPRI_TENANTS, load_demo
from tenants.models import Tenant


def test_demo_loads_once_and_reloads_without_duplicates(db: None) -> None:
    lines: list[str] = []
    tenants = load_demo(report=lines.append)
    assert [t.slug for t in tenants] == [slug for slug, *_ in KEPRI_TENANTS]
    assert {t.province.name for t in tenants} == {"Kepulauan Riau"}
    assert all(t.time_zone == "Asia/Jakarta" for t in tenants)
    batam = Tenant.objects.get(slug="batam")
    assert (batam.kind, batam.region_code) == ("kota", "21.71")
    with tenant_context(batam):
        services = LocalService.objects.count()
    assert services == len(Release.objects.latest("version").snapshot["services"])
    # Each mall can be booked and called at once: hours, counters, bookable services.
    with tenant_context(batam):
        assert Counter.objects.count() == len(DEMO_COUNTERS)
        assert QueueSetting.objects.filter(online_booking=True).count() == 8
        monday = dt.date.today() + dt.timedelta(days=7 - dt.date.today().weekday())
        assert available_slots("dukcapil-ktp-el-baru", monday)
    assert any("batam" in line and "3 counters" in line for line in lines)
    # "alpha" from the fixtures is in Kepri too; the demo adds only its own seven.
    assert Tenant.objects.filter(province__code="21").count() == 8

    again: list[str] = []
    load_demo(report=again.append)
    assert Tenant.objects.filter(province__code="21").count() == 8
    assert Release.objects.count() == 1
    assert all("exists" in line for line in again)
    with tenant_context(batam):
        assert LocalService.objects.count() == services
        assert Counter.objects.count() == len(DEMO_COUNTERS)  # the reload added none
