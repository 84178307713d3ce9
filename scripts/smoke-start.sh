#!/usr/bin/env bash
# A newcomer's `npm start`, after `npm ci` (which built dist/; a start builds it only when missing):
# starts every module on the in-memory transport with a fresh data directory, waits for
# /health/ready to answer 200, then stops it with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SMOKE_PORT:-3217}"
data_dir="$(mktemp -d)"
log="$data_dir/start.log"
trap 'kill -TERM -- -"$pid" 2>/dev/null || true; rm -rf "$data_dir"' EXIT

set -m
PORT="$port" DATA_DIR="$data_dir" npm start >"$log" 2>&1 &
pid=$!
set +m

for i in $(seq 1 120); do
  if status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready") && [ "$status" = 200 ]; then
    echo "npm start: /health/ready answered 200 after ~$((i / 2)) s"
    kill -TERM -- -"$pid"
    wait "$pid" || true
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
echo "npm start did not become ready; its output:" >&2
cat "$log" >&2
exit 1
