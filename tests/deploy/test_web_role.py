"""The web role (`mpp web`: gunicorn), JSON logs tagged with the schema, and the CSP."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_tenants.utils import schema_context

from mpp.jsonlog import JsonFormatter, TenantSchemaFilter
from mpp.management.commands import web
from tenants.models import Tenant
from tests.deploy.production_support import MPP, ROOT, production_env, test_database_url

# --- the command ----------------------------------------------------------------------------


def _configured(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """Run `mpp web ARGS` up to the point gunicorn would start; return its configuration."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(web.WebApplication, "run", lambda app: seen.setdefault("cfg", app.cfg))
    call_command("web", *args)
    return seen["cfg"]


def test_options_reach_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _configured(monkeypatch, "--bind", "127.0.0.1:8123", "--workers", "3", "--threads", "4")
    assert cfg.bind == ["127.0.0.1:8123"] and cfg.workers == 3 and cfg.threads == 4
    assert cfg.worker_class_str == "gthread" and cfg.preload_app is False
    assert cfg.timeout == cfg.graceful_timeout == django_settings.WEB_TIMEOUT
    # gunicorn's own access log is off: AccessLogMiddleware writes one knowing the tenant.
    assert cfg.accesslog is None
    assert cfg.logconfig_dict["loggers"]["gunicorn.error"]["propagate"] is True


def test_defaults_come_from_the_settings(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.WEB_BIND = "127.0.0.1:9001"
    settings.WEB_CONCURRENCY = 5
    settings.WEB_THREADS = 3
    settings.WEB_TIMEOUT = 17
    cfg = _configured(monkeypatch)
    assert (cfg.bind, cfg.workers, cfg.threads, cfg.timeout) == (["127.0.0.1:9001"], 5, 3, 17)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--threads", "-2"], "--threads must be at least 1, got -2"),
        (["--bind", "8000"], "--bind must be host:port or unix:PATH, got '8000'"),
    ],
)
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("web", *args)


def test_refuses_to_serve_without_collected_static_files(settings: Any, tmp_path: Path) -> None:
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    }
    with pytest.raises(CommandError, match="run `mpp collectstatic --no-input` first"):
        call_command("web")


def test_the_cli_lists_the_web_role() -> None:
    from mpp.cli import OVERVIEW

    assert "  web  " in OVERVIEW


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, host: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (http, local)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.mark.django_db  # the test database must exist for the server
def test_gunicorn_serves_tenants_and_stops_cleanly_on_sigterm(
    django_db_setup: None, django_db_blocker: Any
) -> None:
    """The real server, outside the container: two tenants, a probe, then SIGTERM."""
    with django_db_blocker.unblock():
        url = test_database_url()
    port = _free_port()
    env = production_env(
        MPP_ENV="development", DATABASE_URL=url, LOG_FORMAT="json", ACCESS_LOG="1",
        TENANT_SPARE_SCHEMAS="0",
    )  # fmt: skip
    server = subprocess.Popen(
        [MPP, "web", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz", "10.0.0.1")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "mpp web did not answer /healthz in 60 s"
            time.sleep(0.2)
        status, body = _get(f"{base}/", "alpha.localhost")
        assert status == 200 and "Kota Alpha" in body
        status, body = _get(f"{base}/", "beta.localhost")
        assert status == 200 and "Kabupaten Beta" in body and "Kota Alpha" not in body
        assert _get(f"{base}/", "nobody.localhost")[0] == 404
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _out, log = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, log[-3000:]
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    messages = [r["message"] for r in records if r["logger"] == "gunicorn.error"]
    assert "Shutting down: Master" in messages
    access = {(r["host"], r["status"]): r["schema"] for r in records if r["logger"] == "mpp.access"}
    assert access == {
        ("alpha.localhost", 200): "alpha",
        ("beta.localhost", 200): "beta",
        ("nobody.localhost", 404): "-",
    }


# --- logging ----------------------------------------------------------------------------------


def _record(message: str = "hello", **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("mpp.test", logging.WARNING, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_the_filter_tags_records_with_the_connections_schema(tenant_a: Tenant) -> None:
    schema_filter = TenantSchemaFilter()
    public = _record()
    schema_filter.filter(public)
    with schema_context(tenant_a.schema_name):
        inside = _record()
        schema_filter.filter(inside)
    assert (public.schema, inside.schema) == ("public", tenant_a.schema_name)
    kept = _record(schema="beta")
    schema_filter.filter(kept)
    assert kept.schema == "beta"


def test_the_formatter_writes_one_json_object_per_record() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = _record("line one\nline two", schema="alpha", status=500, when=object())
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["schema"] == "alpha" and entry["level"] == "WARNING"
    assert entry["logger"] == "mpp.test" and entry["message"] == "line one\nline two"
    assert entry["status"] == 500 and entry["when"].startswith("<object object")
    assert "ValueError: bad" in entry["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_access_log_names_the_tenant_of_each_request(
    settings: Any, caplog: pytest.LogCaptureFixture, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    settings.ACCESS_LOG = True
    with caplog.at_level(logging.INFO, logger="mpp.access"):
        Client(HTTP_HOST="alpha.localhost").get("/")
        Client(HTTP_HOST="beta.localhost").get("/")
        Client(HTTP_HOST="nobody.localhost").get("/")
        Client(HTTP_HOST="alpha.localhost").get("/healthz")
    seen = [(r.host, r.status, r.schema) for r in caplog.records if r.name == "mpp.access"]
    assert seen == [
        ("alpha.localhost", 200, tenant_a.schema_name),
        ("beta.localhost", 200, tenant_b.schema_name),
        ("nobody.localhost", 404, "-"),
    ]


def test_access_log_is_off_unless_asked(
    settings: Any, caplog: pytest.LogCaptureFixture, tenant_a: Tenant
) -> None:
    settings.ACCESS_LOG = False
    with caplog.at_level(logging.INFO, logger="mpp.access"):
        Client(HTTP_HOST="alpha.localhost").get("/")
    assert not [r for r in caplog.records if r.name == "mpp.access"]


# --- Content-Security-Policy ------------------------------------------------------------------


def test_every_environment_sends_the_policy(tenant_a: Tenant) -> None:
    response = Client(HTTP_HOST="alpha.localhost").get("/")
    assert "script-src 'self';" in response.headers["Content-Security-Policy"] + ";"


def test_csp_report_uri_is_optional() -> None:
    env = production_env(CSP_REPORT_URI="https://csp.example.id/report")
    code = "from django.conf import settings as s; print(s.CONTENT_SECURITY_POLICY['DIRECTIVES'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env | {"DJANGO_SETTINGS_MODULE": "mpp.settings"}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "'report-uri': ['https://csp.example.id/report']" in result.stdout


TEMPLATE_ROOTS = ["platform", "tenants", "catalog", "mall", "stats"]
INLINE = [
    # <script> without src= (JSON data blocks are not run, so they may stay inline).
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>", re.I),
     "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]  # fmt: skip


def test_no_template_needs_inline_script() -> None:
    """script-src 'self' blocks inline code: every script must be a static file."""
    offences = []
    for root in TEMPLATE_ROOTS:
        for path in (ROOT / root).rglob("templates/**/*.html"):
            text = path.read_text(encoding="utf-8")
            for pattern, what in INLINE:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    offences.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert offences == []
