#!/usr/bin/env bash
# it_starvation.sh - slow and idle clients cannot take a service off the air, and a frozen
# MongoDB cannot take reporting's probes with it. Against each service (its default worker
# pool), tests/tools/attack.py keeps N hostile connections open for a while, reopening each one
# the server closes: bodies sent a byte every 3 s, idle keep-alive connections, headers
# trickled a line a second. Meanwhile a probe and a normal request, asked in turn every
# 0.2 s, must each answer within 1 s every time, and every hostile connection must be
# closed by the server within its bound (REQUEST_TIMEOUT_MS=3000, KEEP_ALIVE_TIMEOUT_MS=2000
# here). The slow bodies also against an ingest whose poll() retries on EINTR, as civetweb
# 1.16's does (tests/tools/eintr_retry.c, preloaded). Not run under valgrind, whose slowdown is
# not the property tested.
# it: alone (run_it.sh: its bounds are about time)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=starvation
BOUNDS=(REQUEST_TIMEOUT_MS=3000 KEEP_ALIVE_TIMEOUT_MS=2000)
start_service ingest REDIS_PORT="$REDIS_PORT" "${BOUNDS[@]}"
# The same, its poll() retrying on EINTR as civetweb 1.16's mg_poll() does (eintr_retry.c):
# the bound on a slow body must not rest on a signal ending a poll(). (ASan's runtime must
# come first among the libraries, unless told.)
start_service ingest2 REDIS_PORT="$REDIS_PORT" "${BOUNDS[@]}" \
    LD_PRELOAD="$BUILD/tests/eintr_retry.so" ASAN_OPTIONS=verify_asan_link_order=0
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
start_service reporting MONGO_URI="$(mongo_uri $DB)" MAX_DB_REQUESTS=8 "${BOUNDS[@]}"
EV='{"site_id":"starve","event_type":"page_view","timestamp":"2025-11-15T10:00:00Z"}'

