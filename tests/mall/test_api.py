"""The mall API on a tenant's host: profile and closures, bad input, roles, isolation, OpenAPI.

Every change goes through ``mall.actions``; these tests check the answers, what is stored,
that refused input stores nothing, the audit rows, and that one tenant's data never reaches
another's host.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mall.actions import add_closure, get_mall_profile, local_today, update_mall_profile
from mall.models import Closure
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants.actions import suspend_tenant
from tenants.models import Tenant
from tenants.routing import route_cache
from tests.conftest import api_client_for

PROFILE = "/api/v1/mall/profile/"
CLOSURES = "/api/v1/mall/closures/"
WEEK = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]
PASSWORD = "Rahasia-Mall-API-2026"


# --- Helpers --------------------------------------------------------------------------------


def staff(tenant: Tenant, email: str, role: str = User.Role.OFFICER) -> User:
    """A staff user of ``tenant`` (created in its schema if missing)."""
    with tenant_context(tenant):
        user = User.objects.filter(email=email).first()
        return user or User.objects.create_user(email, PASSWORD, role=role)


def tenant_api(tenant: Tenant, user: User | None = None) -> APIClient:
    """An API client on ``tenant``'s host, authenticated by ``user``'s token (in its schema)."""
    client = APIClient(HTTP_HOST=tenant.host)
    if user is not None:
        with tenant_context(tenant):
            token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def today_of(tenant: Tenant) -> dt.date:
    with tenant_context(tenant):
        return local_today()


def day(tenant: Tenant, offset: int) -> str:
    """``YYYY-MM-DD`` of ``offset`` days from the tenant's today (so tests never rot)."""
    return (today_of(tenant) + dt.timedelta(days=offset)).isoformat()


@dataclass(frozen=True)
class Days:
    """A date given as days from the tenant's today, resolved when the test runs."""

    n: int


