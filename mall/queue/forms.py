"""Forms of the queue's citizen pages (booking, code look-up) and of the kiosk.

They only gather what was typed: every rule (NIK, contact, slot, quota…) is checked by the
actions in ``mall.queue.actions``, whose per-field errors the forms then show in place. So a
form field is never ``required`` here — the action says what is missing, in the same words
as the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Long enough for any code written with spaces or dashes, short enough to bound the input.
CODE_INPUT_MAX = 20

PRIORITY_CHOICES = (
    ("", _("Tidak")),
    ("lansia", _("Lansia (60 tahun ke atas)")),
    ("disabilitas", _("Penyandang disabilitas")),
    ("hamil", _("Ibu hamil")),
)


class UnechoedInput(forms.TextInput):
    """A text input that never writes its value back into the page.

    The NIK is personal data: a page answering a refused form does not repeat it (the page
    could be cached by a shared device's browser, printed or screenshotted).
    """

    def format_value(self, value: Any) -> None:
        """Nothing: the field is always shown empty."""
        return None


class ActionErrorsMixin:
    """Shows an action's ValidationError on the form's fields (others on the whole form)."""

    # Action field → form field, where the names differ.
    field_map: dict[str, str] = {}

    def add_action_errors(self, error: ValidationError) -> None:
        """Put each of the action's per-field messages next to the matching field."""
        form: forms.Form = self  # type: ignore[assignment]
        for field, messages in error.message_dict.items():
            target = self.field_map.get(field, field)
            form.add_error(target if target in form.fields else None, messages)


class BookingForm(ActionErrorsMixin, forms.Form):
    """A citizen's details for an online booking; the slot is a radio list drawn by the page."""

    slot = forms.CharField(required=False, max_length=20)
    name = forms.CharField(
        label=_("Nama lengkap"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 100}),
    )
    nik = forms.CharField(
        label=_("NIK"),
        required=False,
        max_length=40,
        help_text=_("16 digit angka, seperti di KTP atau KK."),
        widget=UnechoedInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 24}
        ),
    )
    phone = forms.CharField(
        label=_("Nomor telepon/WhatsApp"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "maxlength": 20}),
    )
    email = forms.CharField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "email", "autocomplete": "email"}),
    )
    contact_help = _(
        "Isi nomor telepon atau e-mail (boleh keduanya): "
        "bukti booking dan pengingat dikirim ke sana."
    )


class SlotForm(ActionErrorsMixin, forms.Form):
    """The new slot of a booking being moved."""

    slot = forms.CharField(required=False, max_length=20)


class CodeForm(ActionErrorsMixin, forms.Form):
    """A booking code, typed by hand or by a QR scanner (which types what it reads)."""

    code = forms.CharField(
        label=_("Kode booking"),
        required=False,
        max_length=CODE_INPUT_MAX,
        help_text=_("8 huruf dan angka, misalnya ABCD-2345."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "maxlength": CODE_INPUT_MAX,
            }
        ),
    )


class PriorityForm(forms.Form):
    """The optional priority group (elderly, disabled, pregnant) of a kiosk ticket."""

    priority = forms.ChoiceField(
        label=_("Prioritas"),
        choices=PRIORITY_CHOICES,
        required=False,
        widget=forms.RadioSelect,
    )

    def is_priority(self) -> bool:
        """Whether a priority group was chosen (only after ``is_valid()``)."""
        return bool(self.cleaned_data.get("priority"))


class KioskCheckInForm(CodeForm, PriorityForm):
    """Check-in of a booking at the kiosk, optionally in the priority lane."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The walk-in form on the same screen has a priority field too: distinct ids.
        kwargs.setdefault("auto_id", "checkin_%s")
        super().__init__(*args, **kwargs)


class KioskWalkInForm(ActionErrorsMixin, PriorityForm):
    """A walk-in ticket: the service (one big button each) and an optional priority group."""

    service_key = forms.CharField(required=False, max_length=80)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "walkin_%s")
        super().__init__(*args, **kwargs)
