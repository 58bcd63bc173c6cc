"""The anonymous page cache: hits, headers, invalidation by every path, and isolation.

Every change below goes through the product's own functions (local actions, sync, profile,
tenant lifecycle, master catalogue import) or raw SQL, and the next request must show it.
The cache is Django's (in-process here); what makes it correct is the key, so the tests
read responses, not the cache's internals — except the isolation test that asks the cache
directly with another tenant's key.
"""

from __future__ import annotations

import datetime as dt
import gzip
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context

from catalog.actions import load_master_catalogue, read_shipped_catalogue
from catalog.local import actions as local
from catalog.local.models import LocalAgency, LocalService
from mall.actions import update_mall_profile
from mall.hours import seconds_until_change
from mall.page_cache import page_key, page_version
from mpp.accounts.models import User
from tenants import actions as tenant_actions
from tenants.models import Tenant
from tenants.routing import route_cache

KTP = "dukcapil-ktp-el-baru"
WEEKDAY_HOURS = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]
PASSWORD = "Rahasia-Cache-2026"

PAGES = [
    "/",
    "/cari/?q=ktp",
    "/layanan/",
    f"/layanan/{KTP}/",
    "/instansi/",
    "/instansi/dukcapil/",
    "/kategori/",
    "/kategori/kependudukan/",
]


def client(tenant: str = "alpha", **headers: Any) -> Client:
    return Client(HTTP_HOST=f"{tenant}.localhost", **headers)


def text(response: Any) -> str:
    return response.content.decode()


def ktp(tenant: Tenant) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=KTP)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Start from nothing, so a "hit" below was made by this test.
    cache.clear()


# --- Hits and headers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_second_anonymous_request_is_served_from_the_cache(tenant_a: Tenant, path: str) -> None:
    c = client()
    first = c.get(path)
    assert first.status_code == 200 and first["X-Page-Cache"] == "miss", path
    second = c.get(path)
    assert second.status_code == 200 and second["X-Page-Cache"] == "hit", path
    assert second.content == first.content


def test_a_cached_page_costs_one_query_beyond_routing(
    tenant_a: Tenant, django_assert_max_num_queries: Any
) -> None:
    assert route_cache.wait_until_listening()
    c = client()
    c.get("/")
    # One SET search_path (the fixture switched schemas), one read of the page version.
    with django_assert_max_num_queries(2):
        assert c.get("/")["X-Page-Cache"] == "hit"


def test_cached_pages_vary_by_cookie_and_may_be_kept_briefly(tenant_a: Tenant) -> None:
    for response in (client().get("/layanan/"), client().get("/layanan/")):
        assert "Cookie" in response["Vary"]
        assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
        assert "csrftoken" not in response.cookies  # nothing per visitor in a shared page
        assert "csrfmiddlewaretoken" not in text(response)


