#!/usr/bin/env bash
# it_export.sh - GET /export and the admin tokens on reporting: without ADMIN_TOKENS the route
# is not there (404); ADMIN_TOKENS_FILE's tokens, 401 (no token, an unknown one, a read token)
# and 403 (a token of other sites); every 400; 6,000 events of one day written straight into
# MongoDB (tests/it/export_check.py gen: every field the processor writes on some, three to a
# timestamp, properties that need quoting) exported as NDJSON and as CSV, oldest and newest
# first, each compared with a recomputation from the stored documents; gzip that decompresses
# to the same bytes; resuming from the cursor of a line (within a run of events that share a
# timestamp) gives exactly the rest; a MongoDB frozen before the first event (503) and
# mid-stream (the reply cut short, resumed whole from its last line's cursor); reporting's
# resident memory flat during a slow export of 15 MB; EXPORT_MAX_STREAMS (503) while the API
# answers; a client that stops reading (send timeout) and one that leaves mid-stream free
# their export; HEAD; a clean stop.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_mongo
DB=exports
SITE=ex-site
N=6000
PAD=2000 # bytes of padding in each event's properties: an export of 15 MB
DAY=2025-11-15
URI=$(mongo_uri $DB)
CHECK=("$T_PYTHON" "$T_ROOT/tests/it/export_check.py")

# --- without ADMIN_TOKENS: no such route ------------------------------------------------
start_service reporting MONGO_URI="$URI" READ_TOKENS=rt
R="http://127.0.0.1:$REPORTING_PORT"
check "without ADMIN_TOKENS reporting says the admin routes answer 404" \
    grep -q ' INFO ADMIN_TOKENS and ADMIN_TOKENS_FILE are not set: the admin routes (/export, /sites, /jobs) answer 404' \
    "$T_TMP/reporting.log"
http GET "$R/export?site_id=$SITE&date=$DAY"
expect_http "without ADMIN_TOKENS: 404 as an unknown path" 404 \
    '{"status":"error","message":"Not found: /export"}'
expect_clean_stop reporting

expect_config_error reporting "ADMIN_TOKENS=a b" MONGO_URI="$URI"
printf 'adm\n' >"$T_TMP/admin.txt"
expect_config_error reporting "ADMIN_TOKENS_FILE=$T_TMP/admin.txt" ADMIN_TOKENS=adm MONGO_URI="$URI"
expect_config_error reporting "ADMIN_TOKENS_FILE=$T_TMP/none.txt" MONGO_URI="$URI"
expect_config_error reporting EXPORT_MAX_STREAMS=0 MONGO_URI="$URI"

# --- the events ---------------------------------------------------------------------------
"${CHECK[@]}" gen $N "$SITE" $PAD >"$T_TMP/docs.jsonl"
# Another site's events, and this site's the day before and after: never in its export of $DAY.
{
    "${CHECK[@]}" gen 30 other 10
    for edge in before,2025-11-14T23:59:59.999Z after,2025-11-16T00:00:00.000Z; do
        jq -cn --arg id "$SITE:${edge%%,*}" --arg site "$SITE" --arg ts "${edge#*,}" \
            '{_id: $id, site_id: $site, event_type: "x", timestamp: {"$date": $ts}}'
    done
} >>"$T_TMP/docs.jsonl"
check "the events load into MongoDB" "$BUILD/tests/mongoq" "$URI" events load '{}' <"$T_TMP/docs.jsonl"
"$BUILD/tests/mongoq" "$URI" events find \
    "{\"site_id\":\"$SITE\",\"timestamp\":{\"\$gte\":{\"\$date\":\"${DAY}T00:00:00Z\"},\"\$lt\":{\"\$date\":\"2025-11-16T00:00:00Z\"}}}" \
    >"$T_TMP/stored.jsonl"
expect_eq "$N events of $SITE stored on $DAY" "$(wc -l <"$T_TMP/stored.jsonl")" $N

