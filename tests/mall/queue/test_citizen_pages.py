"""The citizen's queue pages at /antrian/ over real HTTP on the tenant's host.

Booking, the ticket page, cancel and reschedule; every refused input with its message next to
the field; unknown codes and other tenants' codes; no page cache and no-store headers; the
NIK never shown in full; a bounded query count on the slot list; each tenant's time zone.
The pages use the real clock, so dates are taken next week (``MONDAY``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from catalog.local import actions as local
from catalog.local.models import LocalService
from mall.actions import add_closure
from mall.queue.actions import book, cancel_booking, ensure_slots, save_queue_setting
from mall.queue.models import Booking, Slot
from mall.queue.views_citizen import bookable_services
from tenants.models import Tenant
from tests.mall.queue.conftest import KK, KTP, MONDAY, SUNDAY, Mall, at, nik, set_up_mall

TUESDAY = MONDAY + dt.timedelta(days=1)
LAST_WEEK = MONDAY - dt.timedelta(days=14)
CODE_PAGE = re.compile(r"^/antrian/booking/([A-Z0-9]{8})/$")
# A visible service no counter serves in the fixture's mall: not bookable online.
UNSERVED = "bpjs-kesehatan-pendaftaran-mandiri"


# --- Helpers -------------------------------------------------------------------------------


def client(slug: str = "alpha", **options: Any) -> Client:
    return Client(HTTP_HOST=f"{slug}.localhost", **options)


def text(response: Any) -> str:
    return response.content.decode()


def slots_of(tenant: Tenant, day: dt.date = MONDAY, key: str = KTP) -> list[Slot]:
    with tenant_context(tenant):
        return ensure_slots(key, day)


def form(slot: Slot | None, serial: int = 1, day: dt.date = MONDAY, **extra: str) -> dict[str, str]:
    return {
        "tanggal": day.isoformat(),
        "slot": str(slot.pk) if slot else "",
        "name": "Siti Aminah",
        "nik": nik(serial),
        "phone": "081234567890",
        "email": "",
    } | extra


def post_booking(c: Client, data: dict[str, str], key: str = KTP) -> Any:
    return c.post(f"/antrian/pesan/{key}/?tanggal={data['tanggal']}", data)


def code_of(response: Any) -> str:
    assert response.status_code == 302, text(response)[:2000]
    match = CODE_PAGE.match(response["Location"])
    assert match, response["Location"]
    return match.group(1)


def book_directly(tenant: Tenant, slot: Slot, serial: int, **extra: Any) -> Booking:
    with tenant_context(tenant):
        fields = {"name": "Warga", "nik": nik(serial), "phone": "081234567890"} | extra
        return book(KTP, slot.pk, **fields)


def field_block(body: str, field: str) -> str:
    """The part of the page that holds ``field``: its paragraph, or the slot list."""
    if field == "slot":
        start = body.index('<fieldset class="slots"')
        return body[start : body.index("</fieldset>", start)]
    at_input = body.index(f'name="{field}"')
    return body[body.rindex("<p>", 0, at_input) : body.index("</p>", at_input)]


def no_store(response: Any) -> bool:
    cache_control = response.get("Cache-Control", "")
    return "no-store" in cache_control and "private" in cache_control


@pytest.fixture
def mall_b(tenant_b: Tenant, mall_a: Mall) -> Mall:
    """Tenant B (WITA) set up like A; A's schema stays current afterwards."""
    with tenant_context(tenant_b):
        return set_up_mall(tenant_b)


# --- The happy path --------------------------------------------------------------------------


