"""The tenant's effective catalogue (tenant schema), read by its portal."""

from __future__ import annotations

from django.db import models

from catalog.models import StandarPelayanan


class LocalService(StandarPelayanan):
    """One service as this tenant's portal shows it (master copy or local-only)."""

    class Origin(models.TextChoices):
        MASTER = "master", "Master"
        LOCAL = "local", "Lokal"

    key = models.SlugField(max_length=80, unique=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MASTER)
    enabled = models.BooleanField(default=True)
    # Agency and categories are copied by value: a tenant table never points into public.
    agency_code = models.SlugField(max_length=50)
    agency_name = models.CharField(max_length=200)
    category_codes = models.JSONField(default=list, blank=True)
    release_version = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency_name", "name_id"]

    def __str__(self) -> str:
        return self.name_id
