"""The tenant's effective catalogue (tenant schema), materialised for its portal.

Master services carry their merge state (``base``, ``overrides``, ``conflicts``; see
``catalog.merge``) next to the effective values the portal reads, so a page never
recomputes the merge and a sync never needs the history of releases.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.functions import Cast

from catalog.models import AgencyKind, StandarPelayanan


class LocalService(StandarPelayanan):
    """One service as this tenant's portal shows it (master copy or local-only)."""

    class Origin(models.TextChoices):
        MASTER = "master", "Katalog induk"
        LOCAL = "local", "Layanan lokal"

    key = models.SlugField(max_length=80, unique=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MASTER)
    enabled = models.BooleanField(default=True)
    # Removed upstream: hidden from citizens but kept, with any local edits, never deleted.
    retired = models.BooleanField(default=False)
    # Agency and categories are copied by value: a tenant table never points into public.
    agency_code = models.SlugField(max_length=50)
    agency_name = models.CharField(max_length=200)
    category_codes = models.JSONField(default=list, blank=True)
    # Merge state of a master service (empty for local-only services).
    base = models.JSONField(default=dict, blank=True)
    overrides = models.JSONField(default=dict, blank=True)
    conflicts = models.JSONField(default=dict, blank=True)
    release_version = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Indonesian full-text vector over what citizens search by, kept by PostgreSQL itself.
    # Labels, not fixed weights: A name, B keywords, C English name and agency, D description
    # (mall.search weighs them per query). Accents are folded by public.mpp_unaccent, the
    # IMMUTABLE wrapper of unaccent (catalog migration 0005).
    search_vector = models.GeneratedField(
        expression=(
            SearchVector(
                models.Func(
                    "name_id", function="public.mpp_unaccent", output_field=models.TextField()
                ),
                weight="A",
                config="indonesian",
            )
            + SearchVector(
                models.Func(
                    Cast("keywords", models.TextField()),
                    function="public.mpp_unaccent",
                    output_field=models.TextField(),
                ),
                weight="B",
                config="indonesian",
            )
            + SearchVector(
                models.Func(
                    "name_en", function="public.mpp_unaccent", output_field=models.TextField()
                ),
                models.Func(
                    "agency_name", function="public.mpp_unaccent", output_field=models.TextField()
                ),
                weight="C",
                config="indonesian",
            )
            + SearchVector(
                models.Func(
                    "description_id",
                    function="public.mpp_unaccent",
                    output_field=models.TextField(),
                ),
                weight="D",
                config="indonesian",
            )
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["agency_name", "name_id"]
        indexes = [
            models.Index(fields=["enabled", "retired"]),
            GinIndex(fields=["search_vector"], name="localservice_search_gin"),
            # Typo-tolerant matching (pg_trgm) over name and keywords; mall.search queries
            # this very expression, so the planner can use the index.
            GinIndex(
                OpClass(
                    models.Func(
                        "name_id",
                        "keywords",
                        function="public.mpp_search_text",
                        output_field=models.TextField(),
                    ),
                    name="gin_trgm_ops",
                ),
                name="localservice_search_trgm",
            ),
        ]

    def __str__(self) -> str:
        return self.name_id

    @property
    def is_visible(self) -> bool:
        """Shown to citizens: enabled and still offered upstream."""
        return self.enabled and not self.retired


class LocalAgency(models.Model):
    """An agency as this mall has it: present or not, and at which counters (loket)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=AgencyKind.choices, default=AgencyKind.OTHER)
    origin = models.CharField(
        max_length=10, choices=LocalService.Origin.choices, default=LocalService.Origin.MASTER
    )
    present = models.BooleanField(default=True)
    counters = models.CharField("loket", max_length=200, blank=True, help_text="e.g. “Loket 3–5”")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "local agencies"

    def __str__(self) -> str:
        return self.name


class SyncState(models.Model):
    """Which upstream the tenant's catalogue was last synced to (a single row)."""

    master_version = models.PositiveIntegerField(null=True, blank=True)
    overlay_version = models.PositiveIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"master {self.master_version}, overlay {self.overlay_version}"
