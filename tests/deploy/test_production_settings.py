"""Production settings: `check --deploy` clean, HTTPS everywhere, CSP, JSON logs per tenant.

The production process runs in a subprocess (settings are read once, at import), against
this session's test database, as the container runs it behind the reverse proxy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.production_support import ROOT, production_env, run_mpp, test_database_url

# --- manage.py check --deploy --------------------------------------------------------------


def test_check_deploy_is_clean_in_production() -> None:
    result = run_mpp("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr
    # HSTS preloading is the operator's call, so its reminder (W021) is the one silenced.
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_check_deploy_stays_clean_with_preload_and_silences_nothing() -> None:
    result = run_mpp(
        "check", "--deploy", "--fail-level", "WARNING",
        env=production_env(SECURE_HSTS_PRELOAD="1"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "check_id"),
    [
        ("SECURE_HSTS_SECONDS", "0", "security.W004"),
        ("SECURE_SSL_REDIRECT", "0", "security.W008"),
    ],
)
def test_check_deploy_catches_a_weakened_production(
    variable: str, value: str, check_id: str
) -> None:
    result = run_mpp(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(**{variable: value})
    )
    assert result.returncode != 0 and check_id in result.stderr


def test_production_refuses_to_run_without_a_database_url() -> None:
    env = production_env()
    del env["DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "-c", "import mpp.settings"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and "DATABASE_URL must be set in production" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text, got 'xml'"),
        ("ACCESS_LOG", "sometimes", "ACCESS_LOG must be a boolean"),
        ("SECURE_HSTS_SECONDS", "-5", "SECURE_HSTS_SECONDS must be at least 0"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be at least 1"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import mpp.settings"], env=production_env(**{variable: value}),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and message in result.stderr


# --- what a production process sends ------------------------------------------------------


@pytest.fixture(scope="module")
def production(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Run tests/deploy/production_probe.py once against the test database."""
    static_root = tmp_path_factory.mktemp("static")
    with django_db_blocker.unblock():
        url = test_database_url()
    env = production_env(DATABASE_URL=url, STATIC_ROOT=str(static_root), TENANT_SPARE_SCHEMAS="0")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("production_probe.py"))],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    found = json.loads(result.stdout)
    found["log"] = result.stderr
    found["static_root"] = static_root
    yield found


@pytest.mark.django_db  # the test database must exist for the subprocess
def test_pages_answer_over_https_from_the_proxy(production: dict[str, Any]) -> None:
    assert production["apex"]["status"] == 200
    assert production["portal"]["status"] == 200 and "Kota Alpha" in production["portal"]["body"]
    assert production["unknown_host"]["status"] == 404
    assert production["settings"]["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.django_db  # the test database must exist for the subprocess
def test_plain_http_is_redirected_but_probes_are_not(production: dict[str, Any]) -> None:
    plain = production["plain_http"]
    assert plain["status"] == 301 and plain["headers"]["Location"] == "https://alpha.localhost/"
    # Orchestrators probe over plain HTTP by the pod's address.
    assert production["healthz_plain_http"]["status"] == 200


@pytest.mark.django_db  # the test database must exist for the subprocess
@pytest.mark.parametrize("page", ["apex", "portal", "login"])
def test_security_headers(production: dict[str, Any], page: str) -> None:
    headers = production[page]["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    directives = headers["Content-Security-Policy"].split("; ")
    policy = {name: value for name, _, value in (d.partition(" ") for d in directives)}
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'"
    # Inline styles stay allowed: the tenant's accent colour (see settings.py).
    assert policy["style-src"] == "'self' 'unsafe-inline'"


@pytest.mark.django_db  # the test database must exist for the subprocess
def test_every_cookie_is_https_only(production: dict[str, Any]) -> None:
    csrf = production["login"]["cookies"]["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    language = production["language"]["cookies"]["django_language"]
    assert language["secure"] and language["samesite"] == "Lax"
    assert production["settings"]["SESSION_COOKIE_SECURE"] is True
    assert production["settings"]["CSRF_COOKIE_SECURE"] is True


@pytest.mark.django_db  # the test database must exist for the subprocess
def test_static_files_have_long_lived_hashed_names(production: dict[str, Any]) -> None:
    body = production["portal"]["body"]
    assert "/static/mpp/site.css" not in body
    manifest = json.loads((production["static_root"] / "staticfiles.json").read_text())
    hashed = manifest["paths"]["mpp/site.css"]
    assert hashed != "mpp/site.css" and f"/static/{hashed}" in body
    assert (production["static_root"] / (hashed + ".gz")).exists()  # served compressed


def _log_records(production: dict[str, Any]) -> list[dict[str, Any]]:
    lines = [line for line in production["log"].splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON, or this fails


@pytest.mark.django_db  # the test database must exist for the subprocess
def test_logs_are_json_lines_tagged_with_the_tenant_schema(production: dict[str, Any]) -> None:
    records = _log_records(production)
    access = [r for r in records if r["logger"] == "mpp.access"]
    by_request = {(r["host"], r["path"], r["status"]): r for r in access}
    portal = by_request["alpha.localhost", "/", 200]
    assert portal["schema"] == "alpha" and portal["method"] == "GET"
    assert portal["level"] == "INFO" and portal["duration_ms"] >= 0 and portal["time"]
    assert by_request["alpha.localhost", "/i18n/setlang/", 302]["schema"] == "alpha"
    assert by_request["localhost", "/", 200]["schema"] == "public"
    assert by_request["nobody.localhost", "/", 404]["schema"] == "-"
    # Probes are not logged: they would drown everything else.
    assert not [r for r in access if r["path"] == "/healthz"]
    # Any line written while working in a tenant's schema carries it.
    (probe,) = [r for r in records if r["logger"] == "mpp.probe"]
    assert probe == probe | {"schema": "alpha", "level": "WARNING", "message": "inside alpha"}
    # Django's own line about the unknown host names no tenant, not the last one served.
    (not_found,) = [r for r in records if r["logger"] == "django.request"]
    assert not_found["schema"] == "-" and not_found["status_code"] == 404
