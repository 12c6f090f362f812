#!/usr/bin/env bash
# it_pipeline.sh - ingest -> Redis -> processor -> MongoDB -> reporting, end to end with real
# servers: the contract example (docs/api.md), UTC day boundaries, ties, event_type, empty results, the stored
# document, redelivery, conflicting envelopes, dead letters, every /stats error, /health of
# both, SIGTERM.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=pipeline
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=7
start_service reporting MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
P="http://127.0.0.1:$PROCESSOR_PORT"
SENT=0

post() { # post SITE TYPE TIMESTAMP [PATH] [USER]
    local body="{\"site_id\":\"$1\",\"event_type\":\"$2\",\"timestamp\":\"$3\""
    [ -n "${4:-}" ] && body+=",\"path\":\"$4\""
    [ -n "${5:-}" ] && body+=",\"user_id\":\"$5\""
    http POST "$I/event" "$body}"
    if [ "$HTTP_STATUS" = 202 ]; then SENT=$((SENT + 1)); else fail "post $body: $HTTP_STATUS $HTTP_BODY"; fi
}
count() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "${1:-{\}}"; }
stored_all() { [ "$(count)" = "$SENT" ] && [ "$(q_llen "")" = 0 ]; }
drained() {
    if wait_until $((30 * T_SLOW)) stored_all; then pass "$1: all $SENT events stored"; else
        fail "$1: all $SENT events stored" "stored $(count), queued $(q_llen "")"; fi
}

# --- the contract example, with the README's curl commands' data ----------------------------
post site-abc-123 page_view 2025-11-15T10:00:00Z /pricing user-xyz-789
post site-abc-123 page_view 2025-11-15T10:05:00Z /pricing user-abc-111
post site-abc-123 page_view 2025-11-15T11:00:00Z / user-xyz-789
post site-abc-123 page_view 2025-11-15T12:30:00Z /blog/post-1 user-def-222
drained "contract example"
SPEC_ANSWER='{"site_id":"site-abc-123","date":"2025-11-15","total_views":4,"unique_users":3,
  "top_paths":[{"path":"/pricing","views":2},{"path":"/","views":1},{"path":"/blog/post-1","views":1}]}'
http GET "$R/stats?site_id=site-abc-123&date=2025-11-15"
expect_http "contract example /stats" 200 "$SPEC_ANSWER"
expect_eq "contract example: keys in the contract order" "$(jq -c keys_unsorted <<<"$HTTP_BODY")" \
    '["site_id","date","total_views","unique_users","top_paths"]'
http GET "$R/stats/aggregated?site_id=site-abc-123&date=2025-11-15"
expect_http "contract example /stats/aggregated" 200 "$SPEC_ANSWER"

# --- the stored document ----------------------------------------------------------------
post doc-site click 2025-11-15T10:00:00.250+05:30 /x u1
id=$(jq -r .id <<<"$HTTP_BODY")
http POST "$I/event" '{"site_id":"doc-site","event_type":"click","timestamp":"2025-11-15T10:00:00Z","properties":{"a":{"b":[1,"two",false]},"c":1.5}}'
SENT=$((SENT + 1))
id2=$(jq -r .id <<<"$HTTP_BODY")
drained "documents"
doc=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"_id\":\"$id\"}")
expect_json "document: _id is the event id, timestamp a UTC Date, curl's device, its visit starting at it" \
    "$(jq -c 'del(.createdAt, .own, .received_at, .delivery)' <<<"$doc")" \
    "{\"_id\":\"$id\",\"site_id\":\"doc-site\",\"event_type\":\"click\",\"path\":\"/x\",\"user_id\":\"u1\",\"visitor_source\":\"client\",\"browser\":\"curl\",\"browser_version\":\"$CURL_MAJOR\",\"os\":\"Other\",\"timestamp\":{\"\$date\":\"2025-11-15T04:30:00.250Z\"},\"visit_id\":\"$id\",\"visit_seq\":1,\"visit_start\":{\"\$date\":\"2025-11-15T04:30:00.250Z\"}}"
