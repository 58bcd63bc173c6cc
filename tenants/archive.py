"""Per-tenant export and restore: one tenant's data, uploaded files and a manifest, in one file.

An archive is a gzip-compressed tar, written by ``export_tenant`` and read by
``restore_tenant``::

    manifest.json        first member: format and version, created_at, platform and PostgreSQL
                         versions; the tenant's public fields (name, slug, kind, region code,
                         time zone, status, admin e-mail, province, custom domains, schema);
                         the schema's applied migrations; per table its columns with types,
                         primary key, row count, size and SHA-256; sequences' last values;
                         per uploaded file its path, size and SHA-256
    data/<table>.copy    one per table of the tenant schema, PostgreSQL ``COPY`` text format,
                         rows in primary-key order, GENERATED columns left out (recomputed)
    media/<path>         the tenant's uploaded files, MEDIA_ROOT/<schema>/<path>

Two tables are not carried: ``django_migrations`` (the manifest lists the migrations; the
target keeps its own history, which must match) and ``django_session`` (sign-ins are not
data; a restore empties it, so no session points at a user id whose row was replaced).

An archive holds everything the schema holds — staff password hashes, API tokens, personal
data — so it is written with mode 0600 and must be kept like a database backup.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django_tenants.utils import app_labels, get_public_schema_name, schema_context
from psycopg import sql

from mall.models import tenant_media_storage
from mpp.accounts.models import User
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh
from tenants.models import Province, Tenant
from tenants.provisioning import (
    TenantSpec,
    applied_migrations,
    ensure_template,
    expected_tenant_migrations,
    provision_tenant,
)

FORMAT = "satuatap-tenant-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEPT_TABLES = frozenset({"django_migrations"})  # the target's own history stays
EMPTIED_TABLES = frozenset({"django_session"})  # not exported; a restore empties it
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
STAGING_PREFIX = ".restore-"  # never a schema name, so never a tenant's media folder
_BLOCK = 1024 * 1024
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)

Progress = Callable[[int, int, str], None]
Manifest = dict[str, Any]
PathLike = str | os.PathLike[str]


def archive_error(*messages: str) -> ValidationError:
    """A problem with the archive itself, reported under the ``archive`` field."""
    return ValidationError({"archive": list(messages)})


def default_export_dir() -> Path:
    """Where exports go when no destination is given: ``TENANT_EXPORT_DIR`` or data/exports."""
    configured = getattr(settings, "TENANT_EXPORT_DIR", "")
    return Path(configured) if configured else Path(settings.MPP_DATA_DIR) / "exports"


def platform_version() -> str:
    """The installed SatuAtap version, recorded in each manifest."""
    try:
        return importlib.metadata.version("satuatap")
    except importlib.metadata.PackageNotFoundError:
        return ""


# --- What a tenant schema holds -----------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table of a tenant schema: its stored (non-generated) columns and primary key."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type), in table order
    primary_key: tuple[str, ...]


_SCHEMA_OID = "(SELECT oid FROM pg_namespace WHERE nspname = %s)"


def schema_tables(schema: str) -> list[Table]:
    """Every table of ``schema`` with its stored columns, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.relname::text,
                   array_agg(a.attname::text ORDER BY a.attnum),
                   array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum),
                   (SELECT array_agg(k.attname::text ORDER BY x.ord)
                      FROM pg_index i
                      CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY x(num, ord)
                      JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = x.num
                     WHERE i.indrelid = c.oid AND i.indisprimary)
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE c.relnamespace = {_SCHEMA_OID} AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            GROUP BY c.oid, c.relname ORDER BY c.relname
            """,
            [schema],
        )
        return [
            Table(name, tuple(zip(names, types, strict=True)), tuple(pk or ()))
            for name, names, types, pk in cursor.fetchall()
        ]


def _sequences(schema: str) -> list[tuple[str, str, str]]:
    """(table, column, sequence) for every column of ``schema`` fed by a sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT * FROM (
                SELECT c.relname::text, a.attname::text,
                       pg_get_serial_sequence(quote_ident(%s) || '.' || quote_ident(c.relname),
                                              a.attname) AS seq
                FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                WHERE c.relnamespace = {_SCHEMA_OID} AND c.relkind IN ('r', 'p')
                  AND a.attnum > 0 AND NOT a.attisdropped
            ) s WHERE seq IS NOT NULL ORDER BY 1, 2
            """,
            [schema, schema],
        )
        return cursor.fetchall()


def _file_columns() -> list[tuple[str, str]]:
    """(table, column) of every file field of the tenant apps: they store ``<schema>/…``."""
    labels = set(app_labels(settings.TENANT_APPS))
    return sorted(
        (model._meta.db_table, f.column)
        for model in apps.get_models()
        if model._meta.app_label in labels
        for f in model._meta.concrete_fields
        if isinstance(f, models.FileField)
    )


def _qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _joined(schema: str, tables: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(_qualified(schema, t) for t in tables)


def _media_dir(schema: str) -> Path:
    return Path(tenant_media_storage().location) / schema


def _media_files(schema: str) -> list[tuple[str, Path]]:
    """(path relative to the tenant's media folder, absolute path) of its uploaded files."""
    root = _media_dir(schema)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = Path(dirpath) / filename
            if full.is_file() and not full.is_symlink():
                found.append((full.relative_to(root).as_posix(), full))
    return found


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --- Export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """A written archive and what it holds (for the audit row and the CLI's summary)."""

    path: Path
    sha256: str
    bytes: int
    tables: int
    rows: int
    media_files: int

    def summary(self) -> dict[str, Any]:
        """The figures an audit row records."""
        return {
            "file": str(self.path), "sha256": self.sha256, "bytes": self.bytes,
            "tables": self.tables, "rows": self.rows, "media_files": self.media_files,
        }  # fmt: skip


def _export_path(tenant: Tenant, destination: PathLike | None) -> Path:
    # The random part keeps two exports in one second (an archive, then a restore's safety
    # export) from replacing each other.
    name = f"{tenant.slug}-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.tar.gz"
    if destination is None:
        return default_export_dir() / name
    path = Path(destination)
    return path / name if path.is_dir() else path


def _take_snapshot(schema: str, outermost: bool) -> None:
    """Make every read of the export see one state of the tenant.

    In a transaction of its own the export reads one REPEATABLE READ snapshot, as pg_dump
    does, and blocks nobody. Inside a caller's transaction (``archive_tenant``, a restore's
    safety export) the isolation level is already fixed, so the tenant's tables are locked
    against writes until that transaction ends: nothing changes between the export and what
    the caller does next.
    """
    with connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        elif names := [t.name for t in schema_tables(schema)]:
            cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(_joined(schema, names)))


