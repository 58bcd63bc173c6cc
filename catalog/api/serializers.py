"""Request and response shapes of the catalogue API.

Service data is validated by the domain actions (``catalog/validation.py``), one rule set for
every interface; the ``*Input`` serializers here only describe request bodies for OpenAPI.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.local.actions import OVERRIDABLE_FIELDS, upstream_and_local
from catalog.local.models import LocalService
from catalog.models import (
    Agency,
    AgencyKind,
    Category,
    Channel,
    ProvinceRelease,
    ProvinceServiceEdit,
    Release,
    Service,
)
from catalog.overlay import PROVINCE_FIELDS
from catalog.releases import SERVICE_FIELDS

# The keys a request body may carry when creating or changing a service.
MASTER_INPUT_FIELDS: tuple[str, ...] = ("key", "agency", "categories", *SERVICE_FIELDS)
LOCAL_INPUT_FIELDS: tuple[str, ...] = ("key", "agency_code", "category_codes", *SERVICE_FIELDS)

FEE_CHOICES = [
    ("free", "Gratis (Rp 0)"),
    ("paid", "Berbayar (> Rp 0)"),
    ("varies", "Beragam (tarif tidak tetap)"),
]
EXPORT_FORMATS = [
    ("json", "JSON (format master.json)"),
    ("csv", "CSV (satu baris per layanan)"),
    ("hsds", "Open Referral HSDS 3.x (JSON)"),
]
IMPORT_FORMATS = [("json", "JSON (format master.json)"), ("csv", "CSV (satu baris per layanan)")]
EXPORT_SCOPES = [("all", "Semua layanan yang ditawarkan"), ("local", "Hanya layanan lokal")]
STATUS_CHOICES = [
    ("enabled", "Aktif"),
    ("disabled", "Nonaktif"),
    ("overridden", "Diubah lokal"),
    ("conflict", "Konflik"),
    ("local", "Layanan lokal"),
    ("retired", "Dihapus di induk"),
]


# --- Filters --------------------------------------------------------------------------------


class MasterServiceFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of the master service list."""

    agency = serializers.CharField(required=False, help_text="Agency code, e.g. dukcapil")
    category = serializers.CharField(required=False, help_text="Category code")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    fee = serializers.ChoiceField(choices=FEE_CHOICES, required=False)
    q = serializers.CharField(required=False, help_text="Part of the name or key")


class LocalServiceFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of a tenant's service list."""

    agency = serializers.CharField(required=False, help_text="Agency code, e.g. dukcapil")
    category = serializers.CharField(required=False, help_text="Category code")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    fee = serializers.ChoiceField(choices=FEE_CHOICES, required=False)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    q = serializers.CharField(required=False, help_text="Part of the name or key")


# --- Master catalogue (apex) ----------------------------------------------------------------


class MasterServiceSerializer(serializers.ModelSerializer[Service]):
    """A master service with every Standar Pelayanan field; agency and categories by code."""

    agency = serializers.SlugRelatedField(slug_field="code", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Service
        fields = ["key", "agency", "agency_name", "categories", *SERVICE_FIELDS, "updated_at"]
        read_only_fields = fields


class MasterServiceInputSerializer(serializers.ModelSerializer[Service]):
    """A master service as sent by the operator (documentation of the request body)."""

    agency = serializers.CharField(help_text="Agency code, e.g. dukcapil")
    categories = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Category codes"
    )

    class Meta:
        model = Service
        fields = list(MASTER_INPUT_FIELDS)


@extend_schema_field({"type": "string", "description": "One of: " + ", ".join(AgencyKind.values)})
class _AgencyKindField(serializers.CharField):
    """The agency kind, described as plain text in OpenAPI: an enum named ``kind`` would
    collide with the tenant kind enum of the control-plane API and rename it."""


class AgencySerializer(serializers.ModelSerializer[Agency]):
    """A master agency and how many master services it offers."""

    kind = _AgencyKindField(read_only=True)
    service_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Agency
        fields = ["code", "name", "kind", "website", "contact", "service_count"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer[Category]):
    """A master category and how many master services it holds."""

    service_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name_id", "name_en", "service_count"]
        read_only_fields = fields


class ReleaseSerializer(serializers.ModelSerializer[Release]):
    """A published release without its snapshot."""

    service_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Release
        fields = ["version", "published_at", "published_by", "changelog", "service_count"]
        read_only_fields = fields


class ReleaseDetailSerializer(ReleaseSerializer):
    """A published release with its whole snapshot."""

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields


class PublishSerializer(serializers.Serializer[dict[str, Any]]):
    """Input for publishing a release."""

    changelog = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Catatan rilis; daftar perubahan dibuat otomatis di bawahnya.",
    )


