"""The hall TV board follows the counter console live, in real Chromium.

An officer calls the next ticket from the counter console (JavaScript off, as the console
needs none) while the board is open in another page (JavaScript on, as on the hall's TV):
the board shows the call without a reload, announces it and chimes. Without JavaScript the
board still catches up by reloading itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from tests.browser.conftest import (
    SLUG,
    Browser,
    Page,
    expect,
    serious_accessibility_violations,
    shot,
)

# The pages are served by another process; the mark makes pytest-django create the test
# database that the server and the session fixtures use.
pytestmark = pytest.mark.django_db

OFFICER_PASSWORD = "Rahasia-Loket-2026"  # set by tests.mall.queue.conftest.set_up_mall
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(scope="module")
def queue_hall(browser_tenant: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Committed in the browser tenant: a mall open every day, Loket 1 (the officer's) and
    Loket 2 (priority lane, serving DKP-001), and three more walk-ins waiting."""
    from django.db import connection

    from mall.queue.actions import call_next, issue_walk_in, start_serving
    from tests.mall.queue.conftest import EVERY_DAY, KK, KTP, set_up_mall
    from tests.mall.queue.test_counter_console import early_today

    with override_settings(TASKS=DUMMY_TASKS), django_db_blocker.unblock():
        with tenant_context(browser_tenant):
            mall = set_up_mall(browser_tenant, hours=EVERY_DAY)
            issue_walk_in(KTP, priority=True, now=early_today())
            for service in (KTP, KK, KTP):
                issue_walk_in(service, now=early_today())
            start_serving(call_next(mall.priority_counter, acting_user=None), acting_user=None)
            hall = {"officer": mall.officer.email, "counter": mall.counter.pk}
        connection.set_schema_to_public()
    yield hall  # the tenant, and all of this with it, is dropped after the module


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/loket/")
    assert "/staff/login/" in page.url  # signed out: sent to sign in
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", OFFICER_PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/staff/loket/"), page.url


def test_the_board_follows_the_counter_console_live(
    server: str, queue_hall: dict[str, Any], browser: Browser
) -> None:
    base = f"http://{SLUG}.localhost:{server}"
    # The TV: JavaScript on, a wide screen, no flashing in the screenshot.
    tv = browser.new_context(
        viewport={"width": 1600, "height": 900}, locale="id-ID", reduced_motion="reduce"
    )
    board = tv.new_page()
    board.goto(f"{base}/antrian/layar/")
    expect(board.locator("#board-live")).to_have_text("Pembaruan langsung aktif", timeout=10_000)
    loket_1 = board.locator(".counter-tile", has_text="Loket 1")
    loket_2 = board.locator(".counter-tile", has_text="Loket 2")
    expect(loket_1.locator(".counter-number")).to_have_text("—")
    expect(loket_2.locator(".counter-number")).to_have_text("DKP-001")
    expect(loket_2.locator(".counter-status")).to_have_text("Dilayani")
    expect(board.locator("#board-waiting")).to_have_text("3")
    # Browsers keep sound off until someone touches the page: the board asks for a click.
    expect(board.locator("#board-sound")).to_be_visible()
    board.evaluate("window.sameDocument = true")  # gone if the page reloads

    # The officer, on another page (JavaScript off: the console needs none).
    desk = browser.new_context(java_script_enabled=False, locale="id-ID")
    console = desk.new_page()
    sign_in(console, base, queue_hall["officer"])
    console.click("text=Loket 1")
    console.click("button:has-text('Panggil berikutnya')")
    clicked = time.monotonic()
    expect(console.locator(".current-number")).to_have_text("DKP-002")
    expect(console.locator(".notice-success")).to_have_text("DKP-002 dipanggil ke Loket 1.")

    expect(loket_1.locator(".counter-number")).to_have_text("DKP-002", timeout=5_000)
    print(f"\nboard showed the call {(time.monotonic() - clicked) * 1000:.0f} ms after the click")
    expect(loket_1).to_have_class("counter-tile is-called is-latest flash")
    expect(loket_1.locator(".counter-status")).to_have_text("Dipanggil")
    expect(board.locator("#board-latest li").first).to_contain_text("DKP-002")
    expect(board.locator("#board-waiting")).to_have_text("2")
    expect(board.locator("#board-announce")).to_have_text("Nomor DKP-002, silakan ke Loket 1.")
    assert board.evaluate("window.sameDocument") is True, "the board reloaded"
    assert board.locator("#board").get_attribute("data-chimes") == "1"

    # One click (a remote's OK button) turns the sound on; a recall chimes again.
    board.click("#board-sound")
    expect(board.locator("#board-sound")).to_be_hidden()
    assert board.evaluate("window.sameDocument") is True
    console.click("button:has-text('Panggil ulang')")
    expect(console.locator(".notice-success")).to_have_text("DKP-002 dipanggil ulang.")
    expect(board.locator("#board")).to_have_attribute("data-chimes", "2", timeout=5_000)

    shot(board, "queue-board")
    shot(console, "queue-counter-console")
    cookies = desk.cookies()
    tv.close()
    desk.close()

    assert serious_accessibility_violations(browser, f"{base}/antrian/layar/") == []
    console_url = f"{base}/staff/loket/{queue_hall['counter']}/"
    assert serious_accessibility_violations(browser, console_url, cookies=cookies) == []


def test_without_javascript_the_board_catches_up_by_reloading(
    server: str, queue_hall: dict[str, Any], page: Page, browser: Browser
) -> None:
    base = f"http://{SLUG}.localhost:{server}"
    page.goto(f"{base}/antrian/layar/")  # the `page` fixture has JavaScript off
    loket_1 = page.locator(".counter-tile", has_text="Loket 1")
    before = loket_1.locator(".counter-number").inner_text()
    desk = browser.new_context(java_script_enabled=False, locale="id-ID")
    console = desk.new_page()
    sign_in(console, base, queue_hall["officer"])
    console.click("text=Loket 1")
    for label in ("Mulai layani", "Selesai", "Panggil berikutnya"):
        console.click(f"button:has-text('{label}')")
    after = console.locator(".current-number").inner_text()
    assert after != before
    # The meta refresh reloads the page within 10 s.
    expect(loket_1.locator(".counter-number")).to_have_text(after, timeout=15_000)
    desk.close()