def resolved(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    return {k: day(tenant, v.n) if isinstance(v, Days) else v for k, v in body.items()}


def profile_state(tenant: Tenant) -> dict[str, Any]:
    with tenant_context(tenant):
        profile = get_mall_profile()
        fields = ("display_name", "address", "phone", "email", "opening_hours", "accent_color")
        return {f: getattr(profile, f) for f in fields} | {"logo": profile.logo.name or ""}


def closures_of(tenant: Tenant) -> dict[str, str]:
    with tenant_context(tenant):
        return {c.date.isoformat(): c.name for c in Closure.objects.order_by("date")}


def events(tenant: Tenant, action: str = "") -> list[AuditEvent]:
    with tenant_context(tenant):
        rows = AuditEvent.objects.filter(action__startswith=action or "mall.").order_by("id")
        return list(rows)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def alpha_admin(tenant_a: Tenant) -> User:
    return staff(tenant_a, "admin@alpha.go.id")  # invited as tenant_admin at provisioning


@pytest.fixture
def alpha_officer(tenant_a: Tenant) -> User:
    return staff(tenant_a, "petugas@alpha.go.id")


@pytest.fixture
def beta_admin(tenant_b: Tenant) -> User:
    return staff(tenant_b, "admin@beta.go.id")


@pytest.fixture
def alpha_profile(tenant_a: Tenant) -> dict[str, Any]:
    """Alpha with a filled-in profile (saved through the action), as its state."""
    with tenant_context(tenant_a):
        update_mall_profile(
            {"display_name": "MPP Alpha", "phone": "(0778) 123-456", "opening_hours": WEEK,
             "accent_color": "#0b5fa5"},
            acting_user=None,
        )  # fmt: skip
    return profile_state(tenant_a)


# --- Profile --------------------------------------------------------------------------------


def test_officer_reads_an_empty_then_a_filled_in_profile(
    tenant_a: Tenant, alpha_officer: User
) -> None:
    client = tenant_api(tenant_a, alpha_officer)
    empty = client.get(PROFILE)
    assert empty.status_code == 200
    assert empty.json() == {
        "display_name": "", "address": "", "phone": "", "email": "", "opening_hours": [],
        "accent_color": "", "logo": None, "updated_at": None,
    }  # fmt: skip
    with tenant_context(tenant_a):
        update_mall_profile(
            {"display_name": "MPP Alpha", "opening_hours": WEEK,
             "logo": SimpleUploadedFile("l.png", png_bytes())},
            acting_user=None,
        )  # fmt: skip
        name = get_mall_profile().logo.name
    body = client.get(PROFILE).json()
    assert body["display_name"] == "MPP Alpha" and body["opening_hours"] == WEEK
    assert body["logo"] == f"/media/{name}" and name.startswith("alpha/logo-")
    assert body["updated_at"] is not None


def test_admin_patches_the_profile_and_the_change_is_audited(
    tenant_a: Tenant, alpha_admin: User
) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    response = client.patch(
        PROFILE,
        {"display_name": "  MPP Gerbang Alpha ", "email": "MPP@Alpha.go.id",
         "opening_hours": WEEK, "accent_color": "#7A1F1F"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["display_name"] == "MPP Gerbang Alpha" and body["email"] == "mpp@alpha.go.id"
    assert body["opening_hours"] == WEEK and body["accent_color"] == "#7a1f1f"
    assert profile_state(tenant_a) | {"logo": None} == {
        k: v for k, v in body.items() if k != "updated_at"
    }
    [event] = events(tenant_a)
    assert event.action == "mall.profile_updated" and event.actor_email == "admin@alpha.go.id"
    assert event.before["display_name"] == "" and event.after["accent_color"] == "#7a1f1f"

    # Only what is sent changes; a field set to the same value writes no audit row.
    again = client.patch(PROFILE, {"phone": "0778 1", "email": "mpp@alpha.go.id"}, format="json")
    assert again.status_code == 200 and again.json()["display_name"] == "MPP Gerbang Alpha"
    assert [e.after for e in events(tenant_a)][1] == {"phone": "0778 1"}


def test_admin_uploads_and_removes_the_logo(
    tenant_a: Tenant, alpha_admin: User, media_root: Path
) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    uploaded = client.patch(
        PROFILE, {"logo": logo, "display_name": "MPP Alpha"}, format="multipart"
    )
    assert uploaded.status_code == 200, uploaded.json()
    path = uploaded.json()["logo"]
    assert path.startswith("/media/alpha/logo-") and path.endswith(".png")
    assert uploaded.json()["display_name"] == "MPP Alpha"
    served = Client(HTTP_HOST=tenant_a.host).get(path)
    assert served.status_code == 200 and b"".join(served.streaming_content) == png_bytes()

    removed = client.patch(PROFILE, {"logo": None}, format="json")
    assert removed.status_code == 200 and removed.json()["logo"] is None
    assert profile_state(tenant_a)["logo"] == ""

    # In a form, where there is no null, an empty ``logo`` value removes it.
    again = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    assert client.patch(PROFILE, {"logo": again}, format="multipart").json()["logo"] == path
    emptied = client.patch(PROFILE, {"logo": ""}, format="multipart")
    assert emptied.status_code == 200 and emptied.json()["logo"] is None
    name = path.removeprefix("/media/")
    assert [e.after.get("logo") for e in events(tenant_a)] == [name, "", name, ""]


def test_multipart_opening_hours_are_json_text(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    response = client.patch(PROFILE, {"opening_hours": json.dumps(WEEK)}, format="multipart")
    assert response.status_code == 200, response.json()
    assert profile_state(tenant_a)["opening_hours"] == WEEK


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"accent_color": "merah"}, "accent_color", "Tulis warna sebagai #rrggbb"),
        ({"accent_color": "#ffff00"}, "accent_color", "kontras minimal 4,5:1"),
        ({"opening_hours": WEEK[:6]}, "opening_hours", "tujuh hari"),
        ({"opening_hours": [["8 pagi", "15:00"], *WEEK[1:]]}, "opening_hours",
         "Senin: Tulis jam sebagai JJ:MM"),
        ({"opening_hours": [["15:00", "08:00"], *WEEK[1:]]}, "opening_hours",
         "Senin: Jam tutup harus setelah jam buka."),
        ({"email": "bukan-email"}, "email", ""),  # Django's own message, in the active language
        ({"phone": "telepon kami"}, "phone", "Nomor telepon hanya berisi angka"),
        ({"display_name": "x" * 151}, "display_name", "Paling banyak 150 karakter."),
        ({"display_name": 42}, "display_name", "Must be a string."),
        ({"warna": "#000000"}, "warna", "Kolom tidak dikenal. / Unknown field."),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at", "Unknown field."),
        ({"logo": "/media/beta/logo.png"}, "logo", "null untuk menghapusnya"),
        # A valid field beside a bad one is not stored either: all or nothing.
        ({"display_name": "Baru", "accent_color": "merah"}, "accent_color", "#rrggbb"),
        ({}, "non_field_errors", "Nothing to change."),
        ([{"display_name": "Baru"}], "non_field_errors", "must be a JSON object"),
    ],
)  # fmt: skip
def test_patch_refuses_bad_input_and_changes_nothing(
    tenant_a: Tenant, alpha_admin: User, alpha_profile: dict[str, Any], body: Any, field: str,
    message: str,
) -> None:  # fmt: skip
    audit_before = len(events(tenant_a))
    response = tenant_api(tenant_a, alpha_admin).patch(PROFILE, body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert profile_state(tenant_a) == alpha_profile
    assert len(events(tenant_a)) == audit_before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"logo": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')}, "logo",
         "Logo harus berupa gambar PNG atau JPEG."),
        ({"logo": ("big.png", png_bytes() + b"\0" * 200 * 1024)}, "logo", "200 KB"),
        ({"opening_hours": "senin-jumat"}, "opening_hours", "Send the opening hours as JSON"),
        ({"opening_hours": '[["08:00", "15:00"]]'}, "opening_hours", "tujuh hari"),
    ],
)  # fmt: skip
def test_multipart_patch_refuses_bad_input_and_changes_nothing(
    tenant_a: Tenant, alpha_admin: User, alpha_profile: dict[str, Any], media_root: Path,
    body: dict[str, Any], field: str, message: str,
) -> None:  # fmt: skip
    data = {
        k: SimpleUploadedFile(v[0], v[1]) if isinstance(v, tuple) else v for k, v in body.items()
    }
    response = tenant_api(tenant_a, alpha_admin).patch(PROFILE, data, format="multipart")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert profile_state(tenant_a) == alpha_profile
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