class ReleaseDiffSerializer(serializers.Serializer[dict[str, Any]]):
    """What changed from release ``from_version`` to ``to_version``."""

    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.JSONField())),
        help_text="service key → {field: [old, new]}",
    )
    agencies_changed = serializers.ListField(child=serializers.CharField())


# --- A tenant's catalogue (tenant host) -----------------------------------------------------


class LocalServiceSerializer(serializers.ModelSerializer[LocalService]):
    """A service as this mall has it: effective values, origin, state of its local edits."""

    overridden_fields = serializers.SerializerMethodField()
    conflict_fields = serializers.SerializerMethodField()

    class Meta:
        model = LocalService
        fields = [
            "key",
            "origin",
            "enabled",
            "retired",
            "agency_code",
            "agency_name",
            "category_codes",
            *SERVICE_FIELDS,
            "overridden_fields",
            "conflict_fields",
            "release_version",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overridden_fields(self, service: LocalService) -> list[str]:
        """Fields this mall changed."""
        return sorted(service.overrides)

    def get_conflict_fields(self, service: LocalService) -> list[str]:
        """Fields changed both here and upstream, awaiting a decision."""
        return sorted(service.conflicts)


class FieldRowSerializer(serializers.Serializer[dict[str, Any]]):
    """One field as "upstream: X — yours: Y"."""

    field = serializers.CharField()
    upstream = serializers.JSONField(allow_null=True)
    value = serializers.JSONField(allow_null=True)
    overridden = serializers.BooleanField()
    conflict = serializers.JSONField(
        allow_null=True, help_text="{base, upstream, local} while awaiting a decision"
    )


class LocalServiceDetailSerializer(LocalServiceSerializer):
    """A service plus ``fields``: each synced field as upstream's value beside the local one."""

    class Meta(LocalServiceSerializer.Meta):
        fields = [*LocalServiceSerializer.Meta.fields, "fields"]
        read_only_fields = fields

    @extend_schema_field(FieldRowSerializer(many=True))
    def get_field_rows(self, service: LocalService) -> list[dict[str, Any]]:
        """Each synced field: upstream's value, this mall's, and any conflict."""
        return upstream_and_local(service)


# ``fields`` is also the name of Serializer.fields, so it cannot be declared as an attribute.
LocalServiceDetailSerializer._declared_fields["fields"] = serializers.SerializerMethodField(
    method_name="get_field_rows"
)


class LocalServiceInputSerializer(serializers.ModelSerializer[LocalService]):
    """A local-only service as sent by the tenant admin (documentation of the request body)."""

    agency_code = serializers.CharField(help_text="Code of an agency of this mall")
    category_codes = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = LocalService
        fields = list(LOCAL_INPUT_FIELDS)


class OverrideSerializer(serializers.Serializer[dict[str, Any]]):
    """Set this mall's own value of ``field`` (null is a value, e.g. a fee that varies)."""

    field = serializers.ChoiceField(choices=OVERRIDABLE_FIELDS)
    value = serializers.JSONField(allow_null=True)


class RevertSerializer(serializers.Serializer[dict[str, Any]]):
    """Let ``field`` follow upstream again."""

    # Only overridable fields are ever overridden, so only they can be reverted or conflict.
    field = serializers.ChoiceField(choices=OVERRIDABLE_FIELDS)


class ResolveSerializer(serializers.Serializer[dict[str, Any]]):
    """Settle a conflict on ``field``."""

    field = serializers.ChoiceField(choices=OVERRIDABLE_FIELDS)
    choice = serializers.ChoiceField(
        choices=[("upstream", "Ambil nilai induk"), ("mine", "Pertahankan nilai saya")]
    )


class EnableSerializer(serializers.Serializer[dict[str, Any]]):
    """Offer the service in this mall, or stop offering it."""

    enabled = serializers.BooleanField()


class FieldChangeSerializer(serializers.Serializer[Any]):
    """What a sync does to one field."""

    field = serializers.CharField()
    action = serializers.CharField(help_text="applied, kept, conflict or converged")
    base = serializers.JSONField(allow_null=True)
    upstream = serializers.JSONField(allow_null=True)
    local = serializers.JSONField(allow_null=True)


class ServicePlanSerializer(serializers.Serializer[Any]):
    """What a sync does to one service."""

    key = serializers.CharField()
    name = serializers.CharField()
    action = serializers.CharField(help_text="add, update, retire, restore or skip")
    note = serializers.CharField()
    changes = FieldChangeSerializer(many=True)


class SyncPlanSerializer(serializers.Serializer[Any]):
    """A ``SyncPlan`` (catalog/local/sync.py) as JSON."""

    tenant = serializers.CharField()
    from_version = serializers.IntegerField(allow_null=True)
    to_version = serializers.IntegerField()
    from_overlay = serializers.IntegerField(allow_null=True)
    to_overlay = serializers.IntegerField(allow_null=True)
    changes_anything = serializers.BooleanField()
    open_conflicts = serializers.IntegerField()
    # ``SyncPlan.counts`` is a method; DRF calls simple callables when reading attributes.
    counts = serializers.DictField(child=serializers.IntegerField())
    services = ServicePlanSerializer(many=True)


# --- A province's overlay (apex) ------------------------------------------------------------


class ProvinceEditSerializer(serializers.ModelSerializer[ProvinceServiceEdit]):
    """The province layer of one service: its edits of a master service, or its own service."""

    values = serializers.JSONField(
        read_only=True,
        help_text="A province-only service's values (agency, categories, fields…); "
        "empty for edits of a master service, which live in ``overrides``.",
    )

    class Meta:
        model = ProvinceServiceEdit
        fields = ["key", "origin", "overrides", "conflicts", "values"]
        read_only_fields = fields


class ProvinceReleaseSerializer(serializers.ModelSerializer[ProvinceRelease]):
    """A published province release without its snapshot."""

    class Meta:
        model = ProvinceRelease
        fields = ["version", "master_version", "published_at", "published_by", "changelog"]
        read_only_fields = fields


class ProvinceReleaseDetailSerializer(ProvinceReleaseSerializer):
    """A published province release with its whole snapshot (master release + overlay)."""

    class Meta(ProvinceReleaseSerializer.Meta):
        fields = [*ProvinceReleaseSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields


class ProvinceOverlaySerializer(serializers.Serializer[Any]):
    """A province's overlay: its setting for new services, its edits and its releases."""

    new_services_enabled = serializers.BooleanField(
        help_text="Whether services new upstream start enabled in the province's tenants."
    )
    edits = ProvinceEditSerializer(many=True)
    releases = ProvinceReleaseSerializer(many=True, help_text="Newest first.")


class ProvinceFieldSerializer(serializers.Serializer[dict[str, Any]]):
    """Set the province's value of ``field`` of service ``key`` (null is a value)."""

    key = serializers.CharField(max_length=80, help_text="A master or province service key")
    field = serializers.ChoiceField(choices=PROVINCE_FIELDS)
    value = serializers.JSONField(allow_null=True)


class ProvinceResolveSerializer(serializers.Serializer[dict[str, Any]]):
    """Settle a conflict on ``field`` of service ``key``."""

    key = serializers.CharField(max_length=80)
    field = serializers.ChoiceField(choices=PROVINCE_FIELDS)
    choice = serializers.ChoiceField(
        choices=[("upstream", "Ambil nilai induk"), ("mine", "Pertahankan nilai provinsi")]
    )


class ProvinceSettingsSerializer(serializers.Serializer[dict[str, Any]]):
    """Whether services new upstream start enabled in the province's tenants."""

    new_services_enabled = serializers.BooleanField()


class ProvincePublishSerializer(serializers.Serializer[dict[str, Any]]):
    """Input for publishing a province release."""

    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Catatan rilis; daftar perubahan dibuat otomatis di bawahnya.",
    )


# --- Import and export ----------------------------------------------------------------------


class MasterExportQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of the master catalogue export."""

    format = serializers.ChoiceField(choices=EXPORT_FORMATS, required=False, default="json")
    release = serializers.IntegerField(
        required=False, min_value=1, help_text="A published release; the live catalogue if unset"
    )


class LocalExportQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of a tenant's catalogue export."""

    format = serializers.ChoiceField(choices=EXPORT_FORMATS, required=False, default="json")
    scope = serializers.ChoiceField(
        choices=EXPORT_SCOPES,
        required=False,
        default="all",
        help_text="all: every service this mall offers; local: only its own services "
        "(the shape /api/v1/import/ takes back)",
    )


class ImportUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """A catalogue file sent as a multipart form (documentation of the request body)."""

    file = serializers.FileField(help_text="A .json (master.json format) or .csv file")
    format = serializers.ChoiceField(
        choices=IMPORT_FORMATS,
        required=False,
        help_text="json or csv; read from the file name's extension if unset",
    )


class ImportErrorRowSerializer(serializers.Serializer[Any]):
    """One problem in an import file."""

    row = serializers.IntegerField(
        allow_null=True,
        help_text="1-based data row (for CSV the spreadsheet row, header = 1); null: the file",
    )
    key = serializers.CharField(help_text="The service key of that row, if it had one")
    field = serializers.CharField()
    reason = serializers.CharField()


class ImportErrorsSerializer(serializers.Serializer[Any]):
    """An import refused: every problem found; nothing was written."""

    errors = ImportErrorRowSerializer(many=True)


class ImportResultSerializer(serializers.Serializer[Any]):
    """What an import did."""

    format = serializers.ChoiceField(choices=IMPORT_FORMATS)
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Master: agencies, categories, services loaded. "
        "Tenant: created, updated, unchanged local services.",
    )
