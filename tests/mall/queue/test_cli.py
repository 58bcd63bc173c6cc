"""``mpp queue``: counters, queue settings and statistics of one tenant from the command line.

The command only parses arguments and calls the queue's actions (and reports) inside the
tenant's schema; these tests check the output, what is stored, that every bad input names
its option, fails and changes nothing, and that one tenant's slug never reaches another's
counters.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import tenant_context

from mall.queue.models import Counter, QueueSetting
from mpp.audit.models import AuditEvent
from tenants.models import Tenant
from tests.mall.queue.conftest import KK, KTP, MONDAY, Mall
from tests.mall.queue.test_reports import TUESDAY, play_two_days

KIA = "dukcapil-kia"
BPJS = "bpjs-kesehatan-pendaftaran-mandiri"
RANGE = ("--from", MONDAY.isoformat(), "--to", TUESDAY.isoformat())


def queue(*args: str) -> str:
    """Run ``mpp queue …`` from the public schema, as a shell would; its standard output."""
    connection.set_schema_to_public()
    out = StringIO()
    call_command("queue", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    """The CommandError message of ``mpp queue …``, which must fail (exit status 1)."""
    with pytest.raises(CommandError) as error:
        queue(*args)
    assert error.value.returncode == 1
    return str(error.value)


def state(tenant: Tenant) -> tuple[list[Any], list[Any], int]:
    """Counters, settings and the number of audit rows of ``tenant``."""
    with tenant_context(tenant):
        counters = [
            (
                c.pk,
                c.name,
                c.agency_code,
                c.prefix,
                tuple(c.service_keys),
                c.active,
                c.priority_lane,
                tuple(sorted(c.officers.values_list("email", flat=True))),
            )
            for c in Counter.objects.order_by("pk")
        ]
        settings = list(QueueSetting.objects.order_by("service_key").values_list())
        return counters, settings, AuditEvent.objects.count()


# --- counters -----------------------------------------------------------------------------------


def test_counters_are_listed(mall_a: Mall) -> None:
    out = queue("counters", "alpha")
    assert f"{mall_a.counter.pk:>4}  Loket 1" in out
    assert "Loket 2" in out and "[priority lane]" in out
    assert f"officers: {mall_a.officer.email}" in out
    assert f"services: {KTP}, {KK}" in out
    assert out.rstrip().endswith("2 counter(s)")


def test_a_counter_is_created(mall_a: Mall) -> None:
    out = queue(
        "counter", "alpha", "--name", "Loket 5", "--agency", "dukcapil", "--prefix", "kia",
        "--services", f"{KIA}, {KTP}", "--officers", mall_a.officer.email.upper(),
        "--priority-lane",
    )  # fmt: skip
    assert "alpha: counter" in out and "(Loket 5) created" in out
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(name="Loket 5")
        assert (counter.prefix, counter.service_keys, counter.priority_lane, counter.active) == (
            "KIA",
            [KIA, KTP],
            True,
            True,
        )
        assert list(counter.officers.all()) == [mall_a.officer]
        assert AuditEvent.objects.filter(action="queue.counter_saved").latest("pk").after[
            "name"
        ] == ("Loket 5")


def test_a_counter_is_changed_keeping_what_is_not_given(mall_a: Mall) -> None:
    pk = str(mall_a.counter.pk)
    out = queue("counter", "alpha", "--id", pk, "--name", "Loket 1A", "--inactive")
    assert f"counter {pk} (Loket 1A) changed" in out
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(pk=pk)
        assert (counter.name, counter.prefix, counter.service_keys, counter.active) == (
            "Loket 1A",
            "DKP",
            [KTP, KK],
            False,
        )
        assert list(counter.officers.all()) == [mall_a.officer]
    queue("counter", "alpha", "--id", pk, "--active", "--officers", "")
    with tenant_context(mall_a.tenant):
        counter = Counter.objects.get(pk=pk)
        assert counter.active and not counter.officers.exists()
    assert "[inactive]" not in queue("counters", "alpha").split("Loket 2")[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--name", "Loket 9", "--agency", "dukcapil", "--services", KTP], "--prefix: Awalan"),
        (
            ["--name", "Loket 9", "--agency", "dukcapil", "--prefix", "D1", "--services", KTP],
            "--prefix: Awalan nomor 2–4 huruf",
        ),
        (
            ["--name", "loket 2", "--agency", "dukcapil", "--prefix", "DKP", "--services", KTP],
            "--name: Nama loket ini sudah dipakai.",
        ),
        (
            ["--name", "Loket 9", "--agency", "dukcapil", "--prefix", "DKP", "--services", BPJS],
            f"--services: Bukan layanan instansi ini: {BPJS}.",
        ),
        (
            ["--name", "Loket 9", "--agency", "dukcapil", "--prefix", "DKP"],
            "--services: Pilih minimal satu layanan.",
        ),
        (
            ["--name", "Loket 9", "--agency", "nope", "--prefix", "DKP", "--services", KTP],
            "--agency: Instansi tidak ditemukan",
        ),
        (
            [
                "--name",
                "Loket 9",
                "--agency",
                "dukcapil",
                "--prefix",
                "DKP",
                "--services",
                KTP,
                "--officers",
                "siapa@alpha.go.id",
            ],
            "--officers: unknown officer(s): siapa@alpha.go.id",
        ),
        ([], "--name: Isi nama loket"),
    ],
)
def test_bad_counter_input_fails_naming_the_option(
    mall_a: Mall, args: list[str], expected: str
) -> None:
    before = state(mall_a.tenant)
    message = refused("counter", "alpha", *args)
    assert message.startswith("invalid input:")
    assert expected in message
    assert state(mall_a.tenant) == before


def test_every_bad_field_is_reported_at_once(mall_a: Mall) -> None:
    message = refused("counter", "alpha", "--prefix", "1", "--agency", "dukcapil")
    for option in ("--name", "--prefix", "--services"):
        assert f"  {option}: " in message


def test_an_edit_with_bad_input_changes_nothing(mall_a: Mall) -> None:
    before = state(mall_a.tenant)
    message = refused(
        "counter", "alpha", "--id", str(mall_a.counter.pk), "--name", "Loket 2", "--prefix", "X"
    )
    assert "--name: Nama loket ini sudah dipakai." in message and "--prefix" in message
    assert state(mall_a.tenant) == before


def test_an_unknown_counter_id_or_tenant_fails(mall_a: Mall) -> None:
    assert "no counter with id 999999 in alpha" in refused(
        "counter", "alpha", "--id", "999999", "--name", "X"
    )
    assert "no tenant with slug 'nope'" in refused("counters", "nope")


def test_tenant_as_counters_are_unknown_through_tenant_bs_slug(
    mall_a: Mall, tenant_b: Tenant
) -> None:
    before_a = state(mall_a.tenant)
    assert "0 counter(s)" in queue("counters", "beta")
    assert f"no counter with id {mall_a.counter.pk} in beta" in refused(
        "counter", "beta", "--id", str(mall_a.counter.pk), "--inactive"
    )
    # A's officer is no user of B's.
    assert "unknown officer(s): petugas@alpha.go.id" in refused(
        "counter", "beta", "--name", "Loket 1", "--agency", "dukcapil", "--prefix", "DKP",
        "--services", KTP, "--officers", mall_a.officer.email,
    )  # fmt: skip
    queue("counter", "beta", "--name", "Loket B", "--agency", "dukcapil", "--prefix", "DKB",
          "--services", KTP)  # fmt: skip
    assert state(mall_a.tenant) == before_a
    assert "Loket B" not in queue("counters", "alpha")


# --- settings -----------------------------------------------------------------------------------


def test_settings_are_listed(mall_a: Mall) -> None:
    out = queue("settings", "alpha")
    lines = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert lines[KTP].split()[1:5] == ["30", "2", "50", "yes"]
    assert lines[KK].split()[1:] == ["15", "4", "100", "yes", "(default)"]
    assert out.rstrip().endswith("2 service(s)")


def test_a_setting_is_changed_keeping_what_is_not_given(mall_a: Mall) -> None:
    out = queue("settings", "alpha", KTP, "--quota", "75", "--no-online")
    assert "slot 30 min, capacity 2, quota 75, online booking no" in out
    out = queue("settings", "alpha", BPJS, "--slot-minutes", "10")
    assert "slot 10 min, capacity 4, quota 100, online booking yes" in out  # defaults
    with tenant_context(mall_a.tenant):
        assert QueueSetting.objects.get(service_key=BPJS).slot_minutes == 10
        event = AuditEvent.objects.filter(action="queue.setting_saved").latest("pk")
        assert event.after["slot_minutes"] == 10


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([KTP, "--slot-minutes", "4"], "--slot-minutes: Antara 5 dan 120."),
        ([KTP, "--capacity", "0"], "--capacity: Antara 1 dan 500."),
        ([KTP, "--capacity", "999"], "--capacity: Antara 1 dan 500."),
        ([KTP, "--quota", "seratus"], "--quota: Isi angka bulat."),
        (["no-such-service", "--quota", "5"], "SERVICE: Layanan tidak ditemukan."),
    ],
)
def test_bad_settings_fail_naming_the_option(mall_a: Mall, args: list[str], expected: str) -> None:
    before = state(mall_a.tenant)
    assert expected in refused("settings", "alpha", *args)
    assert state(mall_a.tenant) == before


def test_setting_options_need_a_service(mall_a: Mall) -> None:
    assert "name the SERVICE" in refused("settings", "alpha", "--quota", "5")


# --- stats --------------------------------------------------------------------------------------


def test_stats_as_text(mall_a: Mall) -> None:
    play_two_days(mall_a)
    out = queue("stats", "alpha", *RANGE)
    assert out.startswith(f"alpha: {MONDAY.isoformat()} – {TUESDAY.isoformat()} (Asia/Jakarta)")
    total = next(line for line in out.splitlines() if line.startswith("total"))
    # 6 tickets, 1 no-show; waits 20.0 / 30.0 min; service 12.5 / 25.5 min.
    assert total.split()[1:] == ["6", "1", "20.0", "30.0", "12.5", "25.5"]
    assert "  Loket 2" in out and "  (not called yet)" in out and f"  {KTP}" in out


def test_stats_as_json(mall_a: Mall) -> None:
    play_two_days(mall_a)
    data = json.loads(queue("stats", "alpha", *RANGE, "--json"))
    assert data["tenant"] == "alpha" and data["time_zone"] == "Asia/Jakarta"
    assert data["total"] == {
        "tickets": 6,
        "no_shows": 1,
        "wait_median_s": 1200,
        "wait_p90_s": 1800,
        "service_median_s": 750,
        "service_p90_s": 1530,
    }
    assert [d["date"] for d in data["days"]] == [MONDAY.isoformat(), TUESDAY.isoformat()]


def test_stats_of_tenant_b_never_count_tenant_as_tickets(mall_a: Mall, tenant_b: Tenant) -> None:
    play_two_days(mall_a)
    data = json.loads(queue("stats", "beta", *RANGE, "--json"))
    assert data["total"]["tickets"] == 0 and data["counters"] == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2026-02-30"], "--from: Tanggal tidak valid: 2026-02-30"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "--to: Tanggal akhir harus"),
        (["--from", "2026-01-01", "--to", "2026-06-01"], "--to: Rentang paling panjang 92 hari"),
    ],
)
def test_bad_stats_ranges_fail(mall_a: Mall, args: list[str], expected: str) -> None:
    assert expected in refused("stats", "alpha", *args)


def test_the_overview_names_the_verb() -> None:
    from mpp.cli import OVERVIEW

    assert "\n  queue " in OVERVIEW
