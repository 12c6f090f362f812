#!/usr/bin/env bash
# it_explorer.sh - GET /events on reporting and who may read (READ_TOKENS): events over
# several days, types, users and paths, posted through ingest and stored by the processor;
# /events answers exactly what is stored, newest first, with its filters, from/to edges
# and limit; properties=false; pages that end at 1 MiB of events; paging with the cursor
# lists each event once while more events arrive; every error's exact message; the index
# it reads; 401/403 with read tokens, the open routes, READ_TOKENS_FILE and the
# configuration errors.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # sort and comm by bytes, as MongoDB orders strings

start_redis
start_mongo
DB=explorer
SITE=ex-site
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
start_service reporting MONGO_URI="$(mongo_uri $DB)"
R="http://127.0.0.1:$REPORTING_PORT"

check "without READ_TOKENS reporting warns at start that it is open" \
    grep -q ' WARN READ_TOKENS and READ_TOKENS_FILE are not set: every client may read every site' \
    "$T_TMP/reporting.log"

# --- the events -------------------------------------------------------------------------
# 150 events over 2025-11-14..16: 3 types, 4 users (and none), 5 paths (and none); and the
# edges of 2025-11-15 and of its noon, where two events share one instant (ordered by _id).
batch() { # batch FIRST COUNT: events FIRST..FIRST+COUNT-1 as a JSON array
    jq -cn --argjson first "$1" --argjson n "$2" '[range($first; $first + $n) as $i | {
        site_id: "'"$SITE"'",
        event_type: (["page_view", "click", "signup"][$i % 3]),
        timestamp: ("2025-11-1\(4 + ($i % 3))T\("0\($i % 24)" | .[-2:]):\("0\($i % 7)" | .[-2:]):00.\("00\($i % 5)" | .[-3:])Z"),
        properties: {seq: $i, big: 9007199254740993, f: 1.25, tags: ["a", {k: $i}], none: null}
    } + (if $i % 5 == 4 then {} else {user_id: "u\($i % 4)"} end)
      + (if $i % 6 == 5 then {} else {path: "/p\($i % 5)"} end)]'
}
post_events() { # post_events JSON: 202, else a failure named after it
    http POST "http://127.0.0.1:$INGEST_PORT/events" "$1"
    [ "$HTTP_STATUS" = 202 ] || fail "POST /events" "$HTTP_STATUS $HTTP_BODY"
}
post_events "$(batch 0 70)"
post_events "$(batch 70 70)"
# With sent_at: the documents also keep the client's own time as client_timestamp.
post_events "{\"sent_at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\",\"events\":$(batch 140 4)}"
# The edges: the last millisecond of 2025-11-15, the next midnight, noon and just before.
post_events '[
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-15T23:59:59.999Z","event_id":"e-last"},
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-16T00:00:00.000Z","event_id":"e-next"},
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-15T00:00:00.000Z","event_id":"e-first"},
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-15T12:00:00.000Z","event_id":"e-noon"},
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-15T11:59:59.999Z","event_id":"e-before"},
 {"site_id":"'"$SITE"'","event_type":"edge","timestamp":"2025-11-15T12:00:00.000Z","event_id":"e-noon2"}]'
# Another site's event, which no answer for $SITE may show.
post_events '[{"site_id":"other","event_type":"page_view","timestamp":"2025-11-15T10:00:00Z"}]'
N=150
stored_count() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"site_id\":\"$SITE\"}"; }
# shellcheck disable=SC2317 # called through wait_until
all_stored() { [ "$(stored_count)" = "$N" ]; }
check "all $N events stored" wait_until $((30 * T_SLOW)) all_stored

# The stored documents, as /events shows them (docs/api.md): the internal fields and visit_start
# dropped, the dates as milliseconds; the answers' dates are turned into milliseconds the same way.
# shellcheck disable=SC2016 # jq program
JQ_MS='def ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + ((.f // "0") + "00" | .[0:3] | tonumber);
def dates: with_entries(if (.key | test("^(timestamp|received_at|client_timestamp)$"))
    then .value |= ((if type == "object" then ."$date" else . end) | ms) else . end);'
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$SITE\"}" |
    jq -c "$JQ_MS"' del(.createdAt, .delivery, .own, .visit_start) | {id: ._id} + del(._id) | dates' |
    jq -sc 'sort_by([.timestamp, .id]) | reverse' >"$T_TMP/stored.json"
