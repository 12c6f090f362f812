#!/usr/bin/env bash
# it_rollup.sh - the rollups behind /stats stay exact through injected crashes: on random
# events over two days, one processor is killed between storing a batch and counting it,
# one half-way through counting it (its user documents claimed, no count applied), one
# between counting it in the site-days and in the site-hours, and one frozen before
# counting it; a third takes their batches over. /stats (rollups) must answer
# exactly as /stats/aggregated (raw events), for each day and over ranges of days, and
# /stats/timeseries by hour and by day as /stats/timeseries/aggregated, before
# and after the frozen one wakes up and tries to count its batch late. The three run the
# fault-injection variant, which alone has the failpoints; the third too (no failpoint set),
# so that all four record their commands (MONGO_COMMAND_LOG): the takeovers' compare-and-sets
# and voids carry their collections' shard keys (tests/tools/shardkeys.py), as it_shardkeys.sh
# checks of the commands without crashes.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=rollup
TYPES="page_view click signup"
# Ranges over both days: a user of both days counts once (from the per-day user documents).
RANGES=(2025-11-15..2025-11-16 2025-11-14..2025-11-17)
# The processors' URI asks for reads from secondaries (as one shared with reporting might):
# their protocol reads go to the primary whatever it says (store_pin_reads()).
LOG="$T_TMP/commands.jsonl"
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)?readPreference=secondaryPreferred" BATCH_SIZE=40
    HEARTBEAT_TTL_MS=1000 RETRY_BASE_MS=50 RETRY_MAX_MS=1000 MONGO_COMMAND_LOG="$LOG")
start_service ingest REDIS_PORT="$REDIS_PORT"
VARIANT=-fault start_service processor1 "${PROC_ENV[@]}" FAULT_KILL_IN_ROLLUP=3
VARIANT=-fault start_service processor2 "${PROC_ENV[@]}" FAULT_STOP_BEFORE_ROLLUP=2
VARIANT=-fault start_service processor3 "${PROC_ENV[@]}"
VARIANT=-fault start_service processor4 "${PROC_ENV[@]}" FAULT_KILL_BEFORE_ROLLUP=3
VARIANT=-fault start_service processor5 "${PROC_ENV[@]}" FAULT_KILL_BEFORE_HOURS=2
start_service reporting MONGO_URI="$(mongo_uri $DB)"

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --max 1500 --rate 300 \
    --random 42 --site roll-site --tag r --out "$T_TMP/load.txt" >"$T_TMP/load.summary"
echo "# load: $(cat "$T_TMP/load.summary")"

# shellcheck disable=SC2317 # called through wait_until
killed() {
    ! kill -0 "$PROCESSOR1_PID" 2>/dev/null && ! kill -0 "$PROCESSOR4_PID" 2>/dev/null &&
        ! kill -0 "$PROCESSOR5_PID" 2>/dev/null
}
# shellcheck disable=SC2317
frozen() { grep -q '^State:.*T' "/proc/$PROCESSOR2_PID/status" 2>/dev/null; }
check "processor1, 4 and 5 killed themselves in, before and (5, batch 2) amid counting" \
    wait_until $((30 * T_SLOW)) killed
check "processor1 died half-way through its count" \
    grep -q 'failpoint: killing this processor half-way' "$T_TMP/processor1.log"
check "processor5 died between the site-days and the site-hours of batch 2" \
    grep -q 'failpoint: killing this processor between the site-days and the site-hours' \
    "$T_TMP/processor5.log"
check "processor2 froze before counting batch 2" wait_until $((30 * T_SLOW)) frozen
# processor3 recovers both lists once their heartbeats lapse, and stores what is left.
if wait_until $((60 * T_SLOW)) queue_settled events; then pass "queue drained"; else
    fail "queue drained" "pending $(q_llen "")"; fi
verify_exactly_once $DB roll-site "$T_TMP/load.txt"
ROLLUP_TYPES=$TYPES verify_rollup $DB roll-site 2025-11-15 2025-11-16 "${RANGES[@]}"

# The day totals add up to the stored documents.
sum=0
for d in 2025-11-15 2025-11-16; do
    http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=roll-site&date=$d"
    sum=$((sum + $(jq .total_views <<<"$HTTP_BODY")))
done
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"roll-site"}')
expect_eq "/stats of both days adds up to the stored events" "$sum" "$stored"
taken=$(metric "http://127.0.0.1:$PROCESSOR3_PORT" analytics_rollup_takeovers_total)
echo "# processor3 took over $taken counts of the crashed batches"
check "the crashed batches' counts were taken over" [ "$taken" -gt 0 ]
users=$(metric "http://127.0.0.1:$PROCESSOR3_PORT" analytics_rollup_user_takeovers_total)
echo "# processor3 took over $users user documents claimed by the batch killed half-way"
# How many user documents that batch claimed depends on the timing (a user another batch
# counted first that day is not claimed again), so the count above may be 0. What must hold
# either way: a user document still claimed by it is on a site-day where it applied, never
# on one where it was voided (the figures above say the users were counted once).
killed=$(sed -n 's/.*killing this processor half-way through the rollup of batch \([^ ]*\).*/\1/p' \
    "$T_TMP/processor1.log" | tail -n 1)
check "the half-counted batch is named in its log" [ -n "$killed" ]
stranded=0 claimed=0
while read -r id; do
    claimed=$((claimed + 1))
    # A user document's id is its site-day's id, "|", the user id (no "|" in this load's).
    voided=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" rollups find "{\"_id\":\"${id%|*}\"}" |
        jq --arg b "$killed" '[.voided[]? | select(. == $b)] | length')
    [ "${voided:-0}" -eq 0 ] || stranded=$((stranded + 1))
done < <("$BUILD/tests/mongoq" "$(mongo_uri $DB)" rollup_users find "{\"b\":\"$killed\"}" | jq -r '._id')
echo "# $claimed user documents are still claimed by it, $stranded of them where it was voided"
expect_eq "no user document is left claimed by the half-counted batch where it was voided" \
    "$stranded" 0

# The frozen processor wakes up and tries to count its batch: it must add nothing.
kill -CONT "$PROCESSOR2_PID"
# shellcheck disable=SC2317
acked() {
    [ "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_batches_total)" -ge 2 ]
}
check "processor2 finished its late batch" wait_until $((20 * T_SLOW)) acked
check "processor2 logged the late count" grep -q 'failpoint: continued' "$T_TMP/processor2.log"
if wait_until 30 queue_settled events; then pass "queue settled again"; else
    fail "queue settled again"; fi
ROLLUP_TYPES=$TYPES verify_rollup $DB roll-site 2025-11-15 2025-11-16 "${RANGES[@]}"
for s in processor2 processor3 ingest reporting; do expect_clean_stop $s; done

# The takeovers are in the log: compare-and-sets of events' owners (own.<figure>), voids.
takeovers=$(jq -s '[.[] | select(.cmd == "update") | .command.updates[]
    | select((.q | keys | any(startswith("own."))) or .u["$addToSet"].voided != null)]
    | length' "$LOG")
check "the fault processors' takeovers are recorded ($takeovers)" [ "$takeovers" -gt 0 ]
check_shardkeys "$LOG"
t_summary
