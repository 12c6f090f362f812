#!/usr/bin/env bash
# it_fault_poison.sh - fault test 5: poison events placed directly on the queue under load
# (one that is not an envelope, one MongoDB can never store) land in the dead-letter list
# with their reason, the events behind them are stored, and the operator command lists,
# requeues and purges dead letters.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=fault_poison
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=20
    RETRY_BASE_MS=20 RETRY_MAX_MS=200 MAX_ATTEMPTS=3)
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor "${PROC_ENV[@]}"
# (REDIS_TIMEOUT_MS: moving the 17 MB poison back took over the default second under ASan on a
# loaded machine once, and the command then said "Resource temporarily unavailable".)
dead() { env REDIS_PORT="$REDIS_PORT" REDIS_TIMEOUT_MS=10000 "$BUILD/processor" --dead "$@"; }

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 2 --seconds 8 --rate 200 \
    --site poison-site --tag p --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!
sleep 2 # poison arrives in the middle of the load (pacing, not synchronisation)

# 1. Not an envelope at all. 2. A valid envelope whose document is over MongoDB's 16 MiB.
redis_cli lpush events '{"v":1,"id":"not-an-id","site_id":"x"}' >/dev/null
big_id=01a21000-0000-7000-8000-000000000001
{
    printf '{"v":1,"id":"%s","site_id":"poison-big","event_type":"e","ts":0,"received":0,' "$big_id"
    printf '"properties":{"blob":"'
    head -c 17000000 /dev/zero | tr '\0' x
    printf '"}}'
} >"$T_TMP/big.json"
# Pushed in one LPUSH behind two good envelopes, so that one batch holds all three with
# the refused document last: the good ones are stored, the refused one retried alone.
n1='{"v":1,"id":"01a21000-0000-7000-8000-00000000000a","site_id":"poison-neighbours","event_type":"e","ts":0,"received":0}'
n2='{"v":1,"id":"01a21000-0000-7000-8000-00000000000b","site_id":"poison-neighbours","event_type":"e","ts":0,"received":0}'
redis_cli -x lpush events "$n1" "$n2" <"$T_TMP/big.json" >/dev/null
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"

if wait_until 60 queue_settled events; then pass "queue drained past the poison"; else
    fail "queue drained past the poison" "pending $(redis_cli llen events)"; fi
verify_exactly_once $DB poison-site "$T_TMP/load.txt"
verify_rollup $DB poison-site 2025-11-15
expect_eq "the good envelopes beside the refused one are stored" \
    "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"poison-neighbours"}')" 2
expect_eq "the refused document is not stored" \
    "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"poison-big"}')" 0

list=$(dead list)
expect_eq "--dead list: exit 0" "$?" 0
expect_eq "--dead list: two dead letters" "$(grep -c . <<<"$list")" 2
summary=$(jq -c '{reason, attempts, big: (.payload | length > 1000000), err: (.error | length > 0)}' <<<"$list" | sort)
expect_eq "dead letters carry reason, attempts and error" "$summary" \
'{"reason":"invalid_envelope","attempts":1,"big":false,"err":true}
{"reason":"rejected_by_mongodb","attempts":3,"big":true,"err":true}'
check "refused document retried before it died" \
    grep -q "event $big_id refused (try 2 of 3)" "$T_TMP/processor.log"
expect_eq "--dead list 1: newest only" "$(dead list 1 | grep -c .)" 1

# requeue puts the events back on the queue; both fail again and come back. An entry
# that is not a dead letter (no payload) stays where it is.
redis_cli rpush events:dead 'not a dead letter' >/dev/null
out=$(dead requeue)
expect_eq "--dead requeue" "$out" "requeued 2 dead letters onto events"
expect_eq "an entry without payload stays" "$(redis_cli lrange events:dead 0 -1)" 'not a dead letter'
requeued_and_dead_again() { [ "$(redis_cli llen events:dead)" = 3 ] && queue_settled events; }
if wait_until 60 requeued_and_dead_again; then pass "requeued poison goes back to the dead letters"; else
    fail "requeued poison goes back to the dead letters"; fi
out=$(dead purge)
expect_eq "--dead purge" "$out" "purged 3 dead letters from events:dead"
expect_eq "no dead letters after purge" "$(redis_cli llen events:dead)" 0
dead bogus 2>/dev/null
expect_eq "--dead with an unknown verb: exit 2" "$?" 2

for s in processor ingest; do expect_clean_stop $s; done
t_summary
