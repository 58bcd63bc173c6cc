"""mpp up: migrate, load the demo and serve."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from mpp.urls_util import absolute_url
from tenants.demo import load_demo
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Migrate every schema, load the Kepulauan Riau demo (idempotent) and serve on "
        "http://localhost:8000 with each tenant at http://<slug>.localhost:8000. Ctrl-C stops "
        "the server and, when nothing else uses it, the embedded PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="default 127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo")
        parser.add_argument("--reload", action="store_true", help="restart on code changes")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate_all", verbosity=0, stdout=self.stdout)
        if not options["no_demo"]:
            load_demo(report=self.stdout.write)
        self.stdout.write("")
        self.stdout.write(f"Platform: {absolute_url(settings.PLATFORM_DOMAIN)}")
        for tenant in Tenant.objects.exclude(status=Tenant.Status.ARCHIVED).order_by("name"):
            self.stdout.write(f"  {tenant.name:<30} {absolute_url(tenant.host)}")
        self.stdout.write("")
        call_command(
            "runserver",
            options["addrport"],
            use_reloader=options["reload"],
            skip_checks=True,
            use_threading=True,
        )
