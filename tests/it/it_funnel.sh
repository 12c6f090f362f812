#!/usr/bin/env bash
# it_funnel.sh - GET /stats/funnel (issue 24, point 8): visits of several visitors sent through
# ingest in two rounds more than VISIT_TIMEOUT_S=2 apart (so a visitor's events of the two rounds
# are two visits) and stored by two processors: steps in order, out of order, repeated, split
# over two visits of one visitor (which must not count), one visitor with two visits, a visit
# that starts before midnight and goes on after it, all eight steps; every answer (funnels of 2
# and 8 steps, path and event steps, over each day, both and a day without events) is compared
# with its recomputation from the stored raw events in Python, and a few with figures worked
# out by hand; then each 400 naming the bad part, the read tokens' 401 and 403, and a clean
# stop of every program.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=funnel
SITE=fun-site
start_service ingest REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 RATE_LIMIT=0
PROC=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" VISIT_TIMEOUT_S=2 BATCH_SIZE=8
    BATCH_WAIT_MS=20)
start_service processor "${PROC[@]}"
start_service processor2 "${PROC[@]}"
start_service reporting MONGO_URI="$(mongo_uri $DB)"
R="http://127.0.0.1:$REPORTING_PORT"

# Two whole UTC days before today, and the day before them (no events).
D1=$(date -u -d '2 days ago' +%F)
D2=$(date -u -d '1 day ago' +%F)
D0=$(date -u -d '3 days ago' +%F)

