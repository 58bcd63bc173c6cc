"""The data model keeps every tenant schema movable to its own Citus worker.

``mpp.db.citus_rules`` checks the rules Citus schema-based sharding enforces (see its
docstring): the installed models break none, ``manage.py check`` would say so if one did,
and each rule flags a model built here to break it (in an isolated app registry, with
``tests.deploy`` playing a tenant app and ``tests.tenants`` a public one).
"""

# The models built here exist only to break rules; they need no __str__.
# ruff: noqa: DJ008

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from catalog.models import Agency
from mall.queue.models import Booking
from mpp.db.citus_rules import (
    REFERENCE_TABLES,
    Plane,
    check_citus_rules,
    check_models,
    model_plane,
)
from tenants.models import Tenant

TENANT_APP, PUBLIC_APP = "tests.deploy", "tests.tenants"


def planes(*, tenant: tuple[str, ...] = (), shared: tuple[str, ...] = ()) -> dict[str, Any]:
    """check_models() keywords: the real app lists plus the given test apps."""
    return {
        "tenant_apps": [*settings.TENANT_APPS, *tenant],
        "shared_apps": [*settings.SHARED_APPS, *shared],
    }


def codes(found: list[Any]) -> list[tuple[str, str, str]]:
    return sorted((v.code, v.model.split(".")[-1], v.field) for v in found)


# --- the real models --------------------------------------------------------------------------


def test_installed_models_break_no_rule() -> None:
    found = check_models()
    assert found == [], "\n".join(map(str, found))


def test_the_check_is_not_vacuous() -> None:
    """Each plane is populated and cross-model relations exist to be checked."""

    def plane(label: str) -> Plane | None:
        return model_plane(apps.get_model(label), settings.SHARED_APPS, settings.TENANT_APPS)

    assert plane("queue.Booking") == Plane.TENANT
    assert plane("tenants.Tenant") == Plane.PUBLIC
    assert plane("accounts.User") == Plane.BOTH
    # Tenant tables relate only to tenant or both-plane tables (their own schema's copies).
    targets = {
        (f.related_model._meta.label, plane(f.related_model._meta.label))
        for model in apps.get_models()
        if plane(model._meta.label) == Plane.TENANT
        for f in model._meta.get_fields()
        if f.is_relation and f.concrete and f.related_model is not None
    }
    assert ("queue.Slot", Plane.TENANT) in targets
    assert ("accounts.User", Plane.BOTH) in targets
    assert all(p != Plane.PUBLIC for _, p in targets)
    assert REFERENCE_TABLES == frozenset()  # none needed: tenants copy public data by value


def test_system_check_is_clean_and_reports_a_broken_rule(settings: Any) -> None:
    assert [
        m for m in checks.run_checks(tags=[checks.Tags.models]) if m.id.startswith("citus")
    ] == []
    # Were the statistics rollup stored per tenant, its rows would point at public tenants.
    settings.TENANT_APPS = [*settings.TENANT_APPS, "stats"]
    errors = check_citus_rules()
    assert {(e.id, e.obj) for e in errors} == {
        ("citus.E001", "stats.TenantSnapshot.tenant"),
        ("citus.E001", "stats.TenantMetric.tenant"),
    }
    assert all(isinstance(e, checks.Error) for e in errors)


# --- each rule, broken on purpose ---------------------------------------------------------------


