#!/usr/bin/env bash
# Installs what Baton needs on Debian 12 that is not there yet. Idempotent:
# asks apt only when a package is missing. Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libsodium-dev liblmdb-dev libuv1-dev libmsgpack-dev libcriterion-dev
  libjansson-dev             # JSON: the baton command, bank-holiday imports
  clang libclang-rt-14-dev   # libFuzzer harnesses (tests/fuzz)
  jq                         # scripts/demo.sh reads baton's --json output
  node-llhttp                # web/: llhttp C sources, compiled from /usr/share/llhttp
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