def write_archive(
    tenant: Tenant,
    destination: PathLike | None = None,
    *,
    progress: Progress | None = None,
    before_publish: Callable[[ExportResult], None] | None = None,
) -> ExportResult:
    """Write ``tenant``'s archive; the part ``export_tenant`` and ``archive_tenant`` share.

    Writes no audit row itself: ``before_publish`` (the caller's ``record_event``) runs in the
    export's transaction just before the file appears, so no file exists without its audit
    row. ``destination`` is a file, a folder (a dated name is chosen in it) or None (the
    default export folder). The file is written beside its final name and renamed when
    complete, so a failed export leaves nothing.
    """
    target = _export_path(tenant, destination)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    schema, label = tenant.schema_name, f"exporting {tenant.slug}"
    outermost = not connection.in_atomic_block
    try:
        with (
            schema_context(get_public_schema_name()),
            tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work,
            transaction.atomic(),
        ):
            _take_snapshot(schema, outermost)
            skipped = KEPT_TABLES | EMPTIED_TABLES
            tables = [t for t in schema_tables(schema) if t.name not in skipped]
            total, entries = len(tables) + 1, []
            with connection.cursor() as cursor:
                for i, table in enumerate(tables, start=1):
                    entries.append(_dump_table(cursor, schema, table, Path(work)))
                    if progress:
                        progress(i, total, label)
                migrations = sql.SQL("SELECT app, name FROM {} ORDER BY app, name")
                cursor.execute(migrations.format(_qualified(schema, "django_migrations")))
                applied = [list(row) for row in cursor.fetchall()]
                sequences = []
                for table_name, column, sequence in _sequences(schema):
                    cursor.execute("SELECT pg_sequence_last_value(%s::regclass)", [sequence])
                    last = cursor.fetchone()[0]
                    sequences.append({"table": table_name, "column": column, "last_value": last})
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": timezone.now().isoformat(),
                "platform_version": platform_version(),
                "postgresql_version": connection.pg_version,
                "tenant": _tenant_fields(tenant),
                "migrations": applied,
                "excluded_tables": sorted(skipped),
                "tables": [entry for entry, _ in entries],
                "sequences": sequences,
                "media": [
                    {"path": rel, "bytes": full.stat().st_size, "sha256": _sha256_file(full)}
                    for rel, full in _media_files(schema)
                ],
            }
            _write_tar(partial, manifest, entries, _media_dir(schema))
            if progress:
                progress(total, total, label)
            result = ExportResult(
                path=target,
                sha256=_sha256_file(partial),
                bytes=partial.stat().st_size,
                tables=len(entries),
                rows=sum(entry["rows"] for entry, _ in entries),
                media_files=len(manifest["media"]),
            )
            if before_publish:
                before_publish(result)
            os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return result


