# shellcheck shell=bash
# same_run.sh - parts 7-9 of tests/bench/bench.sh (sourced by it; uses its helpers and servers):
#
#   7. the processor's drain rate against raw writes of the same events (build/tests/rawinsert)
#      at two batch sizes, BATCH_SIZE 100 and 500, each pair run back to back, twice
#   8. /stats/aggregated against the plain aggregation a peer service would run for the same
#      answer on the same server (build/tests/aggpeer peer: three commands, count, distinct
#      users, top paths), at the two data sizes of part 4, with the test server's and
#      reporting's CPU time per request (where the time goes)
#   9. freshness: the time from an event's 202 to its being counted in /stats, at a steady
#      load and right after a burst, at the two data sizes of part 4 (build/tests/loadgen
#      --fresh)
#
# Environment (defaults in brackets): BENCH_RATIO_N [3000] events per drain of part 7;
# BENCH_AGG_RUNS [10] timed runs per mode of part 8; BENCH_FRESH_N [10] probes at steady
# load, BENCH_FRESH_RATE [20] events/s of that load, BENCH_BURST_N [1000] events per burst,
# BENCH_BURSTS [2] bursts, per data size in part 9.
RATIO_N=${BENCH_RATIO_N:-3000}
AGG_RUNS=${BENCH_AGG_RUNS:-10}
FRESH_N=${BENCH_FRESH_N:-10}
FRESH_RATE=${BENCH_FRESH_RATE:-20}
BURST_N=${BENCH_BURST_N:-1000}
BURSTS=${BENCH_BURSTS:-2}
EXTRA_TARGETS=()

# registered N: more than N consumers (a processor joins once it has created its indexes).
registered() {
    [ "$(redis_cli scard "$QUEUE:consumers")" -gt "$1" ]
}

# drain_once SIZE TRY: one processor with BATCH_SIZE=SIZE drains RATIO_N queued events into a
# database of its own; sets D_EPS and D_CMD. Timed from when the events are handed to it, once
# it has started (rawinsert's timing, too, leaves out its start and its indexes): the queue is
# filled under another key, renamed to QUEUE_KEY once the processor has registered (RENAME
# wakes its blocked BLMOVE).
drain_once() {
    local uri t0 t1 pid n0
    uri=$(mongo_uri "bench_ratio_$1_$2")
    redis_cli del "$QUEUE" "$QUEUE:staged" >/dev/null
    fill "$RATIO_N"
    redis_cli rename "$QUEUE" "$QUEUE:staged" >/dev/null
    n0=$(redis_cli scard "$QUEUE:consumers")
    start_service processor9 REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" BATCH_SIZE="$1" \
        MONGO_URI="$uri" || die "processor did not start"
    pid=$PROCESSOR9_PID
    wait_until 30 registered "$n0" || die "the processor did not register within 30 s"
    t0=$EPOCHREALTIME
    redis_cli rename "$QUEUE:staged" "$QUEUE" >/dev/null
    wait_until 240 drained "$uri" "$RATIO_N" ||
        die "the processor (BATCH_SIZE=$1) did not drain $RATIO_N events within 240 s"
    t1=$EPOCHREALTIME
    stop_pid "$pid"
    [ "$STOP_RC" = 0 ] || die "the processor exited $STOP_RC on SIGTERM"
    D_EPS=$(calc "$RATIO_N / ($t1 - $t0)" "%.0f")
    D_CMD="PORT=0 REDIS_PORT=$REDIS_PORT QUEUE_KEY=$QUEUE BATCH_SIZE=$1 MONGO_URI=$uri $REL_BUILD/processor"
}

# Each pair (processor, rawinsert) runs twice, alternating, each time into new databases; the
# better rate of each side counts, so that a moment of load from elsewhere on the machine
# weighs less on the ratio.
bench_drain_sizes() {
    local size try out raw ratio ratios="" ok=1 i=0 best_d best_r raw_cmd
    for size in 100 500; do
        best_d=0 best_r=0
        for try in 1 2; do
            say "part 7: drain of $RATIO_N events at BATCH_SIZE=$size, then rawinsert (try $try)"
            drain_once "$size" "$try"
            raw_cmd="$REL_BUILD/tests/rawinsert $(mongo_uri "bench_ratio_raw_${size}_$try") $RATIO_N $size"
            out=$(timeout 240 "$BUILD/tests/rawinsert" "$(mongo_uri "bench_ratio_raw_${size}_$try")" \
                "$RATIO_N" "$size") || die "rawinsert failed: $out"
            raw=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$out")
            [ -n "$raw" ] || die "rawinsert printed no rate: $out"
            say "  drain $D_EPS events/s, raw $raw events/s"
            [ "$D_EPS" -le "$best_d" ] || best_d=$D_EPS
            [ "$raw" -le "$best_r" ] || best_r=$raw
        done
        ratio=$(calc "$best_d / $best_r" "%.2f")
        row "7.$((i += 1))" "processor drain / raw writes, BATCH_SIZE=$size ($(group "$RATIO_N") events, better of two tries each)" \
            "**$ratio** ($(group "$best_d") / $(group "$best_r") events/s)" \
            "\`$D_CMD\` timed from the queue's handing over (not its start) to \`queue_settled\` and all stored; \`$raw_cmd\`"
        ratios+="${ratios:+, }$ratio at $size"
        awk "BEGIN { exit !($ratio >= 0.9) }" || ok=0
    done
    EXTRA_TARGETS+=("| processor drain ≥ 0.9× raw writes at BATCH_SIZE 100 and 500 | $ratios | $([ "$ok" = 1 ] && echo met || echo "not met") |")
}

