"""``mpp mall``: the profile and closures of one tenant from the command line.

The command only parses arguments and calls ``mall.actions`` inside the tenant's schema, so
these tests check the output, what is stored, the error messages, and that tenant A's changes
never touch tenant B.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import tenant_context

from mall.actions import add_closure, get_mall_profile, local_today, update_mall_profile
from mall.models import Closure
from mpp.audit.models import AuditEvent
from tenants.models import Tenant

WEEK = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], None, None]


def mall(*args: str) -> str:
    """Run ``mpp mall …`` from the public schema, as a shell would; its standard output."""
    connection.set_schema_to_public()
    out = StringIO()
    call_command("mall", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    """The CommandError message of ``mpp mall …``, which must fail."""
    with pytest.raises(CommandError) as error:
        mall(*args)
    return str(error.value)


def day(tenant: Tenant, offset: int) -> str:
    """``YYYY-MM-DD`` of ``offset`` days from the tenant's today (so tests never rot)."""
    with tenant_context(tenant):
        return (local_today() + dt.timedelta(days=offset)).isoformat()


def profile_state(tenant: Tenant) -> dict[str, Any]:
    with tenant_context(tenant):
        profile = get_mall_profile()
        fields = ("display_name", "address", "phone", "email", "opening_hours", "accent_color")
        return {f: getattr(profile, f) for f in fields} | {"logo": profile.logo.name or ""}


def closures_of(tenant: Tenant) -> dict[str, str]:
    with tenant_context(tenant):
        return {c.date.isoformat(): c.name for c in Closure.objects.order_by("date")}


def events(tenant: Tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action__startswith="mall.").order_by("id"))