def test_revalidation_answers_304_and_pages_are_sent_gzipped(tenant_a: Tenant) -> None:
    c = client()
    first = c.get(f"/layanan/{KTP}/")
    assert first.has_header("ETag")
    again = c.get(f"/layanan/{KTP}/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    packed = c.get(f"/layanan/{KTP}/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == first.content
    assert len(packed.content) < len(first.content) / 2


def test_languages_are_cached_apart(tenant_a: Tenant) -> None:
    c = client()
    assert "Persyaratan" in text(c.get(f"/layanan/{KTP}/"))
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = c.get(f"/layanan/{KTP}/")
    assert english["X-Page-Cache"] == "miss" and "Requirements" in text(english)
    assert "Requirements" in text(c.get(f"/layanan/{KTP}/"))
    assert "Persyaratan" in text(client().get(f"/layanan/{KTP}/"))  # a new visitor: Indonesian


def test_the_language_switch_needs_no_token_and_stays_on_this_host(tenant_a: Tenant) -> None:
    c = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    response = c.post("/i18n/setlang/", {"language": "en", "next": f"/layanan/{KTP}/"})
    assert response.status_code == 302 and response["Location"] == f"/layanan/{KTP}/"
    assert response.cookies["django_language"].value == "en"
    # A `next` on another host is refused by Django: back to this host's page instead.
    away = c.post("/i18n/setlang/", {"language": "en", "next": "http://beta.localhost/"})
    assert away.status_code == 302 and "beta.localhost" not in away["Location"]
    # An unknown language changes nothing.
    odd = c.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert odd.status_code == 302 and "django_language" not in odd.cookies


def test_search_queries_are_cached_apart(tenant_a: Tenant) -> None:
    c = client()
    ktp_page = text(c.get("/cari/?q=ktp"))
    sim_page = c.get("/cari/?q=sim")
    assert sim_page["X-Page-Cache"] == "miss"
    assert f'href="/layanan/{KTP}/"' in ktp_page
    assert f'href="/layanan/{KTP}/"' not in text(sim_page)
    assert 'href="/layanan/satpas-sim-a-baru/"' in text(sim_page)


def test_head_and_bad_queries_are_answered_without_harm(tenant_a: Tenant) -> None:
    c = client()
    head = c.head("/layanan/")
    assert head.status_code == 200 and head.content == b""
    assert c.get("/layanan/").content  # the GET is not served the empty HEAD body
    too_long = c.get("/cari/", {"q": "k" * 5000})
    assert too_long.status_code == 200 and "100" in text(too_long)  # the form's length limit
    assert c.get("/layanan/tidak-ada/").status_code == 404
    assert c.get("/layanan/tidak-ada/").status_code == 404  # a 404 is not cached as a page
    assert c.post("/layanan/").status_code == 405


def test_signed_in_staff_get_fresh_private_pages(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        user = User.objects.create_user("petugas@alpha.go.id", role=User.Role.OFFICER)
        user.set_password(PASSWORD)
        user.save()
    staff = client()
    staff.post("/staff/login/", {"username": "petugas@alpha.go.id", "password": PASSWORD})
    client().get("/layanan/")  # an anonymous visitor fills the cache
    for _ in range(2):
        response = staff.get("/layanan/")
        assert response.status_code == 200 and not response.has_header("X-Page-Cache")
        assert "private" in response["Cache-Control"]


# --- Invalidation: every kind of change shows at once ------------------------------------


def test_a_local_override_shows_on_the_next_request(tenant_a: Tenant) -> None:
    c = client()
    for path in (f"/layanan/{KTP}/", "/layanan/", "/cari/?q=ktp"):
        c.get(path)
    with tenant_context(tenant_a):
        local.override_field(ktp(tenant_a), "name_id", "KTP-el Kilat Alpha", acting_user=None)
    for path in (f"/layanan/{KTP}/", "/layanan/", "/cari/?q=ktp"):
        response = c.get(path)
        assert response["X-Page-Cache"] == "miss", path
        assert "KTP-el Kilat Alpha" in text(response), path


def test_disabling_a_service_removes_it_from_cached_lists(tenant_a: Tenant) -> None:
    c = client()
    assert f'href="/layanan/{KTP}/"' in text(c.get("/layanan/"))
    with tenant_context(tenant_a):
        local.set_enabled(ktp(tenant_a), False, acting_user=None)
    assert f'href="/layanan/{KTP}/"' not in text(c.get("/layanan/"))
    assert c.get(f"/layanan/{KTP}/").status_code == 404


def test_agency_and_profile_changes_show_at_once(tenant_a: Tenant) -> None:
    c = client()
    c.get("/")
    c.get("/instansi/")
    with tenant_context(tenant_a):
        agency = LocalAgency.objects.get(code="dukcapil")
        local.set_agency_presence(agency, present=True, counters="Loket 9", acting_user=None)
        update_mall_profile({"display_name": "MPP Gerbang Alpha"}, acting_user=None)
    assert "MPP Gerbang Alpha" in text(c.get("/"))
    assert "Loket 9" in text(c.get(f"/layanan/{KTP}/"))


def test_raw_sql_changes_invalidate_too(tenant_a: Tenant) -> None:
    c = client()
    c.get(f"/layanan/{KTP}/")
    with tenant_context(tenant_a), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE local_catalog_localservice SET name_id = 'KTP Lewat SQL' WHERE key = %s",
            [KTP],
        )
    assert "KTP Lewat SQL" in text(c.get(f"/layanan/{KTP}/"))


def test_queue_settings_change_the_booking_link_on_cached_pages(tenant_a: Tenant) -> None:
    """Online booking switched on or off shows at once on the cached service page."""
    from mall.queue.actions import save_counter, save_queue_setting

    c = client()
    assert "Pesan antrean online" not in text(c.get(f"/layanan/{KTP}/"))
    with tenant_context(tenant_a):
        save_counter(
            name="Loket 1",
            agency_code="dukcapil",
            prefix="DKP",
            service_keys=[KTP],
            acting_user=None,
        )
        save_queue_setting(KTP, slot_minutes=15, slot_capacity=4, daily_quota=80, acting_user=None)
    assert "Pesan antrean online" in text(c.get(f"/layanan/{KTP}/"))
    with tenant_context(tenant_a):
        save_queue_setting(
            KTP,
            slot_minutes=15,
            slot_capacity=4,
            daily_quota=80,
            online_booking=False,
            acting_user=None,
        )
    assert "Pesan antrean online" not in text(c.get(f"/layanan/{KTP}/"))


def test_a_new_category_name_upstream_shows_on_every_portal(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    for name in ("alpha", "beta"):
        client(name).get("/kategori/")
    data = read_shipped_catalogue()
    category = next(c for c in data["categories"] if c["code"] == "kependudukan")
    category["name_id"] = "Kependudukan dan Catatan Sipil Baru"
    load_master_catalogue(data, acting_user=None)
    for name in ("alpha", "beta"):
        assert "Kependudukan dan Catatan Sipil Baru" in text(client(name).get("/kategori/")), name


def test_suspension_and_rename_show_on_cached_pages(tenant_a: Tenant) -> None:
    c = client()
    c.get("/layanan/")
    tenant_actions.suspend_tenant(tenant_a, reason="Tunggakan langganan", acting_user=None)
    route_cache.clear()  # the commit's NOTIFY would do this; the test transaction never commits
    assert "Tunggakan langganan" in text(c.get("/layanan/"))
    tenant_actions.resume_tenant(tenant_a, acting_user=None)
    tenant_actions.rename_tenant(tenant_a, name="Kabupaten Alpha Raya", acting_user=None)
    route_cache.clear()
    page = text(c.get("/layanan/"))
    assert "Tunggakan langganan" not in page and "Kabupaten Alpha Raya" in page


def test_a_change_rolled_back_is_not_confused_with_a_later_one(tenant_a: Tenant) -> None:
    """Two transactions that each bump the counter once reach the same number; the page of
    the one that rolled back must not be served for the other."""
    c = client()
    c.get(f"/layanan/{KTP}/")
    with tenant_context(tenant_a):
        before = page_version()
        with pytest.raises(RuntimeError), connection.cursor() as cursor:
            from django.db import transaction

            with transaction.atomic():
                cursor.execute(
                    "UPDATE local_catalog_localservice SET name_id = 'Batal' WHERE key = %s", [KTP]
                )
                assert "Batal" in text(c.get(f"/layanan/{KTP}/"))
                raise RuntimeError("roll back")
        assert page_version() == before
        local.override_field(ktp(tenant_a), "name_id", "Jadi", acting_user=None)
    page = text(c.get(f"/layanan/{KTP}/"))
    assert "Jadi" in page and "Batal" not in page


# --- Isolation: one tenant's cached page never reaches another host ------------------------


def test_a_cached_page_of_a_is_never_served_for_b(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        local.override_field(ktp(tenant_a), "name_id", "KTP Khusus Alpha", acting_user=None)
    for path in PAGES:
        assert client("alpha").get(path).status_code == 200
    for path in PAGES:
        response = client("beta").get(path)
        assert response.status_code == 200 and response["X-Page-Cache"] == "miss", path
        assert "KTP Khusus Alpha" not in text(response), path
        assert "Kota Alpha" not in text(response), path


def test_keys_carry_the_tenant_and_the_cache_refuses_a_foreign_key(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    request = RequestFactory().get("/layanan/", HTTP_HOST="alpha.localhost")
    request.tenant = tenant_a  # type: ignore[attr-defined]
    with tenant_context(tenant_a):
        key_a = page_key(request, page_version())
        assert key_a.startswith(f"portal-page:{tenant_a.schema_name}:")
        cache.set(key_a, "page of alpha")
        assert cache.get(key_a) == "page of alpha"
    # The same key asked for while serving B: django-tenants prefixes every key with the
    # current schema, so B's process-wide cache has no such entry.
    with tenant_context(tenant_b):
        assert cache.get(key_a) is None
    request.tenant = tenant_b  # type: ignore[attr-defined]
    with tenant_context(tenant_b):
        assert page_key(request, page_version()) != key_a


# --- How long the home page may be kept ----------------------------------------------------


@pytest.mark.parametrize(
    ("instant_utc", "seconds"),
    [
        # Monday 2026-03-02 07:30 WIB: opens at 08:00 — 30 minutes.
        (dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC), 30 * 60),
        # 14:59:30 WIB: closes at 15:00 — 30 seconds.
        (dt.datetime(2026, 3, 2, 7, 59, 30, tzinfo=dt.UTC), 30),
        # 16:00 WIB: closed for the day; "today" moves on at midnight — 8 hours.
        (dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), 8 * 3600),
        # Saturday 10:00 WIB: closed all day — 14 hours to midnight.
        (dt.datetime(2026, 3, 7, 3, 0, tzinfo=dt.UTC), 14 * 3600),
    ],
)
def test_home_is_kept_no_longer_than_the_next_opening_or_closing(
    instant_utc: dt.datetime, seconds: int
) -> None:
    assert seconds_until_change(WEEKDAY_HOURS, instant_utc, "Asia/Jakarta") == seconds


def test_seconds_until_change_wants_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        seconds_until_change(WEEKDAY_HOURS, dt.datetime(2026, 3, 2, 8, 0), "Asia/Jakarta")


def test_home_near_closing_time_is_cached_only_until_closing(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_context(tenant_a):
        update_mall_profile({"opening_hours": WEEKDAY_HOURS}, acting_user=None)
    # The clock is the one thing a test cannot wait for: Monday 14:59:30 on the tenant's wall
    # clock, half a minute before closing.
    zone = ZoneInfo(tenant_a.time_zone)
    now = dt.datetime(2026, 3, 2, 14, 59, 30, tzinfo=zone)
    monkeypatch.setattr("mall.views.timezone.now", lambda: now)
    response = client().get("/")
    assert "max-age=30" in response["Cache-Control"]
    assert "Sekarang buka" in text(response)


def test_page_cache_can_be_turned_off(tenant_a: Tenant, settings: Any) -> None:
    settings.PORTAL_CACHE_SECONDS = 0
    c = client()
    c.get("/layanan/")
    assert not c.get("/layanan/").has_header("X-Page-Cache")
