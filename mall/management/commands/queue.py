"""mpp queue …: a tenant's counters, queue settings and queue statistics.

The command only parses arguments and calls ``save_counter`` / ``save_queue_setting`` (and
``mall.queue.reports`` to read figures) inside the tenant's schema, so it follows the same
rules as the staff pages and the API. Bad input is printed per option and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from catalog.local.models import LocalService
from mall.queue.actions import save_counter, save_queue_setting
from mall.queue.models import Counter, QueueSetting
from mall.queue.reports import Figures, build_report, local_today, parse_range, report_json
from mpp.accounts.models import User
from tenants.management.commands.tenants import format_errors
from tenants.models import Tenant

# The actions' field names as this command's options, so an error names what was typed.
OPTION_NAMES = {
    "name": "--name",
    "agency_code": "--agency",
    "prefix": "--prefix",
    "service_keys": "--services",
    "officers": "--officers",
    "counter": "--id",
    "service_key": "SERVICE",
    "slot_minutes": "--slot-minutes",
    "slot_capacity": "--capacity",
    "daily_quota": "--quota",
    "--from": "--from",
    "--to": "--to",
}
TIME_FIGURES = ("wait_median_s", "wait_p90_s", "service_median_s", "service_p90_s")


def as_options(exc: ValidationError) -> ValidationError:
    """``exc`` with its fields renamed to the options that carry them."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {OPTION_NAMES.get(field, field): msgs for field, msgs in exc.message_dict.items()}
    )


def split_list(text: str | None) -> list[str] | None:
    """``"a, b,,c"`` → ``["a", "b", "c"]``; None stays None (the option was not given)."""
    if text is None:
        return None
    return [item.strip() for item in text.split(",") if item.strip()]


def minutes(seconds: int | None) -> str:
    """Seconds as minutes with one decimal, ``-`` for none."""
    return "-" if seconds is None else f"{seconds / 60:.1f}"


