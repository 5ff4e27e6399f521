#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR for SECONDS each, starting from the seed corpus in
# fuzz/corpus/NAME (read only: new inputs go to a scratch directory). A finding stops the run
# with the input that caused it; add that file to fuzz/corpus/NAME/ once fixed, and `make test`
# replays it from then on.
set -euo pipefail
build_dir=${1:?usage: fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: fuzz.sh BUILD_DIR SECONDS}
cd "$(dirname "$0")/.."
scratch=$(mktemp -d /tmp/baton-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build_dir/fuzz-findings"
status=0
for fuzzer in "$build_dir"/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${seconds}s"
  if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build_dir/fuzz-findings/$name-" "$scratch/$name" "fuzz/corpus/$name" \
      > "$scratch/$name.log" 2>&1; then
    tail -50 "$scratch/$name.log"
    echo "fuzz: $name found a problem; the input is in $build_dir/fuzz-findings/" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$name.log" |
      tr '\n' ' ' | sed "s/^/fuzz: $name: /"
    echo
  fi
done
exit $status