def test_booking_from_start_to_ticket_to_cancel(mall_a: Mall) -> None:
    c = client()
    bodies: list[str] = []

    start = c.get("/antrian/")
    assert start.status_code == 200 and no_store(start)
    bodies.append(text(start))
    assert f'href="/antrian/pesan/{KTP}/"' in text(start)
    assert f'href="/antrian/pesan/{KK}/"' in text(start)  # no setting: online by default
    assert "Sudah punya kode booking?" in text(start)
    assert UNSERVED not in text(start)

    dates = c.get(f"/antrian/pesan/{KTP}/")
    assert dates.status_code == 200
    bodies.append(text(dates))
    assert f'href="?tanggal={MONDAY.isoformat()}#jam"' in text(dates)
    assert f'href="?tanggal={SUNDAY.isoformat()}#jam"' not in text(dates)
    assert "Mal tutup setiap hari Minggu." in text(dates)
    assert 'name="slot"' not in text(dates)  # no date chosen yet

    page = c.get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}")
    assert page.status_code == 200 and no_store(page)
    bodies.append(text(page))
    slots = slots_of(mall_a.tenant)
    assert len(slots) == 14  # 08:00–15:00 in 30 minutes
    assert text(page).count('name="slot"') == 14
    assert "08.00–08.30 WIB" in text(page) and "sisa 2 tempat" in text(page)
    assert "csrfmiddlewaretoken" in text(page)

    response = post_booking(c, form(slots[2], name="  Siti   Aminah "))
    code = code_of(response)
    with tenant_context(mall_a.tenant):
        booking = Booking.objects.get(code=code)
    assert (booking.name, booking.slot_id, booking.status) == ("Siti Aminah", slots[2].pk, "booked")

    ticket = c.get(response["Location"])
    assert ticket.status_code == 200 and no_store(ticket)
    body = text(ticket)
    bodies.append(body)
    assert f"{code[:4]}-{code[4:]}" in body
    assert "Booking berhasil" in body  # the message after the redirect
    assert "<svg" in body and f"<title>{code}</title>" in body  # the QR code, inline
    assert "09.00–09.30 WIB" in body
    assert "2171********0001" in body
    assert "Terpesan" in body
    assert f'href="/antrian/booking/{code}/batal/"' in body
    assert f'href="/antrian/booking/{code}/ubah/"' in body

    confirm = c.get(f"/antrian/booking/{code}/batal/")
    assert confirm.status_code == 200 and no_store(confirm)
    bodies.append(text(confirm))
    assert "Ya, batalkan booking" in text(confirm)
    done = c.post(f"/antrian/booking/{code}/batal/")
    assert done.status_code == 302 and done["Location"] == f"/antrian/booking/{code}/"
    after = c.get(done["Location"])
    bodies.append(text(after))
    assert "Dibatalkan" in text(after) and "dibatalkan" in text(after)
    assert f"/antrian/booking/{code}/batal/" not in text(after)  # nothing left to change
    with tenant_context(mall_a.tenant):
        assert Booking.objects.get(code=code).status == "cancelled"
        assert Slot.objects.get(pk=slots[2].pk).booked == 0

    # Cancelling again is refused, with the reason.
    again = c.post(f"/antrian/booking/{code}/batal/")
    assert again.status_code == 400 and "sudah dibatalkan" in text(again)
    bodies.append(text(again))

    for body in bodies:
        assert nik(1) not in body  # the full NIK is never sent back


