"""The mall profile: edited by the tenant admin at /staff/profil/, shown on the portal.

Every change goes through ``mall.actions.update_mall_profile``; these tests check what is
stored, what the audit log says, that bad input changes nothing, who is kept out, and that
one tenant's profile and logo never appear on another's host.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from mall.actions import LOGO_MAX_BYTES, get_mall_profile, update_mall_profile
from mall.models import MallProfile
from mpp.accounts.models import User
from mpp.audit.models import AuditEvent
from tenants import actions as tenant_actions
from tenants.models import Tenant
from tenants.routing import route_cache

PASSWORD = "Rahasia-Profil-2026"
PATH = "/staff/profil/"


def png_bytes(padding: int = 0) -> bytes:
    """A real 1×1 PNG (optionally followed by ``padding`` bytes of an ignored chunk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    extra = chunk(b"teXt", b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def sign_in(tenant: Tenant, email: str, role: str = User.Role.TENANT_ADMIN) -> Client:
    """A client on ``tenant``'s host, signed in through /staff/login/ as ``email``."""
    with tenant_context(tenant):
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, role=role
        )
        user.set_password(PASSWORD)
        user.save()
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    response = client.post("/staff/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return client


@pytest.fixture
def admin_a(tenant_a: Tenant) -> Client:
    return sign_in(tenant_a, "admin@alpha.go.id")


def form_data(**overrides: Any) -> dict[str, Any]:
    """A complete, valid form submission; override any field."""
    data: dict[str, Any] = {
        "display_name": "MPP Gerbang Alpha",
        "address": "Jl. Engku Putri No. 1\nBatam Centre",
        "phone": "(0778) 123-456",
        "email": "MPP@Alpha.go.id",
        "accent_color": "#7A1F1F",
    }
    for day in ("mon", "tue", "wed", "thu"):
        data[f"{day}_open"], data[f"{day}_close"] = "08:00", "15:00"
    data["fri_open"], data["fri_close"] = "08:00", "11:30"
    for day in ("sat", "sun"):
        data[f"{day}_open"] = data[f"{day}_close"] = ""
    return data | overrides


def profile_of(tenant: Tenant) -> MallProfile:
    with tenant_context(tenant):
        return get_mall_profile()


def profile_events(tenant: Tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action="mall.profile_updated").order_by("id"))


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- Editing -------------------------------------------------------------------------------


def test_admin_edits_the_profile_and_the_portal_shows_it(
    tenant_a: Tenant, admin_a: Client, media_root: Path
) -> None:
    assert admin_a.get(PATH).status_code == 200
    response = admin_a.post(PATH, form_data(logo=upload(png_bytes())))
    assert response.status_code == 302 and response["Location"] == PATH

    profile = profile_of(tenant_a)
    assert profile.display_name == "MPP Gerbang Alpha"
    assert profile.email == "mpp@alpha.go.id" and profile.accent_color == "#7a1f1f"
    assert profile.opening_hours == [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]
    assert profile.logo.name.startswith("alpha/logo-") and profile.logo.name.endswith(".png")
    assert files_under(media_root) == [profile.logo.name]

    [event] = profile_events(tenant_a)
    assert event.actor_email == "admin@alpha.go.id"
    assert event.before["display_name"] == "" and event.after["display_name"] == "MPP Gerbang Alpha"
    assert event.after["logo"] == profile.logo.name

    home = Client(HTTP_HOST="alpha.localhost").get("/").content.decode()
    assert "<h1>MPP Gerbang Alpha</h1>" in home
    assert "Jl. Engku Putri No. 1<br>Batam Centre" in home
    assert 'href="tel:(0778)123-456"' in home and "mailto:mpp@alpha.go.id" in home
    assert "<style>:root{--accent:#7a1f1f}</style>" in home
    assert f'<img src="/media/{profile.logo.name}"' in home and 'loading="lazy"' in home
    assert "08.00–11.30" in home

    logo = Client(HTTP_HOST="alpha.localhost").get(f"/media/{profile.logo.name}")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content) == png_bytes()
    assert "immutable" in logo["Cache-Control"]


