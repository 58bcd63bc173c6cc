"""The master catalogue, curated by the platform operator (public schema).

Fields follow the Standar Pelayanan components of UU 25/2009 and PermenPANRB 15/2014:
each is stored as its own structured field, not one blob.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AgencyKind(models.TextChoices):
    SKPD = "skpd", _("SKPD (perangkat daerah)")
    BUMN = "bumn", _("BUMN")
    BUMD = "bumd", _("BUMD")
    KEMENTERIAN_LEMBAGA = "kementerian_lembaga", _("Kementerian/Lembaga")
    BANK = "bank", _("Bank")
    OTHER = "other", _("Lainnya")


class Channel(models.TextChoices):
    ONSITE = "onsite", _("Di loket MPP")
    ONLINE = "online", _("Daring")
    BOTH = "both", _("Loket dan daring")


class Agency(models.Model):
    """An agency (instansi) that serves citizens in a mall."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=AgencyKind.choices)
    website = models.URLField(blank=True)
    contact = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A theme citizens browse by (kependudukan, perizinan usaha…)."""

    code = models.SlugField(max_length=50, unique=True)
    name_id = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name_id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name_id


class StandarPelayanan(models.Model):
    """The service-delivery components every service publishes (PermenPANRB 15/2014).

    Shared by the master catalogue and each tenant's materialised copy.
    """

    name_id = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    description_id = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    # [{"document": str, "note": str}, …] in the order the citizen should prepare them.
    requirements = models.JSONField(default=list, blank=True)
    procedure = models.JSONField(default=list, blank=True)  # ordered steps (strings)
    processing_days = models.PositiveIntegerField(null=True, blank=True)  # working days
    same_day = models.BooleanField(default=False)
    fee = models.PositiveBigIntegerField(null=True, blank=True)  # whole rupiah; None = varies
    fee_note = models.CharField(max_length=300, blank=True)
    fee_legal_basis = models.CharField(max_length=300, blank=True)
    product = models.CharField(max_length=300, blank=True)
    complaint_channel = models.CharField(max_length=300, blank=True)
    legal_basis = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONSITE)
    keywords = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def component_names(cls) -> tuple[str, ...]:
        """Names of the Standar Pelayanan fields, in declaration order."""
        return tuple(f.name for f in StandarPelayanan._meta.get_fields())


class Service(StandarPelayanan):
    """A service in the master catalogue; ``key`` is stable for its whole life."""

    key = models.SlugField(max_length=80, unique=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="services")
    categories = models.ManyToManyField(Category, related_name="services", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name_id


class Release(models.Model):
    """An immutable, versioned snapshot of the whole master catalogue."""

    version = models.PositiveIntegerField(unique=True)
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.CharField(max_length=254, blank=True)
    changelog = models.TextField(blank=True)
    # {"agencies": [...], "categories": [...], "services": [...]} as in catalog/data/master.json
    snapshot = models.JSONField()

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"release {self.version}"


class ProvinceOverlay(models.Model):
    """A province's own layer between the master catalogue and its tenants.

    Its edits are merged with each master release by the same three-way rules as a tenant's,
    and published as province releases that its tenants sync to instead of the bare master.
    """

    province = models.OneToOneField(
        "tenants.Province", on_delete=models.CASCADE, related_name="catalogue_overlay"
    )
    # Whether services new upstream start enabled in this province's tenants.
    new_services_enabled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"overlay of {self.province}"


class ProvinceServiceEdit(models.Model):
    """The province layer of one service: edits of a master service, or a province-only one."""

    class Origin(models.TextChoices):
        MASTER = "master", "Katalog induk"
        PROVINCE = "province", "Layanan provinsi"

    overlay = models.ForeignKey(ProvinceOverlay, on_delete=models.CASCADE, related_name="edits")
    key = models.SlugField(max_length=80)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MASTER)
    base = models.JSONField(default=dict, blank=True)
    overrides = models.JSONField(default=dict, blank=True)
    conflicts = models.JSONField(default=dict, blank=True)
    # A province-only service's values (in snapshot row form: agency, categories, fields…).
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["overlay", "key"], name="province_edit_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.overlay.province}: {self.key}"


class ProvinceRelease(models.Model):
    """An immutable snapshot of master release + province overlay, what its tenants sync to."""

    overlay = models.ForeignKey(ProvinceOverlay, on_delete=models.PROTECT, related_name="releases")
    version = models.PositiveIntegerField()
    master_version = models.PositiveIntegerField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.CharField(max_length=254, blank=True)
    changelog = models.TextField(blank=True)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["overlay", "version"], name="province_release_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.overlay.province} overlay release {self.version}"
