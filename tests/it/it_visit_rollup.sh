#!/usr/bin/env bash
# it_visit_rollup.sh - the visit rollups (rollup_visits, rollup_entry_pages, rollup_exit_pages)
# stay exact through crashes: envelopes with visit members (written here by
# tests/tools/visits.py as ingest's script would: ingest does not emit them yet), visits of 40
# visitors over two days (some crossing midnight, some with a page view without a path before
# their entry page, a few client duplicates), are pushed straight
# onto the queue in two halves; of four processors one kills itself between counting a batch
# on the site-days and on the site-hours (so before its visit figures, written after them),
# one half-way through counting one, one is killed with SIGKILL while it holds a batch, and
# the fourth takes their batches over. Then every visit figure is checked against a
# recomputation from the stored events' own fields (type, path, timestamp, visit_id,
# visit_seq), not from the contributions.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=visit_rollup
SITE=visit-site
URI=$(mongo_uri $DB)
# The fault variant records its commands (MONGO_COMMAND_LOG): the visit figures' writes,
# voids and takeovers carry their collections' shard keys (tests/tools/shardkeys.py).
LOG="$T_TMP/commands.jsonl"
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$URI" BATCH_SIZE=15 HEARTBEAT_TTL_MS=1000
    RETRY_BASE_MS=50 RETRY_MAX_MS=1000 MONGO_COMMAND_LOG="$LOG")

read -r events late_entries < <("$T_PYTHON" "$T_ROOT/tests/tools/visits.py" gen "$SITE" 23 \
    "$(q_first)" "$T_TMP")
echo "# $events events with visit members"
# The entry page adds eb, not b: a visit that bounced on a page view without a path before its
# entry ends the bounce there, which must not subtract one from the entry page.
check "some visits bounce before their entry page ($late_entries)" [ "${late_entries:-0}" -gt 0 ]

VARIANT=-fault start_service processor1 "${PROC_ENV[@]}" FAULT_KILL_BEFORE_HOURS=2
VARIANT=-fault start_service processor2 "${PROC_ENV[@]}" FAULT_KILL_IN_ROLLUP=3
start_service processor3 "${PROC_ENV[@]}"
CONSUMER3=$(consumer_of processor3)
redis_cli --pipe <"$T_TMP/part1.resp" >/dev/null

# processor3 is killed with SIGKILL while it holds a claimed batch (the others may count it
# meanwhile: either way, its batch is taken over or left counted, never counted twice).
# shellcheck disable=SC2317 # called through wait_until
holds_batch() { [ "$(q_llen ":processing:$CONSUMER3")" -gt 0 ]; }
if wait_until $((10 * T_SLOW)) holds_batch; then
    kill -KILL "$PROCESSOR3_PID"
    wait "$PROCESSOR3_PID" 2>/dev/null
    pass "processor3 killed with SIGKILL holding a batch"
else
    fail "processor3 killed with SIGKILL holding a batch" "it never held one"
fi
VARIANT=-fault start_service processor4 "${PROC_ENV[@]}"
redis_cli --pipe <"$T_TMP/part2.resp" >/dev/null

# shellcheck disable=SC2317 # called through wait_until
died() { ! kill -0 "$PROCESSOR1_PID" 2>/dev/null && ! kill -0 "$PROCESSOR2_PID" 2>/dev/null; }
check "processor1 and processor2 killed themselves amid counting" wait_until $((30 * T_SLOW)) died
check "processor1 died between the site-days and the site-hours (before its visit figures)" \
    grep -q 'failpoint: killing this processor between the site-days and the site-hours' \
    "$T_TMP/processor1.log"
check "processor2 died half-way through its count" \
    grep -q 'failpoint: killing this processor half-way' "$T_TMP/processor2.log"
if wait_until $((60 * T_SLOW)) queue_settled events; then pass "queue drained"; else
    fail "queue drained" "pending $(q_llen "")"; fi
expect_eq "no dead letters" "$(q_llen ":dead")" 0

q() { "$BUILD/tests/mongoq" "$URI" "$@"; }
stored=$(q events count "{\"site_id\":\"$SITE\"}")
expect_eq "each event stored once (client duplicates included)" "$stored" "$events"
with_visit=$(q events count "{\"site_id\":\"$SITE\",\"visit_id\":{\"\$exists\":true},\"visit_seq\":{\"\$gte\":1}}")
expect_eq "each stored event has visit_id and visit_seq" "$with_visit" "$events"
q events find "{\"site_id\":\"$SITE\"}" >"$T_TMP/events.jsonl"
q rollup_visits find "{\"site_id\":\"$SITE\"}" >"$T_TMP/visits.jsonl"
q rollup_entry_pages find "{\"site_id\":\"$SITE\"}" >"$T_TMP/entry.jsonl"
q rollup_exit_pages find "{\"site_id\":\"$SITE\"}" >"$T_TMP/exit.jsonl"
if out=$("$T_PYTHON" "$T_ROOT/tests/tools/visits.py" check "$T_TMP/events.jsonl" \
    "$T_TMP/visits.jsonl" "$T_TMP/entry.jsonl" "$T_TMP/exit.jsonl" 2>&1); then
    pass "visit rollups match the recomputation from the stored events"
else
    fail "visit rollups match the recomputation from the stored events" "$out"
fi
echo "$out" | sed 's/^/# /' | tail -n 6
# Visits start on 2025-11-15 and 16 (a visitor's later visits may start on the 17th).
days=$(jq -s '[.[] | select(.hour == null) | .date] | sort | .[0:2] | join(" ")' "$T_TMP/visits.jsonl")
expect_eq "visit site-days of both days" "$days" '"2025-11-15 2025-11-16"'

taken=$(metric "http://127.0.0.1:$PROCESSOR4_PORT" analytics_rollup_takeovers_total)
echo "# processor4 took over $taken counts of the crashed batches"
check "the crashed batches' counts were taken over" [ "$taken" -gt 0 ]
dups=$(metric "http://127.0.0.1:$PROCESSOR4_PORT" analytics_events_client_duplicate_total)
echo "# processor4 met $dups client duplicates"
# The visit figures were taken over too: a voided batch on a visit document.
voided=$(jq -s '[.[] | select((.voided // []) | length > 0)] | length' "$T_TMP/visits.jsonl")
check "a crashed batch was voided on visit documents ($voided)" [ "$voided" -gt 0 ]

# The indexes of the reads (insert_ensure_indexes()).
idx() { q events command "{\"listIndexes\":\"$1\"}" | jq -c '[.cursor.firstBatch[].key]'; }
expect_eq "rollup_visits indexes" "$(idx rollup_visits)" '[{"_id":1},{"site_id":1,"date":1}]'
for c in rollup_entry_pages rollup_exit_pages; do
    expect_eq "$c indexes" "$(idx $c)" \
        '[{"_id":1},{"scope":1,"visits":-1,"path":1},{"site_id":1,"date":1}]'
done
expect_clean_stop processor4
visit_writes=$(jq -s '[.[] | select(.cmd == "update" and (.command.update | test("^rollup_(visits|entry_pages|exit_pages)$")))] | length' "$LOG")
check "the visit figures' writes are recorded ($visit_writes)" [ "$visit_writes" -gt 0 ]
check_shardkeys "$LOG"
t_summary
