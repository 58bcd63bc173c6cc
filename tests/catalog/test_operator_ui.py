"""The operator's master-catalogue pages on the apex, exercised over real HTTP.

Every change goes through the catalogue actions; these tests look at what the pages show,
what lands in the master tables, releases and audit log, and who is kept out.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from catalog.models import Agency, Category, Release, Service
from catalog.operator.forms import ServiceForm, service_initial, service_values
from catalog.releases import SERVICE_FIELDS, latest_release
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant

BASE = "/operator/katalog/"
KTP = "dukcapil-ktp-el-baru"
EDIT_LINK = re.compile(r'href="/operator/katalog/layanan/([a-z0-9-]+)/"')


def apex(user: User | None = None) -> Client:
    """A client on the apex host, signed in as ``user`` (a public-schema account)."""
    # A request to a tenant host leaves the connection on that schema; sessions of apex
    # users must be written to public.
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="localhost")
    if user is not None:
        client.force_login(user)
    return client


def shown_keys(response: Any) -> list[str]:
    """Service keys linked from a service list page, in page order."""
    return EDIT_LINK.findall(response.content.decode())


def form_data(service: Service, **changes: Any) -> dict[str, Any]:
    """What a browser posts for ``service``'s edit form, written independently of the view."""
    data: dict[str, Any] = {
        name: getattr(service, name)
        for name in (
            "name_id",
            "name_en",
            "description_id",
            "description_en",
            "fee_note",
            "fee_legal_basis",
            "product",
            "complaint_channel",
            "channel",
        )
    }
    data["requirements"] = "\n".join(
        f"{r['document']} | {r['note']}" if r["note"] else r["document"]
        for r in service.requirements
    )
    for name in ("procedure", "legal_basis", "keywords"):
        data[name] = "\n".join(getattr(service, name))
    data["processing_days"] = "" if service.processing_days is None else service.processing_days
    data["fee"] = "" if service.fee is None else service.fee
    if service.same_day:
        data["same_day"] = "on"
    data["agency"] = service.agency.code
    data["categories"] = [c.code for c in service.categories.all()]
    return data | changes


def master_state(key: str) -> dict[str, Any]:
    connection.set_schema_to_public()
    return service_values(Service.objects.get(key=key))


# --- List ----------------------------------------------------------------------------------


