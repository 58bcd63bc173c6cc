"""Reading and checking an archive: format constants, the manifest, checksums, migrations."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django_tenants.utils import app_labels

from tenants.provisioning import expected_tenant_migrations

FORMAT = "satuatap-tenant-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEPT_TABLES = frozenset({"django_migrations"})  # the target's own history stays
EMPTIED_TABLES = frozenset({"django_session"})  # not exported; a restore empties it
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
_BLOCK = 1024 * 1024
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_UNREADABLE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)

Progress = Callable[[int, int, str], None]
Manifest = dict[str, Any]
PathLike = str | os.PathLike[str]


def archive_error(*messages: str) -> ValidationError:
    """A problem with the archive itself, reported under the ``archive`` field."""
    return ValidationError({"archive": list(messages)})


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
