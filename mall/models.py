"""A tenant's own mall data (tenant schema): its profile and branding."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _


class TenantMediaStorage(FileSystemStorage):
    """Uploaded files under ``MEDIA_ROOT`` (or ``<MPP_DATA_DIR>/media`` when it is unset).

    Names always start with the tenant's schema (see ``mall.actions``), so one tenant's files
    never share a folder with another's; the root is read on each use so tests can move it.
    """

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(settings.MEDIA_ROOT or Path(settings.MPP_DATA_DIR) / "media")

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def tenant_media_storage() -> TenantMediaStorage:
    """The storage of tenant uploads (a callable, so migrations do not freeze a path)."""
    return TenantMediaStorage()


class MallProfile(models.Model):
    """The mall's public face: name, address, contact, opening hours and branding.

    One row per tenant schema (``singleton`` is unique and always true). Changed only through
    ``mall.actions.update_mall_profile``.
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    display_name = models.CharField(_("nama mal"), max_length=150, blank=True)
    address = models.TextField(_("alamat"), max_length=500, blank=True)
    phone = models.CharField(_("telepon"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    # Seven entries, Monday first: None (closed) or ["HH:MM", "HH:MM"]; see mall.hours.
    opening_hours = models.JSONField(_("jam layanan"), default=list, blank=True)
    accent_color = models.CharField(_("warna aksen"), max_length=7, blank=True)
    logo = models.FileField(_("logo"), storage=tenant_media_storage, max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=True), name="mall_profile_single")
        ]

    def __str__(self) -> str:
        return self.display_name or "profil mal"


class PageVersion(models.Model):
    """A counter bumped by the database on every change a citizen page shows.

    One row (id 1). It is part of every cached portal page's key (``mall.page_cache``), so a
    change makes the old entries unreachable at once, in every process. Written only by the
    triggers of mall migration 0002 (``public.mpp_bump_page_version``), never by Python.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="page_version_single")]

    def __str__(self) -> str:
        return f"page version {self.version}"


class Closure(models.Model):
    """A day the mall stays closed beyond its weekly hours: a holiday or a special closure.

    Dates are the tenant's local dates. Changed only through ``mall.actions``.
    """

    date = models.DateField(_("tanggal"), unique=True)
    name = models.CharField(_("keterangan"), max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"
