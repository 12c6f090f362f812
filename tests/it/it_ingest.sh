#!/usr/bin/env bash
# it_ingest.sh - ingest against a real redis-server: every status and message of docs/api.md,
# the envelope it queues, /health following Redis, configuration errors, SIGTERM.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=q1 MAX_BODY_BYTES=2048
U="http://127.0.0.1:$INGEST_PORT"

# --- success --------------------------------------------------------------------------
http POST "$U/event" '{"site_id":"site-abc-123","event_type":"page_view","path":"/pricing","user_id":"user-xyz-789","timestamp":"2025-11-15T10:00:00+05:30","properties":{"ref":"x","n":[1,2.5,true,null]}}'
expect_eq "valid event: 202" "$HTTP_STATUS" 202
expect_eq "valid event: status accepted" "$(jq -r .status <<<"$HTTP_BODY")" accepted
id=$(jq -r .id <<<"$HTTP_BODY")
expect_match "valid event: id is a UUIDv7" "$id" '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
expect_eq "valid event: reply has exactly status and id" "$(jq -c 'keys' <<<"$HTTP_BODY")" '["id","status"]'
expect_match "202 is JSON" "$HTTP_HEADERS" 'Content-Type: application/json'

expect_eq "one envelope queued" "$(redis_cli llen q1)" 1
env=$(redis_cli rpop q1)
# A page view carries its attribution ("att"): no referrer, so Direct / None; and curl's device.
# No "visit": the processor assigns it.
expect_json "envelope: versioned, validated fields, UTC ms, request id, received time, attribution, curl's device, no visit" \
    "$(jq -c 'del(.received)' <<<"$env")" \
    "{\"v\":1,\"id\":\"$id\",\"site_id\":\"site-abc-123\",\"event_type\":\"page_view\",\"ts\":1763181000000,\"path\":\"/pricing\",\"user_id\":\"user-xyz-789\",\"vsrc\":\"client\",\"att\":{\"s\":\"Direct / None\",\"m\":\"none\",\"ch\":\"Direct\"},\"br\":\"curl\",\"brv\":\"$CURL_MAJOR\",\"os\":\"Other\",\"properties\":{\"ref\":\"x\",\"n\":[1,2.5,true,null]},\"rid\":\"$id\"}"
expect_match "envelope: received is milliseconds" "$(jq -r .received <<<"$env")" '^[0-9]{13}$'

http POST "$U/event" '{"site_id":"s","event_type":"click","timestamp":"2024-02-29T23:59:59.999Z"}'
expect_eq "minimal event (no path, user_id, properties): 202" "$HTTP_STATUS" 202
id2=$(jq -r .id <<<"$HTTP_BODY")
check "ids differ" [ "$id" != "$id2" ]
# Without a user_id, ingest derives the visitor (cookieless: a keyed hash of the day).
expect_json "minimal envelope carries no optional fields but the derived visitor and curl's device (no visit, no vy without yesterday's salt)" \
    "$(redis_cli rpop q1 | jq -c '{keys: (keys), ts, vsrc, u: (.user_id | test("^[0-9a-f]{32}$"))}')" \
    '{"keys":["br","brv","event_type","id","os","received","rid","site_id","ts","user_id","v","vsrc"],"ts":1709251199999,"vsrc":"hash","u":true}'

# --- beacon bodies: the Content-Type is not looked at ---------------------------------
# navigator.sendBeacon sends a string as text/plain;charset=UTF-8 (a CORS "simple"
# request, so no preflight); a Blob may go without any type. Both are JSON all the same.
for ct in 'text/plain;charset=UTF-8' 'text/plain' 'Text/Plain; charset=utf-8' '' \
    'application/x-www-form-urlencoded'; do
    code=$(curl -s -o "$T_TMP/beacon" -w '%{http_code}' -H "Content-Type:${ct:+ $ct}" \
        --data-binary '{"site_id":"s","event_type":"beacon","timestamp":"2025-11-15T10:00:00Z"}' "$U/event")
    expect_eq "Content-Type '${ct:-(none)}': 202" "$code" 202
    code=$(curl -s -o "$T_TMP/beacon" -w '%{http_code}' -H "Content-Type:${ct:+ $ct}" \
        --data-binary '[{"site_id":"s","event_type":"beacon","timestamp":"2025-11-15T10:00:00Z"}]' "$U/events")
    expect_eq "Content-Type '${ct:-(none)}' on /events: 202" "$code" 202
