"""A province admin onboards a regency and reads the dashboard, in Chromium without scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Browser, Page, expect, serious_accessibility_violations, shot

pytestmark = pytest.mark.django_db

ADMIN = "admin@kepriprov-peramban.go.id"
PASSWORD = "Konsol-Provinsi-2026"
NEW_SLUG = "layar-uji"


@pytest.fixture(scope="module")
def province_admin(server: str, django_db_blocker: Any) -> Iterator[str]:
    """A committed Kepri admin, and the rollup of Kepri's tenants built; removed after."""
    from django.db import connection

    from mpp.accounts.models import User
    from stats.rollup import rebuild_all
    from tenants.models import Province, Tenant

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        user = User.objects.create_user(ADMIN, PASSWORD, role=User.Role.PROVINCE_ADMIN)
        kepri = Province.objects.get(code="21")
        kepri.admins.add(user)
        rebuild_all(acting_user=None, province=kepri)
    yield ADMIN
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug=NEW_SLUG):
            tenant.delete(force_drop=True)
        User.objects.filter(email=ADMIN).delete()


def sign_in(page: Page, server: str) -> None:
    page.goto(f"http://localhost:{server}/provinsi/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_province_admin_onboards_a_regency_and_sees_it_on_the_dashboard(
    server: str, province_admin: str, page: Page
) -> None:
    """Sign in, open the wizard, onboard, read each step, find it on the dashboard."""
    sign_in(page, server)
    assert page.url.endswith("/provinsi/21/")  # a province admin lands on their province
    page.click("text=Buka daerah baru")
    page.fill("input[name=name]", "Kabupaten Layar Uji")
    page.select_option("select[name=kind]", "kabupaten")
    page.fill("input[name=region_code]", "21.97")
    page.fill("input[name=slug]", NEW_SLUG)
    page.fill("input[name=admin_name]", "Rina Layar")
    page.fill("input[name=admin_email]", "admin@layar-uji.go.id")
    # Open with two agencies only: untick every box, tick Dukcapil and Imigrasi.
    for box in page.locator("input[name=agencies]").all():
        box.uncheck()
    page.check("input[name=agencies][value=dukcapil]")
    page.check("input[name=agencies][value=imigrasi]")
    shot(page, "console-onboard-form")
    page.click("button:has-text('Buka portal daerah')")
    expect(page.locator("h1")).to_have_text("Kabupaten Layar Uji sudah dibuka", timeout=30_000)
    body = page.content()
    for step in ("Skema dibuat", "Katalog diisi", "2 instansi membuka loket", "Portal aktif"):
        assert step in body
    shot(page, "console-onboard-done")

    page.goto(f"http://localhost:{server}/provinsi/21/?urut=-services_enabled")
    rows = page.locator("table.overview tbody tr")
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert any("Kabupaten Layar Uji" in name for name in names)
    assert page.locator("svg.chart[role=img]").count() == 2
    shot(page, "console-dashboard")

    # The new portal is live on its own host.
    page.goto(f"http://{NEW_SLUG}.localhost:{server}/")
    assert "Kabupaten Layar Uji" in page.content()


def test_console_pages_have_no_serious_accessibility_violations(
    server: str, province_admin: str, browser: Browser
) -> None:
    """axe-core on the dashboard and the wizard, signed in."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server)
    cookies = context.cookies()
    context.close()
    for path in ("/provinsi/21/", "/provinsi/21/daerah/baru/", "/provinsi/21/audit/"):
        violations = serious_accessibility_violations(
            browser, f"http://localhost:{server}{path}", cookies=cookies
        )
        assert violations == [], path
