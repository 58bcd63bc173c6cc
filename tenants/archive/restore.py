"""Restoring an archive: ``restore_tenant`` and the loading of rows and media it does."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context
from psycopg import sql

from mall.models import tenant_media_storage
from mpp.accounts.models import User
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh
from tenants.archive.export import ExportResult, write_archive
from tenants.archive.manifest import (
    _BLOCK,
    EMPTIED_TABLES,
    KEPT_TABLES,
    Manifest,
    PathLike,
    Progress,
    _data_members,
    _open_archive,
    _read_manifest_member,
    archive_error,
    check_migrations,
    verify_archive,
)
from tenants.archive.schema import (
    _SCHEMA_OID,
    _file_columns,
    _joined,
    _qualified,
    _sequences,
    _sha256_file,
    schema_tables,
)
from tenants.models import Province, Tenant
from tenants.provisioning import (
    TenantSpec,
    applied_migrations,
    ensure_template,
    expected_tenant_migrations,
    provision_tenant,
)

STAGING_PREFIX = ".restore-"  # never a schema name, so never a tenant's media folder


# --- Restore -------------------------------------------------------------------------------


def restore_tenant(
    archive_path: PathLike,
    *,
    slug: str,
    acting_user: User | None,
    replace: bool = False,
    name: str | None = None,
    region_code: str | None = None,
    progress: Progress | None = None,
) -> Tenant:
    """Restore an archive as tenant ``slug``: a new tenant, or (``replace``) an existing one.

    A new tenant is provisioned in the archive's province by ``provision_tenant`` (without
    its catalogue seed and invitation), named and coded as in the archive unless ``name`` /
    ``region_code`` say otherwise; custom domains are not carried over (they route to the
    original). ``replace`` overwrites the data of the existing tenant ``slug``, first saving
    its current state to a safety export (in the audit row and on the returned tenant as
    ``safety_export_path``). Either way it is one
    transaction: a failure leaves no new tenant and the old data in place. A corrupted
    archive, differing migrations or bad arguments raise ``ValidationError`` before anything
    is written. Media files are staged beside MEDIA_ROOT/<schema> and swapped in on commit.
    """
    path = Path(archive_path)
    slug = slug.strip().lower()
    manifest = verify_archive(path, progress=progress)
    check_migrations(manifest)
    source = manifest["tenant"]
    with schema_context(get_public_schema_name()):
        existing = Tenant.objects.filter(slug=slug).first()
        province = None
        if replace and existing is None:
            raise ValidationError({"slug": [f"There is no tenant {slug} to replace."]})
        if replace and (name or region_code):
            raise ValidationError({"replace": ["A name or region code is for a new tenant."]})
        if not replace:
            if existing is not None:
                raise ValidationError(
                    {"slug": [f"Tenant {slug} already exists; restore with replace to overwrite "
                              "its data, or choose another slug."]}
                )  # fmt: skip
            code = source["province"].get("code")
            province = Province.objects.filter(code=code).first()
            if province is None:
                raise archive_error(
                    f"The archive's province {code} ({source['province'].get('name')}) does "
                    "not exist here; create it first."
                )
            ensure_template()
        media_root = Path(tenant_media_storage().location)
        _sweep_stale_staging(media_root)
        staging = media_root / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
        safety: ExportResult | None = None
        try:
            with transaction.atomic():
                if existing is not None:
                    tenant = Tenant.objects.select_for_update().get(pk=existing.pk)
                    missing = expected_tenant_migrations() - applied_migrations(tenant.schema_name)
                    if missing:
                        names = ", ".join(f"{a}.{n}" for a, n in sorted(missing))
                        raise ValidationError(
                            {"slug": [f"{slug}'s schema lacks {names}; run `mpp migrate` first."]}
                        )
                    safety = write_archive(tenant)
                else:
                    tenant = provision_tenant(
                        TenantSpec(
                            province=province, name=name or source.get("name", ""), slug=slug,
                            kind=source.get("kind", ""),
                            region_code=region_code or source.get("region_code", ""),
                            admin_email=source.get("admin_email", ""),
                            time_zone=source.get("time_zone", ""),
                        ),
                        acting_user=acting_user, seed_catalogue=False, invite_admin=False,
                    )  # fmt: skip
                rows = _load(path, manifest, tenant, staging, progress=progress)
                schedule_refresh(tenant.schema_name)
                record_event(
                    "tenant.restored",
                    acting_user=acting_user,
                    target=tenant,
                    after={
                        "archive": path.name, "archive_sha256": _sha256_file(path),
                        "archive_created_at": manifest.get("created_at", ""),
                        "source_slug": source.get("slug", ""),
                        "source_schema": source.get("schema_name", ""), "replace": replace,
                        "tables": len(manifest["tables"]), "rows": rows,
                        "media_files": len(manifest["media"]),
                        "safety_export": safety.summary() if safety else None,
                    },
                )  # fmt: skip
                target = media_root / tenant.schema_name
                transaction.on_commit(lambda: _install_media(staging, target))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if safety is not None:  # it saved a state that was never replaced
                safety.path.unlink(missing_ok=True)
            raise
    tenant.refresh_from_db()
    tenant.safety_export_path = safety.path if safety else None  # type: ignore[attr-defined]
    return tenant


def _load(
    path: Path, manifest: Manifest, tenant: Tenant, staging: Path, *, progress: Progress | None
) -> int:
    """Replace the rows of ``tenant``'s schema with the archive's; stage its media files.

    Runs in the caller's transaction. Foreign keys are checked once every table is in (Django
    makes them DEFERRABLE); user triggers (the page-version counter) are off while loading,
    so the rows arrive exactly as archived. The page cache still sees a new version: the
    restored counter row has a new ``xmin``, which is part of every cached page's key.
    """
    schema = tenant.schema_name
    here = {t.name: t for t in schema_tables(schema) if t.name not in KEPT_TABLES}
    archived = {t["name"]: t for t in manifest["tables"]}
    missing = sorted(here.keys() - archived.keys() - EMPTIED_TABLES)
    problems = [f"table {n}: not in the archive." for n in missing]
    problems += [
        f"table {n}: in the archive but not in this installation."
        for n in sorted(archived.keys() - here.keys())
    ]
    for table_name in sorted(here.keys() & archived.keys()):
        ours = set(here[table_name].columns)
        theirs = {(c["name"], c.get("type")) for c in archived[table_name]["columns"]}
        if ours != theirs:
            diff = ", ".join(sorted(f"{n} {t}" for n, t in ours ^ theirs))
            problems.append(f"table {table_name}: columns differ ({diff}).")
    if problems:
        raise archive_error(*problems)

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT conname::text, bool_or(condeferred) FROM pg_constraint
                WHERE connamespace = {_SCHEMA_OID} AND condeferrable GROUP BY 1 ORDER BY 1""",
            [schema],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            f"""SELECT DISTINCT c.relname::text FROM pg_trigger t
                JOIN pg_class c ON c.oid = t.tgrelid
                WHERE c.relnamespace = {_SCHEMA_OID} AND NOT t.tgisinternal ORDER BY 1""",
            [schema],
        )
        triggered = [row[0] for row in cursor.fetchall()]

        def set_constraints(names: list[str], mode: str) -> None:
            if names:
                joined = sql.SQL(", ").join(_qualified(schema, n) for n in names)
                cursor.execute(sql.SQL("SET CONSTRAINTS {} " + mode).format(joined))

        def switch_triggers(state: str) -> None:
            for table_name in triggered:
                statement = sql.SQL("ALTER TABLE {} " + state + " TRIGGER USER")
                cursor.execute(statement.format(_qualified(schema, table_name)))

        deferrable = [n for n, _ in constraints]
        # Settle checks queued earlier in this transaction: TRUNCATE and ALTER TABLE refuse a
        # table with pending trigger events.
        set_constraints(deferrable, "IMMEDIATE")
        set_constraints(deferrable, "DEFERRED")
        switch_triggers("DISABLE")
        cursor.execute(sql.SQL("TRUNCATE {}").format(_joined(schema, sorted(here))))
        rows = _copy_in(cursor, path, manifest, schema, staging, progress, tenant.slug)
        _rewrite_file_names(cursor, schema, manifest["tenant"].get("schema_name", ""))
        _restore_sequences(cursor, schema, manifest)
        try:
            set_constraints(deferrable, "IMMEDIATE")
        except IntegrityError as exc:
            raise archive_error(f"The archive's rows do not fit together: {exc}".strip()) from None
        switch_triggers("ENABLE")
        set_constraints(
            [n for n, initially_deferred in constraints if initially_deferred], "DEFERRED"
        )
    return rows