# shellcheck disable=SC2016 # a literal $ in the JSON
expect_match "document: createdAt is a Date" "$(jq -c .createdAt <<<"$doc")" '^\{"\$date":"[0-9-]+T'
# shellcheck disable=SC2016 # a literal $ in the JSON
expect_match "document: received_at (ingest's receive time) is a Date" \
    "$(jq -c .received_at <<<"$doc")" '^\{"\$date":"[0-9-]+T'
expect_eq "document: without event_id its delivery is its _id; no client_timestamp" \
    "$(jq -c '[.delivery == ._id, has("client_timestamp")]' <<<"$doc")" '[true,false]'
expect_match "document: one batch counts it in the seven rollup figures (a click: no referrer)" \
    "$(jq -r '.own | [.a, .t, .pa, .pt, .h, .ht, .d] | unique | join(" ")' <<<"$doc")" '^[0-9a-f]{16}:[0-9]+$'
expect_eq "document: a click has no referrer figure" "$(jq -c '.own | has("r")' <<<"$doc")" false
doc=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"_id\":\"$id2\"}")
# (It starts its visitor's visit: the visit figures of its site-day, site-hour and dimensions,
# v, vh and vd; d: its site-day's dimensions.)
expect_eq "document without a path: no path figures" "$(jq -c '.own | keys' <<<"$doc")" \
    '["a","d","h","ht","t","v","vd","vh"]'
expect_json "document: properties kept as sent; absent path is null, absent user_id derived" \
    "$(jq -c '{path, u: (.user_id | test("^[0-9a-f]{32}$")), visitor_source, properties}' <<<"$doc")" \
    '{"path":null,"u":true,"visitor_source":"hash","properties":{"a":{"b":[1,"two",false]},"c":1.5}}'

# --- a path's query and fragment are never stored ----------------------------------------
# One plain event (ingest's fast path) and one with properties (the jansson path).
post query-site page_view 2025-11-15T10:00:00Z '/reset?token=secret-q1#secret-f1' u1
http POST "$I/event" '{"site_id":"query-site","event_type":"page_view","timestamp":"2025-11-15T10:01:00Z","path":"/caf\u00e9#secret-f2?secret-q2","properties":{"k":1}}'
if [ "$HTTP_STATUS" = 202 ]; then SENT=$((SENT + 1)); else fail "post with a fragment: $HTTP_STATUS $HTTP_BODY"; fi
drained "paths with a query"
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find '{"site_id":"query-site"}')
expect_eq "a path is stored without its query or fragment" \
    "$(jq -r '.path' <<<"$stored" | sort | tr '\n' ' ')" "/café /reset "
expect_eq "no stored event holds a query's or a fragment's secret" "$(grep -c secret <<<"$stored")" 0
http GET "$R/stats?site_id=query-site&date=2025-11-15"
expect_eq "/stats lists the paths without their queries" "$(jq -c '[.top_paths[].path]' <<<"$HTTP_BODY")" \
    '["/café","/reset"]'

# --- UTC day boundaries with offsets ------------------------------------------------------
post tz-site page_view 2025-11-15T23:30:00-01:00 /late a     # 2025-11-16T00:30Z: next day
post tz-site page_view 2025-11-16T01:00:00+02:00 /early b    # 2025-11-15T23:00Z: this day
post tz-site page_view 2025-11-15T00:00:00Z /first c         # first millisecond of the day
post tz-site page_view 2025-11-15T23:59:59.999Z /last d      # last millisecond of the day
post tz-site page_view 2025-11-16T00:00:00Z /next e          # first of the next day
post tz-site page_view 2025-11-15T05:29:59+05:30 /prev f     # 2025-11-14T23:59:59Z
drained "time zones"
http GET "$R/stats?site_id=tz-site&date=2025-11-15"
expect_http "UTC day 2025-11-15" 200 '{"site_id":"tz-site","date":"2025-11-15","total_views":3,"unique_users":3,
  "top_paths":[{"path":"/early","views":1},{"path":"/first","views":1},{"path":"/last","views":1}]}'
http GET "$R/stats?site_id=tz-site&date=2025-11-16"
expect_http "UTC day 2025-11-16" 200 '{"site_id":"tz-site","date":"2025-11-16","total_views":2,"unique_users":2,
  "top_paths":[{"path":"/late","views":1},{"path":"/next","views":1}]}'
