#!/usr/bin/env bash
# Installs what Baton needs on Debian 12 that is not there yet. Idempotent:
# asks apt only when a package is missing. Needs root (or sudo) for apt.
#
#   scripts/setup.sh          what building and running need (scripts/run.sh)
#   scripts/setup.sh --tests  also what the tests need (scripts/test.sh): the
#                             browser tests' npm packages, exactly as
#                             tests/browser/package-lock.json pins them
#                             (Node.js 20 or later with npm must be there)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

PKGS=(
  build-essential cmake pkg-config git
  libsodium-dev liblmdb-dev libuv1-dev libmsgpack-dev libcriterion-dev
  libjansson-dev             # JSON: the baton command, bank-holiday imports
  clang libclang-rt-14-dev   # libFuzzer harnesses (tests/fuzz)
  jq                         # scripts/demo.sh reads baton's --json output
  node-llhttp                # web/: llhttp C sources, compiled from /usr/share/llhttp
)
# The tests also drive the web UI in Debian's Chromium (tests/browser).
[ "${1:-}" = "--tests" ] && PKGS+=(chromium curl) # curl: tests/scripts

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" = "--tests" ] || exit 0

# tests/browser runs on Node.js 20 or later (playwright-core needs it), which
# is not apt's: Debian 12's nodejs is 18. Install it from NodeSource
# (https://github.com/nodesource/distributions), which brings npm.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null; then
  echo "setup: tests/browser needs Node.js 20 or later and npm (found: $(node --version 2>/dev/null || echo none));" \
       "Debian 12's nodejs is too old: install Node.js 20 from NodeSource" >&2
  exit 1
fi

# playwright-core and axe-core, exactly as tests/browser/package-lock.json
# pins them: `npm ci` when node_modules is missing or was made from another
# lock file (a checksum of the lock is kept in node_modules/.baton-lock).
br=$root/tests/browser
lock_sum=$(sha256sum "$br/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$br/node_modules/.baton-lock" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: npm ci in tests/browser"
  (cd "$br" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$br/node_modules/.baton-lock"
fi
