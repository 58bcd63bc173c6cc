"""Counters and queue settings (the admin's input), and tenant isolation of the queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from catalog.local.actions import set_agency_presence
from catalog.local.models import LocalAgency
from mall.queue.actions import (
    book,
    call_next,
    cancel_booking,
    check_in,
    ensure_slots,
    issue_walk_in,
    may_operate,
    reschedule_booking,
    save_counter,
    save_queue_setting,
)
from mall.queue.models import Booking, Counter, QueueSetting, Ticket
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from stats.collectors import collect_metrics
from tenants.models import Tenant
from tests.mall.queue.conftest import KTP, MONDAY, Mall, at, error_code, nik, set_up_mall

# --- Counters -------------------------------------------------------------------------------


def counter_fields(**overrides: object) -> dict[str, object]:
    return {
        "name": "Loket 9",
        "agency_code": "dukcapil",
        "prefix": "dkp",
        "service_keys": [KTP],
        "acting_user": None,
    } | overrides


def test_a_counter_is_saved_and_audited(mall_a: Mall) -> None:
    counter = save_counter(**counter_fields(officers=[mall_a.officer.pk]))
    assert counter.prefix == "DKP" and counter.service_keys == [KTP]
    assert list(counter.officers.all()) == [mall_a.officer]
    event = AuditEvent.objects.filter(action="queue.counter_saved").latest("pk")
    assert event.after["name"] == "Loket 9" and event.before == {}
    save_counter(counter, **counter_fields(name="Loket 9A", prefix="KTP"))
    event = AuditEvent.objects.filter(action="queue.counter_saved").latest("pk")
    assert event.before == {"name": "Loket 9", "prefix": "DKP", "officers": [mall_a.officer.email]}
    assert event.after == {"name": "Loket 9A", "prefix": "KTP", "officers": []}


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"name": " "}, "name", "Isi nama loket"),
        ({"name": "loket 1"}, "name", "sudah dipakai"),  # the fixture's "Loket 1"
        ({"name": "L" * 61}, "name", "60 karakter"),
        ({"agency_code": "no-such-agency"}, "agency_code", "tidak ditemukan"),
        ({"prefix": "D"}, "prefix", "2–4 huruf"),
        ({"prefix": "DKP1"}, "prefix", "2–4 huruf"),
        ({"prefix": "ABCDE"}, "prefix", "2–4 huruf"),
        ({"service_keys": []}, "service_keys", "minimal satu"),
        ({"service_keys": ["bpjs-kesehatan-pendaftaran-mandiri"]}, "service_keys", "Bukan layanan"),
        ({"service_keys": ["no-such-service", KTP]}, "service_keys", "no-such-service"),
        ({"officers": [999_999]}, "officers", "staf aktif"),
        ({"officers": ["abc"]}, "officers", "tidak dikenal"),
    ],
)
def test_bad_counter_input_is_refused(
    mall_a: Mall, overrides: dict[str, object], field: str, fragment: str
) -> None:
    before = Counter.objects.count()
    with pytest.raises(ValidationError) as caught:
        save_counter(**counter_fields(**overrides))
    assert fragment in " ".join(caught.value.message_dict[field])
    assert Counter.objects.count() == before


def test_an_agency_not_present_cannot_get_a_counter(mall_a: Mall) -> None:
    agency = LocalAgency.objects.get(code="dukcapil")
    set_agency_presence(agency, present=False, acting_user=None)
    with pytest.raises(ValidationError) as caught:
        save_counter(**counter_fields())
    assert "tidak hadir" in caught.value.message_dict["agency_code"][0]


def test_a_citizen_account_cannot_be_an_officer(mall_a: Mall) -> None:
    outsider = User.objects.create_user("inactive@alpha.go.id", is_active=False)
    with pytest.raises(ValidationError):
        save_counter(**counter_fields(officers=[outsider]))


def test_who_may_operate_a_counter(mall_a: Mall) -> None:
    admin = User.objects.create_user("kepala@alpha.go.id", role=User.Role.TENANT_ADMIN)
    other = User.objects.create_user("lain@alpha.go.id", role=User.Role.OFFICER)
    assert may_operate(mall_a.officer, mall_a.counter)
    assert may_operate(admin, mall_a.counter)
    assert not may_operate(other, mall_a.counter)
    assert not may_operate(None, mall_a.counter)
    assert not may_operate(mall_a.officer, mall_a.priority_counter)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slot_minutes": 4}, "slot_minutes"),
        ({"slot_minutes": 121}, "slot_minutes"),
        ({"slot_minutes": "lima"}, "slot_minutes"),
        ({"slot_capacity": 0}, "slot_capacity"),
        ({"slot_capacity": 501}, "slot_capacity"),
        ({"daily_quota": 0}, "daily_quota"),
        ({"daily_quota": None}, "daily_quota"),
    ],
)
def test_bad_queue_settings_are_refused(
    mall_a: Mall, fields: dict[str, object], field: str
) -> None:
    before = QueueSetting.objects.get(service_key=KTP).slot_minutes
    with pytest.raises(ValidationError) as caught:
        save_queue_setting(KTP, **fields, acting_user=None)
    assert list(caught.value.message_dict) == [field]
    assert QueueSetting.objects.get(service_key=KTP).slot_minutes == before


def test_a_setting_for_an_unknown_service_is_refused(mall_a: Mall) -> None:
    with pytest.raises(ValidationError) as caught:
        save_queue_setting("no-such-service", acting_user=None)
    assert "service_key" in caught.value.message_dict


def test_queue_setting_is_audited(mall_a: Mall) -> None:
    save_queue_setting(KTP, slot_minutes=20, slot_capacity=3, daily_quota=60, acting_user=None)
    event = AuditEvent.objects.filter(action="queue.setting_saved").latest("pk")
    assert event.before["slot_minutes"] == 30 and event.after["slot_minutes"] == 20


# --- Isolation ------------------------------------------------------------------------------


@pytest.fixture
def a_booking_and_ticket(tenant_a: Tenant) -> tuple[str, int]:
    with tenant_context(tenant_a):
        set_up_mall(tenant_a)
        slot = ensure_slots(KTP, MONDAY, now=at(MONDAY, 6))[4]
        booking = book(
            KTP, slot.pk, name="Warga A", nik=nik(1), phone="081234567890", now=at(MONDAY, 6)
        )
        ticket = issue_walk_in(KTP, now=at(MONDAY, 8))
        return booking.code, ticket.pk


def test_a_booking_code_of_tenant_a_is_unknown_on_tenant_b(
    tenant_a: Tenant, tenant_b: Tenant, a_booking_and_ticket: tuple[str, int]
) -> None:
    code, _ticket = a_booking_and_ticket
    with tenant_context(tenant_b):
        set_up_mall(tenant_b)
        other_slot = ensure_slots(KTP, MONDAY, now=at(MONDAY, 6))[5]
        for attempt in (
            lambda: check_in(code, now=at(MONDAY, 9)),
            lambda: cancel_booking(code, now=at(MONDAY, 6)),
            lambda: reschedule_booking(code, other_slot.pk, now=at(MONDAY, 6)),
        ):
            with pytest.raises(ValidationError) as caught:
                attempt()
            assert error_code(caught.value, "code") == "not_found"
        assert not Booking.objects.exists()
    with tenant_context(tenant_a):
        assert Booking.objects.get(code=code).status == "booked"


def test_tenant_as_counters_and_tickets_never_show_in_b(
    tenant_a: Tenant, tenant_b: Tenant, a_booking_and_ticket: tuple[str, int]
) -> None:
    _code, ticket_pk = a_booking_and_ticket
    with tenant_context(tenant_a):
        a_counters = set(Counter.objects.values_list("name", flat=True))
    with tenant_context(tenant_b):
        assert not Counter.objects.exists() and not Ticket.objects.exists()
        assert not any(m.name.startswith("queue.") for m in collect_metrics())
        mall_b = set_up_mall(tenant_b)
        # B's counter of the same service and name finds nothing of A's to call.
        assert set(Counter.objects.values_list("name", flat=True)) == a_counters
        assert call_next(mall_b.counter, acting_user=None, now=at(MONDAY, 9)) is None
        assert not Ticket.objects.filter(pk=ticket_pk).exists()
        # B numbers its own tickets from 1.
        assert issue_walk_in(KTP, now=at(MONDAY, 8, 30)).number == "DKP-001"
    with tenant_context(tenant_a):
        called = call_next(Counter.objects.get(name="Loket 1"), acting_user=None, now=at(MONDAY, 9))
        assert called.pk == ticket_pk and Ticket.objects.count() == 1


def test_a_tenant_b_counter_cannot_take_a_ticket_of_a_by_id(
    tenant_a: Tenant, tenant_b: Tenant, a_booking_and_ticket: tuple[str, int]
) -> None:
    from mall.queue.actions import recall

    _code, ticket_pk = a_booking_and_ticket
    with tenant_context(tenant_b):
        with pytest.raises(ValidationError) as caught:
            recall(ticket_pk, acting_user=None, now=at(MONDAY, 9) + dt.timedelta(minutes=1))
        assert error_code(caught.value, "ticket") == "not_found"


def test_a_platform_user_can_be_deleted_although_counters_name_officers(db: None) -> None:
    """Counter officers live only in tenant schemas; deleting a public user must not look there."""
    from django_tenants.utils import schema_context

    from mpp.accounts.models import User as Staff

    with schema_context("public"):
        user = Staff.objects.create_user("hapus@apex.test", "s3cret-Hapus", role="operator")
        user.delete()
        assert not Staff.objects.filter(email="hapus@apex.test").exists()
