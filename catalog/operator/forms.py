"""Forms of the operator's catalogue screens.

The forms only turn what a person typed (one line per item, ``dokumen | catatan``) into the
shapes the actions take; the actions stay the authority on what is valid, and their errors
are shown next to the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Agency, Category, Channel, Service
from catalog.releases import SERVICE_FIELDS
from catalog.validation import TEXT_LIMITS

# Shown as fieldsets, in the order of the Standar Pelayanan components (PermenPANRB 15/2014).
FIELDSETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Identitas layanan", ("key", "name_id", "name_en", "agency", "categories")),
    ("Uraian", ("description_id", "description_en")),
    ("Persyaratan", ("requirements",)),
    ("Sistem, mekanisme dan prosedur", ("procedure",)),
    ("Jangka waktu penyelesaian", ("processing_days", "same_day")),
    ("Biaya/tarif", ("fee", "fee_note", "fee_legal_basis")),
    ("Produk, pengaduan dan dasar hukum", ("product", "complaint_channel", "legal_basis")),
    ("Saluran dan kata kunci", ("channel", "keywords")),
)
LIST_FIELDS = ("procedure", "legal_basis", "keywords")
REQUIREMENT_SEPARATOR = "|"


def _lines(text: str) -> list[str]:
    """Non-blank lines of ``text``, stripped (a blank line is a typing slip, not an item)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_requirements(text: str) -> list[dict[str, str]]:
    """Parse one requirement per line, ``dokumen | catatan``; the note is optional."""
    result: list[dict[str, str]] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(REQUIREMENT_SEPARATOR)
        if len(parts) > 2:
            errors.append(
                f"Baris {number}: tanda | hanya boleh satu, pemisah dokumen dan catatan "
                f"(line {number}: only one | allowed)."
            )
            continue
        document = parts[0].strip()
        note = parts[1].strip() if len(parts) == 2 else ""
        if not document:
            errors.append(
                f"Baris {number}: nama dokumen kosong; tulis 'dokumen | catatan' "
                f"(line {number}: document name missing)."
            )
            continue
        result.append({"document": document, "note": note})
    if errors:
        raise ValidationError(errors)
    return result


def format_requirements(requirements: list[dict[str, str]]) -> str:
    """The inverse of ``parse_requirements``: one ``dokumen | catatan`` line per item."""
    lines = []
    for item in requirements:
        note = item.get("note") or ""
        lines.append(f"{item['document']} | {note}" if note else item["document"])
    return "\n".join(lines)


def service_values(service: Service) -> dict[str, Any]:
    """A master service's current values, in the shape ``ServiceForm.service_data`` returns."""
    values: dict[str, Any] = {name: getattr(service, name) for name in SERVICE_FIELDS}
    values["agency"] = service.agency.code
    values["categories"] = sorted(c.code for c in service.categories.all())
    return values


def service_initial(service: Service) -> dict[str, Any]:
    """Initial form values for editing ``service``."""
    initial = service_values(service)
    initial["requirements"] = format_requirements(initial["requirements"])
    for name in LIST_FIELDS:
        initial[name] = "\n".join(initial[name])
    return initial


def _text(label: str, limit: int | None = None, *, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=limit,
        required=required,
        widget=forms.TextInput(attrs={"size": 60}),
    )


def _area(label: str, help_text: str = "", rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 70}),
    )


