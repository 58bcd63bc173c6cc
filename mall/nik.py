"""The NIK (Nomor Induk Kependudukan, the 16-digit national ID): checking, protecting, reading.

A NIK is personal data (UU 27/2022 PDP): it is stored encrypted (Fernet, key
``NIK_ENCRYPTION_KEY``), found again by a keyed hash (HMAC-SHA256, so a database dump does
not let anyone test guesses without the key), shown masked, and every decryption writes an
audit row naming who read it.

Layout of a NIK: digits 1–2 the province, 3–4 the regency/city, 5–6 the district (kode
wilayah of Kemendagri), 7–12 the birth date as DDMMYY with 40 added to the day for women,
13–16 a serial number.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from typing import Any, NamedTuple

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mpp.audit.actions import record_event

NIK_LENGTH = 16
# Kemendagri province codes: Sumatra 11–19, Kepulauan Riau 21, Java 31–36, Bali and Nusa
# Tenggara 51–53, Kalimantan 61–65, Sulawesi 71–76, Maluku 81–82, Papua 91–96 (93–96 are
# the provinces formed in 2022, whose new residents receive NIKs with those codes).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)
FEMALE_DAY_OFFSET = 40


def _today() -> dt.date:
    from mall.actions import local_today

    return local_today()


def birth_date(nik: str, *, today: dt.date | None = None) -> tuple[dt.date, bool]:
    """The birth date and whether the holder is female, read from a 16-digit NIK.

    The two-digit year is taken in the most recent century that does not put it in the
    future. Raises ValidationError when digits 7–12 are not a real date.
    """
    today = today or _today()
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > FEMALE_DAY_OFFSET
    if female:
        day -= FEMALE_DAY_OFFSET
    century = today.year // 100 * 100
    full_year = century + year if century + year <= today.year else century - 100 + year
    try:
        return dt.date(full_year, month, day), female
    except ValueError:
        raise ValidationError(
            _(
                "Tanggal lahir pada NIK (digit 7–12: %(ddmmyy)s) bukan tanggal yang ada; "
                "untuk perempuan tanggalnya ditambah 40."
            )
            % {"ddmmyy": nik[6:12]},
            code="nik_birth_date",
        ) from None


def validate_nik(value: Any, *, today: dt.date | None = None) -> str:
    """Return the NIK as 16 digits (spaces, dots and dashes dropped) or raise ValidationError.

    The message says which part is wrong: length, non-digits, province code, regency or
    district code, birth date (impossible or in the future) or serial.
    """
    raw = "" if value is None else str(value)
    nik = "".join(ch for ch in raw if ch not in " .-\t")
    if not nik:
        raise ValidationError(_("Isi NIK (16 digit angka)."), code="nik_required")
    if not nik.isascii() or not nik.isdigit():
        raise ValidationError(_("NIK hanya berisi angka 0–9."), code="nik_digits")
    if len(nik) != NIK_LENGTH:
        raise ValidationError(
            _("NIK harus 16 digit (yang diisi %(n)d digit).") % {"n": len(nik)},
            code="nik_length",
        )
    if int(nik[:2]) not in PROVINCE_CODES:
        raise ValidationError(
            _("Kode provinsi pada NIK (digit 1–2: %(code)s) tidak dikenal.") % {"code": nik[:2]},
            code="nik_province",
        )
    if nik[2:4] == "00":
        raise ValidationError(
            _("Kode kabupaten/kota pada NIK (digit 3–4) tidak boleh 00."), code="nik_regency"
        )
    if nik[4:6] == "00":
        raise ValidationError(
            _("Kode kecamatan pada NIK (digit 5–6) tidak boleh 00."), code="nik_district"
        )
    today = today or _today()
    born, _female = birth_date(nik, today=today)
    if born > today:
        raise ValidationError(
            _("Tanggal lahir pada NIK (digit 7–12) ada di masa depan."), code="nik_future"
        )
    if nik[12:] == "0000":
        raise ValidationError(
            _("Nomor urut pada NIK (digit 13–16) tidak boleh 0000."), code="nik_serial"
        )
    return nik


class ProtectedNik(NamedTuple):
    """What is stored instead of a NIK: lookup hash, encrypted value, masked display form."""

    hash: str
    encrypted: str
    masked: str


@functools.cache
def _keys(key: str) -> tuple[Fernet, bytes]:
    # The lookup hash gets its own key derived from the Fernet key, so the two uses of the
    # secret never share key material.
    lookup = hmac.new(key.encode(), b"satuatap nik lookup v1", hashlib.sha256).digest()
    return Fernet(key.encode()), lookup


def _fernet() -> Fernet:
    return _keys(settings.NIK_ENCRYPTION_KEY)[0]


def nik_hash(nik: str) -> str:
    """The keyed hash (HMAC-SHA256, hex) by which a NIK is looked up and kept unique."""
    lookup = _keys(settings.NIK_ENCRYPTION_KEY)[1]
    return hmac.new(lookup, nik.encode(), hashlib.sha256).hexdigest()


def mask(nik: str) -> str:
    """``2171********0001``: region and serial visible, the birth date hidden."""
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def protect(nik: str) -> ProtectedNik:
    """Hash, encrypt and mask a validated NIK for storage."""
    return ProtectedNik(nik_hash(nik), _fernet().encrypt(nik.encode()).decode(), mask(nik))


def reveal(holder: Any, *, acting_user: Any | None) -> str:
    """Decrypt ``holder.nik_encrypted`` (e.g. a booking) and audit the read as ``nik.read``."""
    try:
        nik = _fernet().decrypt(holder.nik_encrypted.encode()).decode()
    except InvalidToken:
        # Encrypted under another key (NIK_ENCRYPTION_KEY changed): say so, never guess.
        raise ValidationError(
            _("NIK tersimpan tidak dapat dibuka dengan kunci yang berlaku."), code="nik_key"
        ) from None
    record_event(
        "nik.read",
        acting_user=acting_user,
        target=holder,
        after={"nik_masked": getattr(holder, "nik_masked", mask(nik))},
    )
    return nik
