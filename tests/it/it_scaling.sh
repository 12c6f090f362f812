#!/usr/bin/env bash
# it_scaling.sh - horizontal scaling on one machine: 1 ingest + 3 processors + reporting
# under load; every accepted event stored exactly once, and every processor did work.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=scaling
start_service ingest REDIS_PORT="$REDIS_PORT"
for i in 1 2 3; do
    start_service "processor$i" REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=20
done
start_service reporting MONGO_URI="$(mongo_uri $DB)"

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 8 --seconds 10 --rate 300 \
    --site scale-site --tag s --out "$T_TMP/load.txt" >"$T_TMP/load.summary"
echo "# load: $(cat "$T_TMP/load.summary")"
if wait_until 60 queue_settled events; then pass "queue drained"; else fail "queue drained"; fi
verify_exactly_once $DB scale-site "$T_TMP/load.txt"
verify_rollup $DB scale-site 2025-11-15

total=0
for i in 1 2 3; do
    port_var="PROCESSOR${i}_PORT"
    n=$(metric "http://127.0.0.1:${!port_var}" analytics_events_stored_total)
    echo "# processor$i stored $n events"
    check "processor$i did work" [ "$n" -gt 0 ]
    total=$((total + n))
done
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{"site_id":"scale-site"}')
expect_eq "the processors' stored counters add up to the documents" "$total" "$stored"
http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=scale-site&date=2025-11-15"
expect_eq "/stats counts every stored event" "$(jq .total_views <<<"$HTTP_BODY")" "$stored"
for s in processor1 processor2 processor3 ingest reporting; do expect_clean_stop $s; done
t_summary