http GET "$R/stats?site_id=tz-site&date=2025-11-14"
expect_http "UTC day 2025-11-14" 200 '{"site_id":"tz-site","date":"2025-11-14","total_views":1,"unique_users":1,
  "top_paths":[{"path":"/prev","views":1}]}'

# --- ties, the top-10 cut, events without path or user, event_type ----------------------
# The events without a user_id are one visitor derived by ingest (one client, one
# User-Agent, one day), counted as one user.
# 12 paths: /p01 x3, /p02 x3, /p03..p12 x1; ties broken by path ascending; only 10 listed.
for n in 01 02; do for _ in 1 2 3; do post tie-site page_view 2025-11-20T12:00:00Z "/p$n" "u$n"; done; done
for n in 12 11 10 09 08 07 06 05 04 03; do post tie-site page_view 2025-11-20T12:00:00Z "/p$n" ""; done
post tie-site page_view 2025-11-20T12:00:00Z "" u01          # no path: counted, not listed
post tie-site click 2025-11-20T13:00:00Z /p12 u99
post tie-site click 2025-11-20T13:00:00Z /p12 u98
http POST "$I/event" '{"site_id":"tie-site","event_type":"click","timestamp":"2025-11-20T13:00:00Z","path":"","user_id":""}'
SENT=$((SENT + 1))
drained "ties"
http GET "$R/stats?site_id=tie-site&date=2025-11-20"
expect_http "ties by path ascending, top 10 only, pathless and userless counted" 200 \
    '{"site_id":"tie-site","date":"2025-11-20","total_views":20,"unique_users":5,"top_paths":[
     {"path":"/p01","views":3},{"path":"/p02","views":3},{"path":"/p12","views":3},
     {"path":"/p03","views":1},{"path":"/p04","views":1},{"path":"/p05","views":1},
     {"path":"/p06","views":1},{"path":"/p07","views":1},{"path":"/p08","views":1},
     {"path":"/p09","views":1}]}'
http GET "$R/stats?site_id=tie-site&date=2025-11-20&event_type=click"
expect_http "event_type=click narrows all three figures" 200 \
    '{"site_id":"tie-site","date":"2025-11-20","event_type":"click","total_views":3,"unique_users":3,
      "top_paths":[{"path":"/p12","views":2}]}'
http GET "$R/stats?site_id=tie-site&date=2025-11-20&event_type=page_view"
expect_eq "event_type=page_view total" "$(jq .total_views <<<"$HTTP_BODY")" 17
http GET "$R/stats?site_id=tie-site&date=2025-11-20&event_type=signup"
expect_http "event_type with no events" 200 \
    '{"site_id":"tie-site","date":"2025-11-20","event_type":"signup","total_views":0,"unique_users":0,"top_paths":[]}'

# --- empty results, plain-string matching ----------------------------------------------
http GET "$R/stats?site_id=nobody&date=2025-11-15"
expect_http "unknown site: zeros" 200 '{"site_id":"nobody","date":"2025-11-15","total_views":0,"unique_users":0,"top_paths":[]}'
http GET "$R/stats?site_id=site-abc-123&date=2024-02-29"
expect_http "day without events: zeros" 200 '{"site_id":"site-abc-123","date":"2024-02-29","total_views":0,"unique_users":0,"top_paths":[]}'
http GET "$R/stats?site_id=%7B%22%24ne%22%3A%22x%22%7D&date=2025-11-15"
# shellcheck disable=SC2016 # a literal $ in the JSON
expect_http "an operator in site_id is just a string" 200 \
    '{"site_id":"{\"$ne\":\"x\"}","date":"2025-11-15","total_views":0,"unique_users":0,"top_paths":[]}'
http GET "$R/stats?site_id=site%2Dabc%2D123&date=2025-11-15"
expect_http "percent-encoded site_id" 200 "$SPEC_ANSWER"

# --- /stats errors ------------------------------------------------------------------------
MISSING='{"status":"error","message":"Missing required parameters: site_id, date (YYYY-MM-DD)"}'
BADDATE='{"status":"error","message":"Parameter '"'"'date'"'"' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"}'
for q in "" "?site_id=a" "?date=2025-11-15" "?site_id=&date=2025-11-15" "?site_id=a&date="; do
    http GET "$R/stats$q"
    expect_http "/stats$q" 400 "$MISSING"
