"""The counter console at /staff/loket/: every action, bad input, wrong states, who may do
what, and tenant isolation.

The console calls the real clock (an officer works "now"), so the mall here is open every day
and today's tickets are issued at a minute past local midnight (``early_today``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from mall.queue.actions import (
    book,
    call_next,
    check_in,
    ensure_slots,
    issue_walk_in,
    save_counter,
    start_serving,
    tenant_zone,
)
from mall.queue.models import Booking, Counter, Ticket
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.models import Tenant
from tests.mall.queue.conftest import EVERY_DAY, KK, KTP, nik, set_up_mall

URL = "/staff/loket/"


def early_today() -> dt.datetime:
    """A minute past midnight today, on the current tenant's clock (the mall is open then)."""
    today = timezone.now().astimezone(tenant_zone()).date()
    return dt.datetime.combine(today, dt.time(0, 1), tzinfo=tenant_zone())


@dataclass
class Hall:
    """Tenant A with two counters: Loket 1 (``officer``'s) and Loket 2 (priority, nobody's)."""

    tenant: Tenant
    counter: Counter
    other: Counter
    officer: User
    admin: User


def set_up_hall(tenant: Tenant) -> Hall:
    """In ``tenant``'s schema: a mall open every day with its two counters."""
    with tenant_context(tenant):
        mall = set_up_mall(tenant, hours=EVERY_DAY)
        admin = User.objects.get(email=f"admin@{tenant.slug}.go.id")
        return Hall(tenant, mall.counter, mall.priority_counter, mall.officer, admin)


@pytest.fixture
def hall(tenant_a: Tenant) -> Hall:
    return set_up_hall(tenant_a)


def walk_in(tenant: Tenant, service: str = KTP, *, priority: bool = False) -> Ticket:
    """Today's walk-in ticket in ``tenant``."""
    with tenant_context(tenant):
        return issue_walk_in(service, priority=priority, now=early_today())


def checked_in(tenant: Tenant, serial: int, name: str = "Siti Rahayu") -> Ticket:
    """A KTP booking for tonight's last slot, checked in now: an early online ticket."""
    with tenant_context(tenant):
        now = early_today()
        slot = ensure_slots(KTP, now.date(), now=now)[-1]
        booking = book(KTP, slot.pk, name=name, nik=nik(serial), phone="081234567890", now=now)
        return check_in(booking.code, now=now)


def client_for(tenant: Tenant, user: User | None) -> Client:
    """A client on ``tenant``'s host, signed in as ``user`` (anonymous when None)."""
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    if user is not None:
        with tenant_context(tenant):
            client.force_login(user)
    return client


def fresh(tenant: Tenant, ticket: Ticket) -> Ticket:
    with tenant_context(tenant):
        return Ticket.objects.select_related("counter").get(pk=ticket.pk)


def post(client: Client, counter: Counter, action: str, **data: Any) -> Any:
    """POST a console action and follow the redirect back to the console."""
    response = client.post(f"{URL}{counter.pk}/{action}/", data, follow=True)
    assert response.redirect_chain == [(f"{URL}{counter.pk}/", 302)], response.redirect_chain
    return response


def notices(response: Any) -> list[tuple[str, str]]:
    """The (level, text) of each message shown on the page."""
    return [(m.level_tag, m.message) for m in response.context["messages"]]


# --- Who gets in ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(hall: Hall) -> None:
    client = client_for(hall.tenant, None)
    for path in (URL, f"{URL}{hall.counter.pk}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/?next=")
    ticket = walk_in(hall.tenant)
    response = client.post(f"{URL}{hall.counter.pk}/panggil/")
    assert response.status_code == 302 and "/staff/login/" in response["Location"]
    assert fresh(hall.tenant, ticket).status == "waiting"


