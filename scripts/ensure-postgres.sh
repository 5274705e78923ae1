#!/usr/bin/env bash
# Make sure the PostgreSQL the test suite uses answers: install Debian's `postgresql` with
# apt-get when it is missing (as root), start a cluster, create the role and database.
# The URL comes from PODIUM_TEST_DATABASE_URL (default below); its user, password and
# database are what this script creates.
set -euo pipefail

URL="${PODIUM_TEST_DATABASE_URL:-postgresql+psycopg://podium:podium@127.0.0.1:5432/podium_test}"
PLAIN="${URL/+psycopg/}"
ROLE=$(sed -E 's#^[a-z]+://([^:@/]+).*#\1#' <<<"$PLAIN")
PASSWORD=$(sed -E 's#^[a-z]+://[^:@/]+:([^@/]*)@.*#\1#' <<<"$PLAIN")
DATABASE=$(sed -E 's#^.*/([^/?]+)(\?.*)?$#\1#' <<<"$PLAIN")

answers() {
    command -v psql >/dev/null && PGCONNECT_TIMEOUT=3 psql "$PLAIN" -qtAc 'select 1' >/dev/null 2>&1
}

say() { echo "make test: $*"; }
die() { echo "make test: $*" >&2; exit 1; }

answers && exit 0

if [ "$(id -u)" != 0 ]; then
    die "no PostgreSQL answers at $PLAIN and only root can install one; run make test as \
root, or start one and set PODIUM_TEST_DATABASE_URL"
fi

if ! command -v pg_ctlcluster >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    say "installing PostgreSQL with apt-get (the store tests run on it)"
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1 \
        || { cat "$log" >&2; die "apt-get update failed; PostgreSQL cannot be installed"; }
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq postgresql >"$log" 2>&1 \
        || { cat "$log" >&2; die "apt-get install postgresql failed; install it and rerun"; }
    rm -f "$log"
fi

if [ -z "$(pg_lsclusters -h)" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    pg_createcluster "$version" main >/dev/null
fi
read -r version name _ <<<"$(pg_lsclusters -h | head -1)"
if ! pg_lsclusters -h | head -1 | grep -q online; then
    say "starting PostgreSQL $version/$name"
    pg_ctlcluster "$version" "$name" start || die "PostgreSQL $version/$name did not start; \
see /var/log/postgresql/postgresql-$version-$name.log"
fi

as_postgres() { runuser -u postgres -- psql -qtAX "$@"; }
for _ in $(seq 1 30); do as_postgres -c 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
if [ -z "$(as_postgres -c "select 1 from pg_roles where rolname = '$ROLE'")" ]; then
    as_postgres -c "create role \"$ROLE\" login createdb password '$PASSWORD'" >/dev/null
fi
if [ -z "$(as_postgres -c "select 1 from pg_database where datname = '$DATABASE'")" ]; then
    as_postgres -c "create database \"$DATABASE\" owner \"$ROLE\"" >/dev/null
fi
answers || die "PostgreSQL runs but $PLAIN does not answer; check pg_hba.conf allows \
password logins from 127.0.0.1"
say "PostgreSQL answers at ${PLAIN/:$PASSWORD@/@}"
