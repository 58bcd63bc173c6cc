"""mpp provinces …: create and list provinces, add province admins."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from mpp.accounts.actions import invite_user
from mpp.accounts.models import User
from tenants.actions import create_province
from tenants.management.commands.tenants import format_errors
from tenants.models import Province, TimeZone


class Command(BaseCommand):
    help = "Manage provinces: create | list | add-admin"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a province")
        create.add_argument("--code", required=True, help="two-digit region code, e.g. 21")
        create.add_argument("--name", required=True, help="e.g. 'Kepulauan Riau'")
        create.add_argument(
            "--time-zone", default="", choices=["", *[t for t, _ in TimeZone.choices]]
        )
        sub.add_parser("list", help="list provinces")
        admin = sub.add_parser("add-admin", help="invite a province admin by e-mail")
        admin.add_argument("--province", required=True, help="province code")
        admin.add_argument("--email", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "do_" + options["action"].replace("-", "_"))(options)
        except ValidationError as exc:
            raise CommandError("invalid input:\n" + format_errors(exc)) from None

    def do_create(self, o: dict[str, Any]) -> None:
        p = create_province(
            code=o["code"], name=o["name"], time_zone=o["time_zone"], acting_user=None
        )
        self.stdout.write(self.style.SUCCESS(f"created province {p.code} {p.name}"))

    def do_list(self, o: dict[str, Any]) -> None:
        for p in Province.objects.annotate(n=Count("tenants")).order_by("code"):
            self.stdout.write(f"{p.code:<4}{p.name:<30}{p.time_zone:<16}{p.n} tenant(s)")

    def do_add_admin(self, o: dict[str, Any]) -> None:
        from django.conf import settings

        province = Province.objects.filter(code=o["province"]).first()
        if province is None:
            raise CommandError(f"no province with code {o['province']!r}")
        user, link = invite_user(
            o["email"],
            role=User.Role.PROVINCE_ADMIN,
            host=settings.PLATFORM_DOMAIN,
            acting_user=None,
        )
        province.admins.add(user)
        self.stdout.write(self.style.SUCCESS(f"{user.email} administers {province.name}"))
        self.stdout.write(f"invitation link: {link}")