expect_eq "the stored set has every event" "$(jq length "$T_TMP/stored.json")" "$N"
check "some stored events have client_timestamp" \
    jq -e '[.[] | select(.client_timestamp)] | length == 4' "$T_TMP/stored.json"

# events QUERY: GET /events?QUERY; sets GOT to the events of the answer, dates in ms.
events() {
    http GET "$R/events?$1"
    GOT=$(jq -c "$JQ_MS"' [.events[] | dates]' <<<"$HTTP_BODY" 2>/dev/null)
}
# expect_events DESCRIPTION QUERY JQ-SELECT: the answer is the stored events that
# JQ-SELECT keeps, in the stored order (newest first, then _id descending), and no more.
expect_events() {
    local got want
    events "$2"
    got=$GOT
    want=$(jq -c "$JQ_MS [.[] | select($3)]" "$T_TMP/stored.json")
    expect_eq "$1: 200" "$HTTP_STATUS" 200
    expect_json "$1: the stored events, newest first" "$got" "$want"
    check "$1: some events" [ "$(jq length <<<"$want")" -gt 0 ]
}

events "site_id=$SITE&limit=1000"
got=$GOT
expect_eq "all events: 200" "$HTTP_STATUS" 200
expect_json "all events: exactly what is stored, newest first" "$got" "$(cat "$T_TMP/stored.json")"
expect_eq "all events: no next page" "$(jq -c .next_cursor <<<"$HTTP_BODY")" null
noon=$(jq -c '[.events[] | select(.id == "'"$SITE"':e-noon")][0]' <<<"$HTTP_BODY")
# Sent without a user_id: its visitor derived by ingest (32 hex characters, "hash").
expect_match "an event's derived user_id" "$(jq -r .user_id <<<"$noon")" '^[0-9a-f]{32}$'
expect_json "an event as JSON (docs/api.md)" "$noon" \
    '{"id":"'"$SITE"':e-noon","site_id":"'"$SITE"'","event_type":"edge","path":null,
      "user_id":'"$(jq .user_id <<<"$noon")"',"visitor_source":"hash",
      "browser":"curl","browser_version":"'"$CURL_MAJOR"'","os":"Other",
      "timestamp":"2025-11-15T12:00:00.000Z","received_at":'"$(jq .received_at <<<"$noon")"',
      "visit_id":'"$(jq .visit_id <<<"$noon")"',"visit_seq":'"$(jq .visit_seq <<<"$noon")"'}'
check "received_at as YYYY-MM-DDTHH:MM:SS.mmmZ" \
    jq -e '[.events[].received_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")] | all' <<<"$HTTP_BODY"

events "site_id=$SITE"
got=$GOT
expect_eq "default limit: 100 events" "$(jq length <<<"$got")" 100
expect_json "default limit: the 100 newest" "$got" "$(jq -c '.[:100]' "$T_TMP/stored.json")"
check "default limit: a next page" jq -e '.next_cursor | type == "string"' <<<"$HTTP_BODY"
events "site_id=$SITE&limit=1"
got=$GOT
expect_json "limit=1: the newest" "$got" "$(jq -c '.[:1]' "$T_TMP/stored.json")"
events "site_id=$SITE&limit=$N"
got=$GOT
expect_eq "limit=$N (all of them): no next page" "$(jq -c .next_cursor <<<"$HTTP_BODY")" null
events "site_id=$SITE&limit=$((N - 1))"
got=$GOT
check "limit=$((N - 1)): a next page" jq -e '.next_cursor | type == "string"' <<<"$HTTP_BODY"

expect_events "event_type=click" "site_id=$SITE&event_type=click" '.event_type == "click"'
expect_events "user_id=u1" "site_id=$SITE&user_id=u1" '.user_id == "u1"'
expect_events "path=/p2" "site_id=$SITE&path=%2Fp2&limit=1000" '.path == "/p2"'
expect_events "event_type, user_id and path" \
    "site_id=$SITE&event_type=page_view&user_id=u0&path=/p0" \
    '.event_type == "page_view" and .user_id == "u0" and .path == "/p0"'
