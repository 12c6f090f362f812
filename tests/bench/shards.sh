# shellcheck shell=bash
# shards.sh - part 12 of tests/bench/bench.sh (sourced by it; uses its helpers and servers,
# and tabs.sh's base_ingest): queue shards (QUEUE_SHARDS, issue 22) on one Redis server and on
# a Redis Cluster.
#
#   12.1-4  one ingest and two processors on bench.sh's Redis with QUEUE_SHARDS = 1, 2, 4, 8:
#           BENCH_SHARDS_N events (build/tests/loadgen --max, 4 connections, as fast as it
#           goes, 100 visitors per connection, --users: 400 visitors spread the events over
#           the shards far more evenly than loadgen's usual 50; the test MongoDB server's
#           rollups slow down with many more) from the start of the load to the last one stored (the processors'
#           analytics_events_stored_total), each run on a database of its own; and the Redis
#           commands per event (INFO stats total_commands_processed before and after,
#           everything the three programs sent meanwhile, idle polling included)
#   12.5-6  the same on a local Redis Cluster (start_redis_cluster: 3 masters, 3 replicas)
#           with QUEUE_SHARDS = 6 (a multiple of the masters) and 8; commands per event over
#           the masters (replicas apply the same writes again and are left out), and each
#           master's share of them (with 6 shards each serves 2: a third each is expected)
#   12.7-9  POST /event at 50 connections (wrk), this ingest with QUEUE_SHARDS=1 against the
#           ingest of BENCH_SHARDS_BASE (default: the commit before common/qshard.c's first,
#           the last one without shards), alternating, twice each; the better of each counts
#
# Environment: BENCH_SHARDS_N [2000]; BENCH_SHARDS_BASE [see 12.7].
SHARDS_N=${BENCH_SHARDS_N:-2000}

