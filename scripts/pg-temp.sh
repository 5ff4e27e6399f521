#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks: a new cluster in a directory of its own, run
# by an unprivileged user, on a free loopback port, with no system service involved.
#
#   scripts/pg-temp.sh start DIR   initdb in DIR/pgdata, start it; prints the connection URL
#                                  (also written to DIR/url) and the postmaster's pid (DIR/pid)
#   scripts/pg-temp.sh stop DIR    stops it (fast shutdown, then SIGKILL by pid) and removes DIR
#
# For tests of a database that goes away (the data stays; the port is kept):
#   scripts/pg-temp.sh down DIR     stops it at once (`pg_ctl stop -m immediate`: a crash)
#   scripts/pg-temp.sh up DIR       starts it again after `down` (crash recovery)
#   scripts/pg-temp.sh restart DIR  `pg_ctl restart -m immediate`
#
# Run as root, the cluster belongs to the `postgres` user (Debian's package makes it); otherwise
# to the caller. Authentication is trust on loopback only: for tests, never for production.
set -euo pipefail
cmd=${1:?usage: pg-temp.sh start|stop|down|up|restart DIR}
dir=${2:?usage: pg-temp.sh start|stop|down|up|restart DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "pg-temp: PostgreSQL is not installed (make deps installs it)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# Whether `pid` runs (a zombie does not: nobody may be left to reap it in a container).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

# Starts the cluster in DIR on `port` and records its pid.
run() {
  as_owner "$bin/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 -c fsync=on" start > /dev/null ||
    { cat "$dir/postgres.log" >&2; exit 1; }
  head -1 "$dir/pgdata/postmaster.pid" > "$dir/pid"
}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/pgdata" -U baton --auth=trust -E UTF8 --no-instructions > "$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  run "$port"
  echo "$port" > "$dir/port"
  echo "postgresql://baton@127.0.0.1:$port/postgres" > "$dir/url"
  cat "$dir/url"
  echo "pid $(cat "$dir/pid")"
  ;;
down)
  as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m immediate -w -t 30 stop > /dev/null
  ;;
up)
  run "$(cat "$dir/port")"
  ;;
restart)
  as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m immediate -w -t 30 stop > /dev/null
  run "$(cat "$dir/port")"
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    as_owner "$bin/pg_ctl" -D "$dir/pgdata" -m fast -w -t 30 stop > /dev/null 2>&1 || true
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then echo "pg-temp: postmaster $pid did not stop" >&2; exit 1; fi
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg-temp.sh start|stop|down|up|restart DIR" >&2
  exit 2
  ;;
esac
