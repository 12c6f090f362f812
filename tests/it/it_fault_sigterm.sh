#!/usr/bin/env bash
# it_fault_sigterm.sh - fault test 4: SIGTERM to processors under load, also while MongoDB
# is frozen: each exits 0 within 10 seconds, hands back or finishes its batch, unregisters,
# and nothing is lost or stored twice.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=fault_sigterm
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=50
    RETRY_BASE_MS=50 RETRY_MAX_MS=1000)
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor1 "${PROC_ENV[@]}"
start_service processor2 "${PROC_ENV[@]}"

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 14 --rate 250 \
    --site term-site --tag s --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!

for round in 1 2; do
    for i in 1 2; do
        sleep 1 # spread the stops over the load (pacing, not synchronisation)
        c=$(consumer_of "processor$i")
        pid_var="PROCESSOR${i}_PID"
        # (host:pid:tag: an empty or stale id would make the checks below pass vacuously)
        expect_match "round $round: processor$i reports its consumer id" "$c" ":${!pid_var}:"
        stop_pid "${!pid_var}" 10
        expect_eq "round $round: processor$i exits 0 within 10 s of SIGTERM under load" "$STOP_RC" 0
        expect_eq "round $round: processor$i left no processing list" \
            "$(redis_cli llen "events:processing:$c")" 0
        expect_eq "round $round: processor$i unregistered" \
            "$(redis_cli sismember events:consumers "$c")" 0
        start_service "processor$i" "${PROC_ENV[@]}"
    done
done

# SIGTERM while MongoDB is frozen: the batch in hand cannot be written, so it is handed
# back, and the processor still stops in time.
# (processor1 was just restarted: wait until it has registered, which it does after
# creating the indexes, so that the freeze finds it draining, not starting.)
c=$(consumer_of processor1)
registered() { [ "$(redis_cli sismember events:consumers "$c")" = 1 ]; }
check "processor1 registered before the freeze" wait_until $((10 * T_SLOW)) registered
kill -STOP "$MONGO_PID"
# Enough events for both processors to claim a batch each, even if the load has ended.
"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 2 --max 200 \
    --site term-site --tag f --out "$T_TMP/frozen.txt" >"$T_TMP/frozen.summary"
holds_batch() { [ "$(redis_cli llen "events:processing:$c")" -gt 0 ]; }
check "processor1 holds a batch while MongoDB is frozen" wait_until 10 holds_batch
lines=$(wc -l <"$T_TMP/processor1.log")
stop_pid "$PROCESSOR1_PID" 10
expect_eq "MongoDB frozen: processor1 exits 0 within 10 s of SIGTERM" "$STOP_RC" 0
expect_eq "MongoDB frozen: its batch was handed back" "$(redis_cli llen "events:processing:$c")" 0
# The hand-back is the last thing the process does before it exits, so no scrape of its
# /metrics can see it: its log line is the only report. This stop's lines only (the log
# holds the earlier runs too), and a batch was held, so at least one event.
handed_back() { tail -n +"$((lines + 1))" "$T_TMP/processor1.log" | grep -Eq 'handed [1-9][0-9]* events back'; }
check "MongoDB frozen: the hand-back is logged" handed_back
kill -CONT "$MONGO_PID"
start_service processor1 "${PROC_ENV[@]}"
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"

if wait_until 60 queue_settled events; then pass "queue drained"; else
    fail "queue drained" "pending $(redis_cli llen events)"; fi
verify_exactly_once $DB term-site "$T_TMP/load.txt" "$T_TMP/frozen.txt"
verify_rollup $DB term-site 2025-11-15
for s in processor1 processor2 ingest; do expect_clean_stop $s; done
expect_eq "no consumer left registered" "$(redis_cli scard events:consumers)" 0
t_summary
