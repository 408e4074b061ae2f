#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the
# main job.
#
#   scripts/run.sh            the demonstration (scripts/demo.sh): an LA relay
#                             and two schools on loopback, in a directory of
#                             their own; a concern, a transfer, its receipt and
#                             deadline, each step printed
#   scripts/run.sh --node [BATOND ARGS...]
#                             this machine's node (batond) in the foreground
#                             until Ctrl-C (docs/batond.md)
#
# --node: the first run creates the key file ($XDG_CONFIG_HOME/baton/node.key,
# else ~/.config/baton/node.key: 32 random bytes, mode 0600, kept outside the
# data directory), the store ($XDG_DATA_HOME/baton, else ~/.local/share/baton)
# and an org (BATON_ORG_NAME, default "<host name> node"); later runs reuse
# them. batond prints the address it listens on (127.0.0.1:7643 unless told
# otherwise). A config file at $XDG_CONFIG_HOME/baton/batond.conf is used when
# present, and further arguments go to batond, e.g.
#
#   scripts/run.sh --node --listen 0.0.0.0:7643 --peer hub.example:7643
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

if [ "${1:-}" != "--node" ]; then
  exec scripts/demo.sh build/release --serve
fi
shift

conf_dir="${XDG_CONFIG_HOME:-${HOME:?set HOME or XDG_CONFIG_HOME}/.config}/baton"
mkdir -p "$conf_dir"
chmod 700 "$conf_dir"
args=(--key-file "$conf_dir/node.key" --init "${BATON_ORG_NAME:-$(uname -n) node}")
[ -f "$conf_dir/batond.conf" ] && args+=(--config "$conf_dir/batond.conf")

echo "run: starting batond (key file $conf_dir/node.key); Ctrl-C stops it."
exec build/release/web/batond "${args[@]}" "$@"