def test_a_code_typed_loosely_reaches_its_booking(mall_a: Mall) -> None:
    booking = book_directly(mall_a.tenant, slots_of(mall_a.tenant)[0], 1)
    c = client()
    typed = f" {booking.code[:4].lower()}-{booking.code[4:]} "
    response = c.post("/antrian/kelola/", {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/antrian/booking/{booking.code}/"
    # A lower-case address redirects to the one canonical page.
    lower = c.get(f"/antrian/booking/{booking.code.lower()}/")
    assert lower.status_code == 302 and lower["Location"] == f"/antrian/booking/{booking.code}/"
    assert c.get("/antrian/kelola/").status_code == 200


def test_the_service_page_links_to_online_booking_only_when_bookable(mall_a: Mall) -> None:
    c = client()
    assert f'href="/antrian/pesan/{KTP}/"' in text(c.get(f"/layanan/{KTP}/"))
    assert "/antrian/pesan/" not in text(c.get(f"/layanan/{UNSERVED}/"))


# --- Reschedule ------------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_keeps_its_code(mall_a: Mall) -> None:
    slots = slots_of(mall_a.tenant)
    booking = book_directly(mall_a.tenant, slots[0], 1)
    tuesday = slots_of(mall_a.tenant, TUESDAY)
    c = client()
    url = f"/antrian/booking/{booking.code}/ubah/"

    dates = c.get(url)
    assert dates.status_code == 200 and no_store(dates)
    assert f'href="?tanggal={TUESDAY.isoformat()}#jam"' in text(dates)
    page = c.get(f"{url}?tanggal={TUESDAY.isoformat()}")
    assert text(page).count('name="slot"') == len(tuesday)

    # The same slot again is refused, next to the slot list.
    same = c.post(f"{url}?tanggal={MONDAY.isoformat()}", {"tanggal": MONDAY, "slot": slots[0].pk})
    assert same.status_code == 400 and "Ini sudah jam booking Anda." in text(same)
    # No slot picked.
    none = c.post(f"{url}?tanggal={TUESDAY.isoformat()}", {"tanggal": TUESDAY, "slot": ""})
    assert none.status_code == 400 and "Pilih salah satu jam kedatangan." in text(none)
    # A full slot.
    book_directly(mall_a.tenant, tuesday[1], 2)
    book_directly(mall_a.tenant, tuesday[1], 3)
    full = c.post(
        f"{url}?tanggal={TUESDAY.isoformat()}", {"tanggal": TUESDAY, "slot": tuesday[1].pk}
    )
    assert full.status_code == 400 and "Slot ini sudah penuh" in text(full)
    # Garbage for a slot.
    junk = c.post(f"{url}?tanggal={TUESDAY.isoformat()}", {"tanggal": TUESDAY, "slot": "x'--"})
    assert junk.status_code == 400 and "Jam layanan tidak ditemukan." in text(junk)

    moved = c.post(
        f"{url}?tanggal={TUESDAY.isoformat()}", {"tanggal": TUESDAY, "slot": tuesday[3].pk}
    )
    assert moved.status_code == 302 and moved["Location"] == f"/antrian/booking/{booking.code}/"
    ticket = text(c.get(moved["Location"]))
    assert "Jadwal booking diubah" in ticket and "09.30–10.00 WIB" in ticket
    with tenant_context(mall_a.tenant):
        assert Booking.objects.get(pk=booking.pk).slot_id == tuesday[3].pk


def test_a_cancelled_booking_cannot_be_moved_or_cancelled_again(mall_a: Mall) -> None:
    slots = slots_of(mall_a.tenant)
    booking = book_directly(mall_a.tenant, slots[0], 1)
    with tenant_context(mall_a.tenant):
        cancel_booking(booking.code)
    c = client()
    page = c.get(f"/antrian/booking/{booking.code}/ubah/")
    assert page.status_code == 200 and "tidak bisa diubah lagi" in text(page)
    assert 'name="slot"' not in text(page)
    refused = c.post(
        f"/antrian/booking/{booking.code}/ubah/", {"tanggal": MONDAY, "slot": slots[1].pk}
    )
    assert refused.status_code == 400 and "sudah dibatalkan" in text(refused)
    confirm = c.get(f"/antrian/booking/{booking.code}/batal/")
    assert "tidak bisa dibatalkan lagi" in text(confirm) and "Ya, batalkan" not in text(confirm)


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("", "Isi NIK"),
        ("2171-0115", "NIK harus 16 digit (yang diisi 8 digit)"),
        ("21710115039O0001", "NIK hanya berisi angka"),
        ("9971011503900001", "Kode provinsi pada NIK (digit 1–2: 99)"),
        ("2100011503900001", "Kode kabupaten/kota"),
        ("2171001503900001", "Kode kecamatan"),
        ("2171013213900001", "bukan tanggal yang ada"),
        ("2171011503900000", "Nomor urut pada NIK"),
    ],
)
def test_an_invalid_nik_is_refused_next_to_its_field(
    mall_a: Mall, typed: str, fragment: str
) -> None:
    slot = slots_of(mall_a.tenant)[0]
    response = post_booking(client(), form(slot, nik=typed, name="Budi", email="budi@example.id"))
    body = text(response)
    assert response.status_code == 400 and fragment in body
    # The error sits with the NIK field; the other input is kept, the NIK is not echoed.
    assert fragment in field_block(body, "nik")
    assert 'value="Budi"' in body and 'value="budi@example.id"' in body
    assert f'value="{slot.pk}" checked' in body
    assert "NIK tidak ditampilkan ulang" in body
    if typed:
        assert typed not in body
    with tenant_context(mall_a.tenant):
        assert not Booking.objects.exists()


