"""Provisioning: clone of the template, atomic, validated, seeded, audited."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from catalog.local.models import LocalService
from catalog.models import Release
from mpp.accounts.models import Invitation, User
from mpp.audit.models import AuditEvent
from tenants import provisioning
from tenants.models import Domain, Province, Tenant
from tenants.provisioning import ensure_template, provision_tenant, template_state
from tests.conftest import spec


def test_clone_creates_a_complete_tenant(
    kepri: Province, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tenant = provision_tenant(spec(kepri, custom_domains=["mpp.gamma.go.id"]), acting_user=None)

    assert tenant.schema_name == "gamma"
    assert tenant.time_zone == kepri.time_zone  # inherited when not given
    assert schema_exists("gamma")
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)) == [
        "mpp.gamma.go.id"
    ]
    release = Release.objects.latest("version")
    with tenant_context(tenant):
        assert LocalService.objects.count() == len(release.snapshot["services"]) > 0
        assert set(LocalService.objects.values_list("release_version", flat=True)) == {
            release.version
        }
        admin = User.objects.get(email="admin@gamma.go.id")
        assert admin.role == User.Role.TENANT_ADMIN and not admin.has_usable_password()
        assert Invitation.objects.filter(user=admin, used_at__isnull=True).count() == 1
        assert AuditEvent.objects.filter(action="user.invited").count() == 1
    # The admin user exists only in the tenant's schema, not in the control plane.
    assert not User.objects.filter(email="admin@gamma.go.id").exists()
    event = AuditEvent.objects.get(action="tenant.provisioned", target_id=str(tenant.pk))
    assert event.after["slug"] == "gamma" and event.after["method"] == "clone"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["admin@gamma.go.id"]
    assert "http://gamma.localhost:8000/staff/invitation/" in mail.outbox[0].body


def schema_definition(schema: str) -> dict[str, set[tuple]]:
    """Every column, constraint, index and trigger of ``schema``, with its name removed."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'
              AND a.attnum > 0 AND NOT a.attisdropped""",
        "constraints": """
            SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE k.connamespace = %s::regnamespace""",
        "indexes": """
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = %s::regnamespace""",
        "triggers": """
            SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal""",
    }
    result = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = pg_catalog")
        for kind, query in queries.items():
            cursor.execute(query, [schema])
            result[kind] = {
                tuple(str(v).replace(f"{schema}.", "<schema>.") for v in row)
                for row in cursor.fetchall()
            }
    return result


def test_clone_is_identical_to_a_migrated_schema(kepri: Province) -> None:
    cloned = provision_tenant(spec(kepri), acting_user=None, method="clone")
    migrated = provision_tenant(
        spec(kepri, slug="delta", region_code="21.93"), acting_user=None, method="migrate"
    )
    clone_def = schema_definition(cloned.schema_name)
    migrate_def = schema_definition(migrated.schema_name)
    assert clone_def["columns"] and clone_def["indexes"] and clone_def["constraints"]
    for kind in clone_def:
        assert clone_def[kind] == migrate_def[kind], kind
    assert provisioning.applied_migrations("gamma") == provisioning.applied_migrations("delta")
    assert provisioning.applied_migrations("gamma") >= provisioning.expected_tenant_migrations()


def test_cloned_identity_sequences_continue_after_copied_rows(kepri: Province) -> None:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    tenant = provision_tenant(spec(kepri), acting_user=None)
    with tenant_context(tenant):
        copied = ContentType.objects.count()
        assert copied > 0 and Permission.objects.count() > 0
        created = ContentType.objects.create(app_label="mall", model="newthing")
        assert created.pk > max(
            ContentType.objects.exclude(pk=created.pk).values_list("pk", flat=True)
        )
        Permission.objects.create(content_type=created, codename="x", name="x")


def test_clone_refuses_objects_it_cannot_copy(kepri: Province) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA odd")
        cursor.execute("CREATE VIEW odd.v AS SELECT 1 AS one")
        with pytest.raises(Exception, match="does not copy"):
            provisioning.clone_schema("odd", "odd_copy")


def test_failure_leaves_nothing_behind(kepri: Province, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(tenant: Tenant) -> int:
        raise RuntimeError("disk full while seeding")

    monkeypatch.setattr("catalog.local.seeding.seed_tenant_catalogue", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        provision_tenant(spec(kepri, custom_domains=["mpp.gamma.go.id"]), acting_user=None)

    assert not Tenant.objects.filter(slug="gamma").exists()
    assert not Domain.objects.filter(domain="mpp.gamma.go.id").exists()
    assert not schema_exists("gamma")
    assert not AuditEvent.objects.filter(
        action="tenant.provisioned", target_label="Kabupaten Gamma"
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"slug": "www"}, "slug", "reserved"),
        ({"slug": "tenant-template"}, "slug", "reserved"),
        ({"slug": "Gamma!"}, "slug", "3–40"),
        ({"slug": "pg-gamma"}, "slug", "reserved"),
        ({"slug": "9lives"}, "slug", "start with a letter"),
        ({"slug": "alpha"}, "slug", "telah ada"),
        ({"region_code": "2192"}, "region_code", "21.71"),
        ({"region_code": "21.91"}, "region_code", "telah ada"),
        ({"kind": "desa"}, "kind", "bukan pilihan yang valid"),
        ({"time_zone": "Europe/Paris"}, "time_zone", "bukan pilihan yang valid"),
        ({"admin_email": "not-an-email"}, "admin_email", "alamat email"),
        ({"name": ""}, "name", "tidak boleh kosong"),
        ({"custom_domains": ["gamma.localhost"]}, "custom_domains", "platform domain"),
        ({"custom_domains": ["bad domain"]}, "custom_domains", "not a valid host"),
    ],
)
def test_bad_input_is_rejected_with_a_field_message(
    kepri: Province, overrides: dict, field: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        provision_tenant(spec(kepri, **overrides), acting_user=None)
    messages = caught.value.message_dict
    assert field in messages, messages
    assert fragment.lower() in " ".join(messages[field]).lower(), messages
    assert not schema_exists("gamma") or overrides.get("slug") == "alpha"
    assert Tenant.objects.count() == 2


def test_clashing_custom_domain_is_rejected(kepri: Province) -> None:
    provision_tenant(spec(kepri, custom_domains=["mpp.example.id"]), acting_user=None)
    with pytest.raises(ValidationError) as caught:
        provision_tenant(
            spec(kepri, slug="delta", region_code="21.93", custom_domains=["MPP.example.id"]),
            acting_user=None,
        )
    assert "already in use" in " ".join(caught.value.message_dict["custom_domains"])


def test_stale_template_is_migrated_before_cloning(kepri: Province) -> None:
    from django.core.management import call_command

    template = settings.TENANT_TEMPLATE_SCHEMA
    assert template_state() == "current"
    # Roll the template back one migration, as if that migration had just been written.
    call_command(
        "migrate_schemas", "local_catalog", "0001", schema_name=template, interactive=False,
        verbosity=0,
    )  # fmt: skip
    assert template_state() == "stale"

    tenant = provision_tenant(spec(kepri), acting_user=None)

    assert template_state() == "current"
    with tenant_context(tenant):
        assert LocalService.objects.exists()


def test_missing_template_is_rebuilt(kepri: Province) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{settings.TENANT_TEMPLATE_SCHEMA}" CASCADE')
    assert template_state() == "missing"
    assert ensure_template() == "created"
    assert template_state() == "current"
    assert ensure_template() == "current"


def test_provisioning_takes_a_spare_when_one_is_ready(kepri: Province, settings) -> None:
    from tenants import spares

    settings.TENANT_SPARE_SCHEMAS = 2
    assert spares.refill() == 2
    before = spares.list_spares()
    assert len(before) == 2

    tenant = provision_tenant(spec(kepri), acting_user=None)

    assert spares.list_spares() == before[1:]  # the oldest was renamed into place
    assert not schema_exists(before[0]) and schema_exists(tenant.schema_name)
    event = AuditEvent.objects.get(action="tenant.provisioned", target_id=str(tenant.pk))
    assert event.after["method"] == "spare"
    with tenant_context(tenant):
        assert LocalService.objects.exists()
    assert schema_definition("gamma") == schema_definition(settings.TENANT_TEMPLATE_SCHEMA)


def test_stale_spare_is_dropped_and_the_template_cloned(kepri: Province, settings) -> None:
    from tenants import spares

    settings.TENANT_SPARE_SCHEMAS = 1
    spares.refill()
    (spare,) = spares.list_spares()
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{spare}".django_migrations WHERE app = %s', ["audit"])

    tenant = provision_tenant(spec(kepri), acting_user=None)

    assert spares.list_spares() == [] and not schema_exists(spare)
    event = AuditEvent.objects.get(action="tenant.provisioned", target_id=str(tenant.pk))
    assert event.after["method"] == "clone"


def test_a_spare_is_never_routed(kepri: Province, settings) -> None:
    from django.test import Client

    from tenants import spares

    settings.TENANT_SPARE_SCHEMAS = 1
    spares.refill()
    (spare,) = spares.list_spares()
    assert Client(HTTP_HOST=f"{spare}.localhost").get("/").status_code == 404
    assert Client(HTTP_HOST=f"{spare.replace('_', '-')}.localhost").get("/").status_code == 404
    with pytest.raises(ValidationError) as caught:
        provision_tenant(spec(kepri, slug="tenant-spare-x"), acting_user=None)
    assert "slug" in caught.value.message_dict
    with pytest.raises(ValueError, match="not a spare"):
        spares.drop_spare("alpha")
