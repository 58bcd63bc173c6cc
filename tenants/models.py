"""Control-plane models, all in the public schema."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_slug


class TimeZone(models.TextChoices):
    """Indonesia's three time zones, stored as IANA names."""

    WIB = "Asia/Jakarta", "WIB (Asia/Jakarta, UTC+7)"
    WITA = "Asia/Makassar", "WITA (Asia/Makassar, UTC+8)"
    WIT = "Asia/Jayapura", "WIT (Asia/Jayapura, UTC+9)"


province_code_validator = RegexValidator(r"^\d{2}$", "A province code is two digits (e.g. 21).")


class Province(models.Model):
    """A province (provinsi): the customer that onboards its regencies and cities."""

    code = models.CharField(
        _("kode wilayah"),
        max_length=2,
        unique=True,
        validators=[province_code_validator],
        help_text="Kemendagri/BPS region code, e.g. 21 for Kepulauan Riau.",
    )
    name = models.CharField(_("nama"), max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    time_zone = models.CharField(max_length=32, choices=TimeZone.choices, default=TimeZone.WIB)
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="administered_provinces", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tenant(TenantMixin):
    """One regency (kabupaten) or city (kota) and its MPP portal; owns one schema."""

    class Kind(models.TextChoices):
        KABUPATEN = "kabupaten", _("Kabupaten")
        KOTA = "kota", _("Kota")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Aktif")
        SUSPENDED = "suspended", _("Ditangguhkan")
        ARCHIVED = "archived", _("Diarsipkan")

    # Schemas are made by tenants.provisioning (template clone), never as a save() side effect,
    # and never dropped implicitly: archiving keeps the data.
    auto_create_schema = False
    auto_drop_schema = False

    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="tenants")
    name = models.CharField(_("nama"), max_length=100)
    slug = models.CharField(max_length=40, unique=True, validators=[validate_slug])
    kind = models.CharField(max_length=10, choices=Kind.choices)
    region_code = models.CharField(
        _("kode wilayah"),
        max_length=5,
        unique=True,
        validators=[
            RegexValidator(r"^\d{2}\.\d{2}$", "A regency/city code looks like 21.71 (Kota Batam).")
        ],
    )
    time_zone = models.CharField(max_length=32, choices=TimeZone.choices, default=TimeZone.WIB)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    admin_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "archived"]),
                name="tenant_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def host(self) -> str:
        """The tenant's own subdomain of the platform domain."""
        return f"{self.slug}.{settings.PLATFORM_DOMAIN}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """An extra (custom) host name routed to a tenant, e.g. mpp.batam.go.id.

    Every tenant is also reachable on ``<slug>.<PLATFORM_DOMAIN>``; that host is derived
    from the slug and not stored, so changing the platform domain needs no data migration.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
