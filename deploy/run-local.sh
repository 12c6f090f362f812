#!/usr/bin/env bash
# run-local.sh - start the whole system on loopback: Redis, the MongoDB-compatible server,
# ingest (:3000), reporting (:4000) and processor (:5000), each log line labelled; Ctrl-C
# stops everything. Runtime data lives in run/ (git-ignored).
#
# Environment: REDIS_PORT (6379), MONGO_PORT (27017), LOG_LEVEL (info), INGESTS (1) and
# PROCESSORS (1): that many instances, on consecutive ports from 3000 and 5000. With MONGO_URI set,
# no local MongoDB-compatible server is started and the services use that URI; with
# REDIS_HOST set, no local Redis is started (REDIS_PORT, REDIS_PASSWORD then name yours).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
run="$root/run"
jongodb="$root/.deps/jongodb/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb"
export REDIS_PORT=${REDIS_PORT:-6379}
MONGO_PORT=${MONGO_PORT:-27017}
export LOG_LEVEL=${LOG_LEVEL:-info}
# No libmongoc counters in /dev/shm (see docs/configuration.md).
export MONGOC_DISABLE_SHM=1
INGESTS=${INGESTS:-1}
PROCESSORS=${PROCESSORS:-1}
pids=()

stop_all() {
    trap - INT TERM EXIT
    echo "[run] stopping"
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "[run] stopped"
}
trap stop_all INT TERM EXIT

port_busy() {
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start NAME COMMAND...: run it in the background with every output line prefixed by [NAME].
start() {
    local name=$1
    shift
    "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
    pids+=($!)
}

# wait_port NAME PORT: wait up to 20 s for something to listen on PORT.
wait_port() {
    local i
    for i in $(seq 200); do
        port_busy "$2" && return 0
        sleep 0.1
    done
    echo "[run] $1 did not start listening on port $2" >&2
    exit 1
}

case "$INGESTS$PROCESSORS" in *[!0-9]*) echo "[run] INGESTS and PROCESSORS are numbers" >&2; exit 2 ;; esac
ports=(4000 4900)
for ((i = 0; i < INGESTS; i++)); do ports+=($((3000 + i)) $((3900 + i))); done
for ((i = 0; i < PROCESSORS; i++)); do ports+=($((5000 + i))); done
for p in "${ports[@]}"; do
    if port_busy "$p"; then
        echo "[run] port $p is in use; stop whatever listens there first" >&2
        exit 1
    fi
done
for b in ingest processor reporting; do
    [ -x "$build/$b" ] || { echo "[run] $build/$b is missing: run 'make' first" >&2; exit 1; }
done
mkdir -p "$run/redis"

if [ -z "${REDIS_HOST:-}" ]; then
    if port_busy "$REDIS_PORT"; then
        echo "[run] port $REDIS_PORT is in use: set REDIS_PORT to a free one" >&2
        exit 1
    fi
    # AOF on, fsync every second: the documented trade-off (see docs/operations.md).
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$run/redis" \
        --appendonly yes --appendfsync everysec --save ''
    wait_port redis "$REDIS_PORT"
fi
if [ -z "${MONGO_URI:-}" ]; then
    if port_busy "$MONGO_PORT"; then
        echo "[run] port $MONGO_PORT is in use: set MONGO_PORT to a free one" >&2
        exit 1
    fi
    [ -x "$jongodb" ] || { echo "[run] $jongodb is missing: run deploy/setup.sh" >&2; exit 1; }
    start mongo "$jongodb" --host=127.0.0.1 --port="$MONGO_PORT"
    wait_port mongo "$MONGO_PORT"
    export MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/analytics"
fi

label() { if [ "$2" -gt 1 ]; then echo "$1$(($3 + 1))"; else echo "$1"; fi; }
for ((i = 0; i < INGESTS; i++)); do
    start "$(label ingest "$INGESTS" "$i")" env PORT=$((3000 + i)) PROBE_PORT=$((3900 + i)) \
        BIND_ADDRESS=127.0.0.1 "$build/ingest"
done
for ((i = 0; i < PROCESSORS; i++)); do
    start "$(label processor "$PROCESSORS" "$i")" env PORT=$((5000 + i)) BIND_ADDRESS=127.0.0.1 \
        "$build/processor"
done
start reporting env PORT=4000 BIND_ADDRESS=127.0.0.1 "$build/reporting"
for p in "${ports[@]}"; do wait_port service "$p"; done
echo "[run] up: ingest http://127.0.0.1:3000$([ "$INGESTS" -gt 1 ] && echo "-$((2999 + INGESTS))")" \
    " reporting and its dashboard http://127.0.0.1:4000/  processor http://127.0.0.1:5000$([ "$PROCESSORS" -gt 1 ] &&
    echo "-$((4999 + PROCESSORS))")  (Ctrl-C stops)"

# Run until Ctrl-C, or until any one of them exits.
set +e
wait -n "${pids[@]}"
echo "[run] a process exited; stopping the rest" >&2