printf ' adm ,\nadm2:other|third\n' >"$T_TMP/admin.txt"
# Under ASan (build-asan/) freed memory waits in a quarantine, 256 MB by default, before it is
# reused, which would show as growth in the RSS check below: 16 MB fills before that check.
# socketTimeoutMS: a frozen MongoDB fails a read in 3 s rather than 10 (the MongoDB section).
start_service reporting MONGO_URI="$URI?socketTimeoutMS=3000" READ_TOKENS=rt \
    ADMIN_TOKENS_FILE="$T_TMP/admin.txt" EXPORT_MAX_STREAMS=1 REQUEST_TIMEOUT_MS=4000 ASAN_OPTIONS=quarantine_size_mb=16
R="http://127.0.0.1:$REPORTING_PORT"
check "reporting counts its admin tokens" \
    grep -q ' INFO admin tokens: 2; the admin routes (/export, /sites, /jobs) need one' "$T_TMP/reporting.log"
Q="site_id=$SITE&date=$DAY"

# --- who may export -----------------------------------------------------------------------
http GET "$R/export?$Q"
expect_http "no token: 401" 401 '{"status":"error","message":"Missing token: send Authorization: Bearer <token>"}'
expect_match "no token: WWW-Authenticate" "$HTTP_HEADERS" $'WWW-Authenticate: Bearer\r'
# as TOKEN METHOD URL: http with the token.
as() {
    local out
    local method=(-X "$2")
    [ "$2" = HEAD ] && method=(--head) # -X HEAD would wait for a body
    out=$(curl -s -S -o "$T_TMP/http.body" -D "$T_TMP/http.headers" -w '%{http_code}' \
        --max-time 30 -H "Authorization: Bearer $1" "${method[@]}" "$3" 2>"$T_TMP/http.err") ||
        out=000
    HTTP_STATUS=$out
    HTTP_BODY=$(head -c 100000 "$T_TMP/http.body")
    HTTP_HEADERS=$(cat "$T_TMP/http.headers")
}
as nope GET "$R/export?$Q"
expect_http "an unknown token: 401" 401 '{"status":"error","message":"Invalid token"}'
expect_match "an unknown token: WWW-Authenticate" "$HTTP_HEADERS" 'WWW-Authenticate: Bearer error="invalid_token"'
as rt GET "$R/export?$Q"
expect_http "a read token is not an admin token: 401" 401 '{"status":"error","message":"Invalid token"}'
as adm GET "$R/stats?$Q"
expect_http "an admin token is not a read token: 401" 401 '{"status":"error","message":"Invalid token"}'
as adm2 GET "$R/export?$Q"
expect_http "an admin token of other sites: 403" 403 \
    "{\"status\":\"error\",\"message\":\"This token may not export site_id '$SITE'\"}"
as adm2 GET "$R/export?site_id=third&date=$DAY"
expect_eq "an admin token of its site: 200" "$HTTP_STATUS" 200
expect_eq "a site without events: an empty export" "$(wc -c <"$T_TMP/http.body")" 0
as adm2 GET "$R/export?site_id=third&date=$DAY&format=csv"
expect_eq "a CSV without events: the header alone" "$(cat "$T_TMP/http.body")" \
    "$(head -n 1 <<<"id,site_id,event_type,path,user_id,timestamp,received_at,client_timestamp,createdAt,delivery,visitor_source,country,source,medium,channel,utm_source,utm_medium,utm_campaign,utm_term,utm_content,browser,browser_version,os,os_version,device,visit_id,visit_seq,visit_start,properties")"$'\r'

