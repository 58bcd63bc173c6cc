"""A citizen searches, opens a service and switches language, on two tenants' hosts.

Each flow runs in real Chromium with JavaScript on and off: the portal must work the same on
a weak island connection where scripts never load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import (
    LOCAL_SERVICE,
    SLUG,
    SLUG2,
    Browser,
    BrowserContext,
    Page,
    expect,
    serious_accessibility_violations,
    shot,
)

# The pages are served by another process; the mark makes pytest-django create the test
# database that the server and the session fixtures use.
pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Visit:
    """What a citizen types on one host, and the service they expect to find."""

    slug: str
    query: str  # misspelt on purpose: citizens type "akte" and "pasport"
    key: str
    name_id: str
    name_en: str


VISITS = {
    SLUG: Visit(
        SLUG,
        "akte kelahiran",
        "dukcapil-akta-kelahiran",
        "Penerbitan Akta Kelahiran",
        "Birth certificate",
    ),
    SLUG2: Visit(
        SLUG2,
        "pasport",
        "imigrasi-paspor-elektronik",
        "Paspor Elektronik (Masa Berlaku 5 Tahun)",
        "Electronic passport (5-year validity)",
    ),
}
NOTHING_FOUND = "Tidak ada layanan yang cocok"


def base_url(server: str, slug: str) -> str:
    return f"http://{slug}.localhost:{server}"


@pytest.fixture
def context_factory(browser: Browser) -> Iterator[Any]:
    """New browser contexts with JavaScript on or off, closed after the test."""
    contexts: list[BrowserContext] = []

    def make(*, javascript: bool) -> BrowserContext:
        # Accept-Language says Indonesian, but the portal ignores it anyway (see citizen_page).
        context = browser.new_context(java_script_enabled=javascript, locale="id-ID")
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def search_from_home(page: Page, base: str, query: str) -> None:
    """Type ``query`` into the home page's search box and submit it with the button."""
    page.goto(f"{base}/")
    # The main search form, not a header one (the header's may come and go on the home page).
    form = page.get_by_role("main").get_by_role("search")
    form.get_by_label("Cari layanan").fill(query)
    form.get_by_role("button", name="Cari", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cari/\?q=" + re.escape(query.replace(" ", "+")) + "$"))


def expect_indonesian_service_page(page: Page, url: str, visit: Visit) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", level=1)).to_have_text(visit.name_id)
    expect(page.get_by_role("heading", name="Persyaratan", exact=True)).to_be_visible()
    expect(page.locator("ul.checklist > li").first).to_be_visible()
    expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()


@pytest.mark.parametrize("javascript", [False, True], ids=["nojs", "js"])
@pytest.mark.parametrize("slug", [SLUG, SLUG2])
def test_citizen_searches_opens_a_service_and_switches_language(
    server: str, context_factory: Any, slug: str, javascript: bool
) -> None:
    """A citizen searches with a typo, opens the service, reads it in English and back."""
    visit = VISITS[slug]
    base = base_url(server, slug)
    other_slug = SLUG2 if slug == SLUG else SLUG
    name = f"portal-{slug}-{'js' if javascript else 'nojs'}"
    context = context_factory(javascript=javascript)
    page = context.new_page()
    # Fail loudly on any page script error (there should be none; without JS, none can run).
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "id")  # Indonesian first
    shot(page, f"{name}-1-home")

    search_from_home(page, base, visit.query)
    expect(page.get_by_role("status")).to_contain_text(f"cocok dengan “{visit.query}”")
    result = page.locator("ul.services").get_by_role("link", name=visit.name_id, exact=True)
    expect(result).to_be_visible()
    shot(page, f"{name}-2-search")

    result.click()
    service_url = f"{base}/layanan/{visit.key}/"
    expect_indonesian_service_page(page, service_url, visit)
    shot(page, f"{name}-3-service")

    # Select the switch by its button only: how the form submits may change.
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(service_url)  # still the same service, not the home page
    expect(page.get_by_role("heading", level=1)).to_have_text(visit.name_en)
    expect(page.get_by_role("heading", name="Requirements", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Persyaratan", exact=True)).to_have_count(0)
    expect(page.locator("ul.checklist > li").first).to_be_visible()
    expect(page.get_by_role("button", name="Bahasa Indonesia", exact=True)).to_be_visible()
    shot(page, f"{name}-4-english")

    # The choice belongs to this host: the other tenant's portal, in the same browser,
    # still opens in Indonesian.
    other = context.new_page()
    other.goto(f"{base_url(server, other_slug)}/layanan/{visit.key}/")
    expect(other.locator("html")).to_have_attribute("lang", "id")
    expect(other.get_by_role("heading", level=1)).to_have_text(visit.name_id)
    expect(other.get_by_role("heading", name="Persyaratan", exact=True)).to_be_visible()
    shot(other, f"{name}-5-other-host-still-id")
    other.close()

    page.get_by_role("button", name="Bahasa Indonesia", exact=True).click()
    expect_indonesian_service_page(page, service_url, visit)
    shot(page, f"{name}-6-indonesian-again")
    assert errors == []


def test_each_host_finds_only_its_own_local_service(server: str, page: Page) -> None:
    """A citizen finds the boat courier on the host that offers it, and not on the other."""
    query = "sampan"  # a keyword of the local service only (see conftest.LOCAL_SERVICE)
    name_id = LOCAL_SERVICE["name_id"]

    base2 = base_url(server, SLUG2)
    search_from_home(page, base2, query)
    expect(page.get_by_role("status")).to_contain_text(f"1 layanan cocok dengan “{query}”")
    page.locator("ul.services").get_by_role("link", name=name_id, exact=True).click()
    expect(page).to_have_url(f"{base2}/layanan/{LOCAL_SERVICE['key']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(name_id)
    expect(page.locator("ul.checklist")).to_contain_text(
        LOCAL_SERVICE["requirements"][0]["document"]
    )
    shot(page, f"portal-{SLUG2}-nojs-local-service")

    base1 = base_url(server, SLUG)
    search_from_home(page, base1, query)
    expect(page.get_by_role("status")).to_contain_text(f"{NOTHING_FOUND} dengan “{query}”")
    expect(page.locator("ul.services")).to_have_count(0)
    shot(page, f"portal-{SLUG}-nojs-local-service-not-found")
    # Nor is it reachable by its address: another tenant's service does not exist here.
    response = page.goto(f"{base1}/layanan/{LOCAL_SERVICE['key']}/")
    assert response is not None and response.status == 404


@pytest.mark.parametrize("slug", [SLUG, SLUG2])
def test_search_results_and_service_pages_are_accessible(
    server: str, browser: Browser, slug: str
) -> None:
    """A citizen using a screen reader meets no serious barrier on results or service."""
    visit = VISITS[slug]
    base = base_url(server, slug)
    urls = [
        f"{base}/cari/?q={visit.query.replace(' ', '+')}",
        f"{base}/cari/?q=sampan",  # nothing found on host 1, the local service on host 2
        f"{base}/layanan/{visit.key}/",
    ]
    if slug == SLUG2:
        urls.append(f"{base}/layanan/{LOCAL_SERVICE['key']}/")
    for url in urls:
        assert serious_accessibility_violations(browser, url) == [], url