events "site_id=$SITE&event_type=nothing"
got=$GOT
expect_eq "a filter nothing matches: no events" "$got" "[]"
events "site_id=nobody"
got=$GOT
expect_eq "an unknown site: no events" "$got" "[]"

D15=$(jq -n '"2025-11-15T00:00:00Z" | fromdateiso8601 * 1000')
D16=$((D15 + 86400000))
NOON=$((D15 + 43200000))
expect_events "from=to=2025-11-15 (dates): the whole day, its last millisecond included" \
    "site_id=$SITE&from=2025-11-15&to=2025-11-15&limit=1000" ".timestamp >= $D15 and .timestamp < $D16"
events "site_id=$SITE&from=2025-11-15&to=2025-11-15&limit=1000"
got=$GOT
check "  ...e-last (23:59:59.999) in, e-next (next midnight) out, e-first (midnight) in" \
    jq -e 'map(.id) | (index("'"$SITE"':e-last") != null) and (index("'"$SITE"':e-next") == null)
        and (index("'"$SITE"':e-first") != null)' <<<"$got"
expect_events "to=<instant>: exclusive (noon out, 11:59:59.999 in)" \
    "site_id=$SITE&from=2025-11-15&to=2025-11-15T12:00:00Z&limit=1000" \
    ".timestamp >= $D15 and .timestamp < $NOON"
expect_events "from=<instant>: inclusive (both noon events in)" \
    "site_id=$SITE&from=2025-11-15T12:00:00Z&to=2025-11-15T12:00:00.001Z" ".timestamp == $NOON"
expect_events "from=<instant with offset>" \
    "site_id=$SITE&from=2025-11-15T13:00:00%2B01:00&limit=1000" ".timestamp >= $NOON"
expect_events "to=<date> alone: up to the end of that day" \
    "site_id=$SITE&to=2025-11-14&limit=1000" ".timestamp < $D15"
expect_events "from=<date> alone" "site_id=$SITE&from=2025-11-16&limit=1000" ".timestamp >= $D16"

# --- properties=false ----------------------------------------------------------------------
events "site_id=$SITE&limit=1000&properties=false"
got=$GOT
expect_eq "properties=false: 200" "$HTTP_STATUS" 200
expect_json "properties=false: the stored events without their properties" "$got" \
    "$(jq -c '[.[] | del(.properties)]' "$T_TMP/stored.json")"
events "site_id=$SITE&limit=1000&properties=true"
got=$GOT
expect_json "properties=true: the stored events, properties included" "$got" "$(cat "$T_TMP/stored.json")"
for v in 1 yes FALSE; do
    http GET "$R/events?site_id=$SITE&properties=$v"
    expect_http "properties=$v" 400 '{"status":"error","message":"Parameter '"'properties'"' must be true or false"}'
done

# --- paging -----------------------------------------------------------------------------
# page_all QUERY OUT: follow the cursor from the first page to the last, each page's
# events (id, timestamp) appended to OUT; before each page after the first, WAIT (a
# command) must succeed. Sets PAGES.
page_all() {
    local q=$1 out=$2 cursor="" url
    PAGES=0
    : >"$out"
    while :; do
        url="$R/events?$q"
        [ -z "$cursor" ] || url="$url&cursor=$cursor"
        http GET "$url"
        if [ "$HTTP_STATUS" != 200 ]; then
            fail "paging: page $((PAGES + 1))" "$HTTP_STATUS $HTTP_BODY"
            return 1
        fi
        PAGES=$((PAGES + 1))
        jq -r "$JQ_MS"' .events[] | "\(.timestamp | ms) \(.id)"' <<<"$HTTP_BODY" >>"$out"
        cursor=$(jq -r '.next_cursor // empty' <<<"$HTTP_BODY")
        [ -n "$cursor" ] || return 0
        [ -z "${WAIT:-}" ] || $WAIT || { fail "paging: $WAIT"; return 1; }
    done
}
# in_order FILE: lines "ms id" strictly descending by (ms, id).
in_order() { sort -k1,1nr -k2,2r -u "$1" | cmp -s - "$1"; }