class ServiceForm(forms.Form):
    """Every Standar Pelayanan field of a master service, plus agency and categories."""

    key = forms.CharField(
        label="Kunci layanan (key)",
        max_length=80,
        help_text="Huruf kecil, angka dan tanda hubung, mis. dukcapil-ktp-el; tidak bisa diubah.",
        widget=forms.TextInput(attrs={"size": 40}),
    )
    name_id = _text("Nama layanan (Bahasa Indonesia)", TEXT_LIMITS["name_id"], required=True)
    name_en = _text("Nama layanan (English)", TEXT_LIMITS["name_en"])
    agency = forms.ChoiceField(label="Instansi")
    categories = forms.MultipleChoiceField(
        label="Kategori", required=False, widget=forms.CheckboxSelectMultiple
    )
    description_id = _area("Uraian (Bahasa Indonesia)")
    description_en = _area("Uraian (English)")
    requirements = _area(
        "Persyaratan",
        "Satu dokumen per baris: dokumen | catatan (catatan boleh kosong).",
        rows=8,
    )
    procedure = _area("Prosedur", "Satu langkah per baris, berurutan.", rows=8)
    processing_days = forms.IntegerField(
        label="Jangka waktu (hari kerja)",
        required=False,
        min_value=0,
        help_text="Kosongkan bila selesai di hari yang sama atau tidak tetap.",
    )
    same_day = forms.BooleanField(label="Selesai di hari yang sama", required=False)
    fee = forms.IntegerField(
        label="Biaya (rupiah)",
        required=False,
        min_value=0,
        help_text="Rupiah utuh; 0 = gratis; kosongkan bila biaya beragam.",
    )
    fee_note = _text("Keterangan biaya", TEXT_LIMITS["fee_note"])
    fee_legal_basis = _text("Dasar hukum biaya", TEXT_LIMITS["fee_legal_basis"])
    product = _text("Produk pelayanan", TEXT_LIMITS["product"])
    complaint_channel = _text("Penanganan pengaduan", TEXT_LIMITS["complaint_channel"])
    legal_basis = _area("Dasar hukum", "Satu peraturan per baris.", rows=5)
    channel = forms.ChoiceField(label="Saluran", choices=Channel.choices)
    keywords = _area("Kata kunci", "Satu kata kunci per baris.", rows=4)

    def __init__(
        self,
        *args: Any,
        agencies: list[Agency],
        categories: list[Category],
        creating: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        if not creating:
            # A key is stable for the service's whole life: tenants sync by it.
            del self.fields["key"]
        self.fields["agency"].choices = [("", "— pilih instansi —")] + [
            (a.code, a.name) for a in agencies
        ]
        self.fields["categories"].choices = [(c.code, c.name_id) for c in categories]

    def clean_requirements(self) -> list[dict[str, str]]:
        return parse_requirements(self.cleaned_data["requirements"])

    def clean_procedure(self) -> list[str]:
        return _lines(self.cleaned_data["procedure"])

    def clean_legal_basis(self) -> list[str]:
        return _lines(self.cleaned_data["legal_basis"])

    def clean_keywords(self) -> list[str]:
        return _lines(self.cleaned_data["keywords"])

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Bound fields grouped by Standar Pelayanan component, for the template."""
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in FIELDSETS
        ]

    def service_data(self) -> dict[str, Any]:
        """The cleaned values, keyed as the catalogue actions expect (``key`` excluded)."""
        data = {name: self.cleaned_data[name] for name in SERVICE_FIELDS}
        data["agency"] = self.cleaned_data["agency"]
        data["categories"] = sorted(self.cleaned_data["categories"])
        return data

    def add_action_errors(self, error: ValidationError) -> None:
        """Show an action's ``{field: [messages]}`` next to the fields they name."""
        for name, messages in error.message_dict.items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)


FEE_FILTERS = (
    ("gratis", "Gratis (Rp 0)"),
    ("berbayar", "Berbayar"),
    ("beragam", "Biaya beragam / tidak tetap"),
)


class ServiceFilterForm(forms.Form):
    """Filters of the master service list; a bad value is reported and ignored."""

    q = forms.CharField(label="Cari nama", required=False, max_length=200)
    agency = forms.ChoiceField(label="Instansi", required=False)
    category = forms.ChoiceField(label="Kategori", required=False)
    fee = forms.ChoiceField(label="Biaya", required=False, choices=[("", "Semua"), *FEE_FILTERS])

    def __init__(
        self, *args: Any, agencies: list[Agency], categories: list[Category], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [("", "Semua instansi")] + [
            (a.code, a.name) for a in agencies
        ]
        self.fields["category"].choices = [("", "Semua kategori")] + [
            (c.code, c.name_id) for c in categories
        ]


class PublishForm(forms.Form):
    """Publish the next release; ``base`` is the latest version the preview was made from."""

    note = forms.CharField(
        label="Catatan rilis (opsional)",
        required=False,
        max_length=2000,
        help_text="Ditulis di atas daftar perubahan yang dibuat otomatis.",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
    )
    base = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ReleaseDiffForm(forms.Form):
    """Pick two releases to compare."""

    dari = forms.TypedChoiceField(label="Dari rilis", coerce=int)
    ke = forms.TypedChoiceField(label="Ke rilis", coerce=int)

    def __init__(self, *args: Any, versions: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(v, f"Rilis {v}") for v in versions]
        self.fields["dari"].choices = choices
        self.fields["ke"].choices = choices
