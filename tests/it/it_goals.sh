#!/usr/bin/env bash
# it_goals.sh - GET /stats/goals (issue 24, point 7): custom events of several visitors over
# two UTC days (signup with plan pro, free, a number or none; purchase; a type of mixed case;
# events without a user_id, whose visitor ingest derives) beside the five built-in types,
# sent through ingest and stored by two processors; every answer (all goals over each day and
# both, one goal, goal=signup&by=prop.plan, a limit, a range without events) is compared with
# its recomputation from the stored raw events in Python, the site's visitors also with
# /stats/summary's; then each 400 naming its parameter, the cap of 1000 values (events put
# straight into MongoDB), the read tokens' 401 and 403, and a clean stop of every program.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=goals
SITE=goal-site
start_service ingest REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 RATE_LIMIT=0
PROC=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=8 BATCH_WAIT_MS=20)
start_service processor "${PROC[@]}"
start_service processor2 "${PROC[@]}"
start_service reporting MONGO_URI="$(mongo_uri $DB)"
R="http://127.0.0.1:$REPORTING_PORT"

# Two whole UTC days before today, and the day before them (no events).
D1=$(date -u -d '2 days ago' +%F)
D2=$(date -u -d '1 day ago' +%F)
D0=$(date -u -d '3 days ago' +%F)

# ev DAY HH:MM TYPE USER [PROPERTIES]: one event (USER "-": none sent).
ev() {
    local user=""
    [ "$4" != - ] && user=",\"user_id\":\"$4\""
    printf '{"site_id":"%s","event_type":"%s","timestamp":"%sT%s:00Z","path":"/p"%s%s}' \
        "$SITE" "$3" "$1" "$2" "$user" "${5:+,\"properties\":$5}"
}
EVENTS=()
for d in "$D1" "$D2"; do
    for t in page_view click scroll mousemove form; do
        for u in u1 u2 u3 u4 u5 u6; do EVENTS+=("$(ev "$d" 10:00 "$t" "$u")"); done
    done
done
EVENTS+=(
    "$(ev "$D1" 10:01 signup u1 '{"plan":"pro"}')"
    "$(ev "$D1" 10:02 signup u1 '{"plan":"pro"}')"
    "$(ev "$D1" 10:03 signup u2 '{"plan":"free"}')"
    "$(ev "$D1" 10:04 signup u3 '{"plan":5}')"
    "$(ev "$D1" 10:05 signup u4)"
    "$(ev "$D1" 10:06 signup - '{"plan":"pro"}')"
    "$(ev "$D1" 10:07 purchase u1 '{"plan":"pro","amount":"12"}')"
    "$(ev "$D1" 10:08 purchase u2)"
    "$(ev "$D1" 23:59 Signup u5)"
    "$(ev "$D2" 00:00 signup u5 '{"plan":"free"}')"
    "$(ev "$D2" 09:00 signup u1 '{"plan":"free"}')"
    "$(ev "$D2" 09:01 purchase u1 '{"plan":"pro"}')"
    "$(ev "$D2" 09:02 purchase u6 '{"plan":""}')"
    "$(ev "$D2" 09:03 newsletter u6)"
    "$(ev "$D2" 09:04 newsletter - '{"plan":{"a":1}}')"
    "$(ev "$D2" 09:05 "a b" u2 '{"plan":"pro"}')"
)
BODY=$(
    IFS=,
    echo "[${EVENTS[*]}]"
)
http POST "http://127.0.0.1:$INGEST_PORT/events" "$BODY"
expect_eq "the ${#EVENTS[@]} events: 202" "$HTTP_STATUS" 202

