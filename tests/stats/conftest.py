"""Shared set-up for the statistics tests: tenant A customised through the domain actions."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django_tenants.utils import tenant_context

from catalog.local import actions as local
from catalog.local.models import LocalService
from mpp.accounts.actions import accept_invitation, invite_user
from mpp.accounts.models import User
from tenants.models import Tenant

SIM = "satpas-sim-a-baru"
KTP = "dukcapil-ktp-el-baru"
LOCAL_KEY = "alpha-antar-berkas"


@dataclass(frozen=True)
class Customised:
    """What ``customised_a`` did to tenant A's catalogue."""

    services_before: int
    agency_of_ktp: str
    agency_of_sim: str


def accept_admin_invitation(tenant: Tenant, email: str) -> User:
    """Invite ``email`` as a tenant admin of ``tenant`` and accept the link, as a person would."""
    with tenant_context(tenant):
        _, link = invite_user(
            email, role=User.Role.TENANT_ADMIN, host=tenant.host, acting_user=None
        )
        token = re.search(r"/invitation/([^/]+)/", link).group(1)
        return accept_invitation(token, "Rahasia-Statistik-2026")


@pytest.fixture
def customised_a(tenant_a: Tenant) -> Customised:
    """In A: override a field, add a local agency and service, disable a service."""
    with tenant_context(tenant_a):
        before = LocalService.objects.filter(retired=False).count()
        sim = LocalService.objects.get(key=SIM)
        ktp = LocalService.objects.get(key=KTP)
        local.override_field(sim, "fee_note", "Bayar di Bank Riau", acting_user=None)
        agency = local.create_local_agency(
            code="upt-pulau", name="UPT Layanan Pulau", acting_user=None
        )
        local.create_local_service(
            {"key": LOCAL_KEY, "name_id": "Antar berkas ke pulau", "agency_code": agency.code},
            acting_user=None,
        )
        local.set_enabled(ktp, False, acting_user=None)
    return Customised(before, ktp.agency_code, sim.agency_code)
