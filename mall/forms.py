"""Forms of the citizen portal (search) and of the tenant admin's profile page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mall.actions import clean_accent_color, logo_kind
from mall.hours import WEEKDAY_KEYS, WEEKDAYS, week_hours
from mall.models import MallProfile


class SearchForm(forms.Form):
    """The one search box (GET, so results are shareable links and need no script)."""

    q = forms.CharField(
        label=_("Cari layanan"),
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("misalnya: akta kelahiran, SKCK, paspor")}
        ),
    )


def _time_field(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=["%H:%M", "%H.%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


class MallProfileForm(forms.Form):
    """Edits the mall profile; hours are two time fields per weekday (both empty = closed)."""

    display_name = forms.CharField(
        label=_("Nama mal"),
        max_length=150,
        required=False,
        help_text=_("Kosongkan untuk memakai nama daerah."),
    )
    address = forms.CharField(
        label=_("Alamat"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    phone = forms.CharField(label=_("Telepon"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    accent_color = forms.CharField(
        label=_("Warna aksen"),
        max_length=7,
        required=False,
        help_text=_(
            "Format #rrggbb, cukup gelap untuk teks di atas putih. Kosongkan untuk warna bawaan."
        ),
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG atau JPEG, paling besar 200 KB."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label=_("Hapus logo"), required=False)

    def __init__(self, *args: Any, profile: MallProfile | None = None, **kwargs: Any) -> None:
        if profile is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(profile)
        super().__init__(*args, **kwargs)
        for key, name in zip(WEEKDAY_KEYS, WEEKDAYS, strict=True):
            self.fields[f"{key}_open"] = _time_field(_("%(day)s buka") % {"day": name})
            self.fields[f"{key}_close"] = _time_field(_("%(day)s tutup") % {"day": name})

    @staticmethod
    def initial_for(profile: MallProfile) -> dict[str, Any]:
        """The form's starting values from a stored profile."""
        initial: dict[str, Any] = {
            field: getattr(profile, field)
            for field in ("display_name", "address", "phone", "email", "accent_color")
        }
        for key, day in zip(WEEKDAY_KEYS, week_hours(profile.opening_hours), strict=True):
            if day is not None:
                initial[f"{key}_open"], initial[f"{key}_close"] = day
        return initial

    def day_rows(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        """(day name, opening field, closing field) for the template's hours table."""
        return [
            (name, self[f"{key}_open"], self[f"{key}_close"])
            for key, name in zip(WEEKDAY_KEYS, WEEKDAYS, strict=True)
        ]

    def clean_accent_color(self) -> str:
        return clean_accent_color(self.cleaned_data.get("accent_color"))

    def clean_logo(self) -> Any:
        upload = self.cleaned_data.get("logo")
        if upload:
            logo_kind(upload)
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for key in WEEKDAY_KEYS:
            opens, closes = cleaned.get(f"{key}_open"), cleaned.get(f"{key}_close")
            if f"{key}_open" in self.errors or f"{key}_close" in self.errors:
                continue
            if (opens is None) != (closes is None):
                missing = f"{key}_close" if closes is None else f"{key}_open"
                self.add_error(
                    missing, _("Isi jam buka dan jam tutup, atau kosongkan keduanya (tutup).")
                )
            elif opens is not None and closes is not None and closes <= opens:
                self.add_error(f"{key}_close", _("Jam tutup harus setelah jam buka."))
        return cleaned

    def changes(self) -> dict[str, Any]:
        """What to hand to ``update_mall_profile`` (only after ``is_valid()``)."""
        data = self.cleaned_data
        changes: dict[str, Any] = {
            field: data.get(field, "")
            for field in ("display_name", "address", "phone", "email", "accent_color")
        }
        week = []
        for key in WEEKDAY_KEYS:
            opens, closes = data.get(f"{key}_open"), data.get(f"{key}_close")
            week.append(
                None if opens is None else [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
            )
        # A week with no open day at all means "not published", not "closed every day".
        changes["opening_hours"] = week if any(week) else []
        if data.get("logo"):
            changes["logo"] = data["logo"]
        elif data.get("remove_logo"):
            changes["logo"] = None
        return changes

    def add_action_errors(self, error: ValidationError) -> None:
        """Show an action's per-field errors on this form's fields."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class ClosureForm(forms.Form):
    """Adds one holiday or special closure; the action checks the date and the reason."""

    # Not required here: the action says what is missing, in the same words as the API.
    date = forms.CharField(
        label=_("Tanggal"),
        max_length=20,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    name = forms.CharField(
        label=_("Keterangan"),
        max_length=200,
        required=False,
        help_text=_("Misalnya: Hari Raya Natal, cuti bersama, pemadaman listrik."),
    )

    def add_action_errors(self, error: ValidationError) -> None:
        """Show an action's per-field errors on this form's fields."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