page_all "site_id=$SITE&limit=7" "$T_TMP/pages"
expect_eq "paging by 7: $(((N + 6) / 7)) pages" "$PAGES" $(((N + 6) / 7))
expect_eq "paging by 7: every event once, in order" "$(cat "$T_TMP/pages")" \
    "$(jq -r '.[] | "\(.timestamp) \(.id)"' "$T_TMP/stored.json")"
page_all "site_id=$SITE&event_type=click&from=2025-11-15&to=2025-11-16&limit=4" "$T_TMP/pages"
expect_eq "paging with filters: every match once, in order" "$(cat "$T_TMP/pages")" \
    "$(jq -r ".[] | select(.event_type == \"click\" and .timestamp >= $D15) | \"\(.timestamp) \(.id)\"" "$T_TMP/stored.json")"

# While a sender posts events (timestamps all over the listed days, so that some land
# among the pages already listed and some among those to come), page through the site with
# at least one new event stored before each next page. The union of the pages must hold
# every event stored before the first page, once, and otherwise only events the sender
# posted; in order.
cut -d' ' -f2 <(jq -r '.[] | "\(.timestamp) \(.id)"' "$T_TMP/stored.json") | sort >"$T_TMP/before"
: >"$T_TMP/sent"
sender() {
    local i=0 body
    while [ ! -e "$T_TMP/stop-sender" ]; do
        body='{"site_id":"'"$SITE"'","event_type":"late","event_id":"late-'$i'","timestamp":"2025-11-1'$((4 + i % 3))'T'$(printf %02d $((i * 7 % 24)))':30:00Z"}'
        if curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
            --data-binary "$body" "http://127.0.0.1:$INGEST_PORT/event" | grep -q 202; then
            echo "$SITE:late-$i" >>"$T_TMP/sent"
        fi
        i=$((i + 1))
    done
}
sender &
SENDER=$!
LAST_COUNT=$N
# shellcheck disable=SC2317 # called through wait_until
grew() {
    local c
    c=$(stored_count)
    [ "$c" -gt "$LAST_COUNT" ] && LAST_COUNT=$c
}
# shellcheck disable=SC2317 # called by page_all
one_more() { wait_until $((20 * T_SLOW)) grew; }
WAIT=one_more page_all "site_id=$SITE&limit=10" "$T_TMP/pages"
touch "$T_TMP/stop-sender"
wait "$SENDER"
echo "# concurrent paging: $PAGES pages; $(wc -l <"$T_TMP/sent") events sent meanwhile," \
    "$(($(wc -l <"$T_TMP/pages") - N)) of them listed"
check "concurrent paging: new events were stored between pages" [ "$LAST_COUNT" -gt $((N + PAGES - 2)) ]
expect_eq "concurrent paging: no event listed twice" "$(cut -d' ' -f2 "$T_TMP/pages" | sort | uniq -d)" ""
expect_eq "concurrent paging: every event stored before the first page listed" \
    "$(comm -23 "$T_TMP/before" <(cut -d' ' -f2 "$T_TMP/pages" | sort))" ""
expect_eq "concurrent paging: the others are events the sender posted" \
    "$(comm -23 <(cut -d' ' -f2 "$T_TMP/pages" | sort) <(sort "$T_TMP/before" "$T_TMP/sent"))" ""
check "concurrent paging: newest first across the pages" in_order "$T_TMP/pages"
check "concurrent paging: some late events listed" [ "$(wc -l <"$T_TMP/pages")" -gt "$N" ]

# --- the page's byte cap: 6 events of 400 KB ------------------------------------------------
# A page ends before the event that would take its events past 1 MiB of JSON (docs/api.md): two
# a page here; the next_cursor continues with the event left out. Without properties, all six.
BLOB=$(head -c 400000 /dev/zero | tr '\0' x)
for i in 1 2 3 4 5 6; do
    post_events '[{"site_id":"big-ex","event_type":"blob","event_id":"b'$i'",
      "timestamp":"2025-11-15T10:0'$i':00Z","properties":{"seq":'$i',"blob":"'"$BLOB"'"}}]'