def test_list_is_paginated_by_fifty_with_bounded_queries(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    client = apex(operator)
    total = Service.objects.count()
    assert total > 150  # the shipped catalogue spans several pages
    # session, user, agencies and categories for the filters, count, page, page's categories
    with django_assert_max_num_queries(7):
        first = client.get(BASE)
    assert first.status_code == 200
    assert f"{total} layanan" in first.content.decode()
    assert len(shown_keys(first)) == 50
    last_page = (total + 49) // 50
    with django_assert_max_num_queries(7):
        last = client.get(BASE, {"page": last_page})
    assert len(shown_keys(last)) == total - 50 * (last_page - 1)
    assert not set(shown_keys(first)) & set(shown_keys(last))


def test_list_filters_by_agency_category_fee_and_name(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    client = apex(operator)
    with django_assert_max_num_queries(7):
        by_agency = client.get(BASE, {"agency": "dukcapil"})
    expected = set(Service.objects.filter(agency__code="dukcapil").values_list("key", flat=True))
    assert expected and set(shown_keys(by_agency)) == expected

    by_category = client.get(BASE, {"category": "pertanahan"})
    expected = set(
        Service.objects.filter(categories__code="pertanahan").values_list("key", flat=True)
    )
    assert expected and set(shown_keys(by_category)) == expected

    free = client.get(BASE, {"fee": "gratis", "agency": "dukcapil"})
    assert set(shown_keys(free)) == set(
        Service.objects.filter(agency__code="dukcapil", fee=0).values_list("key", flat=True)
    )
    paid = set(shown_keys(client.get(BASE, {"fee": "berbayar"})))
    assert paid and paid == set(Service.objects.filter(fee__gt=0).values_list("key", flat=True))
    varies = Service.objects.filter(fee__isnull=True)
    assert varies.count() > 50  # two pages: the page links must keep the filter
    first = client.get(BASE, {"fee": "beragam"})
    assert 'href="?fee=beragam&amp;page=2"' in first.content.decode()
    second = client.get(BASE, {"fee": "beragam", "page": 2})
    assert set(shown_keys(first)) | set(shown_keys(second)) == set(
        varies.values_list("key", flat=True)
    )

    search = client.get(BASE, {"q": "KTP-el Baru"})
    assert set(shown_keys(search)) == set(
        Service.objects.filter(name_id__icontains="ktp-el baru").values_list("key", flat=True)
    )
    assert KTP in shown_keys(search)
    nothing = client.get(BASE, {"q": "tidak-ada-layanan-seperti-ini"})
    assert shown_keys(nothing) == [] and "Tidak ada layanan yang cocok" in nothing.content.decode()


def test_unknown_filter_value_is_reported_not_applied(operator: User) -> None:
    response = apex(operator).get(BASE, {"agency": "bukan-instansi", "fee": "mahal"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"agency", "fee"}
    assert len(shown_keys(response)) == 50  # unfiltered first page


# --- Edit ----------------------------------------------------------------------------------


def test_edit_form_covers_every_standar_pelayanan_field(operator: User) -> None:
    response = apex(operator).get(f"{BASE}layanan/{KTP}/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in (*SERVICE_FIELDS, "agency", "categories"):
        assert f'name="{name}"' in html, name
    assert 'name="key"' not in html  # a key never changes: tenants sync by it
    assert "Kartu Keluarga (KK) | Asli atau fotokopi" in html


def test_every_shipped_service_round_trips_through_the_form_unchanged(db: None) -> None:
    # If formatting and parsing disagreed, merely opening and saving a service would change it.
    all_agencies, categories = list(Agency.objects.all()), list(Category.objects.all())
    for service in Service.objects.select_related("agency").prefetch_related("categories"):
        initial = service_initial(service)
        data = {k: v for k, v in initial.items() if v is not None and v is not False}
        form = ServiceForm(data, agencies=all_agencies, categories=categories, creating=False)
        assert form.is_valid(), (service.key, form.errors)
        assert form.service_data() == service_values(service), service.key


def test_edit_saves_through_the_action_and_shows_the_new_values(operator: User) -> None:
    client = apex(operator)
    service = Service.objects.get(key=KTP)
    post = form_data(
        service,
        fee="15000",
        fee_note="Tarif uji",
        requirements="Kartu Keluarga (KK) | asli\nSurat pengantar RT/RW\n\n",
        procedure="Ambil antrean\n  Serahkan berkas  \n",
        keywords="ktp\nkartu identitas",
        categories=["kependudukan", "sosial"],
        same_day="",
        processing_days="3",
    )
    response = client.post(f"{BASE}layanan/{KTP}/", post)
    assert response.status_code == 302 and response["Location"] == f"{BASE}layanan/{KTP}/"

    after = master_state(KTP)
    assert after["fee"] == 15000 and after["fee_note"] == "Tarif uji"
    assert after["requirements"] == [
        {"document": "Kartu Keluarga (KK)", "note": "asli"},
        {"document": "Surat pengantar RT/RW", "note": ""},
    ]
    assert after["procedure"] == ["Ambil antrean", "Serahkan berkas"]
    assert after["keywords"] == ["ktp", "kartu identitas"]
    assert after["categories"] == ["kependudukan", "sosial"]
    assert after["same_day"] is False and after["processing_days"] == 3
    event = AuditEvent.objects.filter(action="catalogue.service_updated").latest("id")
    assert event.actor_email == operator.email
    assert event.after["fee"] == 15000 and "name_id" not in event.after  # only what changed

    shown = client.get(response["Location"]).content.decode()
    assert "Perubahan tersimpan" in shown
    assert 'value="15000"' in shown and "Surat pengantar RT/RW" in shown


def test_saving_an_unchanged_form_changes_nothing(operator: User) -> None:
    client = apex(operator)
    before = master_state(KTP)
    events = AuditEvent.objects.count()
    response = client.post(f"{BASE}layanan/{KTP}/", form_data(Service.objects.get(key=KTP)))
    assert response.status_code == 302
    assert master_state(KTP) == before
    assert AuditEvent.objects.count() == events
    assert "Tidak ada perubahan" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"fee": "-5000"}, "fee", "0"),
        ({"fee": "lima ribu"}, "fee", "angka"),
        ({"processing_days": "-1"}, "processing_days", "0"),
        ({"name_id": "   "}, "name_id", "harus diisi"),
        ({"agency": "instansi-fiktif"}, "agency", "instansi-fiktif"),
        ({"categories": ["kependudukan", "tidak-ada"]}, "categories", "tidak-ada"),
        ({"requirements": "Kartu Keluarga\n| hanya catatan"}, "requirements", "Baris 2"),
        ({"requirements": "KK | asli | fotokopi"}, "requirements", "Baris 1"),
        ({"channel": "merpati-pos"}, "channel", "merpati-pos"),
        ({"name_id": "x" * 201}, "name_id", "200"),
    ],
)
def test_bad_input_is_shown_by_field_and_nothing_is_saved(
    operator: User, changes: dict[str, Any], field: str, message: str
) -> None:
    client = apex(operator)
    before = master_state(KTP)
    events = AuditEvent.objects.count()
    post = form_data(Service.objects.get(key=KTP), fee="99999") | changes  # a valid change too
    response = client.post(f"{BASE}layanan/{KTP}/", post)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {field}, errors
    assert message in " ".join(errors[field])
    html = response.content.decode()
    assert "errorlist" in html and "belum ada yang disimpan" in html
    assert master_state(KTP) == before
    assert AuditEvent.objects.count() == events


