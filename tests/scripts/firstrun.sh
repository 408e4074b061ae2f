#!/usr/bin/env bash
# The README's run command's node (scripts/node.sh) on a fresh home: the
# first run creates the store, a demo org and a DSL user whose passphrase is
# printed once, and serves the web UI where that passphrase signs in; a
# second run reuses the store and prints no passphrase.
#
#   tests/scripts/firstrun.sh BUILD_DIR      (ctest: firstrun)
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/bt-firstrun-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data
fail() { echo "firstrun: FAIL: $*" >&2; echo "--- output:" >&2; cat "$tmp/out" >&2; exit 1; }

# run N: scripts/node.sh in the background until its web UI is up; sets
# $pid and $url.
run() {
  : >"$tmp/out"
  setpriv --pdeathsig TERM "$here/scripts/node.sh" "$build" --listen off --web 127.0.0.1:0 \
    >"$tmp/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    url=$(grep -o 'web UI on http://[0-9.:]*/' "$tmp/out" | head -1 | cut -d' ' -f4 || true)
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "run $1: node.sh stopped"
    sleep 0.1
  done
  fail "run $1: no web UI within 10 s"
}

stop() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

# sign_in USER PASS: the HTTP status of POST /api/login.
sign_in() {
  local o=${url%/}
  curl -s -o "$tmp/reply" -w '%{http_code}' -H "Origin: $o" -H 'Content-Type: application/json' \
    --data "$(jq -nc --arg u "$1" --arg p "$2" '{user: $u, passphrase: $p}')" "$o/api/login"
}

run 1
pass=$(sed -n 's/^  passphrase  //p' "$tmp/out")
[ -n "$pass" ] || fail "the first run printed no passphrase"
grep -q '^  user        dsl ' "$tmp/out" || fail "the first run named no DSL user"
grep -q 'Demo School' "$tmp/out" || fail "no demo org"
[ -f "$XDG_CONFIG_HOME/baton/node.key" ] || fail "no key file"
[ "$(stat -c %a "$XDG_CONFIG_HOME/baton/node.key")" = 600 ] || fail "key file not 0600"
[ "$(sign_in dsl "$pass")" = 200 ] || fail "the printed passphrase does not sign in: $(cat "$tmp/reply")"
[ "$(jq -r .role "$tmp/reply")" = dsl ] || fail "not a DSL: $(cat "$tmp/reply")"
[ "$(sign_in dsl "wrong $pass")" = 401 ] || fail "a wrong passphrase signs in"
! grep -rqa -- "$pass" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" || fail "the passphrase is stored in clear"
stop

run 2
grep -q 'passphrase  ' "$tmp/out" && fail "the second run printed a passphrase"
grep -q 'first run' "$tmp/out" && fail "the second run made a new store"
[ "$(sign_in dsl "$pass")" = 200 ] || fail "run 2: the passphrase no longer signs in"
stop
echo "firstrun: ok"
