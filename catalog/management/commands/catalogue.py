"""mpp catalogue …: releases, diffs, syncing tenants, import and export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from catalog.local.sync import (
    SyncPlan,
    Upstream,
    apply_sync,
    plan_sync,
    sync_tenants,
    tenant_upstream,
    upstream_from_release,
)
from catalog.models import Release
from catalog.releases import diff_snapshots, get_release, publish_release
from tenants.management.commands.tenants import format_errors
from tenants.models import Tenant


def progress_bar(done: int, total: int, label: str, width: int = 30) -> str:
    """A one-line text progress bar."""
    filled = int(width * done / total) if total else width
    return f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Command(BaseCommand):
    help = (
        "Master catalogue: publish | releases | diff A B | sync (--tenant SLUG | --all) "
        "[--dry-run] | import FILE | export | province --province CODE (set | add | resolve | "
        "new-services | publish | show)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        publish = sub.add_parser("publish", help="freeze the master catalogue as a new release")
        publish.add_argument("--note", default="", help="text put before the generated changelog")
        sub.add_parser("releases", help="list releases")
        diff = sub.add_parser("diff", help="what changed between two releases")
        diff.add_argument("old", type=int)
        diff.add_argument("new", type=int)
        sync = sub.add_parser("sync", help="sync tenants to the newest (or a given) release")
        target = sync.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="one tenant's slug")
        target.add_argument("--all", action="store_true", help="every active or suspended tenant")
        sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        sync.add_argument("--release", type=int, help="sync to this release (default: newest)")
        imp = sub.add_parser("import", help="import a catalogue file (all or nothing)")
        imp.add_argument("file", help="a .json or .csv file; - for standard input")
        imp.add_argument("--format", choices=["json", "csv"], help="default: from the extension")
        imp.add_argument("--tenant", help="import local-only services into this tenant")
        exp = sub.add_parser("export", help="export the master, a release or a tenant catalogue")
        exp.add_argument("--format", choices=["json", "csv", "hsds"], default="json")
        exp.add_argument("--release", type=int, help="export this release (default: live master)")
        exp.add_argument("--tenant", help="export this tenant's effective catalogue")
        exp.add_argument("-o", "--output", help="file to write (default: standard output)")
        prov = sub.add_parser("province", help="a province's overlay on the master catalogue")
        prov.add_argument("--province", required=True, help="province code, e.g. 21")
        psub = prov.add_subparsers(dest="province_action", required=True)
        pset = psub.add_parser("set", help="change a field of a master service for the province")
        pset.add_argument("key")
        pset.add_argument("field")
        pset.add_argument("value", help="text, or JSON for numbers and lists (e.g. 125000)")
        padd = psub.add_parser("add", help="add a province-only service from a JSON file")
        padd.add_argument("file")
        pres = psub.add_parser("resolve", help="settle a conflict between master and province")
        pres.add_argument("key")
        pres.add_argument("field")
        pres.add_argument("choice", choices=["upstream", "mine"])
        pnew = psub.add_parser("new-services", help="new upstream services start enabled or not")
        pnew.add_argument("state", choices=["enabled", "disabled"])
        ppub = psub.add_parser("publish", help="merge with the newest master release and publish")
        ppub.add_argument("--note", default="")
        psub.add_parser("show", help="the overlay's edits and open conflicts")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "do_" + options["action"])(options)
        except ValidationError as exc:
            raise CommandError("invalid input:\n" + format_errors(exc)) from None
        except Release.DoesNotExist as exc:
            raise CommandError(str(exc)) from None

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r} (see `mpp tenants list`)")
        if tenant.status == Tenant.Status.ARCHIVED:
            raise CommandError(f"tenant {slug} is archived")
        return tenant

    def do_publish(self, o: dict[str, Any]) -> None:
        release = publish_release(acting_user=None, changelog=o["note"])
        self.stdout.write(self.style.SUCCESS(f"published release {release.version}"))
        self.stdout.write(release.changelog)

    def do_releases(self, o: dict[str, Any]) -> None:
        for r in Release.objects.order_by("version").defer("snapshot"):
            first = (r.changelog.splitlines() or [""])[0]
            self.stdout.write(
                f"{r.version:>4}  {r.published_at:%Y-%m-%d %H:%M}  {r.published_by or 'system':<24}"
                f"  {first[:60]}"
            )

    def do_diff(self, o: dict[str, Any]) -> None:
        old, new = get_release(o["old"]), get_release(o["new"])
        self.stdout.write(f"release {old.version} → {new.version}")
        self.stdout.write(diff_snapshots(old.snapshot, new.snapshot).render())

    def _upstream(self, tenant: Tenant, version: int | None) -> Upstream:
        """``--release N`` (that master release, no overlay) or the tenant's own upstream."""
        if version is not None:
            return upstream_from_release(get_release(version))
        upstream = tenant_upstream(tenant)
        if upstream is None:
            raise CommandError("no release published yet (mpp catalogue publish)")
        return upstream

    def do_sync(self, o: dict[str, Any]) -> None:
        if o["tenant"]:
            tenant = self._tenant(o["tenant"])
            upstream = self._upstream(tenant, o["release"])
            plan = (plan_sync if o["dry_run"] else self._apply)(tenant, upstream)
            self.stdout.write(plan.render())
            if o["dry_run"]:
                self.stdout.write("(dry run: nothing changed)")
            return
        tenants = Tenant.objects.exclude(status=Tenant.Status.ARCHIVED).order_by("slug")
        if o["dry_run"]:
            for tenant in tenants:
                self.stdout.write(plan_sync(tenant, self._upstream(tenant, o["release"])).render())
            self.stdout.write("(dry run: nothing changed)")
            return
        fixed = upstream_from_release(get_release(o["release"])) if o["release"] else None

        def report(
            i: int, n: int, tenant: Tenant, plan: SyncPlan | None, error: Exception | None
        ) -> None:
            sys.stderr.write(progress_bar(i, n, "syncing tenants"))
            if error is not None:
                sys.stderr.write(f"\n  {tenant.slug}: FAILED {error.__class__.__name__}: {error}\n")
            if i == n:
                sys.stderr.write("\n")
            sys.stderr.flush()

        result = sync_tenants(tenants, fixed, acting_user=None, progress=report)
        totals = result.totals
        self.stdout.write(
            f"{len(result.synced)} synced, {len(result.unchanged)} already current, "
            f"{len(result.failed)} failed in {result.seconds:.1f}s"
        )
        self.stdout.write(
            f"fields applied {totals['applied']}, kept {totals['kept']}, conflicts "
            f"{totals['conflict']}, converged {totals['converged']}; services added "
            f"{totals['added']}, retired {totals['retired']}"
        )
        if result.open_conflicts:
            waiting = ", ".join(f"{slug} {n}" for slug, n in result.open_conflicts.items())
            self.stdout.write(f"open conflicts awaiting local admins: {waiting}")
        for slug, error in result.failed.items():
            self.stderr.write(f"FAILED {slug}: {error}")
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} tenant(s) failed; run the same command again to retry them"
            )

    def _apply(self, tenant: Tenant, upstream: Upstream) -> SyncPlan:
        return apply_sync(tenant, upstream, acting_user=None)

    def do_import(self, o: dict[str, Any]) -> None:
        from catalog import io

        path = o["file"]
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        fmt = o["format"] or ("csv" if path.endswith(".csv") else "json")
        try:
            data = io.parse_csv(text) if fmt == "csv" else io.parse_json(text)
            if o["tenant"]:
                with tenant_context(self._tenant(o["tenant"])):
                    counts = io.import_local_services(data, acting_user=None)
            else:
                counts = io.import_master(data, acting_user=None)
        except io.CatalogueImportError as exc:
            lines = "\n".join(f"  {error}" for error in exc.errors)
            raise CommandError(f"import refused, nothing was written:\n{lines}") from None
        self.stdout.write(
            self.style.SUCCESS("imported: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        )

    def do_export(self, o: dict[str, Any]) -> None:
        import json

        from catalog import io

        if o["tenant"]:
            with tenant_context(self._tenant(o["tenant"])):
                data = io.local_catalogue_data()
        else:
            data = io.master_catalogue_data(o["release"])
        if o["format"] == "csv":
            text = io.export_csv(data)
        elif o["format"] == "hsds":
            text = json.dumps(io.export_hsds(data), ensure_ascii=False, indent=2)
        else:
            text = io.export_json(data)
        if o["output"]:
            Path(o["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {o['output']}")
        else:
            self.stdout.write(text, ending="")

    def do_province(self, o: dict[str, Any]) -> None:
        import json

        from catalog import overlay
        from tenants.models import Province

        province = Province.objects.filter(code=o["province"]).first()
        if province is None:
            raise CommandError(f"no province with code {o['province']!r}")
        action = o["province_action"]
        if action == "set":
            try:
                value = json.loads(o["value"])
            except json.JSONDecodeError:
                value = o["value"]
            overlay.set_province_field(province, o["key"], o["field"], value, acting_user=None)
            self.stdout.write(self.style.SUCCESS(f"{o['key']}.{o['field']} set for {province}"))
        elif action == "add":
            data = json.loads(Path(o["file"]).read_text(encoding="utf-8"))
            edit = overlay.add_province_service(province, data, acting_user=None)
            self.stdout.write(self.style.SUCCESS(f"added {edit.key} for {province}"))
        elif action == "resolve":
            edit = overlay.overlay_for(province).edits.filter(key=o["key"]).first()
            if edit is None:
                raise CommandError(f"{province} has no edit of {o['key']!r}")
            overlay.resolve_province_conflict(edit, o["field"], o["choice"], acting_user=None)
            self.stdout.write(self.style.SUCCESS("resolved"))
        elif action == "new-services":
            overlay.set_new_services_enabled(province, o["state"] == "enabled", acting_user=None)
            self.stdout.write(self.style.SUCCESS(f"new services start {o['state']} in {province}"))
        elif action == "publish":
            release = overlay.publish_province_release(province, acting_user=None, note=o["note"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"published {province} overlay release {release.version} "
                    f"(master release {release.master_version})"
                )
            )
            self.stdout.write(release.changelog)
        else:
            for edit in overlay.overlay_for(province).edits.all():
                detail = edit.overrides if edit.origin == "master" else "province-only service"
                self.stdout.write(f"{edit.key:<40} {detail}")
                for field, conflict in edit.conflicts.items():
                    self.stdout.write(f"    ! {field}: {conflict}")