def test_a_future_birth_date_in_the_nik_is_refused(mall_a: Mall) -> None:
    today = dt.date.today()
    if today >= dt.date(today.year, 12, 30):  # a two-digit year cannot be later than this
        pytest.skip("no later date left in this year")
    future = dt.date(today.year, 12, 31).strftime("%d%m%y")
    response = post_booking(client(), form(slots_of(mall_a.tenant)[0], nik=nik(birth=future)))
    assert response.status_code == 400 and "di masa depan" in text(response)


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ({"phone": "", "email": ""}, "phone", "Isi nomor telepon atau e-mail"),
        ({"phone": "12ab"}, "phone", "Nomor telepon 8–15 angka"),
        ({"email": "siti@"}, "email", "Alamat e-mail tidak valid."),
        ({"name": "   "}, "name", "Isi nama lengkap."),
        ({"name": "A" * 101}, "name", "Nama paling banyak 100 karakter."),
        ({"slot": ""}, "slot", "Pilih salah satu jam kedatangan."),
        ({"slot": "999999"}, "slot", "Jam layanan tidak ditemukan."),
        ({"slot": "abc"}, "slot", "Jam layanan tidak ditemukan."),
    ],
)
def test_bad_details_are_refused_next_to_their_field(
    mall_a: Mall, extra: dict[str, str], field: str, fragment: str
) -> None:
    slot = slots_of(mall_a.tenant)[0]
    response = post_booking(client(), form(slot) | extra)
    body = text(response)
    assert response.status_code == 400 and fragment in body
    assert fragment in field_block(body, field)
    with tenant_context(mall_a.tenant):
        assert not Booking.objects.exists()


def test_a_slot_of_another_service_is_not_found(mall_a: Mall) -> None:
    kk_slot = slots_of(mall_a.tenant, key=KK)[0]
    response = post_booking(client(), form(kk_slot))
    assert response.status_code == 400 and "Jam layanan tidak ditemukan." in text(response)


def test_a_past_date_or_slot_is_refused(mall_a: Mall) -> None:
    c = client()
    past = c.get(f"/antrian/pesan/{KTP}/?tanggal={LAST_WEEK.isoformat()}")
    assert past.status_code == 400 and "Tanggal ini sudah lewat." in text(past)
    far = MONDAY + dt.timedelta(days=60)
    too_far = c.get(f"/antrian/pesan/{KTP}/?tanggal={far.isoformat()}")
    assert too_far.status_code == 400 and "paling jauh 30 hari" in text(too_far)
    junk = c.get(f"/antrian/pesan/{KTP}/?tanggal=besok")
    assert junk.status_code == 400 and "TTTT-BB-HH" in text(junk)
    # A slot that already started (laid out last week, as if it were then).
    with tenant_context(mall_a.tenant):
        old = ensure_slots(KTP, LAST_WEEK, now=at(LAST_WEEK, 7))[0]
    response = post_booking(c, form(old, day=LAST_WEEK))
    assert response.status_code == 400 and "Jam ini sudah lewat." in text(response)


