"""The tenant's effective catalogue (tenant schema), read by its portal."""

from __future__ import annotations

from django.db import models

from catalog.models import Channel


class LocalService(models.Model):
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
    name_id = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    description_id = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    requirements = models.JSONField(default=list, blank=True)
    procedure = models.JSONField(default=list, blank=True)
    processing_days = models.PositiveIntegerField(null=True, blank=True)
    same_day = models.BooleanField(default=False)
    fee = models.PositiveBigIntegerField(null=True, blank=True)
    fee_note = models.CharField(max_length=300, blank=True)
    fee_legal_basis = models.CharField(max_length=300, blank=True)
    product = models.CharField(max_length=300, blank=True)
    complaint_channel = models.CharField(max_length=300, blank=True)
    legal_basis = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONSITE)
    keywords = models.JSONField(default=list, blank=True)
    release_version = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency_name", "name_id"]

    def __str__(self) -> str:
        return self.name_id
