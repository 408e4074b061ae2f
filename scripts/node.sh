#!/usr/bin/env bash
# This machine's node: batond with its web UI, on the default data directory,
# in the foreground until Ctrl-C. scripts/run.sh runs it after building.
#
#   scripts/node.sh [BUILD_DIR] [BATOND ARGS...]
#
# The key file is $XDG_CONFIG_HOME/baton/node.key (else ~/.config/baton/...):
# 32 random bytes, mode 0600, outside the data directory. The data directory
# is $XDG_DATA_HOME/baton (else ~/.local/share/baton). The web UI is on
# http://127.0.0.1:7644/ (loopback; --web ADDR:PORT moves it, docs/web.md).
#
# First run (no store yet): creates the key file, the store and an org
# (BATON_ORG_NAME, default "Demo School": a provisional org, for trying
# Baton; a real school's LA certifies it, docs/cli.md), and a DSL user
# (BATON_DSL_USER, default "dsl") whose passphrase is made at random and
# printed once, here, never stored in clear or shown again. Later runs reuse
# the store and print no passphrase; `baton user passwd` sets a new one.
#
# A config file at $XDG_CONFIG_HOME/baton/batond.conf is used when present;
# further arguments go to batond (docs/batond.md), e.g.
#   scripts/node.sh build/release --listen 0.0.0.0:7643 --peer hub.example:7643
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ $# -gt 0 ] && shift
baton="$build/cli/baton"
batond="$build/web/batond"
for b in "$baton" "$batond"; do
  [ -x "$b" ] || { echo "node: $b is missing: build first (scripts/run.sh does)" >&2; exit 1; }
done

conf_dir="${XDG_CONFIG_HOME:-${HOME:?set HOME or XDG_CONFIG_HOME}/.config}/baton"
data="${XDG_DATA_HOME:-${HOME:?set HOME or XDG_DATA_HOME}/.local/share}/baton"
key="$conf_dir/node.key"
mkdir -p "$conf_dir"
chmod 700 "$conf_dir"

web="127.0.0.1:7644"
prev=""
for a in "$@"; do # the web UI's address, if the arguments move it
  case "$a" in --web=*) web=${a#--web=} ;; esac
  [ "$prev" = "--web" ] && web=$a
  prev=$a
done

if [ ! -e "$data/data.mdb" ]; then
  org=${BATON_ORG_NAME:-Demo School}
  user=${BATON_DSL_USER:-dsl}
  echo "node: first run: creating the store in $data and the org \"$org\""
  "$baton" --dir "$data" --key-file "$key" init "$org" | sed 's/^/  /'
  # 20 random bytes as 32 base32 letters, in groups of four: easy to type.
  pass=$(head -c 20 /dev/urandom | base32 | tr 'A-Z' 'a-z' | sed 's/\(....\)/\1-/g; s/-$//')
  BATON_NEW_PASSPHRASE="$pass" "$baton" --dir "$data" --key-file "$key" \
    user add "$user" --role dsl >/dev/null
  url="http://$web/"
  [ "$web" = off ] && url="(the web UI is off)"
  printf '\n\033[1mSign in to Baton at %s\033[0m\n' "$url"
  printf '  user        %s (designated safeguarding lead)\n' "$user"
  printf '  passphrase  %s\n' "$pass"
  printf '  This passphrase is shown only now: write it down or set your own with\n'
  printf '  %s --dir %s --key-file %s --user %s user passwd %s\n\n' "$baton" "$data" "$key" \
    "$user" "$user"
  unset pass
fi

args=(--dir "$data" --key-file "$key")
[ -f "$conf_dir/batond.conf" ] && args+=(--config "$conf_dir/batond.conf")
echo "node: starting batond on $data (web UI http://$web/); Ctrl-C stops it."
exec "$batond" "${args[@]}" "$@"
