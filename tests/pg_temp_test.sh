#!/usr/bin/env bash
# scripts/pg-temp.sh starts a real PostgreSQL that answers on its loopback URL, run by an
# unprivileged user; down, up and restart keep its data; stop leaves neither the postmaster nor
# its directory behind.
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
# down / up / restart keep the data and the port.
psql "$url" -qc 'create table kept (v int); insert into kept values (7)'
"$script" down "$dir"
! psql "$url" -tAc 'select 1' > /dev/null 2>&1 || { echo "FAIL: answers after down"; exit 1; }
"$script" up "$dir"
"$script" restart "$dir"
[ "$(psql "$url" -tAc 'select v from kept')" = 7 ] || { echo "FAIL: the data did not survive"; exit 1; }
pid=$(cat "$dir/pid")
"$script" stop "$dir"
state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
[ -z "$state" ] || [ "${state#Z}" != "$state" ] || { echo "FAIL: postmaster $pid still runs"; exit 1; }
[ ! -e "$dir" ] || { echo "FAIL: $dir left behind"; exit 1; }
echo "pg_temp_test: ok (answered on $url as $owner, stopped)"
