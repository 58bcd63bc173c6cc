"""Citizen portal: requests/second, median latency and page weight vs. a static file.

    .venv/bin/python bench/portal.py [--requests 300] [--rounds 5]

One tenant with the shipped 198-service catalogue. Each round times ``--requests`` GETs of
the home page, a search, a service page — each rendered (page cache off) and from the page
cache — and, as the baseline, the stylesheet served by the same stack (WhiteNoise inside
the same Django process), through Django's test client: the server's own cost, without
socket noise. The pages alternate within each round so noise on a shared machine hits all
alike. Requests ask for gzip as browsers do; page weight is the body as sent (compressed
by the server) beside its uncompressed size.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue

# name -> (path, served from the page cache?)
PAGES = {
    "static file (baseline)": ("/static/mpp/site.css", True),
    "home, rendered": ("/", False),
    "home, cached": ("/", True),
    "search, rendered": ("/cari/?q=akte+kelahiran", False),
    "search, cached": ("/cari/?q=akte+kelahiran", True),
    "service page, rendered": ("/layanan/satpas-sim-a-baru/", False),
    "service page, cached": ("/layanan/satpas-sim-a-baru/", True),
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
        client = Client(
            HTTP_HOST=f"anambas.{settings.PLATFORM_DOMAIN}", HTTP_ACCEPT_ENCODING="gzip"
        )
        cache_seconds = settings.PORTAL_CACHE_SECONDS

        def get(path: str, cached: bool) -> tuple[bytes, bool]:
            settings.PORTAL_CACHE_SECONDS = cache_seconds if cached else 0
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            if cached and path != "/static/mpp/site.css":
                assert response.has_header("X-Page-Cache"), path
            body = b"".join(response) if response.streaming else response.content
            return body, response.get("Content-Encoding") == "gzip"

        weights = {}
        for name, (path, cached) in PAGES.items():
            body, packed = get(path, cached)
            # The stylesheet is sent pre-compressed by WhiteNoise once collectstatic has run
            # (as `mpp up` and the image do); here it comes from the source folder as is.
            raw = gzip.decompress(body) if packed else body
            weights[name] = (len(raw), len(body) if packed else len(gzip.compress(raw)))
            for _ in range(20):  # warm-up
                get(path, cached)

        latencies: dict[str, list[float]] = {name: [] for name in PAGES}
        rates: dict[str, list[float]] = {name: [] for name in PAGES}
        for r in range(args.rounds):
            for name, (path, cached) in PAGES.items():
                started = time.perf_counter()
                for _ in range(args.requests):
                    began = time.perf_counter()
                    get(path, cached)
                    latencies[name].append(time.perf_counter() - began)
                rates[name].append(args.requests / (time.perf_counter() - started))
            progress(r + 1, args.rounds, "measuring")

        baseline = median(rates["static file (baseline)"])
        print(f"tenant catalogue: {services} services; {args.rounds} rounds x {args.requests}")
        print(f"{'page':<26}{'req/s':>8}{'median ms':>11}{'vs static':>11}{'bytes':>9}{'sent':>8}")
        for name in PAGES:
            rate = median(rates[name])
            raw, packed = weights[name]
            print(
                f"{name:<26}{rate:>8.0f}{median(latencies[name]) * 1000:>11.2f}"
                f"{rate / baseline:>10.2f}x{raw:>9}{packed:>8}"
            )


if __name__ == "__main__":
    main()
