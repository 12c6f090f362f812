#!/usr/bin/env bash
# it_visitor.sh - cookieless by default (issue 23): an event sent without a user_id gets a
# visitor id that ingest derives from a daily salt, the site, the client (as the rate limiter
# sees it, TRUST_PROXY included) and the User-Agent. Two ingests derive the same id for the
# same client on the same day (they share the salt through Redis, created once); another
# User-Agent or address gives another; a new day (ingest-fault's FAULT_SALT_DAYS,
# tests/it/fault_clock.c) gives a new salt and a new id, and the envelope of a hashed visitor
# then carries its id under yesterday's salt ("vy"); the salt key lives at most 75 hours.
# Each stored event says how its visitor was known (visitor_source). No stored document, no
# Redis value and no log line of the run holds the client's address or User-Agent. Without
# Redis, an event that needs a salt is answered 503.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=visitor
ADDR=198.51.100.23
UA="VisitorTest/1.0 (marker-7f3a9c)"
UA2="VisitorTest/2.0 (marker-0b6e21)"
common=(REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 LOG_LEVEL=debug)
VARIANT=-fault start_service ingest "${common[@]}"
VARIANT=-fault start_service ingest2 "${common[@]}"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
start_service reporting MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
R="http://127.0.0.1:$REPORTING_PORT"
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$@"; }
TODAY=$(date -u +%F)
NOW=$(date -u +%FT%TZ)