def test_closed_days_show_their_reason_and_refuse_bookings(mall_a: Mall) -> None:
    tuesday = slots_of(mall_a.tenant, TUESDAY)
    with tenant_context(mall_a.tenant):
        add_closure(TUESDAY, "Cuti bersama", acting_user=None)
    c = client()
    dates = text(c.get(f"/antrian/pesan/{KTP}/"))
    assert "Mal tutup: Cuti bersama." in dates
    assert f'href="?tanggal={TUESDAY.isoformat()}#jam"' not in dates
    sunday = c.get(f"/antrian/pesan/{KTP}/?tanggal={SUNDAY.isoformat()}")
    assert sunday.status_code == 200 and 'name="slot"' not in text(sunday)
    assert 'id="jam"' in text(sunday) and "Mal tutup setiap hari Minggu. Pilih tanggal lain." in (
        text(sunday)
    )
    # A slot laid out before the closure was announced can no longer be booked.
    response = post_booking(c, form(tuesday[0], day=TUESDAY))
    assert response.status_code == 400 and "Mal tutup: Cuti bersama." in text(response)


def test_a_full_slot_shows_full_and_refuses_another_booking(mall_a: Mall) -> None:
    slots = slots_of(mall_a.tenant)
    book_directly(mall_a.tenant, slots[0], 1)
    book_directly(mall_a.tenant, slots[0], 2)
    c = client()
    page = text(c.get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}"))
    assert f'value="{slots[0].pk}" disabled' in page and "Penuh" in page
    response = post_booking(c, form(slots[0], 3))
    assert response.status_code == 400 and "Slot ini sudah penuh. Pilih jam lain." in text(response)


def test_the_daily_quota_refuses_a_booking(mall_a: Mall) -> None:
    with tenant_context(mall_a.tenant):
        save_queue_setting(KTP, slot_minutes=30, slot_capacity=2, daily_quota=1, acting_user=None)
    slots = slots_of(mall_a.tenant)
    book_directly(mall_a.tenant, slots[0], 1)
    response = post_booking(client(), form(slots[1], 2))
    assert response.status_code == 400 and "Kuota harian" in text(response)


def test_a_second_booking_of_one_nik_on_one_day_is_refused(mall_a: Mall) -> None:
    slots = slots_of(mall_a.tenant)
    book_directly(mall_a.tenant, slots[0], 1)
    response = post_booking(client(), form(slots[5], 1, name="Siti"))
    body = text(response)
    assert response.status_code == 400 and "sudah punya booking aktif" in body
    assert "sudah punya booking aktif" in field_block(body, "nik")
    assert 'value="Siti"' in body and nik(1) not in body


def test_services_that_cannot_be_booked_online(mall_a: Mall) -> None:
    c = client()
    assert c.get("/antrian/pesan/no-such-service/").status_code == 404
    unserved = c.get(f"/antrian/pesan/{UNSERVED}/")
    assert unserved.status_code == 200 and "tidak bisa dipesan online" in text(unserved)
    assert 'name="slot"' not in text(unserved)
    with tenant_context(mall_a.tenant):
        save_queue_setting(KTP, online_booking=False, acting_user=None)
    offline = c.get(f"/antrian/pesan/{KTP}/")
    assert "tidak bisa dipesan online" in text(offline)
    assert "tidak bisa dipesan online" in text(
        c.get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}")
    )
    slot = slots_of(mall_a.tenant)[0]
    refused = post_booking(c, form(slot))
    assert refused.status_code == 400 and "tidak bisa dipesan online" in text(refused)
    assert f"/antrian/pesan/{KTP}/" not in text(c.get("/antrian/"))
    # A service hidden from citizens is unknown here too.
    with tenant_context(mall_a.tenant):
        local.set_enabled(LocalService.objects.get(key=KK), False, acting_user=None)
        assert KK not in {s.key for s in bookable_services()}
    assert c.get(f"/antrian/pesan/{KK}/").status_code == 404


