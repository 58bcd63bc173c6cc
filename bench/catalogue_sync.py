"""Sync a release touching 10 % of 300 services to 100 tenants vs. re-seeding them.

    .venv/bin/python bench/catalogue_sync.py [--tenants 100] [--services 300] [--changed 0.1]

The shipped catalogue (198 services) is padded with variants up to ``--services`` and
published as release 1; ``--tenants`` tenants are provisioned from it, and each overrides a
few fields (some of which the next release also changes, so the sync meets kept fields and
conflicts). Release 2 changes ``--changed`` of the services. Then, in the same run:

- sync: every tenant synced to release 2 with ``sync_tenants`` (what `mpp catalogue sync
  --all` runs), one transaction per tenant;
- baseline: every tenant's catalogue wiped and seeded again from release 2 (what a system
  without three-way sync would do, losing the local edits).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, median, progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--services", type=int, default=300)
    parser.add_argument("--changed", type=float, default=0.1, help="share of services changed")
    args = parser.parse_args()

    with bench_database():
        from django.conf import settings
        from django.db import transaction
        from django_tenants.utils import tenant_context

        from catalog.actions import (
            load_master_catalogue,
            read_shipped_catalogue,
            update_master_service,
        )
        from catalog.local import actions as local
        from catalog.local.models import LocalAgency, LocalService, SyncState
        from catalog.local.seeding import seed_tenant_catalogue
        from catalog.local.sync import latest_upstream, sync_tenants
        from catalog.models import Service
        from catalog.releases import publish_release
        from tenants.actions import create_province
        from tenants.models import Tenant
        from tenants.provisioning import TenantSpec, provision_tenant

        settings.TENANT_SPARE_SCHEMAS = 0
        data = read_shipped_catalogue()
        shipped = list(data["services"])
        for i in range(args.services - len(shipped)):
            variant = dict(shipped[i % len(shipped)])
            variant["key"] = f"{variant['key']}-v{i}"
            variant["name_id"] = f"{variant['name_id']} (varian {i})"
            data["services"].append(variant)
        load_master_catalogue(data, acting_user=None)
        publish_release(acting_user=None)
        keys = sorted(s["key"] for s in data["services"])

        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        for i in range(args.tenants):
            tenant = provision_tenant(
                TenantSpec(
                    province=province, name=f"Kabupaten {i}", slug=f"t{i:04d}",
                    kind="kabupaten", region_code=f"{i // 100:02d}.{i % 100:02d}",
                    admin_email=f"admin@t{i:04d}.go.id",
                ),
                acting_user=None,
            )  # fmt: skip
            with tenant_context(tenant):
                # Local edits: a note on 3 services, the fee on 2 (one of which upstream also
                # changes below, making a conflict).
                for key in keys[i % 7 :: 97][:3]:
                    service = LocalService.objects.get(key=key)
                    local.override_field(
                        service, "fee_note", f"Catatan lokal {i}", acting_user=None
                    )
                for key in (keys[0], keys[1 + i % 50]):
                    service = LocalService.objects.get(key=key)
                    local.override_field(service, "fee", 777_000 + i, acting_user=None)
            progress(i + 1, args.tenants, "provisioning")

        changed = keys[:: max(1, round(1 / args.changed))][: round(args.services * args.changed)]
        for key in changed:
            service = Service.objects.get(key=key)
            update_master_service(
                service,
                {"fee": (service.fee or 0) + 5000, "requirements": [
                    *service.requirements, {"document": "Bukti bayar elektronik", "note": ""}]},
                acting_user=None,
            )  # fmt: skip
        publish_release(acting_user=None)
        upstream = latest_upstream()
        tenants = list(Tenant.objects.order_by("slug"))

        per_tenant: list[float] = []
        last = [time.perf_counter()]

        def tick(i: int, n: int, *_: Any) -> None:
            now = time.perf_counter()
            per_tenant.append(now - last[0])
            last[0] = now
            progress(i, n, "syncing")

        started = time.perf_counter()
        report = sync_tenants(tenants, upstream, acting_user=None, progress=tick)
        sync_total = time.perf_counter() - started
        assert not report.failed, report.failed

        reseed: list[float] = []
        for i, tenant in enumerate(tenants, start=1):
            began = time.perf_counter()
            with tenant_context(tenant), transaction.atomic():
                LocalService.objects.all().delete()
                LocalAgency.objects.all().delete()
                SyncState.objects.all().delete()
                seed_tenant_catalogue(tenant)
            reseed.append(time.perf_counter() - began)
            progress(i, len(tenants), "re-seeding")

        totals = report.totals
        print(
            f"{args.tenants} tenants x {args.services} services; release 2 changes "
            f"{len(changed)} services ({len(changed) / args.services:.0%})"
        )
        print(
            f"sync totals: applied {totals['applied']}, kept {totals['kept']}, conflicts "
            f"{totals['conflict']}, converged {totals['converged']}"
        )
        print(f"{'':<12}{'median s/tenant':>16}{'total s':>10}")
        print(f"{'sync':<12}{median(per_tenant):>16.4f}{sync_total:>10.2f}")
        print(f"{'re-seed':<12}{median(reseed):>16.4f}{sum(reseed):>10.2f}")
        print(
            f"sync is {sum(reseed) / sync_total:.1f}x faster than re-seeding"
            " (and keeps the local edits)"
        )


if __name__ == "__main__":
    main()
