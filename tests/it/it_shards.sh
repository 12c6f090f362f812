#!/usr/bin/env bash
# it_shards.sh - queue shards (QUEUE_SHARDS=4): ingest sends each visitor's events to one
# shard in order, three processors drain every shard under load, one of them killed with
# SIGKILL mid-load and its processing lists taken over within the heartbeat timeout; every
# event answered 202 stored exactly once and the rollups exact; a shard beyond QUEUE_SHARDS
# that holds events is reported at start-up and counted in analytics_queue_stray_events, and so
# are the events of an ingest started with another QUEUE_SHARDS.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

T_QUEUE_SHARDS=4 # every ingest and processor below, and the q_* helpers
TTL=2000         # HEARTBEAT_TTL_MS: recovery passes every TTL / 2
start_redis
start_mongo
DB=shards
start_service ingest REDIS_PORT="$REDIS_PORT"
I="http://127.0.0.1:$INGEST_PORT"
mapfile -t SHARDS < <(q_names)
expect_eq "four shards, each its own hash tag" "${SHARDS[*]}" \
    "{events:0/4~1} {events:1/4~13} {events:2/4~10} {events:3/4~0}"

# --- before any processor: where ingest put the events ----------------------------------
# One visitor, twenty events one after another; then one batch of 40 other visitors.
for n in $(seq 1 20); do
    http POST "$I/event" "{\"site_id\":\"order-site\",\"event_type\":\"page_view\",\"timestamp\":\"2025-11-15T10:00:00Z\",\"user_id\":\"order-u\",\"properties\":{\"seq\":\"o-$n\"}}"
    [ "$HTTP_STATUS" = 202 ] || fail "order event $n: $HTTP_STATUS $HTTP_BODY"
done
batch=$(jq -nc '[range(40) | {site_id: "order-site", event_type: "click",
    timestamp: "2025-11-15T11:00:00Z", user_id: "v\(.)", properties: {seq: "b-\(.)"}}]')
http POST "$I/events" "$batch"
expect_eq "a batch of 40 visitors: 202" "$HTTP_STATUS" 202
holding=0
for s in "${SHARDS[@]}"; do
    n=$(redis_cli lrange "$s" 0 -1 | jq -r 'select(.user_id == "order-u") | .properties.seq' | wc -l)
    if [ "$n" -gt 0 ]; then
        holding=$((holding + 1))
        # LPUSH puts the newest at the left: read from the right, the send order.
        order=$(redis_cli lrange "$s" 0 -1 | tac | jq -r 'select(.user_id == "order-u") | .properties.seq' | tr '\n' ' ')
        expect_eq "one visitor's events in send order in $s" "$order" "$(printf 'o-%d ' $(seq 1 20))"
    fi
done
expect_eq "one visitor's events all in one shard" "$holding" 1
empty=0
for s in "${SHARDS[@]}"; do [ "$(redis_cli llen "$s")" -gt 0 ] || empty=$((empty + 1)); done
expect_eq "41 visitors: every shard holds events" "$empty" 0
expect_eq "every event queued once" "$(q_llen "")" 60
# A shard this QUEUE_SHARDS does not drain (processors with QUEUE_SHARDS=8 left it, after
# processors with one shard, and recorded both counts): reported.
STRAY=$("$BUILD/tests/qnames" events 8 | sed -n '8s/ .*//p')
expect_eq "shard 7 of 8" "$STRAY" "{events:7/8~20}"
redis_cli lpush "$STRAY" '{"stray":1}' >/dev/null
redis_cli sadd events:shards 1 8 >/dev/null

# --- three processors under load, one killed --------------------------------------------
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=20
    "HEARTBEAT_TTL_MS=$TTL" RETRY_BASE_MS=20 RETRY_MAX_MS=500)
# processor1 kills itself (SIGKILL, tests/it/fault.c) holding its 25th batch, claimed and
# stored but not acknowledged: mid-load, with a processing list for the others to take over.
VARIANT=-fault start_service processor1 "${PROC_ENV[@]}" FAULT_KILL_BEFORE_ROLLUP=25
for i in 2 3; do start_service "processor$i" "${PROC_ENV[@]}"; done
check "start-up warns of the stranded shard" grep -q \
    "queue shards that QUEUE_SHARDS=4 does not drain hold 1 events and 0 registered consumers (first: $STRAY)" \
    "$T_TMP/processor1.log"
expect_eq "the record: every QUEUE_SHARDS used" "$(redis_cli smembers events:shards | sort -n | tr '\n' ' ')" "1 4 8 "
expect_eq "/metrics: the stranded shard's event counted as stray" \
    "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_queue_stray_events)" 1
redis_cli del "$STRAY" >/dev/null
metrics=$(curl -s "http://127.0.0.1:$PROCESSOR2_PORT/metrics")
expect_eq "/metrics: no stray events once it is gone" \
    "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_queue_stray_events)" 0