done
curl -sv -o /dev/null -H 'Content-Type:' --data-binary '{}' "$U/event" 2>"$T_TMP/beacon.trace"
expect_eq "curl really sends no Content-Type then" "$(grep -ci '^> content-type' "$T_TMP/beacon.trace")" 0
expect_eq "beacons queued, each once" "$(redis_cli llen q1)" 10
expect_eq "a beacon's envelope" "$(redis_cli rpop q1 | jq -r .event_type)" beacon
redis_cli del q1 >/dev/null
code=$(curl -s -o "$T_TMP/beacon" -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary 'not json' "$U/event")
expect_eq "text/plain that is not JSON: 400" "$code" 400
expect_match "... Invalid JSON" "$(jq -r .message "$T_TMP/beacon")" '^Invalid JSON: '

# --- client event ids: event_id, Idempotency-Key ---------------------------------------
err() { echo "{\"status\":\"error\",\"message\":\"$1\"}"; }
# post_key KEY BODY: POST /event with the header Idempotency-Key: KEY.
post_key() {
    HTTP_STATUS=$(curl -s -o "$T_TMP/key.body" -w '%{http_code}' -H "Idempotency-Key: $1" \
        -H 'Content-Type: application/json' --data-binary "$2" "$U/event")
    HTTP_BODY=$(cat "$T_TMP/key.body")
}
ev='"site_id":"site-1","event_type":"click","timestamp":"2025-11-15T10:00:00Z"'
http POST "$U/event" "{$ev,\"event_id\":\"btn-42_A\"}"
expect_http "event_id: 202 with the id derived from site and event_id" 202 \
    '{"status":"accepted","id":"site-1:btn-42_A"}'
env=$(redis_cli rpop q1)
expect_eq "event_id: the envelope's id is the derived one" "$(jq -r .id <<<"$env")" "site-1:btn-42_A"
expect_match "event_id: the envelope has its own delivery id" "$(jq -r .dlv <<<"$env")" \
    '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
expect_eq "event_id: the request id is the delivery id" "$(jq -r '.rid == .dlv' <<<"$env")" true
http POST "$U/event" "{$ev,\"event_id\":\"btn-42_A\"}"
expect_http "event_id sent again: the same id" 202 '{"status":"accepted","id":"site-1:btn-42_A"}'
check "event_id sent again: another delivery" [ "$(redis_cli rpop q1 | jq -r .dlv)" != "$(jq -r .dlv <<<"$env")" ]
http POST "$U/event" '{"site_id":"a \"b\"","event_type":"e","timestamp":"2025-11-15T10:00:00Z","event_id":"x"}'
expect_http "event_id: a site_id that needs escaping, escaped in the reply" 202 \
    '{"status":"accepted","id":"a \"b\":x"}'
redis_cli del q1 >/dev/null
post_key "key-1" "{$ev}"
expect_http "Idempotency-Key: 202 with the derived id" 202 '{"status":"accepted","id":"site-1:key-1"}'
post_key "key-1" "{$ev,\"event_id\":\"key-1\"}"
expect_http "Idempotency-Key equal to event_id: 202" 202 '{"status":"accepted","id":"site-1:key-1"}'
post_key "key-1" "{$ev,\"event_id\":\"other\"}"
expect_http "Idempotency-Key and event_id differ" 400 \
    "$(err "Header 'Idempotency-Key' and field 'event_id' differ; send one, or the same value in both")"
post_key "bad key" "{$ev}"
expect_http "bad Idempotency-Key" 400 \
    "$(err "Header 'Idempotency-Key' must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")"
