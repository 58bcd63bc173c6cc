"""Province dashboard with many tenants: the rollup vs. the naive per-schema query (same run).

    .venv/bin/python bench/dashboard.py [--tenants 500] [--rounds 7] [--customised 50]

Builds a throw-away database with ``--tenants`` full tenants in one province (own schema,
the shipped catalogue, invited admin, audit rows — ``provision_tenant`` with spares), a
share of them customised through the local-admin actions (an override, a local service,
a disabled service). Provisioning queues one statistics refresh per tenant; one worker
(``mpp worker --batch``) carries them out, timed, and so is ``mpp stats rebuild``.

Then, alternating within each round so drift hits both alike, it times the province
dashboard page (``GET /provinsi/21/``: the overview table, the SVG charts, signed in), the
overview served by the API (``GET /api/v1/stats/provinces/21/``, token auth, JSON) and the
read function alone, each way:

- rollup: ``province_overview`` — two queries on the public schema;
- naive:  ``province_overview_naive`` — opens every tenant schema and counts there (the
          same view, with the read function swapped).

On the naive page only the table is read from the schemas; its charts still come from the
rollup, so the page's ratio understates what a fully naive page would cost.

Prints medians and the ratio. Targets: rollup under 200 ms and at least 20x faster.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue

# Refreshes are queued in the database and worked by a worker below, as in production.
os.environ.setdefault("TASKS_BACKEND", "database")


def provision(count: int, customised: int) -> Any:
    """One province with ``count`` seeded tenants; the first ``customised`` are edited."""
    from django_tenants.utils import tenant_context

    from catalog.local import actions as local
    from catalog.local.models import LocalService
    from tenants.actions import create_province
    from tenants.provisioning import TenantSpec, provision_tenant

    province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
    started = time.perf_counter()
    for i in range(count):
        tenant = provision_tenant(
            TenantSpec(
                province=province,
                name=f"Kabupaten {i:04d}",
                slug=f"t{i:04d}",
                kind="kabupaten",
                region_code=f"{10 + i // 100:02d}.{i % 100:02d}",
                admin_email=f"admin@t{i:04d}.go.id",
            ),
            acting_user=None,
        )
        if i < customised:
            with tenant_context(tenant):
                services = list(LocalService.objects.order_by("key")[:2])
                local.override_field(services[0], "fee_note", "Bayar di bank", acting_user=None)
                local.set_enabled(services[1], False, acting_user=None)
                local.create_local_service(
                    {
                        "key": f"t{i:04d}-antar-berkas",
                        "name_id": "Antar berkas ke pulau",
                        "agency_code": services[0].agency_code,
                    },
                    acting_user=None,
                )
        progress(i + 1, count, f"provisioning {count} tenants")
    return province, time.perf_counter() - started


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7, help="naive readings per way")
    parser.add_argument("--rollup-per-round", type=int, default=10)
    parser.add_argument("--customised", type=int, default=50)
    args = parser.parse_args()

    with bench_database("_dashboard"):
        from django.core.management import call_command
        from django.test import Client
        from django_tasks_db.models import DBTaskResult
        from rest_framework.authtoken.models import Token
        from rest_framework.test import APIClient

        from mpp.accounts.models import User
        from mpp.console import views as console
        from stats import api
        from stats.queries import province_overview, province_overview_naive
        from stats.rollup import rebuild_all
        from tenants.routing import route_cache

        services = seed_catalogue()
        province, provisioning_s = provision(args.tenants, args.customised)
        queued = DBTaskResult.objects.filter(status="READY").count()
        worker_s = timed(
            lambda: call_command("worker", "--batch", "--verbosity", "0", stdout=io.StringIO())
        )
        done = DBTaskResult.objects.filter(status="SUCCESSFUL").count()
        rebuild_s = timed(
            lambda: rebuild_all(
                acting_user=None,
                progress=lambda i, n, t, e: progress(i, n, "stats rebuild"),
            )
        )
        rollup_rows, naive_rows = province_overview(province), province_overview_naive(province)
        assert rollup_rows == naive_rows, "the rollup disagrees with the tenant schemas"
        assert len(rollup_rows) == args.tenants

        operator = User.objects.create_user("ops@bench.test", role="operator", is_superuser=True)
        client = APIClient(HTTP_HOST="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=operator).key}")
        route_cache.wait_until_listening()
        url = f"/api/v1/stats/provinces/{province.code}/"

        browser = Client(HTTP_HOST="localhost")
        browser.force_login(operator)
        page_url = f"/provinsi/{province.code}/"

        def get(read: Callable[[Any], Any]) -> None:
            api.province_overview = read  # the view's read function: rollup or naive
            response = client.get(url)
            assert response.status_code == 200 and len(response.json()["tenants"]) == args.tenants

        def page(read: Callable[[Any], Any]) -> None:
            console.province_overview = read
            response = browser.get(page_url)
            assert response.status_code == 200 and response.content.count(b"<tr>") > args.tenants

        for _ in range(3):  # warm-up: imports, connection, plans
            for read in (province_overview, province_overview_naive):
                get(read)
                page(read)
        ways = ("page rollup", "page naive", "api rollup", "api naive", "fn rollup", "fn naive")
        times: dict[str, list[float]] = {way: [] for way in ways}
        for r in range(args.rounds):
            for _ in range(args.rollup_per_round):
                times["page rollup"].append(timed(lambda: page(province_overview)))
                times["api rollup"].append(timed(lambda: get(province_overview)))
                times["fn rollup"].append(timed(lambda: province_overview(province)))
            times["page naive"].append(timed(lambda: page(province_overview_naive)))
            times["api naive"].append(timed(lambda: get(province_overview_naive)))
            times["fn naive"].append(timed(lambda: province_overview_naive(province)))
            progress(r + 1, args.rounds, "measuring")
        api.province_overview = province_overview
        console.province_overview = province_overview

    n = args.tenants
    print(f"{n} tenants in one province, {services} services each, {args.customised} customised")
    print(f"provisioning: {provisioning_s:.1f}s ({provisioning_s / n:.3f}s/tenant)")
    print(f"refresh tasks: {queued} queued (provisioning and edits), {done} done by one worker in "
          f"{worker_s:.1f}s ({worker_s / max(done, 1) * 1000:.1f} ms/task)")  # fmt: skip
    print(f"mpp stats rebuild: {rebuild_s:.1f}s ({rebuild_s / n * 1000:.1f} ms/tenant)")
    print(f"rounds: {args.rounds}; rollup {args.rollup_per_round}x per round; medians")
    print(f"{'overview of 21':<38}{'rollup ms':>11}{'naive ms':>11}{'naive/rollup':>14}")
    for way, label in (
        ("page", "GET /provinsi/21/ (dashboard page)"),
        ("api", "GET /api/v1/stats/provinces/21/"),
        ("fn", "read function alone"),
    ):
        rollup, naive = median(times[f"{way} rollup"]), median(times[f"{way} naive"])
        print(f"{label:<38}{rollup * 1000:>11.1f}{naive * 1000:>11.1f}{naive / rollup:>13.0f}x")


if __name__ == "__main__":
    main()