def _tenant_fields(tenant: Tenant) -> dict[str, Any]:
    province = Province.objects.get(pk=tenant.province_id)
    return {
        "name": tenant.name, "slug": tenant.slug, "kind": tenant.kind,
        "region_code": tenant.region_code, "time_zone": tenant.time_zone,
        "status": tenant.status, "status_reason": tenant.status_reason,
        "admin_email": tenant.admin_email,
        "province": {"code": province.code, "name": province.name},
        "custom_domains": sorted(tenant.domains.values_list("domain", flat=True)),
        "schema_name": tenant.schema_name,
    }  # fmt: skip


def _dump_table(cursor: Any, schema: str, table: Table, work: Path) -> tuple[dict[str, Any], Path]:
    """COPY one table out to a file in ``work``; return its manifest entry and the file."""
    names = [name for name, _ in table.columns]
    query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT").format(
        sql.SQL(", ").join(map(sql.Identifier, names)),
        _qualified(schema, table.name),
        sql.SQL(", ").join(map(sql.Identifier, table.primary_key or names)),
    )
    path = work / f"{table.name}.copy"
    digest, rows, size = hashlib.sha256(), 0, 0
    with path.open("wb") as out, cursor.copy(query) as copy:
        for block in copy:
            data = bytes(block)
            digest.update(data)
            rows += data.count(b"\n")  # COPY text escapes newlines in values: a line is a row
            size += len(data)
            out.write(data)
    entry = {
        "name": table.name,
        "file": f"data/{table.name}.copy",
        "columns": [{"name": n, "type": t} for n, t in table.columns],
        "primary_key": list(table.primary_key),
        "rows": rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
    }
    return entry, path


def _write_tar(
    path: Path, manifest: Manifest, entries: list[tuple[dict[str, Any], Path]], media: Path
) -> None:
    def info(name: str, size: int) -> tarfile.TarInfo:
        member = tarfile.TarInfo(name)
        member.size, member.mode, member.mtime = size, 0o600, int(time.time())
        return member

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
        tar.addfile(info(MANIFEST, len(body)), io.BytesIO(body))
        for entry, file in entries:
            with file.open("rb") as f:
                tar.addfile(info(entry["file"], entry["bytes"]), f)
        for item in manifest["media"]:
            with (media / item["path"]).open("rb") as f:
                tar.addfile(info(f"media/{item['path']}", item["bytes"]), f)


