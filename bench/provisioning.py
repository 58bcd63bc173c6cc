"""Provision N tenants by cloning the template vs. by running migrations (same run).

    .venv/bin/python bench/provisioning.py [--tenants 20]

Both methods go through ``provision_tenant`` (tenant row, schema, catalogue seeding, invited
admin, audit rows, one transaction); they differ only in how the schema is built. Prints the
median seconds per tenant for the schema step alone and for the whole provisioning, and the
ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress, seed_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20, help="tenants per method (default 20)")
    args = parser.parse_args()

    with bench_database():
        from tenants import provisioning
        from tenants.actions import create_province
        from tenants.provisioning import TenantSpec, provision_tenant

        services = seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        step: dict[str, list[float]] = {"clone": [], "migrate": []}
        total: dict[str, list[float]] = {"clone": [], "migrate": []}

        def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*a: Any, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    step[name].append(time.perf_counter() - started)

            return wrapper

        # Instrument the two schema builders (the only difference between the methods).
        provisioning.clone_schema = timed("clone", provisioning.clone_schema)
        provisioning.migrate_schema = timed("migrate", provisioning.migrate_schema)

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
                total[method].append(time.perf_counter() - started)
            progress(i + 1, n, "provisioning")

        print(f"catalogue: {services} services seeded into every tenant; {n} tenants per method")
        print(f"{'median s/tenant':<22}{'clone':>10}{'migrate':>10}{'ratio':>8}")
        for label, series in (("schema step", step), ("whole provisioning", total)):
            c, m = median(series["clone"]), median(series["migrate"])
            print(f"{label:<22}{c:>10.3f}{m:>10.3f}{m / c:>7.1f}x")


if __name__ == "__main__":
    main()