@isolate_apps(TENANT_APP)
def test_tenant_model_pointing_at_a_public_model_is_flagged() -> None:
    class Visit(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
        agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
        booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "deploy"

    found = check_models([Visit], **planes(tenant=(TENANT_APP,)))
    assert codes(found) == [("citus.E001", "Visit", "agency"), ("citus.E001", "Visit", "tenant")]
    assert any("points at tenants.Tenant, which lives only in public" in str(v) for v in found)
    # A public model that can be a reference table may be pointed at, once it is listed.
    allowed = check_models(
        [Visit], **planes(tenant=(TENANT_APP,)), reference_tables={"catalog.Agency"}
    )
    assert codes(allowed) == [("citus.E001", "Visit", "tenant")]


@isolate_apps(TENANT_APP)
def test_both_plane_model_pointing_at_a_public_model_is_flagged() -> None:
    class Note(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "deploy"

    # In both lists, its copy in each tenant schema would point into public.
    found = check_models([Note], **planes(tenant=(TENANT_APP,), shared=(TENANT_APP,)))
    assert codes(found) == [("citus.E001", "Note", "tenant")]


@isolate_apps(TENANT_APP)
def test_tenant_many_to_many_to_a_public_model_is_flagged() -> None:
    class Desk(models.Model):
        agencies = models.ManyToManyField(Agency, related_name="+")

        class Meta:
            app_label = "deploy"

    found = check_models([Desk], **planes(tenant=(TENANT_APP,)))
    assert codes(found) == [("citus.E001", "Desk", "agencies")]


@isolate_apps(PUBLIC_APP)
def test_public_model_pointing_into_tenant_schemas_is_flagged() -> None:
    class Escalation(models.Model):
        booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")
        watched = models.ManyToManyField(Booking, related_name="+")
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tenants"

    found = check_models([Escalation], **planes(shared=(PUBLIC_APP,)))
    assert codes(found) == [
        ("citus.E002", "Escalation", "booking"),
        ("citus.E002", "Escalation", "watched"),
    ]


@isolate_apps(TENANT_APP, PUBLIC_APP)
def test_relations_between_test_apps_follow_the_same_rules() -> None:
    class Master(models.Model):
        class Meta:
            app_label = "tenants"

    class Local(models.Model):
        master = models.ForeignKey(Master, on_delete=models.CASCADE)

        class Meta:
            app_label = "deploy"

    class Back(models.Model):
        local = models.ForeignKey(Local, on_delete=models.CASCADE)

        class Meta:
            app_label = "tenants"

    lists = planes(tenant=(TENANT_APP,), shared=(PUBLIC_APP,))
    assert codes(check_models([Master, Local, Back], **lists)) == [
        ("citus.E001", "Local", "master"),
        ("citus.E002", "Back", "local"),
    ]


@isolate_apps(TENANT_APP)
def test_multi_table_inheritance_across_planes_is_flagged() -> None:
    class LocalAgency(Agency):
        agency_ptr = models.OneToOneField(
            Agency, on_delete=models.CASCADE, parent_link=True, related_name="+"
        )

        class Meta:
            app_label = "deploy"

    found = check_models([LocalAgency], **planes(tenant=(TENANT_APP,)))
    assert codes(found) == [
        ("citus.E001", "LocalAgency", "agency_ptr"),
        ("citus.E004", "LocalAgency", ""),
    ]


@isolate_apps(TENANT_APP)
def test_a_table_pinned_to_a_schema_is_flagged() -> None:
    class Pinned(models.Model):
        class Meta:
            app_label = "deploy"
            db_table = 'public"."pinned'

    found = check_models([Pinned], **planes(tenant=(TENANT_APP,)))
    assert codes(found) == [("citus.E005", "Pinned", "")]


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        # Its agency and its categories (through the link table) are not reference tables.
        ({"catalog.Service"}, [("Service", "agency"), ("Service", "categories")]),
        # Listing what it points at as well makes a valid set.
        ({"catalog.Service", "catalog.Agency", "catalog.Category"}, []),
        # One table per schema, and pointing at groups and permissions.
        ({"accounts.User"}, [("User", ""), ("User", "groups"), ("User", "user_permissions")]),
        ({"queue.Booking"}, [("Booking", ""), ("Booking", "slot")]),  # a tenant table
        ({"catalog.Nothing"}, [("Nothing", "")]),
    ],
)
def test_reference_tables_must_be_public_and_point_only_at_reference_tables(
    listed: set[str], expected: list[tuple[str, str]]
) -> None:
    found = check_models([], reference_tables=listed)
    assert codes(found) == [("citus.E003", model, field) for model, field in expected]
