"""Absolute URLs for links that leave the request (e-mails, CLI output)."""

from __future__ import annotations

from django.conf import settings


def absolute_url(host: str, path: str = "/") -> str:
    """Return ``scheme://host[:port]path`` using the platform's public scheme and port."""
    port = settings.PLATFORM_URL_PORT
    default_port = {"http": 80, "https": 443}.get(settings.PLATFORM_URL_SCHEME)
    netloc = host if not port or port == default_port else f"{host}:{port}"
    return f"{settings.PLATFORM_URL_SCHEME}://{netloc}{path}"