# --- 400s ---------------------------------------------------------------------------------
bad() { # bad QUERY MESSAGE
    as adm GET "$R/export?$1"
    expect_http "400: $1" 400 "{\"status\":\"error\",\"message\":\"$2\"}"
}
bad "date=$DAY" "Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"
bad "site_id=$SITE" "Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"
bad "site_id=$SITE&from=$DAY" "Parameters 'from' and 'to' must be given together"
bad "site_id=$SITE&from=2024-01-01&to=$DAY" "The range from 'from' to 'to' may span at most 366 days"
bad "site_id=$SITE&date=2025-13-01" "Parameter 'date' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
bad "$Q&format=xml" "Parameter 'format' must be ndjson or csv"
bad "$Q&order=up" "Parameter 'order' must be asc or desc"
bad "$Q&cursor=abc" "Parameter 'cursor' must be the timestamp and id of an exported event joined by ',', e.g. 2025-11-15T10:00:00.000Z,<id>"

# --- NDJSON and CSV, both orders ------------------------------------------------------------
export_to() { # export_to FILE QUERY [CURL-ARGS...]: the body of GET /export?QUERY as adm
    local file=$1 q=$2
    shift 2
    curl -s -S -o "$file" -D "$file.headers" -w '%{http_code}' --max-time 60 \
        -H 'Authorization: Bearer adm' "$@" "$R/export?$q"
}
# recomputed SPEC...: export_check.py's comparison of each export (FORMAT,ORDER,FILE[,CURSOR])
# with the stored documents, one pass or fail each.
recomputed() {
    local line n=0
    while IFS= read -r line; do
        case $line in
        "ok - "*) pass "${line#ok - }" && n=$((n + 1)) ;;
        "not ok - "*) fail "${line#not ok - }" && n=$((n + 1)) ;;
        *) echo "$line" ;;
        esac
    done < <("${CHECK[@]}" check "$T_TMP/stored.jsonl" "$@" 2>&1)
    [ $n = $# ] || fail "export_check.py compared every export" "$n of $#"
}
for order in asc desc; do
    expect_eq "NDJSON $order: 200" "$(export_to "$T_TMP/$order.ndjson" "$Q&order=$order")" 200
    expect_eq "CSV $order: 200" "$(export_to "$T_TMP/$order.csv" "$Q&order=$order&format=csv")" 200
done
recomputed ndjson,asc,"$T_TMP/asc.ndjson" ndjson,desc,"$T_TMP/desc.ndjson" \
    csv,asc,"$T_TMP/asc.csv" csv,desc,"$T_TMP/desc.csv"
H=$(tr -d '\r' <"$T_TMP/asc.ndjson.headers")
expect_match "NDJSON: its type" "$H" $'\nContent-Type: application/x-ndjson\n'
expect_match "NDJSON: chunked" "$H" $'\nTransfer-Encoding: chunked\n'
expect_match "NDJSON: a file name" "$H" $'\nContent-Disposition: attachment; filename="events-2025-11-15-2025-11-15.ndjson"\n'
expect_match "NDJSON: Vary" "$H" $'\nVary: Accept-Encoding\n'
check "NDJSON without Accept-Encoding: not gzip'd" absent "Content-Encoding" "$T_TMP/asc.ndjson.headers"
expect_match "CSV: its type" "$(tr -d '\r' <"$T_TMP/asc.csv.headers")" $'\nContent-Type: text/csv; charset=utf-8; header=present\n'

# --- gzip ---------------------------------------------------------------------------------
for format in ndjson csv; do
    expect_eq "gzip $format: 200" \
        "$(export_to "$T_TMP/gz.$format" "$Q&format=$format" -H 'Accept-Encoding: br, gzip;q=0.5')" 200
    check "gzip $format: Content-Encoding: gzip" grep -q $'^Content-Encoding: gzip\r$' "$T_TMP/gz.$format.headers"
    check "gzip $format: decompresses to the same bytes" \
        cmp -s <(gzip -dc "$T_TMP/gz.$format") "$T_TMP/asc.$format"
done
export_to "$T_TMP/q0.ndjson" "$Q" -H 'Accept-Encoding: gzip;q=0, identity' >/dev/null
check "gzip;q=0: the same bytes, not gzip'd" cmp -s "$T_TMP/q0.ndjson" "$T_TMP/asc.ndjson"