def test_officers_list_their_counters_and_admins_all(
    hall: Hall, django_assert_max_num_queries: Any
) -> None:
    walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        call_next(hall.counter, acting_user=None)
    officer = client_for(hall.tenant, hall.officer)
    # Routing (3, the test empties the routing cache), session, user, counters, tickets.
    with django_assert_max_num_queries(7):
        body = officer.get(URL).content.decode()
    assert "Loket 1" in body and "Loket 2" not in body
    assert "DKP-001" in body  # what Loket 1 is handling now
    assert 'href="/staff/antrian/statistik/"' not in body  # the queue settings are the admin's
    with tenant_context(hall.tenant):
        for i in range(3, 9):
            save_counter(
                name=f"Loket {i}", agency_code="dukcapil", prefix="DKP", service_keys=[KTP],
                acting_user=None,
            )  # fmt: skip
    admin = client_for(hall.tenant, hall.admin)
    with django_assert_max_num_queries(7):  # the same however many counters
        body = admin.get(URL).content.decode()
    assert "Loket 1" in body and "Loket 8" in body and "jalur prioritas" in body
    assert 'href="/staff/antrian/statistik/"' in body and 'href="/staff/antrian/"' in body

    with tenant_context(hall.tenant):
        idle = User.objects.create_user("baru@alpha.go.id", role=User.Role.OFFICER)
    body = client_for(hall.tenant, idle).get(URL).content.decode()
    assert "belum ditugaskan" in body and "Loket 1" not in body


def test_an_officer_cannot_work_another_officers_counter(hall: Hall) -> None:
    ticket = walk_in(hall.tenant)
    officer = client_for(hall.tenant, hall.officer)
    response = officer.get(f"{URL}{hall.other.pk}/")
    assert response.status_code == 403
    assert "Anda bukan petugas Loket 2" in response.content.decode()
    for action in ("panggil", "panggil-ulang", "lewati", "layani", "selesai", "alihkan"):
        response = officer.post(f"{URL}{hall.other.pk}/{action}/", {"ticket": ticket.pk})
        assert response.status_code == 403, action
    assert fresh(hall.tenant, ticket).status == "waiting"
    # The tenant admin may work every counter.
    admin = client_for(hall.tenant, hall.admin)
    assert admin.get(f"{URL}{hall.other.pk}/").status_code == 200
    response = post(admin, hall.other, "panggil")
    assert notices(response) == [("success", "DKP-001 dipanggil ke Loket 2.")]
    with tenant_context(hall.tenant):
        event = AuditEvent.objects.filter(action="queue.called").latest("pk")
    assert event.actor_id == hall.admin.pk


def test_unknown_counters_and_actions_are_not_found(hall: Hall) -> None:
    admin = client_for(hall.tenant, hall.admin)
    missing = max(hall.counter.pk, hall.other.pk) + 1000
    assert admin.get(f"{URL}{missing}/").status_code == 404
    assert admin.post(f"{URL}{missing}/panggil/").status_code == 404
    assert admin.get(f"{URL}abc/").status_code == 404
    assert admin.post(f"{URL}{hall.counter.pk}/hapus/").status_code == 404
    # Actions are POST only; the pages are GET only.
    assert admin.get(f"{URL}{hall.counter.pk}/panggil/").status_code == 405
    assert admin.post(f"{URL}{hall.counter.pk}/").status_code == 405