idmsg="Field 'event_id' must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"
for bad in '""' '"a:b"' '"a b"' '"\u00e9"' 5 true '{}' "\"$(printf 'x%.0s' $(seq 65))\""; do
    http POST "$U/event" "{$ev,\"event_id\":$bad}"
    expect_http "bad event_id $bad" 400 "$(err "$idmsg")"
done
http POST "$U/events" "[{$ev,\"event_id\":\"b1\"},{$ev},{$ev,\"event_id\":\"b1\"}]"
expect_eq "/events with event_ids: 202" "$HTTP_STATUS" 202
expect_eq "/events: derived ids where event_id was sent, in order" \
    "$(jq -c '[.ids[0], .ids[2], (.ids[1] | test("^[0-9a-f-]{36}$"))]' <<<"$HTTP_BODY")" \
    '["site-1:b1","site-1:b1",true]'
code=$(curl -s -o "$T_TMP/key.body" -w '%{http_code}' -H 'Idempotency-Key: k9' \
    -H 'Content-Type: application/json' --data-binary "[{$ev}]" "$U/events")
expect_eq "Idempotency-Key on /events is ignored: 202 with a generated id" \
    "$code $(jq -r '.ids[0] | test("^[0-9a-f-]{36}$")' "$T_TMP/key.body")" "202 true"
http POST "$U/events" "[{$ev},{$ev,\"event_id\":\"a:b\"}]"
expect_http "/events: a bad event_id refuses the batch" 400 \
    "{\"status\":\"error\",\"message\":\"Invalid events in the batch; none was accepted\",\"errors\":[{\"index\":1,\"message\":\"$idmsg\"}]}"

# --- POST /events with sent_at: clock-skew correction ------------------------------------
redis_cli del q1 >/dev/null
now=$(date +%s)
ahead=$(date -u -d "@$((now + 86400))" +%Y-%m-%dT%H:%M:%SZ)
http POST "$U/events" "{\"sent_at\":\"$ahead\",\"events\":[{$ev}]}"
expect_eq "sent_at a day ahead: 202" "$HTTP_STATUS" 202
env=$(redis_cli rpop q1)
# ts = 2025-11-15T10:00:00Z + (received - sent_at): a day earlier, to within a second.
expect_eq "sent_at: cts is the client's timestamp" "$(jq .cts <<<"$env")" 1763200800000
skew=$(jq '(.ts - .cts) + 86400000' <<<"$env")
check "sent_at: ts moved back a day, to within a second ($skew ms)" [ "${skew#-}" -le 1500 ]
http POST "$U/events" "{\"events\":[{$ev}]}"
expect_eq "an object without sent_at: 202" "$HTTP_STATUS" 202
expect_eq "without sent_at: no correction, no cts" "$(redis_cli rpop q1 | jq -c '[.ts, has("cts")]')" \
    '[1763200800000,false]'
http POST "$U/events" "{\"sent_at\":\"yesterday\",\"events\":[{$ev}]}"
expect_http "bad sent_at" 400 \
    "$(err "Field 'sent_at' must be an RFC 3339 date-time with a time zone, e.g. 2025-11-15T10:00:00Z")"
http POST "$U/events" "{\"sent_at\":5,\"events\":[{$ev}]}"
expect_http "sent_at not a string" 400 "$(err "Field 'sent_at' must be a string")"
for body in '{}' '{"sent_at":"2025-11-15T10:00:00Z"}' '{"site_id":"s","event_type":"e"}'; do
    http POST "$U/events" "$body"
    expect_http "object body $body: no events" 400 \
        "$(err "Request body must be a JSON array of 1 to 500 events, or an object with field 'events'")"
done
for body in '{"events":{}}' '{"events":null}' '{"events":[]}'; do
    http POST "$U/events" "$body"
    expect_http "object body $body: events not an array of 1 to 500" 400 \
        "$(err "Field 'events' must be a JSON array of 1 to 500 events")"
