# shellcheck shell=bash
# visits.sh - part 13 of tests/bench/bench.sh (sourced by it; uses its helpers and servers,
# and tabs.sh's base_ingest): what visits cost (issue 23), each against the programs of
# BENCH_VISITS_BASE (default: the commit before the first of ingest's former visits.c, the last
# one without visits), built in a temporary folder, in the same run.
#
#   13.1-3  POST /event at 50 connections (wrk), this ingest (a plain LPUSH again, with the
#           visitor's hash, its country, attribution and device) against the base's,
#           alternating, twice each; the better of each counts; with the CPU time Redis and
#           ingest spent per request
#   13.4-6  the same with Redis on a CPU of its own (CPU 1; ingest and wrk on CPU 0), as
#           where Redis runs apart from ingest (only on a machine of 2 CPUs or more)
#   13.7-9  processor CPU per event (the time its threads spent on a CPU, tabs.sh's cpu_ns)
#           draining BENCH_VISITS_N events, BATCH_SIZE=500: the base's processor what the
#           base's ingest queued, then this one what this ingest queued, assigning each
#           event its visit as it claims it (processor/assign.h; on new visits: the visits'
#           state in Redis deleted before), each into a database of its own; and the
#           documents of the visit figures that drain wrote
#
# Environment: BENCH_VISITS_N [3000]; BENCH_VISITS_BASE [see above].
VISITS_N=${BENCH_VISITS_N:-3000}

# drain_cpu BINARY DB INGEST_PORT: fill the queue with VISITS_N events of new visits through
# the ingest on INGEST_PORT, drain them with BINARY (a processor) into DB; sets DRAIN_CPU_US
# (CPU per event, µs) and VISIT_DOCS (the documents of rollup_visits, rollup_entry_pages and
# rollup_exit_pages).
drain_cpu() {
    local bin=$1 uri pid log="$T_TMP/visits-$2.log" c0 c1 c
    uri=$(mongo_uri "$2")
    redis_cli del "$QUEUE" >/dev/null
    redis_cli --scan --pattern "$QUEUE:visit:*" | xargs -r redis-cli -p "$REDIS_PORT" del >/dev/null
    INGEST_PORT=$3 fill "$VISITS_N"
    PORT=0 PROBE_PORT=0 BIND_ADDRESS=127.0.0.1 REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" \
        BATCH_SIZE=500 MONGO_URI="$uri" "$bin" >"$log" 2>&1 &
    pid=$!
    T_PIDS+=("$pid")
    wait_until 10 grep -q 'listening on ' "$log" || die "$bin did not start"
    c0=$(cpu_ns "$pid")
    wait_until 240 drained "$uri" "$VISITS_N" || die "$bin did not drain $VISITS_N events"
    c1=$(cpu_ns "$pid")
    stop_pid "$pid"
    DRAIN_CPU_US=$(calc "($c1 - $c0) / 1000 / $VISITS_N" "%.1f")
    VISIT_DOCS=0
    for c in rollup_visits rollup_entry_pages rollup_exit_pages; do
        VISIT_DOCS=$((VISIT_DOCS + $("$BUILD/tests/mongoq" "$uri" "$c" count '{}')))
    done
}

bench_visits() {
    local first rev dir base_cpu
    first=$(git -C "$T_ROOT" log --diff-filter=A --format=%H -- ingest/visits.c | tail -n 1)
    rev=${BENCH_VISITS_BASE:-$first^}
    base_ingest ingest/visits.c "$rev"
    dir=$(dirname "$(dirname "$BASE_INGEST")")
    make -C "$dir" -j2 BUILD=build build/processor >>"$dir.log" 2>&1 ||
        die "the processor at $BASE_REV did not build (see $dir.log)"

    ingest_vs_base ingest13 5
    row 13.1 "ingest at $BASE_REV (before visits), \`POST /event\`, 50 connections, better of 2" \
        "$BASE_RES" "\`wrk -t2 -c50 -d5s --latency -s tests/bench/post.lua\` against it"
    row 13.2 "this ingest (visits assigned by the processor), the same, alternating with 13.1" \
        "$NOW_RES" "the same"
    VISITS_TPUT=$VS_TPUT
    row 13.3 "**this / $BASE_REV req/s at 50 connections**" "**$VISITS_TPUT %**" "13.2 / 13.1"
    VISITS_PIN_TPUT=
    if [ "$(nproc)" -ge 2 ]; then
        VS_PIN=1 ingest_vs_base ingest13p 5
        row 13.4 "ingest at $BASE_REV, the same with Redis alone on CPU 1 (ingest and wrk on CPU 0)" \
            "$BASE_RES" "\`taskset -a -p -c 1 <redis-server>\`, \`taskset -a -p -c 0 <ingest>\`, \`taskset -c 0 wrk ...\`"
        row 13.5 "this ingest, the same, alternating with 13.4" "$NOW_RES" "the same"
        VISITS_PIN_TPUT=$VS_TPUT
        row 13.6 "**this / $BASE_REV req/s, Redis on a CPU of its own**" "**$VISITS_PIN_TPUT %**" "13.5 / 13.4"
    fi

    start_base_ingest "$T_TMP/visits-base-ingest.log"
    drain_cpu "$dir/build/processor" bench_visits_base "$BASE_PORT"
    stop_pid "$BASE_PID"
    base_cpu=$DRAIN_CPU_US
    row 13.7 "processor at $BASE_REV, CPU per event, $(group "$VISITS_N") events, BATCH_SIZE=500" \
        "$base_cpu µs/event" "time its threads spent on a CPU (\`/proc/<pid>/task/*/schedstat\`) over the drain"
    drain_cpu "$BUILD/processor" bench_visits_now "$INGEST_PORT"
    VISITS_CPU_RATIO=$(calc "$DRAIN_CPU_US / $base_cpu" "%.2f")
    row 13.8 "this processor (each event's visit assigned as it claims it; five more figures: visits by day and hour, entry and exit pages), the same" \
        "$DRAIN_CPU_US µs/event; $VISIT_DOCS documents of the visit figures (\`rollup_visits\`, \`rollup_entry_pages\`, \`rollup_exit_pages\`)" "the same"
    row 13.9 "**this / $BASE_REV processor CPU per event**" "**×$VISITS_CPU_RATIO**" "13.8 / 13.7"
    [ -z "$VISITS_PIN_TPUT" ] || EXTRA_TARGETS+=(
        "| \`POST /event\` with visits within 10 % of $BASE_REV's (same run, Redis on a CPU of its own) | $VISITS_PIN_TPUT % | $(verdict "$VISITS_PIN_TPUT >= -10") |"
    )
    EXTRA_TARGETS+=(
        "| \`POST /event\` with visits within 10 % of $BASE_REV's (same run, all on the same CPUs) | $VISITS_TPUT % | $(verdict "$VISITS_TPUT >= -10") |"
        "| processor CPU per event with visits ≤ 1.5× $BASE_REV's (same run) | ×$VISITS_CPU_RATIO | $(verdict "$VISITS_CPU_RATIO <= 1.5") |"
    )
}
