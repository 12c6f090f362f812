# shellcheck shell=bash
# memory.sh - part 10 of tests/bench/bench.sh (sourced by it; uses its helpers and servers):
# reporting's peak RSS while it reads a 366-day range of MEM_N distinct paths and users,
# every figure in turn (the reads of tests/it/it_memory.sh, on more data): each read's growth
# of VmHWM (reset through /proc/PID/clear_refs before each), and the peak over them all.
#
# The data (build/tests/memfill: MEM_N events over 366 days, each with its own path and
# user of 64 bytes, and their rollup documents) is written raw. The test server checks
# uniqueness by a scan of the collection on every insert (docs/benchmarks.md, Notes), so loading
# grows with the square of MEM_N: 3,660 take about 6 s, 10,000 about 40 s on a quiet
# machine (two minutes on a busy one), 100,000 several hours. Hence the default of 10,000;
# BENCH_DISTINCT_N=100000 runs the issue's size for whoever has the hours.
#
# Environment (defaults in brackets): BENCH_DISTINCT_N [10000].
MEM_N=${BENCH_DISTINCT_N:-10000}

bench_memory() {
    local uri out pid port base ep code grew max_grew=0 max_what="" idle peak=0 hwm t0 load_s
    local q="site_id=wide&from=2024-11-15&to=2025-11-15"
    [[ "$MEM_N" =~ ^[1-9][0-9]{0,6}$ ]] || die "BENCH_DISTINCT_N must be 1-9999999, not '$MEM_N'"
    uri=$(mongo_uri bench_memory)
    say "loading $MEM_N events with distinct paths and users over 366 days (memfill)"
    t0=$EPOCHREALTIME
    out=$("$BUILD/tests/memfill" "$uri" wide "$MEM_N" 366 64 200) || die "memfill failed: $out"
    "$BUILD/tests/memfill" "$uri" warm 366 366 8 100 >/dev/null || die "memfill (warm) failed"
    load_s=$(calc "$EPOCHREALTIME - $t0" "%.0f")
    row "10.1" "data: $(group "$MEM_N") events over 366 days, each with its own path and user, and their rollup documents (raw writes)" \
        "loaded in $load_s s" "\`$REL_BUILD/tests/memfill $uri wide $MEM_N 366 64 200\`"
    # A read of this many documents takes the test server (it scans) longer than
    # reporting's default socketTimeoutMS of 10 s.
    start_service reporting10 MONGO_URI="$uri?socketTimeoutMS=900000" || die "reporting did not start"
    pid=$REPORTING10_PID
    port=$REPORTING10_PORT
    sleep 0.5
    idle=$(rss_kb "$pid" VmRSS)
    # The same reads on a small site first: the workers' arenas, the driver's connections.
    for ep in "stats?site_id=warm&from=2024-11-15&to=2025-11-15" \
        "stats/aggregated?site_id=warm&from=2024-11-15&to=2025-11-15" \
        "events?site_id=warm&limit=1000"; do
        curl -s -o /dev/null --max-time 300 "http://127.0.0.1:$port/$ep"
    done
    for ep in "stats?$q" "stats/aggregated?$q" "stats/breakdown?$q&by=path" \
        "stats/breakdown/aggregated?$q&by=path" "stats/breakdown/aggregated?$q&by=event_type" \
        "stats/breakdown/aggregated?$q&by=referrer" "stats/timeseries?$q&interval=day" \
        "stats/timeseries/aggregated?$q&interval=day" "events?site_id=wide&limit=1000"; do
        base=$(rss_kb "$pid" VmRSS)
        echo 5 >"/proc/$pid/clear_refs"
        code=$(curl -s -o "$T_TMP/mem.out" -w '%{http_code}' --max-time 600 "http://127.0.0.1:$port/$ep")
        [ "$code" = 200 ] || die "/$ep answered $code: $(head -c 300 "$T_TMP/mem.out")"
        hwm=$(rss_kb "$pid" VmHWM)
        grew=$((hwm - base))
        [ "$hwm" -le "$peak" ] || peak=$hwm
        say "/$ep: peak RSS $((base / 1024)) MB + $grew kB"
        if [ "$grew" -gt "$max_grew" ]; then max_grew=$grew max_what="/${ep%%\?*} (${ep##*&})"; fi
    done
    stop_pid "$pid"
    row "10.2" "reporting RSS reading every figure of that range, one after another: idle / peak" \
        "$(mb "$idle") / **$(mb "$peak")**; the largest growth of one read: $(calc "$max_grew / 1024" "%.1f") MB ($max_what)" \
        "VmRSS after start; VmHWM after each read, reset before it (\`echo 5 >/proc/PID/clear_refs\`): /stats, /stats/aggregated, /stats/breakdown by path and /aggregated by path, event_type and referrer, /stats/timeseries and /aggregated by day, over \`$q\`; /events?limit=1000"
    EXTRA_TARGETS+=("| reporting's peak RSS over a 366-day range of $(group "$MEM_N") distinct paths and users ≤ idle + 8 MB, each read growing it by ≤ 4 MB (docs/design.md) | $(mb "$idle") → $(mb "$peak"); largest read +$(calc "$max_grew / 1024" "%.1f") MB | $(verdict "$peak <= $idle + 8192 && $max_grew <= 4096") |")
}
