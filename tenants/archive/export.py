"""Writing an archive: ``write_archive`` and the audited ``export_tenant``."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import secrets
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from psycopg import sql

from mpp.accounts.models import User
from mpp.audit.actions import record_event
from tenants.archive.manifest import (
    EMPTIED_TABLES,
    FORMAT,
    FORMAT_VERSION,
    KEPT_TABLES,
    MANIFEST,
    Manifest,
    PathLike,
    Progress,
)
from tenants.archive.schema import (
    Table,
    _joined,
    _media_dir,
    _media_files,
    _qualified,
    _sequences,
    _sha256_file,
    schema_tables,
)
from tenants.models import Province, Tenant


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
