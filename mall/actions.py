"""What a tenant admin changes about their mall. Run inside the tenant's schema.

Each action is atomic, writes the tenant's audit log with the values before and after, and
raises ``ValidationError`` with per-field messages for bad input (nothing is stored then).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mall.hours import clean_opening_hours
from mall.models import Closure, MallProfile
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

PROFILE_FIELDS = (
    "display_name",
    "address",
    "phone",
    "email",
    "opening_hours",
    "accent_color",
    "logo",
)
LOGO_MAX_BYTES = 200 * 1024
# Raster formats only, told apart by their first bytes, never by the name or the browser's
# word: an SVG can carry script, so it is refused like any other type.
LOGO_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
LOGO_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg"}

_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_PHONE = re.compile(r"^[0-9+()\- ]{5,40}$")
_MAX_LENGTHS = {"display_name": 150, "address": 500}
# Links are drawn in the accent colour on white: WCAG AA asks 4.5:1 for body text.
MIN_ACCENT_CONTRAST = 4.5


def get_mall_profile() -> MallProfile:
    """This schema's profile, or an unsaved empty one (reading never writes)."""
    return MallProfile.objects.filter(singleton=True).first() or MallProfile()


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of ``#rrggbb`` against white."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def clean_accent_color(value: Any) -> str:
    """``#RRGGBB`` (any case) → lower case; empty keeps the platform's colour."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if not _COLOUR.match(text):
        raise ValidationError(_("Tulis warna sebagai #rrggbb, misalnya #0b5fa5."), code="invalid")
    if contrast_with_white(text) < MIN_ACCENT_CONTRAST:
        raise ValidationError(
            _("Warna terlalu terang untuk teks di atas putih (kontras minimal 4,5:1)."),
            code="contrast",
        )
    return text


def logo_kind(upload: Any) -> str:
    """``png`` or ``jpg`` for an acceptable logo upload; ValidationError otherwise."""
    size = getattr(upload, "size", None)
    if size is None or size > LOGO_MAX_BYTES:
        raise ValidationError(_("Logo paling besar 200 KB."), code="size")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    for signature, kind in LOGO_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise ValidationError(_("Logo harus berupa gambar PNG atau JPEG."), code="type")


def _clean_text(field: str, value: Any) -> str:
    text = str(value or "").strip()
    limit = _MAX_LENGTHS.get(field)
    if limit and len(text) > limit:
        raise ValidationError(
            _("Paling banyak %(limit)d karakter.") % {"limit": limit}, code="max_length"
        )
    return text


def clean_profile_field(field: str, value: Any) -> Any:
    """Validate one profile field; the logo is checked (not stored) here."""
    if field in ("display_name", "address"):
        return _clean_text(field, value)
    if field == "phone":
        text = str(value or "").strip()
        if text and not _PHONE.match(text):
            raise ValidationError(
                _("Nomor telepon hanya berisi angka, spasi, +, - dan tanda kurung.")
            )
        return text
    if field == "email":
        text = str(value or "").strip().lower()
        if text:
            validate_email(text)
        return text
    if field == "opening_hours":
        return clean_opening_hours(value)
    if field == "accent_color":
        return clean_accent_color(value)
    if field == "logo":
        if value is not None:
            logo_kind(value)
        return value
    raise ValidationError(_("Kolom ini tidak dikenal."), code="unknown")


def _store_logo(upload: Any) -> str:
    """Save the logo under ``<schema>/`` with a content-hash name; return its stored name."""
    kind = logo_kind(upload)
    upload.seek(0)
    data = upload.read()
    name = f"{connection.schema_name}/logo-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
    storage = MallProfile._meta.get_field("logo").storage
    if not storage.exists(name):  # same bytes, same name: nothing to write
        storage.save(name, ContentFile(data))
    return name


def update_mall_profile(changes: Mapping[str, Any], *, acting_user: Any | None) -> MallProfile:
    """Change the mall's profile; ``changes["logo"]`` is an upload to set or None to remove.

    Fields absent from ``changes`` keep their values.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, value in changes.items():
        if field not in PROFILE_FIELDS:
            errors[field] = [_("Kolom ini tidak dikenal.")]
            continue
        try:
            cleaned[field] = clean_profile_field(field, value)
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)

    storage = MallProfile._meta.get_field("logo").storage
    with transaction.atomic():
        schedule_refresh()
        profile = MallProfile.objects.select_for_update().filter(singleton=True).first()
        if profile is None:
            profile = MallProfile()
        old_logo = profile.logo.name or ""
        if "logo" in cleaned:
            upload = cleaned.pop("logo")
            cleaned["logo"] = _store_logo(upload) if upload is not None else ""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for field, value in cleaned.items():
            current = (profile.logo.name or "") if field == "logo" else getattr(profile, field)
            if current != value:
                before[field], after[field] = current, value
                setattr(profile, field, value)
        if not after:
            return profile
        profile.save()
        record_event(
            "mall.profile_updated",
            acting_user=acting_user,
            target=profile,
            before=before,
            after=after,
        )
        new_logo = profile.logo.name or ""
        if old_logo and old_logo != new_logo:
            # Only once the new name is committed: a rollback must leave the old file usable.
            transaction.on_commit(lambda: storage.delete(old_logo))
    return profile


