#!/usr/bin/env bash
# `make bench-pg`: `baton bench` over a PostgreSQL of its own (scripts/pg-temp.sh: default
# settings, fsync and synchronous_commit on), each figure in a fresh schema, then one JSON object
# on stdout (progress on stderr):
#   throughput_2x10   20,000 no-op jobs in batches of 1,000, 2 worker processes x 10 slots
#   throughput_2x256  50,000 the same with 2 x 256 slots (large capacity)
#   latency           2,000 jobs one at a time, submit to success seen on the event stream
#   fanout            a parent with 10,000 children and its aggregator
#   failover          two servers, the leader SIGKILLed 3 times (lease 10 s)
# Each run carries its calibration (raw batched inserts into the same PostgreSQL, loopback).
#   bench/bench_pg.sh BATON [JOBS_2x10 JOBS_2x256]
set -euo pipefail
baton=${1:?usage: bench_pg.sh BATON [JOBS_2x10 JOBS_2x256]}
jobs_small=${2:-20000}
jobs_large=${3:-50000}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/baton-bench-pg.XXXXXX)
chmod 755 "$dir"
trap '"$here/scripts/pg-temp.sh" stop "$dir/pg" > /dev/null 2>&1 || true; rm -rf "$dir"' EXIT
"$here/scripts/pg-temp.sh" start "$dir/pg" > /dev/null
url=$(cat "$dir/pg/url")
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
n=0
run() {  # NAME ARGS...: one `baton bench` in a schema of its own, its JSON in $dir/NAME.json
  local name=$1
  shift
  n=$((n + 1))
  "$psql" "$url" -qc "CREATE SCHEMA bench$n"
  echo "bench-pg: $name: baton bench $*" >&2
  "$baton" bench "$@" --json --store "$url?options=-csearch_path%3Dbench$n" > "$dir/$name.json"
}
run throughput_2x10 throughput --jobs "$jobs_small" --workers 2 --capacity 10
run throughput_2x256 throughput --jobs "$jobs_large" --workers 2 --capacity 256
run latency latency --latency-jobs 2000
run fanout fanout --children 10000
run failover failover --rounds 3
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
out = {"postgresql": "pg-temp.sh, default settings (fsync, synchronous_commit on)"}
for name in ["throughput_2x10", "throughput_2x256", "latency", "fanout", "failover"]:
    with open(f"{d}/{name}.json") as f:
        r = json.load(f)
    for key, value in r.items():
        if key == "calibration":
            out.setdefault("calibration", []).append(value)
        else:
            out[name] = value
print(json.dumps(out, indent=1))
t = out
print("bench-pg: 2x10 %d jobs/s, 2x256 %d jobs/s, p50 %.2f ms, fanout %.2f s, failover %.1f s "
      "(calibration: raw inserts %s rows/s)" % (
          t["throughput_2x10"]["jobs_per_s"], t["throughput_2x256"]["jobs_per_s"],
          t["latency"]["p50_ms"], t["fanout"]["seconds"], t["failover"]["first_job_s_median"],
          [c.get("pg_rows_per_s") for c in t["calibration"]]), file=sys.stderr)
PY