@pytest.mark.parametrize("code", ["garbage", "ABCD2345", "ABCD-234O", "x" * 40, "<script>"])
def test_unknown_or_garbage_codes_are_not_found(mall_a: Mall, code: str) -> None:
    c = client()
    for path in ("", "batal/", "ubah/"):
        response = c.get(f"/antrian/booking/{code}/{path}")
        assert response.status_code == 404 and "Booking tidak ditemukan" in text(response)
        assert no_store(response)
    posted = c.post("/antrian/kelola/", {"code": code})
    assert posted.status_code in (400, 404)
    assert "<script>" not in text(posted)
    if len(code) <= 20:
        assert posted.status_code == 404 and "Kode booking tidak ditemukan." in text(posted)
    assert c.post("/antrian/booking/ABCD2345/batal/").status_code == 404


def test_an_empty_code_asks_for_one(mall_a: Mall) -> None:
    response = client().post("/antrian/kelola/", {"code": " - "})
    assert response.status_code == 400 and "Isi kode booking." in text(response)


# --- Tenant isolation ----------------------------------------------------------------------


def test_a_booking_code_is_unknown_on_the_other_tenant_both_ways(
    mall_a: Mall, mall_b: Mall
) -> None:
    a = book_directly(mall_a.tenant, slots_of(mall_a.tenant)[0], 1)
    b = book_directly(mall_b.tenant, slots_of(mall_b.tenant)[0], 2)
    for host, own, other in (("alpha", a, b), ("beta", b, a)):
        c = client(host)
        assert c.get(f"/antrian/booking/{own.code}/").status_code == 200
        for path in ("", "batal/", "ubah/"):
            assert c.get(f"/antrian/booking/{other.code}/{path}").status_code == 404
        assert c.post(f"/antrian/booking/{other.code}/batal/").status_code == 404
        looked_up = c.post("/antrian/kelola/", {"code": other.code})
        assert looked_up.status_code == 404 and "Kode booking tidak ditemukan." in text(looked_up)
    with tenant_context(mall_a.tenant):
        assert Booking.objects.get(pk=a.pk).status == "booked"
    with tenant_context(mall_b.tenant):
        assert Booking.objects.get(pk=b.pk).status == "booked"


def test_a_slot_of_the_other_tenant_cannot_be_booked(mall_a: Mall, mall_b: Mall) -> None:
    a_slot = slots_of(mall_a.tenant)[0]
    b_slots = {s.pk for s in slots_of(mall_b.tenant)}
    if a_slot.pk in b_slots:  # ids are per schema: pick one B does not have
        a_slot = next(s for s in slots_of(mall_a.tenant) if s.pk not in b_slots)
    response = post_booking(client("beta"), form(a_slot))
    assert response.status_code == 400 and "Jam layanan tidak ditemukan." in text(response)


# --- Time zones ------------------------------------------------------------------------------


def test_times_are_shown_on_each_tenants_wall_clock(mall_a: Mall, mall_b: Mall) -> None:
    b_slots = slots_of(mall_b.tenant)
    # 08:00 in Kalimantan Timur is 00:00 UTC, 07:00 in Jakarta: shown as 08.00 WITA.
    assert b_slots[0].starts_at == dt.datetime.combine(MONDAY, dt.time(0), tzinfo=dt.UTC)
    c = client("beta")
    page = text(c.get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}"))
    assert "08.00–08.30 WITA" in page and "WIB" not in page
    code = code_of(post_booking(c, form(b_slots[0])))
    ticket = text(c.get(f"/antrian/booking/{code}/"))
    assert "08.00–08.30 WITA" in ticket and "07.00" not in ticket
    assert MONDAY.strftime("%Y-%m-%d") in ticket
    alpha = text(client().get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}"))
    assert "08.00–08.30 WIB" in alpha and "WITA" not in alpha


