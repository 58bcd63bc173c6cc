"""Tenants stay apart behind PgBouncer in transaction mode (``DB_POOL_MODE=transaction``).

A private PgBouncer (Debian's ``pgbouncer``; the tests that need it skip when it is missing)
is started in front of the test database with ``pool_mode = transaction`` and two pools: two
server connections (``default_pool_size = 2``) and one (``<db>_single``). Against it:

1. the hazard, deterministically: with one server connection, django-tenants' own backend
   sets client 1's path, client 2 sets its own, and client 1's query runs with client 2's;
2. the fix, deterministically: ``mpp.db.backend`` reads the right tenant in the same
   sequence, even from a server connection left on a third path, and leaves no path behind;
3. under load: a process of its own (``pgbouncer_worker.py``) sends concurrent requests for
   12 committed tenants through the whole Django stack, each reading its tenant's marker and
   writing tagged rows in autocommit mode and in a transaction. With the stock backend rows
   are served across tenants (the control); with ``DB_POOL_MODE=transaction`` none is, and
   every row written is in its own tenant's schema and nowhere else.

Tests 1–3 use tenants provisioned and committed for this module and dropped after it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.utils import ConnectionHandler, NotSupportedError, load_backend
from django.test import override_settings
from django_tenants.utils import tenant_context
from psycopg import sql

from mall.actions import update_mall_profile
from mpp.db import direct_connection_params
from mpp.db.locks import advisory_lock
from tenants.models import Province, Tenant
from tenants.provisioning import TenantSpec, provision_tenant

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)
needs_pgbouncer = pytest.mark.skipif(
    PGBOUNCER is None,
    reason="Debian's pgbouncer is not installed (apt-get install -y pgbouncer)",
)
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
STOCK_ENGINE = "django_tenants.postgresql_backend"
POOLED_ENGINE = "mpp.db.backend"
TENANTS = 12
THREADS = 16
REQUESTS_PER_THREAD = 20


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe_tenants(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Tenant]]:
    """Twelve committed tenants, each with its own marker as the mall's display name."""
    made: dict[str, Tenant] = {}
    with override_settings(TASKS=DUMMY_TASKS), django_db_blocker.unblock():
        kepri = Province.objects.get(code="21")
        try:
            for i in range(TENANTS):
                slug = f"pgb{i:02d}"
                tenant = provision_tenant(
                    TenantSpec(
                        province=kepri,
                        name=f"Kota Pgb {i}",
                        slug=slug,
                        kind="kota",
                        region_code=f"21.{40 + i}",
                        admin_email=f"admin@{slug}.go.id",
                    ),
                    acting_user=None,
                )
                made[slug] = tenant
                with tenant_context(tenant):
                    update_mall_profile({"display_name": marker(slug)}, acting_user=None)
            connection.set_schema_to_public()
            yield made
        finally:
            connection.set_schema_to_public()
            for tenant in made.values():
                Tenant.objects.get(pk=tenant.pk).delete(force_drop=True)


def marker(slug: str) -> str:
    return f"Penanda {slug}"


