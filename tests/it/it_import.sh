#!/usr/bin/env bash
# it_import.sh - POST /import on ingest (issue 25, point 5): 1,000 events of two days (client
# event ids and none, users of their own and hashed visitors, referrers and campaigns, a
# browser's User-Agent) go through ingest, a processor and MongoDB A; reporting's GET /export
# of them is imported, streamed (chunked), into an empty database B through another ingest,
# processor and Redis. Then: every stored document of B equals A's but for the processor's
# bookkeeping (createdAt, delivery, own); /stats of each day and of the range, and
# /stats/summary, answer alike on A and B, and as a recomputation from B's raw events; a
# second import (Content-Length) stores nothing and changes no figure; a file with bad lines
# names each in its report, and its good lines are stored; the 404 without ADMIN_TOKENS, the
# 401s, a token of other sites, the 400s; ingest's resident memory bounded by its batch.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_mongo
start_redis
RA=$REDIS_PORT
start_redis
RB=$REDIS_PORT
SITE=imp-site
DAYS=(2026-03-10 2026-03-11)
N=1000
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
PROC=(BATCH_SIZE=200 BATCH_WAIT_MS=20)

# --- pipeline A: the events, sent as a browser would ------------------------------------
start_service ingest REDIS_PORT="$RA" RATE_LIMIT=0
IA="http://127.0.0.1:$INGEST_PORT"
start_service processor REDIS_PORT="$RA" MONGO_URI="$(mongo_uri a)" "${PROC[@]}"
"$T_PYTHON" - "$SITE" "$N" "${DAYS[0]}" >"$T_TMP/batches" <<'PY'
import json, sys
site, n, day = sys.argv[1], int(sys.argv[2]), sys.argv[3]
refs = ["https://www.google.com/search?q=x", "https://news.ycombinator.com/item", "", None]
batch = []
for i in range(n):
    ev = {"site_id": site, "event_type": "page_view" if i % 3 else "click",
          "path": "/p%d" % (i % 13) if i % 17 else None,
          "timestamp": "%sT%02d:%02d:%02d.%03dZ" % (day[:8] + "%02d" % (int(day[8:]) + i % 2),
                                                   (i // 7) % 24, i % 60, (i * 7) % 60, i % 1000)}
    if i % 5:
        ev["user_id"] = "u%d" % (i % 71)
    if i % 2:
        ev["event_id"] = "e-%d" % i
    props = {"seq": i}
    if refs[i % 4] is not None:
        props["referrer"] = refs[i % 4]
    if i % 11 == 0:
        props.update(utm_source="news", utm_medium="email", utm_campaign="spring")
    ev["properties"] = props
    batch.append({k: v for k, v in ev.items() if v is not None})
    if len(batch) == 500:
        print(json.dumps(batch))
        batch = []
if batch:
    print(json.dumps(batch))
PY
sent=0
while read -r b; do
    printf '%s' "$b" >"$T_TMP/batch.json"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "User-Agent: $UA" -H 'Origin: https://imp.example' --data-binary "@$T_TMP/batch.json" "$IA/events")
    [ "$code" = 202 ] && sent=$((sent + $(jq length "$T_TMP/batch.json")))
done <"$T_TMP/batches"
expect_eq "A: every event accepted" "$sent" "$N"
stored() { "$BUILD/tests/mongoq" "$(mongo_uri "$1")" events count "{\"site_id\":\"$SITE\"}"; }
stored_is() { [ "$(stored "$1")" = "$2" ]; }
check "A: $N events stored" wait_until $((30 * T_SLOW)) stored_is a "$N"

# --- the export -----------------------------------------------------------------------------
start_service reporting MONGO_URI="$(mongo_uri a)" ADMIN_TOKENS=adm
RA_URL="http://127.0.0.1:$REPORTING_PORT"
curl -s -f -H 'Authorization: Bearer adm' -o "$T_TMP/export.ndjson" \
    "$RA_URL/export?site_id=$SITE&from=${DAYS[0]}&to=${DAYS[1]}"
expect_eq "the export has every event" "$(wc -l <"$T_TMP/export.ndjson")" "$N"
check "some exported events have a UUIDv7 id, some a client's" \
    jq -se 'map(.id | test(":")) | (any and (all | not))' "$T_TMP/export.ndjson"

# --- who may import -----------------------------------------------------------------------
http POST "$IA/import" '{}'
expect_http "without ADMIN_TOKENS: 404" 404 '{"status":"error","message":"Not found: /import"}'
check "ingest says the admin routes answer 404" \
    grep -q ' INFO ADMIN_TOKENS and ADMIN_TOKENS_FILE are not set: the admin routes (/import) answer 404' \
    "$T_TMP/ingest.log"
expect_config_error ingest "ADMIN_TOKENS=a b"
expect_config_error ingest "ADMIN_TOKENS_FILE=$T_TMP/none.txt"

printf 'adm\nother:elsewhere\n' | paste -sd, >"$T_TMP/admin.txt"
start_service ingest2 REDIS_PORT="$RB" RATE_LIMIT=1 MAX_BODY_BYTES=4096 \
    ADMIN_TOKENS_FILE="$T_TMP/admin.txt" CORS_ORIGINS=https://imp.example
IB="http://127.0.0.1:$INGEST2_PORT"
start_service processor2 REDIS_PORT="$RB" MONGO_URI="$(mongo_uri b)" "${PROC[@]}"
http POST "$IB/import" '{}'
expect_http "no token: 401" 401 '{"status":"error","message":"Missing token: send Authorization: Bearer <token>"}'
# import TOKEN FILE [CURL-ARGS...]: POST the file to ingest B; sets HTTP_STATUS, HTTP_BODY.
import() {
    local tok=$1 file=$2
    shift 2
    HTTP_STATUS=$(curl -s -o "$T_TMP/import.body" -w '%{http_code}' --max-time 120 \
        -H "Authorization: Bearer $tok" -H 'Content-Type: application/x-ndjson' "$@" \
        --data-binary "@$file" "$IB/import")
    HTTP_BODY=$(cat "$T_TMP/import.body")
}
import nope "$T_TMP/export.ndjson"
expect_http "an unknown token: 401" 401 '{"status":"error","message":"Invalid token"}'
head -3 "$T_TMP/export.ndjson" >"$T_TMP/three.ndjson"
import other "$T_TMP/three.ndjson"
expect_http "a token of other sites: each line refused" 200 \
    "{\"lines\":3,\"queued\":0,\"rejected\":3,\"errors\":[$(for l in 1 2 3; do
        printf '%s{"line":%d,"error":"This token may not import site_id '"'$SITE'"'"}' "${sep:-}" $l
        sep=,
    done)],\"errors_omitted\":0}"
