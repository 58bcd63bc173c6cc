"""Provision N tenants by cloning the template vs. by running migrations (same run).

    .venv/bin/python bench/provisioning.py [--tenants 20]

Prints the median seconds per tenant for each method (catalogue seeding, admin invitation
and audit included in both) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20, help="tenants per method (default 20)")
    args = parser.parse_args()

    with bench_database():
        from tenants.actions import create_province
        from tenants.provisioning import TenantSpec, provision_tenant

        services = seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        timings: dict[str, list[float]] = {"clone": [], "migrate": []}
        n = args.tenants
        # Interleave the two methods so drift on a shared machine hits both alike.
        for i in range(n):
            for method in ("clone", "migrate"):
                spec = TenantSpec(
                    province=province,
                    name=f"Bench {method} {i}",
                    slug=f"{method}-{i}",
                    kind="kabupaten",
                    region_code=f"{10 + i if method == 'clone' else 50 + i:02d}.{i % 100:02d}",
                    admin_email=f"admin{i}@{method}.go.id",
                )
                started = time.perf_counter()
                provision_tenant(spec, acting_user=None, method=method)  # type: ignore[arg-type]
                timings[method].append(time.perf_counter() - started)
            progress(i + 1, n, "provisioning")

        clone, migrate = median(timings["clone"]), median(timings["migrate"])
        print(f"catalogue: {services} services seeded into every tenant")
        print(f"tenants per method: {n}")
        for method, value in (("clone", clone), ("migrate", migrate)):
            runs = timings[method]
            print(
                f"{method:<8} median {value:.3f} s/tenant "
                f"(min {min(runs):.3f}, max {max(runs):.3f})"
            )
        print(f"ratio    clone is {migrate / clone:.1f}x faster than migrations")


if __name__ == "__main__":
    main()