@dataclass(frozen=True)
class Bouncer:
    """A running PgBouncer: its port and the two pools' database names."""

    port: int
    pooled: str  # two server connections
    single: str  # one server connection
    user: str

    def settings_for(self, database: str, engine: str) -> dict[str, Any]:
        """A DATABASES entry reaching ``database`` through this PgBouncer with ``engine``."""
        return {
            **connection.settings_dict,
            "ENGINE": engine,
            "NAME": database,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "OPTIONS": {},
            "CONN_MAX_AGE": 0,
            "DISABLE_SERVER_SIDE_CURSORS": True,
        }

    def connect(self, database: str) -> psycopg.Connection[Any]:
        """A plain psycopg client of ``database`` through this PgBouncer (autocommit)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname=database, user=self.user, autocommit=True
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def bouncer(django_db_setup: None) -> Iterator[Bouncer]:
    """A private PgBouncer in transaction mode in front of the test database."""
    if PGBOUNCER is None:
        pytest.skip("Debian's pgbouncer is not installed (apt-get install -y pgbouncer)")
    db = connection.settings_dict
    host, port = db["HOST"] or "/var/run/postgresql", db["PORT"] or "5432"
    user = db["USER"] or pwd.getpwuid(os.getuid()).pw_name
    work = Path(tempfile.mkdtemp(prefix="mpp-pgbouncer-"))
    listen = _free_port()
    name = db["NAME"]
    target = f"host={host} port={port} dbname={name}"
    lines = [
        "[databases]",
        f"{name} = {target}",
        f"{name}_single = {target} pool_size=1",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {listen}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {work / 'users.txt'}",
        "pool_mode = transaction",
        "default_pool_size = 2",
        "max_client_conn = 200",
        f"logfile = {work / 'pgbouncer.log'}",
        f"pidfile = {work / 'pgbouncer.pid'}",
    ]
    if os.getuid() == 0:
        # PgBouncer refuses to run as root; run it as whoever may open the server's socket.
        owner = os.stat(host).st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
        lines.append(f"user = {pwd.getpwuid(owner).pw_name}")
    (work / "users.txt").write_text(f'"{user}" ""\n')
    (work / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    if os.getuid() == 0:
        for path in (work, *work.iterdir()):
            os.chown(path, owner, -1)
    process = subprocess.Popen(
        [PGBOUNCER, str(work / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Bouncer(port=listen, pooled=name, single=f"{name}_single", user=user)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with running.connect(running.pooled) as probe:
                    probe.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                log = work / "pgbouncer.log"
                if process.poll() is not None or time.monotonic() > deadline:
                    detail = log.read_text() if log.exists() else "(no log)"
                    pytest.fail(f"pgbouncer did not start:\n{detail[-2000:]}")
                time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def _wrapper(bouncer: Bouncer, database: str, engine: str, tenant: Tenant) -> Any:
    """A Django connection of ``engine`` through PgBouncer, pointed at ``tenant``."""
    wrapper = load_backend(engine).DatabaseWrapper(bouncer.settings_for(database, engine))
    wrapper.set_tenant(tenant)
    return wrapper


def _read_marker(cursor: Any) -> str:
    cursor.execute("SELECT display_name FROM mall_mallprofile")
    return cursor.fetchone()[0]


# --- 1 and 2: one server connection, two clients ------------------------------------------


@needs_pgbouncer
def test_stock_django_tenants_serves_another_tenants_rows_through_transaction_pooling(
    bouncer: Bouncer, probe_tenants: dict[str, Tenant]
) -> None:
    one, two = probe_tenants["pgb00"], probe_tenants["pgb01"]
    first = _wrapper(bouncer, bouncer.single, STOCK_ENGINE, one)
    second = _wrapper(bouncer, bouncer.single, STOCK_ENGINE, two)
    try:
        cursor_one = first.cursor()  # SET search_path = pgb00 — its own transaction
        cursor_two = second.cursor()  # SET search_path = pgb01 — on the same server connection
        assert _read_marker(cursor_one) == marker("pgb01")  # client 1 reads tenant 2's row
        # With TENANT_LIMIT_SET_CALLS the path is not set again: every later query is wrong too.
        with first.cursor() as again:
            assert _read_marker(again) == marker("pgb01")
        assert _read_marker(cursor_two) == marker("pgb01")
    finally:
        first.close()
        second.close()


@needs_pgbouncer
def test_pooled_backend_reads_its_own_tenant_and_leaves_no_path_behind(
    bouncer: Bouncer, probe_tenants: dict[str, Tenant]
) -> None:
    one, two = probe_tenants["pgb00"], probe_tenants["pgb01"]
    with bouncer.connect(bouncer.single) as other:
        # The only server connection is left on a third path, as a stock client would leave it.
        other.execute(sql.SQL("SET search_path = {}").format(sql.Identifier("pgb02")))
        first = _wrapper(bouncer, bouncer.single, POOLED_ENGINE, one)
        second = _wrapper(bouncer, bouncer.single, POOLED_ENGINE, two)
        try:
            cursor_one = first.cursor()
            cursor_two = second.cursor()
            assert _read_marker(cursor_one) == marker("pgb00")
            assert _read_marker(cursor_two) == marker("pgb01")
            assert _read_marker(cursor_one) == marker("pgb00")
            # SET LOCAL ended with each statement's transaction: the session path is untouched.
            assert other.execute("SHOW search_path").fetchone()[0] == "pgb02"
        finally:
            first.close()
            second.close()


# --- 3: under load ----------------------------------------------------------------------------


def _run_worker(bouncer: Bouncer, pool_mode: str, action: str, markers: dict[str, str]) -> Any:
    """Run pgbouncer_worker.py against PgBouncer; return the JSON it printed."""
    db = connection.settings_dict
    direct = f"postgresql://{db['USER']}@/{db['NAME']}?host={db['HOST']}"
    if db["PORT"]:
        direct = f"postgresql://{db['USER']}@:{db['PORT']}/{db['NAME']}?host={db['HOST']}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{bouncer.user}@127.0.0.1:{bouncer.port}/{bouncer.pooled}",
        "DATABASE_DIRECT_URL": direct,
        "DB_POOL_MODE": pool_mode,
        "TENANT_ROUTING_CACHE": "0",  # a routing query in public on every request as well
        "TASKS_BACKEND": "dummy",
        "PLATFORM_DOMAIN": settings.PLATFORM_DOMAIN,
        "LOG_LEVEL": "CRITICAL",
        "DJANGO_SETTINGS_MODULE": "mpp.settings",
    }
    config = {
        "action": action,
        "markers": markers,
        "threads": THREADS,
        "requests": REQUESTS_PER_THREAD,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.deploy.pgbouncer_worker", json.dumps(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _probe_rows(action: str) -> dict[str, dict[str, int]]:
    """For every schema holding an audit table: tenant tag → rows written with ``action``."""
    found: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'audit_auditevent' AND c.relkind = 'r' ORDER BY 1"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(
                sql.SQL(
                    "SELECT after->>'tenant', count(*) FROM {}.audit_auditevent "
                    "WHERE action = %s GROUP BY 1"
                ).format(sql.Identifier(schema)),
                [action],
            )
            if rows := dict(cursor.fetchall()):
                found[schema] = rows
    return found


def _delete_probe_rows(action: str) -> None:
    """Remove (committed) probe rows from every schema, public included."""
    with psycopg.connect(**direct_connection_params(), autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'audit_auditevent' AND c.relkind = 'r'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(
                sql.SQL("DELETE FROM {}.audit_auditevent WHERE action = %s").format(
                    sql.Identifier(schema)
                ),
                [action],
            )


@needs_pgbouncer
def test_stock_backend_under_load_mixes_tenants(
    bouncer: Bouncer, probe_tenants: dict[str, Tenant]
) -> None:
    """The control: the same load with django-tenants' backend crosses tenants."""
    action = "scale.probe.stock"
    markers = {slug: marker(slug) for slug in probe_tenants}
    try:
        seen = _run_worker(bouncer, "session", action, markers)
        print(f"\nstock backend through PgBouncer: {seen}")
        assert seen["engine"] == "django_tenants.postgresql_backend.base"
        assert seen["requests"] == THREADS * REQUESTS_PER_THREAD
        assert seen["wrong_reads"] + seen["errors"] > 0
    finally:
        _delete_probe_rows(action)


