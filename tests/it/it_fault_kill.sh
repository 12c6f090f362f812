#!/usr/bin/env bash
# it_fault_kill.sh - fault test 1: three processors drain a sustained load while one at a
# time is killed with SIGKILL at random moments and restarted; at the end every event that
# got a 202 is in MongoDB exactly once.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=fault_kill
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=50
    HEARTBEAT_TTL_MS=1500 RETRY_BASE_MS=20 RETRY_MAX_MS=500)
start_service ingest REDIS_PORT="$REDIS_PORT"
# start_processor I: (re)start processorI; CONSUMER[I] is its consumer id, from its /metrics.
CONSUMER=()
start_processor() {
    start_service "processor$1" "${PROC_ENV[@]}"
    CONSUMER[$1]=$(consumer_of "processor$1")
}
for i in 1 2 3; do start_processor "$i"; done

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 12 --rate 400 \
    --site kill-site --tag k --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!

# mid_batch I: processor I holds a claimed batch right now.
mid_batch() { [ "$(q_llen ":processing:${CONSUMER[$1]}")" -gt 0 ]; }
# recovered_by I: the events processorI's recovery passes returned to the queue.
recovered_by() {
    local port="PROCESSOR$1_PORT"
    metric "http://127.0.0.1:${!port}" analytics_events_recovered_total
}
# Their sum over every run: a killed run's count is read just before the kill, since its
# /metrics goes with it.
recovered=0
kills=0
for _ in 1 2 3 4 5 6; do
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 100) / 100 }')"
    i=$((RANDOM % 3 + 1))
    pid_var="PROCESSOR${i}_PID"
    wait_until 3 mid_batch "$i" # aim at a claimed, unacknowledged batch (or give up waiting)
    recovered=$((recovered + $(recovered_by "$i")))
    ours "${!pid_var}" && kill -KILL "${!pid_var}" 2>/dev/null && kills=$((kills + 1))
    wait "${!pid_var}" 2>/dev/null
    start_processor "$i"
done
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"
expect_eq "six processors killed with SIGKILL" "$kills" 6

if wait_until 180 queue_settled events; then pass "queue and processing lists drained"; else
    fail "queue and processing lists drained" "pending $(q_llen "")"; fi
# And the live runs' counts. (A pass between a scrape and its kill, or one the kill cut
# short, is not counted: the sum can only fall short of the passes' true total.)
for i in 1 2 3; do recovered=$((recovered + $(recovered_by "$i"))); done
echo "# recovery passes returned $recovered events of killed processors to the queue"
check "kills hit claimed batches, which recovery returned" [ "$recovered" -gt 0 ]
verify_exactly_once $DB kill-site "$T_TMP/load.txt"
verify_rollup $DB kill-site 2025-11-15 2025-11-15..2025-11-15
expect_eq "no dead letters" "$(q_llen :dead)" 0
for i in 1 2 3; do expect_clean_stop "processor$i"; done
expect_eq "stopped processors unregistered" "$(q_scard :consumers)" 0
expect_clean_stop ingest
t_summary
