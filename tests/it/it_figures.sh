#!/usr/bin/env bash
# it_figures.sh - the first row's figures are exact (issue 23): visits of known shape
# (tests/tools/visitgen.py: bounces, clicks only, gaps of 0.75 and 1.3 timeouts, client times
# across UTC midnight, one event_id sent to both ingests, a batch, hashed visitors) through two
# ingests and five processors with VISIT_TIMEOUT_S=2, three of which kill themselves with
# SIGKILL mid-batch or between assigning a claim's visits and committing them (the fault
# build's failpoints) and are started again, and a fifth stalls past its assignment lease
# (alone first, then among the others); then every figure of GET /stats/summary (each day,
# the range, the previous periods and the changes), /stats/timeseries?metric= (each figure,
# by day and by hour) and /stats/breakdown by=entry_page and exit_page is compared with its
# recomputation from the stored raw events in Python (tests/it/visits_check.py), which checks
# first that the stored visits are the runs of arrivals with no gap over the timeout; every
# breakdown (by each dimension: source ... country, pages, types, referrers, a property) and
# a table of filters on the summary, breakdowns and time series likewise
# (tests/it/breakdowns_check.py), and a bad filter's 400s; and
# GET /stats/realtime against the last five minutes of the stored events.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=figures
SITE=fig-site
TIMEOUT_S=2
ING=(REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 RATE_LIMIT=0)
PROC=(REDIS_PORT="$REDIS_PORT" VISIT_TIMEOUT_S="$TIMEOUT_S" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=4 BATCH_WAIT_MS=20
    HEARTBEAT_TTL_MS=1000 RETRY_BASE_MS=10 RETRY_MAX_MS=200)
start_service ingest "${ING[@]}"
start_service ingest2 "${ING[@]}"

# An assigner slower than its lease whose batch nobody took over still commits it (assign.h:
# the assigner fences the commit, not the lease): a processor alone, stalled 6 s between its
# first claim and its commit.
VARIANT=-fault start_service processor5 "${PROC[@]}" FAULT_STALL_IN_ASSIGN=1
expect_eq "an event for it: 202" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    "http://127.0.0.1:$INGEST_PORT/event" --data-binary "{\"site_id\":\"fig-stall\",\"event_type\":\"page_view\",\"user_id\":\"u-stall\",\"path\":\"/\",\"timestamp\":\"$(date -u +%FT%TZ)\"}")" 202
stored_stall() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"fig-stall"}')" = 1 ]; }
wait_until 60 stored_stall || fail "the stalled processor's event is stored"
check "it stalled past its lease" grep -q "failpoint: stalling" "$T_TMP/processor5.log"
expect_eq "and committed, its event with its visit" "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" \
    events find '{"site_id":"fig-stall"}' | jq -r '.visit_seq') $(grep -c 'taken over' "$T_TMP/processor5.log")" "1 0"
expect_clean_stop processor5

start_service processor "${PROC[@]}"
# Two processors kill themselves with SIGKILL mid-batch (the fault build's failpoints): one
# half-way through counting its 3rd batch, one between storing its 4th and counting it.
VARIANT=-fault start_service processor2 "${PROC[@]}" FAULT_KILL_IN_ROLLUP=3
VARIANT=-fault start_service processor3 "${PROC[@]}" FAULT_KILL_BEFORE_ROLLUP=4
# And one between assigning the visits of its 3rd claim and committing them (assign.h): the
# next claim of another processor takes that batch first.
VARIANT=-fault start_service processor4 "${PROC[@]}" FAULT_KILL_IN_ASSIGN=3
# And one stalls past its lease between its 2nd claim and its commit, while the others run: one
# of them takes the batch over, and the late commit writes nothing.
VARIANT=-fault start_service processor5 "${PROC[@]}" FAULT_STALL_IN_ASSIGN=2
start_service reporting MONGO_URI="$(mongo_uri $DB)"

"$T_PYTHON" "$T_ROOT/tests/tools/visitgen.py" "$TIMEOUT_S" "$SITE" \
    "http://127.0.0.1:$INGEST_PORT" "http://127.0.0.1:$INGEST2_PORT" >"$T_TMP/sent" &
GEN=$!
# shellcheck disable=SC2317 # called through wait_until
gone() { ! ours "$1"; }
# Each started again once it is gone (as Kubernetes would), without the failpoint.
for p in processor2 processor3 processor4; do
    pid_var=${p^^}_PID
    if wait_until 60 gone "${!pid_var}"; then
        wait "${!pid_var}"
        expect_eq "$p was killed with SIGKILL mid-batch" "$?" 137
    else
        fail "$p was killed with SIGKILL mid-batch" "it is still running"
    fi
    start_service "$p" "${PROC[@]}"
