#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts the
# main job. The node daemon (batond) and its web UI do not exist yet (issues
# 3-7); until they do, this builds everything and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
if [ -x build/release/node/batond ]; then
  exec build/release/node/batond "$@"
fi
echo "Built Baton's libraries and tools in build/release."
echo "batond (the node and its web UI) is not written yet: see README.md, 'Status'."
echo "Meanwhile: scripts/test.sh runs every test; build/release/bench/crdt_bench measures the op codec."
