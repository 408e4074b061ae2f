#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs
# every test twice (a normal build, and one under AddressSanitizer +
# UndefinedBehaviorSanitizer), then short seeded libFuzzer runs of every
# harness. Ends with one line: "total: N passed, M failed".
#
#   scripts/test.sh            everything
#   BT_QUICK=1 scripts/test.sh the normal build only
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
fails=0
passed=0
failed=0

scripts/setup.sh --tests || { echo "setup failed"; exit 1; }

# Runs ctest verbosely into a log and adds the Criterion totals of each test
# binary ("Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C").
run_suite() {
  local name=$1 dir=$root/$2; shift 2
  echo "== $name: configure and build"
  cmake -S "$root" -B "$dir" "$@" >"$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
  echo "== $name: ctest"
  (cd "$dir" && ctest -V -j"$jobs" >"$dir.ctest.log" 2>&1)
  local rc=$?
  grep -E '^\S+: \[FAIL\]|\[FAIL\]|CRASH|runtime error|ERROR: AddressSanitizer' "$dir.ctest.log" | head -40
  local p f
  p=$(grep -oE 'Passing: [0-9]+' "$dir.ctest.log" | awk '{s+=$2} END {print s+0}')
  f=$(grep -oE 'Failing: [0-9]+' "$dir.ctest.log" | awk '{s+=$2} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
  # Criterion passes a test whose worker LeakSanitizer flags at exit: a
  # sanitizer report anywhere fails the suite.
  local san
  san=$(grep -cE 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$dir.ctest.log")
  [ "$san" -eq 0 ] || { echo "$name: $san sanitizer reports"; f=$((f + san)); failed=$((failed + san)); }
  grep -E 'tests passed|tests failed out of' "$dir.ctest.log" | tail -1
  echo "$name: $p passed, $f failed"
  [ $rc -eq 0 ] && [ "$f" -eq 0 ]
}

mkdir -p build
run_suite "release" build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo || fails=$((fails + 1))
if [ -z "${BT_QUICK:-}" ]; then
  run_suite "asan+ubsan" build/sanitize -DCMAKE_BUILD_TYPE=Debug -DBT_ASAN=ON -DBT_UBSAN=ON \
    -DBT_BENCH=OFF || fails=$((fails + 1))
  echo "== fuzz: short seeded runs (libFuzzer, ASan+UBSan)"
  if scripts/fuzz.sh 20000 >build/fuzz.log 2>&1; then
    grep -E '^fuzz_' build/fuzz.log
    passed=$((passed + $(grep -c '^fuzz_.*: ok' build/fuzz.log)))
  else
    tail -40 build/fuzz.log
    failed=$((failed + 1)); fails=$((fails + 1))
  fi
fi
[ $fails -eq 0 ] || failed=$((failed > 0 ? failed : fails))
echo "total: $passed passed, $failed failed"
[ $fails -eq 0 ]
