#!/usr/bin/env bash
# it_hostile.sh - ingest against bodies and requests sent to break it: nesting from 1 to
# 100,000 levels on /event and /events. Each answer is checked exactly, and the process
# that answered the first request answers the last.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=q MAX_BODY_BYTES=1048576
U="http://127.0.0.1:$INGEST_PORT"
pid=$INGEST_PID

# post PATH FILE: sets CODE and MSG (the reply's message, or its status when accepted).
post() {
    local out
    out=$(curl -s -o "$T_TMP/reply" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
        --data-binary "@$2" "$U$1") || out=000
    CODE=$out
    MSG=$(jq -r '.message // .status' "$T_TMP/reply" 2>/dev/null)
}

# nest N OPEN CLOSE: N opening brackets, then N closing ones.
nest() {
    local open close
    open=$(printf "%$1s" '' | tr ' ' "$2")
    close=$(printf "%$1s" '' | tr ' ' "$3")
    printf '%s%s' "$open" "$close"
}

EVENT='"site_id":"deep","event_type":"e","timestamp":"2025-11-15T10:00:00Z"'
DEEP="Request body is nested more than 64 levels deep"
PROPS="Field 'properties' is nested more than 32 levels deep"
levels=$(seq 1 70; echo 100 128 255 256 500 850 900 1000 2047 2048 2049 4096 10000 50000 100000)
wrong=0
for n in $levels; do
    # The body itself: arrays, then objects ({"a":{"a":...}} is n levels too).
    nest "$n" '[' ']' >"$T_TMP/body"
    post /event "$T_TMP/body"
    if [ "$n" -le 64 ]; then want="400 Request body must be a JSON object"; else want="400 $DEEP"; fi
    [ "$CODE $MSG" = "$want" ] || { wrong=$((wrong + 1)); echo "# /event [x$n]: $CODE $MSG"; }
    # An event whose properties hold n nested arrays: the body is n + 2 deep.
    { printf '{%s,"properties":{"x":' "$EVENT"; nest "$n" '[' ']'; printf '}}'; } >"$T_TMP/body"
    post /event "$T_TMP/body"
    if [ "$n" -le 31 ]; then
        want="202 accepted"
    elif [ "$((n + 2))" -le 64 ]; then
        want="400 $PROPS"
    else
        want="400 $DEEP"
    fi
    [ "$CODE $MSG" = "$want" ] || { wrong=$((wrong + 1)); echo "# /event properties x$n: $CODE $MSG"; }
    # The same event in a batch: one level more.
    { printf '[{%s,"properties":{"x":' "$EVENT"; nest "$n" '[' ']'; printf '}}]'; } >"$T_TMP/body"
    post /events "$T_TMP/body"
    if [ "$n" -le 31 ]; then
        want="202 accepted"
    elif [ "$((n + 3))" -le 64 ]; then
        want="400 Invalid events in the batch; none was accepted"
    else
        want="400 $DEEP"
    fi
    [ "$CODE $MSG" = "$want" ] || { wrong=$((wrong + 1)); echo "# /events properties x$n: $CODE $MSG"; }
done
expect_eq "nesting 1-100000 levels: every answer as expected" "$wrong" 0
# Objects nest the same way; brackets inside strings do not count.
{ for _ in $(seq 1000); do printf '{"a":'; done; printf '1'; printf '%1000s' '' | tr ' ' '}'; } >"$T_TMP/body"
post /event "$T_TMP/body"
expect_eq "1000 nested objects: 400" "$CODE $MSG" "400 $DEEP"
printf '{%s,"properties":{"s":"%s"}}' "$EVENT" "$(nest 5000 '[' ']')" >"$T_TMP/body"
post /event "$T_TMP/body"
expect_eq "brackets inside a string are text" "$CODE $MSG" "202 accepted"
expect_eq "accepted events queued: 31 + 31 + 1" "$(redis_cli llen q)" 63
expect_eq "the same process answered throughout" "$(kill -0 "$pid" && echo alive)" alive
http GET "$U/health"
expect_http "health at the end" 200 '{"status":"ok","service":"ingest"}'
expect_clean_stop ingest
t_summary
