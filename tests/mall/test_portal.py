"""The citizen portal on a tenant's host: every page, language, service page, weight, isolation.

Pages are fetched over the real middleware stack (routing, language, status) with Django's
test client on ``alpha.localhost`` / ``beta.localhost``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from catalog.actions import delete_master_service
from catalog.local import actions as local
from catalog.local.models import LocalAgency, LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Service
from catalog.releases import publish_release
from mall.actions import update_mall_profile
from mall.hours import clean_opening_hours, opening_status
from mall.templatetags.portal import rupiah
from tenants import actions as tenant_actions
from tenants.models import Tenant
from tenants.routing import route_cache

KTP = "dukcapil-ktp-el-baru"  # fee 0, same day, 2 requirements, 5 procedure steps
SIM = "satpas-sim-a-baru"  # fee Rp 120.000
LOCAL_KEY = "alpha-antar-berkas"
WEIGHT_LIMIT = 40 * 1024
WEEKDAY_HOURS = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]

PAGES = [
    "/",
    "/cari/?q=ktp",
    "/layanan/",
    f"/layanan/{KTP}/",
    f"/layanan/{KTP}/?cetak=1",
    "/instansi/",
    "/instansi/dukcapil/",
    "/kategori/",
    "/kategori/kependudukan/",
]


# --- Helpers -------------------------------------------------------------------------------


def client(tenant: str = "alpha") -> Client:
    return Client(HTTP_HOST=f"{tenant}.localhost")


def html(response: Any) -> str:
    return response.content.decode()


def css_gzip_bytes() -> int:
    path = finders.find("mpp/site.css")
    assert path, "site.css not found"
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=6))


def page_weight(response: Any) -> int:
    """What a first visit transfers for a page: its HTML plus the one CSS file, gzipped."""
    return len(gzip.compress(response.content, compresslevel=6)) + css_gzip_bytes()


def jsonld(page: str) -> dict[str, Any]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0])


def svc(tenant: Tenant, key: str) -> LocalService:
    with tenant_context(tenant):
        return LocalService.objects.get(key=key)


def set_language(c: Client, language: str, next_path: str = "/") -> None:
    response = c.post("/i18n/setlang/", {"language": language, "next": next_path})
    assert response.status_code == 302 and response["Location"] == next_path


def add_local_service(tenant: Tenant, **fields: Any) -> LocalService:
    data = {
        "key": LOCAL_KEY,
        "agency_code": "dukcapil",
        "name_id": "Antar Berkas ke Pulau",
        "fee": 0,
        "requirements": [{"document": "Surat kuasa", "note": ""}],
    } | fields
    with tenant_context(tenant):
        return local.create_local_service(data, acting_user=None)


# --- Pure functions: opening status, money --------------------------------------------------


@pytest.mark.parametrize(
    ("instant_utc", "zone", "is_open"),
    [
        # Monday 2026-03-02. 07:30 UTC is 14:30 WIB (open until 15:00) but 15:30 WITA (closed).
        (dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC), "Asia/Jakarta", True),
        (dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC), "Asia/Makassar", False),
        (dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC), "Asia/Jayapura", False),
        # 00:59 UTC is 07:59 WIB (not yet) and 08:59 WITA (open).
        (dt.datetime(2026, 3, 2, 0, 59, tzinfo=dt.UTC), "Asia/Jakarta", False),
        (dt.datetime(2026, 3, 2, 0, 59, tzinfo=dt.UTC), "Asia/Makassar", True),
        # Opening minute is open, closing minute is closed.
        (dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC), "Asia/Jakarta", True),
        (dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), "Asia/Jakarta", False),
        # Friday closes at 11:30; Saturday is closed all day.
        (dt.datetime(2026, 3, 6, 4, 29, tzinfo=dt.UTC), "Asia/Jakarta", True),
        (dt.datetime(2026, 3, 6, 4, 30, tzinfo=dt.UTC), "Asia/Jakarta", False),
        (dt.datetime(2026, 3, 7, 3, 0, tzinfo=dt.UTC), "Asia/Jakarta", False),
        # Sunday 23:30 UTC is already Monday 08:30 in WIT: the weekday is the local one.
        (dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), "Asia/Jayapura", True),
    ],
)
def test_opening_status_uses_the_tenants_wall_clock(
    instant_utc: dt.datetime, zone: str, is_open: bool
) -> None:
    status = opening_status(WEEKDAY_HOURS, instant_utc, zone)
    assert status.known and status.is_open is is_open
    assert status.local_time == instant_utc  # the same instant…
    assert status.local_time.tzinfo == ZoneInfo(zone)  # …read on the tenant's clock


@pytest.mark.parametrize(
    ("instant_utc", "next_open", "later_today"),
    [
        # Monday 06:00 WIB: opens at 08:00 today.
        (dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC), (0, dt.time(8, 0)), True),
        # Monday 16:00 WIB: closed for the day, opens Tuesday 08:00.
        (dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), (1, dt.time(8, 0)), False),
        # Friday 12:00 WIB: the weekend is closed, so Monday 08:00.
        (dt.datetime(2026, 3, 6, 5, 0, tzinfo=dt.UTC), (0, dt.time(8, 0)), False),
        # Monday 10:00 WIB: open, nothing to wait for.
        (dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC), None, False),
    ],
)
def test_next_opening_when_closed(
    instant_utc: dt.datetime, next_open: tuple[int, dt.time] | None, later_today: bool
) -> None:
    status = opening_status(WEEKDAY_HOURS, instant_utc, "Asia/Jakarta")
    assert status.next_open == next_open and status.opens_later_today is later_today
    assert opening_status([None] * 7, instant_utc, "Asia/Jakarta").next_open is None


def test_opening_status_without_hours_is_unknown_and_needs_an_aware_now() -> None:
    status = opening_status([], dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC), "Asia/Jakarta")
    assert not status.known and not status.is_open and status.today is None
    with pytest.raises(ValueError):
        opening_status(WEEKDAY_HOURS, dt.datetime(2026, 3, 2, 3, 0), "Asia/Jakarta")


def test_opening_hours_validation_names_the_day() -> None:
    assert clean_opening_hours(WEEKDAY_HOURS)[4] == ["08:00", "11:30"]
    bad = [["08:00", "15:00"], ["15:00", "08:00"], ["8am", "15:00"], *[None] * 4]
    with pytest.raises(ValidationError) as caught:
        clean_opening_hours(bad)
    messages = caught.value.messages
    assert any(m.startswith("Selasa") for m in messages)
    assert any(m.startswith("Rabu") for m in messages)
    with pytest.raises(ValidationError):
        clean_opening_hours([["08:00", "15:00"]] * 3)  # not a week


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "Rp 0"), (5000, "Rp 5.000"), (120000, "Rp 120.000"), (1250000, "Rp 1.250.000")],
)
def test_rupiah_uses_indonesian_grouping(amount: int, text: str) -> None:
    assert rupiah(amount) == text


# --- Every page ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_citizen_page_renders_light_and_self_contained(tenant_a: Tenant, path: str) -> None:
    response = client().get(path)
    assert response.status_code == 200, path
    page = html(response)
    assert "Mal Pelayanan Publik Kota Alpha" in page
    assert '<html lang="id">' in page
    # One stylesheet, served from our own host; no script but JSON-LD; nothing third-party.
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) == ["/static/mpp/site.css"]
    assert not re.search(r'<script(?! type="application/ld\+json")', page)
    assert not re.search(r'(src|href|action)="(https?:)?//', page)
    assert ' style="' not in page  # only the accent variable may be inline, in <head>
    weight = page_weight(response)
    print(f"\npage weight {path}: {weight} bytes (HTML {len(response.content)} raw)")
    assert weight < WEIGHT_LIMIT, f"{path} weighs {weight} bytes compressed"


def test_pages_work_with_forms_and_links_only(tenant_a: Tenant) -> None:
    """No JavaScript anywhere: search is a GET form, the language switch a POST form."""
    page = html(client().get("/"))
    assert re.search(r'<form class="search[^"]*" role="search" action="/cari/" method="get">', page)
    assert '<label for="q">' in page and 'id="q"' in page
    assert re.search(r'<form class="lang" action="/i18n/setlang/" method="post">', page)
    assert "onclick" not in page and "javascript:" not in page


def test_home_shows_mall_status_agencies_categories_and_popular_services(
    tenant_a: Tenant,
) -> None:
    with tenant_context(tenant_a):
        update_mall_profile(
            {"address": "Jl. Engku Putri No. 1, Alpha", "opening_hours": WEEKDAY_HOURS},
            acting_user=None,
        )
        dukcapil = LocalAgency.objects.get(code="dukcapil")
        local.set_agency_presence(dukcapil, present=True, counters="Loket 1–4", acting_user=None)
        polres = LocalAgency.objects.get(code="polres")
        local.set_agency_presence(polres, present=False, counters="", acting_user=None)
        visible = LocalService.objects.filter(enabled=True, retired=False).count()
    page = html(client().get("/"))
    assert "Jl. Engku Putri No. 1, Alpha" in page
    assert "Jam layanan" in page and "08.00–15.00" in page and "08.00–11.30" in page
    assert re.search(r"Sekarang (buka|tutup)", page)
    assert "WIB" in page  # Kota Alpha is in Kepulauan Riau
    assert f"{visible} layanan dari" in page
    assert 'href="/instansi/dukcapil/"' in page and "Loket 1–4" in page
    assert 'href="/instansi/polres/"' not in page  # not present in this mall
    assert "Kependudukan &amp; Pencatatan Sipil" in page  # category name from the catalogue
    assert 'href="/kategori/kependudukan/"' in page
    popular = page.split('id="h-popular"')[1].split("</section>")[0]
    assert f'href="/layanan/{KTP}/"' in popular
    assert popular.count("<li>") == 8


def test_home_in_the_tenants_own_zone(tenant_b: Tenant) -> None:
    with tenant_context(tenant_b):
        update_mall_profile({"opening_hours": WEEKDAY_HOURS}, acting_user=None)
    assert "WITA" in html(client("beta").get("/"))  # Kalimantan Timur


def test_unpublished_hours_say_so(tenant_a: Tenant) -> None:
    page = html(client().get("/"))
    assert "Jam layanan belum diumumkan" in page and "Sekarang buka" not in page


def test_search_page_lists_ranked_results_with_agency_fee_and_time(tenant_a: Tenant) -> None:
    page = html(client().get("/cari/", {"q": "ktp"}))
    assert 'value="ktp"' in page
    results = page.split('role="status"')[1]
    assert f'href="/layanan/{KTP}/"' in results
    ktp = results.split(f'href="/layanan/{KTP}/"')[1].split("</li>")[0]
    assert "Disdukcapil" in ktp and "Gratis" in ktp and "Selesai hari itu juga" in ktp
    empty = html(client().get("/cari/", {"q": "zzqxvv"}))
    assert "Tidak ada layanan yang cocok" in empty
    blank = client().get("/cari/")
    assert blank.status_code == 200 and 'role="status"' not in html(blank)


def test_search_refuses_an_overlong_query_gently(tenant_a: Tenant) -> None:
    response = client().get("/cari/", {"q": "k" * 500})
    assert response.status_code == 200 and "errorlist" in html(response)


def test_browse_by_agency_and_category(tenant_a: Tenant) -> None:
    agencies = html(client().get("/instansi/"))
    assert 'href="/instansi/dukcapil/"' in agencies and 'href="/instansi/satpas/"' in agencies
    dukcapil = html(client().get("/instansi/dukcapil/"))
    assert f'href="/layanan/{KTP}/"' in dukcapil and f'href="/layanan/{SIM}/"' not in dukcapil
    categories = html(client().get("/kategori/"))
    assert 'href="/kategori/kendaraan-sim/"' in categories
    vehicles = html(client().get("/kategori/kendaraan-sim/"))
    assert f'href="/layanan/{SIM}/"' in vehicles and f'href="/layanan/{KTP}/"' not in vehicles
    assert "Rp 120.000" in vehicles
    for path in ("/instansi/tidak-ada/", "/kategori/tidak-ada/"):
        assert client().get(path).status_code == 404


def test_all_services_page_lists_exactly_the_visible_services(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        local.set_enabled(LocalService.objects.get(key=SIM), False, acting_user=None)
        visible = LocalService.objects.filter(enabled=True, retired=False).count()
    page = html(client().get("/layanan/"))
    assert page.count("<li>") == visible
    assert f'href="/layanan/{SIM}/"' not in page
    assert f'href="/layanan/{SIM}/"' in html(client("beta").get("/layanan/"))


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/", 7),
        ("/layanan/", 4),
        ("/instansi/", 5),
        ("/instansi/dukcapil/", 5),
        ("/kategori/", 5),
        ("/kategori/kependudukan/", 5),
        (f"/layanan/{KTP}/", 7),  # + whether the queue takes online bookings for it
    ],
)
def test_list_pages_use_a_bounded_number_of_queries(
    tenant_a: Tenant, path: str, most: int, django_assert_max_num_queries: Any
) -> None:
    assert route_cache.wait_until_listening()
    c = client()
    c.get(path)  # warm the routing cache: routing is not what is measured here
    with tenant_context(tenant_a):
        for i in range(5):  # more rows must not mean more queries
            add_local_service(tenant_a, key=f"{LOCAL_KEY}-{i}", category_codes=["kependudukan"])
    # Counted: one SET search_path (the set-up switched schemas), the page version (the
    # change made the cached page stale), then the page's own reads.
    with django_assert_max_num_queries(most):
        assert c.get(path).status_code == 200


# --- Service page ----------------------------------------------------------------------------


def test_service_page_shows_every_standar_pelayanan_component(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        agency = LocalAgency.objects.get(code="dukcapil")
        local.set_agency_presence(agency, present=True, counters="Loket 3–5", acting_user=None)
    service = svc(tenant_a, KTP)
    page = html(client().get(f"/layanan/{KTP}/"))
    assert f"<h1>{service.name_id}</h1>" in page
    assert "Loket 3–5" in page
    assert "Gratis" in page and "Selesai hari itu juga" in page
    for requirement in service.requirements:
        assert requirement["document"].replace("(", "") in page.replace("(", "")
    assert page.count('<input type="checkbox" id="req-') == len(service.requirements)
    assert '<label for="req-1">' in page
    for step in service.procedure:
        assert f"<li>{step}</li>" in page
    assert service.product in page
    assert "SP4N-LAPOR!" in page  # complaint channel
    for law in service.legal_basis:
        assert law in page
    assert 'href="?cetak=1"' in page


def test_service_page_shows_the_fee_in_rupiah(tenant_a: Tenant) -> None:
    page = html(client().get(f"/layanan/{SIM}/"))
    assert "<strong>Rp 120.000</strong>" in page
    assert jsonld(page)["offers"] == {
        "@type": "Offer", "price": 120000, "priceCurrency": "IDR",
        "description": svc(tenant_a, SIM).fee_note,
    }  # fmt: skip


def test_service_page_carries_government_service_json_ld(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        update_mall_profile({"address": "Jl. Merdeka 1"}, acting_user=None)
        agency = LocalAgency.objects.get(code="dukcapil")
        local.set_agency_presence(agency, present=True, counters="Loket 3–5", acting_user=None)
    service = svc(tenant_a, KTP)
    data = jsonld(html(client().get(f"/layanan/{KTP}/")))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "GovernmentService"
    assert data["name"] == service.name_id
    assert data["description"] == service.description_id
    assert data["identifier"] == KTP
    assert data["url"] == f"http://alpha.localhost/layanan/{KTP}/"
    assert data["provider"] == {
        "@type": "GovernmentOrganization", "name": service.agency_name, "identifier": "dukcapil",
    }  # fmt: skip
    assert data["serviceOperator"]["name"] == "Mal Pelayanan Publik Kota Alpha"
    assert data["areaServed"] == {"@type": "AdministrativeArea", "name": "Kota Alpha"}
    assert data["serviceType"] == "Kependudukan & Pencatatan Sipil"
    assert data["offers"]["price"] == 0 and data["offers"]["priceCurrency"] == "IDR"
    assert data["serviceOutput"] == {"@type": "Thing", "name": service.product}
    assert data["availableChannel"]["name"] == "Loket 3–5"
    assert data["availableChannel"]["serviceLocation"]["address"] == "Jl. Merdeka 1"
    assert service.legal_basis[0] in data["termsOfService"]


def test_json_ld_cannot_be_broken_out_of(tenant_a: Tenant) -> None:
    nasty = "Antar </script><script>alert(1)</script> & <b>"
    add_local_service(tenant_a, name_id=nasty, description_id="</SCRIPT>")
    page = html(client().get(f"/layanan/{LOCAL_KEY}/"))
    assert "<script>alert" not in page and "</SCRIPT>" not in page
    data = jsonld(page)
    assert data["name"] == nasty and data["description"] == "</SCRIPT>"
    assert "offers" in data and "serviceType" not in data  # no categories given


def test_varying_fee_has_no_offer(tenant_a: Tenant) -> None:
    add_local_service(tenant_a, fee=None, fee_note="Tergantung luas tanah")
    page = html(client().get(f"/layanan/{LOCAL_KEY}/"))
    assert "Biaya bervariasi" in page and "Tergantung luas tanah" in page
    assert "offers" not in jsonld(page)


def test_printable_checklist(tenant_a: Tenant) -> None:
    service = svc(tenant_a, KTP)
    page = html(client().get(f"/layanan/{KTP}/", {"cetak": "1"}))
    assert 'class="print-page"' in page
    assert page.count('<span class="box" aria-hidden="true">☐</span>') == len(service.requirements)
    assert "Gratis" in page and f"http://alpha.localhost/layanan/{KTP}/" in page
    assert "Prosedur" not in page  # the checklist alone
    css = Path(finders.find("mpp/site.css")).read_text()  # type: ignore[arg-type]
    assert "@media print" in css


def test_unknown_disabled_and_retired_services_are_404(tenant_a: Tenant) -> None:
    assert client().get("/layanan/tidak-ada/").status_code == 404
    with tenant_context(tenant_a):
        local.set_enabled(LocalService.objects.get(key=SIM), False, acting_user=None)
    assert client().get(f"/layanan/{SIM}/").status_code == 404
    assert client("beta").get(f"/layanan/{SIM}/").status_code == 200  # B still offers it
    delete_master_service(Service.objects.get(key=KTP), acting_user=None)
    publish_release(acting_user=None)
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    assert svc(tenant_a, KTP).retired
    assert client().get(f"/layanan/{KTP}/").status_code == 404
    assert f'href="/layanan/{KTP}/"' not in html(client().get("/layanan/"))
    assert f'href="/layanan/{KTP}/"' not in html(client().get("/"))


# --- Language ----------------------------------------------------------------------------------


def test_indonesian_by_default_even_for_an_english_browser(tenant_a: Tenant) -> None:
    page = html(client().get(f"/layanan/{KTP}/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert '<html lang="id">' in page and "Persyaratan" in page


def test_switching_to_english_and_back(tenant_a: Tenant) -> None:
    service = svc(tenant_a, KTP)
    c = client()
    set_language(c, "en", f"/layanan/{KTP}/")
    page = html(c.get(f"/layanan/{KTP}/"))
    assert '<html lang="en">' in page
    assert '<h2 id="h-req">Requirements</h2>' in page and ">Persyaratan<" not in page
    assert "Procedure" in page and "Legal basis" in page and "Complaints" in page
    assert "<strong>Free</strong>" in page and "Same day" in page
    assert "<strong>Gratis</strong>" not in page
    assert f"<h1>{service.name_en}</h1>" in page  # the catalogue's English text
    assert service.description_en in page
    assert service.requirements[0]["document"] in page  # only in Indonesian: shown as is
    assert jsonld(page)["name"] == service.name_en
    assert jsonld(page)["serviceType"] == "Civil registration"

    home = html(c.get("/"))
    assert "Popular services" in home and "Opening hours not yet published." in home
    assert 'value="id" lang="id">Bahasa Indonesia</button>' in home
    assert "Search" in home and "Cari layanan" not in home
    categories = html(c.get("/kategori/"))
    assert "Civil registration" in categories
    assert "SIM" in html(c.get(f"/layanan/{SIM}/"))
    sim_en = html(c.get("/kategori/kendaraan-sim/"))
    assert "Rp 120.000" in sim_en and "Vehicles and driving licences" in sim_en

    set_language(c, "id", "/")
    assert "Layanan populer" in html(c.get("/"))


def test_english_falls_back_to_indonesian_when_the_catalogue_has_no_english(
    tenant_a: Tenant,
) -> None:
    add_local_service(tenant_a, name_id="Antar Berkas ke Pulau", name_en="")
    c = client()
    set_language(c, "en", "/")
    page = html(c.get(f"/layanan/{LOCAL_KEY}/"))
    assert '<html lang="en">' in page and "<h1>Antar Berkas ke Pulau</h1>" in page


def test_working_days_are_pluralised_in_english(tenant_a: Tenant) -> None:
    add_local_service(tenant_a, processing_days=3, same_day=False)
    assert "3 hari kerja" in html(client().get(f"/layanan/{LOCAL_KEY}/"))
    c = client()
    set_language(c, "en", "/")
    assert "3 working days" in html(c.get(f"/layanan/{LOCAL_KEY}/"))


def test_every_english_page_is_translated(tenant_a: Tenant) -> None:
    """No Indonesian UI word is left on an English page (catalogue text excepted)."""
    c = client()
    set_language(c, "en", "/")
    leftovers = ("Cari layanan", "Semua layanan", "Instansi", "Kategori", "Persyaratan",
                 "Biaya", "Jangka waktu", "Layanan populer", "Langsung ke isi")  # fmt: skip
    for path in PAGES:
        page = html(c.get(path))
        # Catalogue text (service names, notes, agencies) stays Indonesian where it has no
        # English; look only at the page's frame and headings.
        frame = re.sub(r"<(li|dd|p class=\"meta\"|td)>.*?</\1>", "", page, flags=re.S)
        for word in leftovers:
            assert f">{word}<" not in frame, (path, word)


# --- Isolation and status ------------------------------------------------------------------


def test_local_service_of_a_is_nowhere_on_b(tenant_a: Tenant, tenant_b: Tenant) -> None:
    add_local_service(tenant_a, name_id="Antar Berkas ke Pulau Alpha")
    assert client().get(f"/layanan/{LOCAL_KEY}/").status_code == 200
    assert client("beta").get(f"/layanan/{LOCAL_KEY}/").status_code == 404
    for path in ("/layanan/", "/instansi/dukcapil/", "/kategori/kependudukan/", "/"):
        assert "Antar Berkas ke Pulau Alpha" not in html(client("beta").get(path)), path
    assert "Antar Berkas ke Pulau Alpha" in html(client().get("/layanan/"))


def test_profile_of_a_is_never_shown_on_b(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        update_mall_profile(
            {"display_name": "MPP Gerbang Alpha", "address": "Jl. Alpha 7",
             "phone": "0771 123456", "accent_color": "#7a1f1f"},
            acting_user=None,
        )  # fmt: skip
    a_home = html(client().get("/"))
    assert "MPP Gerbang Alpha" in a_home and "Jl. Alpha 7" in a_home
    assert "<style>:root{--accent:#7a1f1f}</style>" in a_home
    for path in PAGES:
        page = html(client("beta").get(path))
        assert "MPP Gerbang Alpha" not in page and "Jl. Alpha 7" not in page, path
        assert "#7a1f1f" not in page and "0771 123456" not in page, path
        assert "Mal Pelayanan Publik Kabupaten Beta" in page


def test_suspended_tenant_shows_its_notice_on_every_page(tenant_a: Tenant) -> None:
    tenant_actions.suspend_tenant(tenant_a, reason="Tunggakan langganan", acting_user=None)
    for path in PAGES:
        response = client().get(path)
        assert response.status_code == 200, path
        assert "Layanan ditangguhkan" in html(response) and "Tunggakan langganan" in html(response)
    assert "Layanan ditangguhkan" not in html(client("beta").get("/"))


def test_english_catalogue_is_complete_and_compiled() -> None:
    """Every message has an English text, and django.mo was compiled from this django.po."""
    import gettext

    from django.conf import settings

    folder = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
    po = (folder / "django.po").read_text(encoding="utf-8")
    entries = [
        e for e in po.split("\n\n") if "\nmsgid " in f"\n{e}" and 'msgid ""\nmsgstr ""\n"' not in e
    ]
    assert len(entries) > 100
    assert "#, fuzzy" not in po
    untranslated = [e for e in entries if re.search(r'^msgstr(\[\d\])? ""$(?!\n")', e, re.M)]
    assert untranslated == []
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Persyaratan") == "Requirements"
    # One catalogue entry per message, plus the header: nothing added to the .po since.
    assert len(compiled._catalog) - 1 == sum(  # type: ignore[attr-defined]
        2 if "msgid_plural" in e else 1 for e in entries
    )


def test_pages_answer_head_and_refuse_post(tenant_a: Tenant) -> None:
    assert client().head(f"/layanan/{KTP}/").status_code == 200
    assert client().post("/").status_code == 405
