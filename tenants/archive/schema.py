"""What a tenant schema holds: its tables, sequences, file columns and uploaded files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django_tenants.utils import app_labels
from psycopg import sql

from mall.models import tenant_media_storage

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
