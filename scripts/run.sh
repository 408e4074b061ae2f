#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the
# main job.
#
#   scripts/run.sh [BATOND ARGS...]
#                     this machine's node (scripts/node.sh): batond with its
#                     web UI on http://127.0.0.1:7644/, on the default data
#                     directory, in the foreground until Ctrl-C. The first
#                     run creates the store, a demo org and a DSL user, and
#                     prints that user's sign-in once.
#   scripts/run.sh --demo
#                     the demonstration network (scripts/demo.sh --serve): an
#                     LA relay and two schools on loopback, in a directory of
#                     their own; a concern, a transfer, its receipt and
#                     deadline, each step printed; then their web UIs keep
#                     running until Ctrl-C
#
# (--node, the old name of the first form, still works.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

case "${1:-}" in
--demo) exec scripts/demo.sh build/release --serve ;;
--node) shift ;;
esac
exec scripts/node.sh build/release "$@"
