"""Settings from the environment: typed, validated, refusing insecure production."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from mpp.env import env_bool, env_int, env_list, parse_database_url


def test_typed_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 42
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    assert env_bool("X_UNSET", True) is True


@pytest.mark.parametrize(
    ("name", "value", "call", "fragment"),
    [
        ("X_BOOL", "maybe", lambda: env_bool("X_BOOL", False), "X_BOOL must be a boolean"),
        ("X_INT", "ten", lambda: env_int("X_INT", 0), "X_INT must be an integer"),
        ("X_INT", "-1", lambda: env_int("X_INT", 0, minimum=0), "at least 0"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name, value, call, fragment
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=fragment):
        call()


def test_database_url_parsing() -> None:
    tcp = parse_database_url("postgresql://mpp:p%40ss@db.internal:6432/satuatap?sslmode=require")
    assert tcp == {
        "NAME": "satuatap", "USER": "mpp", "PASSWORD": "p@ss", "HOST": "db.internal",
        "PORT": "6432", "OPTIONS": {"sslmode": "require"},
    }  # fmt: skip
    socket = parse_database_url("postgresql://postgres:@/satuatap?host=/var/run/pg")
    assert socket["HOST"] == "/var/run/pg" and socket["OPTIONS"] == {}
    for bad in ["mysql://x@y/db", "postgresql://x@y/", "postgresql://x@y:notaport/db"]:
        with pytest.raises(ImproperlyConfigured):
            parse_database_url(bad)


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "MPP_ENV", "NIK_ENCRYPTION_KEY"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean |= {"DATABASE_URL": "postgresql://u@127.0.0.1:9/none"} | env
    return subprocess.run(
        [sys.executable, "-c", "import mpp.settings"], env=clean, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_production_refuses_the_default_secret() -> None:
    result = _import_settings(MPP_ENV="production")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_refuses_debug() -> None:
    result = _import_settings(MPP_ENV="production", SECRET_KEY="k" * 50, DEBUG="1")
    assert result.returncode != 0 and "DEBUG must be off" in result.stderr


# A real Fernet key (32 bytes, URL-safe base64), for the NIK encryption of mall/nik.py.
NIK_KEY = "oY2nVw5ZHq0cXb6l3mQ2p9r8s7t6u5v4w3x2y1z0AbC="


def test_production_starts_with_a_real_secret() -> None:
    result = _import_settings(MPP_ENV="production", SECRET_KEY="k" * 50, NIK_ENCRYPTION_KEY=NIK_KEY)
    assert result.returncode == 0, result.stderr


def test_production_needs_a_nik_key_of_its_own() -> None:
    # Derived from SECRET_KEY outside production only: rotating SECRET_KEY must never make
    # the stored NIKs unreadable.
    result = _import_settings(MPP_ENV="production", SECRET_KEY="k" * 50)
    assert (
        result.returncode != 0 and "NIK_ENCRYPTION_KEY must be set in production" in result.stderr
    )
    result = _import_settings(SECRET_KEY="k" * 50, NIK_ENCRYPTION_KEY="not-a-key")
    assert result.returncode != 0 and "NIK_ENCRYPTION_KEY must be a Fernet key" in result.stderr
    assert _import_settings().returncode == 0  # development derives one


def test_bad_platform_domain_is_refused() -> None:
    result = _import_settings(PLATFORM_DOMAIN="https://mpp.example.id/")
    assert result.returncode != 0 and "PLATFORM_DOMAIN must be a bare host" in result.stderr
