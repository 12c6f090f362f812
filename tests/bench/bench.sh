#!/usr/bin/env bash
# bench.sh - the benchmark suite (`make bench`): one run against servers it starts itself on
# free ports of 127.0.0.1 (redis-server and the MongoDB-compatible test server through
# lib.sh, the services with PORT=0), printing one markdown table in which every figure
# comes with the command that produced it, and writing docs/benchmarks.md (overwritten).
#
#   1. ingest POST /event at 1 and 50 connections (wrk), next to build/tests/nothing, a
#      do-nothing server on the same HTTP stack
#   2. ingest POST /events, 500 events per request
#   3. processor drain rate and CPU per event for a pre-filled queue, next to
#      build/tests/rawinsert (the same writes, raw, into the same server)
#   4. reporting /stats and /stats/aggregated latency at two data sizes, 10x apart; /stats
#      over 30 days and /stats/timeseries by hour over 7 days, each next to its /aggregated;
#      /stats/summary over 30 days (alone, with compare=previous, filtered by source from the
#      rollups of the visits' dimensions, and filtered by a path from the raw events:
#      reporting/scan.h), a breakdown by source over 30 days (from those rollups); /events,
#      the first page and a page 100 cursors deep
#   5. resident memory of each service, idle and at its peak
#   6. the tracker's size
#   7-9. (tests/bench/same_run.sh) the drain ratio at two batch sizes, /stats/aggregated
#      against a peer's plain aggregation, and freshness (202 to counted in /stats)
#   10. (tests/bench/memory.sh) reporting's peak RSS reading every figure over a 366-day
#      range of BENCH_DISTINCT_N distinct paths and users
#   11. (tests/bench/tabs.sh) 1,000-5,000 browser tabs against one ingest, 500 dashboards
#      against one reporting, and POST /event at 50 connections against the ingest of the
#      commit before the worker pool; BENCH_PART=11 runs this part alone and prints its rows
#   12. (tests/bench/shards.sh) queue shards: events per second through ingest and two
#      processors and Redis commands per event with QUEUE_SHARDS = 1, 2, 4, 8 on one Redis
#      and 6, 8 on a Redis Cluster of 3 masters (each master's share of the commands), and
#      POST /event with QUEUE_SHARDS=1 against the ingest before shards; BENCH_PART=12 runs
#      this part alone and prints its rows
#   13. (tests/bench/visits.sh) visits: POST /event at 50 connections and the processor's CPU
#      per event against the programs before visits, in the same run; BENCH_PART=13 runs
#      this part alone and prints its rows
#   14. (tests/bench/uacost.c) ingest's User-Agent parse on a warm and a cold cache and its
#      country lookup, per event
#   C. instructions per request and per event (callgrind) of ingest and the processor, next
#      to the previous run's, and MongoDB commands per batch: tests/bench/callgrind.sh, which
#      `make bench-cost` runs alone
#
# About 4-5 minutes on 2 cores (part 10 loads its data for one or two); every wait is bounded.
# Environment (defaults in brackets):
#   BENCH_DRAIN_N [5000]  events the processor drains in part 3
#   BENCH_SMALL_N [1500], BENCH_LARGE_N [15000]  the two data sizes of part 4
#   BENCH_DISTINCT_N [10000]  the distinct paths and users of part 10 (tests/bench/memory.sh)
#   BENCH_OUT [docs/benchmarks.md]
# The test server scans a whole collection on every write (docs/development.md), so its
# write cost grows with the collection. 15,000 events load in well under a minute; from
# about 22,000 one insert of 500 events outlasts the processor's 5 s socket timeout there,
# and the processor retries it for ever, so part 4 stays well below that.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/../it/lib.sh"
# shellcheck source=tests/bench/same_run.sh
. "$(dirname "$0")/same_run.sh"
# shellcheck source=tests/bench/memory.sh
. "$(dirname "$0")/memory.sh"
# shellcheck source=tests/bench/tabs.sh
. "$(dirname "$0")/tabs.sh"
# shellcheck source=tests/bench/shards.sh
. "$(dirname "$0")/shards.sh"
# shellcheck source=tests/bench/visits.sh
. "$(dirname "$0")/visits.sh"