def test_saving_again_changes_the_one_row_and_logs_only_what_changed(
    tenant_a: Tenant, admin_a: Client
) -> None:
    admin_a.post(PATH, form_data())
    admin_a.post(PATH, form_data(phone="0778 999"))
    with tenant_context(tenant_a):
        assert MallProfile.objects.count() == 1
    _, second = profile_events(tenant_a)
    assert second.before == {"phone": "(0778) 123-456"} and second.after == {"phone": "0778 999"}
    admin_a.post(PATH, form_data(phone="0778 999"))  # nothing new: no event
    assert len(profile_events(tenant_a)) == 2


def test_replacing_and_removing_the_logo_cleans_up_its_file(
    tenant_a: Tenant, admin_a: Client, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        admin_a.post(PATH, form_data(logo=upload(png_bytes())))
    first = profile_of(tenant_a).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        admin_a.post(PATH, form_data(logo=upload(png_bytes(padding=10))))
    second = profile_of(tenant_a).logo.name
    assert second != first and files_under(media_root) == [second]
    assert Client(HTTP_HOST="alpha.localhost").get(f"/media/{first}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        admin_a.post(PATH, form_data(remove_logo="on"))
    assert profile_of(tenant_a).logo.name == "" and files_under(media_root) == []
    assert "<img" not in Client(HTTP_HOST="alpha.localhost").get("/").content.decode()


def test_jpeg_logo_is_accepted(tenant_a: Tenant, admin_a: Client) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"
    assert (
        admin_a.post(PATH, form_data(logo=upload(jpeg, "logo.jpg", "image/jpeg"))).status_code
        == 302
    )
    name = profile_of(tenant_a).logo.name
    assert name.endswith(".jpg")
    served = Client(HTTP_HOST="alpha.localhost").get(f"/media/{name}")
    assert served["Content-Type"] == "image/jpeg"


# --- Bad input: field errors, nothing changed -------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"accent_color": "merah"}, "accent_color", "#rrggbb"),
        ({"accent_color": "#fff"}, "accent_color", "#rrggbb"),
        ({"accent_color": "#ffff00"}, "accent_color", "terlalu terang"),  # unreadable on white
        ({"mon_open": "15:00", "mon_close": "08:00"}, "mon_close", "setelah jam buka"),
        ({"tue_open": "08:00", "tue_close": ""}, "tue_close", "kosongkan keduanya"),
        ({"wed_open": "25:00"}, "wed_open", "waktu yang valid"),
        ({"email": "bukan-email"}, "email", "alamat email"),
        ({"phone": "<script>"}, "phone", "hanya berisi angka"),
        ({"display_name": "x" * 151}, "display_name", "150"),
        ({"logo": "oversize"}, "logo", "200 KB"),
        ({"logo": "svg"}, "logo", "PNG atau JPEG"),
        ({"logo": "text"}, "logo", "PNG atau JPEG"),
    ],
)
def test_bad_input_shows_the_field_error_and_changes_nothing(
    tenant_a: Tenant,
    admin_a: Client,
    media_root: Path,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    admin_a.post(PATH, form_data(display_name="Nama Lama"))
    before = profile_of(tenant_a)
    events = len(profile_events(tenant_a))
    logo = overrides.get("logo")
    if logo == "oversize":
        overrides["logo"] = upload(png_bytes(padding=LOGO_MAX_BYTES))
    elif logo == "svg":
        overrides["logo"] = upload(SVG, "logo.svg", "image/svg+xml")
    elif logo == "text":
        overrides["logo"] = upload(b"hello, not an image", "logo.png", "image/png")
    response = admin_a.post(PATH, form_data(**{"display_name": "Nama Baru", **overrides}))
    assert response.status_code == 200
    page = response.content.decode()
    errors = response.context["form"].errors
    assert list(errors) == [field], errors
    assert message in " ".join(errors[field]), errors[field]
    assert 'class="errorlist' in page
    after = profile_of(tenant_a)
    assert after.display_name == "Nama Lama"
    assert (after.phone, after.email, after.opening_hours, after.accent_color, after.logo.name) == (
        before.phone, before.email, before.opening_hours, before.accent_color, before.logo.name
    )  # fmt: skip
    assert len(profile_events(tenant_a)) == events
    assert files_under(media_root) == []


def test_action_refuses_unknown_and_bad_fields_with_per_field_messages(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as caught:
            update_mall_profile(
                {"nope": 1, "accent_color": "#12345", "opening_hours": [["08:00", "07:00"]] * 7},
                acting_user=None,
            )
        errors = caught.value.message_dict
        assert set(errors) == {"nope", "accent_color", "opening_hours"}
        assert errors["opening_hours"][0].startswith("Senin:")
        with pytest.raises(ValidationError) as caught:
            update_mall_profile({"opening_hours": "setiap hari"}, acting_user=None)
        assert "opening_hours" in caught.value.message_dict
        assert not MallProfile.objects.exists()
        assert not AuditEvent.objects.filter(action="mall.profile_updated").exists()


# --- Who may edit ------------------------------------------------------------------------------


def test_officer_cannot_edit_the_profile(tenant_a: Tenant) -> None:
    officer = sign_in(tenant_a, "petugas@alpha.go.id", role=User.Role.OFFICER)
    assert officer.get(PATH).status_code == 403
    response = officer.post(PATH, form_data())
    assert response.status_code == 403
    with tenant_context(tenant_a):
        assert not MallProfile.objects.exists()
    assert profile_events(tenant_a) == []


def test_anonymous_visitor_is_sent_to_sign_in(tenant_a: Tenant) -> None:
    response = Client(HTTP_HOST="alpha.localhost").post(PATH, form_data())
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    with tenant_context(tenant_a):
        assert not MallProfile.objects.exists()


def test_admin_of_b_cannot_edit_a(tenant_a: Tenant, tenant_b: Tenant) -> None:
    admin_b = sign_in(tenant_b, "admin@beta.go.id")
    intruder = Client(HTTP_HOST="alpha.localhost")
    intruder.cookies["sessionid"] = admin_b.cookies["sessionid"].value
    response = intruder.post(PATH, form_data(display_name="Diretas dari Beta"))
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    assert admin_b.post(PATH, form_data(display_name="MPP Beta")).status_code == 302
    assert profile_of(tenant_a).display_name == ""
    assert profile_of(tenant_b).display_name == "MPP Beta"
    assert "MPP Beta" not in Client(HTTP_HOST="alpha.localhost").get("/").content.decode()


def test_logo_of_a_is_not_served_on_b(tenant_a: Tenant, admin_a: Client) -> None:
    admin_a.post(PATH, form_data(logo=upload(png_bytes())))
    name = profile_of(tenant_a).logo.name
    beta = Client(HTTP_HOST="beta.localhost")
    assert beta.get(f"/media/{name}").status_code == 404
    assert beta.get(f"/media/{name.replace('alpha/', 'beta/')}").status_code == 404
    alpha = Client(HTTP_HOST="alpha.localhost")
    for path in ("/media/../alpha/" + name, "/media/alpha/", "/media/beta/logo.png"):
        assert alpha.get(path).status_code == 404, path


def test_suspended_tenant_refuses_profile_changes(tenant_a: Tenant, admin_a: Client) -> None:
    tenant_actions.suspend_tenant(tenant_a, reason="Tunggakan langganan", acting_user=None)
    route_cache.clear()  # what the on_commit hook does once the transaction commits
    page = admin_a.get(PATH)
    assert page.status_code == 200 and "Layanan ditangguhkan" in page.content.decode()
    assert admin_a.post(PATH, form_data()).status_code == 503
    with tenant_context(tenant_a):
        assert not MallProfile.objects.exists()
