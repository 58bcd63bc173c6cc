"""mpp demo load: the Kepulauan Riau demo."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo: province Kepulauan Riau with its seven tenants (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load", help="create what is missing of the demo; keep what exists")

    def handle(self, *args: Any, **options: Any) -> None:
        load_demo(report=self.stdout.write)
