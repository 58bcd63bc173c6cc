"""mpp stats …: rebuild the province statistics rollup, or show a province's overview."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from stats.queries import OverviewRow, province_overview
from stats.rollup import rebuild_all
from tenants.models import Province, Tenant


def progress_bar(done: int, total: int, label: str, width: int = 30) -> str:
    """A one-line text progress bar."""
    filled = int(width * done / total) if total else width
    return f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _release(row: OverviewRow) -> str:
    if row.master_version is None:
        return "-"
    return f"{row.master_version}" + (f"+p{row.overlay_version}" if row.overlay_version else "")


class Command(BaseCommand):
    help = (
        "Province statistics: rebuild [--province CODE] [--tenant SLUG] recomputes the rollup "
        "from the tenant schemas; show --province CODE [--json] prints a province's overview."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser("rebuild", help="recompute the rollup, with progress")
        rebuild.add_argument("--province", help="only this province code, e.g. 21")
        rebuild.add_argument("--tenant", help="only this tenant slug, e.g. batam")
        show = sub.add_parser("show", help="a province's overview, from the rollup")
        show.add_argument("--province", required=True, help="province code, e.g. 21")
        show.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"do_{options['action']}")(options)

    def _province(self, code: str) -> Province:
        province = Province.objects.filter(code=code.strip()).first()
        if province is None:
            known = ", ".join(Province.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"no province with code {code!r} (known: {known or 'none'})")
        return province

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug.strip().lower()).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r}")
        if tenant.status == Tenant.Status.ARCHIVED:
            raise CommandError(f"tenant {tenant.slug} is archived: it has no statistics")
        return tenant

    def do_rebuild(self, o: dict[str, Any]) -> None:
        province = self._province(o["province"]) if o["province"] else None
        tenant = self._tenant(o["tenant"]) if o["tenant"] else None
        if province and tenant and tenant.province_id != province.pk:
            raise CommandError(f"tenant {tenant.slug} is not in province {province.code}")

        def report(i: int, n: int, each: Tenant, error: Exception | None) -> None:
            sys.stderr.write(progress_bar(i, n, "refreshing statistics"))
            if error is not None:
                sys.stderr.write(f"\n  {each.slug}: FAILED {error.__class__.__name__}: {error}\n")
            if i == n:
                sys.stderr.write("\n")
            sys.stderr.flush()

        result = rebuild_all(acting_user=None, province=province, tenant=tenant, progress=report)
        self.stdout.write(
            f"{len(result.refreshed)} tenants refreshed, {len(result.failed)} failed "
            f"in {result.seconds:.1f}s"
        )
        if result.failed:
            for slug, error in result.failed.items():
                self.stderr.write(f"  {slug}: {error}")
            raise CommandError(f"{len(result.failed)} tenants failed; run the command again")

    def do_show(self, o: dict[str, Any]) -> None:
        province = self._province(o["province"])
        rows = province_overview(province)
        if o["json"]:
            data = {"code": province.code, "name": province.name}
            data["tenants"] = [row.as_dict() for row in rows]
            self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))
            return
        self.stdout.write(f"{province.name} ({province.code}): {len(rows)} tenants")
        header = (
            f"{'tenant':<16} {'status':<10} {'release':<8} {'conflicts':>9} {'enabled':>7} "
            f"{'local':>5} {'overr.':>6} {'admins':>6}  last activity     refreshed"
        )
        self.stdout.write(header)
        for row in rows:
            self.stdout.write(
                f"{row.slug:<16} {row.status:<10} {_release(row):<8} "
                f"{_cell(row.pending_conflicts):>9} {_cell(row.services_enabled):>7} "
                f"{_cell(row.services_local):>5} {_cell(row.services_overridden):>6} "
                f"{_cell(row.admins_active):>6}  {_cell(row.last_activity):<17} "
                f"{_cell(row.refreshed_at)}"
            )
        if any(row.refreshed_at is None for row in rows):
            self.stdout.write("(- : not refreshed yet; run `mpp stats rebuild`)")
