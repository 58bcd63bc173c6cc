"""A local admin customises the catalogue in a real browser, with JavaScript off."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, SLUG, serious_accessibility_violations, shot

SIM = "satpas-sim-a-baru"

# The pages are served by another process; the mark makes pytest-django create the test
# database that the server and the session fixtures use.
pytestmark = pytest.mark.django_db


def test_admin_overrides_a_fee_and_reverts_it(server: str, page: Any) -> None:
    base = f"http://{SLUG}.localhost:{server}"
    page.goto(f"{base}/staff/katalog/")
    assert "/staff/login/" in page.url  # signed out: sent to sign in
    page.fill("input[name=username]", f"admin@{SLUG}.go.id")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/staff/katalog/layanan/{SIM}/")
    assert page.locator("h2", has_text="Penerbitan SIM A Baru").count() == 1

    form = page.locator(f"form[action$='/layanan/{SIM}/ubah/fee/']")
    form.locator("xpath=..").locator("summary").click()  # <details> opens without JS
    form.locator("input[name=fee]").fill("150000")
    form.locator("button[type=submit]").click()
    body = page.content()
    assert "150000" in body or "150.000" in body
    assert page.locator(".badge", has_text="diubah").count() >= 1
    shot(page, "staff-service-overridden")

    page.locator(f"form[action$='/layanan/{SIM}/kembalikan/fee/'] button").click()
    assert page.locator(".badge", has_text="diubah").count() == 0
    shot(page, "staff-service-reverted")


def test_public_pages_have_no_serious_accessibility_violations(server: str, browser: Any) -> None:
    for url in (f"http://localhost:{server}/", f"http://{SLUG}.localhost:{server}/",
                f"http://{SLUG}.localhost:{server}/staff/login/"):  # fmt: skip
        assert serious_accessibility_violations(browser, url) == [], url