done
http GET "$R/stats/aggregated?date=2025-11-15"
expect_http "/stats/aggregated missing site_id" 400 "$MISSING"
for d in 2025-02-30 2025-13-01 2025-11-5 15-11-2025 2025-11-15T00:00:00Z 2023-02-29 x 0000-01-01 0000-12-31; do
    http GET "$R/stats?site_id=a&date=$d"
    expect_http "/stats date=$d" 400 "$BADDATE"
done
http GET "$R/stats?site_id=a&date=2025-11-15&event_type=$(printf 'e%.0s' $(seq 65))"
expect_http "/stats event_type too long" 400 \
    '{"status":"error","message":"Parameter '"'"'event_type'"'"' must be 1-64 bytes of UTF-8"}'
http GET "$R/stats?site_id=$(printf 's%.0s' $(seq 257))&date=2025-11-15"
expect_http "/stats site_id too long" 400 \
    '{"status":"error","message":"Parameter '"'"'site_id'"'"' must be 1-256 bytes of UTF-8"}'
http GET "$R/stats?site_id=%FF&date=2025-11-15"
expect_http "/stats site_id not UTF-8" 400 \
    '{"status":"error","message":"Parameter '"'"'site_id'"'"' must be 1-256 bytes of UTF-8"}'
http GET "$R/stats?site_id=a&date=2025-11-15&event_type=%C3"
expect_http "/stats event_type cut inside a character" 400 \
    '{"status":"error","message":"Parameter '"'"'event_type'"'"' must be 1-64 bytes of UTF-8"}'
http GET "$R/%FF%C3"
# reporting routes paths as sent (http_opts.raw_paths: its erasure routes decode their ids).
expect_http "unknown path with escapes of bytes that are not UTF-8: named as sent" 404 \
    '{"status":"error","message":"Not found: /%FF%C3"}'
code=$(curl -s -o "$T_TMP/head" -w '%{http_code} %{size_download}' -I "$R/health")
expect_eq "HEAD /health: 200, no body" "$code" "200 0"
codes=$(curl -s -o /dev/null -w '%{http_code} ' -I "$R/nothing" --next -s -o /dev/null -w '%{http_code}' "$R/health")
expect_eq "HEAD then GET on one connection" "$codes" "404 200"
http POST "$R/stats" '{}'
expect_http "POST /stats" 405 '{"status":"error","message":"Method POST not allowed on /stats; use GET"}'
http GET "$R/nothing"
expect_http "reporting unknown path" 404 '{"status":"error","message":"Not found: /nothing"}'

# --- exactly once: a redelivered envelope, a poison envelope, conflicting envelopes -------
# The envelope of the stored event $id again, rebuilt from its document (a redelivery), and
# two that reuse its id: under another site, and on its site with another path. A stored
# event met again counts as a redelivery only when site and content match; the others are
# dead letters (id_conflict), and touch neither that event's rollups nor its own map.
before=$(count)
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"_id\":\"$id\"}")
own_before=$(jq -c .own <<<"$stored")
# shellcheck disable=SC2016 # $date is extended JSON, not an expansion
MS='def ms: .["$date"] | capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + ((.f // "0") + "00" | .[0:3] | tonumber);'
# (Its visit as a redelivery carries it: the stored visit_id and visit_seq, which the
# processor compares, changes of 0, and the visit's attribution, device and country (va).)
env=$(jq -c "$MS"' {v: 1, id: ._id, site_id, event_type, ts: (.timestamp | ms),
    received: (.received_at | ms), path, user_id, visit: {id: .visit_id, s: .visit_seq,
    start: (.timestamp | ms), n: 0, b: 0, d: 0, en: 0, xn: 0, xb: 0,
    va: ({s: .source, m: .medium, ch: .channel, us: .utm_source, um: .utm_medium,
          uc: .utm_campaign, ut: .utm_term, ux: .utm_content, br: .browser,
          brv: .browser_version, os: .os, osv: .os_version, dev: .device, cc: .country}
         | with_entries(select(.value != null)))}}' <<<"$stored")
