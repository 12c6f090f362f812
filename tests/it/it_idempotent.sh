#!/usr/bin/env bash
# it_idempotent.sh - client event ids through the whole pipeline: the same events (same
# event_id) sent through two ingests, many times, are stored and counted once, with
# processors racing and one killed mid-way. First, deterministically, the case the rollup
# protocol must not get wrong: a client's duplicate processed while the batch that stored
# the event is live and has not counted it yet (frozen at the failpoint before its rollup);
# voiding that batch would lose its other events' counts. Last, POST /events with sent_at
# from a clock a day ahead stores today's timestamps.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=idem
SITE=idem-site
DAY=2025-11-15
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=25
    HEARTBEAT_TTL_MS=1500 RETRY_BASE_MS=20 RETRY_MAX_MS=500)
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service ingest2 REDIS_PORT="$REDIS_PORT"
I1="http://127.0.0.1:$INGEST_PORT"
I2="http://127.0.0.1:$INGEST2_PORT"
SENT="$T_TMP/sent" # one line per accepted event: "<stored _id> <user_id>"
: >"$SENT"

# pool_event P: event P of the shared pool, always the same fields for the same event_id.
pool_event() {
    printf '{"site_id":"%s","event_type":"page_view","event_id":"pool-%d","user_id":"u%d","path":"/p%d","timestamp":"%sT%02d:00:00Z"}' \
        "$SITE" "$1" $(($1 % 7)) $(($1 % 5)) "$DAY" $(($1 % 24))
}
# unique_event TAG: an event sent once; without an event_id for odd-length tags.
unique_event() {
    local idf=""
    [ $((${#1} % 2)) = 0 ] && idf=",\"event_id\":\"x-$1\""
    printf '{"site_id":"%s","event_type":"click","user_id":"v-%s","path":"/u","timestamp":"%sT12:00:00Z"%s}' \
        "$SITE" "$1" "$DAY" "$idf"
}
# send URL BODY: POST /events; on 202 appends "<id> <user>" for each event to OUT (the
# caller's file), else prints the failure and returns 1.
send() {
    local out code
    out=$(mktemp "$T_TMP/send.XXXXXX")
    code=$(curl -s -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$2" "$1/events")
    if [ "$code" != 202 ]; then
        echo "# send to $1: $code $(cat "$out")"
        rm -f "$out"
        return 1
    fi
    jq -r --argjson evs "$2" '.ids | to_entries[] | "\(.value) \($evs[.key].user_id)"' "$out"
    rm -f "$out"
}

# --- a client's duplicate meets a live batch that has not counted ---------------------
# processor1 stores its first batch and freezes before counting it; its heartbeat outlives
# the test, so nobody recovers (redelivers) that batch: it stays live.
VARIANT=-fault start_service processor1 "${PROC_ENV[@]}" HEARTBEAT_TTL_MS=600000 \
    FAULT_STOP_BEFORE_ROLLUP=1
# shellcheck disable=SC2317 # called through wait_until
frozen() { grep -q '^State:.*T' "/proc/$PROCESSOR1_PID/status" 2>/dev/null; }
first="[$(pool_event 0)"
for p in $(seq 1 19); do first+=",$(pool_event "$p")"; done
first+="]"
send "$I1" "$first" >>"$SENT" || fail "first batch accepted"
check "processor1 stored its first batch and froze before counting it" \
    wait_until $((30 * T_SLOW)) frozen
stored_by_1=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"site_id\":\"$SITE\"}")
expect_eq "the frozen batch stored all 20 events" "$stored_by_1" 20
start_service processor2 "${PROC_ENV[@]}"
# Half of them again through the other ingest (new envelopes, same ids), with 5 new ones:
# the other half is the live batch's alone, and lost if that batch were voided.
again="[$(pool_event 0)"
for p in $(seq 1 9); do again+=",$(pool_event "$p")"; done
for t in 1 2 3 4 5; do again+=",$(unique_event "a$t")"; done
again+="]"
send "$I2" "$again" >>"$SENT" || fail "second send accepted"
# shellcheck disable=SC2317
p2_done() {
    [ "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_events_client_duplicate_total)" -ge 10 ] &&
        [ "$(redis_cli llen events)" = 0 ] &&
        [ "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_events_stored_total)" -ge 5 ]
}
check "processor2 found the 10 client duplicates and stored the 5 new events" \
    wait_until $((30 * T_SLOW)) p2_done
expect_eq "processor2 took nothing over from the live batch" \
    "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_rollup_takeovers_total)" 0
kill -CONT "$PROCESSOR1_PID"
if wait_until $((30 * T_SLOW)) queue_settled events; then pass "the live batch finished"; else
    fail "the live batch finished"; fi
expect_eq "processor1 acknowledged its batch" \
    "$(metric "http://127.0.0.1:$PROCESSOR1_PORT" analytics_batches_total)" 1
start_service reporting MONGO_URI="$(mongo_uri $DB)"
http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=$SITE&date=$DAY"
expect_eq "the live batch counted all its events: 25 views, 7 + 5 users" "$(jq -c '[.total_views, .unique_users]' <<<"$HTTP_BODY")" \
    '[25,12]'
verify_rollup $DB "$SITE" "$DAY" "$DAY..$DAY"

# --- many sends through two ingests, processors racing, one killed --------------------
start_service processor3 "${PROC_ENV[@]}"
CONSUMER3=$(consumer_of processor3)
# sender N URL: 30 batches of 10 pool events (of 60, random) and 10 unique ones.
sender() {
    local n=$1 url=$2 r i body
    for r in $(seq 1 30); do
        body="["
        for i in $(seq 1 10); do body+="$(pool_event $((RANDOM % 60)))," ; done
        for i in $(seq 1 10); do body+="$(unique_event "s$n-$r-$i"),"; done
        send "$url" "${body%,}]" || return 1
    done
}
sender 1 "$I1" >"$T_TMP/sent1" &
S1=$!
sender 2 "$I2" >"$T_TMP/sent2" &
S2=$!
sender 3 "$I1" >"$T_TMP/sent3" &
S3=$!
# processor3 is killed while it holds a claimed batch, and restarted.
# shellcheck disable=SC2317
mid_batch() { [ "$(redis_cli llen "events:processing:$CONSUMER3")" -gt 0 ]; }
check "processor3 claimed a batch during the load" wait_until $((30 * T_SLOW)) mid_batch
kill -KILL "$PROCESSOR3_PID"
wait "$PROCESSOR3_PID" 2>/dev/null
start_service processor3 "${PROC_ENV[@]}"
for s in $S1 $S2 $S3; do
    if wait "$s"; then pass "sender $s: every batch answered 202"; else fail "sender $s: every batch answered 202"; fi
done
cat "$T_TMP/sent1" "$T_TMP/sent2" "$T_TMP/sent3" >>"$SENT"
if wait_until $((60 * T_SLOW)) queue_settled events; then pass "queue drained"; else
    fail "queue drained" "pending $(redis_cli llen events)"; fi

# Exactly: one document per distinct id, and the figures computed from what was sent.
sort -u "$SENT" >"$T_TMP/expected"
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$SITE\"}" |
    jq -r '"\(._id) \(.user_id)"' | sort >"$T_TMP/stored"
sent=$(wc -l <"$SENT")
distinct=$(wc -l <"$T_TMP/expected")
users=$(cut -d' ' -f2 "$T_TMP/expected" | sort -u | wc -l)
echo "# sent $sent events, $distinct distinct ids, $users users"
check "some events were sent more than once" [ "$sent" -gt "$distinct" ]
check "one document per distinct id, each with the user sent" diff "$T_TMP/expected" "$T_TMP/stored"
http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=$SITE&date=$DAY"
expect_eq "/stats: views and users computed from what was sent" \
    "$(jq -c '[.total_views, .unique_users]' <<<"$HTTP_BODY")" "[$distinct,$users]"
verify_rollup $DB "$SITE" "$DAY" "$DAY..$DAY"
cdups=0
for p in processor1 processor2 processor3; do
    port=${p^^}_PORT
    cdups=$((cdups + $(metric "http://127.0.0.1:${!port}" analytics_events_client_duplicate_total)))
done
echo "# client duplicates found by the processors (processor3's killed run not included): $cdups"
check "client duplicates were found" [ "$cdups" -gt 20 ]
expect_eq "no dead letters" "$(redis_cli llen events:dead)" 0

# --- clock skew: a client whose clock is a day ahead ----------------------------------
t0=$(date +%s%3N)
ahead=$(date -u -d "@$((t0 / 1000 + 86400))" +%Y-%m-%dT%H:%M:%S.%3NZ)
http POST "$I2/events" "{\"sent_at\":\"$ahead\",\"events\":[{\"site_id\":\"skew-site\",\"event_type\":\"e\",\"event_id\":\"k1\",\"timestamp\":\"$ahead\"}]}"
t1=$(date +%s%3N)
expect_http "sent_at a day ahead: 202" 202 '{"status":"accepted","ids":["skew-site:k1"]}'
# shellcheck disable=SC2317
skew_stored() {
    [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"_id":"skew-site:k1"}')" = 1 ]
}
check "the corrected event is stored" wait_until $((30 * T_SLOW)) skew_stored
doc=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find '{"_id":"skew-site:k1"}')
# ms FIELD: the Date FIELD of doc, in milliseconds.
ms() { date -d "$(jq -r --arg f "$1" '.[$f]["$date"]' <<<"$doc")" +%s%3N; }
ts=$(ms timestamp)
# between N LO HI: LO <= N <= HI.
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "stored timestamp is the true send time, to the second ($((ts - t0)) ms after it)" \
    between "$ts" $((t0 - 1000)) $((t1 + 1000))
expect_eq "client_timestamp keeps the client's own" "$(ms client_timestamp)" \
    "$(date -d "$ahead" +%s%3N)"
rcv=$(ms received_at)
check "received_at is ingest's receive time" between "$rcv" "$t0" "$t1"

for s in processor1 processor2 processor3 ingest ingest2 reporting; do expect_clean_stop $s; done
t_summary