def _copy_in(
    cursor: Any,
    path: Path,
    manifest: Manifest,
    schema: str,
    staging: Path,
    progress: Progress | None,
    slug: str,
) -> int:
    """Stream every data file into its table and every media file into ``staging``."""
    tables = {t["file"]: t for t in manifest["tables"]}
    media = {f"media/{m['path']}": m for m in manifest["media"]}
    done, rows = 0, 0
    with _open_archive(path) as tar:
        _read_manifest_member(tar)
        for member in _data_members(tar):
            handle = tar.extractfile(member)
            assert handle is not None  # verify_archive let only regular files through
            digest = hashlib.sha256()
            entry = tables.get(member.name) or media[member.name]
            if member.name in tables:
                columns = sql.SQL(", ").join(sql.Identifier(c["name"]) for c in entry["columns"])
                query = sql.SQL("COPY {} ({}) FROM STDIN")
                with cursor.copy(query.format(_qualified(schema, entry["name"]), columns)) as copy:
                    while block := handle.read(_BLOCK):
                        digest.update(block)
                        copy.write(block)
                if cursor.rowcount != entry["rows"]:
                    raise archive_error(
                        f"table {entry['name']}: {cursor.rowcount} rows loaded, "
                        f"the manifest says {entry['rows']}."
                    )
                rows += entry["rows"]
                done += 1
                if progress:
                    progress(done, len(tables), f"restoring {slug}")
            else:
                out_path = staging / entry["path"]
                out_path.parent.mkdir(parents=True, exist_ok=True)
                with out_path.open("wb") as out:
                    while block := handle.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
            # Checked again while loading: the file may have changed since verify_archive.
            if digest.hexdigest() != entry["sha256"]:
                raise archive_error(f"{member.name}: checksum mismatch (the archive changed).")
    return rows