done
wait "$GEN"
expect_eq "every request of the generator answered 202" \
    "$(grep -vc '^202 ' "$T_TMP/sent")" 0
wait_until 60 queue_settled events || fail "the queue drained" "$(redis_cli llen events)"

"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$SITE\"}" >"$T_TMP/events.jsonl"
# Each duplicate event_id stored once; nothing stored twice.
expect_eq "one event_id sent to both ingests is stored once" \
    "$(jq -r 'select(._id | test("dup-1$")) | ._id' "$T_TMP/events.jsonl" | sort | uniq -c |
        awk '$1 != 1' | wc -l)" 0
if "$T_PYTHON" "$T_ROOT/tests/it/visits_check.py" "$T_TMP/events.jsonl" "$TIMEOUT_S" \
    "http://127.0.0.1:$REPORTING_PORT" "$SITE" 2025-11-14 2025-11-16 >"$T_TMP/check.txt"; then
    pass "every figure equals its recomputation from the raw events ($(sed -n 's/^# compared //p' "$T_TMP/check.txt"))"
else
    grep -v '^ok' "$T_TMP/check.txt"
    fail "every figure equals its recomputation from the raw events" "see above"
fi
grep '^#' "$T_TMP/check.txt"
# Every breakdown, and the filters on the summary, breakdowns and time series (issue 24).
if "$T_PYTHON" "$T_ROOT/tests/it/breakdowns_check.py" "$T_TMP/events.jsonl" \
    "http://127.0.0.1:$REPORTING_PORT" "$SITE" 2025-11-14 2025-11-16 >"$T_TMP/check2.txt"; then
    pass "every breakdown and filtered figure equals its recomputation ($(sed -n 's/^# compared //p' "$T_TMP/check2.txt"))"
else
    grep -v '^ok' "$T_TMP/check2.txt"
    fail "every breakdown and filtered figure equals its recomputation" "see above"
fi
# Which read answered: a visit's dimensions from their rollups (rollup_dims, rollup_dim_visits;
# their figures are among those just compared), a path filter from the raw events.
R="http://127.0.0.1:$REPORTING_PORT"
expect_match "breakdowns and filters on a visit's dimensions were read from their rollups" \
    "$(metric "$R" 'analytics_scan_reads_total{from="rollups"}')" '^[1-9][0-9]*$'
for c in "by=country&filter=device:is_not:mobile|rollups" "filter=path:is:/a|raw"; do
    before=$(metric "$R" "analytics_scan_reads_total{from=\"${c#*|}\"}")
    q=${c%%|*}
    case $q in by=*) route=breakdown ;; *) route=summary ;; esac
    http GET "$R/stats/$route?site_id=$SITE&from=2025-11-14&to=2025-11-16&$q"
    expect_eq "/stats/$route?$q: 200, read from the ${c#*|}" \
        "$HTTP_STATUS $(($(metric "$R" "analytics_scan_reads_total{from=\"${c#*|}\"}") - before))" "200 1"
done
# A bad filter or dimension: a 400 naming it.
for c in "stats/summary?site_id=$SITE&date=2025-11-15&filter=path|Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path'" \
    "stats/summary?site_id=$SITE&date=2025-11-15&filter=path:is:|Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path:is:'" \
    "stats/breakdown?site_id=$SITE&date=2025-11-15&by=source&filter=colour:is:red|Unknown filter dimension 'colour': see docs/api.md (Filters) for the list" \
    "stats/breakdown?site_id=$SITE&date=2025-11-15&by=source&filter=path:like:/x|Unknown filter operator 'like': use is, is_not or contains" \
    "stats/breakdown?site_id=$SITE&date=2025-11-15&by=prop.a%20b|Parameter 'by' must be event_type, path, referrer, entry_page, exit_page, source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, device, browser, os, country or prop.<key>" \
    "stats/breakdown?site_id=$SITE&date=2025-11-15&by=source&limit=1001|Parameter 'limit' must be an integer from 1 to 1000" \
    "stats/timeseries?site_id=$SITE&from=2025-11-15&to=2025-11-15&interval=day&event_type=x&filter=path:is:/|Parameter 'event_type' does not apply with 'filter'; use filter=event_type:is:<type>" \
    "stats/timeseries/aggregated?site_id=$SITE&from=2025-11-15&to=2025-11-15&interval=day&filter=path:is:/|Parameter 'filter' does not apply to /stats/timeseries/aggregated" \
    "stats?site_id=$SITE&date=2025-11-15&filter=path:is:/|Parameter 'filter' does not apply to /stats; use /stats/summary or /stats/breakdown" \
    "events?site_id=$SITE&filter=entry_page:is:/|Filter dimension 'entry_page' does not apply to /events" \
    "stats/realtime?site_id=$SITE&filter=exit_page:is:/|Filter dimension 'exit_page' does not apply to /stats/realtime" \
    "stats/funnel?site_id=$SITE&date=2025-11-15&steps=path:/,path:/a&filter=path:is|Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path:is'" \
    "stats/summary?site_id=$SITE&date=2025-11-15$(printf '&filter=path:is:/%d' 1 2 3 4 5 6 7 8 9 10 11)|At most 10 filters may be given"; do
    http GET "$R/${c%%|*}"
    expect_eq "400 for ${c%%|*}" "$HTTP_STATUS $(jq -r .message <<<"$HTTP_BODY")" "400 ${c#*|}"
