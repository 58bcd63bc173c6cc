"""mpp migrate: public schema, then the template, then every tenant schema."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.signals import schema_migrated

from tenants import spares
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
            "--parallel",
            type=int,
            default=0,
            metavar="N",
            help="migrate tenant schemas in N worker processes (default: one by one)",
        )
        parser.add_argument(
            "--skip-tenants", action="store_true", help="only the public and template schemas"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # -v 2 and up shows Django's own migration output under each schema's line.
        inner = max(int(options["verbosity"]) - 1, 0)
        started = time.monotonic()
        self.stdout.write("[public] migrating the control plane…")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=inner)
        self.stdout.write(f"[template] {ensure_template(verbosity=inner)}")
        made = spares.refill()
        self.stdout.write(f"[spares] {len(spares.list_spares())} ready ({made} new)")
        if options["skip_tenants"]:
            return
        total = Tenant.objects.count()
        if total:
            executor = "multiprocessing" if options["parallel"] > 1 else "standard"
            if executor == "multiprocessing":
                settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = options["parallel"]
            self.stdout.write(f"[tenants] {total} schemas, executor {executor}")
            done = 0

            def report(sender: Any, schema_name: str, **kwargs: Any) -> None:
                nonlocal done
                done += 1
                self.stdout.write(f"[{done}/{total}] {schema_name} migrated")
                self.stdout.flush()

            # Worker processes of the multiprocessing executor cannot update this counter;
            # there django-tenants' own "[done/total (percent%) …]" lines are the progress.
            if executor == "standard":
                schema_migrated.connect(report, weak=False, dispatch_uid="mpp-migrate-progress")
            try:
                call_command(
                    "migrate_schemas",
                    tenant=True,
                    executor=executor,
                    interactive=False,
                    verbosity=inner if executor == "standard" else max(inner, 1),
                )
            finally:
                schema_migrated.disconnect(dispatch_uid="mpp-migrate-progress")
        self.stdout.write(
            self.style.SUCCESS(
                f"migrated public, template and {total} tenant schemas "
                f"in {time.monotonic() - started:.1f}s"
            )
        )
