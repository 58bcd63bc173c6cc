"""Browser tests: Debian's Chromium driven by Playwright, against a real `mpp runserver`.

The server runs in a subprocess on the session's test database, so it sees only committed
data: the tests work on two tenants of their own ("peramban" and "peramban2", the latter
with a service only it offers), provisioned for each test module and dropped after it, and
the suite runs these tests last (tests/conftest.py), so no other test ever sees them.
Missing Chromium or Playwright skips these tests with the reason; CI installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SLUG = "peramban"
SLUG2 = "peramban2"
PASSWORD = "Peramban-Rahasia-2026"
# A service only the second tenant offers; a word no master service uses ("sampan").
LOCAL_SERVICE: dict[str, Any] = {
    "key": "antar-berkas-sampan",
    "agency_code": "dukcapil",
    "name_id": "Antar Jemput Berkas dengan Sampan",
    "name_en": "Document pick-up and delivery by boat",
    "keywords": ["sampan", "antar berkas"],
    "requirements": [{"document": "Formulir permohonan antar berkas", "note": ""}],
    "fee": 0,
}

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
try:
    # BrowserContext and expect are re-exported for the test modules, which import them from
    # here so that they too are skipped (not broken) when Playwright is missing.
    from playwright.sync_api import Browser, Page, sync_playwright
    from playwright.sync_api import BrowserContext as BrowserContext
    from playwright.sync_api import expect as expect
except ImportError:  # pragma: no cover - the dev extra installs it
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _provision_browser_tenant(slug: str, name: str, kind: str, region_code: str) -> Any:
    """Provision a committed tenant in Kepulauan Riau whose admin signs in with PASSWORD."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from mpp.accounts.models import User
    from tenants.models import Province
    from tenants.provisioning import TenantSpec, provision_tenant

    tenant = provision_tenant(
        TenantSpec(
            province=Province.objects.get(code="21"),
            name=name,
            slug=slug,
            kind=kind,
            region_code=region_code,
            admin_email=f"admin@{slug}.go.id",
        ),
        acting_user=None,
    )
    with tenant_context(tenant):
        admin = User.objects.get(email=f"admin@{slug}.go.id")
        admin.set_password(PASSWORD)
        admin.save()
    connection.set_schema_to_public()
    return tenant


def _drop_browser_tenant(tenant: Any) -> None:
    """Drop a tenant made by ``_provision_browser_tenant``, schema and all."""
    from django.db import connection

    from tenants.models import Tenant

    connection.set_schema_to_public()
    Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


@pytest.fixture(scope="module")
def browser_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """A committed tenant with a signed-up admin, removed again after the module."""
    with django_db_blocker.unblock():
        tenant = _provision_browser_tenant(SLUG, "Kabupaten Peramban", "kabupaten", "21.99")
    yield tenant
    with django_db_blocker.unblock():
        _drop_browser_tenant(tenant)


@pytest.fixture(scope="module")
def browser_tenant2(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """A second committed tenant whose catalogue also holds a service only it offers.

    The local service is added with the product's own action, as its admin, so a test can
    tell the two hosts apart by what their search finds.
    """
    from django.db import connection
    from django_tenants.utils import tenant_context

    from catalog.local.actions import create_local_service
    from mpp.accounts.models import User

    with django_db_blocker.unblock():
        tenant = _provision_browser_tenant(SLUG2, "Kota Peramban", "kota", "21.98")
        try:
            with tenant_context(tenant):
                create_local_service(
                    LOCAL_SERVICE, acting_user=User.objects.get(email=f"admin@{SLUG2}.go.id")
                )
        except BaseException:
            _drop_browser_tenant(tenant)  # committed already: do not leave it behind
            raise
        connection.set_schema_to_public()
    yield tenant
    with django_db_blocker.unblock():
        _drop_browser_tenant(tenant)


@pytest.fixture(scope="module")
def server(browser_tenant: Any, browser_tenant2: Any, django_db_blocker: Any) -> Iterator[str]:
    """`mpp runserver` on the test database; yields the port."""
    from django.db import connection

    params = connection.settings_dict
    auth = f"{params['USER']}:{params['PASSWORD']}"
    host = params["HOST"]
    url = (
        f"postgresql://{auth}@/{params['NAME']}?host={host}"
        if host.startswith("/")
        else f"postgresql://{auth}@{host}:{params['PORT']}/{params['NAME']}"
    )
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "PLATFORM_URL_PORT": str(port),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TENANT_SPARE_SCHEMAS": "0",
        # No worker runs beside this server: background tasks run in it, after commit.
        "TASKS_BACKEND": "immediate",
    }
    log = open(ARTIFACTS.parent / "browser-server.log", "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mpp"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server_log = (ARTIFACTS.parent / "browser-server.log").read_text()
                pytest.fail(f"runserver did not start:\n{server_log}")
            time.sleep(0.2)
    try:
        yield str(port)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        with django_db_blocker.unblock():
            _wait_for_other_sessions_to_close(connection)


def _wait_for_other_sessions_to_close(connection: Any, timeout: float = 10.0) -> None:
    """The server's connections end a moment after it exits; wait for them, since the test
    database is dropped at the end of the session and PostgreSQL refuses while anyone else
    is connected."""
    from tenants.routing import route_cache

    route_cache.stop_listener()
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


ARTIFACTS.mkdir(parents=True, exist_ok=True)
# Playwright's sync API keeps an event loop running in this thread while a browser is open;
# Django would refuse even the database calls of fixture teardown then. They are not async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with no network beyond this machine.

    Per test, so that it starts after and stops before the test's database transaction:
    Playwright runs an event loop in this thread while it is open, and Django database work
    done meanwhile would happen on another connection (asgiref keys them by context).
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page with JavaScript disabled, as on a weak island connection."""
    context = browser.new_context(java_script_enabled=False, locale="id-ID")
    yield context.new_page()
    context.close()


def serious_accessibility_violations(
    browser: Browser, url: str, *, cookies: list[Any] | None = None
) -> list[str]:
    """Run axe-core on ``url`` (in a JavaScript-enabled page) and list serious violations.

    ``cookies`` (e.g. a signed-in session) are set in the page's context first.
    """
    if not AXE.exists():
        pytest.skip(f"axe-core not installed ({AXE}); run `npm install` in tests/browser")
    # axe is injected as an inline script, which the site's Content-Security-Policy refuses.
    context = browser.new_context(bypass_csp=True)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    context.close()
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s)"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
