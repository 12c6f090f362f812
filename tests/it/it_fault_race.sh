#!/usr/bin/env bash
# it_fault_race.sh - the rollup protocol decides from the documents, never from a duplicate
# key. An upsert whose filter is not a plain equality (the rollups' "not applied yet" and
# "not voided" conditions) answers a duplicate key when another processor created its
# document at that very moment: MongoDB retries that race by itself only for equality
# filters. The processor-fault's FAULT_DUPKEY (tests/it/fault.c) answers exactly that, once,
# with no effect on the server: on the update that voids a crashed batch on a document
# before its events are taken over (one processor killed between storing and counting a
# batch, a second taking the batch over), and on each bulk write of a batch and the first
# update of its one-by-one rerun (user documents, paths, referrers, site-days, site-hours).
# After each run every event is stored once and /stats answers as /stats/aggregated.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
RUN=0
DAYS=(2025-11-15 2025-11-16 2025-11-15..2025-11-16)

# shellcheck disable=SC2317 # called through wait_until
gone() { ! ours "$1"; }

# race_run NAME CRASH FAULT: 40 random events on a queue and database of their own; with
# CRASH "crash", processor1 stores them as one batch and kills itself before counting it;
# then processor2 runs with FAULT_DUPKEY=FAULT and counts (or takes over) everything.
race_run() {
    local name=$1 crash=$2 fault=$3 q db
    RUN=$((RUN + 1))
    q="race$RUN"
    db="race$RUN"
    local penv=(REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$q" MONGO_URI="$(mongo_uri "$db")"
        BATCH_SIZE=100 HEARTBEAT_TTL_MS=1000 RETRY_BASE_MS=10 RETRY_MAX_MS=200)
    echo "# --- $name"
    start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$q"
    "$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 1 --max 40 --random "$RUN" \
        --site race-site --tag "$RUN" --out "$T_TMP/load$RUN.txt" >/dev/null
    if [ "$crash" = crash ]; then
        : >"$T_TMP/processor1.log"
        VARIANT=-fault start_service processor1 "${penv[@]}" FAULT_KILL_BEFORE_ROLLUP=1
        check "$name: processor1 stored the batch and died before counting it" \
            wait_until $((30 * T_SLOW)) gone "$PROCESSOR1_PID"
        wait "$PROCESSOR1_PID" 2>/dev/null
    fi
    : >"$T_TMP/processor2.log"
    VARIANT=-fault start_service processor2 "${penv[@]}" FAULT_DUPKEY="$fault"
    # (queue_settled alone can pass between a recovery pass's move of processor1's list back
    # to the queue and processor2's claim of it: processor2 must also have acknowledged.)
    # shellcheck disable=SC2317 # called through wait_until
    drained() {
        queue_settled "$q" &&
            [ "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_batches_total)" -ge 1 ]
    }
    if wait_until $((60 * T_SLOW)) drained; then pass "$name: queue drained"; else
        fail "$name: queue drained" "pending $(redis_cli llen "$q")"; fi
    check "$name: the duplicate key was answered" \
        grep -q '^FAULT: .* answers a duplicate key' "$T_TMP/processor2.log"
    if [ "$crash" = crash ]; then
        check "$name: processor2 took the crashed batch's counts over" \
            [ "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_rollup_takeovers_total)" -gt 0 ]
    fi
    verify_exactly_once "$db" race-site "$T_TMP/load$RUN.txt"
    ROLLUP_TYPES="page_view click signup" verify_rollup "$db" race-site "${DAYS[@]}"
    expect_clean_stop reporting
    unset REPORTING_PORT
    expect_clean_stop processor2
    expect_clean_stop ingest
}

# The void of the crashed batch, on the first document it is voided on and on another.
race_run "void, first" crash void:1
race_run "void, third" crash void:3
# Each bulk write of a fresh batch: its user documents, then its counts on the paths, the
# referrers, the site-days and the site-hours.
for n in 1 2 3 4 5; do race_run "bulk write $n" fresh "bulk:$n"; done
t_summary
