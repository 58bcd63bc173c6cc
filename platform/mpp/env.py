"""Typed readers for settings taken from environment variables.

Each helper raises ``ImproperlyConfigured`` naming the variable and the bad value, so a
mistyped deployment fails at start-up instead of at the first request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """Return the variable as a string, or ``default`` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the variable as an integer, optionally bounded below."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the variable as a comma-separated list with blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str) -> dict[str, object]:
    """Turn ``postgresql://user:pass@host:port/name?opt=…`` into a Django DATABASES entry.

    A Unix socket directory may be given as ``?host=/path`` (libpq's own convention).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgresql://, got scheme {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database (…/dbname)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"DATABASE_URL has an invalid port in {url!r}") from None
    return {
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": query,
    }


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A DRF rate such as ``1000/hour`` or ``60/min``; empty means no limit."""
    value = os.environ.get(name, default).strip()
    if value and not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name}={value!r}: write a rate as a count per unit, e.g. 1000/hour or 60/min"
        )
    return value


def env_fernet_key(name: str, *, derive_from: str | None) -> str:
    """A Fernet key (32 bytes, URL-safe base64) from the variable.

    When the variable is unset, a key is derived from ``derive_from`` (development only: the
    caller passes None in production, where the variable is then required).
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        if derive_from is None:
            raise ImproperlyConfigured(
                f"{name} must be set in production: a Fernet key, generate one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'"
            )
        digest = hashlib.sha256(b"satuatap-nik-key:" + derive_from.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode()
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        decoded = b""
    if len(decoded) != 32:
        raise ImproperlyConfigured(
            f"{name} must be a Fernet key (32 bytes in URL-safe base64, 44 characters), "
            f"got a value of {len(raw)} characters that is not one"
        )
    return raw