# stored_all: every event is in MongoDB and counted in the rollups (/stats/summary's events).
stored_all() {
    [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"site_id\":\"$SITE\"}")" = \
        "${#EVENTS[@]}" ] &&
        [ "$(curl -s "$R/stats/summary?site_id=$SITE&from=$D1&to=$D2" | jq -r .events)" = \
            "${#EVENTS[@]}" ]
}
wait_until 60 queue_settled events || fail "the queue drains"
wait_until 60 stored_all || fail "every event is stored and counted"
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$SITE\"}" >"$T_TMP/stored"

# expected QUERY: the answer to /stats/goals?QUERY, recomputed from the stored events.
expected() {
    "$T_PYTHON" - "$T_TMP/stored" "$1" <<'EOF'
import json, sys, urllib.parse
from datetime import date, datetime, timedelta, timezone

BUILTIN = {"page_view", "click", "scroll", "mousemove", "form"}
q = dict(urllib.parse.parse_qsl(sys.argv[2]))
events = [json.loads(line) for line in open(sys.argv[1])]


def day(e):
    t = e["timestamp"]["$date"]
    if isinstance(t, dict):
        return datetime.fromtimestamp(int(t["$numberLong"]) / 1000, timezone.utc).date()
    return datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(timezone.utc).date()


first = date.fromisoformat(q.get("date") or q["from"])
last = date.fromisoformat(q.get("date") or q["to"])
seen = [e for e in events if e["site_id"] == q["site_id"] and first <= day(e) <= last]
user = lambda e: e.get("user_id") if isinstance(e.get("user_id"), str) and e["user_id"] else None
site_visitors = len({user(e) for e in seen if user(e)})
goal, key = q.get("goal"), q.get("by", "prop.")[5:]
if goal:
    seen = [e for e in seen if e["event_type"] == goal]
else:
    seen = [e for e in seen if e["event_type"] not in BUILTIN]


def name(e):
    if not key:
        return e["event_type"]
    v = (e.get("properties") or {}).get(key)
    return v if isinstance(v, str) and v else "(none)"


rows = {}
for e in seen:
    r = rows.setdefault(name(e), {"events": 0, "users": set()})
    r["events"] += 1
    if user(e):
        r["users"].add(user(e))
ranked = sorted(rows.items(), key=lambda kv: (-len(kv[1]["users"]), -kv[1]["events"], kv[0].encode()))
out = {"site_id": q["site_id"], "visitors": site_visitors}
if "date" in q:
    out["date"] = q["date"]
else:
    out["from"], out["to"] = q["from"], q["to"]
if first != last:
    out["hashed_visitors"] = "per_day"
if goal:
    out["goal"] = goal
if key:
    out["by"] = q["by"]
out["values" if key else "goals"] = [
    {"value" if key else "goal": n, "visitors": len(r["users"]), "events": r["events"],
     "conversion_rate": 100.0 * len(r["users"]) / site_visitors if site_visitors else 0}
    for n, r in ranked[: int(q.get("limit", 10))]
]
print(json.dumps(out))
EOF
}

echo "# --- the answers, against the stored events"
for query in "date=$D1" "date=$D2" "from=$D1&to=$D2" "from=$D1&to=$D2&limit=2" \
    "from=$D1&to=$D1&limit=1" "date=$D0" "from=$D0&to=$D0" "from=$D0&to=$D2" \
    "from=$D1&to=$D2&goal=signup" "date=$D2&goal=Signup" "date=$D1&goal=nothing" \
    "from=$D1&to=$D2&goal=signup&by=prop.plan" "date=$D1&goal=signup&by=prop.plan" \
    "from=$D1&to=$D2&goal=purchase&by=prop.plan&limit=1" \
    "from=$D1&to=$D2&goal=newsletter&by=prop.plan" "date=$D2&goal=a%20b&by=prop.plan" \
    "from=$D1&to=$D2&goal=signup&by=prop.none"; do
    http GET "$R/stats/goals?site_id=$SITE&$query"
    expect_eq "$query: 200" "$HTTP_STATUS" 200
    expect_json "$query: the figures of the stored events" "$HTTP_BODY" \
        "$(expected "site_id=$SITE&$query")"
done
http GET "$R/stats/goals?site_id=$SITE&from=$D1&to=$D2"
GOALS=$HTTP_BODY
expect_eq "the events are there: five goals, by visitors, events, name" \
    "$(jq -c '[.goals[].goal]' <<<"$GOALS")" '["signup","purchase","newsletter","Signup","a b"]'
http GET "$R/stats/summary?site_id=$SITE&from=$D1&to=$D2"
expect_eq "visitors: /stats/summary's" "$(jq .visitors <<<"$GOALS")" "$(jq .visitors <<<"$HTTP_BODY")"
http GET "$R/stats/goals?site_id=$SITE&from=$D1&to=$D2&goal=signup&by=prop.plan"
expect_eq "by=prop.plan: (none) for a missing, number or unsent property" \
    "$(jq -c '[.values[] | select(.value == "(none)") | .events]' <<<"$HTTP_BODY")" '[2]'

echo "# --- the raw events' scan (reporting/scan.h) against the other reads, same answers"
# A filter that keeps every event sends each read through the scan; its figures must equal
# those of the reads without it (rollups, aggregations), minus the echoed filters. (This
# script runs under valgrind in make check, it_figures.sh's exactness checks do not.)
ALL="filter=event_type:is_not:no-such-type"
same() { # same WHAT PATH_AND_QUERY JQ: the answer without and with $ALL, through JQ
    local a b
    a=$(curl -s "$R/$2" | jq -c "$3")
    b=$(curl -s "$R/$2&$ALL" | jq -c "del(.filters) | $3")
    expect_eq "$1: the scan's answer equals the other read's" "$b" "$a"
}
RANGE="site_id=$SITE&from=$D1&to=$D2"
same "goals" "stats/goals?$RANGE" .
same "goal signup by plan" "stats/goals?$RANGE&goal=signup&by=prop.plan" .
same "summary" "stats/summary?$RANGE&compare=previous" .
same "timeseries of visitors by hour" "stats/timeseries?$RANGE&interval=hour&metric=visitors" .
same "breakdown by event type" "stats/breakdown?$RANGE&by=event_type&limit=100" \
    '[.values[] | {value, views, unique_users}]'
same "events" "events?site_id=$SITE&limit=1000" '[.events[].id]'
# A filter on a visit's dimensions that keeps every visit is read from their rollups
# (rollup_dims, rollup_dim_visits): the same answers as the scan's, under valgrind too.
DIMS_ALL="filter=country:is_not:no-such-country"
same_dims() { # same_dims WHAT PATH_AND_QUERY JQ: the answer with $ALL (the scan) and $DIMS_ALL
    local a b
    a=$(curl -s "$R/$2&$ALL" | jq -c "del(.filters) | $3")
    b=$(curl -s "$R/$2&$DIMS_ALL" | jq -c "del(.filters) | $3")
    expect_eq "$1: the dimension rollups' answer equals the scan's" "$b" "$a"
}
before=$(metric "$R" 'analytics_scan_reads_total{from="rollups"}')
same_dims "summary" "stats/summary?$RANGE&compare=previous" .
same_dims "breakdown by device" "stats/breakdown?$RANGE&by=device&limit=1000" .
same_dims "breakdown by source" "stats/breakdown?$RANGE&by=source" .
same_dims "timeseries by day" "stats/timeseries?$RANGE&interval=day" .
expect_eq "those four read the rollups of the visits' dimensions (the summary twice)" \
    "$(($(metric "$R" 'analytics_scan_reads_total{from="rollups"}') - before))" 5
http GET "$R/stats/breakdown?$RANGE&by=device&filter=prop.plan:is:pro"
expect_eq "by device with filter=prop.plan:is:pro: one (none) row, u1, u2 and a hashed visitor" \
    "$(jq -c '[.values[] | [.value, .visitors]]' <<<"$HTTP_BODY")" '[["(none)",3]]'
http GET "$R/stats/funnel?$RANGE&steps=event:signup,event:purchase&$ALL"
expect_eq "funnel with a filter: 200" "$HTTP_STATUS" 200
http GET "$R/stats/realtime?site_id=$SITE&$ALL"
expect_eq "realtime with a filter: 200" "$HTTP_STATUS" 200

echo "# --- 400s, each naming its parameter"
bad() {
    http GET "$R/stats/goals?$1"
    expect_http "$1: 400" 400 "{\"status\":\"error\",\"message\":\"$2\"}"
}
MISSING="Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"
bad "date=$D1" "$MISSING"
bad "site_id=$SITE" "$MISSING"
bad "site_id=&date=$D1" "$MISSING"
bad "site_id=$SITE&date=2025-02-30" "Parameter 'date' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
bad "site_id=$SITE&from=$D1" "Parameters 'from' and 'to' must be given together"
bad "site_id=$SITE&from=$D2&to=$D1" "Parameter 'from' must not be after 'to'"
bad "site_id=$SITE&from=2024-01-01&to=2025-01-01" "The range from 'from' to 'to' may span at most 366 days"
bad "site_id=$SITE&date=$D1&event_type=signup" "Parameter 'event_type' does not apply to /stats/goals; use goal"
bad "site_id=$SITE&date=$D1&goal=$(printf 'g%.0s' {1..65})" "Parameter 'goal' must be 1-64 bytes of UTF-8"
bad "site_id=$SITE&date=$D1&goal=%ff" "Parameter 'goal' must be 1-64 bytes of UTF-8"
GOALS_BY="Parameter 'by' must be prop.<key>, the key 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"
for t in page_view click scroll mousemove form; do
    bad "site_id=$SITE&date=$D1&goal=$t" \
        "Parameter 'goal' must be a custom event type, not page_view, click, scroll, mousemove or form"
done
# shellcheck disable=SC2016 # a literal $, as a client would send it
for by in path event_type prop. prop.a.b 'prop.$where' prop.a%24b prop.a%20b \
    "prop.$(printf 'k%.0s' {1..65})" "prop.$(printf 'k%.0s' {1..80})"; do
    bad "site_id=$SITE&date=$D1&goal=signup&by=$by" "$GOALS_BY"
done
bad "site_id=$SITE&date=$D1&by=prop.plan" "Parameter 'by' must be given with 'goal'"
for limit in 0 101 x -1 1.5; do
    bad "site_id=$SITE&date=$D1&limit=$limit" "Parameter 'limit' must be an integer from 1 to 100"
done
http GET "$R/stats/goals?site_id=$SITE&date=$D1&limit=100"
expect_eq "limit=100: 200" "$HTTP_STATUS" 200

echo "# --- at most 1000 goals or values of a property"
# many FIRST LAST: insert the events "many" of site goal-many with v=FIRST..LAST straight into
# events, with one command a call (through ingest and the processors, 1000 events take the test
# server a minute); the site has no rollups, so no visitors.
many() {
    local docs
    docs=$(seq "$1" "$2" | jq -cs --arg d "${D1}T12:00:00Z" 'map({_id: "many-\(.)", site_id: "goal-many",
        event_type: "many", timestamp: {"$date": $d}, user_id: "m\(.)", properties: {v: "v\(.)"}})')
    "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events command "{\"insert\":\"events\",\"documents\":$docs}" \
        >/dev/null || fail "insert the events $1-$2 of goal-many"
}
many 1 500 # one argument of a command may not exceed 128 KiB
many 501 1000
http GET "$R/stats/goals?site_id=goal-many&date=$D1&goal=many&by=prop.v&limit=3"
expect_json "1000 values: the first 3" "$HTTP_BODY" "{\"site_id\":\"goal-many\",\"date\":\"$D1\",\"goal\":\"many\",\"by\":\"prop.v\",\"visitors\":0,\"values\":[{\"value\":\"v1\",\"visitors\":1,\"events\":1,\"conversion_rate\":0},{\"value\":\"v10\",\"visitors\":1,\"events\":1,\"conversion_rate\":0},{\"value\":\"v100\",\"visitors\":1,\"events\":1,\"conversion_rate\":0}]}"
many 1001 1001
bad "site_id=goal-many&date=$D1&goal=many&by=prop.v" \
    "The range has more than 1000 goals or values of the property, too many to count: ask a shorter range"
http GET "$R/stats/goals?site_id=goal-many&date=$D1"
expect_eq "1001 values of one goal: the goals still answer" "$(jq -c '.goals' <<<"$HTTP_BODY")" \
    '[{"goal":"many","visitors":1001,"events":1001,"conversion_rate":0}]'

echo "# --- read tokens"
start_service reporting2 MONGO_URI="$(mongo_uri $DB)" READ_TOKENS="all-key, site-key:$SITE, other-key:other"
# shellcheck disable=SC2153 # set by start_service
R2="http://127.0.0.1:$REPORTING2_PORT/stats/goals?site_id=$SITE&date=$D1"
http GET "$R2"
expect_http "no token: 401" 401 '{"status":"error","message":"Missing token: send Authorization: Bearer <token>"}'
auth() {
    HTTP_STATUS=$(curl -s -o "$T_TMP/auth.body" -w '%{http_code}' --max-time 30 \
        -H "Authorization: Bearer $1" "$2")
    HTTP_BODY=$(cat "$T_TMP/auth.body")
}
auth other-key "$R2"
expect_http "another site's token: 403" 403 "{\"status\":\"error\",\"message\":\"This token may not read site_id '$SITE'\"}"
auth other-key "$R2&goal=click"
expect_eq "a 400 comes before the 403" "$HTTP_STATUS" 400
for tok in all-key site-key; do
    auth "$tok" "$R2"
    expect_json "$tok: the same answer" "$HTTP_BODY" "$(curl -s "$R/stats/goals?site_id=$SITE&date=$D1")"
done

for p in ingest processor processor2 reporting reporting2; do
    expect_clean_stop "$p"
done
t_summary