cd "$T_ROOT" || exit 1
BENCH_START=$SECONDS
BENCH_OUT=${BENCH_OUT:-$T_ROOT/docs/benchmarks.md}
DRAIN_N=${BENCH_DRAIN_N:-5000}
SMALL_N=${BENCH_SMALL_N:-1500}
LARGE_N=${BENCH_LARGE_N:-15000}
SITE=bench-site
DATE=2025-11-15
QUEUE=events
REL_BUILD=${BUILD#"$T_ROOT"/} # for the commands shown
ROWS=()
W_N=0

# die MESSAGE: stop the run with a clear message (lib.sh's cleanup then prints the logs).
die() {
    T_FAILED=$((T_FAILED + 1))
    echo "bench: FAILED: $*" >&2
    exit 1
}

say() { echo "# $*"; }

for tool in wrk jq curl redis-server redis-cli awk; do
    command -v "$tool" >/dev/null || die "$tool is not installed (run make setup)"
done
for bin in ingest processor reporting tests/nothing tests/rawinsert tests/mongoq tests/freeport \
    tests/aggpeer tests/loadgen tests/memfill tests/tabs; do
    [ -x "$BUILD/$bin" ] || die "$BUILD/$bin is missing (run make all)"
done
for n in "$DRAIN_N" "$SMALL_N" "$LARGE_N"; do
    [[ "$n" =~ ^[1-9][0-9]{0,5}$ ]] || die "event counts must be 1-999999, not '$n'"
done

# --- helpers ------------------------------------------------------------------------------

# cmd_str ARGS...: the command line, quoted where the shell needs it.
cmd_str() {
    local a out=""
    for a in "$@"; do
        if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $a"; else out+=" '$a'"; fi
    done
    echo "${out# }"
}

# fmt_us MICROSECONDS: "85 µs" or "2.31 ms"
fmt_us() {
    awk -v u="$1" 'BEGIN { if (u < 1000) printf "%d µs", u; else printf "%.2f ms", u / 1000 }'
}

# calc EXPRESSION: awk arithmetic, e.g. calc "3 / 4" -> 0.75 (printed with %.4g unless FMT)
calc() {
    awk "BEGIN { printf \"${2:-%.4g}\", $1 }"
}

# verdict CONDITION (awk): "met" or "not met"
verdict() {
    if awk "BEGIN { exit !($1) }"; then echo met; else echo "not met"; fi
}

# row ID MEASUREMENT RESULT COMMAND: one line of the table.
row() {
    ROWS+=("| $1 | $2 | $3 | $4 |")
    say "$1 $2: $3"
}

# rss_kb PID FIELD: VmRSS or VmHWM of PID in kB.
rss_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() {
    local stat f
    stat=$(cat "/proc/$1/stat") || return 1
    read -ra f <<<"${stat##*) }" # fields from 3 (state) on: utime is 14, stime 15
    echo $((f[11] + f[12]))
}

mb() { calc "$1 / 1024" "%.1f MB"; }

# bench_wrk ARGS...: run wrk ARGS (a script printing a "BENCH ..." line), on CPU $WRK_CPU
# alone when set; sets W_CMD, W_REQ, W_RPS, W_P50, W_P99 (µs), W_SOCKERR. Dies on any
# non-2xx answer or when wrk fails.
bench_wrk() {
    local out line kv dur=0 non2xx=0
    W_N=$((W_N + 1))
    out="$T_TMP/wrk.$W_N.out"
    W_CMD=$(cmd_str ${WRK_CPU:+taskset -c "$WRK_CPU"} wrk "$@")
    say "\$ $W_CMD"
    timeout 120 ${WRK_CPU:+taskset -c "$WRK_CPU"} wrk "$@" >"$out" 2>&1
    sed 's/^/#   /' "$out"
    line=$(grep '^BENCH ' "$out") || die "wrk printed no result: $W_CMD"
    W_REQ=0 W_P50=0 W_P99=0 W_SOCKERR=0
    for kv in $line; do
        case $kv in
        requests=*) W_REQ=${kv#*=} ;;
        duration_us=*) dur=${kv#*=} ;;
        p50_us=*) W_P50=${kv#*=} ;;
        p99_us=*) W_P99=${kv#*=} ;;
        socket_errors=*) W_SOCKERR=${kv#*=} ;;
        non2xx=*) non2xx=${kv#*=} ;;
        esac
    done
    if [ "$W_REQ" -le 0 ] || [ "$dur" -le 0 ]; then die "wrk made no request: $W_CMD"; fi
    [ "$non2xx" -eq 0 ] || die "$non2xx answers were not 2xx: $W_CMD"
    W_RPS=$(calc "$W_REQ / ($dur / 1e6)" "%.0f")
}

# warm_up SCRIPT URL: one second of single-connection load, not measured (first requests pay
# for connection pools, page faults and the test server's caches).
warm_up() {
    timeout 30 wrk -t1 -c1 -d1s -s "$1" "$2" >/dev/null 2>&1
}

# wrk_result: "N req/s; p50 X, p99 Y" of the last bench_wrk (and socket errors, if any).
wrk_result() {
    local s
    s="$(group "$W_RPS") req/s; p50 $(fmt_us "$W_P50"), p99 $(fmt_us "$W_P99")"
    [ "$W_SOCKERR" -eq 0 ] || s+=" ($W_SOCKERR socket errors)"
    echo "$s"
}

# events_json FIRST N [SOURCES]: a JSON array of events FIRST..FIRST+N-1 with the benchmark's
# distribution (the same as tests/bench/*.lua and tests/bench/rawinsert.c); with SOURCES 1,
# each page view also has a referrer, one of 20 hosts by its user (so each visit one of 20
# sources: part 4's data, which its breakdowns by source and filters on it read).
events_json() {
    jq -nc --argjson first "$1" --argjson n "$2" --arg site "$SITE" --argjson src "${3:-0}" '
        def two: tostring | if length < 2 then "0" + . else . end;
        [range($first; $first + $n) | (. % 3600) as $s |
         {site_id: $site, event_type: (if . % 4 == 3 then "click" else "page_view" end),
          path: "/p\(. % 50)", user_id: "u\(. % 200)",
          timestamp: "\($DATE)T10:\($s / 60 | floor | two):\($s % 60 | two)Z"}
         + (if $src == 1 and . % 4 != 3
            then {properties: {referrer: "https://r\(. % 200 % 20).example/"}} else {} end)]' \
        --arg DATE "$DATE"
}

# fill N [SOURCES]: POST events 0..N-1 (events_json) to ingest's /events, 500 per request;
# dies unless each is 202.
fill() {
    local i m code
    for ((i = 0; i < $1; i += 500)); do
        m=$(($1 - i < 500 ? $1 - i : 500))
        events_json "$i" "$m" "${2:-0}" >"$T_TMP/fill.json" || die "jq could not make the events"
        code=$(curl -s -o "$T_TMP/fill.out" -w '%{http_code}' --max-time 30 \
            -H 'Content-Type: application/json' --data-binary "@$T_TMP/fill.json" \
            "http://127.0.0.1:$INGEST_PORT/events")
        [ "$code" = 202 ] || die "POST /events answered $code: $(head -c 300 "$T_TMP/fill.out")"
    done
}

# stored URI: the number of documents in the events collection of URI.
stored() {
    "$BUILD/tests/mongoq" "$1" events count '{}'
}

# drained URI N: the queue is settled and URI holds N events.
drained() {
    queue_settled "$QUEUE" && [ "$(stored "$1")" = "$2" ]
}

# --- servers ------------------------------------------------------------------------------

say "bench: servers on free ports of 127.0.0.1 (logs in $T_TMP)"
start_redis || die "redis-server did not start"
start_mongo || die "the MongoDB-compatible server did not start"
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" || die "ingest did not start"
INGEST_CMD="PORT=0 REDIS_PORT=$REDIS_PORT QUEUE_KEY=$QUEUE $REL_BUILD/ingest"
sleep 0.5
# shellcheck disable=SC2153 # INGEST_PID is set by start_service
INGEST_IDLE=$(rss_kb "$INGEST_PID" VmRSS)
# The do-nothing baseline: the same civetweb set-up as ingest, HTTP_THREADS as ingest's default.
PORT=0 HTTP_THREADS=64 "$BUILD/tests/nothing" >"$T_TMP/nothing.log" 2>&1 &
NOTHING_PID=$!
T_PIDS+=("$NOTHING_PID")
wait_until 10 grep -q 'listening on ' "$T_TMP/nothing.log" || die "build/tests/nothing did not start"
NOTHING_PORT=$(sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$T_TMP/nothing.log" | tail -n 1)
[ -n "$NOTHING_PORT" ] || die "build/tests/nothing printed no port"
NOTHING_CMD="PORT=0 HTTP_THREADS=64 $REL_BUILD/tests/nothing"
say "redis :$REDIS_PORT, mongo $MONGO_HOSTPORT, ingest :$INGEST_PORT, nothing :$NOTHING_PORT"
if [ "${BENCH_PART:-}" = 11 ]; then
    bench_tabs
    printf '%s\n' "${ROWS[@]}" "${EXTRA_TARGETS[@]}"
    exit 0
fi
if [ "${BENCH_PART:-}" = 12 ]; then
    bench_shards
    printf '%s\n' "${ROWS[@]}" "${EXTRA_TARGETS[@]}"
    exit 0
fi
if [ "${BENCH_PART:-}" = 13 ]; then
    bench_visits
    printf '%s\n' "${ROWS[@]}" "${EXTRA_TARGETS[@]}"
    exit 0
fi

# --- 1. POST /event: ingest and the do-nothing server, 1 and 50 connections ----------------


declare -A RPS P50 P99
warm_up tests/bench/post.lua "http://127.0.0.1:$NOTHING_PORT/event"
warm_up tests/bench/post.lua "http://127.0.0.1:$INGEST_PORT/event"
for load in "1 1" "2 50"; do
    read -r threads conns <<<"$load"
    for target in nothing ingest; do
        if [ "$target" = nothing ]; then port=$NOTHING_PORT; else port=$INGEST_PORT; fi
        redis_cli del "$QUEUE" >/dev/null
        sleep 1
        bench_wrk -t"$threads" -c"$conns" -d8s --latency -s tests/bench/post.lua \
            "http://127.0.0.1:$port/event"
        RPS[$target$conns]=$W_RPS P50[$target$conns]=$W_P50 P99[$target$conns]=$W_P99
        if [ "$target" = nothing ]; then what="do-nothing server"; else what=ingest; fi
        row "1.$W_N" "$what, \`POST /event\`, $conns connection$([ "$conns" = 1 ] || echo s)" \
            "$(wrk_result)" "\`$W_CMD\`"
    done
done
redis_cli del "$QUEUE" >/dev/null
RATIO50=$(calc "${RPS[ingest50]} / ${RPS[nothing50]}" "%.2f")
RATIO1=$(calc "${RPS[ingest1]} / ${RPS[nothing1]}" "%.2f")
row "1.5" "**ingest / do-nothing req/s, 50 connections (headline)**" "**$RATIO50** (1 connection: $RATIO1)" \
    "1.4 / 1.3"

# --- 2. POST /events, 500 events per request ---------------------------------------------

sleep 1
bench_wrk -t2 -c8 -d8s --latency -s tests/bench/post.lua "http://127.0.0.1:$INGEST_PORT/events" -- 500
BATCH_EPS=$((W_RPS * 500))
row "2.1" "ingest, \`POST /events\` (500 events each), 8 connections" \
    "**$(group "$BATCH_EPS") events/s** ($(wrk_result))" "\`$W_CMD\`"
INGEST_HWM=$(rss_kb "$INGEST_PID" VmHWM)
redis_cli del "$QUEUE" >/dev/null
sleep 1
bench_wrk -t2 -c8 -d8s --latency -s tests/bench/post.lua "http://127.0.0.1:$NOTHING_PORT/events" -- 500
row "2.2" "do-nothing server, \`POST /events\` (reference)" \
    "$(group $((W_RPS * 500))) events/s ($(wrk_result))" "\`$W_CMD\`"
redis_cli del "$QUEUE" >/dev/null
stop_pid "$NOTHING_PID"

# --- 3. processor drain, and the same writes raw ------------------------------------------

DRAIN_URI=$(mongo_uri bench_drain)
redis_cli del "$QUEUE" >/dev/null
say "filling the queue with $DRAIN_N events through POST /events"
fill "$DRAIN_N"
[ "$(redis_cli llen "$QUEUE")" = "$DRAIN_N" ] || die "the queue holds $(redis_cli llen "$QUEUE") events, not $DRAIN_N"
PROC_CMD="PORT=0 REDIS_PORT=$REDIS_PORT QUEUE_KEY=$QUEUE BATCH_SIZE=500 MONGO_URI=$DRAIN_URI $REL_BUILD/processor"
t0=$EPOCHREALTIME
start_service processor REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" BATCH_SIZE=500 \
    MONGO_URI="$DRAIN_URI" || die "processor did not start"
CPU0=$(cpu_ticks "$PROCESSOR_PID")
wait_until 240 drained "$DRAIN_URI" "$DRAIN_N" ||
    die "the processor did not drain $DRAIN_N events within 240 s (stored: $(stored "$DRAIN_URI"), queued: $(redis_cli llen "$QUEUE"))"
t1=$EPOCHREALTIME
CPU1=$(cpu_ticks "$PROCESSOR_PID")
PROC_HWM=$(rss_kb "$PROCESSOR_PID" VmHWM)
PROC_HWM_WHAT="drain of $DRAIN_N"
stop_pid "$PROCESSOR_PID"
[ "$STOP_RC" = 0 ] || die "the processor exited $STOP_RC on SIGTERM"
TICK=$(getconf CLK_TCK)
DRAIN_S=$(calc "$t1 - $t0" "%.2f")
DRAIN_EPS=$(calc "$DRAIN_N / ($t1 - $t0)" "%.0f")
CPU_US=$(calc "($CPU1 - $CPU0) * 1e6 / $TICK / $DRAIN_N" "%.0f")
row "3.1" "processor drain, $(group "$DRAIN_N") events queued, BATCH_SIZE=500 (one processor)" \
    "**$(group "$DRAIN_EPS") events/s** ($(group "$DRAIN_N") in $DRAIN_S s)" \
    "\`$PROC_CMD\`, timed from its start until \`queue_settled $QUEUE\` and \`$REL_BUILD/tests/mongoq $DRAIN_URI events count '{}'\` = $DRAIN_N"
row "3.2" "processor CPU per event" \
    "$CPU_US µs/event ($((CPU1 - CPU0)) ticks of 1/$TICK s)" \
    "utime+stime from \`/proc/$PROCESSOR_PID/stat\` after start and after the drain"
RAW_URI=$(mongo_uri bench_raw)
RAW_CMD="$REL_BUILD/tests/rawinsert $RAW_URI $DRAIN_N 500"
say "\$ $RAW_CMD"
raw_out=$(timeout 240 "$BUILD/tests/rawinsert" "$RAW_URI" "$DRAIN_N" 500) || die "rawinsert failed: $raw_out"
say "  $raw_out"
RAW_EPS=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$raw_out")
RAW_S=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$raw_out")
[ -n "$RAW_EPS" ] || die "rawinsert printed no rate: $raw_out"
row "3.3" "raw writes of the same $(group "$DRAIN_N") events (insert_many + plain rollup upserts per batch of 500)" \
    "$(group "$RAW_EPS") events/s ($(group "$DRAIN_N") in $RAW_S s)" "\`$RAW_CMD\`"
DRAIN_RATIO=$(calc "$DRAIN_EPS / $RAW_EPS" "%.2f")
row "3.4" "**processor drain / raw writes**" "**$DRAIN_RATIO**" "3.1 / 3.3"

# --- 4. reporting at two data sizes ------------------------------------------------------

declare -A LOAD_S STATS_P50 AGG_P50 RANGE_P50 EVENTS_P50
n_proc=1
n_rep=0
n_row=0
REP_HWM=0
for n in "$SMALL_N" "$LARGE_N"; do
    uri=$(mongo_uri "bench_stats_$n")
    n_proc=$((n_proc + 1))
    redis_cli del "$QUEUE" >/dev/null
    t0=$EPOCHREALTIME
    # The loading processor waits up to 60 s for a write (socketTimeoutMS; 5 s by default): the
    # test server's inserts slow down with the collection (a scan each), and one that times out
    # runs on there, so that the retries pile up behind it on a slow machine.
    start_service "processor$n_proc" REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" BATCH_SIZE=500 \
        MONGO_URI="$uri?socketTimeoutMS=60000" || die "processor did not start"
    pid_var=PROCESSOR${n_proc}_PID
    pid=${!pid_var}
    if [ -z "${PROC_IDLE:-}" ]; then
        sleep 0.5
        PROC_IDLE=$(rss_kb "$pid" VmRSS) # nothing queued yet
        PROC_IDLE_PID=$pid
    fi
    say "loading $n events into $uri through ingest and a processor"
    fill "$n" 1
    wait_until 240 drained "$uri" "$n" ||
        die "$n events were not stored within 240 s (stored: $(stored "$uri"), queued: $(redis_cli llen "$QUEUE"))"
    LOAD_S[$n]=$(calc "$EPOCHREALTIME - $t0" "%.1f")
    hwm=$(rss_kb "$pid" VmHWM)
    if [ "$hwm" -gt "$PROC_HWM" ]; then PROC_HWM=$hwm PROC_HWM_WHAT="load of $n"; fi
    stop_pid "$pid"
    [ "$STOP_RC" = 0 ] || die "the processor exited $STOP_RC on SIGTERM"
    say "loaded $n events in ${LOAD_S[$n]} s"

    n_rep=$((n_rep + 1))
    if [ "$n_rep" = 1 ]; then name=reporting; else name="reporting$n_rep"; fi
    start_service "$name" MONGO_URI="$uri" || die "reporting did not start"
    port_var=${name^^}_PORT
    pid_var=${name^^}_PID
    port=${!port_var}
    pid=${!pid_var}
    sleep 0.5
    [ -n "${REP_IDLE:-}" ] || REP_IDLE=$(rss_kb "$pid" VmRSS)
    base="http://127.0.0.1:$port"
    q="site_id=$SITE&date=$DATE"
    for type in "" page_view click; do
        a=$(curl -s --max-time 60 "$base/stats?$q${type:+&event_type=$type}")
        b=$(curl -s --max-time 60 "$base/stats/aggregated?$q${type:+&event_type=$type}")
        if [ -z "$a" ] || [ "$a" != "$b" ]; then
            die "/stats and /stats/aggregated differ for $q${type:+&event_type=$type} ($n events):" \
                "/stats $a; /stats/aggregated $b"
        fi
    done
    a=$(curl -s --max-time 60 "$base/stats?$q")
    [ "$(jq .total_views <<<"$a")" = "$n" ] || die "/stats counts $(jq .total_views <<<"$a") views, not $n: $a"
    say "/stats = /stats/aggregated for $n events: $a"
    for ep in stats stats/aggregated; do
        warm_up tests/bench/report.lua "$base/$ep?$q"
        sleep 1
        bench_wrk -t1 -c1 -d5s --latency -s tests/bench/report.lua "$base/$ep?$q"
        if [ "$ep" = stats ]; then
            STATS_P50[$n]=$W_P50
            what="\`/stats\` (rollups), $(group "$n") events"
        else
            AGG_P50[$n]=$W_P50
            what="\`/stats/aggregated\` (aggregation), $(group "$n") events"
        fi
        n_row=$((n_row + 1))
        row "4.$n_row" "$what" "$(wrk_result)" "\`$W_CMD\`"
    done
    # Ranges: /stats over the 30 days ending on DATE, /stats/timeseries by hour over the 7
    # days ending on it, each next to its raw-events yardstick, checked equal first.
    RANGE_Q="site_id=$SITE&from=$(date -u -d "$DATE -29 days" +%F)&to=$DATE"
    SERIES_Q="site_id=$SITE&from=$(date -u -d "$DATE -6 days" +%F)&to=$DATE&interval=hour"
    for ep_q in "stats?$RANGE_Q" "stats/timeseries?$SERIES_Q"; do
        a=$(curl -s --max-time 60 "$base/${ep_q%%\?*}?${ep_q#*\?}")
        b=$(curl -s --max-time 60 "$base/${ep_q%%\?*}/aggregated?${ep_q#*\?}")
        if [ -z "$a" ] || [ "$a" != "$b" ] || ! jq -e .site_id >/dev/null <<<"$a"; then
            die "/$ep_q differs from its /aggregated ($n events): $a; aggregated $b"
        fi
    done
    for ep_q in "stats?$RANGE_Q" "stats/aggregated?$RANGE_Q" "stats/summary?$RANGE_Q" \
        "stats/summary?$RANGE_Q&compare=previous" "stats/timeseries?$SERIES_Q" \
        "stats/timeseries/aggregated?$SERIES_Q" "stats/breakdown?$RANGE_Q&by=source" \
        "stats/summary?$RANGE_Q&filter=source:is:r3.example" \
        "stats/summary?$RANGE_Q&filter=path:is:%2Fp1"; do
        warm_up tests/bench/report.lua "$base/$ep_q"
        bench_wrk -t1 -c1 -d5s --latency -s tests/bench/report.lua "$base/$ep_q"
        key=${ep_q%%\?*}
        [[ $ep_q != *compare=* ]] || key="$key previous"
        [[ $ep_q != *filter=source* ]] || key="$key filtered"
        [[ $ep_q != *filter=path* ]] || key="$key path"
        RANGE_P50["$key $n"]=$W_P50
        n_row=$((n_row + 1))
        span="over 30 days"
        [[ $ep_q != stats/time* ]] || span="by hour over 7 days"
        [[ $ep_q != *compare=* ]] || span="over 30 days with compare=previous"
        [[ $ep_q != *by=source* ]] || span="by=source over 30 days (rollups of the visits' dimensions)"
        [[ $ep_q != *filter=source* ]] || span="over 30 days with filter=source:is:r3.example (rollups of the visits' dimensions)"
        [[ $ep_q != *filter=path* ]] || span="over 30 days with filter=path:is:/p1 (raw events, scan.h)"
        row "4.$n_row" "\`/${ep_q%%\?*}\` $span, $(group "$n") events" "$(wrk_result)" "\`$W_CMD\`"
    done
    # GET /events: the first page (100 events), and the page 100 cursors deep (pages of 10,
    # so that both sizes have one: events 1,001-1,010 from the newest), its cursor found by
    # following next_cursor.
    cursor=""
    for _ in $(seq 100); do
        cursor=$(curl -s --max-time 60 "$base/events?site_id=$SITE&limit=10${cursor:+&cursor=$cursor}" |
            jq -r .next_cursor)
        if [ -z "$cursor" ] || [ "$cursor" = null ]; then
            die "/events ran out of pages before 100 ($n events)"
        fi
    done
    for ep_q in "events?site_id=$SITE" "events?site_id=$SITE&limit=10&cursor=$cursor"; do
        warm_up tests/bench/report.lua "$base/$ep_q"
        bench_wrk -t1 -c1 -d5s --latency -s tests/bench/report.lua "$base/$ep_q"
        if [[ $ep_q == *cursor=* ]]; then
            EVENTS_P50["deep $n"]=$W_P50
            what="\`/events\` 100 cursors deep (pages of 10), $(group "$n") events"
        else
            EVENTS_P50["first $n"]=$W_P50
            what="\`/events\` first page (100 events), $(group "$n") events"
        fi
        n_row=$((n_row + 1))
        row "4.$n_row" "$what" "$(wrk_result)" "\`$W_CMD\`"
    done
    hwm=$(rss_kb "$pid" VmHWM)
    [ "$hwm" -le "$REP_HWM" ] || REP_HWM=$hwm
    REP_CMD="PORT=0 MONGO_URI=$(mongo_uri "bench_stats_<N>") $REL_BUILD/reporting"
done

# --- 5. memory ----------------------------------------------------------------------------

row "5.1" "ingest RSS: idle / peak after parts 1-2" "$(mb "$INGEST_IDLE") / **$(mb "$INGEST_HWM")**" \
    "VmRSS just after start, VmHWM after the POST /events run: \`/proc/$INGEST_PID/status\`"
row "5.2" "processor RSS: idle / peak" "$(mb "$PROC_IDLE") / **$(mb "$PROC_HWM")**" \
    "VmRSS just after start, empty queue (\`/proc/$PROC_IDLE_PID/status\`); VmHWM, largest of the processors (the $PROC_HWM_WHAT)"
row "5.3" "reporting RSS: idle / peak" "$(mb "$REP_IDLE") / **$(mb "$REP_HWM")**" \
    "VmRSS just after start; VmHWM after its wrk runs, largest of the two instances (\`/proc/PID/status\`)"

# --- 6. the browser tracker ---------------------------------------------------------------

TRACKER_BYTES=$(curl -s "http://127.0.0.1:$INGEST_PORT/tracker.js" | wc -c)
row "6.1" "\`GET /tracker.js\`: the tracker as served (minified by esbuild, no compression)" \
    "**$(group "$TRACKER_BYTES") bytes**" "\`curl -s http://127.0.0.1:$INGEST_PORT/tracker.js | wc -c\`"

# --- 7-9. drain ratio at two batch sizes, the peer's aggregation, freshness ----------------

bench_drain_sizes
bench_aggregate_peer
bench_freshness

# --- 10. reporting's memory over a 366-day range of distinct paths and users ---------------

bench_memory

# --- 11. browser tabs and dashboards against one instance (tests/bench/tabs.sh) -----------

bench_tabs

# --- 12. queue shards on one Redis and on a Redis Cluster (tests/bench/shards.sh) -----------

bench_shards

# --- 13. what visits cost, against the programs before them (tests/bench/visits.sh) ------

bench_visits

# --- 14. ingest's device and country work per event (tests/bench/uacost.c) ---------------

# The database deploy/setup.sh installs (the Makefile's GEOIP_DB_DEFAULT).
GEO_FILE="$T_ROOT/.deps/geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"
UA_CMD="$REL_BUILD/tests/uacost $GEO_FILE 1000000"
ua_out=$("$BUILD/tests/uacost" "$GEO_FILE" 1000000) || die "uacost failed: $ua_out"
say "  $ua_out"
UA_WARM=$(sed -n 's/.*ua_warm_ns=\([0-9]*\).*/\1/p' <<<"$ua_out")
UA_COLD=$(sed -n 's/.*ua_cold_ns=\([0-9]*\).*/\1/p' <<<"$ua_out")
GEO_NS=$(sed -n 's/.*geo_ns=\([0-9]*\).*/\1/p' <<<"$ua_out")
row "14.1" "User-Agent parse, warm cache (8 real User-Agents over and over), per event" "$(group "$UA_WARM") ns" "\`$UA_CMD\`"
row "14.2" "User-Agent parse, cold (every User-Agent new: uap-core's regexes), per event" "$(group "$UA_COLD") ns" "the same run"
row "14.3" "country lookup (geo_country(), 8 public addresses), per event" "$(group "$GEO_NS") ns" "the same run"
EXTRA_TARGETS+=(
    "| User-Agent parse (warm cache) + country lookup ≤ 2 µs per event | $(group "$UA_WARM") + $(group "$GEO_NS") ns | $(verdict "$UA_WARM + $GEO_NS <= 2000") |"
)

# --- C. instruction counts (tests/bench/callgrind.sh) --------------------------------------

COST_DIR="$T_TMP/cost"
say "instruction counts under callgrind: tests/bench/callgrind.sh (its own servers)"
BUILD="$BUILD" BENCH_OUT="$BENCH_OUT" tests/bench/callgrind.sh --out "$COST_DIR" >"$T_TMP/cost.log" 2>&1 ||
    { sed 's/^/#   /' "$T_TMP/cost.log"; die "tests/bench/callgrind.sh failed"; }
while IFS=$'\t' read -r id what result how; do
    row "$id" "$what" "$result" "$how"
done <"$COST_DIR/rows"

# --- targets ------------------------------------------------------------------------------

S1=${STATS_P50[$SMALL_N]} S2=${STATS_P50[$LARGE_N]} A1=${AGG_P50[$SMALL_N]} A2=${AGG_P50[$LARGE_N]}
STATS_GROWTH=$(calc "$S2 / ($S1 > 0 ? $S1 : 1)" "%.2f")
R1=${RANGE_P50["stats $SMALL_N"]} R2=${RANGE_P50["stats $LARGE_N"]}
Y1=${RANGE_P50["stats/summary $SMALL_N"]} Y2=${RANGE_P50["stats/summary $LARGE_N"]}
B1=${RANGE_P50["stats/breakdown $SMALL_N"]} B2=${RANGE_P50["stats/breakdown $LARGE_N"]}
F1=${RANGE_P50["stats/summary filtered $SMALL_N"]} F2=${RANGE_P50["stats/summary filtered $LARGE_N"]}
P1=${RANGE_P50["stats/summary path $SMALL_N"]} P2=${RANGE_P50["stats/summary path $LARGE_N"]}
T1=${RANGE_P50["stats/timeseries $SMALL_N"]} T2=${RANGE_P50["stats/timeseries $LARGE_N"]}
R_GROWTH=$(calc "$R2 / ($R1 > 0 ? $R1 : 1)" "%.2f")
T_GROWTH=$(calc "$T2 / ($T1 > 0 ? $T1 : 1)" "%.2f")
AGG_GROWTH=$(calc "$A2 / ($A1 > 0 ? $A1 : 1)" "%.2f")
TARGETS=(
    "| ingest ≥ 0.7× do-nothing req/s at 50 connections | $RATIO50× | $(verdict "$RATIO50 >= 0.7") |"
    "| ingest p99 ≤ 2 ms at 50 connections | $(fmt_us "${P99[ingest50]}") | $(verdict "${P99[ingest50]} <= 2000") |"
    "| ingest single-connection p50 ≤ 100 µs | $(fmt_us "${P50[ingest1]}") | $(verdict "${P50[ingest1]} <= 100") |"
    "| \`POST /events\` ≥ 300,000 events/s | $(group "$BATCH_EPS") events/s | $(verdict "$BATCH_EPS >= 300000") |"
    "| \`/stats\` p50 ≤ 10 ms at both sizes, flat (≤ 2× from $(group "$SMALL_N") to $(group "$LARGE_N") events) while \`/stats/aggregated\` grows | /stats $(fmt_us "$S1") → $(fmt_us "$S2") (×$STATS_GROWTH); /stats/aggregated $(fmt_us "$A1") → $(fmt_us "$A2") (×$AGG_GROWTH) | $(verdict "$S1 <= 10000 && $S2 <= 10000 && $STATS_GROWTH <= 2") |"
    "| \`/stats\` over 30 days p50 ≤ 20 ms at both sizes, flat (≤ 2×) | $(fmt_us "$R1") → $(fmt_us "$R2") (×$R_GROWTH) | $(verdict "$R1 <= 20000 && $R2 <= 20000 && $R_GROWTH <= 2") |"
    "| \`/stats/summary\` over 30 days p50 ≤ 20 ms at both sizes (rollups only) | $(fmt_us "$Y1") → $(fmt_us "$Y2") | $(verdict "$Y1 <= 20000 && $Y2 <= 20000") |"
    "| breakdown (\`by=source\`) and filtered \`/stats/summary\` (\`filter=source:is:...\`) over 30 days p50 ≤ 30 ms at both sizes | breakdown $(fmt_us "$B1") → $(fmt_us "$B2"); filtered summary $(fmt_us "$F1") → $(fmt_us "$F2") | $(verdict "$B1 <= 30000 && $B2 <= 30000 && $F1 <= 30000 && $F2 <= 30000") |"
    "| \`/stats/summary\` filtered by a page (\`filter=path:is:/p1\`, raw events) over 30 days p50 ≤ 30 ms at both sizes | $(fmt_us "$P1") → $(fmt_us "$P2") | $(verdict "$P1 <= 30000 && $P2 <= 30000") |"
    "| \`/stats/timeseries\` by hour over 7 days p50 ≤ 20 ms at both sizes, flat (≤ 2×) | $(fmt_us "$T1") → $(fmt_us "$T2") (×$T_GROWTH) | $(verdict "$T1 <= 20000 && $T2 <= 20000 && $T_GROWTH <= 2") |"
    "| \`/events\` first page and 100 cursors deep p50 ≤ 20 ms at both sizes | first $(fmt_us "${EVENTS_P50["first $SMALL_N"]}") → $(fmt_us "${EVENTS_P50["first $LARGE_N"]}"); deep $(fmt_us "${EVENTS_P50["deep $SMALL_N"]}") → $(fmt_us "${EVENTS_P50["deep $LARGE_N"]}") | $(verdict "${EVENTS_P50["first $SMALL_N"]} <= 20000 && ${EVENTS_P50["first $LARGE_N"]} <= 20000 && ${EVENTS_P50["deep $SMALL_N"]} <= 20000 && ${EVENTS_P50["deep $LARGE_N"]} <= 20000") |"
    "| ingest < 64 MB RSS under load | $(mb "$INGEST_HWM") | $(verdict "$INGEST_HWM < 65536") |"
    "| processor < 64 MB RSS under load | $(mb "$PROC_HWM") | $(verdict "$PROC_HWM < 65536") |"
    "| reporting < 64 MB RSS under load | $(mb "$REP_HWM") | $(verdict "$REP_HWM < 65536") |"
    "| tracker.js ≤ 3 KB (3,072 bytes) as served | $(group "$TRACKER_BYTES") bytes | $(verdict "$TRACKER_BYTES > 0 && $TRACKER_BYTES <= 3072") |"
    "${EXTRA_TARGETS[@]}"
)

# --- report -------------------------------------------------------------------------------

ELAPSED=$((SECONDS - BENCH_START))
table() {
    echo "| # | measurement | result | command |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
}
targets() {
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    printf '%s\n' "${TARGETS[@]}"
}
commit=$(git -C "$T_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# (docs/benchmarks.md itself, the output of an earlier run, does not count.)
git -C "$T_ROOT" diff --quiet HEAD -- . ':!docs/benchmarks.md' 2>/dev/null ||
    commit+=" with uncommitted changes"
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "# Benchmarks"
    echo
    echo "Written by \`make bench\` (\`tests/bench/bench.sh\`), which overwrites this file on each run;"
    echo "the analysis at the end comes from tests/bench/NOTES.md (edit it there)."
    echo
    echo "## Machine and run"
    echo
    echo "- CPUs: $(nproc) ($cpu_model)"
    echo "- memory: $(calc "$mem_kb / 1048576" "%.1f") GiB"
    echo "- kernel: $(uname -sr)"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $commit"
    echo "- tools: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(redis-server --version | cut -d' ' -f1-3)," \
        "MongoDB-compatible test server jongodb 0.1.6 (docs/development.md)"
    echo "- run time: $ELAPSED s; everything on 127.0.0.1, load generator and servers on the same $(nproc) CPUs"
    echo
    echo "Servers of this run (ports picked free, by tests/it/lib.sh):"
    echo "\`redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no\`;"
    echo "\`jongodb --host=127.0.0.1 --port=0\` (listening on $MONGO_HOSTPORT);"
    echo "\`$INGEST_CMD\` (ingest, HTTP_THREADS 64 by default);"
    echo "\`$NOTHING_CMD\` (the do-nothing server: same civetweb set-up, answers 202 without"
    echo "looking at the body); processors as \`$PROC_CMD\` (one database each);"
    echo "reporting as \`$REP_CMD\` (one instance per data size). Every event:"
    echo "site \`$SITE\`, day $DATE, event_type \`click\` for one in four else \`page_view\`,"
    echo "50 paths, 200 users (tests/bench/*.lua, \`fill\` in tests/bench/bench.sh, tests/bench/rawinsert.c);"
    echo "part 4's page views also have a referrer, one of 20 hosts by user (20 sources)."
    echo
    echo "## Results"
    echo
    table
    echo
    cat "$COST_DIR/details.md"
    echo
    echo "Latencies are wrk's, on keep-alive connections; p50/p99 come from its \`done()\` hook"
    echo "(tests/bench/*.lua). Each server gets one unmeasured second of single-connection load"
    echo "before its first measured run; the queue is emptied (\`DEL events\`) before every run"
    echo "against ingest. CPU per event counts clock ticks (1/$TICK s), so it is good to a few"
    echo "percent. Data for part 4: $(group "$SMALL_N") events loaded in ${LOAD_S[$SMALL_N]} s and"
    echo "$(group "$LARGE_N") events in ${LOAD_S[$LARGE_N]} s (ingest + processor, so the rollups are real);"
    echo "before timing, \`/stats\` and \`/stats/aggregated\` were checked to answer the same JSON"
    echo "(all types, \`page_view\`, \`click\`) with \`total_views\` equal to the events loaded,"
    echo "and so were the 30-day \`/stats\` and the 7-day hourly \`/stats/timeseries\` and their"
    echo "\`/aggregated\`. All events fall on $DATE, so a range reads 29 absent site-days around it;"
    echo "the hourly series' \`unique_users\` are the sizes of the sets of user hashes the site-hour"
    echo "documents keep (docs/api.md), so its cost grows with the users of an hour, not with the events."
    echo
    echo "## Targets"
    echo
    echo "Computed by tests/bench/bench.sh from the figures above."
    echo
    targets
    echo
    echo "## Notes"
    echo
    echo "**The database figures (parts 3 and 4) are those of the test server, not of MongoDB.**"
    echo "The MongoDB-compatible test server (jongodb 0.1.6, docs/development.md) checks uniqueness"
    echo "with a linear scan of the collection on every insert or update and answers every query"
    echo "by a scan (indexes are accepted but unused). Its write cost therefore grows with the"
    echo "collection: loading $(group "$LARGE_N") events took ${LOAD_S[$LARGE_N]} s where $(group "$SMALL_N") took ${LOAD_S[$SMALL_N]} s."
    echo "The larger size of part 4 is about the largest this server takes safely: 20,000 events"
    echo "loaded in 44 s when the sizes were chosen, but from about 22,000 one \`insert_many\` of"
    echo "500 events takes longer than the processor's 5 s socket timeout on this server, and the"
    echo "processor retries it for ever (\"Failed to read 4 bytes: socket error or timeout\")."
    echo "Absolute drain rates say little about MongoDB; the ratio to"
    echo "\`rawinsert\` (the same writes with no conditions or bookkeeping, into the same server)"
    echo "is the figure to read. Likewise \`/stats/aggregated\` scans the day's events here (no"
    echo "index), while \`/stats\` reads a site-day document and the top path documents."
    echo
    cat "$T_ROOT/tests/bench/NOTES.md"
} >"$BENCH_OUT"

echo
echo "## Results ($ELAPSED s; written to ${BENCH_OUT#"$T_ROOT"/})"
echo
table
echo
targets