# --- Closures -------------------------------------------------------------------------------


def test_admin_adds_lists_and_removes_closures(tenant_a: Tenant, alpha_admin: User) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    later, sooner = day(tenant_a, 10), day(tenant_a, 3)
    created = client.post(CLOSURES, {"date": later, "name": "Cuti  bersama "}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["date"] == later and created.json()["name"] == "Cuti bersama"
    assert created.json()["created_at"]
    assert (
        client.post(CLOSURES, {"date": sooner, "name": "Nyepi"}, format="json").status_code == 201
    )

    listed = client.get(CLOSURES).json()
    assert listed["count"] == 2
    assert [(r["date"], r["name"]) for r in listed["results"]] == [
        (sooner, "Nyepi"),
        (later, "Cuti bersama"),
    ]
    removed = client.delete(f"{CLOSURES}{later}/")
    assert removed.status_code == 204
    assert closures_of(tenant_a) == {sooner: "Nyepi"}
    assert [r["date"] for r in client.get(CLOSURES).json()["results"]] == [sooner]

    added, _, gone = events(tenant_a)
    assert (added.action, added.actor_email) == ("mall.closure_added", "admin@alpha.go.id")
    assert added.after == {"date": later, "name": "Cuti bersama"}
    assert gone.action == "mall.closure_removed"
    assert gone.before == {"date": later, "name": "Cuti bersama"}
    assert gone.actor_email == "admin@alpha.go.id"


def test_list_shows_past_closures_only_when_asked(tenant_a: Tenant, alpha_officer: User) -> None:
    past = today_of(tenant_a) - dt.timedelta(days=30)
    with tenant_context(tenant_a):
        # The actions refuse a past date, so last month's closure is put straight in the table.
        Closure.objects.create(date=past, name="Tahun Baru Imlek")
        add_closure(today_of(tenant_a), "Hari ini", acting_user=None)
    client = tenant_api(tenant_a, alpha_officer)
    assert [r["name"] for r in client.get(CLOSURES).json()["results"]] == ["Hari ini"]
    for flag in ("1", "true"):
        everything = client.get(f"{CLOSURES}?all={flag}").json()["results"]
        assert [r["name"] for r in everything] == ["Tahun Baru Imlek", "Hari ini"]
    assert len(client.get(f"{CLOSURES}?all=0").json()["results"]) == 1
    refused = client.get(f"{CLOSURES}?all=kadang")
    assert refused.status_code == 400 and "all" in refused.json()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"date": "25-12-2026", "name": "Natal"}, "date", "Tulis tanggal sebagai TTTT-BB-HH"),
        ({"date": "2026-02-30", "name": "Natal"}, "date", "TTTT-BB-HH"),
        ({"date": Days(-1), "name": "Kemarin"}, "date", "Tanggal ini sudah lewat."),
        ({"date": Days(800), "name": "Jauh"}, "date", "Paling jauh dua tahun ke depan."),
        ({"name": "Tanpa tanggal"}, "date", "TTTT-BB-HH"),
        ({"date": Days(10)}, "name", "Isi keterangan"),
        ({"date": Days(10), "name": "   "}, "name", "Isi keterangan"),
        ({"date": Days(10), "name": "x" * 121}, "name", "Paling banyak 120 karakter"),
        ({"date": Days(5), "name": "Lagi"}, "date", "Tanggal ini sudah tercatat: Hari jadi kota."),
        ({"date": Days(10), "name": "Natal", "alasan": "x"}, "alasan", "Unknown field."),
        ({"date": 20261225, "name": "Natal"}, "date", "Must be a string."),
        ({"date": Days(10), "name": ["Natal"]}, "name", "Must be a string."),
    ],
)  # fmt: skip
def test_add_closure_refuses_bad_input_and_changes_nothing(
    tenant_a: Tenant, alpha_admin: User, body: dict[str, Any], field: str, message: str
) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    before, audit_before = closures_of(tenant_a), len(events(tenant_a))
    response = tenant_api(tenant_a, alpha_admin).post(
        CLOSURES, resolved(tenant_a, body), format="json"
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()[field]), response.json()
    assert closures_of(tenant_a) == before
    assert len(events(tenant_a)) == audit_before


