#!/usr/bin/env bash
# it_recovery_keys.sh - recovery finds dead processors through the registry, never by
# walking the keyspace: with 100,000 unrelated keys in Redis a processor's start blocks
# Redis for no command of 10 ms or more (its SLOWLOG stays empty), still returns the
# claimed events of a registered dead processor, and leaves an unregistered processing list
# (left by a version that did not register atomically) to `processor --recover-orphans`,
# which adopts it in small SCAN steps for the next recovery pass.
# it: alone (its bound is Redis's time per command: with two other scripts' valgrind'd
# services on the same 2 CPUs, a SCAN step of 100 keys was seen to take 22 ms of wall time)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=recovery_keys
PROC_ENV=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" HEARTBEAT_TTL_MS=1000)
start_service ingest REDIS_PORT="$REDIS_PORT"
for i in 1 2 3; do
    http POST "http://127.0.0.1:$INGEST_PORT/event" \
        "{\"site_id\":\"rk\",\"event_type\":\"page_view\",\"timestamp\":\"2025-11-15T10:00:0${i}Z\"}"
    expect_eq "event $i queued" "$HTTP_STATUS" 202
done
# Two events claimed by a registered processor that died (no heartbeat), one by an
# unregistered one.
redis_cli sadd events:consumers dead:1:a >/dev/null
redis_cli lmove events events:processing:dead:1:a RIGHT LEFT >/dev/null
redis_cli lmove events events:processing:dead:1:a RIGHT LEFT >/dev/null
redis_cli lmove events events:processing:old:2:b RIGHT LEFT >/dev/null

seq 100000 | awk '{ k = "unrelated:" $1; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nx\r\n", length(k), k }' |
    redis_cli --pipe >"$T_TMP/pipe.log" 2>&1
# The queue's three keys, events:shards (where ingest recorded QUEUE_SHARDS) and ingest's salt
# of the day (its events have no user_id; their visit is the processor's, not yet claimed).
expect_eq "100,000 unrelated keys (and the queue's, the record and the salt)" \
    "$(redis_cli dbsize)" 100005
redis_cli config set slowlog-log-slower-than 10000 >/dev/null
redis_cli slowlog reset >/dev/null

stored() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"rk"}'; }
stored_is() { [ "$(stored)" = "$1" ]; }
start_service processor "${PROC_ENV[@]}"
check "the dead processor's two events are stored" wait_until $((20 * T_SLOW)) stored_is 2
# slowlog: the entries of Redis's SLOWLOG, one line ("<microseconds> us: <command>") each.
slowlog() { redis_cli --json slowlog get 10 | jq -r '.[] | "\(.[2]) us: \(.[3] | join(" ") | .[0:80])"'; }
expect_eq "a processor start: no Redis command of 10 ms or more (SLOWLOG)" "$(slowlog)" ""
expect_eq "the dead processor is unregistered" "$(redis_cli sismember events:consumers dead:1:a)" 0
expect_eq "the unregistered list is not found by a start" \
    "$(redis_cli llen events:processing:old:2:b)" 1

out=$(env REDIS_PORT="$REDIS_PORT" "$BUILD/processor" --recover-orphans 2>&1)
expect_match "--recover-orphans adopts the one list" "$out" "adopted 1 processing list"
check "the orphan's event is stored by the next recovery pass" wait_until $((20 * T_SLOW)) stored_is 3
expect_eq "--recover-orphans: no Redis command of 10 ms or more" "$(slowlog)" ""
expect_eq "every claimed event is stored once" "$(stored)" 3
expect_clean_stop processor
expect_clean_stop ingest
t_summary
