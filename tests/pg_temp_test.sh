#!/usr/bin/env bash
# scripts/pg-temp.sh starts a real PostgreSQL that answers on its loopback URL, run by an
# unprivileged user; stop leaves neither the postmaster nor its directory behind.
set -euo pipefail
script="$(dirname "$0")/../scripts/pg-temp.sh"
dir=$(mktemp -d /tmp/baton-pg-test.XXXXXX)
trap '"$script" stop "$dir" > /dev/null 2>&1 || true' EXIT
"$script" start "$dir" > /dev/null
url=$(cat "$dir/url")
pid=$(cat "$dir/pid")
[ "$(psql "$url" -tAc 'select 6 * 7')" = 42 ] || { echo "FAIL: no answer on $url"; exit 1; }
owner=$(ps -o user= -p "$pid")
[ "$owner" != root ] || { echo "FAIL: the postmaster runs as root"; exit 1; }
case "$url" in postgresql://baton@127.0.0.1:*) ;; *) echo "FAIL: not loopback: $url"; exit 1 ;; esac
"$script" stop "$dir"
state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
[ -z "$state" ] || [ "${state#Z}" != "$state" ] || { echo "FAIL: postmaster $pid still runs"; exit 1; }
[ ! -e "$dir" ] || { echo "FAIL: $dir left behind"; exit 1; }
echo "pg_temp_test: ok (answered on $url as $owner, stopped)"
