"""mpp mall …: a tenant's mall profile and its holidays and special closures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from mall.actions import (
    PROFILE_FIELDS,
    add_closure,
    get_mall_profile,
    local_today,
    remove_closure,
    update_mall_profile,
)
from mall.api.serializers import logo_path
from mall.hours import WEEKDAY_KEYS
from mall.models import Closure, MallProfile
from tenants.management.commands.tenants import format_errors
from tenants.models import Tenant


def profile_values(profile: MallProfile) -> dict[str, Any]:
    """The profile's fields as ``mpp mall profile`` shows and compares them."""
    values = {field: getattr(profile, field) for field in PROFILE_FIELDS if field != "logo"}
    values["logo"] = logo_path(profile)
    return values


def parse_setting(text: str) -> tuple[str, str]:
    """``field=value`` → (field, value); the value may itself contain ``=``."""
    field, sep, value = text.partition("=")
    if not sep or not field.strip():
        raise CommandError(f"--set expects field=value, got {text!r}")
    return field.strip(), value


class Command(BaseCommand):
    help = (
        "A tenant's mall: profile SLUG [--set field=value …] | "
        "closures SLUG [--all] [add YYYY-MM-DD NAME | remove YYYY-MM-DD]"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        profile = sub.add_parser("profile", help="show the mall profile, or change fields")
        profile.add_argument("slug", help="the tenant's slug")
        profile.add_argument(
            "--set", action="append", default=[], metavar="FIELD=VALUE", dest="settings",
            help=f"change a field ({', '.join(PROFILE_FIELDS)}); opening_hours is JSON, "
            'e.g. [["08:00","15:00"],…,null]; logo is a PNG/JPEG file path; an empty '
            "value clears the field",
        )  # fmt: skip

        closures = sub.add_parser("closures", help="list, add or remove closures")
        closures.add_argument("slug", help="the tenant's slug")
        closures.add_argument("--all", action="store_true", help="list past closures too")
        csub = closures.add_subparsers(dest="closure_action")
        add = csub.add_parser("add", help="close the mall on a date")
        add.add_argument("date", help="YYYY-MM-DD, today or later (the tenant's local date)")
        add.add_argument("name", help='why, e.g. "Hari Raya Natal"')
        remove = csub.add_parser("remove", help="open the mall again on a date")
        remove.add_argument("date", help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self._tenant(options["slug"])
        try:
            with tenant_context(tenant):
                getattr(self, "do_" + options["action"])(tenant, options)
        except ValidationError as exc:
            raise CommandError("invalid input:\n" + format_errors(exc)) from None

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r} (see `mpp tenants list`)")
        if tenant.status == Tenant.Status.ARCHIVED:
            # Archived tenants are off routing; their data is kept as it was, untouched.
            raise CommandError(f"tenant {slug} is archived; its mall cannot be read or changed")
        return tenant

    # --- profile -----------------------------------------------------------------------------

    def _changes(self, settings: list[str]) -> dict[str, Any]:
        """``--set`` options → the mapping ``update_mall_profile`` takes."""
        changes: dict[str, Any] = {}
        for text in settings:
            field, value = parse_setting(text)
            if field in changes:
                raise CommandError(f"{field}: given more than once")
            if field == "opening_hours":
                try:
                    changes[field] = json.loads(value) if value.strip() else None
                except json.JSONDecodeError as exc:
                    raise CommandError(f"opening_hours: not valid JSON ({exc.msg})") from None
            elif field == "logo":
                changes[field] = self._logo(value)
            else:
                changes[field] = value
        return changes

    def _logo(self, value: str) -> File | None:
        if not value.strip():
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise CommandError(f"logo: no such file {value!r}")
        # Left open for the action to check and read; do_profile closes it afterwards.
        return File(path.open("rb"), name=path.name)

    def do_profile(self, tenant: Tenant, o: dict[str, Any]) -> None:
        if o["settings"]:
            changes = self._changes(o["settings"])
            before = profile_values(get_mall_profile())
            try:
                profile = update_mall_profile(changes, acting_user=None)
            finally:
                logo = changes.get("logo")
                if logo is not None:
                    logo.close()
            changed = [f for f, v in profile_values(profile).items() if before[f] != v]
            if changed:
                self.stdout.write(
                    self.style.SUCCESS(f"{tenant.slug}: changed {', '.join(changed)}")
                )
            else:
                self.stdout.write(f"{tenant.slug}: nothing changed")
        self._show_profile(get_mall_profile())

    def _show_profile(self, profile: MallProfile) -> None:
        values = profile_values(profile)
        for field in ("display_name", "address", "phone", "email", "accent_color", "logo"):
            text = str(values[field] or "-").replace("\n", "\n" + " " * 15)
            self.stdout.write(f"{field:<15}{text}")
        hours = values["opening_hours"]
        if not hours:
            self.stdout.write(f"{'opening_hours':<15}-")
            return
        self.stdout.write(f"{'opening_hours':<15}{json.dumps(hours)}")
        for key, day in zip(WEEKDAY_KEYS, hours, strict=False):
            self.stdout.write(f"  {key:<13}{'closed' if day is None else '–'.join(day)}")

    # --- closures ----------------------------------------------------------------------------

    def do_closures(self, tenant: Tenant, o: dict[str, Any]) -> None:
        action = o["closure_action"]
        if action == "add":
            closure = add_closure(o["date"], o["name"], acting_user=None)
            self.stdout.write(
                self.style.SUCCESS(
                    f"{tenant.slug}: closed on {closure.date:%Y-%m-%d}: {closure.name}"
                )
            )
            return
        if action == "remove":
            remove_closure(o["date"], acting_user=None)
            self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: open again on {o['date']}"))
            return
        closures = Closure.objects.order_by("date")
        if not o["all"]:
            closures = closures.filter(date__gte=local_today())
        rows = list(closures)
        for closure in rows:
            self.stdout.write(f"{closure.date:%Y-%m-%d}  {closure.name}")
        which = "closure(s)" if o["all"] else "upcoming closure(s)"
        self.stdout.write(f"{len(rows)} {which}")
