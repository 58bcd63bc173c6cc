"""The demo: province Kepulauan Riau with its seven regencies and cities.

Loading is idempotent: what exists is kept, what is missing is created.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django_tenants.utils import tenant_context

from catalog.actions import load_master_catalogue, read_shipped_catalogue
from catalog.models import Service
from catalog.releases import latest_release, publish_release
from mall.queue.demo import seed_demo_queue
from tenants.actions import create_province
from tenants.models import Province, Tenant, TimeZone
from tenants.provisioning import TenantSpec, provision_tenant

KEPRI = {"code": "21", "name": "Kepulauan Riau", "time_zone": TimeZone.WIB}

# Kemendagri region codes; all seven are in WIB.
KEPRI_TENANTS = [
    ("batam", "Kota Batam", "kota", "21.71"),
    ("tanjungpinang", "Kota Tanjungpinang", "kota", "21.72"),
    ("bintan", "Kabupaten Bintan", "kabupaten", "21.02"),
    ("karimun", "Kabupaten Karimun", "kabupaten", "21.01"),
    ("natuna", "Kabupaten Natuna", "kabupaten", "21.03"),
    ("lingga", "Kabupaten Lingga", "kabupaten", "21.04"),
    ("anambas", "Kabupaten Kepulauan Anambas", "kabupaten", "21.05"),
]


def load_demo(report: Callable[[str], None] = print) -> list[Tenant]:
    """Make sure the master catalogue, a release, Kepri and its seven tenants exist."""
    if not Service.objects.exists():
        counts = load_master_catalogue(read_shipped_catalogue(), acting_user=None)
        report(f"master catalogue: {counts['services']} services, {counts['agencies']} agencies")
    if latest_release() is None:
        release = publish_release(acting_user=None, changelog="Katalog awal / initial catalogue")
        report(f"published catalogue release {release.version}")
    province = Province.objects.filter(code=KEPRI["code"]).first()
    if province is None:
        province = create_province(**KEPRI, acting_user=None)
        report(f"province {province.name} created")
    tenants = []
    for index, (slug, name, kind, code) in enumerate(KEPRI_TENANTS, start=1):
        tenant = Tenant.objects.filter(slug=slug).first()
        prefix = f"[{index}/{len(KEPRI_TENANTS)}] {slug:<14}"
        if tenant is not None:
            report(f"{prefix} exists ({tenant.status})")
        else:
            started = time.monotonic()
            tenant = provision_tenant(
                TenantSpec(
                    province=province, name=name, slug=slug, kind=kind, region_code=code,
                    admin_email=f"admin@{slug}.go.id",
                ),
                acting_user=None,
            )  # fmt: skip
            report(f"{prefix} provisioned in {time.monotonic() - started:.2f}s")
        with tenant_context(tenant):
            queue = seed_demo_queue()
        if queue:
            report(f"{prefix} queue: {', '.join(queue)}")
        tenants.append(tenant)
    return tenants
