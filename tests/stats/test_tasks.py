"""Background tasks: each runs inside its tenant's schema; refreshes are queued on commit,
once per transaction and tenant, and a real worker step carries them out."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from django_tenants.utils import tenant_context

from catalog.local import actions as local
from catalog.local.models import LocalService
from mpp.accounts.actions import invite_user
from mpp.accounts.models import User
from mpp.tasks import TenantTaskRefused, tenant_task
from stats.models import TenantSnapshot
from stats.tasks import _EnqueueRefresh, refresh_tenant_stats_task, schedule_refresh
from tenants.actions import archive_tenant
from tenants.models import Tenant
from tests.stats.conftest import KTP, SIM, Customised


@tenant_task()
def where_am_i(schema_name: str, key: str) -> dict[str, Any]:
    """A test task: report the schema it ran in and what it saw there."""
    return {
        "schema": connection.schema_name,
        "tenant": connection.tenant.slug,
        "has_local_service": LocalService.objects.filter(key=key).exists(),
    }


def test_a_tenant_task_runs_inside_the_schema_it_names(
    tenant_a: Tenant, tenant_b: Tenant, customised_a: Customised
) -> None:
    ran = where_am_i.call(tenant_a.schema_name, "alpha-antar-berkas")
    assert ran == {"schema": tenant_a.schema_name, "tenant": "alpha", "has_local_service": True}
    ran = where_am_i.call(tenant_b.schema_name, "alpha-antar-berkas")
    assert ran == {"schema": tenant_b.schema_name, "tenant": "beta", "has_local_service": False}
    assert connection.schema_name == "public"  # and the caller's schema is restored


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("public", "no tenant has the schema 'public'"),
        ("tenant_template", "no tenant has the schema 'tenant_template'"),
        ("nowhere", "no tenant has the schema 'nowhere'"),
        ("", "needs a schema name"),
        (None, "needs a schema name"),
    ],
)
def test_a_tenant_task_refuses_a_schema_that_is_no_tenants(
    db: None, schema: Any, message: str
) -> None:
    with pytest.raises(TenantTaskRefused, match=message):
        refresh_tenant_stats_task.call(schema)
    assert not TenantSnapshot.objects.exists()


def test_a_tenant_task_refuses_an_archived_tenant(tenant_b: Tenant) -> None:
    archive_tenant(tenant_b, acting_user=None)
    with pytest.raises(TenantTaskRefused, match="tenant beta is archived"):
        refresh_tenant_stats_task.call(tenant_b.schema_name)
    assert not TenantSnapshot.objects.filter(tenant=tenant_b).exists()


def test_the_refresh_task_fills_only_its_tenants_rows(tenant_a: Tenant, tenant_b: Tenant) -> None:
    result = refresh_tenant_stats_task.call(tenant_a.schema_name)
    assert result["schema"] == tenant_a.schema_name
    snapshot = TenantSnapshot.objects.get()
    assert snapshot.tenant == tenant_a and snapshot.services_total > 100


# --- Scheduling ----------------------------------------------------------------------------


def queued(callbacks: list[Any]) -> list[str]:
    return [c.schema_name for c in callbacks if isinstance(c, _EnqueueRefresh)]


def test_one_refresh_per_tenant_per_transaction(
    tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with tenant_context(tenant_a):
            sim = LocalService.objects.get(key=SIM)
            local.override_field(sim, "fee_note", "Bayar di Bank Riau", acting_user=None)
            local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
            local.create_local_agency(code="upt-pulau", name="UPT Pulau", acting_user=None)
        with tenant_context(tenant_b):
            local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
        schedule_refresh(tenant_a.schema_name)  # explicitly, from public: still the same one
        schedule_refresh()  # in public: no tenant's data, nothing queued
    assert sorted(queued(callbacks)) == sorted([tenant_a.schema_name, tenant_b.schema_name])


def test_a_rolled_back_change_queues_nothing(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        with tenant_context(tenant_a):
            with pytest.raises(RuntimeError), transaction.atomic():
                local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
                raise RuntimeError("the caller gives up")
        assert queued(callbacks) == []
    # …and a later change in the same outer transaction still queues its refresh.
    with django_capture_on_commit_callbacks() as callbacks:
        with tenant_context(tenant_a):
            local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
    assert queued(callbacks) == [tenant_a.schema_name]


def test_invitations_in_a_tenant_queue_a_refresh_and_in_public_none(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        invite_user(
            "ops@satuatap.test", role=User.Role.OPERATOR, host="localhost", acting_user=None
        )
    assert queued(callbacks) == []
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(tenant_a):
        invite_user("petugas@alpha.go.id", role=User.Role.OFFICER, host="x", acting_user=None)
    assert queued(callbacks) == [tenant_a.schema_name]


def test_a_staff_sign_in_queues_a_refresh(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    from django.test import Client

    with tenant_context(tenant_a):
        user = User.objects.get(email="admin@alpha.go.id")
        user.set_password("Rahasia-Alpha-2026")
        user.save()
    client = Client(HTTP_HOST="alpha.localhost")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/staff/login/", {"username": "admin@alpha.go.id", "password": "Rahasia-Alpha-2026"}
        )
    assert response.status_code == 302
    assert queued(callbacks) == [tenant_a.schema_name]


# --- A real worker -------------------------------------------------------------------------


@pytest.fixture
def worker_in_test_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker recycles its connection between tasks; in a test that would close the
    connection holding the test's transaction, so that one step is skipped here."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def test_the_worker_refreshes_what_a_change_queued(
    tenant_a: Tenant,
    tenant_b: Tenant,
    customised_a: Customised,
    django_capture_on_commit_callbacks: Any,
    worker_in_test_transaction: None,
) -> None:
    # Provisioning A and B (the session's fixtures) queued their first refresh already.
    waiting = DBTaskResult.objects.filter(status="READY")
    assert sorted(t.args_kwargs["args"][0] for t in waiting.all()) == sorted(
        [tenant_a.schema_name, tenant_b.schema_name]
    )
    with django_capture_on_commit_callbacks(execute=True), tenant_context(tenant_b):
        local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
    bad = where_am_i.enqueue("public", "x")  # a task naming no tenant fails on its own
    ok = where_am_i.enqueue(tenant_a.schema_name, "alpha-antar-berkas")
    assert waiting.count() == 5

    call_command("worker", "--batch", "--verbosity", "0", stdout=io.StringIO())

    a = TenantSnapshot.objects.get(tenant=tenant_a)
    b = TenantSnapshot.objects.get(tenant=tenant_b)
    assert (a.services_local, b.services_local) == (1, 0)
    with tenant_context(tenant_b):
        assert b.services_enabled == LocalService.objects.filter(enabled=True).count()
    assert b.services_enabled == customised_a.services_before - 1
    assert where_am_i.get_result(ok.id).return_value == {
        "schema": tenant_a.schema_name,
        "tenant": "alpha",
        "has_local_service": True,
    }
    failed = where_am_i.get_result(bad.id)
    assert failed.status == "FAILED"
    assert failed.errors[0].exception_class is TenantTaskRefused
    assert not waiting.exists()
    assert connection.schema_name == "public"


def test_worker_command_refuses_bad_options(db: None) -> None:
    with pytest.raises(CommandError, match="--max-tasks must be at least 1"):
        call_command("worker", "--max-tasks", "0")
    with pytest.raises(CommandError, match="--interval must be more than 0"):
        call_command("worker", "--interval", "0")
    with (
        override_settings(TASKS_BACKEND="immediate"),
        pytest.raises(CommandError, match="TASKS_BACKEND is 'immediate'"),
    ):
        call_command("worker", "--batch")


def test_with_the_immediate_backend_the_refresh_runs_on_commit(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    queued_before = DBTaskResult.objects.count()
    with (
        override_settings(TASKS=immediate),
        django_capture_on_commit_callbacks(execute=True),
        tenant_context(tenant_a),
    ):
        local.set_enabled(LocalService.objects.get(key=KTP), False, acting_user=None)
        assert not TenantSnapshot.objects.exists()  # nothing before the commit
    snapshot = TenantSnapshot.objects.get()
    assert snapshot.tenant == tenant_a
    assert snapshot.services_enabled == snapshot.services_total - 1
    assert DBTaskResult.objects.count() == queued_before  # no queue, no worker involved
