#!/usr/bin/env bash
# it_cluster_pipeline.sh - ingest and three processors on a Redis Cluster (REDIS_CLUSTER, three
# masters and three replicas, start_redis_cluster) with QUEUE_SHARDS=4 and
# REDIS_WAIT_REPLICAS=1: every event answered 202 stored exactly once, the rollups exact,
# each shard's keys on the master CLUSTER KEYSLOT names, the masters serving shards each ran
# the pushes and claims of theirs, /readyz pinging every master; a queue key layout that
# would span slots and a bad seed list are refused at start (exit 2).
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

T_QUEUE_SHARDS=4 # the q_* helpers
if ! start_redis_cluster; then
    fail "a Redis Cluster of six nodes starts"
    t_summary
    exit 1
fi
mapfile -t MASTERS < <(cluster_masters)
expect_eq "three masters" "${#MASTERS[@]}" 3
# The q_* helpers through any node, following redirects (-c).
redis_cli() {
    redis-cli -c -p "${MASTERS[0]}" "$@"
}
start_mongo
DB=cluster

# --- configuration refused at start ------------------------------------------------------
expect_config_error ingest REDIS_CLUSTER=127.0.0.1:6379,,127.0.0.1:6380
out=$(env PORT=0 PROBE_PORT=0 REDIS_CLUSTER="$RCLUSTER_SEEDS" QUEUE_SHARDS=1 timeout 10 \
    "$BUILD/processor" 2>&1)
expect_eq "processor: one shard whose QUEUE_KEY has no hash tag on a cluster: exit 2" "$?" 2
expect_eq "... one error line" "$(grep -c ' ERROR ' <<<"$out")" 1
expect_match "... saying why" "$(grep ' ERROR ' <<<"$out")" \
    " ERROR start: configuration: on a Redis Cluster .*hash tag"
out=$(env PORT=0 REDIS_CLUSTER="$RCLUSTER_SEEDS" QUEUE_SHARDS=1 timeout 10 "$BUILD/ingest" 2>&1)
expect_eq "ingest: the same: exit 2" "$?" 2

# --- the pipeline ----------------------------------------------------------------------------
for m in "${MASTERS[@]}"; do redis-cli -p "$m" config resetstat >/dev/null; done
CL=(REDIS_CLUSTER="$RCLUSTER_SEEDS" QUEUE_SHARDS=4)
start_service ingest "${CL[@]}" REDIS_WAIT_REPLICAS=1 REDIS_WAIT_TIMEOUT_MS=2000
for i in 1 2 3; do
    start_service "processor$i" "${CL[@]}" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=20 \
        HEARTBEAT_TTL_MS=2000
done
for i in 1 2 3; do
    port="PROCESSOR${i}_PORT"
    http GET "http://127.0.0.1:${!port}/readyz"
    expect_eq "processor$i /readyz: every master answers" "$HTTP_STATUS" 200
done
http GET "http://127.0.0.1:$INGEST_PORT/readyz"
expect_eq "ingest /readyz: every master answers" "$HTTP_STATUS" 200

"$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 4 --rate 400 \
    --site cl-site --tag c --out "$T_TMP/load.txt" >"$T_TMP/load.summary"
summary=$(cat "$T_TMP/load.summary")
echo "# load: $summary"
expect_match "every event answered 202 (each push WAITed for on its master)" "$summary" \
    "^sent=([0-9]+) accepted=\1 rejected=0 unknown=0$"

# settled: no shard holds anything pending or in a processing list (each master scanned:
# SCAN covers one node).
settled() {
    local m k
    [ "$(q_llen "")" = 0 ] || return 1
    for m in "${MASTERS[@]}"; do
        for k in $(redis-cli -p "$m" --scan --pattern '{events:*}:processing:*'); do
            [ "$(redis-cli -p "$m" llen "$k")" = 0 ] || return 1
        done
    done
}
if wait_until $((30 * T_SLOW)) settled; then pass "every shard drained"; else
    fail "every shard drained" "pending $(q_llen "")"; fi
verify_exactly_once $DB cl-site "$T_TMP/load.txt"
verify_rollup $DB cl-site 2025-11-15
expect_eq "no dead letters" "$(q_llen :dead)" 0

# --- where the keys are, and who ran the commands -------------------------------------------
# stat PORT COMMAND: the calls of COMMAND at the node (INFO commandstats), 0 when none.
stat() {
    redis-cli -p "$1" info commandstats | tr -d '\r' |
        sed -n "s/^cmdstat_$2:calls=\([0-9]*\),.*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
# serves PORT SLOT: the master at PORT serves SLOT (the slot ranges of CLUSTER NODES' myself).
serves() {
    redis-cli -p "$1" cluster nodes | awk -v s="$2" '/myself/ {
        for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1]
            if (s >= r[1] + 0 && s <= r[2] + 0) found = 1 } } END { exit !found }'
}
declare -A SERVES # master port -> shards it serves
for s in $(q_names); do
    slot=$(redis-cli -p "${MASTERS[0]}" cluster keyslot "$s")
    owner="" keyed=""
    for m in "${MASTERS[@]}"; do
        serves "$m" "$slot" && owner="$owner$m"
        # Without -c only the slot's master answers; every shard's registry exists while
        # the processors run.
        [ "$(redis-cli -p "$m" exists "$s:consumers" 2>&1)" = 1 ] && keyed="$keyed$m"
    done
    expect_eq "$s (slot $slot): its keys on the master that serves the slot ($owner)" "$keyed" \
        "$owner"
    SERVES[$owner]="${SERVES[$owner]:-} $s"
done
# ran_shard_work PORT: the master ran pushes, WAITs and claims.
ran_shard_work() {
    [ "$(stat "$1" lpush)" -gt 0 ] && [ "$(stat "$1" wait)" -gt 0 ] && [ "$(stat "$1" eval)" -gt 0 ]
}
for m in "${MASTERS[@]}"; do
    echo "# master $m serves${SERVES[$m]:- no shard}: lpush=$(stat "$m" lpush)" \
        "wait=$(stat "$m" wait) eval=$(stat "$m" eval) blmove=$(stat "$m" blmove)" \
        "ping=$(stat "$m" ping)"
    check "master $m got commands (PING of the probes at least)" [ "$(stat "$m" ping)" -gt 0 ]
    if [ -n "${SERVES[$m]:-}" ]; then
        check "master $m (${SERVES[$m]# }) ran pushes, WAITs and claims" ran_shard_work "$m"
        expect_eq "master $m: one WAIT per push, on the push's master" "$(stat "$m" wait)" \
            "$(stat "$m" lpush)"
    else
        expect_eq "master $m (no shard) ran no push" "$(stat "$m" lpush)" 0
    fi
done

for i in 1 2 3; do expect_clean_stop "processor$i"; done
expect_eq "stopped processors unregistered from every shard" "$(q_scard :consumers)" 0
expect_clean_stop ingest
t_summary
