#!/usr/bin/env bash
# it_keepalive.sh - open browser tabs cannot starve ingest's worker pool (issue 21). Against
# one ingest with its default HTTP_THREADS and KEEP_ALIVE_TIMEOUT_MS, tests/tools/tabs runs
# 1,000 browser-like clients for 12 s: each keeps its connection alive, sends one small
# batch to POST /events every 2 s and reconnects when ingest has closed its idle connection
# (and resends a batch that met a connection closed as it left, as browsers do). Every batch
# must be answered 202, and the processor must store exactly as many events as were
# accepted. /metrics must show the pool: its workers, and the idle connections closed early
# to keep workers free. Under valgrind: 300 clients against 32 workers, the same squeeze at
# valgrind's speed.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=keepalive
SITE=tabs-site
if [ "${VALGRIND:-0}" = 1 ]; then
    CLIENTS=300
    POOL=(HTTP_THREADS=32)
else
    CLIENTS=1000
    POOL=()
fi
start_service ingest REDIS_PORT="$REDIS_PORT" "${POOL[@]}"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=500
I="http://127.0.0.1:$INGEST_PORT"
IP="http://127.0.0.1:$INGEST_PROBE_PORT"

out=$("$BUILD/tests/tabs" --port "$INGEST_PORT" --clients "$CLIENTS" --seconds 12 \
    --period-ms 2000 --site "$SITE" --events 1 --timeout-ms $((10000 * T_SLOW)))
echo "# $CLIENTS tabs, 12 s: $out"
declare -A r
for kv in $out; do r[${kv%%=*}]=${kv#*=}; done

check "every client sent about 6 batches (${r[requests]})" \
    [ "${r[requests]}" -ge $((CLIENTS * 5)) ]
expect_eq "every batch answered" "${r[answered]}" "${r[requests]}"
expect_eq "every batch answered 202" "${r[ok]}" "${r[requests]}"
expect_eq "no batch without an answer" "${r[failed]}" 0

stored() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"site_id\":\"$SITE\"}"; }
all_stored() { [ "$(stored)" -ge "${r[ok_events]}" ]; }
wait_until $((60 * T_SLOW)) all_stored
expect_eq "stored events = accepted events (none lost, none twice)" "$(stored)" "${r[ok_events]}"

threads=$(metric "$IP" 'analytics_http_workers{listener="public"}')
expect_eq "/metrics: the public pool's workers" "$threads" "$([ "${VALGRIND:-0}" = 1 ] && echo 32 || echo 256)"
closed=$(metric "$IP" 'analytics_http_idle_closed_total{listener="public"}')
check "/metrics: idle connections closed early to free workers ($closed)" [ "$closed" -gt 0 ]
# Every connection the clients closed gave its worker back (the pool's count is exact).
none_open() {
    [ "$(metric "$IP" 'analytics_http_connections{listener="public",state="idle"}')" = 0 ] &&
        [ "$(metric "$IP" 'analytics_http_connections{listener="public",state="request"}')" = 0 ]
}
check "/metrics: no connection left open once the clients are gone" wait_until 10 none_open
check "/metrics: the probe pool is there" \
    [ "$(metric "$I" 'analytics_http_workers{listener="probe"}')" -gt 0 ]

expect_clean_stop ingest
expect_clean_stop processor
t_summary
