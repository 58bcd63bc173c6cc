"""mpp tenants …: create, list and manage regency/city tenants."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mpp.urls_util import absolute_url
from tenants import actions
from tenants.archive import export_tenant, read_manifest, restore_tenant
from tenants.models import Province, Tenant, TimeZone
from tenants.onboarding import OnboardingRequest, csv_report, onboard_from_csv, onboard_tenant
from tenants.provisioning import TenantSpec


def format_errors(exc: ValidationError) -> str:
    """One line per field: ``field: message``."""
    if hasattr(exc, "error_dict"):
        return "\n".join(f"  {field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "\n".join(f"  {m}" for m in exc.messages)


class Command(BaseCommand):
    help = (
        "Manage tenants: create | list | show | suspend | resume | archive | rename | "
        "add-domain | export | restore | onboard-csv"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="provision a tenant (clone of the template)")
        create.add_argument("--province", required=True, help="province code, e.g. 21")
        create.add_argument("--name", required=True, help="e.g. 'Kota Batam'")
        create.add_argument("--slug", required=True, help="subdomain and schema, e.g. batam")
        create.add_argument("--kind", required=True, choices=[k for k, _ in Tenant.Kind.choices])
        create.add_argument("--region-code", required=True, help="Kemendagri code, e.g. 21.71")
        create.add_argument(
            "--time-zone", default="", choices=["", *[t for t, _ in TimeZone.choices]],
            help="IANA name; default: the province's",
        )  # fmt: skip
        create.add_argument("--admin-email", required=True, help="receives the invitation")
        create.add_argument("--admin-name", default="", help="the admin's full name")
        create.add_argument("--domain", action="append", default=[], help="extra custom domain")
        create.add_argument(
            "--agencies", default=None,
            help="codes of the agencies with a counter at opening, comma-separated; default: all",
        )  # fmt: skip

        bulk = sub.add_parser(
            "onboard-csv", help="onboard every regency in a CSV (nothing if a row is bad)"
        )
        bulk.add_argument("file", help="CSV: name,kind,region_code,slug,admin_email[,…]")
        bulk.add_argument("--province", required=True, help="province code, e.g. 21")

        listing = sub.add_parser("list", help="list tenants")
        listing.add_argument("--province", help="only this province code")
        listing.add_argument("--status", choices=[s for s, _ in Tenant.Status.choices])
        listing.add_argument("--json", action="store_true", help="machine-readable output")

        show = sub.add_parser("show", help="show one tenant")
        show.add_argument("slug")

        suspend = sub.add_parser(
            "suspend", help="suspend: portal shows the reason, refuses changes"
        )
        suspend.add_argument("slug")
        suspend.add_argument("--reason", required=True)

        resume = sub.add_parser("resume", help="lift a suspension")
        resume.add_argument("slug")

        archive = sub.add_parser(
            "archive", help="export, then remove from routing; the schema is kept"
        )
        archive.add_argument("slug")
        archive.add_argument("--reason", default="")
        archive.add_argument("-o", "--output", help="archive file (default: the export folder)")

        export = sub.add_parser("export", help="write one tenant's data, files and manifest")
        export.add_argument("slug")
        export.add_argument(
            "-o", "--output", help="file or folder (default: MPP_DATA_DIR/exports/)"
        )

        restore = sub.add_parser("restore", help="restore an export as a new or the same tenant")
        restore.add_argument("file", help="a .tar.gz written by `mpp tenants export`")
        restore.add_argument("--slug", required=True, help="the tenant to create or replace")
        restore.add_argument(
            "--replace", action="store_true",
            help="overwrite the data of the existing tenant SLUG (a safety export is kept)",
        )  # fmt: skip
        restore.add_argument("--name", help="new tenant only; default: the archive's")
        restore.add_argument("--region-code", help="new tenant only; default: the archive's")

        rename = sub.add_parser("rename", help="change the display name")
        rename.add_argument("slug")
        rename.add_argument("--name", required=True)

        domain = sub.add_parser("add-domain", help="route an extra host name to the tenant")
        domain.add_argument("slug")
        domain.add_argument("domain")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(options)
        except ValidationError as exc:
            raise CommandError("invalid input:\n" + format_errors(exc)) from None

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.select_related("province").filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r} (see `mpp tenants list`)")
        return tenant

    def do_create(self, o: dict[str, Any]) -> None:
        province = Province.objects.filter(code=o["province"]).first()
        if province is None:
            raise CommandError(
                f"no province with code {o['province']!r} (see `mpp provinces list`)"
            )
        agencies = (
            [code.strip() for code in o["agencies"].split(",") if code.strip()]
            if o["agencies"] is not None
            else None
        )
        report = onboard_tenant(
            OnboardingRequest(
                TenantSpec(
                    province=province, name=o["name"], slug=o["slug"], kind=o["kind"],
                    region_code=o["region_code"], time_zone=o["time_zone"],
                    admin_email=o["admin_email"], custom_domains=o["domain"],
                    admin_name=o["admin_name"],
                ),
                agencies_present=agencies,
            ),
            acting_user=None,
        )  # fmt: skip
        for step in report.steps:
            self.stdout.write(f"  {step.name}: {step.detail}")
        tenant = report.tenant
        self.stdout.write(
            self.style.SUCCESS(
                f"created {tenant.name} ({tenant.slug}) in {report.seconds:.2f}s: "
                f"{absolute_url(tenant.host)}"
            )
        )

    def do_onboard_csv(self, o: dict[str, Any]) -> None:
        province = Province.objects.filter(code=o["province"]).first()
        if province is None:
            raise CommandError(
                f"no province with code {o['province']!r} (see `mpp provinces list`)"
            )
        try:
            with open(o["file"], "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {o['file']}: {exc.strerror}") from None
        rows = onboard_from_csv(province, data, acting_user=None, progress=self._progress)
        self.stdout.write(csv_report(rows))
        created = sum(1 for row in rows if row.report is not None)
        if created < len(rows):
            raise CommandError(f"{created} of {len(rows)} regencies onboarded; see the rows above")
        self.stdout.write(self.style.SUCCESS(f"{created} regencies onboarded"))

    def do_list(self, o: dict[str, Any]) -> None:
        tenants = Tenant.objects.select_related("province").order_by("province__code", "slug")
        if o["province"]:
            tenants = tenants.filter(province__code=o["province"])
        if o["status"]:
            tenants = tenants.filter(status=o["status"])
        rows = [
            {"slug": t.slug, "name": t.name, "province": t.province.code, "kind": t.kind,
             "region_code": t.region_code, "time_zone": t.time_zone, "status": t.status,
             "url": absolute_url(t.host)}
            for t in tenants
        ]  # fmt: skip
        if o["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self.stdout.write(f"{'SLUG':<16}{'NAME':<32}{'PROV':<6}{'CODE':<7}{'STATUS':<11}URL")
        for r in rows:
            self.stdout.write(
                f"{r['slug']:<16}{r['name']:<32}{r['province']:<6}{r['region_code']:<7}"
                f"{r['status']:<11}{r['url']}"
            )
        self.stdout.write(f"{len(rows)} tenant(s)")

    def do_show(self, o: dict[str, Any]) -> None:
        t = self._tenant(o["slug"])
        for label, value in [
            ("name", t.name), ("slug", t.slug), ("schema", t.schema_name),
            ("province", f"{t.province.code} {t.province.name}"), ("kind", t.kind),
            ("region code", t.region_code), ("time zone", t.time_zone), ("status", t.status),
            ("status reason", t.status_reason), ("admin e-mail", t.admin_email),
            ("url", absolute_url(t.host)),
            ("custom domains", ", ".join(d.domain for d in t.domains.all()) or "-"),
            ("created", t.created_at.isoformat()),
        ]:  # fmt: skip
            self.stdout.write(f"{label:<15}{value}")

    def do_suspend(self, o: dict[str, Any]) -> None:
        t = actions.suspend_tenant(self._tenant(o["slug"]), reason=o["reason"], acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"{t.slug} suspended"))

    def do_resume(self, o: dict[str, Any]) -> None:
        t = actions.resume_tenant(self._tenant(o["slug"]), acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"{t.slug} active"))

    def do_archive(self, o: dict[str, Any]) -> None:
        t = actions.archive_tenant(
            self._tenant(o["slug"]), reason=o["reason"], acting_user=None, destination=o["output"]
        )
        self.stdout.write(f"exported to {t.export_path}")  # type: ignore[attr-defined]
        self.stdout.write(self.style.SUCCESS(f"{t.slug} archived (schema {t.schema_name} kept)"))

    def _progress(self, done: int, total: int, label: str) -> None:
        # Imported here: the catalogue command imports this module at its top.
        from catalog.management.commands.catalogue import progress_bar

        self.stderr.write(progress_bar(done, total, label), ending="\n" if done == total else "")
        self.stderr.flush()

    def do_export(self, o: dict[str, Any]) -> None:
        started = time.monotonic()
        tenant = self._tenant(o["slug"])
        path = export_tenant(
            tenant, acting_user=None, destination=o["output"], progress=self._progress
        )
        manifest = read_manifest(path)
        rows = sum(t["rows"] for t in manifest["tables"])
        self.stdout.write(
            self.style.SUCCESS(
                f"exported {tenant.slug} to {path}: {len(manifest['tables'])} tables, {rows} rows, "
                f"{len(manifest['media'])} files, {path.stat().st_size / 1024:.0f} KiB in "
                f"{time.monotonic() - started:.2f}s"
            )
        )

    def do_restore(self, o: dict[str, Any]) -> None:
        started = time.monotonic()
        tenant = restore_tenant(
            o["file"], slug=o["slug"], replace=o["replace"], name=o["name"],
            region_code=o["region_code"], acting_user=None, progress=self._progress,
        )  # fmt: skip
        verb = "replaced the data of" if o["replace"] else "restored"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {tenant.name} ({tenant.slug}) from {o['file']} in "
                f"{time.monotonic() - started:.2f}s: {absolute_url(tenant.host)}"
            )
        )
        if o["replace"]:
            saved = tenant.safety_export_path  # type: ignore[attr-defined]
            self.stdout.write(f"the data it replaced is saved in {saved}")
        domains = read_manifest(o["file"])["tenant"].get("custom_domains") or []
        if domains and not o["replace"]:
            self.stdout.write(
                f"custom domains not carried over: {', '.join(domains)} "
                f"(`mpp tenants add-domain {tenant.slug} DOMAIN` once free)"
            )

    def do_rename(self, o: dict[str, Any]) -> None:
        t = actions.rename_tenant(self._tenant(o["slug"]), name=o["name"], acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"{t.slug} is now {t.name}"))

    def do_add_domain(self, o: dict[str, Any]) -> None:
        d = actions.add_custom_domain(self._tenant(o["slug"]), o["domain"], acting_user=None)
        self.stdout.write(self.style.SUCCESS(f"{d.domain} → {o['slug']}"))
