#!/usr/bin/env bash
# it_metrics.sh - /metrics on all three programs: Prometheus text format that promtool
# accepts, and counters that move with traffic.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

PROMTOOL="$T_ROOT/.deps/bin/promtool"
start_redis
start_mongo
DB=metrics
start_service ingest REDIS_PORT="$REDIS_PORT" MAX_BODY_BYTES=1024
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" HEARTBEAT_TTL_MS=2000
start_service reporting MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"
P="http://127.0.0.1:$PROCESSOR_PORT"
R="http://127.0.0.1:$REPORTING_PORT"

# promtool_ok URL: promtool accepts the exposition, with no lint problems.
promtool_check() {
    local out
    out=$(curl -s "$2/metrics" | "$PROMTOOL" check metrics 2>&1)
    expect_eq "$1: promtool check metrics finds nothing" "$?:$out" "0:"
}

for u in "$I" "$P" "$R"; do
    http GET "$u/metrics"
    expect_eq "$u/metrics: 200" "$HTTP_STATUS" 200
    expect_match "$u/metrics: Prometheus text content type" "$HTTP_HEADERS" \
        'Content-Type: text/plain; version=0.0.4; charset=utf-8'
done
promtool_check "ingest before traffic" "$I"
promtool_check "processor before traffic" "$P"
promtool_check "reporting before traffic" "$R"

for n in 1 2 3 4 5; do
    http POST "$I/event" "{\"site_id\":\"m\",\"event_type\":\"page_view\",\"timestamp\":\"2025-11-15T10:0$n:00Z\",\"path\":\"/p$n\"}"
done
http POST "$I/event" '{"site_id":"m"}'
http POST "$I/event" "{\"pad\":\"$(head -c 2000 /dev/zero | tr '\0' a)\"}"
http GET "$I/nope"
stored5() { [ "$(metric "$P" analytics_events_stored_total)" = 5 ]; }
if wait_until 30 stored5; then pass "processor: analytics_events_stored_total reaches 5"; else
    fail "processor: analytics_events_stored_total reaches 5" "$(metric "$P" analytics_events_stored_total)"; fi

expect_eq "ingest: enqueued" "$(metric "$I" analytics_events_enqueued_total)" 5
expect_eq "ingest: accepted" "$(metric "$I" analytics_events_accepted_total)" 5
expect_eq "ingest: rejected invalid" "$(metric "$I" 'analytics_events_rejected_total{reason="invalid"}')" 1
expect_eq "ingest: rejected too large" "$(metric "$I" 'analytics_events_rejected_total{reason="too_large"}')" 1
expect_eq "ingest: requests /event 202" "$(metric "$I" 'analytics_http_requests_total{route="/event",status="202"}')" 5
expect_eq "ingest: requests /event 400" "$(metric "$I" 'analytics_http_requests_total{route="/event",status="400"}')" 1
expect_eq "ingest: unknown paths counted as other" "$(metric "$I" 'analytics_http_requests_total{route="other",status="404"}')" 1
expect_eq "ingest: latency histogram counts every /event request" \
    "$(metric "$I" 'analytics_http_request_duration_seconds_count{route="/event"}')" 7
expect_eq "ingest: one Redis connection per concurrent request, none failed" \
    "$(metric "$I" analytics_redis_errors_total)" 0
expect_eq "ingest: no push left without an answer from Redis (counter present, 0)" \
    "$(curl -s "$I/metrics" | grep -c '^analytics_events_ambiguous_total 0$')" 1

expect_match "processor: analytics_processor_info names this process (host:pid:tag) and queue" \
    "$(curl -s "$P/metrics" | grep '^analytics_processor_info{')" \
    "^analytics_processor_info\\{consumer=\"[^\"]+:$PROCESSOR_PID:[0-9a-f]{8}\",queue=\"events\",shards=\"1\"\\} 1$"
expect_eq "processor: that consumer id is the one registered in Redis" \
    "$(redis_cli sismember events:consumers "$(consumer_of processor)")" 1
