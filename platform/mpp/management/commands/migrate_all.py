"""mpp migrate: public schema, then the template, then every tenant schema."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from tenants.models import Tenant
from tenants.provisioning import ensure_template


class Command(BaseCommand):
    help = (
        "Migrate every schema: public (control plane), the tenant template, then each tenant "
        "with a progress line per schema. --parallel N uses django-tenants' multiprocessing "
        "executor."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--parallel", type=int, default=0, metavar="N",
            help="migrate tenant schemas in N worker processes (default: one by one)",
        )  # fmt: skip
        parser.add_argument(
            "--skip-tenants", action="store_true", help="only the public and template schemas"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        started = time.monotonic()
        self.stdout.write("[public] migrating the control plane…")
        call_command(
            "migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0)
        )
        self.stdout.write(f"[template] {ensure_template(verbosity=max(verbosity - 1, 0))}")
        if options["skip_tenants"]:
            return
        count = Tenant.objects.count()
        if count:
            executor = "multiprocessing" if options["parallel"] > 1 else "standard"
            self.stdout.write(f"[tenants] {count} schemas, executor {executor}")
            if executor == "multiprocessing":
                from django.conf import settings

                settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = options["parallel"]
            # django-tenants prefixes each line with [done/total (percent) executor:schema].
            call_command(
                "migrate_schemas",
                tenant=True,
                executor=executor,
                interactive=False,
                verbosity=max(verbosity, 1),
                stdout=self.stdout,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"migrated public, template and {count} tenant schemas "
                f"in {time.monotonic() - started:.1f}s"
            )
        )