# commands_at PORT...: total_commands_processed added up over the servers at PORT...
commands_at() {
    local p sum=0 n
    for p in "$@"; do
        n=$(redis-cli -p "$p" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p')
        sum=$((sum + ${n:-0}))
    done
    echo "$sum"
}

# stored_by_processors: analytics_events_stored_total of processor12a and processor12b.
stored_by_processors() {
    local name port sum=0 n
    for name in PROCESSOR12A PROCESSOR12B; do
        port=${name}_PORT
        n=$(curl -s --max-time 2 "http://127.0.0.1:${!port}/metrics" |
            sed -n 's/^analytics_events_stored_total \([0-9]*\)$/\1/p')
        sum=$((sum + ${n:-0}))
    done
    echo "$sum"
}

# shards_run ID WHERE K PORTS ENV...: one ingest and two processors with QUEUE_SHARDS=K and
# ENV (the Redis to use), BENCH_SHARDS_N events through them; PORTS (comma-separated) are
# the servers whose commands count. Adds the row; sets SH_EPS, SH_CPE and SH_SHARES (each
# port's share of the commands, in %, blank-separated).
shards_run() {
    local id=$1 where=$2 k=$3 ports sum0 sum1 t0 t1 out p db="bench_shards_$1"
    local -a before=() after=()
    IFS=, read -ra ports <<<"$4"
    shift 4
    db=${db//./_}
    start_service ingest12 "$@" QUEUE_SHARDS="$k" QUEUE_KEY="$QUEUE" || die "ingest did not start"
    start_service processor12a "$@" QUEUE_SHARDS="$k" QUEUE_KEY="$QUEUE" \
        MONGO_URI="$(mongo_uri "$db")" || die "processor did not start"
    start_service processor12b "$@" QUEUE_SHARDS="$k" QUEUE_KEY="$QUEUE" \
        MONGO_URI="$(mongo_uri "$db")" || die "processor did not start"
    sleep 0.3
    for p in "${ports[@]}"; do before+=("$(commands_at "$p")"); done
    t0=$(date +%s%N)
    out=$(timeout 120 "$BUILD/tests/loadgen" --port "$INGEST12_PORT" --connections 4 \
        --max "$SHARDS_N" --users 100 --seconds 60 --site shards-site --tag s --out "$T_TMP/shards.$id.txt") ||
        die "loadgen failed ($where, QUEUE_SHARDS=$k)"
    [ "$out" = "sent=$SHARDS_N accepted=$SHARDS_N rejected=0 unknown=0" ] ||
        die "not every event answered 202 ($where, QUEUE_SHARDS=$k): $out"
    # shellcheck disable=SC2317 # called through wait_until
    all_stored() { [ "$(stored_by_processors)" -ge "$SHARDS_N" ]; }
    wait_until 120 all_stored || die "$SHARDS_N events not stored in 120 s ($where, QUEUE_SHARDS=$k)"
    t1=$(date +%s%N)
    for p in "${ports[@]}"; do after+=("$(commands_at "$p")"); done
    stop_pid "$INGEST12_PID"
    stop_pid "$PROCESSOR12A_PID"
    stop_pid "$PROCESSOR12B_PID"
    sum0=0 sum1=0
    for p in "${!ports[@]}"; do
        sum0=$((sum0 + before[p] + 1)) # (the INFO that read "before" counts itself)
        sum1=$((sum1 + after[p]))
    done
    SH_EPS=$(calc "$SHARDS_N / (($t1 - $t0) / 1e9)" "%.0f")
    SH_CPE=$(calc "($sum1 - $sum0) / $SHARDS_N" "%.2f")
    SH_SHARES=""
    for p in "${!ports[@]}"; do
        SH_SHARES+=" $(calc "100 * (${after[p]} - ${before[p]} - 1) / ($sum1 - $sum0)" "%.1f")"
    done
    SH_SHARES=${SH_SHARES# }
    row "$id" "$where, QUEUE_SHARDS=$k: ingest + 2 processors, $(group "$SHARDS_N") events, start of load to last stored" \
        "**$(group "$SH_EPS") events/s**; $SH_CPE Redis commands per event$([ "${#ports[@]}" = 1 ] || echo "; masters' shares: ${SH_SHARES// / % / } %")" \
        "\`loadgen --connections 4 --max $SHARDS_N --users 100\`; \`INFO stats\` total_commands_processed"
}

bench_shards() {
    local k id=0 m masters
    for k in 1 2 4 8; do
        id=$((id + 1))
        shards_run "12.$id" "one Redis" "$k" "$REDIS_PORT" REDIS_PORT="$REDIS_PORT"
        redis_cli flushall >/dev/null
    done
    start_redis_cluster || die "the Redis Cluster did not start"
    mapfile -t CLUSTER_MASTERS < <(cluster_masters)
    [ "${#CLUSTER_MASTERS[@]}" = 3 ] || die "the cluster has ${#CLUSTER_MASTERS[@]} masters, not 3"
    masters=$(IFS=,; echo "${CLUSTER_MASTERS[*]}")
    for k in 6 8; do
        id=$((id + 1))
        shards_run "12.$id" "Redis Cluster (3 masters + 3 replicas)" "$k" "$masters" \
            REDIS_CLUSTER="$RCLUSTER_SEEDS"
        [ "$k" != 6 ] || SHARDS_SHARES6=$SH_SHARES
    done
    for m in "${RCLUSTER_PIDS[@]}"; do stop_pid "$m"; done

    # 12.7-9: QUEUE_SHARDS=1 against the last ingest without shards.
    base_ingest common/qshard.c "${BENCH_SHARDS_BASE:-}"
    ingest_vs_base ingest13 5 QUEUE_SHARDS=1
    row 12.7 "ingest at $BASE_REV (before queue shards), \`POST /event\`, 50 connections, better of 2" \
        "$BASE_RES" "\`wrk -t2 -c50 -d5s --latency -s tests/bench/post.lua\` against it"
    row 12.8 "this ingest, QUEUE_SHARDS=1, the same, alternating with 12.7" "$NOW_RES" "the same"
    SHARDS_TPUT=$VS_TPUT
    row 12.9 "**this (QUEUE_SHARDS=1) / $BASE_REV req/s at 50 connections**" "**$SHARDS_TPUT %**" "12.8 / 12.7"
    m=$(awk -v s="$SHARDS_SHARES6" 'BEGIN { n = split(s, a, " "); ok = n == 3
        for (i = 1; i <= n; i++) if (a[i] < 30 || a[i] > 36.67) ok = 0; print ok }')
    EXTRA_TARGETS+=(
        "| Redis Cluster, QUEUE_SHARDS=6: each master's share of the commands within ±10 % of a third (30-36.7 %) | ${SHARDS_SHARES6// / % / } % | $([ "$m" = 1 ] && echo met || echo "not met") |"
        "| \`POST /event\` with QUEUE_SHARDS=1 within 5 % of $BASE_REV's (same run) | $SHARDS_TPUT % | $(verdict "$SHARDS_TPUT >= -5") |"
    )
}
