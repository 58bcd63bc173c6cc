"""Support for the container and production-settings tests: environments, the test DB URL."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
MPP = str(Path(sys.executable).parent / "mpp")
# Variables of the developer's shell that would change what these tests see.
_CLEARED = {
    "SECRET_KEY", "DEBUG", "MPP_ENV", "NIK_ENCRYPTION_KEY", "DATABASE_URL", "LOG_FORMAT",
    "ACCESS_LOG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "TRUST_X_FORWARDED_PROTO", "STATIC_ROOT",
    "DB_POOL_MODE", "DATABASE_DIRECT_URL", "CSP_REPORT_URI", "PLATFORM_DOMAIN",
    # Set by the browser tests' live server in this process; never in a deployment.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}  # fmt: skip


def test_database_url() -> str:
    """A libpq URL of the database this test session uses (embedded or DATABASE_URL)."""
    params = connection.settings_dict
    host = params["HOST"]
    auth = f"{params['USER']}:{params['PASSWORD']}"
    if host.startswith("/"):
        return f"postgresql://{auth}@/{params['NAME']}?host={host}"
    return f"postgresql://{auth}@{host}:{params['PORT']}/{params['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a test


def production_env(**overrides: str) -> dict[str, str]:
    """The environment a production process gets: fresh secrets, nothing else set."""
    env = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    env |= {
        "MPP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "NIK_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        # Settings are importable without reaching it; tests that need the database pass
        # test_database_url().
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
    }
    return env | overrides


def run_mpp(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``mpp`` console script."""
    return subprocess.run(
        [MPP, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
