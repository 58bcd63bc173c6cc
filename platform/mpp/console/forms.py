"""Console forms: they parse what a person typed; the domain functions judge it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Agency
from tenants.models import Tenant, TimeZone


class OnboardForm(forms.Form):
    """One regency or city to open, with its first admin and the agencies in the mall."""

    name = forms.CharField(label="Nama daerah", max_length=100, help_text="mis. Kabupaten Bintan")
    kind = forms.ChoiceField(label="Jenis", choices=Tenant.Kind.choices)
    region_code = forms.CharField(
        label="Kode wilayah", max_length=5, help_text="Kode Kemendagri, mis. 21.01"
    )
    slug = forms.CharField(
        label="Subdomain", max_length=40, help_text="huruf kecil, angka dan tanda hubung"
    )
    time_zone = forms.ChoiceField(
        label="Zona waktu",
        choices=[("", "Sama dengan provinsi"), *TimeZone.choices],
        required=False,
    )
    admin_name = forms.CharField(label="Nama admin daerah", max_length=150, required=False)
    admin_email = forms.EmailField(label="E-mail admin daerah")
    custom_domain = forms.CharField(
        label="Domain sendiri (opsional)", max_length=253, required=False,
        help_text="mis. mpp.bintankab.go.id; arahkan DNS-nya ke platform",
    )  # fmt: skip
    agencies = forms.MultipleChoiceField(
        label="Instansi yang membuka loket",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = list(Agency.objects.order_by("name").values_list("code", "name"))
        self.fields["agencies"].choices = choices
        if not self.is_bound:
            self.initial.setdefault("agencies", [code for code, _ in choices])

    def add_action_errors(self, error: ValidationError) -> None:
        """Put a domain function's per-field errors on this form's fields."""
        aliases = {"agencies_present": "agencies", "custom_domains": "custom_domain"}
        for field, messages in error.message_dict.items():
            name = aliases.get(field, field)
            self.add_error(name if name in self.fields else None, messages)


class CsvUploadForm(forms.Form):
    """A CSV of regencies to onboard at once."""

    file = forms.FileField(label="Berkas CSV")


class ReasonForm(forms.Form):
    """Why a tenant is suspended or archived (shown on its portal when suspended)."""

    reason = forms.CharField(
        label="Alasan", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class RenameForm(forms.Form):
    """A tenant's new display name."""

    name = forms.CharField(label="Nama baru", max_length=100)


class DomainForm(forms.Form):
    """An extra host name routed to the tenant."""

    domain = forms.CharField(label="Domain", max_length=253)
