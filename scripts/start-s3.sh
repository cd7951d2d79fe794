#!/usr/bin/env bash
# Start a local S3-compatible server for Baryon's object-storage tests (marked `s3`),
# then print its endpoint URL to export:
#   export BARYON_TEST_S3_URL=$(scripts/start-s3.sh)
# The server is moto in server mode (`moto[server]`, in the dev extra: run `make dev`
# first, or set PYTHON to an interpreter that has it). Loopback only, objects in memory,
# port 9390 (BARYON_TEST_S3_PORT to change). Safe to run twice: a server already
# answering there is kept. Exits non-zero when no server answers.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "$@" >&2; }
port=${BARYON_TEST_S3_PORT:-9390}
python=${PYTHON:-.venv/bin/python}
url="http://127.0.0.1:$port"
probe=$(command -v python3 || echo "$python")
# An S3 server answers an unsigned GET / with a bucket listing.
answers() {
    "$probe" - "$url" <<'PY' >/dev/null 2>&1
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/", timeout=2) as response:
    sys.exit(0 if b"ListAllMyBucketsResult" in response.read() else 1)
PY
}
if ! answers; then
    "$python" -c "import moto.server, flask" 2>/dev/null \
        || { log "$python has no moto[server]: run 'make dev' (or set PYTHON)"; exit 1; }
    log "starting moto (S3) on 127.0.0.1:$port"
    setsid nohup "$python" -m moto.server -H 127.0.0.1 -p "$port" \
        </dev/null >/tmp/baryon-s3-test.log 2>&1 &
    for _ in $(seq 1 50); do
        answers && break
        sleep 0.2
    done
fi
answers || { log "no S3 server answers at $url (see /tmp/baryon-s3-test.log)"; exit 1; }
echo "$url"
