"""Apply one new migration to 100 and 500 tenant schemas: standard vs. parallel executor.

    .venv/bin/python bench/migrations.py [--tenants 100,500] [--processes 2]

A throw-away tenant app (``benchprobe``, written to a temporary folder and installed through a
settings module that extends ``mpp.settings``; nothing in the repository changes) carries one
migration of the two usual kinds: a new table with an index, and a column with a default
plus an index added to a populated table (each tenant's catalogue, 198 services).

The first tenant is provisioned as the product does (cloned template, seeded catalogue); the
others are copies of it (``mpp_clone_schema`` of its schema plus a tenant row), which builds
500 full tenants in a fraction of the time. Before each timing the migration is undone in
every tenant with plain SQL (not timed), so it is new to all of them, as after a deployment.
Then ``migrate_schemas --tenant`` (what ``mpp migrate`` runs for the tenants) applies it with
django-tenants' standard executor (one schema after another, in this process) and with its
multiprocessing executor (``TENANT_MULTIPROCESSING_MAX_PROCESSES`` forked workers), in the
same run, alternating which goes first. Prints seconds, milliseconds per schema and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import bench_database, progress, seed_catalogue

APP = "benchprobe"
FILES = {
    "__init__.py": "",
    "models.py": """
        from django.db import models


        class Probe(models.Model):
            code = models.CharField(max_length=40, db_index=True)
            created_at = models.DateTimeField(auto_now_add=True)
    """,
    "migrations/__init__.py": "",
    "migrations/0001_probe.py": """
        from django.db import migrations, models

        TABLE = "local_catalog_localservice"


        class Migration(migrations.Migration):
            dependencies = [("local_catalog", "__latest__")]
            operations = [
                migrations.CreateModel(
                    name="Probe",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("code", models.CharField(db_index=True, max_length=40)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                ),
                migrations.RunSQL(
                    f"ALTER TABLE {TABLE} ADD COLUMN bench_probe integer NOT NULL DEFAULT 0; "
                    f"CREATE INDEX {TABLE}_bench_probe ON {TABLE} (bench_probe)",
                    f"DROP INDEX {TABLE}_bench_probe; "
                    f"ALTER TABLE {TABLE} DROP COLUMN bench_probe",
                ),
            ]
    """,
    "bench_migrations_settings.py": f"""
        from mpp.settings import *  # noqa: F403

        TENANT_APPS = [*TENANT_APPS, "{APP}"]  # noqa: F405
        INSTALLED_APPS = [*INSTALLED_APPS, "{APP}"]  # noqa: F405
    """,
}


def install_probe_app() -> Path:
    """Write the throw-away app and its settings module to a temporary folder on sys.path."""
    folder = Path(tempfile.mkdtemp(prefix="mpp-bench-migrations-"))
    for name, text in FILES.items():
        path = folder / (name if name.startswith("bench_") else f"{APP}/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    sys.path.insert(0, str(folder))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_migrations_settings"
    return folder


def migrate_tenants(*, executor: str, processes: int = 2) -> float:
    """Run ``migrate_schemas --tenant`` with ``executor``; return the seconds it took."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = processes
    connections.close_all()
    started = time.perf_counter()
    call_command("migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=0)
    return time.perf_counter() - started


def tenants_with_probe() -> int:
    """How many tenant schemas have the migration applied (its column exists)."""
    from django.db import connection

    from tenants.models import Tenant

    schemas = list(Tenant.objects.values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'bench_probe' "
            "AND table_name = 'local_catalog_localservice' AND table_schema = ANY(%s)",
            [schemas],
        )
        return cursor.fetchone()[0]


EXECUTORS = ("standard", "multiprocessing")
UNDO = """
DROP TABLE IF EXISTS {schema}.benchprobe_probe;
DROP INDEX IF EXISTS {schema}.local_catalog_localservice_bench_probe;
ALTER TABLE {schema}.local_catalog_localservice DROP COLUMN IF EXISTS bench_probe;
DELETE FROM {schema}.django_migrations WHERE app = 'benchprobe';
"""


def add_tenant(province: Any, i: int) -> None:
    """Tenant number ``i``: the first provisioned in full, the others copies of it."""
    from django.db import transaction

    from tenants.models import Tenant
    from tenants.provisioning import TenantSpec, clone_schema, provision_tenant

    fields = {
        "name": f"Bench {i}",
        "slug": f"bench-{i}",
        "kind": "kabupaten",
        "region_code": f"{10 + i // 100:02d}.{i % 100:02d}",
        "admin_email": f"admin{i}@bench.go.id",
    }
    if i == 0:
        provision_tenant(TenantSpec(province=province, **fields), acting_user=None)
        return
    with transaction.atomic():
        tenant = Tenant.objects.create(
            province=province, schema_name=f"bench_{i}", time_zone=province.time_zone, **fields
        )
        clone_schema("bench_0", tenant.schema_name)


def undo_probe() -> None:
    """Undo the probe migration in every tenant schema with plain SQL, one schema at a time."""
    from django.db import connection
    from psycopg import sql

    from tenants.models import Tenant

    for schema in Tenant.objects.values_list("schema_name", flat=True):
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL(UNDO).format(schema=sql.Identifier(schema)).as_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="100,500", help="tenant counts (default 100,500)")
    parser.add_argument(
        "--processes", type=int, default=2, help="parallel executor workers (default 2)"
    )
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.tenants.split(","))
    processes = args.processes

    folder = install_probe_app()
    try:
        run(counts, processes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(counts: list[int], processes: int) -> None:
    """Build the tenants and time both executors for each count."""
    with bench_database("_migrations"):
        from django.conf import settings

        from tenants import spares
        from tenants.actions import create_province
        from tenants.models import Tenant

        settings.TENANT_SPARE_SCHEMAS = 0
        for name in spares.list_spares():
            spares.drop_spare(name)
        services = seed_catalogue()
        province = create_province(code="21", name="Kepulauan Riau", acting_user=None)
        print(f"{os.cpu_count()} CPUs; parallel executor: {processes} processes")
        print("load average at the start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        print(f"every tenant: a full tenant with a catalogue of {services} services")
        header = ("tenants", "standard s", "parallel s", "ms/schema", "ratio")
        print("{:>8} {:>11} {:>11} {:>16} {:>6}".format(*header))
        made = 0
        for index, count in enumerate(counts):
            while made < count:
                add_tenant(province, made)
                made += 1
                progress(made, count, "tenants")
            assert Tenant.objects.count() == count
            seconds = {}
            order = EXECUTORS if index % 2 == 0 else EXECUTORS[::-1]
            for executor in order:
                undo_probe()  # the migration is new to every tenant again (not timed)
                assert tenants_with_probe() == 0
                seconds[executor] = migrate_tenants(executor=executor, processes=processes)
                assert tenants_with_probe() == count
            std, par = seconds["standard"], seconds["multiprocessing"]
            per = f"{1000 * std / count:.0f} / {1000 * par / count:.0f}"
            first = "standard first" if order[0] == "standard" else "parallel first"
            print(f"{count:>8} {std:>11.1f} {par:>11.1f} {per:>16} {std / par:>5.2f}x  ({first})")
        print("ms/schema: standard / parallel; ratio: standard ÷ parallel (higher: parallel wins)")
        print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