expect_match "/metrics: queue depth by shard" "$metrics" 'analytics_queue_depth\{shard="3"\} [0-9]+'
expect_match "/metrics: dead letters by shard" "$metrics" 'analytics_dead_letters\{shard="0"\} 0'
VICTIM=$(consumer_of processor1)

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 8 --rate 300 \
    --site shard-site --tag h --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!
stored_by() { # stored_by I: the events processorI stored
    local port="PROCESSOR$1_PORT"
    metric "http://127.0.0.1:${!port}" analytics_events_stored_total
}
recovered_by() { # recovered_by I: the events processorI's recovery passes returned
    local port="PROCESSOR$1_PORT"
    metric "http://127.0.0.1:${!port}" analytics_events_recovered_total
}
registered=0
for s in "${SHARDS[@]}"; do registered=$((registered + $(redis_cli sismember "$s:consumers" "$VICTIM"))); done
expect_eq "processor1 registered in every shard" "$registered" 4
gone() { ! ours "$PROCESSOR1_PID"; }
if wait_until $((10 * T_SLOW)) gone; then pass "processor1 killed itself mid-batch"; else
    fail "processor1 killed itself mid-batch"; fi
killed_at=$SECONDS
wait "$PROCESSOR1_PID" 2>/dev/null
held=$(q_llen ":processing:$VICTIM")
echo "# processor1 killed; its processing lists hold $held events (before recovery)"
# given_up: nothing of the killed consumer is left in any shard: no processing list, no
# registry entry (the recovery pass of each shard returned its list and unregistered it).
given_up() {
    local s
    [ "$(q_llen ":processing:$VICTIM")" = 0 ] || return 1
    for s in "${SHARDS[@]}"; do
        [ "$(redis_cli sismember "$s:consumers" "$VICTIM")" = 0 ] || return 1
    done
}
# Its heartbeat lapses within TTL; a live processor's pass comes within TTL / 2 after that.
if wait_until $(((TTL * 3 / 2 / 1000 + 2) * T_SLOW)) given_up; then
    pass "the killed processor's shards given up within the heartbeat timeout ($((SECONDS - killed_at)) s)"
else
    fail "the killed processor's shards given up" "processing $(q_llen ":processing:$VICTIM")"
fi
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"

if wait_until 60 queue_settled events; then pass "every shard drained"; else
    fail "every shard drained" "$(for s in "${SHARDS[@]}"; do echo -n "$s=$(redis_cli llen "$s") "; done)"; fi
verify_exactly_once $DB shard-site "$T_TMP/load.txt"
verify_rollup $DB shard-site 2025-11-15
for i in 2 3; do check "processor$i did work" [ "$(stored_by "$i")" -gt 0 ]; done
check "the killed batch was returned by a recovery pass" \
    [ $(($(recovered_by 2) + $(recovered_by 3))) -gt 0 ]

# --- one visitor's stored events, in send order -----------------------------------------
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find '{"site_id":"order-site"}')
expect_eq "order-site: every event stored once" "$(jq -s 'map(._id) | unique | length' <<<"$stored")" 60
# (A Date's text has no ".000" on a whole second, "...:01Z" after "...:01.5Z" as strings:
# the milliseconds are put back before sorting.)
order=$(jq -sr 'def t: .["$date"] | if test("\\.[0-9]+Z$") then . else sub("Z$"; ".000Z") end;
    map(select(.user_id == "order-u")) | sort_by((.received_at | t), (.properties.seq | ltrimstr("o-") | tonumber)) | map(.properties.seq) | join(" ")' <<<"$stored")
expect_eq "one visitor's stored events: received in send order" "$order" "$(seq -f 'o-%g' 1 20 | paste -sd' ')"
expect_eq "no dead letters" "$(q_llen :dead)" 0

# --- an ingest started with another QUEUE_SHARDS: recorded, its events shown as stray -----
start_service ingest2 REDIS_PORT="$REDIS_PORT" QUEUE_SHARDS=2
http POST "http://127.0.0.1:$INGEST2_PORT/event" '{"site_id":"two","event_type":"page_view","timestamp":"2025-11-15T10:00:00Z"}'
expect_eq "ingest2 (QUEUE_SHARDS=2): 202" "$HTTP_STATUS" 202
expect_eq "ingest2 recorded its QUEUE_SHARDS" "$(redis_cli smembers events:shards | sort -n | tr '\n' ' ')" "1 2 4 8 "
expect_eq "processor2 counts its event as stray" \
    "$(metric "http://127.0.0.1:$PROCESSOR2_PORT" analytics_queue_stray_events)" 1
check "ingest2 logged the other values recorded" \
    grep -q 'QUEUE_SHARDS=2; other values recorded in events:shards: 1, 4, 8' "$T_TMP/ingest2.log"
expect_clean_stop ingest2
for s in processor2 processor3; do expect_clean_stop $s; done
expect_eq "stopped processors unregistered from every shard" "$(q_scard :consumers)" 0
expect_clean_stop ingest
t_summary
