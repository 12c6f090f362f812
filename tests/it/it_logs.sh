#!/usr/bin/env bash
# it_logs.sh - LOG_FORMAT=json: one JSON object per line (time, level, service, message,
# fields), and a request id that ingest puts in the envelope and the processor logs again.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=logs
start_service ingest REDIS_PORT="$REDIS_PORT" LOG_FORMAT=json LOG_LEVEL=debug
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" LOG_FORMAT=json LOG_LEVEL=debug
start_service reporting MONGO_URI="$(mongo_uri $DB)" LOG_FORMAT=json
I="http://127.0.0.1:$INGEST_PORT"

code=$(curl -s -o "$T_TMP/r1" -w '%{http_code}' -H 'X-Request-Id: trace-123' \
    -d '{"site_id":"l","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}' "$I/event")
expect_eq "event with X-Request-Id: 202" "$code" 202
id1=$(jq -r .id "$T_TMP/r1")
code=$(curl -s -o "$T_TMP/r2" -w '%{http_code}' -H 'X-Request-Id: bad id with spaces' \
    -d '{"site_id":"l","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}' "$I/event")
id2=$(jq -r .id "$T_TMP/r2")
# (The processor knows the request id only from the envelope: the lines below prove it.)
stored() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{}')" = 2 ]; }
wait_until 30 stored

# line_with LOG JQ-FILTER: the number of lines of LOG for which the filter is true.
line_with() { jq -c "select($2)" "$T_TMP/$1.log" | grep -c .; }
expect_eq "ingest logs the queued event with its request id" \
    "$(line_with ingest ".message == \"event $id1 queued\" and .fields.request_id == \"trace-123\"")" 1
expect_eq "processor logs the stored event with the same request id" \
    "$(line_with processor ".message == \"event $id1 stored\" and .fields.request_id == \"trace-123\"")" 1
expect_eq "an unusable X-Request-Id is replaced by the event id" \
    "$(line_with processor ".message == \"event $id2 stored\" and .fields.request_id == \"$id2\"")" 1

for s in ingest processor reporting; do expect_clean_stop $s; done
for s in ingest processor reporting; do
    bad=$(jq -c 'select((type != "object") or ((.time | type) != "string") or
        ((.level | IN("debug","info","warn","error")) | not) or (.service != "'"$s"'") or
        ((.message | type) != "string"))' "$T_TMP/$s.log" 2>&1 | grep -c .)
    expect_eq "$s: every line is a JSON object with time, level, service, message" "$bad" 0
    expect_eq "$s: lines are not empty" "$([ -s "$T_TMP/$s.log" ] && echo yes)" yes
done
out=$(LOG_FORMAT=xml "$BUILD/ingest" 2>&1)
expect_eq "LOG_FORMAT=xml: exit 2" "$?" 2
expect_match "LOG_FORMAT=xml: named" "$out" 'ERROR configuration: LOG_FORMAT: '
t_summary
