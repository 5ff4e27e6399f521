#!/usr/bin/env bash
# Runs the whole suite of a sanitizer build (make test-asan, make test-tsan) and fails on any
# sanitizer report from any process: the tests' own and every server, worker and CLI they start,
# including processes whose exit status no test looks at (a worker killed at the end of a test).
# Each process writes its reports to BUILD_DIR/san-reports/KIND.PID; they are printed at the end.
set -euo pipefail
build_dir=${1:?usage: san-test.sh BUILD_DIR JOBS}
jobs=${2:-2}
reports="$(cd "$build_dir" && pwd)/san-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$reports/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$reports/ubsan"
export TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=$reports/tsan"
status=0
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" --timeout 900) || status=$?
shopt -s nullglob
found=("$reports"/*)
if ((${#found[@]} > 0)); then
  for f in "${found[@]}"; do
    echo "==== $f"
    cat "$f"
  done
  echo "san-test: ${#found[@]} sanitizer report(s) in $reports" >&2
  status=1
fi
exit $status