# post PORT XFF UA BODY-MEMBERS [PATH]: one event of site vs (or a batch at PATH /events);
# sets HTTP_STATUS, HTTP_BODY and ID (the event's id).
post() {
    local body="{\"site_id\":\"vs\",\"event_type\":\"page_view\",\"timestamp\":\"$NOW\"$4}"
    [ "${5:-/event}" = /events ] && body="[$body]"
    HTTP_STATUS=$(curl -s -o "$T_TMP/post.body" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H "X-Forwarded-For: $2" -H "User-Agent: $3" \
        --data-binary "$body" "http://127.0.0.1:$1${5:-/event}") || HTTP_STATUS=000
    HTTP_BODY=$(cat "$T_TMP/post.body")
    ID=$(jq -r '.id // .ids[0]' <<<"$HTTP_BODY")
}
# stored ID: event ID is stored.
stored() { [ "$(q events count "{\"_id\":\"$1\"}")" = 1 ]; }
# doc ID FIELD: the stored event's field, once stored.
doc() {
    wait_until $((10 * T_SLOW)) stored "$1" || true
    q events find "{\"_id\":\"$1\"}" | jq -r ".$2"
}

echo "# --- two ingests derive the same visitor for the same client on the same day"
post "$INGEST_PORT" "$ADDR" "$UA" ""
expect_eq "ingest: 202" "$HTTP_STATUS" 202
A=$ID
post "$INGEST2_PORT" "$ADDR" "$UA" ',"user_id":""'
expect_eq "ingest2, user_id empty: 202" "$HTTP_STATUS" 202
B=$ID
post "$INGEST2_PORT" "$ADDR" "$UA" "" /events
expect_eq "ingest2, a batch: 202" "$HTTP_STATUS" 202
C=$ID
VA=$(doc "$A" user_id)
expect_match "a derived user_id: 32 hex characters" "$VA" '^[0-9a-f]{32}$'
expect_eq "its visitor_source" "$(doc "$A" visitor_source)" hash
expect_eq "the other ingest: the same visitor" "$(doc "$B" user_id)" "$VA"
expect_eq "a batch: the same visitor" "$(doc "$C" user_id)" "$VA"
expect_eq "the other ingest: visitor_source" "$(doc "$B" visitor_source)" hash

echo "# --- another User-Agent or address, another visitor; a client's id is kept"
post "$INGEST_PORT" "$ADDR" "$UA2" ""
V_UA=$(doc "$ID" user_id)
check "another User-Agent: another visitor" [ "$V_UA" != "$VA" ]
post "$INGEST_PORT" 203.0.113.99 "$UA" ""
V_ADDR=$(doc "$ID" user_id)
check "another address: another visitor" [ "$V_ADDR" != "$VA" -a "$V_ADDR" != "$V_UA" ]
post "$INGEST_PORT" "$ADDR" "$UA" ',"user_id":"client-7"'
expect_eq "user_id sent: kept" "$(doc "$ID" user_id)" client-7
expect_eq "user_id sent: visitor_source client" "$(doc "$ID" visitor_source)" client
post "$INGEST2_PORT" "$ADDR" "$UA" ',"user_id":"dev-1","user_id_source":"device"'
expect_eq "the tracker's stored id: kept" "$(doc "$ID" user_id)" dev-1
expect_eq "the tracker's stored id: visitor_source device" "$(doc "$ID" visitor_source)" device
post "$INGEST_PORT" "$ADDR" "$UA" ',"user_id":"x","user_id_source":"hash"'
expect_http "user_id_source other than device" 400 \
    '{"status":"error","message":"Field '"'"'user_id_source'"'"' must be \"device\" (or absent)"}'

echo "# --- the salt: one key per UTC day, created once, gone 75 hours later"
expect_eq "one salt key (today's)" "$(redis_cli --scan --pattern 'events:salt:*' | sort | tr '\n' ' ')" \
    "events:salt:$TODAY "
expect_match "its value: 32 random bytes in hex" "$(redis_cli GET "events:salt:$TODAY")" '^[0-9a-f]{64}$'
TTL=$(redis_cli TTL "events:salt:$TODAY")
expect_eq "its TTL is set and at most 75 hours ($TTL s)" "$((${TTL:-0} > 269000 && ${TTL:-0} <= 270000))" 1
SALT1=$(redis_cli GET "events:salt:$TODAY")

echo "# --- a new day gives a new salt and a new visitor"
TOMORROW=$(date -u -d tomorrow +%F)
VARIANT=-fault start_service ingest3 "${common[@]}" FAULT_SALT_DAYS=1
post "$INGEST3_PORT" "$ADDR" "$UA" ""
expect_eq "tomorrow: 202" "$HTTP_STATUS" 202
V_NEXT=$(doc "$ID" user_id)
check "tomorrow: another visitor for the same client" [ "$V_NEXT" != "$VA" ]
SALT2=$(redis_cli GET "events:salt:$TOMORROW")
expect_match "tomorrow's salt key" "$SALT2" '^[0-9a-f]{64}$'
check "tomorrow's salt is not today's" [ "$SALT2" != "$SALT1" ]
expect_eq "today's salt is left as it was" "$(redis_cli GET "events:salt:$TODAY")" "$SALT1"
TTL=$(redis_cli TTL "events:salt:$TOMORROW")
expect_eq "tomorrow's TTL is at most 75 hours ($TTL s)" "$((${TTL:-0} > 269000 && ${TTL:-0} <= 270000))" 1
post "$INGEST_PORT" "$ADDR" "$UA" ""
expect_eq "today's ingest keeps today's visitor" "$(doc "$ID" user_id)" "$VA"

echo "# --- yesterday's id of a hashed visitor travels in its envelope (vy)"
# A queue no processor drains (QUEUE_KEY=vyq, salts of its own): the envelopes as queued.
VARIANT=-fault start_service ingest5 "${common[@]}" QUEUE_KEY=vyq
post "$INGEST5_PORT" "$ADDR" "$UA" ""
expect_eq "vyq, today: 202" "$HTTP_STATUS" 202
E_TODAY=$(redis_cli RPOP vyq)
expect_eq "no salt of yesterday: no vy" "$(jq -r '.vy // "none"' <<<"$E_TODAY")" none
VARIANT=-fault start_service ingest6 "${common[@]}" QUEUE_KEY=vyq FAULT_SALT_DAYS=1
post "$INGEST6_PORT" "$ADDR" "$UA" ""
expect_eq "vyq, tomorrow: 202" "$HTTP_STATUS" 202
E_NEXT=$(redis_cli RPOP vyq)
expect_eq "tomorrow: vy is today's id of the client" "$(jq -r .vy <<<"$E_NEXT")" \
    "$(jq -r .user_id <<<"$E_TODAY")"
check "tomorrow: another user_id" [ "$(jq -r .user_id <<<"$E_NEXT")" != "$(jq -r .user_id <<<"$E_TODAY")" ]
post "$INGEST6_PORT" "$ADDR" "$UA" ',"user_id":"client-9"'
expect_eq "a client's user_id: no vy" "$(redis_cli RPOP vyq | jq -r '.vy // "none"')" none

echo "# --- /stats counts the hashed visitors as users"
# Today: VA, V_UA, V_ADDR, client-7, dev-1 and tomorrow's V_NEXT (its event is of today).
views_are() { [ "$(curl -s "$R/stats?site_id=vs&date=$TODAY" | jq .total_views)" = "$1" ]; }
wait_until $((10 * T_SLOW)) views_are 9
expect_eq "unique_users" "$(curl -s "$R/stats?site_id=vs&date=$TODAY" | jq .unique_users)" 6

echo "# --- Redis gone: an event that needs a new salt is answered 503"
VARIANT=-fault start_service ingest4 "${common[@]}" FAULT_SALT_DAYS=2
stop_pid "$REDIS_PID"
post "$INGEST4_PORT" "$ADDR" "$UA" ""
expect_eq "no salt: 503" "$HTTP_STATUS" 503
check "the reason is logged" grep -q "no visitor salt" "$T_TMP/ingest4.log"

echo "# --- no stored document and no log line holds the address or the User-Agent"
# Every collection the programs write, and every log of the run (the services', Redis's and
# the MongoDB server's).
dump_collections $DB "$T_TMP/dump"
check "the collections were dumped ($(wc -l <"$T_TMP/dump") documents)" \
    grep -q '"visitor_source" : "hash"' "$T_TMP/dump"
for s in "$ADDR" 203.0.113.99 "$UA" "$UA2" marker-7f3a9c marker-0b6e21; do
    check "no document holds '$s'" absent "$s" "$T_TMP/dump"
    check "no log line holds '$s'" absent "$s" "$T_TMP"/*.log
done
check "the logs were searched ($(cat "$T_TMP"/*.log | wc -l) lines)" grep -q "queued" "$T_TMP/ingest.log"

for s in ingest ingest2 ingest3 ingest4 ingest5 ingest6 processor reporting; do expect_clean_stop $s; done

t_summary