done
# shellcheck disable=SC2317 # called through wait_until
big_stored() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"big-ex"}')" = 6 ]; }
check "six events of 400 KB stored" wait_until $((30 * T_SLOW)) big_stored
http GET "$R/events?site_id=big-ex&limit=6"
expect_eq "400 KB events, limit=6: the page ends at 1 MiB (2 events), with a next_cursor" \
    "$HTTP_STATUS $(jq -c '[(.events | length), (.events | tojson | length <= 1048576), (.next_cursor | type)]' <<<"$HTTP_BODY")" \
    '200 [2,true,"string"]'
page_all "site_id=big-ex&limit=6" "$T_TMP/bigpages"
expect_eq "400 KB events: 3 pages, each event once, newest first" "$PAGES $(cut -d' ' -f2 "$T_TMP/bigpages" | tr '\n' ' ')" \
    "3 big-ex:b6 big-ex:b5 big-ex:b4 big-ex:b3 big-ex:b2 big-ex:b1 "
http GET "$R/events?site_id=big-ex&limit=6&properties=false"
expect_eq "400 KB events, properties=false: all six on one page" \
    "$HTTP_STATUS $(jq -c '[(.events | length), .next_cursor, ([.events[] | has("properties")] | any)]' <<<"$HTTP_BODY")" \
    '200 [6,null,false]'

# --- errors -----------------------------------------------------------------------------
http GET "$R/events?site_id=$SITE&limit=2"
CURSOR=$(jq -r .next_cursor <<<"$HTTP_BODY")
BAD_FROM="Parameter 'from' must be an RFC 3339 instant (e.g. 2025-11-15T10:00:00Z) or a date YYYY-MM-DD"
BAD_TO="Parameter 'to' must be an RFC 3339 instant (e.g. 2025-11-15T10:00:00Z) or a date YYYY-MM-DD"
LONG_TYPE=$(printf 'x%.0s' $(seq 65))
while IFS='|' read -r query msg; do
    http GET "$R/events?$query"
    expect_http "GET /events?${query:0:60}" 400 "{\"status\":\"error\",\"message\":$(jq -Rn --arg m "$msg" '$m')}"
done <<EOF2
|Missing required parameter: site_id
site_id=|Missing required parameter: site_id
event_type=click|Missing required parameter: site_id
site_id=%FF|Parameter 'site_id' must be 1-256 bytes of UTF-8
site_id=$SITE&event_type=$LONG_TYPE|Parameter 'event_type' must be 1-64 bytes of UTF-8
site_id=$SITE&user_id=%C3|Parameter 'user_id' must be 1-256 bytes of UTF-8
site_id=$SITE&path=%00|Parameter 'path' must be 1-2048 bytes of UTF-8
site_id=$SITE&from=2025-02-30|$BAD_FROM
site_id=$SITE&from=2025-11-15T10:00:00|$BAD_FROM
site_id=$SITE&from=today|$BAD_FROM
site_id=$SITE&to=2025-11-15T24:00:01Z|$BAD_TO
site_id=$SITE&to=15/11/2025|$BAD_TO
site_id=$SITE&from=2025-11-16&to=2025-11-15|Parameter 'from' must be before 'to'
site_id=$SITE&from=2025-11-15T12:00:00Z&to=2025-11-15T12:00:00Z|Parameter 'from' must be before 'to'
site_id=$SITE&from=2025-11-16T00:00:00Z&to=2025-11-15|Parameter 'from' must be before 'to'
site_id=$SITE&limit=0|Parameter 'limit' must be an integer from 1 to 1000
site_id=$SITE&limit=1001|Parameter 'limit' must be an integer from 1 to 1000
site_id=$SITE&limit=ten|Parameter 'limit' must be an integer from 1 to 1000
site_id=$SITE&limit=-5|Parameter 'limit' must be an integer from 1 to 1000
site_id=$SITE&cursor=not-a-cursor!|Invalid cursor
site_id=$SITE&cursor=B${CURSOR:1}|Invalid cursor
site_id=$SITE&cursor=${CURSOR:0:20}|Invalid cursor
site_id=$SITE&cursor=${CURSOR}%3D%3D|Invalid cursor
site_id=$SITE&event_type=click&cursor=$CURSOR|Invalid cursor: it was issued for other filters
site_id=other&cursor=$CURSOR|Invalid cursor: it was issued for other filters
site_id=$SITE&to=2025-11-16&cursor=$CURSOR|Invalid cursor: it was issued for other filters
EOF2
http GET "$R/events?site_id=$SITE&limit=5&cursor=$CURSOR"
expect_eq "the same cursor with another limit: 200" "$HTTP_STATUS" 200
http POST "$R/events" '{}'
expect_eq "POST /events on reporting: 405" "$HTTP_STATUS" 405

