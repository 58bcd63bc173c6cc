"""Provision N tenants by cloning the template vs. by running migrations (same run).

    .venv/bin/python bench/provisioning.py [--tenants 20]

Every tenant goes through ``provision_tenant`` (tenant row, schema, catalogue seeding,
invited admin, audit rows, one transaction); the methods differ only in how the schema is
built:

- spare:   a clone of the template made ahead of time is renamed into place (what
           provisioning does when the spare pool has one ready; the pool is refilled here
           outside the timed window, as the background refill does in production);
- clone:   the template is cloned on the spot (what happens when the pool is empty);
- migrate: every migration is run, as django-tenants does by default.

Prints the median seconds per tenant for the schema step alone and for the whole
provisioning, and the ratio of each method against migrations.
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

METHODS = ("spare", "clone", "migrate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20, help="tenants per method (default 20)")
    args = parser.parse_args()

    with bench_database():
        from django.conf import settings

        from tenants import provisioning, spares
        from tenants.actions import create_province
        from tenants.provisioning import TenantSpec, provision_tenant

        settings.TENANT_SPARE_SCHEMAS = 0  # refills happen below, outside the timings
        for name in spares.list_spares():  # made by `mpp migrate` when the database was built
            spares.drop_spare(name)
        services = seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        step: dict[str, list[float]] = {m: [] for m in METHODS}
        total: dict[str, list[float]] = {m: [] for m in METHODS}
        schema_seconds = [0.0]  # time spent building the schema in the current provisioning

        def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*a: Any, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    schema_seconds[0] += time.perf_counter() - started

            return wrapper

        # Instrument the schema builders: the only thing that differs between the methods.
        provisioning.clone_schema = timed(provisioning.clone_schema)
        provisioning.migrate_schema = timed(provisioning.migrate_schema)
        spares.claim_spare = timed(spares.claim_spare)

        n = args.tenants
        # Interleave the methods so drift on a shared machine hits all alike.
        for i in range(n):
            for index, method in enumerate(METHODS):
                if method == "spare":
                    spares.refill(1)
                spec = TenantSpec(
                    province=province,
                    name=f"Bench {method} {i}",
                    slug=f"{method}-{i}",
                    kind="kabupaten",
                    region_code=f"{10 + 30 * index + i // 100:02d}.{i % 100:02d}",
                    admin_email=f"admin{i}@{method}.go.id",
                )
                schema_seconds[0] = 0.0
                started = time.perf_counter()
                provision_tenant(
                    spec, acting_user=None, method="migrate" if method == "migrate" else "clone"
                )
                total[method].append(time.perf_counter() - started)
                step[method].append(schema_seconds[0])
                assert not spares.list_spares()  # the spare was used, none was made
            progress(i + 1, n, "provisioning")

        print(f"catalogue: {services} services seeded into every tenant; {n} tenants per method")
        print(f"{'median s/tenant':<22}" + "".join(f"{m:>10}" for m in METHODS))
        for label, series in (("schema step", step), ("whole provisioning", total)):
            values = [median(series[m]) for m in METHODS]
            print(f"{label:<22}" + "".join(f"{v:>10.4f}" for v in values))
        print("ratio against migrate (higher is faster):")
        for label, series in (("schema step", step), ("whole provisioning", total)):
            m = median(series["migrate"])
            ratios = "  ".join(f"{x} {m / median(series[x]):.1f}x" for x in ("spare", "clone"))
            print(f"  {label:<20} {ratios}")


if __name__ == "__main__":
    main()
