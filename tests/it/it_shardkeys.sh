#!/usr/bin/env bash
# it_shardkeys.sh - every command the processors make and every read of reporting carries its
# collection's shard key (docs/scaling.md, "MongoDB sharded cluster"), so that on a sharded
# cluster each is sent to the shards of its key's values, never to all of them. Two processors
# and reporting run their test variants (-fault, no fault set) with MONGO_COMMAND_LOG
# (tests/it/cmdlog.c); a flow of events (with a redelivered envelope and a client's duplicate)
# and every reporting route run; tests/tools/shardkeys.py then checks each recorded command.
# The documents upserts created hold the key fields those took from their filters.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=shardkeys
LOG="$T_TMP/commands.jsonl"
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=4
    MONGO_COMMAND_LOG="$LOG")
start_service ingest REDIS_PORT="$REDIS_PORT"
VARIANT=-fault start_service processor1 "${PROC_ENV[@]}"
VARIANT=-fault start_service processor2 "${PROC_ENV[@]}"
VARIANT=-fault start_service reporting MONGO_URI="$(mongo_uri $DB)" MONGO_COMMAND_LOG="$LOG"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
SENT=0

post() { # post SITE TYPE TIMESTAMP PATH USER [EVENT_ID [REFERRER]]
    local body="{\"site_id\":\"$1\",\"event_type\":\"$2\",\"timestamp\":\"$3\",\"path\":\"$4\""
    [ -n "$5" ] && body+=",\"user_id\":\"$5\""
    [ -n "${6:-}" ] && body+=",\"event_id\":\"$6\""
    [ -n "${7:-}" ] && body+=",\"properties\":{\"referrer\":\"$7\"}"
    http POST "$I/event" "$body}"
    [ "$HTTP_STATUS" = 202 ] || fail "post $body: $HTTP_STATUS $HTTP_BODY"
}
for site in sk-a sk-b; do
    for i in 1 2 3 4 5 6; do
        post "$site" page_view "2025-11-15T1$i:00:00Z" "/p$((i % 3))" "u$((i % 4))" "" \
            "https://r$((i % 2)).example/x"
    done
    post "$site" click 2025-11-16T09:00:00Z /p1 u1 "c-$site"
    post "$site" click 2025-11-16T09:00:00Z /p1 u1 "c-$site" # the client's duplicate
    SENT=$((SENT + 7))
done
count() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{}'; }
stored_all() { [ "$(count)" = "$SENT" ] && [ "$(redis_cli llen events)" = 0 ]; }
check "all $SENT events stored" wait_until $((30 * T_SLOW)) stored_all
# A redelivered envelope: one already stored, pushed again as a recovery would.
env=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find '{"site_id":"sk-a","event_type":"click"}')
# shellcheck disable=SC2016 # $date is extended JSON, not an expansion
MS='def ms: .["$date"] | capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + ((.f // "0") + "00" | .[0:3] | tonumber);'
redis_cli lpush events "$(jq -c "$MS"' {v: 1, id: ._id, delivery, site_id, event_type,
    ts: (.timestamp | ms), received: (.received_at | ms), path, user_id}' <<<"$env")" >/dev/null
post sk-a page_view 2025-11-16T10:00:00Z /p9 u9
SENT=$((SENT + 1))
check "the redelivery settled, the event after it stored" wait_until $((30 * T_SLOW)) stored_all
counted() { [ "$(curl -s "$R/stats?site_id=sk-a&from=2025-11-15&to=2025-11-16" | jq .total_views)" = 8 ]; }
check "sk-a counted" wait_until $((30 * T_SLOW)) counted
# The key fields an upsert takes from its filter's equalities, in every document it created.
has_key() { # has_key COLLECTION FIELD: the collection has documents, each with FIELD a string
    local n with="{\"$2\":{\"\$type\":\"string\"}}"
    n=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$1" count '{}')
    [ "$n" -gt 0 ] && [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$1" count "$with")" = "$n" ]
}
for coll in rollup_paths rollup_referrers; do
    check "every document of $coll has its scope" has_key $coll scope
done
check "every document of rollups has its site_id" has_key rollups site_id

routes=0
get() { # get PATH?QUERY: a reporting route, answered 200
    http GET "$R/$1"
    [ "$HTTP_STATUS" = 200 ] || fail "GET /$1: $HTTP_STATUS $HTTP_BODY"
    routes=$((routes + 1))
}
for site in sk-a sk-b; do
    for q in "date=2025-11-15" "date=2025-11-15&event_type=page_view" \
        "from=2025-11-15&to=2025-11-16" "from=2025-11-14&to=2025-11-17&event_type=click"; do
        for ep in stats stats/aggregated; do
            get "$ep?site_id=$site&$q"
        done
    done
    for q in "date=2025-11-15&interval=hour" "from=2025-11-15&to=2025-11-16&interval=day" \
        "from=2025-11-15&to=2025-11-16&interval=hour&event_type=page_view"; do
        for ep in stats/timeseries stats/timeseries/aggregated; do
            get "$ep?site_id=$site&$q"
        done
    done
    for by in path event_type referrer; do
        for q in "date=2025-11-15" "from=2025-11-15&to=2025-11-16&limit=2"; do
            for ep in stats/breakdown stats/breakdown/aggregated; do
                get "$ep?site_id=$site&$q&by=$by"
            done
        done
    done
    get "events?site_id=$site&limit=3"
    get "events?site_id=$site&limit=3&cursor=$(jq -r .next_cursor <<<"$HTTP_BODY")"
    get "events?site_id=$site&event_type=click&from=2025-11-16&to=2025-11-16&properties=false"
done
echo "# $routes reporting requests"
expect_clean_stop processor1
expect_clean_stop processor2
expect_clean_stop reporting

echo "# $(wc -l <"$LOG") commands recorded"
# SHARDKEYS_KEEP=<file>: keep the log there, to read it after the run.
[ -z "${SHARDKEYS_KEEP:-}" ] || cp "$LOG" "$SHARDKEYS_KEEP"
check_shardkeys "$LOG"
t_summary