def png_file(path: Path) -> Path:
    """A real 1×1 PNG written at ``path``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def alpha_profile(tenant_a: Tenant) -> dict[str, Any]:
    """Alpha with a filled-in profile (saved through the action), as its state."""
    with tenant_context(tenant_a):
        update_mall_profile(
            {"display_name": "MPP Alpha", "address": "Jl. Engku Putri 1\nBatam Centre",
             "opening_hours": WEEK, "accent_color": "#0b5fa5"},
            acting_user=None,
        )  # fmt: skip
    return profile_state(tenant_a)


# --- Profile --------------------------------------------------------------------------------


def test_profile_prints_every_field(tenant_a: Tenant, alpha_profile: dict[str, Any]) -> None:
    out = mall("profile", "alpha")
    assert "display_name   MPP Alpha\n" in out
    assert "address        Jl. Engku Putri 1\n               Batam Centre\n" in out
    assert "phone          -\n" in out and "logo           -\n" in out
    assert "accent_color   #0b5fa5\n" in out
    # The week as JSON (what --set takes back), then one line a day.
    assert f"opening_hours  {json.dumps(WEEK)}\n" in out
    assert "  mon          08:00–15:00\n" in out and "  fri          08:00–11:30\n" in out
    assert "  sun          closed\n" in out


def test_profile_of_a_tenant_never_edited_is_empty(tenant_b: Tenant) -> None:
    out = mall("profile", "beta")
    assert "display_name   -\n" in out and "opening_hours  -\n" in out
    assert profile_state(tenant_b)["display_name"] == ""  # reading never writes


def test_set_changes_fields_and_is_audited(
    tenant_a: Tenant, tenant_b: Tenant, alpha_profile: dict[str, Any]
) -> None:
    hours = [["07:30", "16:00"]] * 5 + [["08:00", "12:00"], None]
    out = mall(
        "profile", "alpha", "--set", "display_name=MPP Gerbang Alpha",
        "--set", f"opening_hours={json.dumps(hours)}", "--set", "accent_color=#7A1F1F",
        "--set", "phone=",
    )  # fmt: skip
    assert out.startswith("alpha: changed display_name, opening_hours, accent_color\n")
    assert "display_name   MPP Gerbang Alpha\n" in out and "  sat          08:00–12:00\n" in out
    state = profile_state(tenant_a)
    assert state == alpha_profile | {
        "display_name": "MPP Gerbang Alpha", "opening_hours": hours, "accent_color": "#7a1f1f",
    }  # fmt: skip
    event = events(tenant_a)[-1]
    assert event.action == "mall.profile_updated" and event.actor_email == ""
    assert event.before == {
        "display_name": "MPP Alpha", "opening_hours": WEEK, "accent_color": "#0b5fa5",
    }  # fmt: skip
    assert profile_state(tenant_b)["display_name"] == "" and events(tenant_b) == []


def test_setting_the_same_values_changes_nothing(
    tenant_a: Tenant, alpha_profile: dict[str, Any]
) -> None:
    audit_before = len(events(tenant_a))
    out = mall("profile", "alpha", "--set", "display_name=MPP Alpha")
    assert out.startswith("alpha: nothing changed\n")
    assert len(events(tenant_a)) == audit_before


def test_set_clears_the_opening_hours_with_an_empty_value(
    tenant_a: Tenant, alpha_profile: dict[str, Any]
) -> None:
    mall("profile", "alpha", "--set", "opening_hours=")
    assert profile_state(tenant_a)["opening_hours"] == []


def test_set_logo_from_a_file_then_remove_it(
    tenant_a: Tenant, tmp_path: Path, media_root: Path
) -> None:
    logo = png_file(tmp_path / "logo.png")
    out = mall("profile", "alpha", "--set", f"logo={logo}")
    name = profile_state(tenant_a)["logo"]
    assert name.startswith("alpha/logo-") and (media_root / name).read_bytes() == logo.read_bytes()
    assert f"logo           /media/{name}\n" in out
    mall("profile", "alpha", "--set", "logo=")
    assert profile_state(tenant_a)["logo"] == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["accent_color=merah"], "accent_color: Tulis warna sebagai #rrggbb"),
        (["accent_color=#ffff00"], "accent_color: Warna terlalu terang"),
        (["opening_hours=[[\"08:00\""], "opening_hours: not valid JSON"),
        (['opening_hours=[["08:00", "15:00"]]'], "opening_hours: Jam layanan harus berisi tujuh"),
        (['opening_hours=[["15:00", "08:00"], null, null, null, null, null, null]'],
         "opening_hours: Senin: Jam tutup harus setelah jam buka."),
        (["phone=telepon kami"], "phone: Nomor telepon hanya berisi angka"),
        (["warna=#000000"], "warna: Kolom ini tidak dikenal."),
        # A valid field beside a bad one is not stored either: all or nothing.
        (["display_name=Baru", "accent_color=merah"], "accent_color: Tulis warna"),
        (["display_name"], "--set expects field=value, got 'display_name'"),
        (["=x"], "--set expects field=value"),
        (["phone=1234567", "phone=7654321"], "phone: given more than once"),
        (["logo=/tidak/ada.png"], "logo: no such file '/tidak/ada.png'"),
    ],
)  # fmt: skip
def test_set_refuses_bad_input_and_changes_nothing(
    tenant_a: Tenant, alpha_profile: dict[str, Any], options: list[str], message: str
) -> None:
    audit_before = len(events(tenant_a))
    args = [arg for option in options for arg in ("--set", option)]
    assert message in refused("profile", "alpha", *args)
    assert profile_state(tenant_a) == alpha_profile
    assert len(events(tenant_a)) == audit_before


def test_set_refuses_a_logo_that_is_not_an_image(
    tenant_a: Tenant, tmp_path: Path, media_root: Path
) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>')
    assert "logo: Logo harus berupa gambar PNG atau JPEG." in refused(
        "profile", "alpha", "--set", f"logo={svg}"
    )
    assert profile_state(tenant_a)["logo"] == "" and not media_root.exists()


# --- Closures -------------------------------------------------------------------------------


def test_closures_add_list_and_remove(tenant_a: Tenant, tenant_b: Tenant) -> None:
    later, sooner = day(tenant_a, 10), day(tenant_a, 3)
    assert mall("closures", "alpha") == "0 upcoming closure(s)\n"
    out = mall("closures", "alpha", "add", later, "Cuti  bersama")
    assert out == f"alpha: closed on {later}: Cuti bersama\n"
    mall("closures", "alpha", "add", sooner, "Nyepi")
    assert mall("closures", "alpha") == (
        f"{sooner}  Nyepi\n{later}  Cuti bersama\n2 upcoming closure(s)\n"
    )
    assert mall("closures", "alpha", "remove", later) == f"alpha: open again on {later}\n"
    assert closures_of(tenant_a) == {sooner: "Nyepi"}

    added, _, removed = events(tenant_a)
    assert added.action == "mall.closure_added" and added.after == {
        "date": later, "name": "Cuti bersama",
    }  # fmt: skip
    assert removed.action == "mall.closure_removed" and removed.before["date"] == later
    assert closures_of(tenant_b) == {} and events(tenant_b) == []
    assert mall("closures", "beta") == "0 upcoming closure(s)\n"


def test_closures_all_lists_past_ones_too(tenant_a: Tenant) -> None:
    past = day(tenant_a, -30)
    with tenant_context(tenant_a):
        # The actions refuse a past date, so last month's closure is put straight in the table.
        Closure.objects.create(date=dt.date.fromisoformat(past), name="Tahun Baru Imlek")
        add_closure(day(tenant_a, 0), "Hari ini", acting_user=None)
    assert mall("closures", "alpha").splitlines() == [
        f"{day(tenant_a, 0)}  Hari ini",
        "1 upcoming closure(s)",
    ]
    assert mall("closures", "alpha", "--all").splitlines() == [
        f"{past}  Tahun Baru Imlek",
        f"{day(tenant_a, 0)}  Hari ini",
        "2 closure(s)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "25-12-2026", "Natal"], "date: Tulis tanggal sebagai TTTT-BB-HH"),
        (["add", -1, "Kemarin"], "date: Tanggal ini sudah lewat."),
        (["add", 800, "Jauh"], "date: Paling jauh dua tahun ke depan."),
        (["add", 10, "  "], "name: Isi keterangan"),
        (["add", 5, "Lagi"], "date: Tanggal ini sudah tercatat: Hari jadi kota."),
        (["remove", 6], "date: Tidak ada penutupan pada tanggal ini."),
        (["remove", "besok"], "date: Tulis tanggal sebagai TTTT-BB-HH"),
    ],
)
def test_closures_refuse_bad_input_and_change_nothing(
    tenant_a: Tenant, args: list[Any], message: str
) -> None:
    with tenant_context(tenant_a):
        add_closure(day(tenant_a, 5), "Hari jadi kota", acting_user=None)
    before, audit_before = closures_of(tenant_a), len(events(tenant_a))
    # Whole numbers stand for "that many days from today", so the cases never rot.
    argv = [day(tenant_a, a) if isinstance(a, int) else a for a in args]
    error = refused("closures", "alpha", *argv)
    assert error.startswith("invalid input:\n") and message in error
    assert closures_of(tenant_a) == before
    assert len(events(tenant_a)) == audit_before


def test_removing_a_date_of_a_on_b_leaves_a_alone(tenant_a: Tenant, tenant_b: Tenant) -> None:
    date = day(tenant_a, 10)
    mall("closures", "alpha", "add", date, "Hari jadi Alpha")
    assert "date: Tidak ada penutupan" in refused("closures", "beta", "remove", date)
    assert closures_of(tenant_a) == {date: "Hari jadi Alpha"}
    assert mall("closures", "beta", "--all") == "0 closure(s)\n"


# --- Tenants --------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", [["profile"], ["closures"]])
def test_unknown_slug_is_refused_naming_only_that_slug(tenant_a: Tenant, verb: list[str]) -> None:
    message = refused(*verb, "gamma")
    assert message.startswith("no tenant with slug 'gamma'")
    assert "alpha" not in message and "beta" not in message


def test_archived_tenant_is_refused(tenant_b: Tenant) -> None:
    Tenant.objects.filter(pk=tenant_b.pk).update(status=Tenant.Status.ARCHIVED)
    for args in (
        ["profile", "beta"],
        ["profile", "beta", "--set", "display_name=X"],
        ["closures", "beta"],
        ["closures", "beta", "add", day(tenant_b, 5), "Libur"],
    ):
        assert refused(*args) == "tenant beta is archived; its mall cannot be read or changed"
    assert profile_state(tenant_b)["display_name"] == "" and closures_of(tenant_b) == {}