redis_cli lpush "$(q_first)" "$env" >/dev/null
redis_cli lpush "$(q_first)" 'not json at all' >/dev/null
redis_cli lpush "$(q_first)" '{"v":1,"id":"bad","site_id":"s","event_type":"e","ts":1,"received":1}' >/dev/null
redis_cli lpush "$(q_first)" "$(jq -c '.site_id = "forged-site"' <<<"$env")" >/dev/null
redis_cli lpush "$(q_first)" "$(jq -c '.path = "/forged"' <<<"$env")" >/dev/null
post after-poison page_view 2025-11-15T10:00:00Z /ok u1
poison_done() { [ "$(q_llen :dead)" = 4 ] && [ "$(count '{"site_id":"after-poison"}')" = 1 ]; }
wait_until $((30 * T_SLOW)) poison_done
expect_eq "redelivered event: stored once, no error" "$(count "{\"_id\":\"$id\"}")" 1
expect_eq "event behind the poison is stored" "$(count '{"site_id":"after-poison"}')" 1
expect_eq "four dead letters" "$(q_llen :dead)" 4
dead=$(q_lrange :dead | jq -sc 'map(select(.reason == "invalid_envelope") | {reason, attempts, payload, has_error: (.error | length > 0), has_time: (.failed_at > 0)}) | sort_by(.payload)')
expect_json "dead letters carry reason, error, attempts and the payload" "$dead" \
    '[{"reason":"invalid_envelope","attempts":1,"payload":"not json at all","has_error":true,"has_time":true},
      {"reason":"invalid_envelope","attempts":1,"payload":"{\"v\":1,\"id\":\"bad\",\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":1}","has_error":true,"has_time":true}]'
dead=$(q_lrange :dead | jq -sc 'map(select(.reason == "id_conflict") | {attempts, error, site: (.payload | fromjson | .site_id)}) | sort_by(.site)')
expect_json "the envelopes reusing a stored id: dead letters id_conflict, saying why" "$dead" \
    "[{\"attempts\":1,\"error\":\"event $id is stored with another path\",\"site\":\"doc-site\"},
      {\"attempts\":1,\"error\":\"event $id is stored for another site_id\",\"site\":\"forged-site\"}]"
expect_eq "analytics_events_dead_lettered_total{reason=\"id_conflict\"}" \
    "$(metric "$P" 'analytics_events_dead_lettered_total{reason="id_conflict"}')" 2
expect_eq "the stored event's own map is untouched" \
    "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"_id\":\"$id\"}" | jq -c .own)" "$own_before"
for q in "site_id=forged-site&date=2025-11-15" "site_id=doc-site&date=2025-11-15"; do
    http GET "$R/stats?$q"
    a=$HTTP_BODY
    http GET "$R/stats/aggregated?$q"
    expect_json "/stats?$q: nothing counted for the conflicting envelopes" "$a" "$HTTP_BODY"
done
expect_eq "nothing left in processing lists" "$(for q in $(q_names); do redis_cli --scan --pattern "$q:processing:*"; done | wc -l)" 0
expect_eq "documents: one per accepted event" "$(count)" "$((before + 1))"

# --- the processor checks every envelope field as ingest does ----------------------------
# Times outside years 0001-9999 (year 12025 was counted under 2025, and INT64's bounds under
# 8994) and a request id ingest would not make: dead letters with the reason, nothing stored
# or counted. The valid event after them is stored and counted alone.
uuid() { printf '0190163d-8694-7abc-8def-%012d' "$1"; }
range_env() { # range_env N MEMBERS: an envelope of range-site, id N, with these members
    echo "{\"v\":1,\"id\":\"$(uuid "$1")\",\"site_id\":\"range-site\",\"event_type\":\"page_view\",$2}"
}
range_envs=(
    "$(range_env 1 '"ts":317332720800000,"received":1763200800000')"
    "$(range_env 2 '"ts":9223372036854775807,"received":1763200800000')"
    "$(range_env 3 '"ts":-9223372036854775808,"received":1763200800000')"
    "$(range_env 4 '"ts":1763200800000,"received":317332720800000')"
    "$(range_env 5 '"ts":1763200800000,"received":1763200800000,"cts":253402300800000')"
    "$(range_env 6 '"ts":1763200800000,"received":1763200800000,"rid":"a b"')"
)
dead_before=$(q_llen :dead)
for e in "${range_envs[@]}"; do redis_cli lpush "$(q_first)" "$e" >/dev/null; done
post range-site page_view 2025-11-15T10:00:00Z /ok u1
range_done() { [ "$(q_llen :dead)" = $((dead_before + 6)) ] &&
    [ "$(count '{"site_id":"range-site"}')" = 1 ]; }