def test_actions_need_the_csrf_token(hall: Hall) -> None:
    walk_in(hall.tenant)
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    with tenant_context(hall.tenant):
        client.force_login(hall.officer)
    assert client.post(f"{URL}{hall.counter.pk}/panggil/").status_code == 403
    page = client.get(f"{URL}{hall.counter.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(f"{URL}{hall.counter.pk}/panggil/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


# --- The console page -------------------------------------------------------------------------


def test_the_console_shows_the_queue_split_and_is_never_cached(
    hall: Hall, django_assert_max_num_queries: Any
) -> None:
    walk_in(hall.tenant, priority=True)
    walk_in(hall.tenant)
    walk_in(hall.tenant, KK)
    checked_in(hall.tenant, 1)
    transferred = walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        # A ticket that Loket 2 called and sent over to Loket 1.
        other_hall_ticket = call_next(hall.other, acting_user=None)  # the priority one first
        assert other_hall_ticket.priority
        from mall.queue.actions import transfer

        transfer(other_hall_ticket, hall.counter, acting_user=None)
    client = client_for(hall.tenant, hall.officer)
    with django_assert_max_num_queries(12):
        response = client.get(f"{URL}{hall.counter.pk}/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    waiting = response.context["waiting"]
    # The transferred ticket was the priority one; left: two walk-ins of KTP and KK, one
    # KTP walk-in more, and the booking.
    assert waiting == {"total": 5, "transferred": 1, "priority": 0, "booked": 1, "walk_in": 3}
    body = response.content.decode()
    assert "Panggil berikutnya" in body and "Booking (sudah check-in)" in body
    assert transferred.number not in re.findall(r'class="current-number">([^<]+)<', body)
    # Citizens' names never appear on the console's queue either.
    assert "Siti Rahayu" not in body

    # The page costs the same with many more tickets.
    for _ in range(20):
        walk_in(hall.tenant)
    with django_assert_max_num_queries(12):
        assert client.get(f"{URL}{hall.counter.pk}/").context["waiting"]["total"] == 25


def test_call_recall_start_finish(hall: Hall) -> None:
    first = walk_in(hall.tenant)
    second = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)

    response = post(client, hall.counter, "panggil")
    assert notices(response) == [("success", "DKP-001 dipanggil ke Loket 1.")]
    body = response.content.decode()
    assert '<p class="current-number">DKP-001</p>' in body
    assert "Mulai layani" in body and "Panggil ulang" in body and "Lewati" in body
    assert "Panggil berikutnya" not in body  # one ticket at a time
    # What the citizen came for, and the counter's agency, by name rather than by key.
    assert "Penerbitan KTP-el Baru" in body and "dukcapil-ktp-el-baru" not in body
    assert fresh(hall.tenant, first).status == "called"

    response = post(client, hall.counter, "panggil-ulang", ticket=first.pk)
    assert notices(response) == [("success", "DKP-001 dipanggil ulang.")]
    assert fresh(hall.tenant, first).recall_count == 1
    assert "dipanggil ulang 1 kali" in response.content.decode()

    response = post(client, hall.counter, "layani", ticket=first.pk)
    assert notices(response) == [("success", "Mulai melayani DKP-001.")]
    assert fresh(hall.tenant, first).status == "serving"
    body = response.content.decode()
    assert "Sedang dilayani sejak" in body and 'name="application_ref"' in body

    response = post(client, hall.counter, "selesai", ticket=first.pk, application_ref="REG/26-001")
    assert notices(response) == [("success", "DKP-001 selesai dilayani.")]
    done = fresh(hall.tenant, first)
    assert (done.status, done.application_ref) == ("done", "REG/26-001")
    body = response.content.decode()
    assert "REG/26-001" in body  # in "last served today"
    assert "Panggil berikutnya" in body

    # Every step was done as the signed-in officer.
    with tenant_context(hall.tenant):
        actors = set(
            AuditEvent.objects.filter(
                target_type="queue.ticket", target_id=str(first.pk), action__startswith="queue."
            )
            .exclude(action="queue.ticket_issued")
            .values_list("actor_id", flat=True)
        )
    assert actors == {hall.officer.pk}
    assert fresh(hall.tenant, second).status == "waiting"


def test_skip_marks_the_ticket_and_its_booking_no_show(hall: Hall) -> None:
    ticket = checked_in(hall.tenant, 2)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    response = post(client, hall.counter, "lewati", ticket=ticket.pk)
    assert notices(response) == [("success", f"{ticket.number} ditandai tidak hadir.")]
    assert fresh(hall.tenant, ticket).status == "no_show"
    with tenant_context(hall.tenant):
        assert Booking.objects.get(pk=ticket.booking_id).status == "no_show"
    assert "Tidak hadir" in response.content.decode()  # in "last served today"


def test_transfer_sends_the_ticket_to_another_counter(hall: Hall) -> None:
    ticket = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    page = client.get(f"{URL}{hall.counter.pk}/").content.decode()
    assert f'<option value="{hall.other.pk}">Loket 2</option>' in page
    assert f'<option value="{hall.counter.pk}">' not in page  # not to itself

    response = post(client, hall.counter, "alihkan", ticket=ticket.pk, target=hall.other.pk)
    assert notices(response) == [("success", "DKP-001 dialihkan ke Loket 2.")]
    moved = fresh(hall.tenant, ticket)
    assert (moved.status, moved.counter_id) == ("transferred", hall.other.pk)
    # Loket 2 calls it next; Loket 1 is free again.
    assert "Panggil berikutnya" in response.content.decode()
    admin = client_for(hall.tenant, hall.admin)
    response = post(admin, hall.other, "panggil")
    assert notices(response) == [("success", "DKP-001 dipanggil ke Loket 2.")]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Pilih loket tujuan."),
        ("dua", "Pilih loket tujuan."),
        ("999999", "Loket tujuan tidak ditemukan."),
        ("same", "Tiket sudah berada di loket ini."),
        ("inactive", "Loket tujuan tidak aktif."),
    ],
)
def test_a_bad_transfer_is_refused_with_the_reason(hall: Hall, target: str, message: str) -> None:
    ticket = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    if target == "same":
        target = str(hall.counter.pk)
    elif target == "inactive":
        with tenant_context(hall.tenant):
            closed = save_counter(
                name="Loket 3",
                agency_code="dukcapil",
                prefix="DKP",
                service_keys=[KTP],
                active=False,
                acting_user=None,
            )
        target = str(closed.pk)
    response = post(client, hall.counter, "alihkan", ticket=ticket.pk, target=target)
    assert notices(response) == [("error", message)]
    assert 'role="alert"' in response.content.decode()
    assert fresh(hall.tenant, ticket).status == "called"