done
http POST "$U/events" '{"sent_at":"0001-01-01T00:00:00Z","events":[{"site_id":"s","event_type":"e","timestamp":"9000-01-01T00:00:00Z"}]}'
expect_http "a skew that moves a timestamp past year 9999" 400 \
    "{\"status\":\"error\",\"message\":\"Invalid events in the batch; none was accepted\",\"errors\":[{\"index\":0,\"message\":\"Field 'timestamp' corrected by 'sent_at' falls outside years 0001-9999\"}]}"
expect_eq "nothing queued by the refused batches" "$(redis_cli llen q1)" 0

# --- 400: missing fields, exactly the missing ones ------------------------------------
http POST "$U/event" '{"event_type":"page_view","path":"/"}'
expect_http "missing site_id and timestamp" 400 "$(err 'Missing required fields: site_id, timestamp')"
http POST "$U/event" '{}'
expect_http "missing all three" 400 "$(err 'Missing required fields: site_id, event_type, timestamp')"
http POST "$U/event" '{"site_id":"s","event_type":"e"}'
expect_http "missing timestamp" 400 "$(err 'Missing required fields: timestamp')"
http POST "$U/event" '{"site_id":null,"event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_http "null counts as missing" 400 "$(err 'Missing required fields: site_id')"

# --- 400: wrong type, bad timestamp, invalid JSON, non-object -------------------------
http POST "$U/event" '{"site_id":123,"event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_http "site_id not a string" 400 "$(err "Field 'site_id' must be a string")"
http POST "$U/event" '{"site_id":"s","event_type":["e"],"timestamp":"2025-11-15T10:00:00Z"}'
expect_http "event_type not a string" 400 "$(err "Field 'event_type' must be a string")"
http POST "$U/event" '{"site_id":"s","event_type":"e","timestamp":1763200800}'
expect_http "timestamp not a string" 400 "$(err "Field 'timestamp' must be a string")"
tsmsg="Field 'timestamp' must be an RFC 3339 date-time with a time zone, e.g. 2025-11-15T10:00:00Z"
# The last three are real date-times whose UTC instant falls outside years 0001-9999.
for ts in 2025-02-30T10:00:00Z 2025-11-15T10:00:00 2025-11-15 "2025-11-15T25:00:00Z" "yesterday" \
    0000-01-01T00:30:00+01:00 9999-12-31T23:59:60Z 9999-12-31T23:00:00-01:00; do
    http POST "$U/event" "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"$ts\"}"
    expect_http "bad timestamp $ts" 400 "$(err "$tsmsg")"
done
http POST "$U/event" '{"site_id":"","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_http "empty site_id" 400 "$(err "Field 'site_id' must be 1-256 bytes")"
http POST "$U/event" "{\"site_id\":\"s\",\"event_type\":\"$(printf 'e%.0s' $(seq 65))\",\"timestamp\":\"2025-11-15T10:00:00Z\"}"
expect_http "event_type over 64 bytes" 400 "$(err "Field 'event_type' must be 1-64 bytes")"
http POST "$U/event" "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\",\"user_id\":\"$(printf 'u%.0s' $(seq 257))\"}"
expect_http "user_id over 256 bytes" 400 "$(err "Field 'user_id' must be at most 256 bytes")"
http POST "$U/event" '{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z","path":5}'
expect_http "path not a string" 400 "$(err "Field 'path' must be a string")"
http POST "$U/event" '{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z","properties":[1]}'
expect_http "properties not an object" 400 "$(err "Field 'properties' must be an object")"
http POST "$U/event" '{"site_id":"s",'
expect_eq "invalid JSON: 400" "$HTTP_STATUS" 400
expect_match "invalid JSON: says so, with the position" "$(jq -r .message <<<"$HTTP_BODY")" '^Invalid JSON: .+ \(line 1, column [0-9]+\)$'
expect_eq "invalid JSON: error shape" "$(jq -c '[.status, (keys)]' <<<"$HTTP_BODY")" '["error",["message","status"]]'
http POST "$U/event" ''
expect_eq "empty body: 400" "$HTTP_STATUS" 400
expect_match "empty body: invalid JSON message" "$(jq -r .message <<<"$HTTP_BODY")" '^Invalid JSON: '
for body in '[1,2]' '"text"' '42' 'null'; do
    http POST "$U/event" "$body"
    expect_http "non-object body $body" 400 "$(err 'Request body must be a JSON object')"
