"""mpp users …: platform operators and API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token

from mpp.accounts.actions import invite_user
from mpp.accounts.models import User


class Command(BaseCommand):
    help = "Platform users: invite-operator EMAIL | token EMAIL (create or show an API token)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        invite = sub.add_parser("invite-operator", help="invite a platform operator")
        invite.add_argument("email")
        token = sub.add_parser("token", help="print the API token of a platform user")
        token.add_argument("email")
        token.add_argument("--rotate", action="store_true", help="replace the existing token")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "invite-operator":
            user, link = invite_user(
                options["email"], role=User.Role.OPERATOR, host=settings.PLATFORM_DOMAIN,
                acting_user=None,
            )  # fmt: skip
            if not user.is_superuser:
                user.is_superuser = True
                user.role = User.Role.OPERATOR
                user.save(update_fields=["is_superuser", "role"])
            self.stdout.write(f"invitation link for {user.email}: {link}")
            return
        user = User.objects.filter(email=options["email"].lower()).first()
        if user is None:
            raise CommandError(f"no platform user {options['email']!r}")
        if options["rotate"]:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
