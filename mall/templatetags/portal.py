"""How the citizen portal writes money, durations, hours and bilingual catalogue text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


def is_english() -> bool:
    """Whether the page is being rendered in English."""
    return (translation.get_language() or "id").startswith("en")


@register.filter
def rupiah(amount: int | None) -> str:
    """``120000`` → ``Rp 120.000`` (Indonesian grouping with dots, in both languages)."""
    if amount is None:
        return ""
    return "Rp " + f"{int(amount):,}".replace(",", ".")


@register.filter
def fee_text(service: Any) -> str:
    """The fee as a citizen reads it: Gratis for Rp 0, the amount, or "varies"."""
    if service.fee is None:
        return _("Biaya bervariasi")
    if service.fee == 0:
        return _("Gratis")
    return rupiah(service.fee)


@register.filter
def duration(service: Any) -> str:
    """Processing time: same day, N working days, or not stated."""
    if service.same_day:
        return _("Selesai hari itu juga")
    if service.processing_days:
        n = service.processing_days
        return ngettext("%(n)d hari kerja", "%(n)d hari kerja", n) % {"n": n}
    return _("Jangka waktu tidak dicantumkan")


@register.filter
def tr(obj: Any, field: str) -> str:
    """``obj.<field>_en`` when the page is in English and it is filled, else ``<field>_id``."""
    if is_english():
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_id", "")


@register.filter
def hhmm(value: dt.time | None) -> str:
    """A clock time as each language writes it: 08.00 in Indonesian, 08:00 in English."""
    if value is None:
        return ""
    return value.strftime("%H:%M" if is_english() else "%H.%M")
