# shellcheck shell=bash
# tabs.sh - part 11 of tests/bench/bench.sh (sourced by it; uses its helpers and servers):
# open browser tabs and dashboards against one instance, with its defaults (issue 21).
#
#   11.1-3  1,000, 2,000 and 5,000 browser-like clients against one ingest
#           (build/tests/tabs: keep-alive, one batch of one event to POST /events every 2 s,
#           reconnecting when ingest closed the idle connection): answered share, p50, p99
#   11.4    500 dashboard-like clients against one reporting (every 5 s: today's /stats and
#           /events?limit=20, one after the other on the tab's connection)
#   11.5-7  POST /event at 50 keep-alive connections (wrk), this ingest against the ingest of
#           BENCH_BASE built in a temporary folder, twice each, alternating; the better of
#           each counts. BENCH_BASE [the commit before the worker pool's, common/http_pool.c]
#
# Environment: BENCH_TABS_SECONDS [12] the length of each run of 11.1-4.
TABS_SECONDS=${BENCH_TABS_SECONDS:-12}

# tabs_row ID WHAT ARGS...: run build/tests/tabs ARGS and add its row.
tabs_row() {
    local id=$1 what=$2 out kv cmd
    shift 2
    cmd=$(cmd_str "$REL_BUILD/tests/tabs" "$@")
    say "\$ $cmd"
    out=$(timeout 120 "$BUILD/tests/tabs" "$@") || die "tabs failed: $cmd"
    say "  $out"
    local -A r
    for kv in $out; do r[${kv%%=*}]=${kv#*=}; done
    TABS_SHARE=$(calc "100 * ${r[ok]} / ${r[requests]}" "%.2f")
    TABS_P99=${r[p99_ms]}
    row "$id" "$what" "**$TABS_SHARE %** of $(group "${r[requests]}") answered 2xx ($(group "${r[failed]}") without an answer); p50 ${r[p50_ms]} ms, **p99 ${r[p99_ms]} ms** (max ${r[max_ms]}); $(group "${r[closed_idle]}") idle connections closed by the server, $(group "${r[retried]}") requests resent" \
        "\`$cmd\`"
}

# base_ingest [FILE [REV]]: builds the ingest of REV (default: BENCH_BASE, else the commit
# before the first that added FILE, default common/http_pool.c) into $T_TMP/base-<rev>; sets
# BASE_REV and BASE_INGEST. Part 12 (tests/bench/shards.sh) uses it too.
base_ingest() {
    local first file=${1:-common/http_pool.c} rev=${2:-}
    first=$(git -C "$T_ROOT" log --diff-filter=A --format=%H -- "$file" | tail -n 1)
    [ -n "$rev" ] || rev=${BENCH_BASE:-$first^}
    BASE_REV=$(git -C "$T_ROOT" rev-parse --short "$rev") ||
        die "no commit to compare with (BENCH_BASE)"
    local dir=$T_TMP/base-$BASE_REV
    if [ ! -x "$dir/build/ingest" ]; then
        mkdir -p "$dir"
        git -C "$T_ROOT" archive "$BASE_REV" | tar -x -C "$dir" || die "git archive $BASE_REV failed"
        ln -s "$T_ROOT/.deps" "$dir/.deps"
        say "building ingest at $BASE_REV in $dir"
        make -C "$dir" -j2 BUILD=build build/ingest >"$dir.log" 2>&1 ||
            die "ingest at $BASE_REV did not build (see $dir.log)"
    fi
    BASE_INGEST=$dir/build/ingest
}

# start_base_ingest LOG: start $BASE_INGEST (base_ingest) on a free port, on QUEUE_KEY of the
# benchmark's Redis, its output in LOG; sets BASE_PID and BASE_PORT.
start_base_ingest() {
    PORT=0 PROBE_PORT=0 BIND_ADDRESS=127.0.0.1 REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" \
        "$BASE_INGEST" >"$1" 2>&1 &
    BASE_PID=$!
    T_PIDS+=("$BASE_PID")
    wait_until 10 grep -q 'listening on ' "$1" || die "the base ingest did not start"
    BASE_PORT=$(sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$1" | head -n 1)
}

# cpu_ns PID: the time PID's threads have spent on a CPU, in ns (their
# /proc/<pid>/task/*/schedstat, finer than /proc/<pid>/stat's ticks).
cpu_ns() {
    local f t sum=0
    for f in /proc/"$1"/task/*/schedstat; do
        read -r t _ 2>/dev/null <"$f" && sum=$((sum + t))
    done
    echo "$sum"
}

# ingest_vs_base NAME SECONDS [VAR=value ...]: POST /event at 50 connections for SECONDS,
# against $BASE_INGEST (base_ingest) and this ingest (started as service NAME with the
# assignments), in turn, twice each, both on QUEUE_KEY of the same Redis, emptied before
# each run. Sets BASE_RES and NOW_RES (wrk_result of each one's better run, with the CPU time
# Redis and that ingest spent per request during it) and VS_TPUT (this one's req/s against
# the base's, in percent). With VS_PIN=1, Redis runs on CPU 1 alone and both ingests and wrk
# on CPU 0 (Redis given a CPU of its own, as where it runs on its own machine), and Redis
# goes back to every CPU after. Parts 11, 12 and 13 use it.
ingest_vs_base() {
    local name=$1 secs=$2 log="$T_TMP/$1-base.log" base_pid base_port now_port now_pid port
    local rps_base=0 rps_now=0 pid r0 i0 split
    shift 2
    start_base_ingest "$log"
    base_pid=$BASE_PID base_port=$BASE_PORT
    start_service "$name" REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" "$@" ||
        die "ingest did not start"
    now_port=${name^^}_PORT
    now_port=${!now_port}
    now_pid=${name^^}_PID
    now_pid=${!now_pid}
    if [ "${VS_PIN:-0}" = 1 ]; then
        for pid in "$REDIS_PID:1" "$base_pid:0" "$now_pid:0"; do
            taskset -a -p -c "${pid#*:}" "${pid%:*}" >/dev/null || die "taskset failed"
        done
        # bench_wrk's wrk on CPU 0 too (dynamic scope: it sees this local).
        # shellcheck disable=SC2034
        local WRK_CPU=0
    fi
    warm_up tests/bench/post.lua "http://127.0.0.1:$base_port/event"
    warm_up tests/bench/post.lua "http://127.0.0.1:$now_port/event"
    for _ in 1 2; do
        for port in "$base_port" "$now_port"; do
            redis_cli del "$QUEUE" >/dev/null
            pid=$base_pid
            [ "$port" = "$base_port" ] || pid=$now_pid
            r0=$(cpu_ns "$REDIS_PID") i0=$(cpu_ns "$pid")
            bench_wrk -t2 -c50 -d"${secs}s" --latency -s tests/bench/post.lua \
                "http://127.0.0.1:$port/event"
            split=$(calc "($(cpu_ns "$REDIS_PID") - $r0) / 1000 / $W_REQ" "%.1f")
            split="$(wrk_result); CPU per request: Redis $split µs, ingest $(calc \
                "($(cpu_ns "$pid") - $i0) / 1000 / $W_REQ" "%.1f") µs"
            if [ "$port" = "$base_port" ]; then
                [ "$W_RPS" -le "$rps_base" ] || { rps_base=$W_RPS BASE_RES=$split; }
            else
                [ "$W_RPS" -le "$rps_now" ] || { rps_now=$W_RPS NOW_RES=$split; }
            fi
        done
    done
    redis_cli del "$QUEUE" >/dev/null
    stop_pid "$base_pid"
    stop_pid "$now_pid"
    [ "${VS_PIN:-0}" = 0 ] || taskset -a -p -c "0-$(($(nproc) - 1))" "$REDIS_PID" >/dev/null
    VS_TPUT=$(calc "100 * ($rps_now - $rps_base) / $rps_base" "%+.1f")
}

bench_tabs() {
    local n id=0
    start_service ingest7 REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" || die "ingest did not start"
    for n in 1000 2000 5000; do
        redis_cli del "$QUEUE" >/dev/null
        id=$((id + 1))
        tabs_row "11.$id" \
            "$(group "$n") browser tabs, one ingest (defaults), a batch every 2 s each" \
            --port "$INGEST7_PORT" --clients "$n" --seconds "$TABS_SECONDS" --site tabs-site
        [ "$n" != 5000 ] || TABS_5000_P99=$TABS_P99 TABS_5000_SHARE=$TABS_SHARE
    done
    redis_cli del "$QUEUE" >/dev/null
    stop_pid "$INGEST7_PID"
    # (On part 4's larger data set.)
    start_service reporting7 MONGO_URI="$(mongo_uri "bench_stats_$LARGE_N")" || die "reporting did not start"
    tabs_row 11.4 "500 dashboards, one reporting (defaults), two reads every 5 s each" \
        --port "$REPORTING7_PORT" --clients 500 --seconds "$TABS_SECONDS" --period-ms 5000 \
        --get "/stats?site_id=$SITE&date=$DATE /events?site_id=$SITE&limit=20"
    DASH_SHARE=$TABS_SHARE DASH_P99=$TABS_P99
    stop_pid "$REPORTING7_PID"

    base_ingest common/http_pool.c
    ingest_vs_base ingest8 6
    row 11.5 "ingest at $BASE_REV (before the worker pool), \`POST /event\`, 50 connections, better of 2" \
        "$BASE_RES" "\`wrk -t2 -c50 -d6s --latency -s tests/bench/post.lua\` against it"
    row 11.6 "this ingest, the same, alternating with 11.5" "$NOW_RES" "the same"
    TABS_TPUT=$VS_TPUT
    row 11.7 "**this / $BASE_REV req/s at 50 connections**" "**$TABS_TPUT %**" "11.6 / 11.5"
    EXTRA_TARGETS+=(
        "| 5,000 browser tabs against one ingest: every request answered, p99 ≤ 50 ms | $TABS_5000_SHARE %, p99 $TABS_5000_P99 ms | $(verdict "$TABS_5000_SHARE >= 100 && $TABS_5000_P99 <= 50") |"
        "| 500 dashboards against one reporting: every request answered | $DASH_SHARE %, p99 $DASH_P99 ms | $(verdict "$DASH_SHARE >= 100") |"
        "| \`POST /event\` at 50 connections within 5 % of $BASE_REV's (same run) | $TABS_TPUT % | $(verdict "$TABS_TPUT >= -5") |"
    )
}
