#!/usr/bin/env bash
# it_signals.sh - SIGHUP, SIGUSR1 and SIGUSR2 are ignored by all three programs: each one,
# sent to each program in turn while ingest takes a steady load, leaves it running and
# serving, and every event ingest accepted meanwhile is stored exactly once. (Before, each
# of them killed the program on the spot, with no graceful stop.)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=signals
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
start_service reporting MONGO_URI="$(mongo_uri $DB)"

# (Long enough for the signals below, short enough for valgrind's processor to drain.)
"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 2 --seconds $((5 * T_SLOW)) \
    --rate 50 --site sig-site --tag h --out "$T_TMP/load.txt" >"$T_TMP/load.summary" &
LOAD_PID=$!
accepting() { [ "$(metric "http://127.0.0.1:$INGEST_PORT" analytics_events_accepted_total)" -gt 0 ]; }
check "ingest accepts the load before the signals" wait_until $((10 * T_SLOW)) accepting

# serves NAME: the program answers /livez on its main port.
serves() {
    local port=${1^^}_PORT
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${!port}/livez")" = 200 ]
}

for sig in HUP USR1 USR2; do
    for s in ingest processor reporting; do
        pid=${s^^}_PID
        ours "${!pid}" && kill "-$sig" "${!pid}"
        # (A fatal signal ends the process as it is sent: no answer can come after it.)
        check "SIG$sig: $s still serves /livez" serves "$s"
        check "SIG$sig: $s still runs" ours "${!pid}"
    done
done
check "the load was still running after the signals" ours "$LOAD_PID"
wait "$LOAD_PID"
echo "# load: $(cat "$T_TMP/load.summary")"
for s in ingest processor reporting; do
    pid=${s^^}_PID
    check "after the load: $s still runs" ours "${!pid}"
done

if wait_until $((60 * T_SLOW)) queue_settled events; then pass "queue drained"; else
    fail "queue drained" "pending $(redis_cli llen events)"; fi
verify_exactly_once $DB sig-site "$T_TMP/load.txt"
for s in ingest processor reporting; do expect_clean_stop $s; done
t_summary
