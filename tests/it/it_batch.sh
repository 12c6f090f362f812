#!/usr/bin/env bash
# it_batch.sh - POST /events (up to 500 events, all or none) and the group commit that lets
# concurrent requests share one LPUSH, against a real redis-server, then through a
# processor into MongoDB.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=batchdb
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=q MAX_BODY_BYTES=2048
U="http://127.0.0.1:$INGEST_PORT"
err() { echo "{\"status\":\"error\",\"message\":\"$1\"}"; }
# events N SITE [FIRST-SEQ]: a JSON array of N valid events with properties.seq.
events() {
    jq -nc --argjson n "$1" --arg site "$2" --argjson first "${3:-0}" \
        '[range($first; $first + $n) | {site_id: $site, event_type: "page_view",
          path: "/p\(. % 7)", user_id: "u\(. % 13)", timestamp: "2025-11-15T10:00:00Z",
          properties: {seq: .}}]'
}

# --- 202: ids in order, queued in order, one atomic push ----------------------------------
http POST "$U/events" "$(events 3 s1)"
expect_eq "3 events: 202" "$HTTP_STATUS" 202
expect_eq "3 events: status accepted" "$(jq -r .status <<<"$HTTP_BODY")" accepted
expect_eq "3 events: reply has exactly status and ids" "$(jq -c keys <<<"$HTTP_BODY")" '["ids","status"]'
expect_eq "3 events: 3 distinct ids" "$(jq '.ids | unique | length' <<<"$HTTP_BODY")" 3
expect_eq "3 events queued" "$(redis_cli llen q)" 3
queued=$(for _ in 1 2 3; do redis_cli rpop q | jq -c '[.id, .properties.seq]'; done | jq -sc .)
expect_eq "consumers receive them in the order sent, under the ids returned" "$queued" \
    "$(jq -c '[.ids, [0, 1, 2]] | transpose' <<<"$HTTP_BODY")"

http POST "$U/events" "$(events 500 s1)"
expect_eq "500 events (the maximum): 202" "$HTTP_STATUS" 202
expect_eq "500 ids" "$(jq '.ids | length' <<<"$HTTP_BODY")" 500
expect_eq "500 events queued" "$(redis_cli llen q)" 500
redis_cli del q >/dev/null

# Plain events (strings only, no properties) skip jansson (event_scan_batch()): the same
# reply, byte for byte as jansson writes it, and the same envelopes.
plain='[{"site_id":"s2","event_type":"click","path":"/a","user_id":"u1","event_id":"k-1",
  "timestamp":"2025-11-15T10:00:00+01:00"}, {"event_id":"k_2","site_id":"s2",
  "event_type":"page_view","timestamp":"2025-11-15T10:00:00.5Z","x":"ignored"}]'
http POST "$U/events" "$plain"
expect_eq "plain events: 202" "$HTTP_STATUS" 202
expect_eq "plain events: the reply's exact bytes" "$HTTP_BODY" \
    '{"status":"accepted","ids":["s2:k-1","s2:k_2"]}'
# The second has no user_id: ingest derives its visitor (32 hex characters, "hash").
queued=$(for _ in 1 2; do
    redis_cli rpop q | jq -c '[.id, .site_id, .event_type, .ts, .path,
        (.user_id | if . != null and test("^[0-9a-f]{32}$") then "<derived>" else . end), .vsrc]'
done | jq -sc .)
expect_eq "plain events: their envelopes" "$queued" \
    '[["s2:k-1","s2","click",1763197200000,"/a","u1","client"],["s2:k_2","s2","page_view",1763200800500,null,"<derived>","hash"]]'
http POST "$U/events" '[{"site_id":"s2","event_type":"click","timestamp":"2025-11-15T10:00:00Z"}]'
expect_match "a plain event without event_id: a UUIDv7 in the reply" "$HTTP_BODY" \
    '^\{"status":"accepted","ids":\["[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\]\}$'
http POST "$U/event" '{"site_id":"s2","event_type":"click","timestamp":"2025-11-15T10:00:00Z","event_id":"k3"}'
expect_eq "POST /event, plain with event_id: the reply's exact bytes" "$HTTP_BODY" \
    '{"status":"accepted","id":"s2:k3"}'
http POST "$U/event" '{"site_id":"s\"2","event_type":"click","timestamp":"2025-11-15T10:00:00Z","event_id":"k3"}'
expect_eq "POST /event, a quote in the site: jansson's escaping" "$HTTP_BODY" \
    '{"status":"accepted","id":"s\"2:k3"}'