# --- the index --------------------------------------------------------------------------
indexes=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events command '{"listIndexes":"events"}')
check "the processor created the index {site_id: 1, timestamp: -1, _id: -1}" \
    jq -e '.cursor.firstBatch[] | select(.name == "site_id_1_timestamp_-1__id_-1")
        | .key == {"site_id": 1, "timestamp": -1, "_id": -1}' <<<"$indexes"
# explain, where the server has it (MongoDB): the page's aggregation is read from that
# index, no scan.
# shellcheck disable=SC2016 # $match, $gte, $lt, $date are MongoDB's
explain='{"explain":{"aggregate":"events","pipeline":[{"$match":{"site_id":"'"$SITE"'","timestamp":{"$gte":{"$date":"2025-11-14T00:00:00Z"},"$lt":{"$date":"2025-11-17T00:00:00Z"}},"event_type":"click"}},{"$sort":{"timestamp":-1,"_id":-1}},{"$limit":11},{"$project":{"createdAt":0,"delivery":0,"own":0,"properties":0}}],"cursor":{}}}'
if plan=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events command "$explain" 2>/dev/null); then
    check "explain: the index, no collection scan" \
        jq -e '(tostring | contains("site_id_1_timestamp_-1__id_-1")) and (tostring | contains("COLLSCAN") | not)' <<<"$plan"
else
    echo "# explain: this server has no explain command (docs/development.md); listIndexes checked instead"
fi

expect_clean_stop reporting

# --- who may read -----------------------------------------------------------------------
TOKENS="all-sites-key, site-key:$SITE|other ,"
start_service reporting MONGO_URI="$(mongo_uri $DB)" READ_TOKENS="$TOKENS"
R="http://127.0.0.1:$REPORTING_PORT"
check "with READ_TOKENS no warning that it is open" \
    [ "$(grep -c 'are not set: every client may read' "$T_TMP/reporting.log")" = 1 ]
check "with READ_TOKENS: the number of tokens logged" \
    grep -q "INFO read tokens: 2; every route but the probes, /metrics, the dashboard's files and the admin routes needs one" \
        "$T_TMP/reporting.log"
check "READ_TOKENS is masked in the logged configuration" \
    [ "$(grep -c 'all-sites-key' "$T_TMP/reporting.log")" = 0 ]
# auth CURL-ARGS... URL: sets HTTP_STATUS, HTTP_BODY, HTTP_HEADERS as http() does.
auth() {
    HTTP_STATUS=$(curl -s -o "$T_TMP/auth.body" -D "$T_TMP/auth.headers" -w '%{http_code}' \
        --max-time 30 "$@")
    HTTP_BODY=$(cat "$T_TMP/auth.body")
    HTTP_HEADERS=$(cat "$T_TMP/auth.headers")
}
MISSING='{"status":"error","message":"Missing token: send Authorization: Bearer <token>"}'
INVALID='{"status":"error","message":"Invalid token"}'
for path in "/events?site_id=$SITE" "/stats?site_id=$SITE&date=2025-11-15" \
    "/stats/aggregated?site_id=$SITE&date=2025-11-15" "/nowhere" "/events"; do
    auth "$R$path"
    expect_http "no token: $path" 401 "$MISSING"
    expect_match "no token: $path: WWW-Authenticate" "$HTTP_HEADERS" $'WWW-Authenticate: Bearer\r'
    for bad in "Bearer nope" "Bearer all-sites-ke" "Bearer all-sites-keyy" "Basic YTpi" "Bearer" \
        "bearer  site-key:$SITE"; do
        auth -H "Authorization: $bad" "$R$path"
        expect_http "'$bad': $path" 401 "$INVALID"
    done
    expect_match "invalid token: WWW-Authenticate" "$HTTP_HEADERS" \
        $'WWW-Authenticate: Bearer error="invalid_token"\r'
