#!/usr/bin/env bash
# `make run`: a Baton server on embedded SQLite (./baton-data) with a local worker pool (the shell
# executor, one slot per core). Ctrl-C stops both, the worker first (it finishes what it runs).
set -euo pipefail
BATON="${1:?usage: run.sh PATH/TO/baton}"
DATA="${BATON_DATA:-./baton-data}"
LISTEN="${BATON_LISTEN:-127.0.0.1:7070}"
URL="http://${LISTEN}"
CORES="$(nproc)"

"$BATON" server --data "$DATA" --listen "$LISTEN" &
SERVER=$!
WORKER=""
stop() {
  trap - INT TERM
  [ -n "$WORKER" ] && kill -TERM "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null || true
  kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
}
trap stop INT TERM EXIT

# The worker needs the server up and its admin token written.
for _ in $(seq 1 100); do
  if [ -s "$DATA/admin.token" ] && "$BATON" types --url "$URL" --data "$DATA" >/dev/null 2>&1; then
    break
  fi
  kill -0 "$SERVER" 2>/dev/null || { echo "run.sh: the server did not start" >&2; exit 1; }
  sleep 0.1
done
"$BATON" worker --server "$URL" --data "$DATA" --types shell --capacity "$CORES" \
  --workdir "$DATA/work" &
WORKER=$!

cat <<MSG

Baton is running at $URL with a local worker pool ($CORES slots, job type "shell").
Try, in another terminal:

  export BATON_URL=$URL BATON_TOKEN=\$(cat $DATA/admin.token)
  $BATON submit shell -c 'echo hello; echo "::progress 0.5 halfway"; sleep 1' --wait
  $BATON list

Ctrl-C stops the worker and the server.
MSG
wait "$SERVER"