# --- Holidays and special closures --------------------------------------------------------

CLOSURE_NAME_MAX = 120
CLOSURE_HORIZON_DAYS = 2 * 366  # a calendar is planned a year or two ahead, not further


def local_today() -> dt.date:
    """Today's date on the current tenant's wall clock."""
    zone = getattr(getattr(connection, "tenant", None), "time_zone", "") or "Asia/Jakarta"
    return timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()


def parse_closure_date(value: Any) -> dt.date:
    """A date or ``"YYYY-MM-DD"`` → date; anything else raises ValidationError."""
    if isinstance(value, dt.datetime):
        raise ValidationError(_("Tulis tanggal saja, tanpa jam."), code="invalid")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(
            _("Tulis tanggal sebagai TTTT-BB-HH, misalnya 2026-12-25."), code="invalid"
        ) from None


def add_closure(date: Any, name: Any, *, acting_user: Any | None) -> Closure:
    """Close the mall on ``date`` (a holiday or special closure), saying why."""
    errors: dict[str, list[str]] = {}
    try:
        day = parse_closure_date(date)
    except ValidationError as exc:
        errors["date"] = exc.messages
    else:
        today = local_today()
        if day < today:
            errors["date"] = [_("Tanggal ini sudah lewat.")]
        elif day > today + dt.timedelta(days=CLOSURE_HORIZON_DAYS):
            errors["date"] = [_("Paling jauh dua tahun ke depan.")]
    reason = " ".join(str(name or "").split())
    if not reason:
        errors["name"] = [_("Isi keterangan, misalnya Hari Raya Natal.")]
    elif len(reason) > CLOSURE_NAME_MAX:
        errors["name"] = [
            _("Paling banyak %(max)d karakter (sekarang %(n)d).")
            % {"max": CLOSURE_NAME_MAX, "n": len(reason)}
        ]
    if errors:
        raise ValidationError(errors)
    existing = Closure.objects.filter(date=day).first()
    if existing is not None:
        raise ValidationError(
            {"date": [_("Tanggal ini sudah tercatat: %(name)s.") % {"name": existing.name}]}
        )
    try:
        with transaction.atomic():
            schedule_refresh()
            closure = Closure.objects.create(date=day, name=reason)
            record_event(
                "mall.closure_added",
                acting_user=acting_user,
                target=closure,
                after={"date": day.isoformat(), "name": reason},
            )
    except IntegrityError:  # added by someone else in the meantime
        raise ValidationError({"date": [_("Tanggal ini sudah tercatat.")]}) from None
    return closure


def remove_closure(date: Any, *, acting_user: Any | None) -> None:
    """Open the mall again on ``date`` as its weekly hours say."""
    try:
        day = parse_closure_date(date)
    except ValidationError as exc:
        raise ValidationError({"date": exc.messages}) from None
    with transaction.atomic():
        schedule_refresh()
        closure = Closure.objects.select_for_update().filter(date=day).first()
        if closure is None:
            raise ValidationError({"date": [_("Tidak ada penutupan pada tanggal ini.")]})
        record_event(
            "mall.closure_removed",
            acting_user=acting_user,
            target=closure,
            before={"date": day.isoformat(), "name": closure.name},
        )
        closure.delete()


def closures_between(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The closures from ``first`` to ``last`` (inclusive), by date."""
    return dict(Closure.objects.filter(date__gte=first, date__lte=last).values_list("date", "name"))
