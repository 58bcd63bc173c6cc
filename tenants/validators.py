"""Rules for tenant slugs: a DNS label that also makes a valid PostgreSQL schema name."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")

# Host labels and schema names the platform keeps for itself.
RESERVED_SLUGS = frozenset(
    {
        "www", "api", "admin", "public", "static", "media", "assets", "mail", "smtp",
        "ftp", "app", "apps", "console", "platform", "status", "docs", "help", "support",
        "auth", "login", "staff", "dashboard", "cdn", "ns1", "ns2", "test", "demo",
        "information-schema", "tenant-template", "tenant-spare", "template", "default",
        "root", "system", "restore", "provinsi", "accounts", "operator",
    }
)  # fmt: skip


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema a tenant with ``slug`` lives in (hyphens become underscores)."""
    return slug.replace("-", "_")


def validate_slug(slug: str) -> None:
    """Reject a slug that is malformed, reserved or would map onto a system schema."""
    if not SLUG_RE.match(slug):
        raise ValidationError(
            "Slug harus 3–40 karakter: huruf kecil a–z, angka dan tanda hubung, diawali huruf "
            "dan tidak diakhiri tanda hubung (contoh: tanjungpinang). / The slug must be 3–40 "
            "characters of a–z, 0–9 and hyphens, start with a letter and not end with a hyphen.",
            code="invalid_slug",
        )
    schema = schema_name_for(slug)
    if (
        slug in RESERVED_SLUGS
        or schema.startswith(("pg_", "tenant_spare_"))
        or schema in {"public", "information_schema", settings.TENANT_TEMPLATE_SCHEMA}
    ):
        raise ValidationError(
            f"Slug “{slug}” dicadangkan oleh platform. / The slug “{slug}” is reserved.",
            code="reserved_slug",
        )


def validate_custom_domain(domain: str) -> None:
    """A custom domain is a full host name outside the platform's own domain."""
    domain = domain.lower()
    label = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
    if not re.fullmatch(rf"{label}(\.{label})+", domain) or len(domain) > 253:
        raise ValidationError(f"“{domain}” is not a valid host name.", code="invalid_domain")
    apex = settings.PLATFORM_DOMAIN
    if domain == apex or domain.endswith("." + apex):
        raise ValidationError(
            f"“{domain}” is under the platform domain {apex}; every tenant already has "
            "<slug>." + apex + ".",
            code="platform_domain",
        )