done

# --- one body, one answer: the fast path against jansson ---------------------------------
# Every member ingest reads (and one it ignores) with a value of every JSON type, and each
# repeated, on /event and on /events. Each body is posted as it is (a plain event takes the
# scanner) and again with its first key written "\u0073ite_id" (the same JSON, which only
# jansson reads): the two must get the same status, the same reply and the same envelopes
# (ids, delivery ids and receive times aside).
members=(site_id event_type timestamp path user_id properties event_id other)
valid=('"s1"' '"page_view"' '"2025-11-15T10:00:00Z"' '"/p"' '"u1"' '{"k":"v"}' '"e-1"' '"y"')
types=('"x"' 1 true false null '{"a":1}' '["x"]')
# body M VALUE MODE: the required members valid, and member M with VALUE (mode 0), or twice:
# its valid value then VALUE (1), or VALUE then its valid value (2).
body() {
    local out="" k v
    for k in "${!members[@]}"; do
        v=()
        [ "$k" -lt 3 ] && v=("${valid[$k]}")
        if [ "$k" = "$1" ]; then
            case $3 in 0) v=("$2") ;; 1) v=("${valid[$k]}" "$2") ;; 2) v=("$2" "${valid[$k]}") ;; esac
        fi
        for x in "${v[@]}"; do out+="\"${members[$k]}\":$x,"; done
    done
    echo "{${out%,}}"
}
bodies=()
for m in "${!members[@]}"; do
    for t in "${types[@]}"; do bodies+=("$(body "$m" "$t" 0)"); done
    bodies+=("$(body "$m" '"x"' 1)" "$(body "$m" '"x"' 2)")