def test_forms_work_with_csrf_checks_on(operator: User) -> None:
    # The pages are plain HTML forms: a browser without JavaScript posts the hidden token.
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get(f"{BASE}layanan/{KTP}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    post = form_data(Service.objects.get(key=KTP), fee="7000")
    assert client.post(f"{BASE}layanan/{KTP}/", post).status_code == 403
    assert master_state(KTP)["fee"] == 0
    saved = client.post(f"{BASE}layanan/{KTP}/", post | {"csrfmiddlewaretoken": token.group(1)})
    assert saved.status_code == 302 and master_state(KTP)["fee"] == 7000


def test_missing_service_is_404(operator: User) -> None:
    client = apex(operator)
    assert client.get(f"{BASE}layanan/tidak-ada/").status_code == 404
    assert client.post(f"{BASE}layanan/tidak-ada/hapus/").status_code == 404


# --- Create and delete ---------------------------------------------------------------------


def new_service_post(**changes: Any) -> dict[str, Any]:
    return {
        "key": "dukcapil-uji-layanan",
        "name_id": "Layanan Uji Coba",
        "name_en": "Test service",
        "agency": "dukcapil",
        "categories": ["kependudukan"],
        "requirements": "KTP-el | asli\nKartu Keluarga",
        "procedure": "Datang ke loket\nTerima dokumen",
        "fee": "0",
        "processing_days": "2",
        "channel": "both",
        "legal_basis": "UU 23/2006",
        "keywords": "uji",
    } | changes


def test_create_then_delete_a_master_service(operator: User) -> None:
    client = apex(operator)
    assert client.get(f"{BASE}baru/").status_code == 200
    created = client.post(f"{BASE}baru/", new_service_post())
    assert created.status_code == 302
    assert created["Location"] == f"{BASE}layanan/dukcapil-uji-layanan/"
    state = master_state("dukcapil-uji-layanan")
    assert state["name_id"] == "Layanan Uji Coba" and state["channel"] == "both"
    assert state["requirements"] == [
        {"document": "KTP-el", "note": "asli"},
        {"document": "Kartu Keluarga", "note": ""},
    ]
    assert state["categories"] == ["kependudukan"] and state["processing_days"] == 2
    assert AuditEvent.objects.get(action="catalogue.service_created").actor_email == operator.email
    assert "dukcapil-uji-layanan" in shown_keys(client.get(BASE, {"q": "uji coba"}))

    confirm = client.get(f"{BASE}layanan/dukcapil-uji-layanan/hapus/")
    assert confirm.status_code == 200 and "Layanan Uji Coba" in confirm.content.decode()
    assert Service.objects.filter(key="dukcapil-uji-layanan").exists()  # GET deletes nothing

    deleted = client.post(f"{BASE}layanan/dukcapil-uji-layanan/hapus/")
    assert deleted.status_code == 302 and deleted["Location"] == BASE
    assert not Service.objects.filter(key="dukcapil-uji-layanan").exists()
    assert AuditEvent.objects.get(action="catalogue.service_deleted").actor_email == operator.email
    assert "dihapus" in client.get(BASE).content.decode()
    assert client.get(f"{BASE}layanan/dukcapil-uji-layanan/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"key": KTP}, "key", "already exists"),  # reported by create_master_service
        ({"key": "Bukan Kunci"}, "key", "lowercase"),  # reported by clean_key
        ({"key": ""}, "key", "harus diisi"),
        ({"name_id": ""}, "name_id", "harus diisi"),
        ({"agency": "instansi-fiktif"}, "agency", "instansi-fiktif"),
        ({"fee": "-1"}, "fee", "0"),
        ({"requirements": " | catatan saja"}, "requirements", "Baris 1"),
    ],
)
def test_create_refuses_bad_input_by_field(
    operator: User, changes: dict[str, Any], field: str, message: str
) -> None:
    client = apex(operator)
    count = Service.objects.count()
    response = client.post(f"{BASE}baru/", new_service_post(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {field}, errors
    assert message in " ".join(errors[field])
    assert Service.objects.count() == count
    assert not AuditEvent.objects.filter(action="catalogue.service_created").exists()


# --- Releases ------------------------------------------------------------------------------


def test_publish_previews_changes_and_creates_a_release_listing_the_edit(
    operator: User, django_assert_max_num_queries: Any
) -> None:
    client = apex(operator)
    first = latest_release()
    assert first is not None
    client.post(f"{BASE}layanan/{KTP}/", form_data(Service.objects.get(key=KTP), fee="5000"))

    preview = client.get(f"{BASE}rilis/terbitkan/")
    html = preview.content.decode()
    assert preview.status_code == 200
    assert f"Perubahan sejak rilis {first.version}" in html
    assert "0 layanan baru, 0 dihapus, 1 berubah" in html
    assert f"~ {KTP}" in html and "fee: 0 → 5000" in html
    assert Release.objects.count() == 1  # a preview publishes nothing

    published = client.post(
        f"{BASE}rilis/terbitkan/", {"note": "Tarif KTP uji", "base": first.version}
    )
    release = latest_release()
    assert release is not None and release.version == first.version + 1
    assert published["Location"] == f"{BASE}rilis/{release.version}/"
    assert release.published_by == operator.email
    assert release.changelog.startswith("Tarif KTP uji")
    assert f"~ {KTP}: fee" in release.changelog

    detail = client.get(published["Location"]).content.decode()
    assert f"Rilis {release.version} diterbitkan" in detail
    assert f"~ {KTP}: fee" in detail
    assert f"<td>{Service.objects.count()}</td>" in detail  # service count
    with django_assert_max_num_queries(4):  # snapshots are never loaded for the list
        listing = client.get(f"{BASE}rilis/")
    listing_html = listing.content.decode()
    assert f"Rilis {release.version}" in listing_html and "Tarif KTP uji" in listing_html
    assert operator.email in listing_html

    again = client.get(f"{BASE}rilis/terbitkan/").content.decode()
    assert f"Perubahan sejak rilis {release.version}" in again and "Tidak ada perubahan" in again


def test_publish_from_a_stale_preview_is_refused(operator: User) -> None:
    client = apex(operator)
    first = latest_release()
    assert first is not None
    client.post(f"{BASE}layanan/{KTP}/", form_data(Service.objects.get(key=KTP), fee="5000"))
    # Sent twice (or someone else published in between): the second post names an old base.
    client.post(f"{BASE}rilis/terbitkan/", {"note": "", "base": first.version})
    stale = client.post(f"{BASE}rilis/terbitkan/", {"note": "lagi", "base": first.version})
    assert stale.status_code == 200
    assert "sudah diterbitkan sejak pratinjau" in stale.content.decode()
    assert Release.objects.count() == 2
    bad = client.post(f"{BASE}rilis/terbitkan/", {"note": "x", "base": "bukan-angka"})
    assert bad.status_code == 200 and "base" in bad.context["form"].errors
    assert Release.objects.count() == 2


def test_diff_page_shows_the_changed_field_between_any_two_versions(operator: User) -> None:
    client = apex(operator)
    first = latest_release()
    assert first is not None
    service = Service.objects.get(key=KTP)
    client.post(f"{BASE}layanan/{KTP}/", form_data(service, product="KTP-el (uji)"))
    client.post(f"{BASE}rilis/terbitkan/", {"note": "", "base": first.version})
    second = first.version + 1

    response = client.get(f"{BASE}rilis/beda/", {"dari": first.version, "ke": second})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"~ {KTP}" in html
    assert "product: &#x27;KTP-el&#x27; → &#x27;KTP-el (uji)&#x27;" in html
    assert "1 berubah" in html

    default = client.get(f"{BASE}rilis/beda/").content.decode()  # latest step by default
    assert "product:" in default
    backwards = client.get(f"{BASE}rilis/beda/", {"dari": second, "ke": first.version})
    assert "&#x27;KTP-el (uji)&#x27; → &#x27;KTP-el&#x27;" in backwards.content.decode()
    same = client.get(f"{BASE}rilis/beda/", {"dari": second, "ke": second})
    assert "Tidak ada perubahan" in same.content.decode()

    unknown = client.get(f"{BASE}rilis/beda/", {"dari": 999, "ke": second})
    assert unknown.status_code == 200
    assert set(unknown.context["form"].errors) == {"dari"}
    assert "product:" not in unknown.content.decode()


def test_missing_release_is_404(operator: User) -> None:
    assert apex(operator).get(f"{BASE}rilis/999/").status_code == 404


# --- Access --------------------------------------------------------------------------------

PAGES = [
    BASE,
    f"{BASE}baru/",
    f"{BASE}layanan/{KTP}/",
    f"{BASE}layanan/{KTP}/hapus/",
    f"{BASE}rilis/",
    f"{BASE}rilis/1/",
    f"{BASE}rilis/beda/",
    f"{BASE}rilis/terbitkan/",
]
POSTS = [
    (f"{BASE}baru/", new_service_post()),
    (f"{BASE}layanan/{KTP}/", {"name_id": "Diubah", "agency": "dukcapil", "channel": "onsite"}),
    (f"{BASE}layanan/{KTP}/hapus/", {}),
    (f"{BASE}rilis/terbitkan/", {"note": "", "base": "1"}),
]


def test_province_admin_is_refused_403(kepri_admin: User) -> None:
    client = apex(kepri_admin)
    before = (Service.objects.count(), Release.objects.count(), master_state(KTP))
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 403, page
        assert "Akses ditolak" in response.content.decode()
    for page, data in POSTS:
        assert client.post(page, data).status_code == 403, page
    assert (Service.objects.count(), Release.objects.count(), master_state(KTP)) == before


def test_anonymous_is_sent_to_the_apex_login(db: None) -> None:
    client = apex()
    before = (Service.objects.count(), Release.objects.count(), master_state(KTP))
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/login/?next=/operator/katalog/")
    for page, data in POSTS:
        response = client.post(page, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert (Service.objects.count(), Release.objects.count(), master_state(KTP)) == before


def test_operator_signs_in_on_the_apex_and_reaches_the_catalogue(operator: User) -> None:
    client = apex()
    signed_in = client.post(
        "/accounts/login/",
        {"username": operator.email, "password": "s3cret-Operator", "next": BASE},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == BASE
    assert client.get(BASE).status_code == 200


@pytest.mark.parametrize("host", ["alpha.localhost", "beta.localhost"])
def test_tenant_hosts_do_not_serve_the_operator_catalogue(
    host: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    before = (Service.objects.count(), Release.objects.count(), master_state(KTP))
    client = Client(HTTP_HOST=host)
    for page in PAGES:
        assert client.get(page).status_code == 404, (host, page)
    for page, data in POSTS:
        assert client.post(page, data).status_code == 404, (host, page)
    connection.set_schema_to_public()
    assert (Service.objects.count(), Release.objects.count(), master_state(KTP)) == before


def test_signed_in_tenant_admin_gets_nothing_on_either_host(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        staff = User.objects.get(email="admin@alpha.go.id")
        staff.is_superuser = True  # even a tenant superuser is no platform operator
        staff.set_password("Rahasia-Alpha-1")
        staff.save()
    tenant_client = Client(HTTP_HOST="alpha.localhost")
    signed_in = tenant_client.post(
        "/staff/login/", {"username": "admin@alpha.go.id", "password": "Rahasia-Alpha-1"}
    )
    assert signed_in.status_code == 302
    assert tenant_client.get(BASE).status_code == 404
    # The tenant's session cookie means nothing on the apex: the user is anonymous there.
    connection.set_schema_to_public()
    apex_client = Client(HTTP_HOST="localhost")
    apex_client.cookies = tenant_client.cookies
    response = apex_client.get(BASE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
