"""The control-plane audit log API and the API's rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from mpp.accounts.models import User
from tenants import actions
from tenants.models import Tenant
from tests.conftest import api_client_for


@pytest.fixture
def history(tenant_a: Tenant, tenant_b: Tenant, operator: User) -> None:
    actions.suspend_tenant(tenant_a, reason="Perawatan", acting_user=operator)
    actions.suspend_tenant(tenant_b, reason="Rahasia Kaltim", acting_user=operator)
    actions.rename_tenant(tenant_a, name="Kota Alpha Raya", acting_user=operator)


def events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_operator_reads_every_event(operator: User, history: None) -> None:
    rows = events(api_client_for(operator).get("/api/v1/audit/"))
    labels = {row["target_label"] for row in rows}
    assert {"Kota Alpha Raya", "Kabupaten Beta"} <= labels
    newest = rows[0]
    assert newest["action"] == "tenant.renamed" and newest["actor_email"] == operator.email
    assert newest["before"]["name"] == "Kota Alpha" and newest["after"]["name"] == "Kota Alpha Raya"


def test_province_admin_reads_only_their_province(kepri_admin: User, history: None) -> None:
    client = api_client_for(kepri_admin)
    rows = events(client.get("/api/v1/audit/"))
    assert rows and all("Beta" not in row["target_label"] for row in rows)
    assert all("Rahasia Kaltim" not in str(row["after"]) for row in rows)
    # Kaltim by code, or Kaltim's tenant by slug: as unknown as a code that does not exist.
    assert client.get("/api/v1/audit/?province=64").status_code == 404
    assert client.get("/api/v1/audit/?province=99").status_code == 404
    assert client.get("/api/v1/audit/?tenant=beta").status_code == 404


def test_filters_narrow_the_log(operator: User, history: None) -> None:
    client = api_client_for(operator)
    suspended = events(client.get("/api/v1/audit/?action=tenant.suspended"))
    # Labels are what the target was called when the event happened.
    assert {row["target_label"] for row in suspended} == {"Kota Alpha", "Kabupaten Beta"}
    only_a = events(client.get("/api/v1/audit/?tenant=alpha"))
    assert {row["action"] for row in only_a} >= {"tenant.suspended", "tenant.renamed"}
    assert {row["target_label"] for row in only_a} <= {"Kota Alpha", "Kota Alpha Raya"}
    assert events(client.get("/api/v1/audit/?since=2999-01-01T00:00:00Z")) == []
    bad = client.get("/api/v1/audit/?since=kemarin")
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["since"][0]


def test_tenant_staff_and_anonymous_are_refused(db: None) -> None:
    assert api_client_for(None).get("/api/v1/audit/").status_code == 401
    officer = User.objects.create_user(
        "petugas@apex.test", "s3cret-Petugas", role=User.Role.OFFICER
    )
    assert api_client_for(officer).get("/api/v1/audit/").status_code == 403


def test_the_api_is_rate_limited_per_user(
    kepri_admin: User, kaltim_admin: User, settings: Any
) -> None:
    settings.API_RATE_USER = "3/min"
    client = api_client_for(kepri_admin)
    assert [client.get("/api/v1/provinces/").status_code for _ in range(4)] == [200] * 3 + [429]
    refused = client.get("/api/v1/provinces/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "dibatasi" in refused.json()["detail"]  # DRF speaks the default language, Indonesian
    # Another user has a budget of their own.
    assert api_client_for(kaltim_admin).get("/api/v1/provinces/").status_code == 200


def test_a_bad_rate_setting_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from mpp.env import env_rate

    monkeypatch.setenv("API_RATE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match="API_RATE_USER='lots'"):
        env_rate("API_RATE_USER", "2000/hour")
    monkeypatch.setenv("API_RATE_USER", "")
    assert env_rate("API_RATE_USER", "2000/hour") == ""