done
for tok in all-sites-key site-key; do
    auth -H "Authorization: Bearer $tok" "$R/events?site_id=$SITE&limit=3"
    expect_eq "$tok reads $SITE's events" "$HTTP_STATUS" 200
    expect_eq "$tok: the events" "$(jq '.events | length' <<<"$HTTP_BODY")" 3
    auth -H "Authorization: bearer   $tok" "$R/stats?site_id=other&date=2025-11-15"
    expect_eq "$tok reads other's /stats (scheme in any case, more spaces)" "$HTTP_STATUS" 200
done
auth -H "Authorization: Bearer all-sites-key" "$R/events?site_id=third"
expect_eq "the all-sites token reads any site" "$HTTP_STATUS" 200
for path in "/events?site_id=third" "/stats?site_id=third&date=2025-11-15" \
    "/stats/aggregated?site_id=third&date=2025-11-15"; do
    auth -H "Authorization: Bearer site-key" "$R$path"
    expect_http "a token for other sites: $path" 403 \
        '{"status":"error","message":"This token may not read site_id '\''third'\''"}'
done
auth -H "Authorization: Bearer site-key" "$R/events"
expect_http "a known token still gets the 400s" 400 \
    '{"status":"error","message":"Missing required parameter: site_id"}'
for path in /health /livez /readyz /metrics; do
    auth "$R$path"
    expect_eq "$path open without a token" "$HTTP_STATUS" 200
    auth "http://127.0.0.1:$REPORTING_PROBE_PORT$path"
    expect_eq "$path open on the probe port" "$HTTP_STATUS" 200
done
expect_match "/metrics counts the 401s" "$(curl -s "$R/metrics")" \
    'analytics_http_requests_total\{route="/events",status="401"\} [1-9]'
expect_clean_stop reporting

# READ_TOKENS_FILE: the same list from a file (a mounted Secret), with a trailing newline.
printf 'file-key:%s\n' "$SITE" >"$T_TMP/tokens"
start_service reporting MONGO_URI="$(mongo_uri $DB)" READ_TOKENS_FILE="$T_TMP/tokens"
R="http://127.0.0.1:$REPORTING_PORT"
auth -H "Authorization: Bearer file-key" "$R/events?site_id=$SITE&limit=1"
expect_eq "READ_TOKENS_FILE: its token reads" "$HTTP_STATUS" 200
auth -H "Authorization: Bearer file-key" "$R/events?site_id=other"
expect_eq "READ_TOKENS_FILE: its sites only" "$HTTP_STATUS" 403
auth "$R/events?site_id=$SITE"
expect_eq "READ_TOKENS_FILE: no token" "$HTTP_STATUS" 401
expect_clean_stop reporting

# --- configuration errors: one line naming the variable, exit 2 --------------------------
printf ' \n' >"$T_TMP/empty-tokens"
for bad in "READ_TOKENS=a b" "READ_TOKENS=a,a" "READ_TOKENS=k:" "READ_TOKENS_FILE=$T_TMP/none" \
    "READ_TOKENS_FILE=$T_TMP/empty-tokens" "READ_TOKENS_FILE=$T_TMP"; do
    expect_config_error reporting "$bad" MONGO_URI="$(mongo_uri $DB)"
done
out=$(env MONGO_URI="$(mongo_uri $DB)" READ_TOKENS=a READ_TOKENS_FILE="$T_TMP/tokens" "$BUILD/reporting" 2>&1)
expect_eq "READ_TOKENS and READ_TOKENS_FILE both set: exit 2" "$?" 2
expect_match "  ...says so" "$out" \
    'ERROR configuration: READ_TOKENS_FILE: set together with READ_TOKENS; set only one of them$'
expect_match "an unreadable READ_TOKENS_FILE is named" \
    "$(env READ_TOKENS_FILE="$T_TMP/none" "$BUILD/reporting" 2>&1)" \
    "READ_TOKENS_FILE: cannot read $T_TMP/none: No such file or directory"

t_summary