# --- resuming from a cursor -----------------------------------------------------------------
# Line 4000 is the first of three events that share a timestamp (gen: three to a timestamp;
# 3999 = 3 * 1333): the rest starts with the two others; line 4001 the second of them.
uri() { jq -rn --arg c "$1" '$c | @uri'; }
for case in "asc 4000" "asc 4001" "desc 4000" "desc 1" "asc $N"; do
    read -r order k <<<"$case"
    cursor=$("${CHECK[@]}" cursor "$T_TMP/$order.ndjson" "$k")
    export_to "$T_TMP/rest.ndjson" "$Q&order=$order&cursor=$(uri "$cursor")" >/dev/null
    check "$order, resumed after line $k: exactly the lines after it" \
        cmp -s "$T_TMP/rest.ndjson" <(tail -n +$((k + 1)) "$T_TMP/$order.ndjson")
done
cursor=$("${CHECK[@]}" cursor "$T_TMP/desc.ndjson" 4001)
export_to "$T_TMP/rest.csv" "$Q&format=csv&order=desc&cursor=$(uri "$cursor")" >/dev/null
recomputed "csv,desc,$T_TMP/rest.csv,$cursor"

# --- MongoDB fails ----------------------------------------------------------------------------
# Before the first event: 503. Once events were sent: the reply ends without its last chunk
# (curl: exit 18), its whole lines are a prefix of the export, and the cursor of the last one
# resumes it: the two parts make the whole export.
kill -STOP "$MONGO_PID"
as adm GET "$R/export?$Q"
expect_http "MongoDB frozen before the first event: 503" 503 \
    '{"status":"error","message":"Database unavailable, please retry"}'
kill -CONT "$MONGO_PID"
# Reporting reads MongoDB again (its driver may take a moment to find the server back): an
# export of a day without events answers 200 again before the next case starts.
exports_again() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer adm' \
        "$R/export?site_id=$SITE&date=2001-01-01")" = 200 ]
}
check "MongoDB back: exports answer 200 again" wait_until 30 exports_again
curl -s -o "$T_TMP/cut.ndjson" --limit-rate 4M -H 'Authorization: Bearer adm' "$R/export?$Q" &
CUT=$!
# Started: a whole line of an event arrived (not an error's body).
cut_started() { head -c 7 "$T_TMP/cut.ndjson" | grep -q '^{"id":' && grep -q . "$T_TMP/cut.ndjson"; }
check "an export starts" wait_until 10 cut_started
kill -STOP "$MONGO_PID"
wait $CUT
expect_eq "MongoDB frozen mid-stream: the reply is cut short (curl exit 18)" $? 18
kill -CONT "$MONGO_PID"
check "reporting logs the cut" grep -q ' WARN export: mongodb export events: .* the reply is cut short' \
    "$T_TMP/reporting.log"
# The whole lines (wc -l counts newlines: a cut last line has none), and the rest from the
# cursor of the last one.
got=$(wc -l <"$T_TMP/cut.ndjson")
head -n "$got" "$T_TMP/cut.ndjson" >"$T_TMP/cut_whole.ndjson"
echo "# cut after $got whole lines of $N"
check "the cut reply holds some events, not all" [ "$got" -gt 0 ] && [ "$got" -lt $N ]
cursor=$("${CHECK[@]}" cursor "$T_TMP/cut_whole.ndjson" "$got")
export_to "$T_TMP/cut_rest.ndjson" "$Q&cursor=$(uri "$cursor")" >/dev/null
check "the whole lines and the rest from their cursor: the whole export" \
    cmp -s <(cat "$T_TMP/cut_whole.ndjson" "$T_TMP/cut_rest.ndjson") "$T_TMP/asc.ndjson"