printf '' >"$T_TMP/empty"
import adm "$T_TMP/empty"
expect_http "an empty body: 400" 400 \
    '{"status":"error","message":"Request body must be NDJSON, one exported event per line (GET /export): line 1: Request body is empty"}'
printf 'hello\n' >"$T_TMP/hello"
import adm "$T_TMP/hello"
expect_match "not NDJSON: 400" "$HTTP_STATUS $HTTP_BODY" '^400 .*line 1: Invalid JSON'
printf '[1]\n' >"$T_TMP/array"
import adm "$T_TMP/array"
expect_match "an array: 400" "$HTTP_STATUS $HTTP_BODY" '^400 .*line 1: Line is not a JSON object'

# --- the import into B: streamed, chunked; RATE_LIMIT and CORS do not apply ----------------
import adm "$T_TMP/export.ndjson" -H 'Transfer-Encoding: chunked' -H 'Origin: https://evil.example'
expect_http "the import: every line queued" 200 "{\"lines\":$N,\"queued\":$N,\"rejected\":0,\"errors\":[],\"errors_omitted\":0}"
# Ingest's memory does not follow the data: another ingest (its queue drained by no processor)
# takes 4 x N events of another site, 3 MB, four times; the last three add little to the first's
# peak. With one malloc arena: glibc gives each thread that allocates its own (up to 8 per
# core), each keeping the peak of a batch, so that the RSS of an ingest is bounded by
# IMPORT_BATCH lines times its arenas, whatever the imports' sizes.
for c in 1 2 3 4; do
    jq -c --arg c "$c" '.site_id = "big" | .id = "big:c\($c)-\(.id | sub(":"; "-"))"' "$T_TMP/export.ndjson"
