#!/usr/bin/env bash
# Install (Debian/Ubuntu, as root) and start a local Redis for Baryon's Redis tests
# (job wake-ups, rate limits and quotas), then print the URL to export:
#   export BARYON_TEST_REDIS_URL=$(scripts/start-redis.sh)
# Loopback only, no persistence, port 6390 (not the default 6379). Safe to run twice.
# Exits non-zero when Redis cannot be had on this machine.
set -euo pipefail
log() { echo "$@" >&2; }
port=6390
if ! command -v redis-server >/dev/null; then
    command -v apt-get >/dev/null || { log "no apt-get: install Redis yourself"; exit 1; }
    log "installing redis-server with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
fi
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --logfile /tmp/baryon-redis-test.log >&2
fi
for _ in $(seq 1 30); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.2
done
redis-cli -p "$port" ping >/dev/null
echo "redis://127.0.0.1:$port/0"