class Command(BaseCommand):
    help = (
        "A tenant's queue: counters SLUG | counter SLUG [--id N] --name … --agency … "
        "--prefix … --services a,b [--officers e-mail,…] [--inactive] [--priority-lane] | "
        "settings SLUG [SERVICE --slot-minutes N --capacity N --quota N --online/--no-online] "
        "| stats SLUG [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        counters = sub.add_parser("counters", help="list the counters")
        counters.add_argument("slug", help="the tenant's slug")

        counter = sub.add_parser(
            "counter", help="create a counter, or change one with --id (unset options: kept)"
        )
        counter.add_argument("slug", help="the tenant's slug")
        counter.add_argument("--id", type=int, dest="counter_id", help="the counter to change")
        counter.add_argument("--name", help='e.g. "Loket 3"')
        counter.add_argument("--agency", help="agency code, e.g. dukcapil")
        counter.add_argument("--prefix", help="ticket prefix, 2–4 letters, e.g. DKP")
        counter.add_argument("--services", help="service keys of that agency, comma-separated")
        counter.add_argument(
            "--officers", help="officers' e-mail addresses, comma-separated ('' for none)"
        )
        active = counter.add_mutually_exclusive_group()
        active.add_argument("--inactive", dest="active", action="store_false", default=None)
        active.add_argument("--active", dest="active", action="store_true", default=None)
        lane = counter.add_mutually_exclusive_group()
        lane.add_argument(
            "--priority-lane", dest="priority_lane", action="store_true", default=None,
            help="serve elderly, disabled and pregnant citizens first",
        )  # fmt: skip
        lane.add_argument(
            "--no-priority-lane", dest="priority_lane", action="store_false", default=None
        )

        settings = sub.add_parser(
            "settings", help="list the queue settings, or set one service's (unset: kept)"
        )
        settings.add_argument("slug", help="the tenant's slug")
        settings.add_argument("service", nargs="?", help="the service key to set")
        settings.add_argument("--slot-minutes", help="5–120")
        settings.add_argument("--capacity", help="citizens per slot, 1–500")
        settings.add_argument("--quota", help="tickets and bookings a day, 1–100000")
        online = settings.add_mutually_exclusive_group()
        online.add_argument("--online", dest="online", action="store_true", default=None)
        online.add_argument("--no-online", dest="online", action="store_false", default=None)

        stats = sub.add_parser("stats", help="queue figures for a range of local dates")
        stats.add_argument("slug", help="the tenant's slug")
        stats.add_argument("--from", dest="first", help="YYYY-MM-DD (default: local today)")
        stats.add_argument("--to", dest="last", help="YYYY-MM-DD (default: local today)")
        stats.add_argument("--json", action="store_true", help="machine-readable, seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self._tenant(options["slug"])
        try:
            with tenant_context(tenant):
                getattr(self, "do_" + options["action"])(tenant, options)
        except ValidationError as exc:
            raise CommandError("invalid input:\n" + format_errors(as_options(exc))) from None

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r} (see `mpp tenants list`)")
        if tenant.status == Tenant.Status.ARCHIVED:
            raise CommandError(f"tenant {slug} is archived; its queue cannot be read or changed")
        return tenant

    # --- counters ----------------------------------------------------------------------------

    def do_counters(self, tenant: Tenant, o: dict[str, Any]) -> None:
        counters = list(Counter.objects.prefetch_related("officers").order_by("name"))
        for c in counters:
            flags = [] if c.active else ["inactive"]
            flags += ["priority lane"] if c.priority_lane else []
            self.stdout.write(
                f"{c.pk:>4}  {c.name:<20} {c.agency_code:<20} {c.prefix:<5}"
                f"{' [' + ', '.join(flags) + ']' if flags else ''}"
            )
            self.stdout.write(f"      services: {', '.join(c.service_keys) or '-'}")
            emails = ", ".join(u.email for u in c.officers.all())
            self.stdout.write(f"      officers: {emails or '- (tenant admins only)'}")
        self.stdout.write(f"{len(counters)} counter(s)")

    def _officers(self, emails: list[str]) -> list[int]:
        """E-mail addresses → user ids; an unknown address is an error on --officers."""
        found = dict(
            User.objects.filter(email__in=[e.lower() for e in emails]).values_list("email", "pk")
        )
        unknown = [e for e in emails if e.lower() not in found]
        if unknown:
            raise ValidationError({"officers": [f"unknown officer(s): {', '.join(unknown)}"]})
        return [found[e.lower()] for e in emails]

    def do_counter(self, tenant: Tenant, o: dict[str, Any]) -> None:
        counter = None
        if o["counter_id"] is not None:
            counter = (
                Counter.objects.prefetch_related("officers").filter(pk=o["counter_id"]).first()
            )
            if counter is None:
                raise CommandError(
                    f"no counter with id {o['counter_id']} in {tenant.slug} "
                    f"(see `mpp queue counters {tenant.slug}`)"
                )
        emails = split_list(o["officers"])
        if emails is None:
            officers = [u.pk for u in counter.officers.all()] if counter else []
        else:
            officers = self._officers(emails)

        def given(option: str, current: Any, default: Any) -> Any:
            value = o[option]
            if value is not None:
                return value
            return current if counter is not None else default

        saved = save_counter(
            counter,
            name=given("name", getattr(counter, "name", ""), ""),
            agency_code=given("agency", getattr(counter, "agency_code", ""), ""),
            prefix=given("prefix", getattr(counter, "prefix", ""), ""),
            service_keys=(
                split_list(o["services"])
                if o["services"] is not None
                else (list(counter.service_keys) if counter else [])
            ),
            officers=officers,
            active=given("active", getattr(counter, "active", True), True),
            priority_lane=given("priority_lane", getattr(counter, "priority_lane", False), False),
            acting_user=None,
        )
        verb = "changed" if counter is not None else "created"
        self.stdout.write(
            self.style.SUCCESS(f"{tenant.slug}: counter {saved.pk} ({saved.name}) {verb}")
        )

    # --- settings ----------------------------------------------------------------------------

    def do_settings(self, tenant: Tenant, o: dict[str, Any]) -> None:
        if o["service"] is not None:
            self._set(tenant, o)
            return
        if any(o[k] is not None for k in ("slot_minutes", "capacity", "quota", "online")):
            raise CommandError("name the SERVICE whose setting to change")
        saved = {s.service_key: s for s in QueueSetting.objects.all()}
        served = {
            k for keys in Counter.objects.values_list("service_keys", flat=True) for k in keys
        }
        keys = sorted(served | set(saved))
        retired = set(
            LocalService.objects.filter(key__in=keys, retired=True).values_list("key", flat=True)
        )
        self.stdout.write(f"{'service':<45} slot  cap.  quota  online")
        for key in keys:
            s = saved.get(key) or QueueSetting(service_key=key)
            notes = [] if key in saved else ["default"]
            notes += ["retired"] if key in retired else []
            self.stdout.write(
                f"{key:<45} {s.slot_minutes:>4} {s.slot_capacity:>5} {s.daily_quota:>6}  "
                f"{'yes' if s.online_booking else 'no':<6}"
                f"{' (' + ', '.join(notes) + ')' if notes else ''}"
            )
        self.stdout.write(f"{len(keys)} service(s)")

    def _set(self, tenant: Tenant, o: dict[str, Any]) -> None:
        key = o["service"]
        current = QueueSetting.objects.filter(service_key=key).first() or QueueSetting()

        def pick(option: str, field: str) -> Any:
            return o[option] if o[option] is not None else getattr(current, field)

        setting = save_queue_setting(
            key,
            slot_minutes=pick("slot_minutes", "slot_minutes"),
            slot_capacity=pick("capacity", "slot_capacity"),
            daily_quota=pick("quota", "daily_quota"),
            online_booking=pick("online", "online_booking"),
            acting_user=None,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{tenant.slug}: {setting.service_key}: slot {setting.slot_minutes} min, "
                f"capacity {setting.slot_capacity}, quota {setting.daily_quota}, "
                f"online booking {'yes' if setting.online_booking else 'no'}"
            )
        )

    # --- stats -------------------------------------------------------------------------------

    def do_stats(self, tenant: Tenant, o: dict[str, Any]) -> None:
        first, last = parse_range(
            o["first"], o["last"], today=local_today(), fields=("--from", "--to")
        )
        report = build_report(first, last)
        if o["json"]:
            data = {"tenant": tenant.slug, "time_zone": tenant.time_zone} | report_json(report)
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        self.stdout.write(
            f"{tenant.slug}: {first:%Y-%m-%d} – {last:%Y-%m-%d} ({tenant.time_zone}); "
            "times in minutes"
        )
        header = f"{'':<45}{'tickets':>8}{'no-show':>8}{'wait':>8}{'p90':>7}{'serve':>8}{'p90':>7}"
        self.stdout.write(header)
        self._line("total", report.total)
        for title, rows in (
            ("per day", report.days),
            ("per service", report.services),
            ("per agency", report.agencies),
            ("per counter", report.counters),
        ):
            self.stdout.write(title)
            for row in rows:
                self._line("  " + (row.key or "(not called yet)"), row.figures)

    def _line(self, label: str, figures: Figures) -> None:
        times = [minutes(getattr(figures, name)) for name in TIME_FIGURES]
        self.stdout.write(
            f"{label[:44]:<45}{figures.tickets:>8}{figures.no_shows:>8}"
            f"{times[0]:>8}{times[1]:>7}{times[2]:>8}{times[3]:>7}"
        )
