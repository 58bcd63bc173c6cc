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

from tenants.archive.export import ExportResult, default_export_dir, export_tenant, write_archive
from tenants.archive.manifest import check_migrations, read_manifest, verify_archive
from tenants.archive.restore import restore_tenant

__all__ = [
    "ExportResult",
    "check_migrations",
    "default_export_dir",
    "export_tenant",
    "read_manifest",
    "restore_tenant",
    "verify_archive",
    "write_archive",
]