expect_eq "processor: no duplicates" "$(metric "$P" analytics_events_duplicate_total)" 0
expect_eq "processor: queue depth 0" "$(metric "$P" 'analytics_queue_depth{shard="0"}')" 0
expect_eq "processor: processing depth 0" "$(metric "$P" analytics_processing_depth)" 0
# A batch another consumer claimed and has not committed (it holds the assignment lease) is
# still waiting: it counts in the depth with the queue behind it; once the lease is gone, the
# processor takes that batch first and stores it.
env_n() { printf '{"v":1,"id":"01a2107d-783e-7c3a-a236-cf84b3a8770%s","site_id":"m","event_type":"page_view","ts":1763200800000,"received":1763200800000}' "$1"; }
redis_cli set events:assign other-consumer PX 60000 >/dev/null
redis_cli rpush events:assigning "$(env_n 1)" "$(env_n 2)" >/dev/null
redis_cli lpush events "$(env_n 3)" >/dev/null
expect_eq "processor: queue depth counts a batch being assigned" "$(metric "$P" 'analytics_queue_depth{shard="0"}')" 3
redis_cli del events:assign >/dev/null
stored8() { [ "$(metric "$P" analytics_events_stored_total)" = 8 ]; }
check "processor: that batch and the queue stored once the lease is gone" wait_until 30 stored8
expect_eq "processor: queue depth back to 0" "$(metric "$P" 'analytics_queue_depth{shard="0"}')" 0
b=$(metric "$P" analytics_batches_total)
check "processor: batches counted ($b)" [ "$b" -ge 1 ]
expect_eq "processor: batch sizes sum to the events" "$(metric "$P" analytics_batch_size_sum)" 8.000000
redis_cli lpush events garbage >/dev/null
dead1() { [ "$(metric "$P" 'analytics_events_dead_lettered_total{reason="invalid_envelope"}')" = 1 ]; }
if wait_until 30 dead1; then pass "processor: dead letter counted"; else fail "processor: dead letter counted"; fi
expect_eq "processor: dead-letter gauge" "$(metric "$P" 'analytics_dead_letters{shard="0"}')" 1
# A consumer that died holding one event (registered, no heartbeat): the processor's
# periodic recovery pass (every HEARTBEAT_TTL_MS / 2) returns it, counts it and stores it.
# Its list first, then its registration: a pass between the two would otherwise unregister
# the ghost before its list existed, and nothing would ever return the event.
redis_cli rpush events:processing:ghost:1:x \
    '{"v":1,"id":"01a2107d-783e-7c3a-a236-cf84b3a876e4","site_id":"m","event_type":"page_view","ts":1763200800000,"received":1763200800000}' >/dev/null
redis_cli sadd events:consumers ghost:1:x >/dev/null
recovered1() { [ "$(metric "$P" analytics_events_recovered_total)" = 1 ]; }
if wait_until 30 recovered1; then pass "processor: a periodic recovery pass is counted"; else
    fail "processor: a periodic recovery pass is counted" "$(metric "$P" analytics_events_recovered_total)"; fi
stored9() { [ "$(metric "$P" analytics_events_stored_total)" = 9 ]; }
check "processor: the recovered event is stored" wait_until 30 stored9

http GET "$R/stats?site_id=m&date=2025-11-15"
expect_eq "reporting: stats answered" "$(jq .total_views <<<"$HTTP_BODY")" 9
http GET "$R/stats?site_id=m"
expect_eq "reporting: /stats 200 counted" "$(metric "$R" 'analytics_http_requests_total{route="/stats",status="200"}')" 1
expect_eq "reporting: /stats 400 counted" "$(metric "$R" 'analytics_http_requests_total{route="/stats",status="400"}')" 1
expect_eq "reporting: no MongoDB errors" "$(metric "$R" analytics_mongodb_errors_total)" 0
for u in "$P" "$R"; do
    c=$(metric "$u" analytics_mongodb_connections_total)
    check "$u: MongoDB connection counted ($c)" [ "$c" -ge 1 ]
done

promtool_check "ingest after traffic" "$I"
promtool_check "processor after traffic" "$P"
promtool_check "reporting after traffic" "$R"
for s in ingest processor reporting; do expect_clean_stop $s; done
t_summary