@pytest.mark.parametrize("date", ["besok", "2026-13-01", "2026-02-30", "25-12-2026"])
def test_delete_refuses_a_malformed_date(tenant_a: Tenant, alpha_admin: User, date: str) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    response = tenant_api(tenant_a, alpha_admin).delete(f"{CLOSURES}{date}/")
    assert response.status_code == 400
    assert "TTTT-BB-HH" in " ".join(response.json()["date"])
    assert closures_of(tenant_a) == {day(tenant_a, 5): "Hari jadi kota"}
    assert len(events(tenant_a, "mall.closure_removed")) == 0


def test_delete_of_a_date_without_closure_is_404(tenant_a: Tenant, alpha_admin: User) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    response = tenant_api(tenant_a, alpha_admin).delete(f"{CLOSURES}{day(tenant_a, 6)}/")
    assert response.status_code == 404
    assert "No closure on" in response.json()["detail"]
    assert closures_of(tenant_a) == {day(tenant_a, 5): "Hari jadi kota"}
    assert len(events(tenant_a, "mall.closure_removed")) == 0


# --- Roles ----------------------------------------------------------------------------------


def _writes(tenant: Tenant) -> list[tuple[str, str, Any]]:
    return [
        ("patch", PROFILE, {"display_name": "Diubah"}),
        ("post", CLOSURES, {"date": day(tenant, 7), "name": "Libur"}),
        ("delete", f"{CLOSURES}{day(tenant, 5)}/", None),
    ]


def test_anonymous_is_refused_everywhere(tenant_a: Tenant, alpha_profile: dict[str, Any]) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    before = closures_of(tenant_a)
    client = APIClient(HTTP_HOST=tenant_a.host)
    assert client.get(PROFILE).status_code == 401
    assert client.get(CLOSURES).status_code == 401
    for method, path, body in _writes(tenant_a):
        assert getattr(client, method)(path, body, format="json").status_code == 401, path
    assert profile_state(tenant_a) == alpha_profile and closures_of(tenant_a) == before


def test_officer_reads_but_cannot_change_anything(
    tenant_a: Tenant, alpha_officer: User, alpha_profile: dict[str, Any]
) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    before = closures_of(tenant_a)
    client = tenant_api(tenant_a, alpha_officer)
    assert client.get(PROFILE).json()["display_name"] == "MPP Alpha"
    assert client.get(CLOSURES).json()["count"] == 1
    for method, path, body in _writes(tenant_a):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, path
        assert "Only the tenant admin may change the mall" in response.json()["detail"]
    assert profile_state(tenant_a) == alpha_profile and closures_of(tenant_a) == before
    with tenant_context(tenant_a):
        assert not AuditEvent.objects.filter(actor_email=alpha_officer.email).exists()


def test_platform_tokens_do_not_work_on_a_tenant_host(tenant_a: Tenant, operator: User) -> None:
    connection.set_schema_to_public()
    client = api_client_for(operator)
    assert client.get(PROFILE, HTTP_HOST=tenant_a.host).status_code == 401
    patched = client.patch(PROFILE, {"display_name": "X"}, format="json", HTTP_HOST=tenant_a.host)
    assert patched.status_code == 401
    assert profile_state(tenant_a)["display_name"] == ""