# agg_mode URI MODE: runs aggpeer MODE on URI (checking its answer against /stats); sets
# AG_P50 (µs) and AG_CPU, the test server's CPU time per run (µs, its utime+stime over all
# the runs, the unmeasured first included).
agg_mode() {
    local out c0
    c0=$(cpu_ticks "$MONGO_PID")
    out=$(timeout 300 "$BUILD/tests/aggpeer" "$1" "$SITE" "$DATE" "$2" "$AGG_RUNS") ||
        die "aggpeer $2 failed: $out"
    AG_CPU=$(calc "($(cpu_ticks "$MONGO_PID") - $c0) * 1e6 / $TICK / ($AGG_RUNS + 1)" "%.0f")
    [ "$(tail -n 1 <<<"$out")" = "$A_WANT" ] ||
        die "aggpeer $2 answers $(tail -n 1 <<<"$out"), /stats $A_WANT"
    AG_P50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$out")
}

# agg_row ID WHAT MODE URI: a row for the last agg_mode.
agg_row() {
    row "$1" "$2" "p50 $(fmt_us "$AG_P50"); test server CPU $(fmt_us "$AG_CPU") a run" \
        "\`$REL_BUILD/tests/aggpeer $4 $SITE $DATE $3 $AGG_RUNS\`"
}

bench_aggregate_peer() {
    local n port pid uri i=0 peer peer_cpu http verdicts="" ok=1 c0m c0r srv own
    for n in "$SMALL_N" "$LARGE_N"; do
        if [ "$n" = "$SMALL_N" ]; then
            port=$REPORTING_PORT pid=$REPORTING_PID
        else
            port=$REPORTING2_PORT pid=$REPORTING2_PID
        fi
        uri=$(mongo_uri "bench_stats_$n")
        A_WANT=$(curl -s --max-time 60 "http://127.0.0.1:$port/stats?site_id=$SITE&date=$DATE" |
            jq -c '{total_views, unique_users, top_paths}')
        say "part 8: the plain aggregations on $uri ($n events), $AGG_RUNS runs each"
        agg_mode "$uri" peer
        peer=$AG_P50 peer_cpu=$AG_CPU
        agg_row "8.$((i += 1))" "yardstick: a peer's plain aggregation, three commands (count, users, top paths), $(group "$n") events" peer "$uri"
        warm_up tests/bench/report.lua "http://127.0.0.1:$port/stats/aggregated?site_id=$SITE&date=$DATE"
        c0m=$(cpu_ticks "$MONGO_PID") c0r=$(cpu_ticks "$pid")
        bench_wrk -t1 -c1 -d3s --latency -s tests/bench/report.lua \
            "http://127.0.0.1:$port/stats/aggregated?site_id=$SITE&date=$DATE"
        srv=$(calc "($(cpu_ticks "$MONGO_PID") - $c0m) * 1e6 / $TICK / $W_REQ" "%.0f")
        own=$(calc "($(cpu_ticks "$pid") - $c0r) * 1e6 / $TICK / $W_REQ" "%.0f")
        http=$W_P50
        # shellcheck disable=SC2153 # W_CMD: set by bench.sh's bench_wrk, just above
        row "8.$((i += 1))" "\`/stats/aggregated\` through HTTP, $(group "$n") events" \
            "$(wrk_result); CPU a request: test server $(fmt_us "$srv"), reporting $(fmt_us "$own")" \
            "\`$W_CMD\`; utime+stime of both from \`/proc/PID/stat\`"
        row "8.$((i += 1))" "**\`/stats/aggregated\` / the peer's aggregation**, $(group "$n") events" \
            "**$(calc "$http / $peer" "%.2f")** (p50); test server CPU $(calc "$srv / ($peer_cpu > 0 ? $peer_cpu : 1)" "%.2f")" \
            "8.$((i - 1)) / 8.$((i - 2))"
        verdicts+="${verdicts:+; }$(group "$n"): $(fmt_us "$http") vs $(fmt_us "$peer")"
        [ "$http" -lt "$peer" ] || ok=0
    done
    EXTRA_TARGETS+=("| \`/stats/aggregated\` (HTTP) faster than a peer's plain aggregation on the same server, at both sizes | $verdicts | $([ "$ok" = 1 ] && echo met || echo "not met") |")
}

