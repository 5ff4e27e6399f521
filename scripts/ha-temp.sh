#!/usr/bin/env bash
# A throwaway highly available PostgreSQL for tests: one etcd and two PostgreSQL nodes under
# Patroni in synchronous mode (a commit is acknowledged once the replica has it, so a failover
# loses none), all in DIR, on free loopback ports, run by an unprivileged user, with no system
# service involved. Debian's packages: patroni, etcd-server, postgresql (make deps installs them).
#
#   scripts/ha-temp.sh start DIR    starts it and waits until the primary accepts writes and the
#                                   replica is its synchronous standby; prints the multi-host URL
#                                   (also in DIR/url, with target_session_attrs=read-write)
#   scripts/ha-temp.sh primary DIR  prints the primary's node name and its postmaster's pid
#   scripts/ha-temp.sh wait DIR     waits until a primary and a synchronous standby are back
#   scripts/ha-temp.sh stop DIR     stops everything by pid (SIGTERM, then SIGKILL) and removes DIR
#
# A crashed primary is failed over at once (primary_start_timeout 0) rather than restarted in
# place; Patroni makes the old primary a replica again with pg_rewind. Authentication is trust on
# loopback only: for tests, never for production.
set -euo pipefail
cmd=${1:?usage: ha-temp.sh start|primary|wait|stop DIR}
dir=${2:?usage: ha-temp.sh start|primary|wait|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
wait_s=${BATON_HA_WAIT_S:-120}

need() {
  command -v "$1" > /dev/null 2>&1 || { echo "ha-temp: $1 is not installed (make deps installs it)" >&2; exit 1; }
}

# Runs a command as the owner in place of this (sub)shell, so that `$!` is its pid.
exec_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
  fi
  exec "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

# GET a node's Patroni REST endpoint; prints the body, fails on anything but 200.
rest() {
  python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.stdout.write(r.read().decode())
except Exception:
    sys.exit(1)
EOF
}

# Whether the cluster has a running primary and a streaming synchronous standby.
healthy() {
  local cluster
  cluster=$(rest "http://127.0.0.1:$(cat "$dir/node1.rest")/cluster") || return 1
  python3 -c '
import json, sys
members = json.loads(sys.argv[1]).get("members", [])
roles = {m["role"]: m for m in members if m.get("state") in ("running", "streaming")}
sys.exit(0 if "leader" in roles and "sync_standby" in roles else 1)' "$cluster"
}

wait_healthy() {
  local deadline=$((SECONDS + wait_s))
  until healthy; do
    if [ $SECONDS -ge $deadline ]; then
      echo "ha-temp: no primary with a synchronous standby after ${wait_s} s; logs in $dir" >&2
      rest "http://127.0.0.1:$(cat "$dir/node1.rest")/cluster" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

node_config() {  # name pg_port rest_port etcd_port
  cat <<EOF
scope: baton-ha
name: $1
log:
  dir: $dir/$1-log
restapi:
  listen: 127.0.0.1:$3
  connect_address: 127.0.0.1:$3
etcd3:
  hosts: 127.0.0.1:$4
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    synchronous_mode: true
    primary_start_timeout: 0
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: 'on'
        max_wal_senders: 5
        max_replication_slots: 5
        fsync: 'on'
  initdb:
    - encoding: UTF8
    - auth: trust
postgresql:
  listen: 127.0.0.1:$2
  connect_address: 127.0.0.1:$2
  data_dir: $dir/$1
  bin_dir: $bin
  pgpass: $dir/$1.pgpass
  parameters:
    unix_socket_directories: '$dir'
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  authentication:
    superuser:
      username: baton
    replication:
      username: baton
    rewind:
      username: baton
EOF
}

case "$cmd" in
start)
  need patroni
  need etcd
  [ -n "$bin" ] || { echo "ha-temp: PostgreSQL is not installed (make deps installs it)" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  etcd_client=$(free_port)
  etcd_peer=$(free_port)
  exec_owner etcd --name baton-ha-etcd --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_client" \
    --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "baton-ha-etcd=http://127.0.0.1:$etcd_peer" \
    > "$dir/etcd.log" 2>&1 &
  echo $! > "$dir/etcd.pid"
  hosts=""
  for n in 1 2; do
    pg=$(free_port)
    rest_port=$(free_port)
    echo "$pg" > "$dir/node$n.port"
    echo "$rest_port" > "$dir/node$n.rest"
    mkdir -p "$dir/node$n-log"
    node_config "node$n" "$pg" "$rest_port" "$etcd_client" > "$dir/node$n.yml"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir/node$n.yml" "$dir/node$n-log"
    exec_owner patroni "$dir/node$n.yml" > "$dir/node$n.out" 2>&1 &
    echo $! > "$dir/node$n.patroni.pid"
    hosts="$hosts${hosts:+,}127.0.0.1:$pg"
    # The first node bootstraps the cluster before the second one asks to join it.
    if [ $n -eq 1 ]; then
      deadline=$((SECONDS + wait_s))
      until rest "http://127.0.0.1:$rest_port/primary" > /dev/null; do
        if [ $SECONDS -ge $deadline ]; then
          echo "ha-temp: node1 did not become the primary; see $dir/node1-log" >&2
          exit 1
        fi
        sleep 0.5
      done
    fi
  done
  wait_healthy
  echo "postgresql://baton@$hosts/postgres?target_session_attrs=read-write" > "$dir/url"
  cat "$dir/url"
  ;;
primary)
  for n in 1 2; do
    if rest "http://127.0.0.1:$(cat "$dir/node$n.rest")/primary" > /dev/null; then
      echo "node$n $(head -1 "$dir/node$n/postmaster.pid")"
      exit 0
    fi
  done
  echo "ha-temp: no primary now" >&2
  exit 1
  ;;
wait)
  wait_healthy
  ;;
stop)
  # Patroni first (it stops its PostgreSQL), then whatever is left by pid, then etcd.
  for n in 1 2; do
    f="$dir/node$n.patroni.pid"
    [ -f "$f" ] && kill -TERM "$(cat "$f")" 2> /dev/null || true
  done
  for n in 1 2; do
    f="$dir/node$n.patroni.pid"
    [ -f "$f" ] || continue
    for _ in $(seq 150); do alive "$(cat "$f")" || break; sleep 0.1; done
    alive "$(cat "$f")" && kill -KILL "$(cat "$f")" 2> /dev/null || true
    if [ -f "$dir/node$n/postmaster.pid" ]; then
      pm=$(head -1 "$dir/node$n/postmaster.pid")
      alive "$pm" && kill -KILL "$pm" 2> /dev/null || true
    fi
  done
  if [ -f "$dir/etcd.pid" ]; then
    kill -TERM "$(cat "$dir/etcd.pid")" 2> /dev/null || true
    for _ in $(seq 50); do alive "$(cat "$dir/etcd.pid")" || break; sleep 0.1; done
    alive "$(cat "$dir/etcd.pid")" && kill -KILL "$(cat "$dir/etcd.pid")" 2> /dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: ha-temp.sh start|primary|wait|stop DIR" >&2
  exit 2
  ;;
esac
