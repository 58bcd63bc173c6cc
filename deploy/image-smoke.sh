#!/usr/bin/env bash
# `make image-smoke`: build the container image and prove it serves, with no registry and
# no container daemon (buildah's chroot isolation; run as root).
#
#   1. base image: Debian bookworm with python3 by debootstrap, cached in $SMOKE_CACHE
#   2. deploy/Dockerfile built on it (BASE_IMAGE build argument)
#   3. a throwaway PostgreSQL on the host (deploy/smoke_db.py, the embedded wheel's server)
#   4. in the image: `mpp check --deploy`, `mpp migrate`, `mpp demo load`,
#      `mpp worker --batch`, then the default role, `mpp web`
#   5. /healthz, /readyz, the apex, a tenant portal (Host: batam.localhost), a hashed static
#      file, the HTTPS redirect, the security headers, JSON access logs tagged with the schema
#   6. when caddy is installed: the same portal through deploy/Caddyfile over HTTPS
#
# Needs: buildah, debootstrap, curl, and the project's virtualenv (make install).
# SMOKE_CACHE (default /var/tmp/satuatap-image-smoke) keeps the base image's root file
# system between runs; SMOKE_REBUILD_BASE=1 makes it again.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${SMOKE_CACHE:-/var/tmp/satuatap-image-smoke}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=localhost/satuatap-smoke-base:$SUITE
IMAGE=${SMOKE_IMAGE:-localhost/satuatap:smoke}
VENV_PYTHON=$ROOT/.venv/bin/python
# The host's CA bundle, for pip inside the build (a TLS-inspecting proxy needs it).
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

START=$(date +%s)
step_start=$START
say() { printf 'image-smoke: %s\n' "$*"; }
fail() { printf 'image-smoke: FAILED: %s\n' "$*" >&2; exit 1; }
lap() {
    local now
    now=$(date +%s)
    say "$1 ($((now - step_start)) s)"
    step_start=$now
}

for tool in buildah debootstrap curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install -y buildah debootstrap curl)"
done
[ "$(id -u)" = 0 ] || fail "run as root: debootstrap and buildah's chroot isolation need it"
[ -x "$VENV_PYTHON" ] || fail "no virtualenv at .venv: run make install first"

WORK=$(mktemp -d /tmp/satuatap-image-smoke.XXXXXX)
CTR=""
DB_PID=""
WEB_PID=""
CADDY_PID=""
cleanup() {
    local rc=$?
    set +e
    # Each was started by this script: its whole process group (buildah and the server it
    # runs) is ended, nothing else.
    [ -n "$CADDY_PID" ] && kill -TERM -- "-$CADDY_PID" 2>/dev/null && wait "$CADDY_PID" 2>/dev/null
    [ -n "$WEB_PID" ] && kill -TERM -- "-$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
    [ -n "$DB_PID" ] && kill -TERM "$DB_PID" 2>/dev/null && wait "$DB_PID" 2>/dev/null
    [ -n "$CTR" ] && buildah rm "$CTR" >/dev/null 2>&1
    if [ "$rc" != 0 ] && [ -f "$WORK/web.log" ]; then
        echo "--- last lines of the web role's log ---" >&2
        tail -n 40 "$WORK/web.log" >&2
    fi
    rm -rf "$WORK"
    return "$rc"
}
trap cleanup EXIT

# --- 1. the base image --------------------------------------------------------------------
mkdir -p "$CACHE"
if [ "${SMOKE_REBUILD_BASE:-0}" = 1 ]; then
    rm -rf "$CACHE/rootfs"
    buildah rmi "$BASE_IMAGE" >/dev/null 2>&1 || true
fi
if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    if [ ! -x "$CACHE/rootfs/usr/bin/python3" ]; then
        say "debootstrap $SUITE with python3 into $CACHE/rootfs"
        rm -rf "$CACHE/rootfs.partial"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            "$SUITE" "$CACHE/rootfs.partial" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || fail "debootstrap failed, see $CACHE/debootstrap.log"
        chroot "$CACHE/rootfs.partial" apt-get clean
        rm -rf "$CACHE/rootfs.partial/var/lib/apt/lists/"*
        mv "$CACHE/rootfs.partial" "$CACHE/rootfs"
    fi
    base_ctr=$(buildah from scratch)
    mnt=$(buildah mount "$base_ctr")
    tar -C "$CACHE/rootfs" -cf - . | tar -C "$mnt" -xpf -
    buildah umount "$base_ctr" >/dev/null
    buildah config --env LANG=C.UTF-8 \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd /bin/bash "$base_ctr"
    buildah commit --rm --quiet "$base_ctr" "$BASE_IMAGE" >/dev/null
fi
lap "base image $BASE_IMAGE ready"

# --- 2. the image -------------------------------------------------------------------------
secret=()
[ -s "$CA_BUNDLE" ] && secret=(--secret "id=ca-bundle,src=$CA_BUNDLE")
# --format docker keeps HEALTHCHECK (OCI images have no field for it); --layers reuses
# the dependency layer while only the code changes.
buildah bud --isolation chroot --format docker --layers --pull=never \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" "${secret[@]}" \
    -f deploy/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; fail "buildah bud failed"; }