wait_until $((30 * T_SLOW)) range_done
dead=$(redis_cli lrange "$(q_first):dead" 0 5 | jq -sc 'map({reason, error, id: (.payload | fromjson | .id)}) | sort_by(.id) | map(del(.id))')
range_msg() { echo "{\"reason\":\"invalid_envelope\",\"error\":\"envelope field '$1' is outside years 0001-9999\"}"; }
expect_json "out-of-range times and a bad rid: dead letters with the reason" "$dead" \
    "[$(range_msg ts),$(range_msg ts),$(range_msg ts),$(range_msg received),$(range_msg cts),
      {\"reason\":\"invalid_envelope\",\"error\":\"envelope field 'rid' is not a valid request id\"}]"
expect_eq "range-site: only the valid event stored" "$(count '{"site_id":"range-site"}')" 1
http GET "$R/stats?site_id=range-site&date=2025-11-15"
expect_http "range-site: /stats counts the valid event alone" 200 \
    '{"site_id":"range-site","date":"2025-11-15","total_views":1,"unique_users":1,"top_paths":[{"path":"/ok","views":1}]}'

# --- /health of processor and reporting follow their dependencies -------------------------
http GET "$P/health"
expect_http "processor health" 200 '{"status":"ok","service":"processor"}'
http GET "$R/health"
expect_http "reporting health" 200 '{"status":"ok","service":"reporting"}'
http GET "$P/stats"
expect_eq "processor unknown path: 404" "$HTTP_STATUS" 404

stop_pid "$REDIS_PID"
http GET "$P/health"
expect_http "processor health, Redis down" 503 '{"status":"error","service":"processor"}'
REDIS_PORT_WANTED=$REDIS_PORT start_redis
wait_until $((10 * T_SLOW)) curl -sf "$P/health"
http GET "$P/health"
expect_http "processor health, Redis back" 200 '{"status":"ok","service":"processor"}'

mport=${MONGO_HOSTPORT##*:}
stop_pid "$MONGO_PID"
http GET "$R/health"
expect_http "reporting health, MongoDB down" 503 '{"status":"error","service":"reporting"}'
http GET "$P/health"
expect_http "processor health, MongoDB down" 503 '{"status":"error","service":"processor"}'
http GET "$R/stats?site_id=a&date=2025-11-15"
expect_http "/stats, MongoDB down" 503 '{"status":"error","message":"Database unavailable, please retry"}'
MONGO_PORT_WANTED=$mport start_mongo
wait_until $((15 * T_SLOW)) curl -sf "$R/health"
http GET "$R/health"
expect_http "reporting health, MongoDB back" 200 '{"status":"ok","service":"reporting"}'
wait_until $((15 * T_SLOW)) curl -sf "$P/health"
http GET "$P/health"
expect_http "processor health, MongoDB back" 200 '{"status":"ok","service":"processor"}'

for s in ingest processor reporting; do expect_clean_stop $s; done
for bad in "MONGO_URI=not-a-uri" "BATCH_SIZE=0" "PORT=-1" "REDIS_PORT=0" "BATCH_WAIT_MS=5000" "MONGO_WRITE_CONCERN=0"; do
    out=$(env "$bad" "$BUILD/processor" 2>&1)
    expect_eq "processor $bad: exit 2" "$?" 2
    expect_match "processor $bad: one line naming ${bad%%=*}" "$out" "^[^
]* ERROR configuration: ${bad%%=*}: [^
]*$"
done
out=$(env MONGO_URI=http://x "$BUILD/reporting" 2>&1)
expect_eq "reporting MONGO_URI=http://x: exit 2" "$?" 2
expect_match "reporting bad MONGO_URI: one line naming it" "$out" "^[^
]* ERROR configuration: MONGO_URI: [^
]*$"
out=$(env MONGO_URI=mongodb://h:99999/x "$BUILD/reporting" 2>&1)
expect_match "reporting MONGO_URI with a bad port: one line" "$out" "^[^
]* ERROR configuration: MONGO_URI: [^
]*$"

t_summary