done >"$T_TMP/big.ndjson"
start_service ingest3 REDIS_PORT="$RB" QUEUE_KEY=big ADMIN_TOKENS=adm MALLOC_ARENA_MAX=1
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$INGEST3_PID/status"; }
rss_at=([0]="$(rss)")
for i in 1 2 3 4; do
    HTTP_STATUS=$(curl -s -o "$T_TMP/import.body" -w '%{http_code}' --max-time 120 -H 'Authorization: Bearer adm' \
        -H 'Transfer-Encoding: chunked' --data-binary "@$T_TMP/big.ndjson" "http://127.0.0.1:$INGEST3_PORT/import")
    HTTP_BODY=$(cat "$T_TMP/import.body")
    expect_http "a 3 MB import, $i of 4: every line queued" 200 "{\"lines\":$((4 * N)),\"queued\":$((4 * N)),\"rejected\":0,\"errors\":[],\"errors_omitted\":0}"
    rss_at[i]=$(rss)
done
echo "# ingest's RSS (kB): ${rss_at[*]}: at start, then after each import of $(wc -c <"$T_TMP/big.ndjson") bytes"
expect_eq "the imports are queued" "$(redis-cli -p "$RB" llen big)" $((16 * N))
# Not under valgrind or ASan, whose allocators keep freed memory (quarantines, per-thread caches).
if [ "${VALGRIND:-0}" = 0 ] && ! nm -u "$BUILD/ingest" 2>/dev/null | grep __asan_init >/dev/null; then
    check "ingest's RSS grew by less than 1 MB over the last three imports (9 MB)" \
        [ $((rss_at[4] - rss_at[1])) -lt 1024 ]
fi
expect_clean_stop ingest3
check "B: $N events stored" wait_until $((30 * T_SLOW)) stored_is b "$N"
settled() { REDIS_PORT=$RB queue_settled events; }
check "B: the queue settles" wait_until $((30 * T_SLOW)) settled

# --- B equals A ---------------------------------------------------------------------------
# Every field but the processor's (createdAt, delivery, own) and the visit's: B's processor
# assigns visits again, in the import's order (docs/api.md "POST /import"), and an event that
# does not start its visit stores its visit's attribution, device and country, so those are
# compared on the events that start a visit in A and in B.
docs() {
    "$BUILD/tests/mongoq" "$(mongo_uri "$1")" events find "{\"site_id\":\"$SITE\"}" >"$T_TMP/$1.raw"
}
docs a
docs b
same_docs() {
    "$T_PYTHON" - "$T_TMP/a.raw" "$T_TMP/$1.raw" <<'PY'
import json, sys
BOOK = {"createdAt", "delivery", "own", "visit_id", "visit_seq", "visit_start"}
DERIVED = {"source", "medium", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",
           "utm_content", "browser", "browser_version", "os", "os_version", "device", "country"}
a, b = ({d["_id"]: d for d in map(json.loads, open(f))} for f in sys.argv[1:3])
bad = [i for i in a if i not in b] + [i for i in b if i not in a]
first = 0
for i in a.keys() & b.keys():
    x, y = a[i], b[i]
    both_first = x.get("visit_seq") == 1 and y.get("visit_seq") == 1
    first += both_first
    skip = BOOK | (set() if both_first else DERIVED)
    if {k: v for k, v in x.items() if k not in skip} != {k: v for k, v in y.items() if k not in skip}:
        bad.append(i)
print("%d differ (%s); %d of %d start a visit in both" % (len(bad), bad[:3], first, len(a)))
PY
}
out=$(same_docs b)
echo "# $out"
expect_match "B's documents equal A's (the processor's fields and visits aside)" "$out" '^0 differ \(\[\]\); [1-9]'
start_service reporting2 MONGO_URI="$(mongo_uri b)"
# shellcheck disable=SC2153 # set by start_service
RB_URL="http://127.0.0.1:$REPORTING2_PORT"
figures() {
    local r=$1 q
    for q in "date=${DAYS[0]}" "date=${DAYS[1]}" "from=${DAYS[0]}&to=${DAYS[1]}"; do
        curl -s "$r/stats?site_id=$SITE&$q"
        echo
        curl -s "$r/stats/summary?site_id=$SITE&$q"
        echo
    done
}
figures "$RA_URL" >"$T_TMP/a.figures"
figures "$RB_URL" >"$T_TMP/b.figures"
check "A's figures are there" jq -se 'map(.total_views // .pageviews) | all(. > 0)' "$T_TMP/a.figures"
# The figures of the events themselves; a visit's are the visits B's processor assigned.
events_only='del(.visits, .views_per_visit, .bounce_rate, .visit_duration)'
expect_eq "/stats, and /stats/summary's visitors, pageviews and events: B answers as A" \
    "$(diff <(jq -c "$events_only" "$T_TMP/a.figures") <(jq -c "$events_only" "$T_TMP/b.figures"))" ""