redis_cli del q >/dev/null

# --- 400: every invalid event listed by index, nothing queued -------------------------------
bad=$(events 4 s1 | jq -c '.[1] |= del(.site_id) | .[3].timestamp = "yesterday"')
http POST "$U/events" "$bad"
expect_http "two invalid events of four" 400 '{"status":"error","message":"Invalid events in the batch; none was accepted","errors":[{"index":1,"message":"Missing required fields: site_id"},{"index":3,"message":"Field '"'timestamp'"' must be an RFC 3339 date-time with a time zone, e.g. 2025-11-15T10:00:00Z"}]}'
expect_eq "nothing queued from a batch with an invalid event" "$(redis_cli llen q)" 0
http POST "$U/events" '[{"site_id":"s","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}, 42]'
expect_http "an element that is not an object" 400 '{"status":"error","message":"Invalid events in the batch; none was accepted","errors":[{"index":1,"message":"Request body must be a JSON object"}]}'
for body in '[]' '"x"'; do
    http POST "$U/events" "$body"
    expect_http "body $body" 400 "$(err 'Request body must be a JSON array of 1 to 500 events')"
done
# An object is {"sent_at": ..., "events": [...]} (see it_ingest.sh): one event is not a batch.
http POST "$U/events" '{"site_id":"s"}'
expect_http "body {\"site_id\":\"s\"}" 400 \
    "$(err "Request body must be a JSON array of 1 to 500 events, or an object with field 'events'")"
http POST "$U/events" "$(events 501 s1)"
expect_http "501 events" 400 "$(err 'Request body must be a JSON array of 1 to 500 events')"
http POST "$U/events" '[{"site_id":'
expect_eq "broken JSON: 400" "$HTTP_STATUS" 400
expect_match "broken JSON: message" "$(jq -r .message <<<"$HTTP_BODY")" '^Invalid JSON: '
big=$(jq -nc '[range(0; 300) | {site_id: "s", event_type: "e", timestamp: "2025-11-15T10:00:00Z",
      properties: {pad: ("x" * 1800)}}]')
http POST "$U/events" "$big"
expect_http "body over 512 KiB" 413 "$(err 'Request body exceeds 524288 bytes')"
expect_eq "nothing queued from refused batches" "$(redis_cli llen q)" 0
http GET "$U/events"
expect_eq "GET /events: 405" "$HTTP_STATUS" 405

# --- group commit: concurrent requests share LPUSHes; each event queued exactly once -------
"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 16 --seconds 3 \
    --site gc --tag g --out "$T_TMP/load.txt" >"$T_TMP/load.summary"
echo "# load: $(cat "$T_TMP/load.summary")"
accepted=$(grep -vc '^? ' "$T_TMP/load.txt")
check "load: events accepted ($accepted)" [ "$accepted" -gt 100 ]
expect_eq "every accepted event queued once" \
    "$(redis_cli lrange q 0 -1 | jq -r .id | sort | uniq | wc -l):$(redis_cli llen q)" \
    "$accepted:$accepted"
pushes=$(metric "$U" analytics_redis_push_batch_size_count)
pushed=$(metric "$U" analytics_redis_push_batch_size_sum | cut -d. -f1)
echo "# $pushed events in $pushes LPUSHes"
# accepted, and the 3 + 500 + 2 + 1 events of the batches and the 2 single events above
expect_eq "the push-size histogram counts every event queued" "$pushed" $((accepted + 508))
check "concurrent requests shared LPUSHes ($pushes < $accepted)" [ "$pushes" -lt "$accepted" ]
expect_clean_stop ingest

# --- through a processor into MongoDB -------------------------------------------------------
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=q2
start_service processor REDIS_PORT="$REDIS_PORT" QUEUE_KEY=q2 MONGO_URI="$(mongo_uri $DB)"
http POST "http://127.0.0.1:$INGEST_PORT/events" "$(events 200 s2)"
expect_eq "200 events: 202" "$HTTP_STATUS" 202
jq -r '.ids | to_entries[] | "\(.value) \(.key)"' <<<"$HTTP_BODY" >"$T_TMP/batch.txt"
if wait_until 60 queue_settled q2; then pass "queue drained"; else fail "queue drained"; fi
verify_exactly_once $DB s2 "$T_TMP/batch.txt"
ROLLUP_TYPES=page_view verify_rollup $DB s2 2025-11-15
for s in processor ingest; do expect_clean_stop $s; done
t_summary
