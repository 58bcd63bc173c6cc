"""Request and response shapes of the control-plane API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from tenants.models import Province, Tenant, TimeZone, province_code_validator


class ProvinceSerializer(serializers.ModelSerializer[Province]):
    tenant_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Province
        fields = ["code", "name", "slug", "time_zone", "tenant_count", "created_at"]
        read_only_fields = ["slug", "created_at"]
        # Uniqueness is checked by the action with a clearer message.
        extra_kwargs = {
            "code": {"validators": [province_code_validator]},
            "name": {"validators": []},
        }


class TenantSerializer(serializers.ModelSerializer[Tenant]):
    province = serializers.SlugRelatedField(slug_field="code", read_only=True)
    host = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    custom_domains = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "slug",
            "name",
            "province",
            "kind",
            "region_code",
            "time_zone",
            "status",
            "status_reason",
            "admin_email",
            "schema_name",
            "host",
            "url",
            "custom_domains",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, tenant: Tenant) -> str:
        from mpp.urls_util import absolute_url

        return absolute_url(tenant.host, "/")

    def get_custom_domains(self, tenant: Tenant) -> list[str]:
        return [d.domain for d in tenant.domains.all()]


class TenantCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """Input for creating a tenant. Business rules (unique slug…) are the action's job."""

    province = serializers.CharField(help_text="Province code, e.g. 21")
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(
        max_length=40, help_text=f"Host will be <slug>.{settings.PLATFORM_DOMAIN}"
    )
    kind = serializers.ChoiceField(choices=Tenant.Kind.choices)
    region_code = serializers.CharField(max_length=5, help_text="e.g. 21.71")
    time_zone = serializers.ChoiceField(choices=TimeZone.choices, required=False, allow_blank=True)
    admin_email = serializers.EmailField()
    admin_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    agencies_present = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, allow_null=True,
        help_text="codes of the agencies with a counter at opening; omitted: all of them",
    )  # fmt: skip
    custom_domains = serializers.ListField(
        child=serializers.CharField(max_length=253), required=False, default=list
    )


class OnboardingStepSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    detail = serializers.CharField()


class OnboardedTenantSerializer(TenantSerializer):
    """A new tenant, with what each onboarding step did and how long it all took."""

    steps = OnboardingStepSerializer(many=True, read_only=True)
    seconds = serializers.FloatField(read_only=True)

    class Meta(TenantSerializer.Meta):
        fields = [*TenantSerializer.Meta.fields, "steps", "seconds"]


class CsvUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(help_text="CSV: name,kind,region_code,slug,admin_email[,…]")


class CsvRowSerializer(serializers.Serializer[dict[str, Any]]):
    line = serializers.IntegerField()
    slug = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "invalid", "not_created"])
    host = serializers.CharField(allow_blank=True)
    seconds = serializers.FloatField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TenantUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)


class ReasonSerializer(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DomainSerializer(serializers.Serializer[dict[str, Any]]):
    domain = serializers.CharField(max_length=253)


class TenantRestoreSerializer(serializers.Serializer[dict[str, Any]]):
    """A tenant archive to restore, and as which tenant (multipart upload)."""

    archive = serializers.FileField(
        help_text="A .tar.gz written by POST /api/v1/tenants/{slug}/export/ or `mpp tenants export`"
    )
    slug = serializers.CharField(max_length=40, help_text="The tenant to create (or replace)")
    replace = serializers.BooleanField(
        default=False, help_text="Overwrite the data of the existing tenant `slug`"
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region_code = serializers.CharField(max_length=5, required=False, allow_blank=True)
