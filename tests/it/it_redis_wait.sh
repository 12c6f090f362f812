#!/usr/bin/env bash
# it_redis_wait.sh - REDIS_WAIT_REPLICAS=1 against a real replica: with the replica up every
# event is answered 202 (one WAIT per group commit) and stored once; with the replica frozen
# (SIGSTOP) ingest answers 503 within REDIS_WAIT_TIMEOUT_MS; once it runs again (SIGCONT)
# the client's retries, with the same event_ids, are answered 202 and stored once.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

expect_config_error ingest REDIS_WAIT_REPLICAS=-1
expect_config_error ingest REDIS_WAIT_TIMEOUT_MS=0
start_redis
start_redis_replica
check "the replica is linked to the master" replica_linked
start_mongo
DB=redis_wait
start_service ingest REDIS_PORT="$REDIS_PORT" REDIS_WAIT_REPLICAS=1 REDIS_WAIT_TIMEOUT_MS=300
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"

# calls COMMAND: how many times the master ran it (INFO commandstats).
calls() {
    redis_cli info commandstats | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p"
}

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 8 --seconds 2 --rate 1000 \
    --site wait-site --tag w --out "$T_TMP/load.txt" >"$T_TMP/load.summary"
summary=$(cat "$T_TMP/load.summary")
echo "# load: $summary"
expect_match "replica up: every event answered 202" "$summary" "^sent=([0-9]+) accepted=\1 rejected=0 unknown=0$"
expect_eq "one WAIT per group commit (LPUSH)" "$(calls wait)" "$(calls lpush)"
echo "# $(calls lpush) LPUSHes carried $(grep -c . "$T_TMP/load.txt") events"
if wait_until $((30 * T_SLOW)) queue_settled events; then pass "queue drained"; else fail "queue drained"; fi
verify_exactly_once $DB wait-site "$T_TMP/load.txt"
expect_eq "no WAIT failed" "$(metric "$I" analytics_redis_wait_failures_total)" 0

# post_event ID: POST one event with event_id ID; sets STATUS and TOOK (seconds).
post_event() {
    local out
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 -X POST "$I/event" \
        -H 'Content-Type: application/json' \
        --data "{\"site_id\":\"wait2\",\"event_type\":\"page_view\",\"timestamp\":\"2025-11-15T10:00:00Z\",\"event_id\":\"$1\"}")
    STATUS=${out% *}
    TOOK=${out#* }
}
kill -STOP "$REPLICA_PID"
for id in e1 e2 e3; do
    post_event "$id"
    expect_eq "replica frozen: $id answered 503" "$STATUS" 503
    check "replica frozen: $id answered after the WAIT timeout, within a second (took $TOOK s)" \
        awk -v t="$TOOK" -v slow="$T_SLOW" 'BEGIN { exit !(t >= 0.3 && t < slow) }'
done
expect_eq "three WAITs failed" "$(metric "$I" analytics_redis_wait_failures_total)" 3
expect_eq "their events counted as ambiguous" \
    "$(metric "$I" analytics_events_ambiguous_total)" 3
kill -CONT "$REPLICA_PID"
for id in e1 e2 e3; do
    post_event "$id"
    expect_eq "replica back: the retry of $id answered 202" "$STATUS" 202
done
stored() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"wait2"}'; }
if wait_until $((30 * T_SLOW)) queue_settled events; then pass "queue drained"; else fail "queue drained"; fi
expect_eq "each event stored once (503'd push and retry alike)" "$(stored)" 3
expect_clean_stop processor
expect_clean_stop ingest
t_summary