done
# answers PATH ESCAPE: post every body (in one curl) to PATH, [BODY] for /events, with the
# first key escaped when ESCAPE is 1; prints each status and reply, then the queued
# envelopes, with every UUID written ID and no receive time nor visit (the bodies are one
# visitor's events: the second run's go on with its visit).
answers() {
    local cfg="$T_TMP/diff.curl" i b
    : >"$cfg"
    for i in "${!bodies[@]}"; do
        b=${bodies[$i]}
        [ "$2" = 1 ] && b=${b/\"site_id\"/\"\\u0073ite_id\"}
        [ "$1" = /events ] && b="[$b]"
        printf '%s' "$b" >"$T_TMP/diff.req$i"
        [ "$i" = 0 ] || echo next >>"$cfg"
        printf 'url = "%s"\ndata-binary = "@%s"\noutput = "%s"\nwrite-out = "%%{http_code}\\n"\n' \
            "$U$1" "$T_TMP/diff.req$i" "$T_TMP/diff.out$i" >>"$cfg"
    done
    redis_cli del q1 >/dev/null
    curl -s -K "$cfg" >"$T_TMP/diff.codes"
    for i in "${!bodies[@]}"; do
        echo "$(sed -n "$((i + 1))p" "$T_TMP/diff.codes") $(cat "$T_TMP/diff.out$i")"
    done
    redis_cli lrange q1 0 -1 | jq -c 'del(.received, .visit)'
    redis_cli del q1 >/dev/null
}
uuid='[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
for path in /event /events; do
    answers "$path" 0 | sed -E "s/$uuid/ID/g" >"$T_TMP/diff.fast"
    answers "$path" 1 | sed -E "s/$uuid/ID/g" >"$T_TMP/diff.jansson"
    expect_eq "$path: ${#bodies[@]} bodies, each with the scanner and with jansson: the same answers and envelopes" \
        "$(diff "$T_TMP/diff.fast" "$T_TMP/diff.jansson")" ""
    expect_eq "$path: every body answered" "$(grep -cE '^(202|400) ' "$T_TMP/diff.fast")" "${#bodies[@]}"
    # properties as a string (body 5 * 9): refused, whichever path reads it (it was 202 when
    # the rest was plain).
    expect_match "$path: properties as a string is refused" "$(sed -n 46p "$T_TMP/diff.fast")" \
        "^400 .*Field 'properties' must be an object"
done

# --- 413, 405, 404 ---------------------------------------------------------------------
big=$(printf '{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z","properties":{"pad":"%s"}}' "$(head -c 3000 /dev/zero | tr '\0' a)")
http POST "$U/event" "$big"
expect_http "body over MAX_BODY_BYTES" 413 "$(err 'Request body exceeds 2048 bytes')"
# The same without Content-Length (chunked): the cap holds while reading.
code=$(curl -s -o "$T_TMP/chunked" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' --data-binary "$big" "$U/event")
expect_eq "chunked body over MAX_BODY_BYTES: 413" "$code" 413
# A connection that sent a too-large body still serves the next request correctly.
codes=$(curl -s -o /dev/null -w '%{http_code} ' --data-binary "$big" "$U/event" \
    --next -s -o /dev/null -w '%{http_code}' "$U/health")
expect_eq "413 then the next request on the same curl run" "$codes" "413 200"
expect_eq "nothing queued by rejected requests" "$(redis_cli llen q1)" 0

http GET "$U/event"
expect_http "GET /event" 405 "$(err 'Method GET not allowed on /event; use POST, OPTIONS')"
expect_match "405 names the allowed methods" "$HTTP_HEADERS" 'Allow: POST, OPTIONS'
http DELETE "$U/health"
expect_eq "DELETE /health: 405" "$HTTP_STATUS" 405
http GET "$U/nope"
expect_http "unknown path" 404 "$(err 'Not found: /nope')"
http POST "$U/event/extra" '{}'
expect_eq "/event/extra is not /event: 404" "$HTTP_STATUS" 404

# --- /health follows Redis; 503 while it is down, then recovery ------------------------
http GET "$U/health"
expect_http "health with Redis up" 200 '{"status":"ok","service":"ingest"}'
stop_pid "$REDIS_PID"
expect_eq "redis stopped" "$STOP_RC" 0
http GET "$U/health"
expect_http "health with Redis down" 503 '{"status":"error","service":"ingest"}'
http POST "$U/event" '{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_http "event with Redis down" 503 "$(err 'Queue unavailable, please retry')"
REDIS_PORT_WANTED=$REDIS_PORT start_redis
http GET "$U/health"
expect_http "health after Redis returned" 200 '{"status":"ok","service":"ingest"}'
http POST "$U/event" '{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_eq "event after Redis returned: 202" "$HTTP_STATUS" 202
expect_eq "and it is queued" "$(redis_cli llen q1)" 1

expect_clean_stop ingest

# --- configuration errors: one line naming the variable, exit 2 -------------------------
for bad in PORT=abc PORT=70000 REDIS_PORT=x REDIS_PORT=0 MAX_BODY_BYTES=0 MAX_BODY_BYTES=2000000 LOG_LEVEL=verbose REDIS_TIMEOUT_MS=-5 \
    'CORS_ORIGINS=https://shop.example/' 'CORS_ORIGINS=*,https://shop.example' \
    'CORS_ORIGINS=https://a.example,,https://b.example' 'CORS_ORIGINS=shop.example' \
    'SITE_IDS=a,,b' 'SITE_IDS=a,' RATE_LIMIT=-1 RATE_LIMIT=abc RATE_LIMIT=1000001 RATE_BURST=x \
    TRUST_PROXY=17 TRUST_PROXY=-1 TRUST_PROXY=yes \
    CORS_ORIGINS=REPLACE_ME RATE_LIMIT=REPLACE_ME TRUST_PROXY=REPLACE_ME; do # the production overlay's placeholders
    expect_config_error ingest "$bad"
done

t_summary
