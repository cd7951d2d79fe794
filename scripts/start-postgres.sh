#!/usr/bin/env bash
# Install (Debian/Ubuntu, as root) and start a local PostgreSQL for Baryon's PostgreSQL
# tests, then print the URL to export:
#   export BARYON_TEST_POSTGRES_URL=$(scripts/start-postgres.sh)
# Safe to run twice; each run starts from an empty baryon_test database. Exits non-zero when PostgreSQL cannot be had on this machine.
set -euo pipefail
log() { echo "$@" >&2; }
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    command -v apt-get >/dev/null || { log "no apt-get: install PostgreSQL yourself"; exit 1; }
    log "installing postgresql with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
    pg_ctlcluster "$version" main start >&2 || service postgresql start >&2
fi
for _ in $(seq 1 30); do
    su postgres -c "pg_isready -q" && break
    sleep 1
done
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='baryon'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE USER baryon WITH PASSWORD 'baryon' CREATEDB;\"" >&2
# A fresh test database every time: tests must not see an earlier run's schema or rows.
su postgres -c "dropdb --if-exists --force baryon_test" >&2
su postgres -c "createdb -O baryon baryon_test" >&2
echo "postgresql+psycopg://baryon:baryon@127.0.0.1:5432/baryon_test"
