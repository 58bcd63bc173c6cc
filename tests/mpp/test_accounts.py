"""Invitations and sign-in: one-time links, per-schema users, no crossing between tenants."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from mpp.accounts.actions import invite_user
from mpp.accounts.models import User
from tenants.models import Tenant


def invitation_path(tenant: Tenant, captured: Any, outbox: list) -> str:
    with tenant_context(tenant), captured(execute=True):
        invite_user(
            "officer@example.go.id", role=User.Role.OFFICER, host=tenant.host, acting_user=None
        )
    link = re.search(r"http://\S+", outbox[-1].body)
    assert link is not None
    return link.group(0).split(":8000", 1)[1]


def test_invitation_sets_a_password_once(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    path = invitation_path(tenant_a, django_capture_on_commit_callbacks, mailoutbox)
    assert path.startswith("/staff/invitation/")
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.get(path).status_code == 200

    weak = client.post(path, {"password1": "123", "password2": "123"})
    assert weak.status_code == 200 and "errorlist" in weak.content.decode()
    mismatch = client.post(path, {"password1": "Kuat-Sekali-2026", "password2": "Lain-2026-xx"})
    assert "tidak sama" in mismatch.content.decode()

    done = client.post(path, {"password1": "Kuat-Sekali-2026", "password2": "Kuat-Sekali-2026"})
    assert done.status_code == 302
    with tenant_context(tenant_a):
        assert User.objects.get(email="officer@example.go.id").check_password("Kuat-Sekali-2026")
    assert Client(HTTP_HOST="alpha.localhost").get(path).status_code == 404  # spent


def test_invitation_of_one_tenant_is_unknown_on_another(
    tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    path = invitation_path(tenant_a, django_capture_on_commit_callbacks, mailoutbox)
    assert Client(HTTP_HOST="beta.localhost").get(path).status_code == 404
    assert (
        Client(HTTP_HOST="localhost").get(path.replace("/staff/", "/accounts/")).status_code == 404
    )
    posted = Client(HTTP_HOST="beta.localhost").post(
        path, {"password1": "Kuat-Sekali-2026", "password2": "Kuat-Sekali-2026"}
    )
    assert posted.status_code == 404


def test_tenant_staff_sign_in_only_on_their_own_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        staff = User.objects.get(email="admin@alpha.go.id")
        staff.set_password("Rahasia-Alpha-1")
        staff.save()
    credentials = {"username": "admin@alpha.go.id", "password": "Rahasia-Alpha-1"}
    own = Client(HTTP_HOST="alpha.localhost").post("/staff/login/", credentials)
    assert own.status_code == 302
    other = Client(HTTP_HOST="beta.localhost").post("/staff/login/", credentials)
    assert other.status_code == 200 and "errorlist" in other.content.decode()
    apex = Client(HTTP_HOST="localhost").post("/accounts/login/", credentials)
    assert apex.status_code == 200 and "errorlist" in apex.content.decode()


def test_expired_invitation_is_refused(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any, mailoutbox: list
) -> None:
    from django.utils import timezone

    from mpp.accounts.models import Invitation

    path = invitation_path(tenant_a, django_capture_on_commit_callbacks, mailoutbox)
    with tenant_context(tenant_a):
        Invitation.objects.update(expires_at=timezone.now())
    assert Client(HTTP_HOST="alpha.localhost").get(path).status_code == 404