def test_the_profile_is_not_served_on_the_apex(operator: User) -> None:
    connection.set_schema_to_public()
    assert api_client_for(operator).get(PROFILE).status_code == 404


def test_a_suspended_tenant_reads_but_refuses_changes(
    tenant_a: Tenant, alpha_admin: User, alpha_profile: dict[str, Any]
) -> None:
    client = tenant_api(tenant_a, alpha_admin)
    suspend_tenant(tenant_a, reason="Tunggakan langganan", acting_user=None)
    route_cache.clear()  # what the on_commit hook does once the transaction commits
    assert client.get(PROFILE).status_code == 200
    for method, path, body in _writes(tenant_a):
        assert getattr(client, method)(path, body, format="json").status_code == 503, path
    assert profile_state(tenant_a) == alpha_profile and closures_of(tenant_a) == {}


# --- Isolation ------------------------------------------------------------------------------


def test_a_token_of_a_is_unknown_on_b(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User
) -> None:
    with tenant_context(tenant_b):
        add_closure(day(tenant_b, 5), "Hari jadi kabupaten", acting_user=None)
    beta_before = (profile_state(tenant_b), closures_of(tenant_b))
    client = tenant_api(tenant_a, alpha_admin)
    assert client.get(PROFILE).status_code == 200
    assert client.get(PROFILE, HTTP_HOST=tenant_b.host).status_code == 401
    assert client.get(CLOSURES, HTTP_HOST=tenant_b.host).status_code == 401
    for method, path, body in _writes(tenant_b):
        response = getattr(client, method)(path, body, format="json", HTTP_HOST=tenant_b.host)
        assert response.status_code == 401, path

    # Alpha's signed-in session presented on beta's host: beta has no such session.
    with tenant_context(tenant_a):
        alpha_admin.set_password(PASSWORD)
        alpha_admin.save()
    session = Client(HTTP_HOST=tenant_a.host)
    signed_in = session.post("/staff/login/", {"username": alpha_admin.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert session.get(CLOSURES).status_code == 200
    assert session.get(CLOSURES, HTTP_HOST=tenant_b.host).status_code == 401
    assert (profile_state(tenant_b), closures_of(tenant_b)) == beta_before
    assert events(tenant_b, "mall.profile") == []


def test_closures_and_profile_of_a_never_reach_b(
    tenant_a: Tenant, tenant_b: Tenant, alpha_admin: User, beta_admin: User
) -> None:
    alpha, beta = tenant_api(tenant_a, alpha_admin), tenant_api(tenant_b, beta_admin)
    date = day(tenant_a, 10)
    added = alpha.post(CLOSURES, {"date": date, "name": "Hari jadi Alpha"}, format="json")
    assert added.status_code == 201
    assert alpha.patch(PROFILE, {"display_name": "MPP Alpha"}, format="json").status_code == 200

    assert beta.get(CLOSURES).json()["count"] == 0
    assert beta.get(f"{CLOSURES}?all=1").json()["count"] == 0
    assert beta.get(PROFILE).json()["display_name"] == ""
    refused = beta.delete(f"{CLOSURES}{date}/")
    assert refused.status_code == 404
    assert closures_of(tenant_a) == {date: "Hari jadi Alpha"}
    # Beta may close on the same date: each schema has its own calendar.
    assert beta.post(CLOSURES, {"date": date, "name": "Beta"}, format="json").status_code == 201
    assert closures_of(tenant_a) == {date: "Hari jadi Alpha"}
    assert [e.action for e in events(tenant_b)] == ["mall.closure_added"]
    assert [e.action for e in events(tenant_a)] == ["mall.closure_added", "mall.profile_updated"]


# --- OpenAPI --------------------------------------------------------------------------------


def test_tenant_openapi_schema_describes_the_mall_api_without_warnings(
    tenant_a: Tenant,
) -> None:
    GENERATOR_STATS.reset()
    response = APIClient(HTTP_HOST=tenant_a.host).get("/api/schema/?format=json")
    assert response.status_code == 200
    warnings = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    assert not warnings, warnings
    paths = response.json()["paths"]
    assert set(paths[PROFILE]) == {"get", "patch"}
    assert set(paths[CLOSURES]) == {"get", "post"}
    assert set(paths[f"{CLOSURES}{{date}}/"]) == {"delete"}
    patch_body = paths[PROFILE]["patch"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(patch_body)
    params = {p["name"] for p in paths[CLOSURES]["get"]["parameters"]}
    assert {"all", "page"} <= params
