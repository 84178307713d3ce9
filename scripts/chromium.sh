#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the dashboard's browser test (playwright-core
# drives it; it downloads no browser of its own). Idempotent: an installed chromium is left alone.
# Installs with apt-get (as root, or through sudo) when it is missing; exits non-zero with a clear
# message when it cannot.
#
#   CHROMIUM_PATH (/usr/bin/chromium)   the binary the tests launch
set -euo pipefail

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

log() { printf '[chromium] %s\n' "$*"; }
die() {
  printf '[chromium] ERROR: %s\n' "$*" >&2
  exit 1
}

if [[ -x "$CHROMIUM_PATH" ]]; then
  log "installed at $CHROMIUM_PATH (nothing to do)"
  exit 0
fi

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "no chromium at $CHROMIUM_PATH, and installing it needs root \
(apt-get install chromium, or set CHROMIUM_PATH)"
  as_root=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || die "no chromium at $CHROMIUM_PATH and no apt-get to install it \
(install chromium, or set CHROMIUM_PATH)"

log "not found at $CHROMIUM_PATH; installing Debian's chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq || die "apt-get update failed"
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
[[ -x "$CHROMIUM_PATH" ]] || die "chromium installed, but $CHROMIUM_PATH is still missing (set CHROMIUM_PATH)"
log "installed: $("$CHROMIUM_PATH" --version 2>/dev/null || echo "$CHROMIUM_PATH")"
