"""Citizen portal: requests/second, median latency and page weight vs. a static file.

    .venv/bin/python bench/portal.py [--requests 300] [--rounds 5]

One tenant with the shipped 198-service catalogue. Each round times ``--requests`` GETs of
the home page, a search, a service page and, as the baseline, the stylesheet served by the
same stack (WhiteNoise inside the same Django process), through Django's test client — the
server's own cost, without socket noise. The pages alternate within each round so noise on
a shared machine hits all alike. Page weight is the gzip-compressed size of the HTML.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue

PAGES = {
    "static file (baseline)": "/static/mpp/site.css",
    "home": "/",
    "search 'akte kelahiran'": "/cari/?q=akte+kelahiran",
    "service page": "/layanan/satpas-sim-a-baru/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with bench_database():
        from django.conf import settings
        from django.test import Client

        from tenants.actions import create_province
        from tenants.provisioning import TenantSpec, provision_tenant
        from tenants.routing import route_cache

        settings.TENANT_SPARE_SCHEMAS = 0
        services = seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        provision_tenant(
            TenantSpec(
                province=province, name="Kabupaten Kepulauan Anambas", slug="anambas",
                kind="kabupaten", region_code="21.05", admin_email="admin@anambas.go.id",
            ),
            acting_user=None,
        )  # fmt: skip
        route_cache.wait_until_listening()
        client = Client(HTTP_HOST=f"anambas.{settings.PLATFORM_DOMAIN}")
        weights = {}
        for name, path in PAGES.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            body = b"".join(response) if response.streaming else response.content
            weights[name] = (len(body), len(gzip.compress(body)))
            for _ in range(20):  # warm-up
                client.get(path)

        latencies: dict[str, list[float]] = {name: [] for name in PAGES}
        rates: dict[str, list[float]] = {name: [] for name in PAGES}
        for r in range(args.rounds):
            for name, path in PAGES.items():
                started = time.perf_counter()
                for _ in range(args.requests):
                    began = time.perf_counter()
                    response = client.get(path)
                    if response.streaming:
                        b"".join(response)
                    latencies[name].append(time.perf_counter() - began)
                rates[name].append(args.requests / (time.perf_counter() - started))
            progress(r + 1, args.rounds, "measuring")

        baseline = median(rates["static file (baseline)"])
        print(f"tenant catalogue: {services} services; {args.rounds} rounds x {args.requests}")
        print(f"{'page':<26}{'req/s':>8}{'median ms':>11}{'vs static':>11}{'bytes':>9}{'gzip':>8}")
        for name in PAGES:
            rate = median(rates[name])
            raw, packed = weights[name]
            print(
                f"{name:<26}{rate:>8.0f}{median(latencies[name]) * 1000:>11.2f}"
                f"{rate / baseline:>10.2f}x{raw:>9}{packed:>8}"
            )


if __name__ == "__main__":
    main()