def test_nothing_waiting_busy_and_inactive_counters(hall: Hall) -> None:
    client = client_for(hall.tenant, hall.officer)
    response = post(client, hall.counter, "panggil")
    assert notices(response) == [("info", "Tidak ada antrean yang menunggu untuk loket ini.")]

    walk_in(hall.tenant)
    walk_in(hall.tenant)
    post(client, hall.counter, "panggil")
    response = post(client, hall.counter, "panggil")  # a second call while DKP-001 is called
    assert notices(response) == [
        (
            "error",
            "Loket masih menangani DKP-001: selesaikan atau tandai tidak hadir dulu.",
        )
    ]

    with tenant_context(hall.tenant):
        counter = Counter.objects.get(pk=hall.counter.pk)
        save_counter(
            counter,
            name=counter.name,
            agency_code=counter.agency_code,
            prefix=counter.prefix,
            service_keys=counter.service_keys,
            officers=[hall.officer],
            active=False,
            acting_user=None,
        )
        Ticket.objects.filter(status="called").update(status="done")
    response = post(client, hall.counter, "panggil")
    assert notices(response) == [("error", "Loket ini tidak aktif.")]
    assert "Loket ini tidak aktif: tidak dapat memanggil" in response.content.decode()


def test_ticket_actions_in_the_wrong_state_are_refused(hall: Hall) -> None:
    ticket = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    response = post(client, hall.counter, "selesai", ticket=ticket.pk)
    assert notices(response) == [
        ("error", "Tiket DKP-001 berstatus Dipanggil; tidak bisa diselesaikan.")
    ]
    post(client, hall.counter, "layani", ticket=ticket.pk)
    for action, doing in (
        ("layani", "mulai dilayani"),
        ("panggil-ulang", "dipanggil ulang"),
        ("lewati", "dilewati"),
    ):
        response = post(client, hall.counter, action, ticket=ticket.pk)
        assert notices(response) == [
            ("error", f"Tiket DKP-001 berstatus Dilayani; tidak bisa {doing}.")
        ], action
    assert fresh(hall.tenant, ticket).status == "serving"


def test_a_bad_application_reference_keeps_the_ticket_in_service(hall: Hall) -> None:
    ticket = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    post(client, hall.counter, "layani", ticket=ticket.pk)
    for ref in ("<script>", "x" * 41, "/awal-garis-miring"):
        response = post(client, hall.counter, "selesai", ticket=ticket.pk, application_ref=ref)
        assert notices(response) == [
            ("error", "Nomor permohonan 1–40 karakter: huruf, angka, / . _ -")
        ], ref
    assert fresh(hall.tenant, ticket).status == "serving"


