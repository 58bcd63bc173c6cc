"""Requests per second for one tenant page with 1 tenant vs. 500 tenants in the database.

    .venv/bin/python bench/routing.py [--tenants 500] [--requests 1000] [--rounds 5]

Two databases are built in the same run, one with a single tenant and one with
``--tenants`` tenants. Each round then measures both, each in a fresh process, alternating,
so that noise on a shared machine and the state of a long-lived process hit both alike.
A measurement is ``--requests`` GETs of the tenant's home page (the full catalogue) through
the whole Django stack (probes, static files, routing, sessions, auth, view, template) via
Django's test client, with the routing cache on and, in alternating batches, off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import (
    create_database,
    drop_database,
    median,
    progress,
    seed_catalogue,
    use_database,
)

HOST_SLUG = "t0000"


def setup(tenants: int) -> None:
    """Build this process's database with ``tenants`` tenants (only the first seeded)."""
    create_database()
    from tenants.actions import create_province
    from tenants.provisioning import TenantSpec, provision_tenant

    seed_catalogue()
    province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
    for i in range(tenants):
        # Tenants other than the measured one are full tenants (own schema, admin, audit)
        # without a catalogue: routing only cares that they exist.
        provision_tenant(
            TenantSpec(
                province=province,
                name=f"Kabupaten {i}",
                slug=f"t{i:04d}",
                kind="kabupaten",
                region_code=f"{i // 100:02d}.{i % 100:02d}",
                admin_email=f"admin@t{i:04d}.go.id",
            ),
            acting_user=None,
            seed_catalogue=i == 0,
        )
        if tenants > 1:
            progress(i + 1, tenants, f"provisioning {tenants} tenants")


def measure(requests: int) -> dict[str, float]:
    """Requests/second with the routing cache on and off (alternating halves)."""
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from tenants.routing import route_cache

    client = Client(HTTP_HOST=f"{HOST_SLUG}.{settings.PLATFORM_DOMAIN}")
    route_cache.wait_until_listening()
    for _ in range(50):  # warm-up: imports, template compilation, connection, cache
        assert client.get("/").status_code == 200
    elapsed = {"cached": 0.0, "uncached": 0.0}
    batch = 50
    for i in range(2 * requests // batch):
        mode = "cached" if i % 2 == 0 else "uncached"
        with override_settings(TENANT_ROUTING_CACHE=mode == "cached"):
            started = time.perf_counter()
            for _ in range(batch):
                client.get("/")
            elapsed[mode] += time.perf_counter() - started
    return {mode: requests / seconds for mode, seconds in elapsed.items()}


def child(args: list[str]) -> str:
    """Run this script in a fresh process and return its standard output."""
    result = subprocess.run(
        [sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--requests", type=int, default=1000, help="requests per mode per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--role", choices=["main", "setup", "measure", "drop"], default="main")
    parser.add_argument("--db", default="")
    args = parser.parse_args()

    if args.role != "main":
        use_database(args.db)
        if args.role == "setup":
            setup(args.tenants)
        elif args.role == "measure":
            print(json.dumps(measure(args.requests)))
        else:
            drop_database()
        return

    sizes = {"1": 1, str(args.tenants): args.tenants}
    try:
        for suffix, count in sizes.items():
            child(["--role", "setup", "--db", f"_{suffix}", "--tenants", str(count)])
        rates: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for suffix in sizes:
                measured = json.loads(
                    child(
                        [
                            "--role",
                            "measure",
                            "--db",
                            f"_{suffix}",
                            "--requests",
                            str(args.requests),
                        ]
                    )
                )
                for mode, rate in measured.items():
                    rates.setdefault((mode, suffix), []).append(rate)
            progress(r + 1, args.rounds, "measuring")
    finally:
        for suffix in sizes:
            child(["--role", "drop", "--db", f"_{suffix}"])

    many = str(args.tenants)
    print(f"page: GET / on {HOST_SLUG}.<domain> (tenant home, full catalogue)")
    print(f"rounds: {args.rounds} x {args.requests} requests per mode, medians")
    print(f"{'routing':<10}{'1 tenant':>12}{f'{many} tenants':>16}{'ratio':>8}")
    for mode in ("cached", "uncached"):
        one, lots = median(rates[(mode, "1")]), median(rates[(mode, many)])
        print(f"{mode:<10}{one:>10.0f}/s{lots:>14.0f}/s{lots / one:>8.2f}")
    gain = median(rates[("cached", many)]) / median(rates[("uncached", many)])
    print(f"cache gain at {many} tenants: {gain:.2f}x")


if __name__ == "__main__":
    main()