# flood NAME PATTERN N PORT PROBE_URL NORMAL_URL [BODY]: 6 s of N connections of PATTERN.
flood() {
    local name=$1 out
    shift
    out=$("$T_PYTHON" "$T_ROOT/tests/tools/attack.py" flood "$1" "$2" 6 "${@:3}")
    echo "# $name, $2 x $1: $out"
    local -A r
    local kv
    for kv in $out; do r[${kv%%=*}]=${kv#*=}; done
    check "$name, $2 x $1: every probe answered (${r[probes]})" \
        [ "${r[probes]}" -gt 10 ] && [ "${r[probe_fail]}" = 0 ]
    check "$name, $2 x $1: probes within 1 s (slowest ${r[probe_max_ms]} ms)" [ "${r[probe_max_ms]}" -lt 1000 ]
    check "$name, $2 x $1: every normal request answered" [ "${r[normal_fail]}" = 0 ]
    check "$name, $2 x $1: normal requests within 1 s (slowest ${r[normal_max_ms]} ms)" \
        [ "${r[normal_max_ms]}" -lt 1000 ]
    check "$name, $2 x $1: the server closed them all (${r[closed]} closed)" [ "${r[closed]}" -ge "$2" ]
    # (A connection the server never closed counts with its age when the flood ended:
    # a bound not enforced fails here, loudly, whatever else passed.)
    if awk -v l="${r[longest_s]}" -v b="$FLOOD_BOUND" 'BEGIN { exit !(l <= b + 1.5) }'; then
        pass "$name, $2 x $1: none open longer than its bound + 1.5 s (${r[longest_s]} s)"
    else
        fail "$name, $2 x $1: none open longer than its bound + 1.5 s" \
            "BOUND EXCEEDED: a connection was held ${r[longest_s]} s, the bound is $FLOOD_BOUND s" \
            "(${r[open_at_end]} still open when the flood ended)"
    fi
}

I="http://127.0.0.1:$INGEST_PORT"
IP="http://127.0.0.1:$INGEST_PROBE_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
RP="http://127.0.0.1:$REPORTING_PROBE_PORT"
P="http://127.0.0.1:$PROCESSOR_PORT"
STATS="$R/stats?site_id=starve&date=2025-11-15"

# ingest: the issue's numbers, with the probe on the probe listener.
FLOOD_BOUND=3 flood ingest slow-body 64 "$INGEST_PORT" "$IP/livez" "$I/event" "$EV"
FLOOD_BOUND=3 flood "ingest (poll retrying on EINTR)" slow-body 16 "$INGEST2_PORT" \
    "http://127.0.0.1:$INGEST2_PROBE_PORT/livez" "http://127.0.0.1:$INGEST2_PORT/event" "$EV"
FLOOD_BOUND=2 flood ingest idle 64 "$INGEST_PORT" "$IP/readyz" "$I/event" "$EV"
FLOOD_BOUND=3 flood ingest slow-headers 200 "$INGEST_PORT" "$IP/health" "$I/event" "$EV"
# reporting starved at 16 such connections.
FLOOD_BOUND=2 flood reporting idle 64 "$REPORTING_PORT" "$RP/livez" "$STATS"
FLOOD_BOUND=3 flood reporting slow-headers 100 "$REPORTING_PORT" "$RP/health" "$STATS"
# The processor's only listener is a probe listener (no keep-alive, 2 s bound); its /livez
# starved at 4. It serves the cluster's probes and scrapes, not the public.
FLOOD_BOUND=0 flood processor idle 16 "$PROCESSOR_PORT" "$P/livez" "$P/metrics"
FLOOD_BOUND=2 flood processor slow-headers 16 "$PROCESSOR_PORT" "$P/livez" "$P/health"
stored() { [ "$(metric "$P" analytics_events_stored_total)" -ge 3 ]; }
check "the normal events were stored" wait_until 20 stored

# --- reporting while MongoDB is frozen under load ---------------------------------------
# 40 concurrent /stats/aggregated: MAX_DB_REQUESTS=8 of them wait on MongoDB, the other 32
# are answered 503 at once; the probes stay fast, /health answers within its 2 s deadline.
http GET "$STATS"
expect_eq "reporting answers before the freeze" "$HTTP_STATUS" 200
kill -STOP "$MONGO_PID"
for i in $(seq 40); do
    curl -s -o "$T_TMP/agg$i.json" -w '%{http_code} %{time_total}\n' --max-time 30 \
        "$R/stats/aggregated?site_id=starve&date=2025-11-15" >"$T_TMP/agg$i.out" &
done
sleep 1
slowest_live=0
slowest_health=0
for _ in $(seq 8); do
    for u in "$R/livez" "$RP/livez"; do
        t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$u")
        ms=$(awk -v t="${t#* }" 'BEGIN { printf "%d", t * 1000 }')
        [ "${t%% *}" = 200 ] || ms=99999
        [ "$ms" -gt "$slowest_live" ] && slowest_live=$ms
    done
    t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "$RP/health")
    ms=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
    [ "$ms" -gt "$slowest_health" ] && slowest_health=$ms
    sleep 0.5
done
busy=$(cat "$T_TMP"/agg*.out 2>/dev/null | awk '$1 == 503 && $2 < 1 { n++ } END { print n + 0 }')
kill -CONT "$MONGO_PID"
wait_all() { ! pgrep -f "curl -s -o $T_TMP/agg" >/dev/null; }
wait_until 40 wait_all
check "frozen MongoDB: /livez on both listeners within 1 s (slowest $slowest_live ms)" [ "$slowest_live" -lt 1000 ]
check "frozen MongoDB: /health within 2.5 s (slowest $slowest_health ms)" [ "$slowest_health" -lt 2500 ]
expect_eq "frozen MongoDB: 32 of 40 answered 503 at once" "$busy" 32
expect_eq "frozen MongoDB: their message" \
    "$(cat "$T_TMP"/agg*.json | grep -o 'Too many requests waiting for the database, please retry' | wc -l)" 32
expect_eq "frozen MongoDB: counted in analytics_db_busy_total" "$(metric "$RP" analytics_db_busy_total)" 32
http GET "$STATS"
expect_eq "reporting answers after the freeze" "$HTTP_STATUS" 200

for s in ingest ingest2 processor reporting; do expect_clean_stop $s; done
t_summary
