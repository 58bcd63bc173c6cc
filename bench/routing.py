"""Requests per second for one tenant page with 1 tenant vs. 500 tenants in the database.

    .venv/bin/python bench/routing.py [--tenants 500] [--requests 2000] [--rounds 5]

Each request goes through the whole Django stack (health, static, routing, session, auth
middleware, view, template) in this process via Django's test client, so the figure is the
server's own cost without socket noise. The same page is also measured with the routing
cache switched off, to show what the per-request tenant lookup would cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue


def measure(host: str, requests: int, rounds: int) -> dict[str, float]:
    """Median requests/second of ``GET /`` with the routing cache on and off.

    Rounds of the two modes alternate so that noise from a shared machine hits both alike.
    """
    from django.test import Client
    from django.test.utils import override_settings

    client = Client(HTTP_HOST=host)
    assert client.get("/").status_code == 200  # warm-up, fills the cache
    rates: dict[str, list[float]] = {"cached": [], "uncached": []}
    for _ in range(rounds):
        for mode in ("cached", "uncached"):
            with override_settings(TENANT_ROUTING_CACHE=mode == "cached"):
                started = time.perf_counter()
                for _ in range(requests):
                    client.get("/")
                rates[mode].append(requests / (time.perf_counter() - started))
    return {mode: median(values) for mode, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with bench_database():
        from django.conf import settings

        from tenants.actions import create_province
        from tenants.provisioning import TenantSpec, provision_tenant
        from tenants.routing import route_cache

        seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)

        def provision(i: int, *, seed: bool) -> None:
            provision_tenant(
                TenantSpec(
                    province=province, name=f"Kabupaten {i}", slug=f"t{i:04d}",
                    kind="kabupaten", region_code=f"{i // 100:02d}.{i % 100:02d}",
                    admin_email=f"admin@t{i:04d}.go.id",
                ),
                acting_user=None,
                seed_catalogue=seed,
            )  # fmt: skip

        provision(0, seed=True)
        host = f"t0000.{settings.PLATFORM_DOMAIN}"
        route_cache.wait_until_listening()
        one = measure(host, args.requests, args.rounds)

        # The other tenants are full tenants (own schema, admin, audit) without a catalogue:
        # routing only cares that they exist.
        for i in range(1, args.tenants):
            provision(i, seed=False)
            progress(i, args.tenants - 1, "provisioning")
        route_cache.clear()
        many = measure(host, args.requests, args.rounds)

        print(f"page: GET / on {host} (home with the full catalogue)")
        print(f"{'routing':<10}{'1 tenant':>12}{f'{args.tenants} tenants':>16}{'ratio':>8}")
        for mode in ("cached", "uncached"):
            print(
                f"{mode:<10}{one[mode]:>10.0f}/s{many[mode]:>14.0f}/s{many[mode] / one[mode]:>8.2f}"
            )
        print(f"cache gain at {args.tenants} tenants: {many['cached'] / many['uncached']:.2f}x")


if __name__ == "__main__":
    main()
