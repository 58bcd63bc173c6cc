"""Per-tenant export and restore: round trip, replace, bad archives, isolation, CLI and API.

The round trip builds tenant A's data through the product's own actions, exports it,
restores it as a new tenant and compares every table row by row (through a checksum of its
sorted rows, computed here and not by the code under test) and the uploaded logo's bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context
from psycopg import sql

from catalog.local.actions import create_local_service, override_field
from catalog.local.models import LocalService
from mall.actions import add_closure, local_today, update_mall_profile
from mall.models import Closure, MallProfile
from mpp.accounts.actions import invite_user
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.actions import archive_tenant
from tenants.archive import export as archive_export
from tenants.archive import export_tenant, read_manifest, restore_tenant, verify_archive
from tenants.archive import restore as archive_restore
from tenants.models import Domain, Tenant
from tests.conftest import api_client_for
from tests.mall.test_profile import png_bytes

NOT_CARRIED = {"django_migrations", "django_session"}


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.TENANT_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


LOGO = png_bytes(padding=64)


@pytest.fixture
def populated_a(tenant_a: Tenant) -> Tenant:
    """Tenant A with data of every kind a person makes, each through its action."""
    with tenant_context(tenant_a):
        service = LocalService.objects.filter(origin="master").order_by("key").first()
        assert service is not None
        override_field(service, "fee", 12345, acting_user=None)
        create_local_service(
            {
                "key": "kurir-dokumen-pulau",
                "agency_code": "dukcapil",
                "name_id": "Kurir Dokumen ke Pulau Terluar",
                "fee": 15000,
                "category_codes": ["kependudukan"],
            },
            acting_user=None,
        )
        logo = SimpleUploadedFile("logo.png", LOGO, content_type="image/png")
        update_mall_profile({"display_name": "MPP Kota Alpha", "logo": logo}, acting_user=None)
        add_closure(local_today() + dt.timedelta(days=10), "Cuti bersama", acting_user=None)
        invite_user(
            "petugas@alpha.go.id", role=User.Role.OFFICER, host=tenant_a.host, acting_user=None
        )
    return tenant_a


def table_checksums(schema: str, file_prefix: str | None = None) -> dict[str, tuple[int, str]]:
    """(row count, SHA-256 of the sorted rows) of every table of ``schema``.

    Stored file names start with the schema; they are compared with it replaced by
    ``<schema>/`` (``file_prefix`` is the schema whose names are rewritten).
    """
    result = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
        for (table,) in cursor.fetchall():
            if table in NOT_CARRIED:
                continue
            cursor.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            rows = [
                repr(
                    tuple(
                        "<schema>/" + v.removeprefix(f"{file_prefix}/")
                        if isinstance(v, str) and file_prefix and v.startswith(f"{file_prefix}/")
                        else v
                        for v in row
                    )
                )
                for row in cursor.fetchall()
            ]
            digest = hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
            result[table] = (len(rows), digest)
    return result


def rebuild(
    source: Path,
    target: Path,
    *,
    manifest: Callable[[dict[str, Any]], None] | None = None,
    drop: str | None = None,
    change: tuple[str, bytes] | None = None,
) -> Path:
    """Copy an archive, editing its manifest, dropping a member or changing one's content."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == drop:
                continue
            if member.name == "manifest.json" and manifest:
                body = json.loads(data)
                manifest(body)
                data = json.dumps(body).encode()
            if change and member.name == change[0]:
                data = change[1]
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return target


def nothing_named_gamma(media_root: Path) -> None:
    assert not Tenant.objects.filter(slug="gamma").exists()
    assert not schema_exists("gamma")
    assert not (media_root / "gamma").exists()
    assert not list(media_root.glob(".restore-*"))


# --- Round trip ----------------------------------------------------------------------------