@pytest.mark.parametrize("value", ["", "abc", "-1", "0", "999999", "other-counter"])
def test_a_ticket_not_at_this_counter_is_not_found(hall: Hall, value: str) -> None:
    mine = walk_in(hall.tenant)
    theirs = walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        call_next(hall.counter, acting_user=None)  # mine, at Loket 1
        call_next(hall.other, acting_user=None)  # theirs, at Loket 2
    if value == "other-counter":
        value = str(theirs.pk)
    client = client_for(hall.tenant, hall.officer)
    for action in ("panggil-ulang", "lewati", "layani", "selesai", "alihkan"):
        response = post(client, hall.counter, action, ticket=value, target=hall.other.pk)
        assert notices(response) == [("error", "Tiket tidak ditemukan di loket ini.")], action
    assert fresh(hall.tenant, theirs).status == "called"
    assert fresh(hall.tenant, theirs).counter_id == hall.other.pk
    assert fresh(hall.tenant, mine).status == "called"


def test_a_stale_page_cannot_act_on_a_finished_ticket(hall: Hall) -> None:
    """Two tabs: one finished DKP-001; the other's "Selesai" for it is refused."""
    ticket = walk_in(hall.tenant)
    client = client_for(hall.tenant, hall.officer)
    post(client, hall.counter, "panggil")
    post(client, hall.counter, "lewati", ticket=ticket.pk)
    walk_in(hall.tenant)
    post(client, hall.counter, "panggil")  # DKP-002 is at the counter now
    response = post(client, hall.counter, "panggil-ulang", ticket=ticket.pk)
    assert notices(response) == [
        ("error", "Tiket DKP-001 berstatus Tidak hadir; tidak bisa dipanggil ulang.")
    ]


# --- Tenant isolation ---------------------------------------------------------------------------


def test_tenant_b_staff_cannot_reach_tenant_a_counters(hall: Hall, tenant_b: Tenant) -> None:
    ticket = walk_in(hall.tenant)
    with tenant_context(tenant_b):
        b_admin = User.objects.get(email="admin@beta.go.id")
        # Tenant B has counters of its own, numbered past A's: A's ids are unknown there.
        for i in range(3):
            save_counter(
                name=f"Loket B{i}",
                agency_code="dukcapil",
                prefix="DKB",
                service_keys=[KTP],
                acting_user=None,
            )
        assert not Counter.objects.filter(pk__in=[hall.counter.pk, hall.other.pk]).exists()
    client = client_for(tenant_b, b_admin)
    for counter in (hall.counter, hall.other):
        assert client.get(f"{URL}{counter.pk}/").status_code == 404
        assert client.post(f"{URL}{counter.pk}/panggil/").status_code == 404
        response = client.post(f"{URL}{counter.pk}/layani/", {"ticket": ticket.pk})
        assert response.status_code == 404
    body = client.get(URL).content.decode()
    assert "Loket B0" in body and "Loket 1" not in body
    assert fresh(hall.tenant, ticket).status == "waiting"

    # A's signed-in officer's session means nothing on B's host.
    a_client = client_for(hall.tenant, hall.officer)
    a_client.defaults["HTTP_HOST"] = "beta.localhost"
    response = a_client.get(f"{URL}{hall.counter.pk}/")
    assert response.status_code == 302 and "/staff/login/" in response["Location"]


def test_starting_service_from_the_domain_shows_on_the_console(hall: Hall) -> None:
    """The console reads the same state the actions write (no cache of its own)."""
    ticket = walk_in(hall.tenant)
    with tenant_context(hall.tenant):
        start_serving(call_next(hall.counter, acting_user=None), acting_user=None)
    body = client_for(hall.tenant, hall.officer).get(f"{URL}{hall.counter.pk}/").content.decode()
    assert f'<p class="current-number">{ticket.number}</p>' in body
    assert "Sedang dilayani sejak" in body
