"""The mpp CLI: verbs, --help everywhere, errors that say what is wrong."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from mpp.audit.models import AuditEvent
from tenants.models import Province, Tenant


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def mpp(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script against the test database."""
    params = connection.settings_dict
    host = params["HOST"]
    auth = f"{params['USER']}:{params['PASSWORD']}"
    url = (
        f"postgresql://{auth}@/{params['NAME']}?host={host}"
        if host.startswith("/")
        else f"postgresql://{auth}@{host}:{params['PORT']}/{params['NAME']}"
    )
    return subprocess.run(
        [str(Path(sys.executable).parent / "mpp"), *args],
        env=os.environ | {"DATABASE_URL": url} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_list_and_lifecycle(kepri: Province, tenant_a: Tenant) -> None:
    out = run(
        "tenants", "create", "--province", "21", "--name", "Kabupaten Gamma", "--slug", "gamma",
        "--kind", "kabupaten", "--region-code", "21.92", "--admin-email", "admin@gamma.go.id",
        "--domain", "mpp.gamma.go.id",
    )  # fmt: skip
    assert "created Kabupaten Gamma (gamma)" in out and "http://gamma.localhost:8000" in out
    listing = json.loads(run("tenants", "list", "--province", "21", "--json"))
    assert [t["slug"] for t in listing] == ["alpha", "gamma"]
    assert "suspended" in run("tenants", "suspend", "gamma", "--reason", "Audit tahunan")
    assert Tenant.objects.get(slug="gamma").status_reason == "Audit tahunan"
    assert "active" in run("tenants", "resume", "gamma")
    assert "Kabupaten Gamma Raya" in run(
        "tenants", "rename", "gamma", "--name", "Kabupaten Gamma Raya"
    )
    assert "mpp2.gamma.go.id" in run("tenants", "add-domain", "gamma", "mpp2.gamma.go.id")
    assert "archived" in run("tenants", "archive", "gamma")
    shown = run("tenants", "show", "gamma")
    assert "archived" in shown and "mpp.gamma.go.id, mpp2.gamma.go.id" in shown
    assert AuditEvent.objects.filter(
        action="tenant.archived", target_label="Kabupaten Gamma Raya"
    ).exists()


def test_bad_input_names_the_field(kepri: Province, tenant_a: Tenant) -> None:
    with pytest.raises(CommandError) as caught:
        run(
            "tenants", "create", "--province", "21", "--name", "X", "--slug", "alpha",
            "--kind", "kota", "--region-code", "2171", "--admin-email", "bad",
        )  # fmt: skip
    message = str(caught.value)
    assert "slug:" in message and "region_code:" in message and "admin_email:" in message
    with pytest.raises(CommandError, match="no province with code '99'"):
        run(
            "tenants", "create", "--province", "99", "--name", "X", "--slug", "xx-yy",
            "--kind", "kota", "--region-code", "99.71", "--admin-email", "a@b.id",
        )  # fmt: skip
    with pytest.raises(CommandError, match="no tenant with slug 'nope'"):
        run("tenants", "suspend", "nope", "--reason", "x")
    with pytest.raises(CommandError, match="reason"):
        run("tenants", "suspend", "alpha", "--reason", " ")


def test_provinces(db: None) -> None:
    assert "created province 31 DKI Jakarta" in run(
        "provinces", "create", "--code", "31", "--name", "DKI Jakarta"
    )
    with pytest.raises(CommandError, match="code:"):
        run("provinces", "create", "--code", "31", "--name", "Jakarta Lagi")
    assert "31  DKI Jakarta" in run("provinces", "list")
    out = run("provinces", "add-admin", "--province", "21", "--email", "Admin@KepriProv.go.id")
    assert "admin@kepriprov.go.id administers Kepulauan Riau" in out
    assert "http://localhost:8000/accounts/invitation/" in out


def test_migrate_reports_every_schema(tenant_a: Tenant, tenant_b: Tenant) -> None:
    out = run("migrate_all")
    assert "[public]" in out and "[template] current" in out
    assert "2 schemas" in out and "migrated public, template and 2 tenant schemas" in out


@pytest.mark.parametrize(
    "verb",
    [[], ["up"], ["migrate"], ["demo", "load"], ["provinces"], ["provinces", "create"],
     ["tenants"], ["tenants", "create"], ["tenants", "list"], ["tenants", "suspend"],
     ["tenants", "resume"], ["tenants", "archive"], ["users"], ["db"], ["db", "shell"]],
)  # fmt: skip
def test_help_on_every_verb(verb: list[str], db: None) -> None:
    result = mpp(*verb, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_console_script_uses_the_configured_database(tenant_a: Tenant, tenant_b: Tenant) -> None:
    result = mpp("tenants", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert {t["slug"] for t in json.loads(result.stdout)} == {"alpha", "beta"}
    shell = mpp("db", "shell", "--", "-tAc", "select count(*) from tenants_tenant")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == "2"
    failed = mpp("tenants", "show", "nope")
    assert failed.returncode == 1 and "no tenant with slug 'nope'" in failed.stderr


def test_django_commands_pass_through(db: None, capsys: Any) -> None:
    result = mpp("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
