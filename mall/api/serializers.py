"""Request and response shapes of the mall API.

Profile and closure data are validated by ``mall.actions``, one rule set for the staff page,
the API and the CLI; the ``*Input`` serializers here only describe request bodies for OpenAPI.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mall.models import Closure, MallProfile

HOURS_HELP = (
    'Tujuh entri, Senin dahulu: null (tutup) atau ["HH:MM", "HH:MM"]; [] = belum diisi. / '
    'Seven entries, Monday first: null (closed) or ["HH:MM", "HH:MM"]; [] = not set.'
)


def _opening_hours_field(**kwargs: Any) -> serializers.ListField:
    day = serializers.ListField(
        child=serializers.CharField(), min_length=2, max_length=2, allow_null=True
    )
    return serializers.ListField(child=day, help_text=HOURS_HELP, **kwargs)


def logo_path(profile: MallProfile) -> str | None:
    """The URL path the portal serves the logo at, or None when there is none."""
    name = profile.logo.name or ""
    return reverse("mall:media", args=[name]) if name else None


class MallProfileSerializer(serializers.Serializer[MallProfile]):
    """The mall's profile as stored; ``logo`` is the path it is served at."""

    display_name = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    opening_hours = _opening_hours_field(read_only=True)
    accent_color = serializers.CharField(read_only=True, help_text="#rrggbb, or empty")
    logo = serializers.SerializerMethodField(help_text="e.g. /media/batam/logo-….png")
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="null until the profile is first saved"
    )

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "URL path of the logo, or null"}
    )
    def get_logo(self, profile: MallProfile) -> str | None:
        return logo_path(profile)


class MallProfileInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Fields to change, all optional (documentation of the JSON request body)."""

    display_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    address = serializers.CharField(required=False, allow_blank=True, max_length=500)
    phone = serializers.CharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    opening_hours = _opening_hours_field(required=False)
    accent_color = serializers.CharField(
        required=False, allow_blank=True, help_text="#rrggbb, contrast with white ≥ 4.5:1"
    )
    logo = serializers.CharField(
        required=False, allow_null=True, help_text="Only null: removes the logo"
    )


class MallProfileUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """Fields to change sent as a multipart form, with the logo file (documentation)."""

    display_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    address = serializers.CharField(required=False, allow_blank=True, max_length=500)
    phone = serializers.CharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    opening_hours = serializers.CharField(required=False, help_text="The week as JSON text")
    accent_color = serializers.CharField(required=False, allow_blank=True)
    logo = serializers.FileField(
        required=False, help_text="PNG or JPEG, at most 200 KB; an empty value removes it"
    )


class ClosureSerializer(serializers.ModelSerializer[Closure]):
    """A day the mall is closed beyond its weekly hours."""

    class Meta:
        model = Closure
        fields = ["date", "name", "created_at"]
        read_only_fields = fields


class ClosureInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A closure to add (documentation of the request body)."""

    date = serializers.DateField(help_text="YYYY-MM-DD, today or later (tenant's local date)")
    name = serializers.CharField(max_length=120, help_text="e.g. Hari Raya Natal")


class ClosureFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of the closure list."""

    all = serializers.BooleanField(
        required=False, default=False, help_text="1: past closures too (default: upcoming only)"
    )
