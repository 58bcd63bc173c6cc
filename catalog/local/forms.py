"""Forms of the local admin's catalogue screens (``/staff/katalog/`` on a tenant host).

The forms turn what an officer typed (one line per item, ``dokumen | catatan``) into the
shapes the actions of ``catalog.local.actions`` take, with messages in Bahasa Indonesia
first. The actions stay the authority on what is valid: their errors are shown next to the
field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog.local.models import LocalAgency
from catalog.models import AgencyKind, Channel
from catalog.operator.forms import format_requirements, parse_requirements
from catalog.releases import SERVICE_FIELDS
from catalog.validation import TEXT_LIMITS

# Labels of every field a service page shows, in the order of the Standar Pelayanan
# components (PermenPANRB 15/2014), then where the service sits.
FIELD_LABELS: dict[str, str] = {
    "name_id": "Nama layanan (Bahasa Indonesia)",
    "name_en": "Nama layanan (English)",
    "description_id": "Uraian (Bahasa Indonesia)",
    "description_en": "Uraian (English)",
    "requirements": "Persyaratan",
    "procedure": "Sistem, mekanisme dan prosedur",
    "processing_days": "Jangka waktu (hari kerja)",
    "same_day": "Selesai di hari yang sama",
    "fee": "Biaya/tarif (rupiah)",
    "fee_note": "Keterangan biaya",
    "fee_legal_basis": "Dasar hukum biaya",
    "product": "Produk pelayanan",
    "complaint_channel": "Penanganan pengaduan",
    "legal_basis": "Dasar hukum",
    "channel": "Saluran",
    "keywords": "Kata kunci",
    "agency_code": "Kode instansi",
    "agency_name": "Instansi",
    "category_codes": "Kategori",
}
LIST_FIELDS = frozenset({"procedure", "legal_basis", "keywords", "category_codes"})
# Generous ceilings: the model's integer columns would overflow long before, with a 500.
MAX_FEE = 10**12
MAX_DAYS = 3650
# Path segments of the staff pages: a key or code spelled like one could never be opened.
RESERVED_SLUGS = frozenset({"baru"})


def _slug(value: str) -> str:
    if value != value.lower():
        raise ValidationError("Gunakan huruf kecil saja (lowercase only).")
    if value in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” tidak bisa dipakai; pilih yang lain (reserved).")
    return value


def label(field: str) -> str:
    """The Indonesian label of a service field (its name if it has none)."""
    return FIELD_LABELS.get(field, field)


class LinesField(forms.CharField):
    """A textarea holding one item per line; cleans to a list (blank lines are dropped)."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 70})

    def prepare_value(self, value: Any) -> Any:
        """Show a stored list as lines."""
        return "\n".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:  # type: ignore[override]
        """The non-blank lines, stripped (a blank line is a typing slip, not an item)."""
        text = super().clean(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


class RequirementsField(forms.CharField):
    """One requirement per line, ``dokumen | catatan``; cleans to ``[{document, note}]``."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 70})

    def prepare_value(self, value: Any) -> Any:
        """Show stored requirements as ``dokumen | catatan`` lines."""
        return format_requirements(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        """Parse the lines; a malformed line is reported by its number."""
        return parse_requirements(super().clean(value))


def _text(name: str, *, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label(name),
        max_length=TEXT_LIMITS[name],
        required=required,
        widget=forms.TextInput(attrs={"size": 60}),
        error_messages={
            "required": "Wajib diisi (required).",
            "max_length": "Paling banyak %(limit_value)d karakter (at most %(limit_value)d).",
        },
    )


def _whole_number(name: str, maximum: int, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label(name),
        required=False,
        min_value=0,
        max_value=maximum,
        help_text=help_text,
        error_messages={
            "invalid": "Tulis angka bulat tanpa titik, mis. 15000 (a whole number).",
            "min_value": "Tidak boleh negatif (must not be negative).",
            "max_value": "Terlalu besar; paling banyak %(limit_value)s (too large).",
        },
    )


def service_form_field(name: str) -> forms.Field:
    """A fresh form field for editing Standar Pelayanan field ``name``."""
    if name in {"name_id", "name_en", "fee_note", "fee_legal_basis", "product"}:
        return _text(name, required=name == "name_id")
    if name == "complaint_channel":
        return _text(name)
    if name in {"description_id", "description_en"}:
        return forms.CharField(
            label=label(name),
            required=False,
            widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        )
    if name == "requirements":
        return RequirementsField(
            label=label(name),
            required=False,
            help_text="Satu dokumen per baris: dokumen | catatan (catatan boleh kosong).",
        )
    if name in {"procedure", "legal_basis", "keywords"}:
        what = {"procedure": "langkah", "legal_basis": "peraturan", "keywords": "kata kunci"}
        return LinesField(
            label=label(name), required=False, help_text=f"Satu {what[name]} per baris."
        )
    if name == "processing_days":
        return _whole_number(
            name, MAX_DAYS, "Kosongkan bila selesai di hari yang sama atau tidak tetap."
        )
    if name == "fee":
        return _whole_number(
            name, MAX_FEE, "Rupiah utuh; 0 = gratis; kosongkan bila biaya beragam."
        )
    if name == "same_day":
        return forms.BooleanField(label=label(name), required=False)
    if name == "channel":
        return forms.ChoiceField(
            label=label(name),
            choices=Channel.choices,
            error_messages={
                "invalid_choice": "Pilih salah satu saluran yang tersedia (unknown channel)."
            },
        )
    raise KeyError(f"no form field for {name!r}")


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    """Show an action's ``{field: [messages]}`` next to the fields they name."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)


class FieldOverrideForm(forms.Form):
    """Set the local value of one field of a service (``override_field``)."""

    def __init__(self, field: str, *args: Any, **kwargs: Any) -> None:
        # Inputs keep the field's own name, and ids are unique on a page showing every field.
        kwargs.setdefault("auto_id", "id_%s")
        super().__init__(*args, **kwargs)
        self.field_name = field
        self.fields[field] = service_form_field(field)

    @property
    def value(self) -> Any:
        """The cleaned value, in the shape ``override_field`` takes."""
        return self.cleaned_data[self.field_name]


class ResolveConflictForm(forms.Form):
    """Settle a conflict: take upstream's value or keep mine."""

    choice = forms.ChoiceField(
        choices=[("upstream", "Pakai versi induk"), ("mine", "Pertahankan milik saya")],
        error_messages={"invalid_choice": "Pilih versi induk atau milik saya."},
    )


class EnabledForm(forms.Form):
    """Offer or stop offering a service in this mall (``set_enabled``)."""

    enabled = forms.TypedChoiceField(
        choices=[("1", "Aktif"), ("0", "Nonaktif")],
        coerce=lambda value: value == "1",
        error_messages={"invalid_choice": "Pilih aktif atau nonaktif."},
    )


STATUS_FILTERS: tuple[tuple[str, str], ...] = (
    ("semua", "Semua"),
    ("aktif", "Aktif"),
    ("nonaktif", "Nonaktif"),
    ("diubah", "Diubah lokal"),
    ("konflik", "Konflik"),
    ("lokal", "Layanan lokal"),
    ("pensiun", "Pensiun"),
)


class ServiceFilterForm(forms.Form):
    """Filters of the local service list; a bad value is reported and ignored."""

    q = forms.CharField(label="Cari nama", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_FILTERS)


class LocalServiceForm(forms.Form):
    """A service only this mall offers (``create_local_service``)."""

    key = forms.SlugField(
        label="Kunci layanan (key)",
        max_length=80,
        help_text="Huruf kecil, angka dan tanda hubung, mis. batam-antar-berkas; tidak bisa "
        "diubah.",
        error_messages={
            "required": "Wajib diisi (required).",
            "invalid": "Hanya huruf kecil, angka dan tanda hubung, mis. batam-antar-berkas.",
        },
        widget=forms.TextInput(attrs={"size": 40}),
    )
    agency_code = forms.ChoiceField(
        label="Instansi", error_messages={"required": "Pilih instansi (required)."}
    )
    category_codes = forms.MultipleChoiceField(
        label="Kategori", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        agencies: list[LocalAgency],
        categories: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in SERVICE_FIELDS:
            self.fields[name] = service_form_field(name)
        self.fields["agency_code"].choices = [("", "— pilih instansi —")] + [
            (a.code, a.name) for a in agencies
        ]
        self.fields["category_codes"].choices = categories

    def clean_key(self) -> str:
        return _slug(self.cleaned_data["key"])

    def service_data(self) -> dict[str, Any]:
        """The cleaned values, keyed as ``create_local_service`` expects."""
        data = {name: self.cleaned_data[name] for name in SERVICE_FIELDS}
        data["key"] = self.cleaned_data["key"]
        data["agency_code"] = self.cleaned_data["agency_code"]
        data["category_codes"] = sorted(self.cleaned_data["category_codes"])
        return data


class LocalAgencyForm(forms.Form):
    """An agency that serves in this mall only (``create_local_agency``)."""

    code = forms.SlugField(
        label="Kode instansi",
        max_length=50,
        help_text="Huruf kecil, angka dan tanda hubung, mis. upt-pelabuhan.",
        error_messages={
            "required": "Wajib diisi (required).",
            "invalid": "Hanya huruf kecil, angka dan tanda hubung, mis. upt-pelabuhan.",
        },
    )
    name = forms.CharField(
        label="Nama instansi",
        max_length=200,
        error_messages={"required": "Wajib diisi (required)."},
        widget=forms.TextInput(attrs={"size": 50}),
    )
    kind = forms.ChoiceField(
        label="Jenis",
        choices=AgencyKind.choices,
        initial=AgencyKind.SKPD,
        error_messages={"invalid_choice": "Pilih salah satu jenis yang tersedia."},
    )
    counters = forms.CharField(
        label="Loket",
        max_length=200,
        required=False,
        help_text="Mis. Loket 3–5.",
        error_messages={"max_length": "Paling banyak %(limit_value)d karakter."},
    )

    def clean_code(self) -> str:
        code = _slug(self.cleaned_data["code"])
        # Checked here for a clear message; the action's unique check still guards races.
        if LocalAgency.objects.filter(code=code).exists():
            raise ValidationError(f"Kode {code} sudah dipakai instansi lain (already used).")
        return code


class AgencyPresenceForm(forms.Form):
    """Whether an agency serves in this mall, and at which counters (``set_agency_presence``)."""

    present = forms.BooleanField(label="Hadir di MPP", required=False)
    counters = forms.CharField(
        label="Loket",
        max_length=200,
        required=False,
        error_messages={"max_length": "Paling banyak %(limit_value)d karakter (too long)."},
    )


class ApplySyncForm(forms.Form):
    """Apply the previewed sync; the hidden versions are those the preview was made for."""

    to_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    to_overlay = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