def _rewrite_file_names(cursor: Any, schema: str, old_schema: str) -> None:
    """Stored file names start with the schema (``alpha/logo-….png``): point them at ours."""
    if not old_schema or old_schema == schema:
        return
    old, new = f"{old_schema}/", f"{schema}/"
    for table_name, column in _file_columns():
        col = sql.Identifier(column)
        update = sql.SQL("UPDATE {} SET {} = %s || substr({}, %s) WHERE left({}, %s) = %s")
        cursor.execute(
            update.format(_qualified(schema, table_name), col, col, col),
            [new, len(old) + 1, len(old), old],
        )


def _restore_sequences(cursor: Any, schema: str, manifest: Manifest) -> None:
    """Move every sequence past the restored rows and the value it had when exported.

    So an id used and deleted before the export is not handed out again.
    """
    archived = {(s.get("table"), s.get("column")): s["last_value"] for s in manifest["sequences"]}
    for table_name, column, sequence in _sequences(schema):
        highest = sql.SQL("SELECT max({}) FROM {}")
        cursor.execute(highest.format(sql.Identifier(column), _qualified(schema, table_name)))
        value = max(cursor.fetchone()[0] or 0, archived.get((table_name, column)) or 0)
        if value > 0:
            cursor.execute("SELECT setval(%s::regclass, %s, true)", [sequence, value])
        else:
            cursor.execute("SELECT setval(%s::regclass, 1, false)", [sequence])


def _install_media(staging: Path, target: Path) -> None:
    """Put the restored files in place of the tenant's folder (after the commit)."""
    trash = target.with_name(f"{STAGING_PREFIX}old-{secrets.token_hex(8)}")
    if target.exists():
        target.rename(trash)
    if staging.exists():
        staging.rename(target)
    shutil.rmtree(trash, ignore_errors=True)


def _sweep_stale_staging(media_root: Path, max_age: float = 86400.0) -> None:
    """Remove day-old staging folders: left by a restore whose outer transaction rolled back."""
    cutoff = time.time() - max_age
    for entry in media_root.glob(f"{STAGING_PREFIX}*") if media_root.is_dir() else []:
        with contextlib.suppress(OSError):
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
