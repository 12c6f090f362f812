#!/usr/bin/env bash
# it_fault_redis.sh - fault test 3: Redis (AOF, appendfsync always) is killed with SIGKILL
# under load and restarted from its AOF; ingest answers 503 quickly during the outage (and
# while Redis is frozen), reconnects by itself, and every earlier 202 survives.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

REDIS_EXTRA_ARGS="--appendonly yes --appendfsync always" start_redis
start_mongo
DB=fault_redis
start_service ingest REDIS_PORT="$REDIS_PORT" REDIS_TIMEOUT_MS=500
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=50 \
    RETRY_BASE_MS=50 RETRY_MAX_MS=1000
I="http://127.0.0.1:$INGEST_PORT"
EV='{"site_id":"probe","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 14 --rate 200 \
    --site redis-site --tag r --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!
sleep 3 # let load build up before the crash (load pacing, not synchronisation)

# Frozen Redis: a command times out after REDIS_TIMEOUT_MS and ingest answers 503.
kill -STOP "$REDIS_PID"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST -d "$EV" "$I/event")
expect_eq "frozen Redis: POST /event answers 503 within the 3 s client deadline" "$code" 503
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$I/health")
expect_eq "frozen Redis: /health answers 503 within the client deadline" "$code" 503
# A push sent to the frozen server got no answer: Redis may apply it once thawed.
check "frozen Redis: ingest counted the events of pushes Redis did not answer" \
    [ "$(metric "$I" analytics_events_ambiguous_total)" -ge 1 ]
kill -CONT "$REDIS_PID"

kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST -d "$EV" "$I/event")
expect_eq "Redis down: POST /event answers 503" "$code" 503
sleep 2 # the outage lasts two seconds under load (load pacing)
REDIS_PORT_WANTED=$REDIS_PORT REDIS_EXTRA_ARGS="--appendonly yes --appendfsync always" start_redis
accepting() { [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$EV" "$I/event")" = 202 ]; }
if wait_until 10 accepting; then pass "ingest reconnects by itself"; else fail "ingest reconnects by itself"; fi
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"
refused=$(sed -n 's/.*rejected=\([0-9]*\).*/\1/p' "$T_TMP/load.summary")
check "some requests were refused during the outage ($refused)" [ "$refused" -gt 0 ]

if wait_until 60 queue_settled events; then pass "queue drained after the restart"; else
    fail "queue drained after the restart" "pending $(redis_cli llen events)"; fi
verify_exactly_once $DB redis-site "$T_TMP/load.txt"
verify_rollup $DB redis-site 2025-11-15
for s in processor ingest; do expect_clean_stop $s; done
t_summary