# ev DAY HH:MM USER TYPE PATH: one event.
ev() {
    printf '{"site_id":"%s","event_type":"%s","timestamp":"%sT%s:00Z","path":"%s","user_id":"%s"}' \
        "$SITE" "$4" "$1" "$2" "$5" "$3"
}
# pv DAY HH:MM USER PATH: a page view.
pv() { ev "$1" "$2" "$3" page_view "$4"; }
# post EVENT...: one request of them, in that order; a visitor's events of one request are one
# visit, in the request's order.
SENT=0
post() {
    local body
    body=$(
        IFS=,
        echo "[$*]"
    )
    http POST "http://127.0.0.1:$INGEST_PORT/events" "$body"
    expect_eq "$# events: 202" "$HTTP_STATUS" 202
    SENT=$((SENT + $#))
}

# Round 1, on D1 (one visit each): a in order; b out of order; c with repeated steps and noise;
# d the first two steps (its third comes in round 2); e the first step only (again in round 2,
# whole); f no step; g from 23:59 on D1 to after midnight (a visit of D1); j all eight steps of
# the long funnel; k its first five.
post "$(pv "$D1" 10:00 a /)" "$(pv "$D1" 10:01 a /pricing)" "$(ev "$D1" 10:02 a signup /pricing)" \
    "$(pv "$D1" 10:00 b /pricing)" "$(ev "$D1" 10:01 b signup /pricing)" "$(pv "$D1" 10:02 b /)" \
    "$(pv "$D1" 11:00 c /)" "$(pv "$D1" 11:01 c /)" "$(ev "$D1" 11:02 c click /)" \
    "$(pv "$D1" 11:03 c /pricing)" "$(pv "$D1" 11:04 c /pricing)" "$(ev "$D1" 11:05 c signup /pricing)" \
    "$(ev "$D1" 11:06 c signup /pricing)" "$(ev "$D1" 11:07 c purchase /pay)" \
    "$(pv "$D1" 12:00 d /)" "$(pv "$D1" 12:01 d /pricing)" \
    "$(pv "$D1" 12:00 e /)" "$(pv "$D1" 12:01 e /about)" \
    "$(pv "$D1" 13:00 f /about)" "$(ev "$D1" 13:01 f signup /about)" \
    "$(pv "$D1" 23:59 g /)" "$(pv "$D2" 00:00 g /pricing)" "$(ev "$D2" 00:01 g signup /pricing)" \
    "$(pv "$D1" 14:00 j /)" "$(pv "$D1" 14:01 j /pricing)" "$(pv "$D1" 14:02 j /docs)" \
    "$(ev "$D1" 14:03 j signup /docs)" "$(pv "$D1" 14:04 j /pay)" "$(ev "$D1" 14:05 j purchase /pay)" \
    "$(pv "$D1" 14:06 j /done)" "$(ev "$D1" 14:07 j invite /done)" \
    "$(pv "$D1" 15:00 k /)" "$(pv "$D1" 15:01 k /pricing)" "$(pv "$D1" 15:02 k /docs)" \
    "$(ev "$D1" 15:03 k signup /docs)" "$(pv "$D1" 15:04 k /pay)" "$(pv "$D1" 15:05 k /done)"
# More than VISIT_TIMEOUT_S of arrival later, round 2, on D2: d's third step alone (a visit of
# its own); e all three; h a signup before and after /pricing.
sleep 3
post "$(pv "$D2" 09:00 d /about)" "$(ev "$D2" 09:01 d signup /about)" \
    "$(pv "$D2" 10:00 e /)" "$(pv "$D2" 10:01 e /pricing)" "$(ev "$D2" 10:02 e signup /pricing)" \
    "$(pv "$D2" 11:00 h /)" "$(ev "$D2" 11:01 h signup /)" "$(pv "$D2" 11:02 h /pricing)" \
    "$(ev "$D2" 11:03 h signup /pricing)"

stored_all() {
    [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"site_id\":\"$SITE\"}")" = "$SENT" ]
}
wait_until 60 queue_settled events || fail "the queue drains"
wait_until 60 stored_all || fail "every event is stored"
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$SITE\"}" >"$T_TMP/stored"
expect_eq "two visits each for d and e, one for the others" \
    "$(jq -r '"\(.user_id) \(.visit_id)"' "$T_TMP/stored" | sort -u | cut -d' ' -f1 | uniq -c |
        awk '{printf "%s%s ", $2, $1}')" "a1 b1 c1 d2 e2 f1 g1 h1 j1 k1 "

# expected QUERY...: the answers to /stats/funnel?QUERY, one a line, recomputed from the stored
# events (one run of Python for all).
expected() {
    "$T_PYTHON" - "$T_TMP/stored" "$@" <<'EOF'
import json, sys, urllib.parse
from collections import defaultdict
from datetime import date, datetime, timezone

events = [json.loads(line) for line in open(sys.argv[1])]


def day(t):
    t = t["$date"]
    if isinstance(t, dict):
        return datetime.fromtimestamp(int(t["$numberLong"]) / 1000, timezone.utc).date()
    return datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(timezone.utc).date()


def matches(step, e):
    kind, value = step
    if kind == "event":
        return e["event_type"] == value
    return e["event_type"] == "page_view" and e.get("path") == value


def answer(q):
    first = date.fromisoformat(q.get("date") or q["from"])
    last = date.fromisoformat(q.get("date") or q["to"])
    steps = [s.split(":", 1) for s in q["steps"].split(",")]
    visits = defaultdict(list)
    for e in events:
        if e["site_id"] == q["site_id"] and "visit_start" in e and \
                first <= day(e["visit_start"]) <= last:
            visits[e["visit_id"]].append(e)

    best = {}  # user -> the furthest step of their visits
    for evs in visits.values():
        k, user = 0, None
        for e in sorted(evs, key=lambda e: e["visit_seq"]):
            if k < len(steps) and matches(steps[k], e):
                if k == 0:
                    user = e.get("user_id")
                k += 1
        if k and user:
            best[user] = max(best.get(user, 0), k)
    counts = [sum(1 for b in best.values() if b > i) for i in range(len(steps))]
    out = {"site_id": q["site_id"]}
    if "date" in q:
        out["date"] = q["date"]
    else:
        out["from"], out["to"] = q["from"], q["to"]
    if first != last:
        out["hashed_visitors"] = "per_day"
    out["steps"] = [
        {"step": ":".join(steps[i]), "visitors": n, "dropoff": counts[i - 1] - n if i else 0,
         "conversion_rate": 100.0 * n / counts[0] if counts[0] else 0}
        for i, n in enumerate(counts)
    ]
    return out


for arg in sys.argv[2:]:
    print(json.dumps(answer(dict(urllib.parse.parse_qsl(arg)))))
EOF
}

# figures STEPS QUERY: each step's visitors, as "N N N".
figures() {
    http GET "$R/stats/funnel?site_id=$SITE&steps=$1&$2"
    jq -r '[.steps[].visitors] | map(tostring) | join(" ")' <<<"$HTTP_BODY"
}

S3="path:/,path:/pricing,event:signup"
S8="path:/,path:/pricing,path:/docs,event:signup,path:/pay,event:purchase,path:/done,event:invite"
echo "# --- the answers, against the stored events"
QUERIES=()
for steps in "$S3" "$S8" "path:/,path:/pricing" "event:signup,event:purchase" \
    "path:/pricing,path:/" "path:/,path:/,event:signup" "event:nothing,path:/"; do
    for range in "date=$D1" "date=$D2" "from=$D1&to=$D2"; do
        QUERIES+=("site_id=$SITE&steps=$steps&$range")
    done
done
mapfile -t EXPECTED < <(expected "${QUERIES[@]}")
for i in "${!QUERIES[@]}"; do
    http GET "$R/stats/funnel?${QUERIES[$i]}"
    expect_eq "${QUERIES[$i]}: 200" "$HTTP_STATUS" 200
    expect_json "${QUERIES[$i]}: the figures of the stored events" "$HTTP_BODY" "${EXPECTED[$i]}"
done

echo "# --- figures worked out by hand"
# D1: a 3, b 1 (its / comes last), c 3, d 2 (its signup is in another visit), e 1, f 0, g 3
# (its visit starts on D1), j 3, k 3. D2: e 3 (its second visit), h 3, d 0; g's visit is D1's.
expect_eq "$S3 over D1" "$(figures "$S3" "date=$D1")" "8 6 5"
expect_eq "$S3 over D2" "$(figures "$S3" "date=$D2")" "2 2 2"
expect_eq "$S3 over both: e counts once, at its furthest" "$(figures "$S3" "from=$D1&to=$D2")" "9 8 7"
expect_eq "$S8 over D1: j all, k five" "$(figures "$S8" "date=$D1")" "8 6 2 2 2 1 1 1"
expect_eq "event:signup,event:purchase over D1: c and j" \
    "$(figures "event:signup,event:purchase" "date=$D1")" "7 2"
expect_eq "a day without visits" "$(figures "$S3" "date=$D0")" "0 0 0"
http GET "$R/stats/funnel?site_id=$SITE&from=$D1&to=$D2&steps=$S3"
expect_json "the whole answer" "$HTTP_BODY" "{\"site_id\":\"$SITE\",\"from\":\"$D1\",\"to\":\"$D2\",\"steps\":[{\"step\":\"path:/\",\"visitors\":9,\"dropoff\":0,\"conversion_rate\":100.0},{\"step\":\"path:/pricing\",\"visitors\":8,\"dropoff\":1,\"conversion_rate\":88.888888888888886},{\"step\":\"event:signup\",\"visitors\":7,\"dropoff\":1,\"conversion_rate\":77.777777777777771}],\"hashed_visitors\":\"per_day\"}"
http GET "$R/stats/funnel?site_id=$SITE&from=$D1&to=$D2&steps=path%3A%2F%2Cpath%3A%2Fpricing%2Cevent%3Asignup"
expect_json "percent-encoded steps: the same" "$HTTP_BODY" \
    "$(curl -s "$R/stats/funnel?site_id=$SITE&from=$D1&to=$D2&steps=$S3")"
http GET "$R/stats/funnel?site_id=nobody&date=$D1&steps=$S3"
expect_json "a site without events" "$HTTP_BODY" "{\"site_id\":\"nobody\",\"date\":\"$D1\",\"steps\":[{\"step\":\"path:/\",\"visitors\":0,\"dropoff\":0,\"conversion_rate\":0},{\"step\":\"path:/pricing\",\"visitors\":0,\"dropoff\":0,\"conversion_rate\":0},{\"step\":\"event:signup\",\"visitors\":0,\"dropoff\":0,\"conversion_rate\":0}]}"

echo "# --- 400s, each naming the bad part"
bad() {
    http GET "$R/stats/funnel?$1"
    expect_http "$1: 400" 400 "{\"status\":\"error\",\"message\":\"$2\"}"
}
MISSING="Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"
STEPS_MISSING="Missing required parameter: steps (2 to 8 steps, each path:<path> or event:<event_type>, comma-separated)"
PREFIX="must be path:<path> or event:<event_type>"
V257=$(printf 'v%.0s' {1..257})
bad "date=$D1&steps=$S3" "$MISSING"
bad "site_id=$SITE&steps=$S3" "$MISSING"
bad "site_id=$SITE&date=2025-02-30&steps=$S3" "Parameter 'date' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
bad "site_id=$SITE&from=$D2&to=$D1&steps=$S3" "Parameter 'from' must not be after 'to'"
bad "site_id=$SITE&from=2024-01-01&to=2025-01-01&steps=$S3" "The range from 'from' to 'to' may span at most 366 days"
bad "site_id=$SITE&date=$D1&steps=$S3&event_type=signup" "Parameter 'event_type' does not apply to /stats/funnel; use steps"
bad "site_id=$SITE&date=$D1" "$STEPS_MISSING"
bad "site_id=$SITE&date=$D1&steps=" "$STEPS_MISSING"
bad "site_id=$SITE&date=$D1&steps=path:/" "Parameter 'steps' must list 2 to 8 steps, comma-separated; it has 1"
bad "site_id=$SITE&date=$D1&steps=$S8,path:/9" "Parameter 'steps' must list 2 to 8 steps, comma-separated; it has 9"
bad "site_id=$SITE&date=$D1&steps=path:/,pricing" "Parameter 'steps': step 2 $PREFIX"
bad "site_id=$SITE&date=$D1&steps=path:/,event:x," "Parameter 'steps': step 3 $PREFIX"
bad "site_id=$SITE&date=$D1&steps=page:/,event:x" "Parameter 'steps': step 1 $PREFIX"
bad "site_id=$SITE&date=$D1&steps=path:/,event:" "Parameter 'steps': step 2 has an empty value"
# A value cannot hold ',', even percent-encoded: the third step is "b".
bad "site_id=$SITE&date=$D1&steps=path:/,path:/a%2Cb" "Parameter 'steps': step 3 $PREFIX"
bad "site_id=$SITE&date=$D1&steps=path:/,event:x,path:/$V257" "Parameter 'steps': step 3 is longer than 256 bytes"
bad "site_id=$SITE&date=$D1&steps=path:/,path:/%ff" "Parameter 'steps' must be at most 4096 bytes of UTF-8"
bad "site_id=$SITE&date=$D1&steps=path:/,path:/$(printf 'x%.0s' {1..4100})" "Parameter 'steps' must be at most 4096 bytes of UTF-8"

echo "# --- read tokens"
start_service reporting2 MONGO_URI="$(mongo_uri $DB)" READ_TOKENS="all-key, site-key:$SITE, other-key:other"
# shellcheck disable=SC2153 # set by start_service
R2="http://127.0.0.1:$REPORTING2_PORT/stats/funnel?site_id=$SITE&date=$D1&steps=$S3"
http GET "$R2"
expect_http "no token: 401" 401 '{"status":"error","message":"Missing token: send Authorization: Bearer <token>"}'
auth() {
    HTTP_STATUS=$(curl -s -o "$T_TMP/auth.body" -w '%{http_code}' --max-time 30 \
        -H "Authorization: Bearer $1" "$2")
    HTTP_BODY=$(cat "$T_TMP/auth.body")
}
auth other-key "$R2"
expect_http "another site's token: 403" 403 "{\"status\":\"error\",\"message\":\"This token may not read site_id '$SITE'\"}"
auth site-key "$R2"
expect_json "the site's token: the same answer" "$HTTP_BODY" "$(curl -s "$R/stats/funnel?site_id=$SITE&date=$D1&steps=$S3")"

for p in ingest processor processor2 reporting reporting2; do
    expect_clean_stop "$p"
done
t_summary