# The recomputation from B's raw events: views, unique users and top paths of each day.
recomputed=$("$T_PYTHON" - "$T_TMP/b.raw" "${DAYS[@]}" <<'PY'
import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
for day in sys.argv[2:]:
    es = [e for e in evs if e["timestamp"]["$date"].startswith(day)]
    paths = collections.Counter(e["path"] for e in es if e.get("path"))
    top = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    print(json.dumps([len(es), len({e["user_id"] for e in es if e.get("user_id")}),
                      [[p, c] for p, c in top]], separators=(",", ":")))
PY
)
answered=$(for d in "${DAYS[@]}"; do
    curl -s "$RB_URL/stats?site_id=$SITE&date=$d" | jq -c '[.total_views, .unique_users, [.top_paths[] | [.path, .views]]]'
done)
expect_eq "B's /stats of each day equal a recomputation from its raw events" "$answered" "$recomputed"

# --- a second import changes nothing ----------------------------------------------------------
import adm "$T_TMP/export.ndjson"
expect_http "the second import: every line queued" 200 "{\"lines\":$N,\"queued\":$N,\"rejected\":0,\"errors\":[],\"errors_omitted\":0}"
# Each a client's duplicate, written again one at a time on the test server, whose writes scan the collection.
check "B: the queue settles again" wait_until $((120 * T_SLOW)) settled
expect_eq "B: still $N events" "$(stored b)" "$N"
cp "$T_TMP/b.raw" "$T_TMP/b1.raw"
docs b
expect_eq "B's documents unchanged" "$(diff <(sort "$T_TMP/b1.raw") <(sort "$T_TMP/b.raw") | head -4)" ""
figures "$RB_URL" >"$T_TMP/b2.figures"
expect_eq "B's figures unchanged" "$(diff "$T_TMP/b.figures" "$T_TMP/b2.figures")" ""

# --- bad lines --------------------------------------------------------------------------------
good() { jq -c --arg id "$SITE:new-$1" '.id = $id | .path = "/new"' <<<"$(head -1 "$T_TMP/export.ndjson")"; }
{
    good 1
    echo '{"site_id":'
    jq -c 'del(.timestamp)' <<<"$(head -1 "$T_TMP/export.ndjson")"
    echo
    jq -c '.id = "other:x-1"' <<<"$(head -1 "$T_TMP/export.ndjson")"
    good 2
    jq -c '.country = "de"' <<<"$(head -1 "$T_TMP/export.ndjson")"
    jq -c --arg pad "$(head -c 5000 /dev/zero | tr '\0' x)" '.properties.pad = $pad' <<<"$(good 3)"
    jq -c '.device = "phone"' <<<"$(good 4)"
    printf '%s\r\n' "$(good 5)"
    jq -c '.visitor_source = "robot"' <<<"$(good 6)"
    printf '%s' "$(good 7)"
} >"$T_TMP/bad.ndjson"
import adm "$T_TMP/bad.ndjson"
expect_json "bad lines: each named by its line, the others queued" \
    "$(jq -c '.errors |= map(.error |= sub("^Invalid JSON: .*"; "Invalid JSON"))' <<<"$HTTP_BODY")" \
    '{"lines":12,"queued":4,"rejected":7,"errors":[
  {"line":2,"error":"Invalid JSON"},
  {"line":3,"error":"Missing required fields: timestamp"},
  {"line":5,"error":"Field '"'"'id'"'"' must be the event'"'"'s _id: a UUIDv7 or '"'"'<site_id>:<event_id>'"'"' of its site_id"},
  {"line":7,"error":"Field '"'"'country'"'"' must be two letters A-Z"},
  {"line":8,"error":"Line is longer than 4096 bytes (MAX_BODY_BYTES)"},
  {"line":9,"error":"Field '"'"'device'"'"' must be mobile, tablet or desktop"},
  {"line":11,"error":"Field '"'"'visitor_source'"'"' must be client, device or hash, with a user_id"}],"errors_omitted":0}'
expect_eq "bad lines: status" "$HTTP_STATUS" 200
check "B: the good lines stored" wait_until $((30 * T_SLOW)) stored_is b $((N + 4))

expect_clean_stop ingest2
expect_clean_stop processor2
t_summary