# --- memory, the bound on streams, clients that stop -----------------------------------------
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$REPORTING_PID/status"; }
size=$(wc -c <"$T_TMP/asc.ndjson")
# A slow client: 15 MB at 2 MB/s, reporting's RSS sampled every 0.1 s once the first bytes came.
curl -s -o "$T_TMP/slow.ndjson" --limit-rate 2M -H 'Authorization: Bearer adm' "$R/export?$Q" &
SLOW=$!
started() { [ -s "$T_TMP/slow.ndjson" ]; }
check "the slow export starts" wait_until 10 started
as adm GET "$R/export?$Q"
expect_http "a second export while EXPORT_MAX_STREAMS=1 run: 503" 503 \
    '{"status":"error","message":"Too many exports running (EXPORT_MAX_STREAMS), please retry later"}'
expect_match "the 503 says when to retry" "$HTTP_HEADERS" $'Retry-After: 10\r'
as rt GET "$R/stats?$Q"
expect_eq "the API answers during an export" "$HTTP_STATUS" 200
expect_eq "/metrics: one export running" \
    "$(metric "http://127.0.0.1:$REPORTING_PROBE_PORT" analytics_exports_running)" 1
samples=()
while ours $SLOW; do
    samples+=("$(rss)")
    sleep 0.1
done
wait $SLOW
check "the slow export is whole" cmp -s "$T_TMP/slow.ndjson" "$T_TMP/asc.ndjson"
min=$(printf '%s\n' "${samples[@]}" | sort -n | head -n 1)
max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -n 1)
echo "# the slow export: $size bytes, ${#samples[@]} samples of RSS, $min-$max kB"
check "the slow export was sampled at least 20 times" [ "${#samples[@]}" -ge 20 ]
if [ "${VALGRIND:-0}" != 1 ]; then # valgrind's own memory hides reporting's
    check "reporting's RSS stays within 4 MB during an export of $((size / 1000000)) MB" \
        [ $((max - min)) -le 4096 ]
fi

# A client that stops reading: the send times out (REQUEST_TIMEOUT_MS) and the export ends.
curl -s -o "$T_TMP/stopped.ndjson" --limit-rate 100K -H 'Authorization: Bearer adm' "$R/export?$Q" &
STOPPED=$!
stopped_started() { [ -s "$T_TMP/stopped.ndjson" ]; }
check "the export of a client that will stop starts" wait_until 10 stopped_started
kill -STOP $STOPPED
gone() { [ "$(grep -c 'INFO export: the client stopped reading after' "$T_TMP/reporting.log")" -ge "$1" ]; }
check "a client that stops reading: its export ends (send timeout)" wait_until $((15 * T_SLOW)) gone 1
kill -CONT $STOPPED
wait $STOPPED
# A client that leaves mid-stream: its export ends, and the next one may run.
curl -s -o /dev/null --limit-rate 100K --max-time 1 -H 'Authorization: Bearer adm' "$R/export?$Q"
check "a client that leaves: its export ends" wait_until $((15 * T_SLOW)) gone 2
expect_eq "then an export runs again" "$(export_to "$T_TMP/again.ndjson" "$Q&format=csv")" 200
check "and is whole" cmp -s "$T_TMP/again.ndjson" "$T_TMP/asc.csv"

as adm HEAD "$R/export?$Q"
expect_eq "HEAD: 200" "$HTTP_STATUS" 200
# Twice on one connection: a body after the first head would garble the second.
expect_eq "HEAD: the head alone" "$(curl -s --head -o /dev/null -o /dev/null -w '%{http_code} ' --max-time 10 \
    -H 'Authorization: Bearer adm' "$R/export?$Q" "$R/export?$Q")" "200 200 "
expect_match "HEAD: the headers of GET" "$HTTP_HEADERS" 'Content-Disposition: attachment; filename="events-2025-11-15-2025-11-15.ndjson"' 
check "/health after it all" curl -sf -o /dev/null "$R/health"
expect_eq "/metrics: no export running" \
    "$(metric "http://127.0.0.1:$REPORTING_PROBE_PORT" analytics_exports_running)" 0

expect_clean_stop reporting
t_summary