done
check "the stalled processor's batch was taken over, its late commit refused" \
    grep -q "taken over, nothing committed" "$T_TMP/processor5.log"

# --- GET /stats/realtime: the visitors of the last five minutes and the pages they are on,
# against the same window over the stored events (a visitor's latest page view by time).
NOW_SITE=fig-now
now_event() {
    printf '{"site_id":"%s","event_type":"%s","user_id":"%s","path":"%s","timestamp":"%s"}' \
        "$NOW_SITE" "$1" "$2" "$3" "$(date -u -d "@$(($(date +%s) - $4))" +%FT%TZ)"
}
curl -s -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$INGEST_PORT/events" \
    --data-binary "[$(now_event page_view n1 /a 30),$(now_event page_view n1 /b 20),$(now_event page_view n2 /b 10),$(now_event click n3 /c 5),$(now_event page_view n4 /a 600)]"
wait_until 60 queue_settled events || fail "the queue drained" "$(redis_cli llen events)"
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"site_id\":\"$NOW_SITE\"}" >"$T_TMP/now.jsonl"
# realtime [FILTER]: reporting's answer, then the recomputation, with a path filter
# (is/is_not) or none: the kept events of the window, each visitor's latest kept page view.
realtime() {
    curl -s "http://127.0.0.1:$REPORTING_PORT/stats/realtime?site_id=$NOW_SITE${1:+&filter=$1}" |
        jq -c '[.visitors, .pages]'
    "$T_PYTHON" - "$T_TMP/now.jsonl" "${1:-}" <<'PY'
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc)
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
t = lambda e: datetime.datetime.fromisoformat(e["timestamp"]["$date"].replace("Z", "+00:00"))
keep = lambda e: True
if sys.argv[2]:
    _, op, v = sys.argv[2].split(":", 2)
    keep = (lambda e: e.get("path") == v) if op == "is" else (lambda e: e.get("path") != v)
win = [e for e in evs if (now - t(e)).total_seconds() <= 300 and keep(e)]
last = {}
for e in sorted((e for e in win if e["event_type"] == "page_view"), key=t):
    last[e["user_id"]] = e["path"]
pages = {}
for p in last.values():
    pages[p] = pages.get(p, 0) + 1
rows = [{"path": p, "visitors": n} for p, n in sorted(pages.items(), key=lambda r: (-r[1], r[0]))]
print(json.dumps([len(set(e["user_id"] for e in win)), rows], separators=(",", ":")))
PY
}
out=$(realtime)
got=$(head -1 <<<"$out") want=$(tail -1 <<<"$out")
expect_eq "realtime: the visitors of the last 5 minutes and their pages, as recomputed" "$got" "$want"
for f in path:is:/b path:is_not:/b; do
    out=$(realtime "$f")
    expect_eq "realtime with filter=$f, as recomputed" "$(head -1 <<<"$out")" "$(tail -1 <<<"$out")"
done
expect_eq "realtime with filter=path:is:/b: two visitors on /b" "$(realtime path:is:/b | head -1)" \
    '[2,[{"path":"/b","visitors":2}]]'
expect_eq "realtime: three visitors, one of them on a click only, one outside the window" \
    "$(jq -c '.[0]' <<<"$got")" 3

for s in processor processor2 processor3 processor4 processor5 ingest ingest2 reporting; do expect_clean_stop $s; done
t_summary
