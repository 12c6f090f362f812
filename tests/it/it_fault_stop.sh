#!/usr/bin/env bash
# it_fault_stop.sh - fault test 6: a processor stops within 10 s of SIGTERM whatever the
# database does. Two processors under load (6,000 events from four clients), each killed
# with SIGKILL and restarted three times at random moments 0.5-1.5 s apart; then MongoDB
# frozen for 10 s under load; then, as it comes back slowly, SIGTERM to one processor,
# which must exit 0 within 10 s (Kubernetes sends SIGKILL after 30). Every accepted event
# is then stored exactly once and counted once.
# it: alone (run_it.sh: its bounds are about time)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=fault_stop
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=100
    HEARTBEAT_TTL_MS=2000 RETRY_BASE_MS=50 RETRY_MAX_MS=1000)
start_service ingest REDIS_PORT="$REDIS_PORT"
for i in 1 2; do start_service "processor$i" "${PROC_ENV[@]}"; done

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --max 6000 --rate 300 --seconds 60 \
    --site stop-site --tag t --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!

kills=0
for _ in 1 2 3; do
    for i in 1 2; do
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 100) / 100 }')"
        pid_var="PROCESSOR${i}_PID"
        ours "${!pid_var}" && kill -KILL "${!pid_var}" 2>/dev/null && kills=$((kills + 1))
        wait "${!pid_var}" 2>/dev/null
        start_service "processor$i" "${PROC_ENV[@]}"
    done
done
expect_eq "six processors killed with SIGKILL and restarted" "$kills" 6

kill -STOP "$MONGO_PID"
sleep 10 # the freeze itself, under load: what is measured is the stop that follows
# Then a database that answers, but slowly: it runs 50 ms in every second (the backlog of
# commands the freeze left behind, or a server on its knees), so that each command of a
# batch takes long without timing out. SIGTERM goes in once the processors are back at
# work on it.
( while :; do kill -CONT "$MONGO_PID"; sleep 0.05; kill -STOP "$MONGO_PID"; sleep 0.95; done ) &
THROTTLE_PID=$!
sleep 3
start=$(date +%s.%N)
stop_pid "$PROCESSOR1_PID" 40
kill "$THROTTLE_PID"
wait "$THROTTLE_PID" 2>/dev/null
kill -CONT "$MONGO_PID"
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "# processor1 exited ${STOP_RC} ${took} s after SIGTERM"
expect_eq "SIGTERM right after the freeze: processor1 exits 0" "$STOP_RC" 0
check "SIGTERM right after the freeze: within 10 s ($took s)" awk -v t="$took" 'BEGIN { exit !(t < 10) }'

start_service processor1 "${PROC_ENV[@]}"
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"
if wait_until 120 queue_settled events; then pass "queue and processing lists drained"; else
    fail "queue and processing lists drained" "pending $(redis_cli llen events)"; fi
verify_exactly_once $DB stop-site "$T_TMP/load.txt"
verify_rollup $DB stop-site 2025-11-15
expect_eq "no dead letters" "$(redis_cli llen events:dead)" 0
for s in processor1 processor2 ingest; do expect_clean_stop $s; done
t_summary