def export_tenant(
    tenant: Tenant,
    *,
    acting_user: User | None,
    destination: PathLike | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write a complete, restorable archive of ``tenant``; return its path (audited)."""

    def audit(result: ExportResult) -> None:
        record_event(
            "tenant.exported", acting_user=acting_user, target=tenant, after=result.summary()
        )

    return write_archive(tenant, destination, progress=progress, before_publish=audit).path


# --- Reading and checking an archive ------------------------------------------------------


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    """The archive opened for reading; damage found while reading is an ``archive`` error."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            yield tar
    except (FileNotFoundError, IsADirectoryError):
        raise archive_error(f"No archive file at {path}.") from None
    except _UNREADABLE as exc:
        raise archive_error(
            f"Not a readable tenant archive (a .tar.gz made by `mpp tenants export`): {exc}."
        ) from None


def _safe_media_path(value: Any) -> bool:
    if not isinstance(value, str) or not value or "\\" in value:
        return False
    path = PurePosixPath(value)
    return not path.is_absolute() and str(path) == value and ".." not in path.parts


def _check_manifest(manifest: Any) -> Manifest:
    """Refuse a manifest of another format or version, or with a malformed entry."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise archive_error("manifest.json is not a SatuAtap tenant archive manifest.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise archive_error(
            f"Archive format version {manifest.get('format_version')!r} is not supported "
            f"(this installation reads version {FORMAT_VERSION})."
        )
    problems = []
    tenant = manifest.get("tenant")
    fields = ("name", "slug", "kind", "region_code", "time_zone", "admin_email", "schema_name")
    if not (
        isinstance(tenant, dict)
        and isinstance(tenant.get("province"), dict)
        and all(isinstance(tenant.get(f), str) for f in fields)
    ):
        problems.append("manifest.json: the tenant's fields are missing or malformed.")
    migrations = manifest.get("migrations")
    if not isinstance(migrations, list) or not all(
        isinstance(m, list) and len(m) == 2 and all(isinstance(p, str) for p in m)
        for m in migrations
    ):
        problems.append("manifest.json: the migration list is missing or malformed.")
    names: set[str] = set()
    for entry in _list(manifest, "tables", problems):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _IDENTIFIER.match(name) or name in names:
            problems.append(f"manifest.json: bad or repeated table entry {entry!r:.80}.")
            continue
        names.add(name)
        columns = entry.get("columns")
        if (
            entry.get("file") != f"data/{name}.copy"
            or not isinstance(entry.get("rows"), int)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(columns, list)
            or not all(
                isinstance(c, dict) and _IDENTIFIER.match(str(c.get("name"))) for c in columns
            )
        ):
            problems.append(f"manifest.json: bad entry for table {name}.")
    paths: set[str] = set()
    for item in _list(manifest, "media", problems):
        path = item.get("path") if isinstance(item, dict) else None
        if not _safe_media_path(path) or path in paths or not isinstance(item.get("sha256"), str):
            problems.append(f"manifest.json: unsafe, repeated or bad media path {item!r:.80}.")
        paths.add(str(path))
    for seq in _list(manifest, "sequences", problems):
        if not isinstance(seq, dict) or not isinstance(seq.get("last_value"), int | None):
            problems.append(f"manifest.json: bad sequence entry {seq!r:.80}.")
    if problems:
        raise archive_error(*problems)
    return manifest


def _list(manifest: Manifest, key: str, problems: list[str]) -> list[Any]:
    value = manifest.get(key)
    if isinstance(value, list):
        return value
    problems.append(f"manifest.json: the {key} list is missing.")
    return []


def _read_manifest_member(tar: tarfile.TarFile) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise archive_error("manifest.json is not the archive's first member.")
    if first.size > MANIFEST_MAX_BYTES:
        raise archive_error("manifest.json is implausibly large.")
    handle = tar.extractfile(first)
    assert handle is not None
    try:
        manifest = json.loads(handle.read())
    except ValueError as exc:
        raise archive_error(f"manifest.json is not valid JSON: {exc}.") from None
    return _check_manifest(manifest)


def _data_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Every member after the manifest (iterating a TarFile starts again at its first)."""
    for index, member in enumerate(tar):
        if index:
            yield member


def read_manifest(path: PathLike) -> Manifest:
    """The manifest of the archive at ``path`` (cheap: only the first member is read)."""
    with _open_archive(Path(path)) as tar:
        return _read_manifest_member(tar)


def verify_archive(path: PathLike, *, progress: Progress | None = None) -> Manifest:
    """Read the whole archive and check every file against the manifest; return the manifest.

    Raises ``ValidationError`` under ``archive`` naming each table or file that is missing,
    unexpected, or whose row count or SHA-256 differs.
    """
    with _open_archive(Path(path)) as tar:
        manifest = _read_manifest_member(tar)
        tables = {t["file"]: t for t in manifest["tables"]}
        media = {f"media/{m['path']}": m for m in manifest["media"]}
        seen: set[str] = set()
        problems: list[str] = []
        total = len(tables) + 1
        for member in _data_members(tar):
            expected = tables.get(member.name) or media.get(member.name)
            if expected is None or not member.isfile() or member.name in seen:
                problems.append(f"Unexpected or repeated member {member.name} in the archive.")
                continue
            seen.add(member.name)
            what = f"table {expected['name']}" if member.name in tables else member.name
            digest, rows = hashlib.sha256(), 0
            handle = tar.extractfile(member)
            assert handle is not None
            while block := handle.read(_BLOCK):
                digest.update(block)
                rows += block.count(b"\n")
            if digest.hexdigest() != expected["sha256"]:
                problems.append(f"{what}: checksum mismatch (the archive is corrupted).")
            elif member.name in tables and rows != expected["rows"]:
                problems.append(f"{what}: {rows} rows, the manifest says {expected['rows']}.")
            if progress and member.name in tables:
                progress(len(seen & tables.keys()), total, "checking archive")
        for name in sorted(tables.keys() - seen):
            problems.append(f"table {tables[name]['name']}: data file {name} is missing.")
        problems += [f"{name} is missing." for name in sorted(media.keys() - seen)]
    if problems:
        raise archive_error(*problems)
    if progress:
        progress(total, total, "checking archive")
    return manifest


def check_migrations(manifest: Manifest) -> None:
    """Refuse an archive whose tenant migrations differ from this installation's."""
    labels = set(app_labels(settings.TENANT_APPS))
    archived = {(app, name) for app, name in manifest["migrations"] if app in labels}
    here = expected_tenant_migrations()
    parts = [
        f"only {where}: " + ", ".join(f"{a}.{n}" for a, n in sorted(names))
        for where, names in (
            ("in the archive", archived - here),
            ("in this installation", here - archived),
        )
        if names
    ]
    if parts:
        raise archive_error(
            f"The archive's tenant migrations differ from this installation's "
            f"({'; '.join(parts)}). Restore it with the SatuAtap version that exported it, "
            "or migrate the source and export it again."
        )


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
