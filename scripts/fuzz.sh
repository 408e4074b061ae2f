#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and runs each for RUNS inputs
# from a fixed seed over a generated corpus. Long campaigns: pass a large
# RUNS (or -1 for no limit) and a MAX_TIME in seconds.
#   scripts/fuzz.sh [RUNS] [MAX_TIME]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20000}
maxt=${2:-0}
dir=build/fuzz
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DBT_FUZZ=ON -DBT_TESTS=OFF -DBT_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
rm -rf "$dir/corpus" && mkdir -p "$dir/corpus"
"$dir/tests/fuzz/mkcorpus" "$dir/corpus"
for f in "$dir"/tests/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  # Inputs that once broke this harness (tests/fuzz/crashes/NAME-*) run
  # first, each on its own: a fixed bug stays fixed.
  for c in tests/fuzz/crashes/"$name"-*; do
    [ -f "$c" ] || continue
    "$f" "$c" >"$dir/$name.regress.log" 2>&1 || { echo "$name: FAILED on $c"; tail -30 "$dir/$name.regress.log"; exit 1; }
  done
  mkdir -p "$dir/corpus/$name.work"
  args=(-runs="$runs" -seed=1 -max_len=131072 -print_final_stats=1)
  [ "$maxt" != 0 ] && args+=(-max_total_time="$maxt")
  if "$f" "${args[@]}" "$dir/corpus/$name.work" "$dir/corpus" >"$dir/$name.log" 2>&1; then
    echo "$name: ok ($(grep -oE 'stat::number_of_executed_units: [0-9]+' "$dir/$name.log" | awk '{print $2}') execs)"
  else
    echo "$name: FAILED"; tail -30 "$dir/$name.log"; exit 1
  fi
done