def test_round_trip_into_a_new_slug_loses_nothing(
    populated_a: Tenant,
    operator: User,
    media_root: Path,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    alpha_before = table_checksums("alpha", file_prefix="alpha")
    steps: list[tuple[int, int, str]] = []
    path = export_tenant(
        populated_a,
        acting_user=operator,
        destination=tmp_path / "alpha.tar.gz",
        progress=lambda *step: steps.append(step),
    )
    assert path == tmp_path / "alpha.tar.gz" and path.stat().st_mode & 0o777 == 0o600
    assert steps[-1][0] == steps[-1][1] > 5  # one step per table, then the file

    manifest = verify_archive(path)
    assert manifest["tenant"]["slug"] == "alpha" and manifest["tenant"]["province"]["code"] == "21"
    assert {t["name"] for t in manifest["tables"]} >= {"mall_mallprofile", "mall_closure"}
    assert not NOT_CARRIED & {t["name"] for t in manifest["tables"]}
    search = next(t for t in manifest["tables"] if t["name"] == "local_catalog_localservice")
    assert "search_vector" not in {c["name"] for c in search["columns"]}  # GENERATED
    with tenant_context(populated_a):
        alpha_logo = MallProfile.objects.get().logo.name
    assert [m["path"] for m in manifest["media"]] == [alpha_logo.removeprefix("alpha/")]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        gamma = restore_tenant(path, slug="gamma", region_code="21.92", acting_user=operator)

    assert gamma.name == "Kota Alpha" and gamma.kind == "kota" and gamma.region_code == "21.92"
    assert gamma.province.code == "21" and gamma.status == Tenant.Status.ACTIVE
    original = table_checksums("alpha", file_prefix="alpha")
    assert original == alpha_before  # the source is untouched
    restored = table_checksums("gamma", file_prefix="gamma")
    assert original.keys() == restored.keys() and len(original) > 10
    for table in original:
        assert restored[table] == original[table], table
    assert original["mall_closure"][0] == 1 and original["local_catalog_localservice"][0] > 10

    with tenant_context(gamma):
        profile = MallProfile.objects.get()
        assert profile.logo.name.startswith("gamma/logo-")
        assert profile.logo.read() == LOGO
        # Sequences continue after the restored rows.
        closure = add_closure(local_today() + dt.timedelta(days=11), "Baru", acting_user=None)
        assert closure.pk > Closure.objects.exclude(pk=closure.pk).get().pk
        assert User.objects.filter(email="petugas@alpha.go.id").exists()
    assert (media_root / "gamma" / Path(profile.logo.name).name).read_bytes() == LOGO
    assert mail.outbox == []  # nobody is invited to a restored tenant
    assert not Domain.objects.filter(tenant=gamma).exists()

    exported = AuditEvent.objects.get(action="tenant.exported", target_id=str(populated_a.pk))
    assert exported.actor_email == operator.email and exported.after["file"] == str(path)
    restored_event = AuditEvent.objects.get(action="tenant.restored", target_id=str(gamma.pk))
    assert restored_event.after["source_slug"] == "alpha" and not restored_event.after["replace"]
    assert restored_event.after["rows"] == sum(t["rows"] for t in manifest["tables"])

    home = Client(HTTP_HOST="gamma.localhost").get("/")
    assert home.status_code == 200 and "MPP Kota Alpha" in home.content.decode()


# --- Replace -------------------------------------------------------------------------------


def test_replace_undoes_later_changes_and_keeps_a_safety_export(
    populated_a: Tenant, media_root: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    before = table_checksums("alpha", file_prefix="alpha")
    path = export_tenant(populated_a, acting_user=None, destination=tmp_path)
    with tenant_context(populated_a):
        add_closure(local_today() + dt.timedelta(days=20), "Rapat kerja", acting_user=None)
        service = LocalService.objects.get(key="kurir-dokumen-pulau")
        override_field(service, "fee", 99000, acting_user=None)
        update_mall_profile(
            {"logo": SimpleUploadedFile("l.png", png_bytes(padding=9), content_type="image/png")},
            acting_user=None,
        )
    assert table_checksums("alpha", file_prefix="alpha") != before

    with django_capture_on_commit_callbacks(execute=True):
        tenant = restore_tenant(path, slug="alpha", replace=True, acting_user=None)

    assert tenant.pk == populated_a.pk and tenant.region_code == populated_a.region_code
    assert table_checksums("alpha", file_prefix="alpha") == before
    with tenant_context(tenant):
        assert LocalService.objects.get(key="kurir-dokumen-pulau").fee == 15000
        assert MallProfile.objects.get().logo.read() == LOGO
    assert [p.read_bytes() for p in (media_root / "alpha").iterdir()] == [LOGO]
    event = AuditEvent.objects.get(action="tenant.restored", target_id=str(tenant.pk))
    assert event.after["replace"] is True
    safety = Path(event.after["safety_export"]["file"])
    # The state the restore overwrote is kept, with the change in it.
    with tarfile.open(safety, "r:gz") as tar:
        closures = tar.extractfile("data/mall_closure.copy").read()  # type: ignore[union-attr]
    assert b"Rapat kerja" in closures


def test_a_failed_replace_keeps_the_old_data(
    populated_a: Tenant, media_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export_tenant(populated_a, acting_user=None, destination=tmp_path)
    with tenant_context(populated_a):
        add_closure(local_today() + dt.timedelta(days=20), "Rapat kerja", acting_user=None)
    before = table_checksums("alpha")
    files_before = sorted(p.name for p in (media_root / "alpha").iterdir())

    def explode(*args: Any) -> None:
        raise RuntimeError("disk full while restoring")

    monkeypatch.setattr(archive_restore, "_restore_sequences", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        restore_tenant(path, slug="alpha", replace=True, acting_user=None)

    assert table_checksums("alpha") == before
    assert sorted(p.name for p in (media_root / "alpha").iterdir()) == files_before
    assert not list(media_root.glob(".restore-*"))
    assert not AuditEvent.objects.filter(action="tenant.restored").exists()


def test_a_failed_restore_leaves_no_tenant_schema_or_files(
    populated_a: Tenant, media_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export_tenant(populated_a, acting_user=None, destination=tmp_path)
    audit_rows = AuditEvent.objects.count()
    monkeypatch.setattr(archive_restore, "_restore_sequences", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        restore_tenant(path, slug="gamma", region_code="21.92", acting_user=None)
    nothing_named_gamma(media_root)
    assert AuditEvent.objects.count() == audit_rows


# --- Bad archives and bad arguments ----------------------------------------------------------


@pytest.fixture
def alpha_archive(populated_a: Tenant, tmp_path: Path) -> Path:
    return export_tenant(populated_a, acting_user=None, destination=tmp_path / "alpha.tar.gz")


def refused(path: Path, **kwargs: Any) -> dict[str, list[str]]:
    """Restore ``path`` expecting a refusal; return its messages by field."""
    kwargs = {"slug": "gamma", "region_code": "21.92", "acting_user": None} | kwargs
    with pytest.raises(ValidationError) as caught:
        restore_tenant(path, **kwargs)
    return caught.value.message_dict


def test_a_corrupted_table_file_is_refused_naming_the_table(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    with tarfile.open(alpha_archive, "r:gz") as tar:
        data = tar.extractfile("data/mall_closure.copy").read()  # type: ignore[union-attr]
    change = ("data/mall_closure.copy", data.replace(b"Cuti", b"Cute"))
    bad = rebuild(alpha_archive, tmp_path / "bad.tar.gz", change=change)
    assert refused(bad)["archive"] == [
        "table mall_closure: checksum mismatch (the archive is corrupted)."
    ]
    nothing_named_gamma(media_root)


def test_a_missing_table_file_is_refused_naming_the_table(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    bad = rebuild(alpha_archive, tmp_path / "bad.tar.gz", drop="data/mall_mallprofile.copy")
    assert refused(bad)["archive"] == [
        "table mall_mallprofile: data file data/mall_mallprofile.copy is missing."
    ]
    nothing_named_gamma(media_root)


def test_a_truncated_or_foreign_file_is_refused(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(alpha_archive.read_bytes()[: alpha_archive.stat().st_size // 2])
    assert "Not a readable tenant archive" in refused(truncated)["archive"][0]
    png = tmp_path / "logo.tar.gz"
    png.write_bytes(LOGO)
    assert "Not a readable tenant archive" in refused(png)["archive"][0]
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("etc/passwd"), io.BytesIO())
    assert refused(other)["archive"] == ["manifest.json is not the archive's first member."]
    nothing_named_gamma(media_root)


def test_an_unsafe_media_path_is_refused(alpha_archive: Path, tmp_path: Path) -> None:
    def escape(manifest: dict[str, Any]) -> None:
        manifest["media"][0]["path"] = "../../etc/cron.d/x"

    bad = rebuild(alpha_archive, tmp_path / "bad.tar.gz", manifest=escape)
    assert "unsafe, repeated or bad media path" in refused(bad)["archive"][0]


def test_an_archive_with_other_migrations_is_refused_naming_them(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    def other_version(manifest: dict[str, Any]) -> None:
        manifest["migrations"].remove(["mall", "0003_closure"])
        manifest["migrations"].append(["mall", "0099_queue"])

    bad = rebuild(alpha_archive, tmp_path / "old.tar.gz", manifest=other_version)
    (message,) = refused(bad)["archive"]
    assert "only in the archive: mall.0099_queue" in message
    assert "only in this installation: mall.0003_closure" in message
    nothing_named_gamma(media_root)


def test_an_archive_from_an_unknown_province_is_refused(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    def elsewhere(manifest: dict[str, Any]) -> None:
        manifest["tenant"]["province"] = {"code": "99", "name": "Papua Barat Daya"}

    bad = rebuild(alpha_archive, tmp_path / "p.tar.gz", manifest=elsewhere)
    assert refused(bad)["archive"] == [
        "The archive's province 99 (Papua Barat Daya) does not exist here; create it first."
    ]
    nothing_named_gamma(media_root)


def test_differing_columns_are_refused_and_the_new_tenant_rolled_back(
    alpha_archive: Path, tmp_path: Path, media_root: Path
) -> None:
    def renamed(manifest: dict[str, Any]) -> None:
        table = next(t for t in manifest["tables"] if t["name"] == "mall_closure")
        table["columns"][-1]["name"] = "label"

    bad = rebuild(alpha_archive, tmp_path / "c.tar.gz", manifest=renamed)
    (message,) = refused(bad)["archive"]
    assert message.startswith("table mall_closure: columns differ (") and "label" in message
    nothing_named_gamma(media_root)


def test_slug_rules(alpha_archive: Path, tenant_b: Tenant, media_root: Path) -> None:
    assert "already exists" in refused(alpha_archive, slug="alpha")["slug"][0]
    unknown = refused(alpha_archive, replace=True, region_code=None)
    assert unknown["slug"] == ["There is no tenant gamma to replace."]
    # A new tenant still needs its own region code: the archive's belongs to alpha.
    assert "region_code" in refused(alpha_archive, region_code=None)
    assert "slug" in refused(alpha_archive, slug="Not A Slug!")
    assert "replace" in refused(alpha_archive, slug="beta", replace=True, region_code="64.99")
    nothing_named_gamma(media_root)


# --- Archiving exports first -----------------------------------------------------------------


def test_archiving_exports_first(populated_a: Tenant, export_dir: Path) -> None:
    tenant = archive_tenant(populated_a, reason="dimekarkan", acting_user=None)
    assert tenant.status == Tenant.Status.ARCHIVED
    assert tenant.export_path.parent == export_dir  # type: ignore[attr-defined]
    manifest = verify_archive(tenant.export_path)  # type: ignore[attr-defined]
    assert manifest["tenant"]["status"] == "active"  # exported just before the change
    event = AuditEvent.objects.get(action="tenant.archived", target_id=str(tenant.pk))
    assert event.after["export"]["file"] == str(tenant.export_path)  # type: ignore[attr-defined]
    # Refused archiving (already archived) exports nothing more.
    with pytest.raises(ValidationError):
        archive_tenant(tenant, acting_user=None)
    assert len(list(export_dir.iterdir())) == 1


def test_exports_in_the_same_second_do_not_replace_each_other(
    tenant_a: Tenant, export_dir: Path
) -> None:
    first = export_tenant(tenant_a, acting_user=None)
    second = export_tenant(tenant_a, acting_user=None)
    assert first != second and first.parent == second.parent == export_dir
    assert {p.name for p in export_dir.iterdir()} == {first.name, second.name}


def test_a_failed_export_archives_nothing(
    tenant_a: Tenant, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(archive_export, "_write_tar", explode)
    with pytest.raises(OSError, match="No space"):
        archive_tenant(tenant_a, acting_user=None)
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.ACTIVE
    assert [p for p in export_dir.rglob("*") if p.is_file()] == []


# --- CLI -------------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("tenants", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cli_export_restore_and_archive(
    populated_a: Tenant,
    tmp_path: Path,
    export_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    file = tmp_path / "alpha.tar.gz"
    out, err = run("export", "alpha", "-o", str(file))
    assert f"exported alpha to {file}" in out and "tables" in out
    assert "exporting alpha [" in err and err.endswith("\n")
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run(
            "restore",
            str(file),
            "--slug",
            "gamma",
            "--region-code",
            "21.92",
            "--name",
            "Kota Gamma",
        )
    assert "restored Kota Gamma (gamma)" in out and "http://gamma.localhost:8000" in out
    assert "checking archive [" in err and "restoring gamma [" in err
    with pytest.raises(CommandError, match="slug: Tenant gamma already exists"):
        run("restore", str(file), "--slug", "gamma")
    out, _ = run("restore", str(file), "--slug", "gamma", "--replace")
    assert "replaced the data of Kota Gamma (gamma)" in out
    assert f"the data it replaced is saved in {export_dir}/gamma-" in out
    with pytest.raises(CommandError, match="no tenant with slug 'delta'"):
        run("export", "delta")
    out, _ = run("archive", "gamma", "-o", str(tmp_path / "gamma.tar.gz"))
    assert f"exported to {tmp_path / 'gamma.tar.gz'}" in out and "gamma archived" in out
    assert read_manifest(tmp_path / "gamma.tar.gz")["tenant"]["slug"] == "gamma"


# --- API -------------------------------------------------------------------------------------


def download(client: Any, slug: str, target: Path) -> Any:
    response = client.post(f"/api/v1/tenants/{slug}/export/")
    if response.status_code == 200:
        target.write_bytes(b"".join(response.streaming_content))
    return response


def test_api_export_and_restore(
    populated_a: Tenant, kepri_admin: User, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = api_client_for(kepri_admin)
    file = tmp_path / "alpha.tar.gz"
    response = download(client, "alpha", file)
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    assert 'filename="alpha-' in response["Content-Disposition"]
    assert response["X-Archive-SHA256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert verify_archive(file)["tenant"]["slug"] == "alpha"
    assert AuditEvent.objects.filter(action="tenant.exported", actor_email=kepri_admin.email)

    with django_capture_on_commit_callbacks(execute=True), file.open("rb") as f:
        created = client.post(
            "/api/v1/tenants/restore/",
            {"archive": f, "slug": "gamma", "region_code": "21.92"},
            format="multipart",
        )
    assert created.status_code == 201, created.content
    assert created.json()["slug"] == "gamma" and created.json()["province"] == "21"

    with django_capture_on_commit_callbacks(execute=True), file.open("rb") as f:
        replaced = client.post(
            "/api/v1/tenants/restore/",
            {"archive": f, "slug": "gamma", "replace": "true"},
            format="multipart",
        )
    assert replaced.status_code == 200 and replaced.json()["slug"] == "gamma"


def test_api_refuses_a_non_archive_upload(operator: User, media_root: Path) -> None:
    client = api_client_for(operator)
    response = client.post(
        "/api/v1/tenants/restore/",
        {"archive": SimpleUploadedFile("x.tar.gz", LOGO), "slug": "gamma"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "Not a readable tenant archive" in response.json()["archive"][0]
    missing = client.post("/api/v1/tenants/restore/", {"slug": "gamma"}, format="multipart")
    assert missing.status_code == 400 and "archive" in missing.json()
    nothing_named_gamma(media_root)


def test_a_province_admin_cannot_export_or_restore_another_provinces_tenant(
    alpha_archive: Path, kaltim_admin: User, media_root: Path
) -> None:
    client = api_client_for(kaltim_admin)
    audit_rows = AuditEvent.objects.count()
    assert client.post("/api/v1/tenants/alpha/export/").status_code == 404
    for fields, expected in [
        ({"slug": "gamma", "region_code": "21.92"}, 403),  # a new tenant in province 21
        ({"slug": "alpha", "replace": "true"}, 404),  # alpha is not theirs to replace
    ]:
        with alpha_archive.open("rb") as f:
            response = client.post(
                "/api/v1/tenants/restore/", {"archive": f, **fields}, format="multipart"
            )
        assert response.status_code == expected, response.content
    assert AuditEvent.objects.count() == audit_rows
    nothing_named_gamma(media_root)
    # Their own province's tenant is theirs to export.
    assert client.post("/api/v1/tenants/beta/export/").status_code == 200


def test_openapi_describes_export_and_restore(db: None) -> None:
    schema = api_client_for(None).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/v1/tenants/{slug}/export/" in paths and "/api/v1/tenants/restore/" in paths