lap "image $IMAGE built"

config=$(buildah inspect --type image --format \
    '{{.Docker.Config.Entrypoint}} {{.Docker.Config.Cmd}} {{.Docker.Config.User}} {{if .Docker.Config.Healthcheck}}healthcheck{{end}}' \
    "$IMAGE")
[ "$config" = '[mpp] [web] mpp:mpp healthcheck' ] \
    || fail "image config is '$config', expected entry point mpp, role web, user mpp, a health check"
say "image config: entry point mpp, default role web, user mpp, health check"

# --- 3. a throwaway database --------------------------------------------------------------
"$VENV_PYTHON" deploy/smoke_db.py "$WORK/database_url" >"$WORK/db.log" 2>&1 &
DB_PID=$!
for _ in $(seq 120); do
    [ -s "$WORK/database_url" ] && break
    kill -0 "$DB_PID" 2>/dev/null || { cat "$WORK/db.log" >&2; fail "the database did not start"; }
    sleep 0.5
done
[ -s "$WORK/database_url" ] || fail "the database did not start in 60 s"
DATABASE_URL=$(cat "$WORK/database_url")
lap "database at $DATABASE_URL"

# --- 4. the roles -------------------------------------------------------------------------
PORT=$("$VENV_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
envs=(
    -e "DATABASE_URL=$DATABASE_URL"
    -e "SECRET_KEY=$("$VENV_PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
    -e "NIK_ENCRYPTION_KEY=$("$VENV_PYTHON" -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
    -e "PLATFORM_DOMAIN=localhost"
    -e "WEB_BIND=127.0.0.1:$PORT"
    -e "WEB_CONCURRENCY=2"
    # Invitations of the demo's tenant admins go nowhere.
    -e "EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend"
)
CTR=$(buildah from --pull=never --quiet "$IMAGE")
in_image() { buildah run --isolation chroot "${envs[@]}" "$CTR" -- "$@"; }

in_image mpp check --deploy --fail-level WARNING >"$WORK/check.log" 2>&1 \
    || { cat "$WORK/check.log" >&2; fail "mpp check --deploy"; }
grep -q "no issues" "$WORK/check.log" || { cat "$WORK/check.log" >&2; fail "check --deploy reported issues"; }
lap "mpp check --deploy: no issues"
in_image mpp migrate >"$WORK/migrate.log" 2>&1 || { tail -n 30 "$WORK/migrate.log" >&2; fail "mpp migrate"; }
lap "mpp migrate (the migrate role)"
in_image mpp demo load >"$WORK/demo.log" 2>&1 || { tail -n 30 "$WORK/demo.log" >&2; fail "mpp demo load"; }
lap "mpp demo load"
in_image mpp worker --batch >"$WORK/worker.log" 2>&1 || { tail -n 30 "$WORK/worker.log" >&2; fail "mpp worker --batch"; }
lap "mpp worker --batch (the worker role)"

# The default role, in a process group of its own so that ending it ends gunicorn too.
setsid buildah run --isolation chroot "${envs[@]}" "$CTR" -- mpp web >"$WORK/web.log" 2>&1 &
WEB_PID=$!
BASE_URL=http://127.0.0.1:$PORT
for _ in $(seq 120); do
    curl -fsS -o /dev/null "$BASE_URL/healthz" 2>/dev/null && break
    kill -0 "$WEB_PID" 2>/dev/null || fail "mpp web exited"
    sleep 0.5
done
lap "mpp web (gunicorn) answering on $BASE_URL"

# --- 5. what it serves --------------------------------------------------------------------
# fetch NAME [curl args…]: headers to $WORK/NAME.h, body to $WORK/NAME.b, prints the status.
fetch() {
    local name=$1
    shift
    curl -sS -o "$WORK/$name.b" -D "$WORK/$name.h" -w '%{http_code}' "$@"
}
expect() {  # expect WHAT WANT GOT
    [ "$2" = "$3" ] || fail "$1: expected $2, got $3"
    say "ok: $1 → $3"
}
header() { grep -i "^$2:" "$WORK/$1.h" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
https=(-H "X-Forwarded-Proto: https")

expect "/healthz" 200 "$(fetch healthz "$BASE_URL/healthz")"
grep -q '"status": "ok"' "$WORK/healthz.b" || fail "/healthz body: $(cat "$WORK/healthz.b")"
expect "/readyz (database reachable, migrated)" 200 "$(fetch readyz "$BASE_URL/readyz")"
expect "apex page, Host: localhost" 200 "$(fetch apex "${https[@]}" -H "Host: localhost" "$BASE_URL/")"
expect "tenant portal, Host: batam.localhost" 200 \
    "$(fetch batam "${https[@]}" -H "Host: batam.localhost" "$BASE_URL/")"
grep -q "Batam" "$WORK/batam.b" || fail "the batam portal does not name Batam"
expect "unknown tenant, Host: nobody.localhost" 404 \
    "$(fetch nobody "${https[@]}" -H "Host: nobody.localhost" "$BASE_URL/")"
expect "plain HTTP is redirected" 301 "$(fetch plain -H "Host: batam.localhost" "$BASE_URL/")"
expect "  to" "https://batam.localhost/" "$(header plain location)"
hsts=$(header batam strict-transport-security)
[[ "$hsts" == *max-age=31536000*includeSubDomains* ]] || fail "HSTS header: '$hsts'"
say "ok: Strict-Transport-Security: $hsts"
csp=$(header batam content-security-policy)
[[ "$csp" == *"script-src 'self'"* && "$csp" != *"script-src 'self' 'unsafe-inline'"* ]] \
    || fail "Content-Security-Policy: '$csp'"
say "ok: Content-Security-Policy: $csp"
stylesheet=$(grep -o '/static/mpp/site\.[0-9a-f]\{12\}\.css' "$WORK/batam.b" | head -n 1)
[ -n "$stylesheet" ] || fail "the portal does not link a hashed stylesheet"
expect "hashed static file $stylesheet" 200 "$(fetch css "$BASE_URL$stylesheet")"
cache=$(header css cache-control)
[[ "$cache" == *max-age=315360000*immutable* ]] || fail "static Cache-Control: '$cache'"
say "ok: Cache-Control: $cache"

# --- 6. through the reverse proxy ---------------------------------------------------------
if command -v caddy >/dev/null; then
    HTTPS_PORT=$("$VENV_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    HTTP_PORT=$("$VENV_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    HTTP_PORT=$HTTP_PORT HTTPS_PORT=$HTTPS_PORT MPP_UPSTREAM=127.0.0.1:$PORT \
        PLATFORM_DOMAIN=localhost XDG_DATA_HOME=$WORK/caddy XDG_CONFIG_HOME=$WORK/caddy \
        setsid caddy run --config deploy/Caddyfile --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
    CADDY_PID=$!
    via=(--resolve "batam.localhost:$HTTPS_PORT:127.0.0.1" --cacert "$WORK/caddy/caddy/pki/authorities/local/root.crt")
    for _ in $(seq 60); do
        [ -s "$WORK/caddy/caddy/pki/authorities/local/root.crt" ] \
            && curl -fsS -o /dev/null "${via[@]}" "https://batam.localhost:$HTTPS_PORT/healthz" 2>/dev/null && break
        kill -0 "$CADDY_PID" 2>/dev/null || { cat "$WORK/caddy.log" >&2; fail "caddy exited"; }
        sleep 0.5
    done
    expect "through Caddy: https://batam.localhost (its own CA, wildcard host)" 200 \
        "$(fetch proxied "${via[@]}" "https://batam.localhost:$HTTPS_PORT/")"
    grep -q "Batam" "$WORK/proxied.b" || fail "the proxied portal does not name Batam"
    [ -n "$(header proxied strict-transport-security)" ] || fail "no HSTS through the proxy"
    say "ok: HSTS and no redirect loop through the proxy (X-Forwarded-Proto trusted)"
    kill -TERM -- "-$CADDY_PID" 2>/dev/null && wait "$CADDY_PID" 2>/dev/null
    CADDY_PID=""
else
    say "skipped: the reverse proxy (caddy is not installed)"
fi

# Stop the web role as an orchestrator does, SIGTERM to gunicorn's master (the oldest
# Python process running `mpp web` in the group started above; buildah's own processes
# would kill it outright), and expect a clean exit.
master=$(pgrep -o -g "$WEB_PID" -f '^[^ ]*python[0-9.]* [^ ]*/bin/mpp web') \
    || fail "gunicorn's master process not found"
kill -TERM "$master"
for _ in $(seq 60); do
    kill -0 "$WEB_PID" 2>/dev/null || break
    sleep 0.5
done
kill -0 "$WEB_PID" 2>/dev/null && fail "mpp web still running 30 s after SIGTERM"
wait "$WEB_PID" || fail "mpp web exited with status $? after SIGTERM"
WEB_PID=""
grep -q '"message": "Shutting down: Master"' "$WORK/web.log" || fail "gunicorn did not shut down cleanly"
lap "mpp web stopped cleanly on SIGTERM"

# Its log: every line JSON, the portal's request tagged with the tenant's schema.
"$VENV_PYTHON" - "$WORK/web.log" <<'PY' || fail "the web role's log"
import json, sys
lines = [line for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
records = []
for line in lines:
    try:
        records.append(json.loads(line))
    except ValueError:
        sys.exit(f"not a JSON log line: {line!r}")
access = [r for r in records if r.get("logger") == "mpp.access"]
portal = [r for r in access if r.get("host") == "batam.localhost" and r.get("status") == 200]
if not portal or portal[0].get("schema") != "batam":
    sys.exit(f"no access line tagged schema=batam among {access!r}")
print(f"image-smoke: ok: {len(records)} log lines, all JSON; e.g. {json.dumps(portal[0])}")
PY

lap "checks passed"
say "OK in $(($(date +%s) - START)) s"