# --- Caching, CSRF, throttling, queries -------------------------------------------------------


def test_booking_pages_are_never_cached(mall_a: Mall) -> None:
    booking = book_directly(mall_a.tenant, slots_of(mall_a.tenant)[0], 1)
    url = f"/antrian/booking/{booking.code}/"
    c = client()
    first = c.get(url)
    assert no_store(first) and "X-Page-Cache" not in first and "ETag" not in first
    assert "Terpesan" in text(first)
    with tenant_context(mall_a.tenant):
        cancel_booking(booking.code)  # changes no portal page version
    second = client().get(url)
    assert "X-Page-Cache" not in second and "Dibatalkan" in text(second)
    assert text(first) != text(second)
    for path in (
        "/antrian/",
        "/antrian/kelola/",
        f"/antrian/pesan/{KTP}/",
        f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}",
        f"{url}batal/",
        f"{url}ubah/",
    ):
        response = c.get(path)
        assert no_store(response) and "X-Page-Cache" not in response, path
    # Nothing of these pages went into the portal's page cache.
    assert not any("portal-page" in str(key) for key in getattr(cache, "_cache", {}))


def test_forms_require_the_csrf_token(mall_a: Mall) -> None:
    slot = slots_of(mall_a.tenant)[0]
    c = client(enforce_csrf_checks=True)
    assert post_booking(c, form(slot)).status_code == 403
    assert c.post("/antrian/kelola/", {"code": "ABCD2345"}).status_code == 403
    with tenant_context(mall_a.tenant):
        assert not Booking.objects.exists()
    # With the token from the page, the same form goes through.
    page = c.get(f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(page)).group(1)
    assert code_of(post_booking(c, form(slot) | {"csrfmiddlewaretoken": token}))


def test_booking_posts_are_throttled_per_client_address(mall_a: Mall, settings: Any) -> None:
    settings.QUEUE_CITIZEN_POST_LIMIT = 3
    slot = slots_of(mall_a.tenant)[0]
    c = client(REMOTE_ADDR="10.1.2.3")
    for _ in range(3):
        assert post_booking(c, form(slot, nik="1")).status_code == 400
    blocked = post_booking(c, form(slot))
    assert blocked.status_code == 429 and "Terlalu banyak" in text(blocked)
    assert blocked["Retry-After"]
    assert c.post("/antrian/kelola/", {"code": "ABCD2345"}).status_code == 429
    # Another address is not held back; reading pages never counts.
    assert c.get("/antrian/").status_code == 200
    other = client(REMOTE_ADDR="10.9.9.9")
    assert code_of(post_booking(other, form(slot)))
    with tenant_context(mall_a.tenant):
        assert Booking.objects.count() == 1


def test_the_slot_list_costs_a_bounded_number_of_queries(
    mall_a: Mall, django_assert_max_num_queries: Any
) -> None:
    url = f"/antrian/pesan/{KTP}/?tanggal={MONDAY.isoformat()}"
    c = client()
    assert c.get(url).status_code == 200  # warms routing, lays out the day
    with CaptureQueriesContext(connection) as fourteen:
        assert text(c.get(url)).count('name="slot"') == 14
    with tenant_context(mall_a.tenant):
        save_queue_setting(KTP, slot_minutes=5, slot_capacity=2, daily_quota=50, acting_user=None)
        add_closure(TUESDAY, "Cuti bersama", acting_user=None)
    c.get(url)
    with CaptureQueriesContext(connection) as eighty_four:
        assert text(c.get(url)).count('name="slot"') == 84
    # More slots and more closed days do not mean more queries (closures cost one each).
    assert len(eighty_four) <= len(fourteen) + 2
    with django_assert_max_num_queries(20):
        c.get(url)