@needs_pgbouncer
def test_pooled_backend_under_load_keeps_every_row_in_its_tenant(
    bouncer: Bouncer, probe_tenants: dict[str, Tenant]
) -> None:
    action = "scale.probe.pooled"
    markers = {slug: marker(slug) for slug in probe_tenants}
    try:
        seen = _run_worker(bouncer, "transaction", action, markers)
        rows = _probe_rows(action)
        total = THREADS * REQUESTS_PER_THREAD
        print(
            f"\nmpp.db.backend through PgBouncer: {seen['requests']} requests for "
            f"{len(markers)} tenants from {THREADS} threads over 2 server connections in "
            f"{seen['seconds']} s: {seen['wrong_reads']} wrong reads, {seen['errors']} errors; "
            f"{sum(sum(r.values()) for r in rows.values())} rows written, "
            f"{sum(n for s, r in rows.items() for t, n in r.items() if t != s)} in a wrong schema"
        )
        assert seen["engine"] == "mpp.db.backend.base"
        assert seen["requests"] == total
        assert (seen["wrong_reads"], seen["errors"], seen["examples"]) == (0, 0, [])
        # Two rows per request (autocommit and atomic), each in its own tenant's schema only.
        expected = {slug: {slug: 2 * n} for slug, n in seen["per_tenant"].items() if n}
        assert rows == expected
    finally:
        _delete_probe_rows(action)


# --- the backend without PgBouncer ------------------------------------------------------------


@pytest.fixture
def pooled() -> Iterator[Any]:
    """A ``mpp.db.backend`` connection straight to the test database, as alias ``pooled``."""
    entry = {**connection.settings_dict, "ENGINE": POOLED_ENGINE, "CONN_MAX_AGE": 0}
    entry["DISABLE_SERVER_SIDE_CURSORS"] = True
    wrapper = load_backend(POOLED_ENGINE).DatabaseWrapper(entry, alias="pooled")
    connections["pooled"] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections["pooled"]


def _session_path(wrapper: Any) -> str:
    """The session's search_path, read past Django's execute hooks."""
    return wrapper.connection.execute("SHOW search_path").fetchone()[0]


