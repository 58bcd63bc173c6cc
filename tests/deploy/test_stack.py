"""The container stack's files agree with each other and with the settings (deploy/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.production_support import ROOT

DEPLOY = ROOT / "deploy"


def settings_variables() -> set[str]:
    """Every environment variable platform/mpp/settings.py reads."""
    source = (ROOT / "platform" / "mpp" / "settings.py").read_text()
    return set(re.findall(r"env_[a-z_]+\(\s*\"([A-Z0-9_]+)\"", source))


def test_env_example_documents_every_setting() -> None:
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (DEPLOY / ".env.example").read_text(), re.M)
    )
    # The test database's name matters to test runs only.
    missing = settings_variables() - {"MPP_TEST_DB_NAME"} - documented
    assert not missing, f"add to deploy/.env.example: {sorted(missing)}"
    # And it invents none: compose's own variables aside, each one is read by the settings.
    compose_only = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "HTTP_PORT", "HTTPS_PORT"}
    assert documented - compose_only <= settings_variables()


def test_env_example_leaves_no_secret_filled_in() -> None:
    values = dict(
        re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (DEPLOY / ".env.example").read_text(), re.M)
    )
    for name in ("SECRET_KEY", "NIK_ENCRYPTION_KEY", "POSTGRES_PASSWORD"):
        assert values[name] == "change-me"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_each_role_of_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "web", "worker", "proxy"}
    assert services["db"]["image"].startswith("postgres:16")
    roles = {name: services[name]["command"] for name in ("migrate", "web", "worker")}
    assert roles == {
        "migrate": ["migrate"],
        "web": ["web"],
        "worker": ["worker", "--health-port", "8001"],
    }
    for name in roles:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert "mpp-data:/var/lib/mpp" in service["volumes"]


def test_compose_starts_things_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for role in ("web", "worker"):
        assert services[role]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    # The image's health check probes the web role's /healthz; the worker's own port its.
    assert "healthcheck" not in services["web"]
    check = services["worker"]["healthcheck"]
    assert check["test"][:2] == ["CMD", "python3"]
    assert "http://127.0.0.1:8001/healthz" in check["test"][-1]


def test_compose_puts_the_web_role_behind_the_proxy_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "ports" not in services["web"] and services["web"]["expose"] == ["8000"]
    proxy = services["proxy"]
    assert proxy["environment"]["MPP_UPSTREAM"] == "web:8000"
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]


def test_caddyfile_serves_the_apex_and_every_tenant_subdomain() -> None:
    text = (DEPLOY / "Caddyfile").read_text()
    assert re.search(
        r"^\{\$PLATFORM_DOMAIN:localhost\}, \*\.\{\$PLATFORM_DOMAIN:localhost\} \{$", text, re.M
    )
    assert "reverse_proxy {$MPP_UPSTREAM:web:8000}" in text
    assert "health_uri /healthz" in text


@pytest.mark.skipif(not shutil.which("caddy"), reason="caddy is not installed")
def test_caddy_accepts_the_caddyfile(tmp_path: Any) -> None:
    caddy = str(shutil.which("caddy"))
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True, text=True, timeout=60,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def test_dockerfile_takes_its_base_image_as_an_argument() -> None:
    text = dockerfile()
    first_from = text.index("\nFROM ")
    assert "ARG BASE_IMAGE=python:3.12-slim-bookworm" in text[:first_from]
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]


def test_dockerfile_runs_mpp_unprivileged_with_a_health_check() -> None:
    text = dockerfile()
    runtime = text[text.rindex("\nFROM ") :]
    assert re.search(r"^USER mpp:mpp$", runtime, re.M)
    assert 'ENTRYPOINT ["mpp"]' in runtime and 'CMD ["web"]' in runtime
    assert "/healthz" in runtime.split("HEALTHCHECK", 1)[1]
    assert "MPP_ENV=production" in runtime
    # Translations compiled and static files collected at build time, in the build stage.
    assert "mpp compilemessages" in text and "mpp collectstatic --no-input" in text


def test_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".data", ".git", "**/node_modules"} <= set(ignored)


def test_makefile_has_the_image_smoke_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^image-smoke: .*\n\tdeploy/image-smoke\.sh$", makefile, re.M)
