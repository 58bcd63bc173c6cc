"""NIK rules (16 digits, province, birth date) and its protection: hash, encryption, mask,
and the audited read."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError

from mall import nik as nik_rules
from mall.queue.actions import book, ensure_slots
from mall.queue.models import Booking
from mpp.audit.models import AuditEvent
from mpp.env import env_fernet_key
from tests.mall.queue.conftest import KTP, MONDAY, Mall, at, nik

TODAY = dt.date(2026, 3, 10)


def test_a_valid_nik_is_returned_as_sixteen_digits() -> None:
    assert nik_rules.validate_nik("2171 0115 0390 0001", today=TODAY) == "2171011503900001"
    assert nik_rules.validate_nik("21.71.01.150390.0001", today=TODAY) == "2171011503900001"
    born, female = nik_rules.birth_date("2171011503900001", today=TODAY)
    assert (born, female) == (dt.date(1990, 3, 15), False)


def test_a_woman_has_forty_added_to_her_birth_day() -> None:
    # 71-02-05 → 31 May 2005, female.
    assert nik_rules.validate_nik("6471037105050002", today=TODAY) == "6471037105050002"
    assert nik_rules.birth_date("6471037105050002", today=TODAY) == (dt.date(2005, 5, 31), True)


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("217101150390001", "nik_length", "16 digit (yang diisi 15"),
        ("21710115039000012", "nik_length", "yang diisi 17"),
        ("2171O1150390OOO1", "nik_digits", "hanya berisi angka"),
        ("", "nik_required", "Isi NIK"),
        ("９１７１０１１５０３９０００１", "nik_digits", "hanya berisi angka"),  # full-width digits
        ("9971011503900001", "nik_province", "digit 1–2: 99"),
        ("2071011503900001", "nik_province", "digit 1–2: 20"),
        ("2100011503900001", "nik_regency", "digit 3–4"),
        ("2171001503900001", "nik_district", "digit 5–6"),
        ("2171013102900001", "nik_birth_date", "310290"),  # 31 February
        ("2171017202900001", "nik_birth_date", "720290"),  # a woman's 32 February
        ("2171011513900001", "nik_birth_date", "151390"),  # month 13
        ("2171010104260001", "nik_future", "masa depan"),  # 1 April 2026, after TODAY
        ("2171011503900000", "nik_serial", "0000"),
    ],
)
def test_a_bad_nik_says_which_part_is_wrong(value: str, code: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        nik_rules.validate_nik(value, today=TODAY)
    assert caught.value.code == code
    assert fragment in caught.value.messages[0]


def test_a_two_digit_year_is_the_latest_century_not_in_the_future() -> None:
    # "26" on 10 March 2026: born 2026 (a baby) — but 1926 when the date would be ahead.
    assert nik_rules.birth_date("2171010103260001", today=TODAY)[0] == dt.date(2026, 3, 1)
    assert nik_rules.birth_date("2171010103270001", today=TODAY)[0] == dt.date(1927, 3, 1)


def test_protect_hashes_encrypts_and_masks() -> None:
    value = "2171011503900001"
    protected = nik_rules.protect(value)
    hashed, encrypted, masked = protected
    assert masked == "2171********0001"
    assert value not in encrypted and encrypted != value
    assert len(hashed) == 64 and value not in hashed
    # The hash is stable (lookup) while the encryption is randomised (no equality leak).
    again = nik_rules.protect(value)
    assert again.hash == hashed and again.encrypted != encrypted
    assert nik_rules.protect("2171011503900002").hash != hashed


def test_reveal_decrypts_and_writes_an_audit_row(mall_a: Mall) -> None:
    slot = ensure_slots(KTP, MONDAY, now=at(MONDAY, 7))[0]
    booking = book(KTP, slot.pk, name="Siti", nik=nik(7), phone="081234567890", now=at(MONDAY, 7))
    assert nik(7) not in booking.nik_encrypted
    reader = mall_a.officer
    assert not AuditEvent.objects.filter(action="nik.read").exists()
    assert nik_rules.reveal(booking, acting_user=reader) == nik(7)
    event = AuditEvent.objects.get(action="nik.read")
    assert event.actor_email == reader.email and event.target_id == str(booking.pk)
    assert nik(7) not in str(event.after) and event.after == {"nik_masked": booking.nik_masked}


def test_a_nik_encrypted_under_another_key_is_not_guessed(mall_a: Mall, settings: object) -> None:
    slot = ensure_slots(KTP, MONDAY, now=at(MONDAY, 7))[0]
    booking = book(KTP, slot.pk, name="Siti", nik=nik(8), email="s@x.id", now=at(MONDAY, 7))
    settings.NIK_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="tidak dapat dibuka"):
        nik_rules.reveal(booking, acting_user=None)
    assert not AuditEvent.objects.filter(action="nik.read").exists()


def test_the_nik_key_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("X_NIK_KEY", key)
    assert env_fernet_key("X_NIK_KEY", derive_from=None) == key
    for bad in ["short", "x" * 44, key[:-2]]:
        monkeypatch.setenv("X_NIK_KEY", bad)
        with pytest.raises(ImproperlyConfigured, match="X_NIK_KEY must be a Fernet key"):
            env_fernet_key("X_NIK_KEY", derive_from="secret")
    monkeypatch.delenv("X_NIK_KEY")
    with pytest.raises(ImproperlyConfigured, match="X_NIK_KEY must be set in production"):
        env_fernet_key("X_NIK_KEY", derive_from=None)
    derived = env_fernet_key("X_NIK_KEY", derive_from="dev-secret")
    Fernet(derived.encode())  # a usable key …
    assert derived == env_fernet_key("X_NIK_KEY", derive_from="dev-secret")  # … and stable
    assert derived != env_fernet_key("X_NIK_KEY", derive_from="other-secret")


def test_booking_audit_never_holds_the_nik(mall_a: Mall) -> None:
    slot = ensure_slots(KTP, MONDAY, now=at(MONDAY, 7))[0]
    booking = book(KTP, slot.pk, name="Budi", nik=nik(9), phone="0812345678", now=at(MONDAY, 7))
    event = AuditEvent.objects.get(action="queue.booked")
    assert nik(9) not in str(event.after) and event.after["nik_masked"] == "2171********0009"
    stored = Booking.objects.filter(pk=booking.pk).values()[0]
    assert not any(nik(9) in str(value) for value in stored.values())