def test_autocommit_statements_carry_their_path_and_leave_none(
    pooled: Any, tenant_a: Tenant
) -> None:
    pooled.set_tenant(tenant_a)
    with pooled.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone()[0] == "alpha"
    assert _session_path(pooled) == '"$user", public'
    # Statements PostgreSQL refuses in a transaction block are not wrapped in one.
    with pooled.cursor() as cursor:
        cursor.execute("VACUUM public.tenants_domain")


def test_transactions_set_the_path_once_and_again_after_a_switch(
    pooled: Any, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    pooled.set_tenant(tenant_a)
    statements: list[str] = []

    def record(execute: Any, sql_: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql_)
        return execute(sql_, params, many, context)

    with transaction.atomic(using="pooled"), pooled.execute_wrapper(record):
        with pooled.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "alpha"
            cursor.execute("SELECT 1")
        assert _session_path(pooled) == "alpha, public"
        pooled.set_tenant(tenant_b)
        with pooled.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "beta"
    assert [s for s in statements if "search_path" in s] == [
        'SET LOCAL search_path = "alpha","public"',
        'SET LOCAL search_path = "beta","public"',
    ]
    assert _session_path(pooled) == '"$user", public'  # gone with the transaction


def test_a_failed_autocommit_statement_rolls_its_transaction_back(
    pooled: Any, tenant_a: Tenant
) -> None:
    pooled.set_tenant(tenant_a)
    with pytest.raises(Exception, match="no_such_table"), pooled.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert pooled.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with pooled.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone()[0] == "alpha"


def test_session_advisory_locks_are_refused_with_a_pointer_to_the_fix(pooled: Any) -> None:
    with pytest.raises(NotSupportedError, match=r"mpp\.db\.locks\.advisory_lock"):
        with pooled.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [42])
    with pooled.cursor() as cursor:  # the transaction-level ones are fine
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [42])


def test_the_pooled_backend_requires_server_side_cursors_off() -> None:
    entry = {**connection.settings_dict, "ENGINE": POOLED_ENGINE}
    entry["DISABLE_SERVER_SIDE_CURSORS"] = False
    with pytest.raises(Exception, match="DISABLE_SERVER_SIDE_CURSORS"):
        load_backend(POOLED_ENGINE).DatabaseWrapper(entry, alias="pooled")


def test_advisory_lock_holds_a_session_lock_on_a_connection_of_its_own() -> None:
    key = 0x5A7A_0001
    with psycopg.connect(**direct_connection_params(), autocommit=True) as other:

        def taken_elsewhere() -> bool:
            row = other.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            if row[0]:
                other.execute("SELECT pg_advisory_unlock(%s)", [key])
            return not row[0]

        with advisory_lock(key) as held:
            assert held and taken_elsewhere()
            with advisory_lock(key, wait=False) as second:
                assert second is False
        assert not taken_elsewhere()


def test_listeners_use_the_direct_alias_when_configured() -> None:
    assert direct_connection_params()["dbname"] == connection.settings_dict["NAME"]
    handler = ConnectionHandler(
        {
            "default": {**connection.settings_dict, "HOST": "pgbouncer.internal"},
            "direct": {**connection.settings_dict, "HOST": "/run/postgresql"},
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mpp.db.connections", handler)
        params = direct_connection_params()
    assert params["host"] == "/run/postgresql"
    assert not {"cursor_factory", "context", "prepare_threshold"} & set(params)


def _settings_in_subprocess(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, mpp.settings as s; d = s.DATABASES; "
        "print(json.dumps({a: [d[a]['ENGINE'], d[a].get('DISABLE_SERVER_SIDE_CURSORS'), "
        "d[a]['HOST'], d[a].get('TEST', {}).get('MIRROR')] for a in d}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DB_POOL_MODE"}}
    clean |= {"DATABASE_URL": "postgresql://u@pgbouncer:6432/satuatap"} | env
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


def test_pool_mode_setting() -> None:
    done = _settings_in_subprocess(
        DB_POOL_MODE="transaction", DATABASE_DIRECT_URL="postgresql://u@db:5432/satuatap"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "default": ["mpp.db.backend", True, "pgbouncer", None],
        "direct": ["django_tenants.postgresql_backend", None, "db", "default"],
    }
    missing = _settings_in_subprocess(DB_POOL_MODE="transaction", DATABASE_DIRECT_URL="")
    assert missing.returncode != 0 and "needs DATABASE_DIRECT_URL" in missing.stderr
    bad = _settings_in_subprocess(DB_POOL_MODE="statement")
    assert bad.returncode != 0 and "DB_POOL_MODE must be session or transaction" in bad.stderr
    plain = _settings_in_subprocess(DATABASE_DIRECT_URL="")
    assert json.loads(plain.stdout)["default"][0] == STOCK_ENGINE
