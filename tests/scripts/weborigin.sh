#!/usr/bin/env bash
# batond --web ADDR:PORT@https://HOST: the web UI behind a TLS proxy
# (docs/web.md "Serving on the LAN"). HOST is then the only Host and Origin
# accepted, the session cookie is Secure; bad values are refused at start;
# a LAN address without a proxy is served with a warning in the log.
#
#   tests/scripts/weborigin.sh BUILD_DIR      (ctest: weborigin)
set -euo pipefail
build=$1
baton=$build/cli/baton
batond=$build/web/batond
tmp=$(mktemp -d /tmp/bt-weborigin-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "weborigin: FAIL: $*" >&2; cat "$tmp/log" >&2 2>/dev/null || true; exit 1; }
head -c 32 /dev/urandom >"$tmp/key" && chmod 600 "$tmp/key"
"$baton" --dir "$tmp/d" --key-file "$tmp/key" init "Test School" >/dev/null
BATON_NEW_PASSPHRASE="pw for dsl" "$baton" --dir "$tmp/d" --key-file "$tmp/key" \
  user add dsl --role dsl >/dev/null

start() { # start WEB: batond until its web UI is up; sets $pid, $port
  : >"$tmp/log"
  setpriv --pdeathsig TERM "$batond" --dir "$tmp/d" --key-file "$tmp/key" --listen off \
    --web "$1" >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    port=$(grep -o 'listening on [0-9.]*:[0-9]*\|web UI on http://[0-9.]*:[0-9]*' "$tmp/log" |
      head -1 | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "batond --web $1 stopped"
    sleep 0.1
  done
  fail "no web UI within 10 s"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
code() { curl -s -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@"; }
login() { # login HOST ORIGIN
  code -H "Host: $1" -H "Origin: $2" -H 'Content-Type: application/json' \
    --data '{"user": "dsl", "passphrase": "pw for dsl"}' "http://127.0.0.1:$port/api/login"
}

for bad in "127.0.0.1:0@http://baton.oak.example" "127.0.0.1:0@https://baton.oak.example/x" \
  "127.0.0.1:0@https://" "127.0.0.1:0@https://a@b.example" "127.0.0.1:0@baton.oak.example"; do
  if "$batond" --dir "$tmp/d" --key-file "$tmp/key" --listen off --web "$bad" \
    >"$tmp/log" 2>&1 & p=$!; sleep 0.5; kill -0 "$p" 2>/dev/null; then
    kill "$p"; wait "$p" 2>/dev/null || true
    fail "--web $bad was accepted"
  fi
  wait "$p" 2>/dev/null || true
done

start "127.0.0.1:0@https://baton.oak.example"
grep -q 'web UI on https://baton.oak.example/ (listening on 127.0.0.1:' "$tmp/log" ||
  fail "the log does not name the public origin"
grep -q 'web-warning' "$tmp/log" && fail "a proxied UI warned of clear text"
[ "$(code -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port/")" = 421 ] ||
  fail "the listening address is accepted as Host behind a proxy"
[ "$(code -H "Host: baton.oak.example" "http://127.0.0.1:$port/")" = 200 ] ||
  fail "the public host is refused"
[ "$(login baton.oak.example "http://baton.oak.example")" = 403 ] || fail "an http origin signs in"
[ "$(login baton.oak.example "https://baton.oak.example")" = 200 ] || fail "cannot sign in: $(cat "$tmp/body")"
grep -qi '^set-cookie: baton_session=.*; Secure' "$tmp/head" || fail "the cookie is not Secure"
stop

start "127.0.0.2:0"
grep -q 'web-warning the web UI is served without TLS on 127.0.0.2' "$tmp/log" ||
  fail "no warning for a LAN address without TLS"
stop

start "127.0.0.1:0"
grep -q 'web-warning' "$tmp/log" && fail "loopback warned"
stop
echo "weborigin: ok"
