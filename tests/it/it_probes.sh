#!/usr/bin/env bash
# it_probes.sh - /livez (process only), /readyz (dependencies, and "stopping" from SIGTERM on)
# on all three programs, beside /health; and a bad BIND_ADDRESS stops each at start.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

# BIND_ADDRESS is checked with the rest of the configuration: an address that is not IPv4
# (civetweb 1.15 logged "999.0.0.1" and bound something else, and answered "::1" with its
# own message and exit 1) stops each program at start, exit 2, one line naming it.
for prog in ingest processor reporting; do
    for bad in 999.0.0.1 ::1 '[::1]' localhost 127.1; do
        expect_config_error "$prog" BIND_ADDRESS="$bad"
    done
done

start_redis
start_mongo
DB=probes
start_service ingest REDIS_PORT="$REDIS_PORT" SHUTDOWN_DELAY_MS=4000
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
start_service reporting MONGO_URI="$(mongo_uri $DB)" SHUTDOWN_DELAY_MS=4000
I="http://127.0.0.1:$INGEST_PORT"
P="http://127.0.0.1:$PROCESSOR_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
ok() { echo "{\"status\":\"ok\",\"service\":\"$1\"}"; }
bad() { echo "{\"status\":\"$2\",\"service\":\"$1\"}"; }

for pair in "ingest $I" "processor $P" "reporting $R"; do
    # shellcheck disable=SC2086 # split "name url [pid]" into $1 $2 $3
    set -- $pair
    for probe in livez readyz health; do
        http GET "$2/$probe"
        expect_http "$1 /$probe, all up" 200 "$(ok "$1")"
    done
done

stop_pid "$REDIS_PID"
for pair in "ingest $I" "processor $P"; do
    # shellcheck disable=SC2086 # split "name url [pid]" into $1 $2 $3
    set -- $pair
    http GET "$2/readyz"
    expect_http "$1 /readyz, Redis down" 503 "$(bad "$1" error)"
    http GET "$2/livez"
    expect_http "$1 /livez, Redis down: still alive" 200 "$(ok "$1")"
done
REDIS_PORT_WANTED=$REDIS_PORT start_redis
wait_until 10 curl -sf "$P/readyz"
http GET "$I/readyz"
expect_http "ingest /readyz, Redis back" 200 "$(ok ingest)"
http GET "$P/readyz"
expect_http "processor /readyz, Redis back" 200 "$(ok processor)"

kill -STOP "$MONGO_PID"
code=$(curl -s -o "$T_TMP/ready" -w '%{http_code}' --max-time 5 "$R/readyz")
expect_eq "reporting /readyz, MongoDB frozen: 503 within the 5 s client deadline" "$code" 503
http GET "$R/livez"
expect_http "reporting /livez, MongoDB frozen: still alive" 200 "$(ok reporting)"
kill -CONT "$MONGO_PID"
wait_until 10 curl -sf "$R/readyz"
http GET "$R/readyz"
expect_http "reporting /readyz, MongoDB thawed" 200 "$(ok reporting)"

# SIGTERM: not ready at once, still alive and serving for SHUTDOWN_DELAY_MS, then exit 0.
for pair in "ingest $I $INGEST_PID" "reporting $R $REPORTING_PID"; do
    # shellcheck disable=SC2086 # split "name url [pid]" into $1 $2 $3
    set -- $pair
    kill -TERM "$3"
    stopping() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz")" = 503 ]; }
    wait_until 2 stopping "$2"
    http GET "$2/readyz"
    expect_http "$1 /readyz after SIGTERM" 503 "$(bad "$1" stopping)"
    http GET "$2/livez"
    expect_http "$1 /livez after SIGTERM, during the delay" 200 "$(ok "$1")"
    http GET "$2/health"
    expect_http "$1 /health after SIGTERM, during the delay" 200 "$(ok "$1")"
    stop_pid "$3" 10
    expect_eq "$1 exits 0 after the delay" "$STOP_RC" 0
done
expect_clean_stop processor
t_summary
