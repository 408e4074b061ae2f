#!/usr/bin/env bash
# A local demonstration network, built and driven with the real binaries
# only, printing each step: an LA relay and two schools on loopback, with
# staff users; a concern is logged at Oak Primary, the child moves to Elm
# Academy, the file goes through the LA relay (which cannot read it), Elm's
# node signs its delivery, Elm's DSL acknowledges, and Oak sees the receipt
# and the deadline. Everything lives in a directory of its own (BATON_DEMO_DIR,
# default $XDG_DATA_HOME/baton-demo, else ~/.local/share/baton-demo), made
# afresh on each run; nothing else on the machine is touched.
#
#   scripts/demo.sh [BUILD_DIR] [--serve]   (scripts/run.sh --demo builds, then runs
#                                            this with --serve)
#
# With --serve the network keeps running after the last step, until Ctrl-C:
# the script prints the address of Oak Primary's web UI and a sign-in for
# its DSL whose passphrase is made at random for this run and shown only
# there.
#
# The child, the staff and the schools are invented. Passphrases are set in
# the environment because this is a script; people type theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
serve=0
[ "${2:-}" = "--serve" ] && serve=1
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
baton="$build/cli/baton"
batond="$build/web/batond"
for b in "$baton" "$batond"; do
  [ -x "$b" ] || { echo "demo: $b is missing: build first (scripts/run.sh does)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "demo: jq is missing (scripts/setup.sh installs it)" >&2; exit 1; }

data=${XDG_DATA_HOME:-${HOME:?set HOME or XDG_DATA_HOME}/.local/share}
demo=${BATON_DEMO_DIR:-$data/baton-demo}
case "$demo" in /*) ;; *) demo="$PWD/$demo" ;; esac
if [ -e "$demo" ] && [ ! -f "$demo/.baton-demo" ]; then
  echo "demo: $demo exists and is not a demo directory: set BATON_DEMO_DIR" >&2
  exit 1
fi
rm -rf "$demo"
mkdir -p "$demo"
chmod 700 "$demo"
touch "$demo/.baton-demo"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

n=0
step() { n=$((n + 1)); printf '\n\033[1m%d. %s\033[0m\n' "$n" "$*"; }
show() { printf '   $ %s\n' "$*"; }

# bt NODE [USER] -- ARGS: baton on a node (and as a signed-in user).
# Each user's passphrase. With --serve, Oak's DSL gets a random one, printed
# once at the end: a demonstration left running is not left open.
dsl_pass="demo pass dsl.jones"
if [ "$serve" = 1 ]; then
  dsl_pass=$(head -c 15 /dev/urandom | base64 | tr '+/' '-_')
fi
pass_of() { if [ "$1" = dsl.jones ]; then printf '%s' "$dsl_pass"; else printf 'demo pass %s' "$1"; fi; }

bt() {
  local node=$1; shift
  local user=""
  if [ "$1" != "--" ]; then user=$1; shift; fi
  shift
  if [ -n "$user" ]; then
    BATON_USER_PASSPHRASE="$(pass_of "$user")" "$baton" --dir "$demo/$node" \
      --key-file "$demo/$node.key" --user "$user" "$@"
  else
    "$baton" --dir "$demo/$node" --key-file "$demo/$node.key" "$@"
  fi
}

daemon() { # daemon NODE ARGS...: batond in the background, log in NODE.log
  local node=$1; shift
  "$batond" --dir "$demo/$node" --key-file "$demo/$node.key" --web 127.0.0.1:0 "$@" \
    2>"$demo/$node.log" &
  pids+=($!)
}

# wait_for NODE USER JQ-FILTER: polls `baton transfers` until the filter holds.
wait_for() {
  local node=$1 user=$2 filter=$3 i
  for i in $(seq 1 150); do
    if bt "$node" "$user" -- --json transfers 2>/dev/null | jq -e "$filter" >/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "demo: timed out waiting on $node (logs in $demo/*.log)" >&2
  return 1
}

step "The LA: a node, its root key, and a relay for the schools' files"
bt la -- init "Northshire LA" --kind la --laestab 8880000 >/dev/null
bt la -- --json root create >/dev/null
root=$(bt la -- --json root show | jq -r .key)
show "baton init \"Northshire LA\" --kind la; baton root create"
echo "   LA root key fingerprint: $(bt la -- --json root show | jq -r .fingerprint)"
daemon la --listen 127.0.0.1:0 --relay-for all
for i in $(seq 1 100); do grep -q "listening on" "$demo/la.log" 2>/dev/null && break; sleep 0.1; done
la_addr=$(grep -o 'listening on [0-9.:]*' "$demo/la.log" | head -1 | cut -d' ' -f3)
[ -n "$la_addr" ] || { echo "demo: the LA's batond did not start (see $demo/la.log)" >&2; exit 1; }
echo "   batond relays on $la_addr (it stores ciphertext it cannot read)"

school() { # school NODE NAME URN
  local node=$1 name=$2 urn=$3
  bt "$node" -- init "$name" --urn "$urn" >/dev/null
  bt "$node" -- org request --out "$demo/$node.req" >/dev/null
  bt la -- root certify "$demo/$node.req" --out "$demo/$node.cert" >/dev/null
  bt "$node" -- anchor add "$root" >/dev/null
  bt "$node" -- org install "$demo/$node.cert" >/dev/null
  bt la -- directory publish "$demo/$node.cert" >/dev/null
  echo "   $name: certified by the LA, fingerprint $(bt "$node" -- --json status | jq -r .org.fingerprint)"
}
step "Two schools, certified by the LA and listed in its directory"
show "baton init NAME --urn URN; baton org request; (LA) baton root certify; baton org install"
school oak "Oak Primary" 100001
school elm "Elm Academy" 100002
for s in oak elm; do
  bt "$s" -- sync "$la_addr" >/dev/null
  bt "$s" -- peer add "$la_addr" >/dev/null
done
echo "   Elm's node now lists the LA directory:"
bt elm -- directory | sed 's/^/     /'

step "Staff users (passphrases hashed with Argon2id)"
for u in "oak dsl.jones dsl" "oak staff.ali staff" "elm dsl.green dsl"; do
  set -- $u
  if [ "$3" = dsl ]; then
    BATON_NEW_PASSPHRASE="$(pass_of "$2")" bt "$1" -- user add "$2" --role "$3" >/dev/null
  else
    BATON_NEW_PASSPHRASE="$(pass_of "$2")" bt "$1" dsl.jones -- user add "$2" --role "$3" >/dev/null
  fi
  echo "   $1: $2 ($3)"
done

step "Each school runs batond, syncing through the LA relay"
daemon oak --listen off
daemon elm --listen off

step "Oak's DSL opens a file for Amy Bell (invented), UPN B801200005001"
show "baton --user dsl.jones file open --upn B801200005001 --given Amy --family Bell --dob 2016-03-04 --plan cin"
file=$(bt oak dsl.jones -- --json file open --upn B801200005001 --given Amy --family Bell \
  --dob 2016-03-04 --plan cin | jq -r .file)
echo "   file id: $file"

step "A teaching assistant logs a concern (Part 1)"
cat >"$demo/concern.json" <<'EOF'
{
  "incident_at": "2026-11-20T10:40",
  "reason": "Amy said something worrying at break",
  "facts": "At morning break Amy was crying by the fence. She had a red mark on her left forearm.",
  "where": "KS2 playground",
  "child_words": "My arm hurts. I don't want to go home today.",
  "opinion": "Amy seemed frightened when home was mentioned.",
  "actions_taken": "Reassured Amy; told her I must pass this on.",
  "passed_to": "Mrs Jones, DSL"
}
EOF
show "baton --user staff.ali concern log $file --from concern.json"
bt oak staff.ali -- concern log "$file" --from "$demo/concern.json" >/dev/null
bt oak dsl.jones -- chrono add "$file" --category call --summary "Called children's social care front door; advice taken" --with "Northshire MASH" >/dev/null
echo "   recorded; the DSL adds a chronology entry"

step "Amy moves to Elm Academy: Oak's DSL starts the transfer"
monday=$(date -d "next monday" +%F)
show "baton --user dsl.jones transfer start $file --to \"Elm Academy\" --on-roll $monday"
bt oak dsl.jones -- transfer start "$file" --to "Elm Academy" --on-roll "$monday" --leaving "$(date +%F)" \
  | sed 's/^/   /'

step "The file travels through the LA relay; Elm's node signs its delivery"
wait_for elm dsl.green '.transfers[0].state == "delivered"'
bt elm dsl.green -- transfers | sed 's/^/   /'

step "Elm's DSL reads the whole file"
bt elm dsl.green -- file show "$file" | sed 's/^/   /'

step "Elm's DSL confirms receipt"
show "baton --user dsl.green transfer ack $file --stored \"CP cabinet, DSL office\""
bt elm dsl.green -- transfer ack "$file" --stored "CP cabinet, DSL office" | sed 's/^/   /'

step "Oak sees the receipt after the next sync"
wait_for oak dsl.jones '.transfers[0].status == "acknowledged"'
bt oak dsl.jones -- transfers | sed 's/^/   /'
bt oak dsl.jones -- --json transfers | jq -r '.transfers[0] | "   deadline \(.deadline); acknowledged by \(.acknowledged_by) at \(.acknowledged_at), kept in \(.stored)"'

step "The LA relay carried the file but holds none of it in clear"
if grep -rqa "Bell\|fence" "$demo/la"; then
  echo "   FOUND plaintext in the relay's store: this is a bug" >&2
  exit 1
fi
echo "   no child's name or concern text in $demo/la"

step "Every view, transfer and sign-in is in Oak's signed audit log"
bt oak dsl.jones -- audit --verify | sed 's/^/   /'

if [ "$serve" = 1 ]; then
  url=$(grep -o 'web UI on http://[0-9.:]*/' "$demo/oak.log" | head -1 | cut -d' ' -f4)
  printf '\n\033[1mThe network keeps running. Oak Primary'"'"'s web UI: %s\033[0m\n' "$url"
  printf '  sign in as dsl.jones with the passphrase %s (made for this run, shown only here)\n' \
    "$dsl_pass"
  printf '  Elm Academy'"'"'s: %s (dsl.green, "demo pass dsl.green")\n' \
    "$(grep -o 'web UI on http://[0-9.:]*/' "$demo/elm.log" | head -1 | cut -d' ' -f4)"
  printf '  the data is in %s; Ctrl-C stops the network.\n' "$demo"
  wait
  exit 0
fi
printf '\nDone. The demo network is in %s (logs: *.log). Try:\n' "$demo"
printf '  %s --dir %s/oak --key-file %s/oak.key --user dsl.jones transfers\n' "$baton" "$demo" "$demo"
printf '  (passphrase: "demo pass dsl.jones"; BATON_USER_PASSPHRASE skips the prompt)\n'
