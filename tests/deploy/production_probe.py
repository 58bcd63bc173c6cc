"""Run in a subprocess with MPP_ENV=production by test_production_settings.py.

Collects static files into STATIC_ROOT, asks the apex and tenant ``alpha`` for pages as the
reverse proxy would (X-Forwarded-Proto: https) and once over plain HTTP, logs one line from
inside alpha's schema, and prints what it saw as JSON on stdout. The log lines go to stderr
in whatever LOG_FORMAT the environment chose.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import django


def snapshot(response: Any) -> dict[str, Any]:
    """Status, headers, cookies (with their flags) and body of a test-client response."""
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {
            name: {
                "secure": bool(morsel["secure"]),
                "httponly": bool(morsel["httponly"]),
                "samesite": morsel["samesite"],
            }
            for name, morsel in response.cookies.items()
        },
        "body": response.content.decode() if not response.streaming else "",
    }


def main() -> None:
    """Probe the production settings and print the findings."""
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django_tenants.utils import schema_context

    call_command("collectstatic", interactive=False, verbosity=0)
    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    apex = Client(HTTP_HOST="localhost", **proxied)
    alpha = Client(HTTP_HOST="alpha.localhost", **proxied)
    login = reverse("accounts:login", urlconf=settings.ROOT_URLCONF)
    found = {
        "apex": snapshot(apex.get("/")),
        "portal": snapshot(alpha.get("/")),
        "login": snapshot(alpha.get(login)),
        "language": snapshot(alpha.post("/i18n/setlang/", {"language": "en", "next": "/"})),
        "plain_http": snapshot(Client(HTTP_HOST="alpha.localhost").get("/")),
        "unknown_host": snapshot(Client(HTTP_HOST="nobody.localhost", **proxied).get("/")),
        "healthz_plain_http": snapshot(Client(HTTP_HOST="10.0.0.1").get("/healthz")),
        "settings": {
            "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
            "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
            "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
        },
    }
    with schema_context("alpha"):
        logging.getLogger("mpp.probe").warning("inside alpha")
    sys.stderr.flush()
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main()
