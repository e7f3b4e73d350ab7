#!/usr/bin/env bash
# Test services that live outside the virtualenv, set up once per `make test` (CI runs it as root on
# a clean Debian machine). Each step is idempotent: a second run only checks and returns.
#
# - PostgreSQL: Debian's `postgresql`, a dedicated cluster on a loopback port, a test role that may
#   create databases. Its DSN is written to .pytest-services/postgres.dsn; tests read that file and
#   skip (saying why) only when it is absent.
# - Chromium: Debian's `chromium`, for rendering the audit report headless. Its path is written to
#   .pytest-services/chromium.path.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES_DIR=.pytest-services
PG_CLUSTER=wxlint
PG_PORT=${WXLINT_PG_PORT:-54329}
PG_ROLE=wxlint_test
PG_DATABASE=wxlint_test
mkdir -p "$SERVICES_DIR"

say() { echo "services: $*" >&2; }

# One run at a time: two `make test` in the same tree would otherwise race on apt and the cluster.
exec 9>"$SERVICES_DIR/.lock"
flock 9

APT_UPDATED=
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        say "not root: cannot install $* (tests that need it will skip)"
        return 1
    fi
    if [ -z "$APT_UPDATED" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    say "installing $* (apt)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
        >"$SERVICES_DIR/apt.log" 2>&1; then
        cat "$SERVICES_DIR/apt.log" >&2
        return 1
    fi
}

pg_bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

setup_postgres() {
    rm -f "$SERVICES_DIR/postgres.dsn"
    if [ -z "$(pg_bin_dir)" ] || ! command -v pg_createcluster >/dev/null; then
        apt_install postgresql || return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "not root: cannot start the PostgreSQL test cluster (PostgreSQL tests will skip)"
        return 0
    fi
    local version
    version=$(basename "$(dirname "$(pg_bin_dir)")")
    if ! pg_lsclusters -h | awk -v c="$PG_CLUSTER" -v v="$version" '$1 == v && $2 == c {found=1} END {exit !found}'; then
        # Loopback only; password (scram) authentication for TCP.
        pg_createcluster -q "$version" "$PG_CLUSTER" --port "$PG_PORT" --start-conf manual -- \
            --auth-local=peer --auth-host=scram-sha-256 >/dev/null
        echo "listen_addresses = '127.0.0.1'" >>"/etc/postgresql/$version/$PG_CLUSTER/postgresql.conf"
        echo "fsync = off" >>"/etc/postgresql/$version/$PG_CLUSTER/postgresql.conf"  # test data only
    fi
    PG_PORT=$(pg_lsclusters -h | awk -v c="$PG_CLUSTER" -v v="$version" '$1 == v && $2 == c {print $3}')
    if ! pg_lsclusters -h | awk -v c="$PG_CLUSTER" -v v="$version" '$1 == v && $2 == c && $4 ~ /online/ {found=1} END {exit !found}'; then
        pg_ctlcluster "$version" "$PG_CLUSTER" start 9>&-  # the server must not inherit the lock
    fi
    # A fresh password each run: the DSN file is the only place it lives (a throwaway test role).
    local password
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    su postgres -c "psql -q -X -v ON_ERROR_STOP=1 -p $PG_PORT -d postgres" >/dev/null <<SQL
SELECT 'CREATE ROLE $PG_ROLE LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE')\gexec
ALTER ROLE $PG_ROLE PASSWORD '$password';
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE')\gexec
SQL
    umask 077
    echo "postgresql://$PG_ROLE:$password@127.0.0.1:$PG_PORT/$PG_DATABASE" >"$SERVICES_DIR/postgres.dsn"
}

setup_chromium() {
    rm -f "$SERVICES_DIR/chromium.path"
    if ! command -v chromium >/dev/null; then
        # Fonts so the screenshot has readable text on a minimal machine.
        apt_install chromium fonts-dejavu-core fonts-liberation || return 0
    fi
    command -v chromium >"$SERVICES_DIR/chromium.path"
}

setup_postgres
setup_chromium