# fresh_line FILE: "p50 X ms, p99 Y ms (N probes)" of loadgen --fresh's summary in FILE.
fresh_line() {
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
         END { printf "p50 %s ms, p99 %s ms, max %s ms (%s probes)", v["p50_ms"], v["p99_ms"], v["max_ms"], v["probes"] }' "$1"
}

bench_freshness() {
    local n port uri pid load_pid b i=0 out p99s="" ok=1 cmd p99
    for n in "$SMALL_N" "$LARGE_N"; do
        if [ "$n" = "$SMALL_N" ]; then port=$REPORTING_PORT; else port=$REPORTING2_PORT; fi
        uri=$(mongo_uri "bench_stats_$n")
        redis_cli del "$QUEUE" >/dev/null
        # socketTimeoutMS 60 s, as part 4's loading processor: on a slow machine the test
        # server's insert into 15,000 events can outlast 5 s, and a timed-out one runs on there.
        start_service processor8 REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$QUEUE" BATCH_SIZE=500 \
            MONGO_URI="$uri?socketTimeoutMS=60000" || die "processor did not start"
        pid=$PROCESSOR8_PID
        say "part 9: freshness on $uri ($n events), $FRESH_RATE events/s of other load"
        "$BUILD/tests/loadgen" --port "$INGEST_PORT" --site fresh-load --rate "$FRESH_RATE" \
            --connections 2 --seconds 600 --out "$T_TMP/fresh-load.$n" >/dev/null &
        load_pid=$!
        T_PIDS+=("$load_pid")
        cmd="$REL_BUILD/tests/loadgen --port $INGEST_PORT --site $SITE --fresh $FRESH_N --stats-port $port --seconds 60 --out FILE"
        "$BUILD/tests/loadgen" --port "$INGEST_PORT" --site "$SITE" --tag "s$n" --fresh "$FRESH_N" \
            --stats-port "$port" --seconds 60 --out "$T_TMP/fresh.$n" >"$T_TMP/fresh-sum.$n" ||
            die "the freshness probes failed ($n events)"
        stop_pid "$load_pid"
        row "9.$((i += 1))" "freshness, 202 to counted in \`/stats\`, at $FRESH_RATE events/s of other load, $(group "$n") events" \
            "**$(fresh_line "$T_TMP/fresh-sum.$n")**" \
            "\`$cmd\` next to \`loadgen --site fresh-load --rate $FRESH_RATE\`; processor BATCH_SIZE=500"
        p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$T_TMP/fresh-sum.$n")
        p99s+="${p99s:+; }$(group "$n") events: steady $p99 ms"
        awk "BEGIN { exit !($p99 < 1000) }" || ok=0
        : >"$T_TMP/burst.$n"
        for ((b = 0; b < BURSTS; b++)); do
            fill "$BURST_N"
            "$BUILD/tests/loadgen" --port "$INGEST_PORT" --site "$SITE" --tag "b$n-$b" --fresh 1 \
                --stats-port "$port" --seconds 60 --out "$T_TMP/burst1" >/dev/null ||
                die "the freshness probe after a burst failed ($n events)"
            cat "$T_TMP/burst1" >>"$T_TMP/burst.$n"
        done
        out=$(sort -n "$T_TMP/burst.$n" | awk '{ v[NR] = $1 } END { printf "p50 %s ms, max %s ms (%d bursts)", v[int((NR + 1) / 2)], v[NR], NR }')
        row "9.$((i += 1))" "freshness of an event sent right after a burst of $(group "$BURST_N") events, $(group "$n") events" \
            "**$out**" "\`fill $BURST_N\` (POST /events), then \`loadgen ... --fresh 1\`"
        p99s+=", after a burst $(sort -n "$T_TMP/burst.$n" | tail -n 1) ms"
        stop_pid "$pid"
        [ "$STOP_RC" = 0 ] || die "the processor exited $STOP_RC on SIGTERM"
    done
    EXTRA_TARGETS+=("| freshness p99 < 1 s at a steady load, both sizes | $p99s | $([ "$ok" = 1 ] && echo met || echo "not met") |")
}
