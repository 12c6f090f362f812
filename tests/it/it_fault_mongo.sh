#!/usr/bin/env bash
# it_fault_mongo.sh - fault test 2: the MongoDB server is frozen (SIGSTOP) for 12 seconds
# under a sustained load and then thawed; processors wait and retry, and at the end every
# event that got a 202 is stored exactly once. /health reports the outage promptly.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=fault_mongo
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=50
    RETRY_BASE_MS=50 RETRY_MAX_MS=2000)
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor1 "${PROC_ENV[@]}"
start_service processor2 "${PROC_ENV[@]}"
P="http://127.0.0.1:$PROCESSOR1_PORT"
P2="http://127.0.0.1:$PROCESSOR2_PORT"

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 20 --rate 150 \
    --site mongo-site --tag m --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!

has_stored() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{}')" -gt 0 ]; }
wait_until 10 has_stored
kill -STOP "$MONGO_PID"
frozen_at=$SECONDS
http GET "$P/health"
expect_http "processor health while MongoDB is frozen" 503 '{"status":"error","service":"processor"}'
queue_grows() { [ "$(redis_cli llen events)" -gt 100 ]; }
if wait_until 15 queue_grows; then pass "ingest keeps accepting while MongoDB is frozen"; else
    fail "ingest keeps accepting while MongoDB is frozen"; fi
while [ $((SECONDS - frozen_at)) -lt 12 ]; do sleep 0.2; done
kill -CONT "$MONGO_PID"
wait_until 20 curl -sf "$P/health"
http GET "$P/health"
expect_http "processor health after the thaw" 200 '{"status":"ok","service":"processor"}'
# The driver's server monitoring saw the server go and come back.
reconnected() { [ "$(metric "$P" analytics_mongodb_connections_total)" -ge 2 ]; }
if wait_until 30 reconnected; then pass "processor counted the MongoDB reconnect"; else
    fail "processor counted the MongoDB reconnect" "$(curl -s "$P/metrics" | grep mongodb_)"; fi
check "processor counted the MongoDB server lost" \
    [ "$(metric "$P" analytics_mongodb_disconnects_total)" -ge 1 ]
# A command that got no answer from the frozen server was seen as a timeout (a batch's
# command also halves the documents per command; see it_fault_inject.sh for a server that
# stays too slow). At least one must time out: under the load each processor claims a batch
# every fraction of a second and sends its commands (inserts, reads, updates) back to back,
# and until its server monitoring marks the server Unknown (a failed heartbeat, after
# connectTimeoutMS 2 s at the earliest) every command goes to the frozen server, which
# answers none: the one in flight at the freeze, or the next, waits socketTimeoutMS (5 s, the
# processor's default) and fails with a socket timeout well within the 12 s freeze, before
# the thaw could answer it. The processors count the timeout of any of their MongoDB
# commands (store_chunk_outcome() on every command, processor/chunked.c), whichever was in
# flight.
timeouts=$(($(metric "$P" analytics_mongodb_timeouts_total) + $(metric "$P2" analytics_mongodb_timeouts_total)))
check "the processors counted the commands that timed out ($timeouts)" [ "$timeouts" -ge 1 ]
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"

if wait_until 90 queue_settled events; then pass "queue drained after the outage"; else
    fail "queue drained after the outage" "pending $(redis_cli llen events)"; fi
# Each failed MongoDB write (events or rollups) is counted, then waited on and tried again.
retries=$(($(metric "$P" analytics_mongodb_errors_total) + $(metric "$P2" analytics_mongodb_errors_total)))
echo "# processors retried MongoDB writes $retries times"
check "processors retried during the outage" [ "$retries" -gt 0 ]
verify_exactly_once $DB mongo-site "$T_TMP/load.txt"
verify_rollup $DB mongo-site 2025-11-15
expect_eq "no dead letters" "$(redis_cli llen events:dead)" 0
for s in processor1 processor2 ingest; do expect_clean_stop $s; done
t_summary
