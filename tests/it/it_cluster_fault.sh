#!/usr/bin/env bash
# it_cluster_fault.sh - fault test on a Redis Cluster (three masters, three replicas,
# start_redis_cluster): ingest (REDIS_CLUSTER, QUEUE_SHARDS=6) and three processors under a
# steady load from clients that resend a 503 with the same event_id. The link to the
# replica of the master serving the most shards is cut and the processors paused (SIGSTOP)
# a moment, then the master is killed with SIGKILL and its replica promoted, a processor
# killed mid-batch and started again, the killed master started again (it rejoins as a
# replica); the load runs across all of it. With REDIS_WAIT_REPLICAS=1 every event answered
# 202 is stored exactly once and the rollups are exact; one visitor's events go to one
# shard in send order and are stored in that order. The same again with
# REDIS_WAIT_REPLICAS=0 (the killed master left down) only prints how many 202s were lost:
# what WAIT is for.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

T_QUEUE_SHARDS=6 # every ingest and processor below, and the q_* helpers
if ! start_redis_cluster; then
    fail "a Redis Cluster of six nodes starts"
    t_summary
    exit 1
fi
start_mongo

# is_master PORT: the node answers and is a master.
is_master() { [ "$(redis-cli -p "$1" role 2>/dev/null | head -n 1)" = master ]; }
# LIVE: a master that answers; the q_* helpers go through it, following redirects (-c).
LIVE=
live() {
    local port
    for port in "${RCLUSTER_PORTS[@]}"; do is_master "$port" && LIVE=$port && return; done
}
redis_cli() { redis-cli -c -p "$LIVE" "$@"; }
# owner SHARD: the port of the master that serves the shard's slot (CLUSTER NODES of a live
# master: the master, not failed, whose slot ranges hold it).
owner() {
    local slot
    slot=$(redis-cli -p "$LIVE" cluster keyslot "$1")
    redis-cli -p "$LIVE" cluster nodes | awk -v s="$slot" '$3 ~ /master/ && $3 !~ /fail/ {
        for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1]
            if (s >= r[1] + 0 && s <= r[2] + 0) { split($2, a, "[:@]"); print a[2] } } }'
}
# all_ok PORT...: every one of these nodes says cluster_state:ok.
all_ok() {
    local port
    for port in "$@"; do cluster_ok "$port" || return 1; done
}
# settled: no shard holds anything pending or in a processing list (each master scanned:
# SCAN covers one node).
settled() {
    local m k
    [ "$(q_llen "")" = 0 ] || return 1
    for m in $(cluster_masters); do
        for k in $(redis-cli -p "$m" --scan --pattern '{events:*}:processing:*'); do
            [ "$(redis-cli -p "$m" llen "$k")" = 0 ] || return 1
        done
    done
}
# accepted_so_far FILE: the 202s a load has recorded (loadgen writes each at once).
accepted_so_far() { grep -vc '^? ' "$1"; }
# flowing FILE N: the load has N more 202s than at the last mark (MARK).
flowing() { [ "$(accepted_so_far "$1")" -ge $((MARK + $2)) ]; }

# visitor SITE OUT FROM [TO]: one visitor (user_id order-u) sends event FROM, FROM+1, ...
# one after another, each with its event_id, resent on a 503 or a lost answer up to 20 times,
# until TO, or until the file $T_TMP/visitor.stop exists; "<id> <seq>" for each 202 to OUT,
# "? <seq>" for an event that never got one.
visitor() {
    local n=$3 to=${4:-} status body
    while ! [ -f "$T_TMP/visitor.stop" ] && [ "$n" -le "${to:-$n}" ]; do
        body="{\"site_id\":\"$1\",\"event_type\":\"page_view\",\"timestamp\":\"2025-11-15T10:00:00Z\",\"user_id\":\"order-u\",\"event_id\":\"o-$n\",\"properties\":{\"seq\":\"o-$n\"}}"
        for _ in $(seq 20); do
            status=$(curl -s -o "$T_TMP/visitor.body" -w '%{http_code}' --max-time 5 \
                -H 'Content-Type: application/json' --data-binary "$body" \
                "http://127.0.0.1:$INGEST_PORT/event") || status=000
            [ "$status" = 202 ] && break
            sleep 0.1
        done
        if [ "$status" = 202 ]; then
            echo "$(jq -r .id "$T_TMP/visitor.body") o-$n" >>"$2"
        else
            echo "? o-$n" >>"$2"
        fi
        n=$((n + 1))
    done
}

# start_processor I DB: (re)start processorI on DB.
start_processor() {
    start_service "processor$1" REDIS_CLUSTER="$RCLUSTER_SEEDS" MONGO_URI="$(mongo_uri "$2")" \
        BATCH_SIZE=20 HEARTBEAT_TTL_MS=1500 RETRY_BASE_MS=20 RETRY_MAX_MS=500
}
# processors_signal SIG: SIG to the three processors.
processors_signal() {
    local i pid_var
    for i in 1 2 3; do
        pid_var="PROCESSOR${i}_PID"
        ours "${!pid_var}" && kill "-$1" "${!pid_var}"
    done
}
# mid_batch I: processorI holds a claimed batch right now.
mid_batch() { [ "$(q_llen ":processing:$(consumer_of "processor$1")")" -gt 0 ]; }

DB=cfault
# run WAIT SITE: the test with REDIS_WAIT_REPLICAS=WAIT, events of SITE; leaves ingest and
# the processors running (the checks read ingest's counters; the processors, started by
# the first run, serve the next) and the load's files in $T_TMP/SITE.load and
# $T_TMP/SITE.visitor. The first run checks where the visitor's first events are queued.
run() {
    local wait=$1 site=$2 load="$T_TMP/$2.load" vis="$T_TMP/$2.visitor" s
    live
    start_service ingest REDIS_CLUSTER="$RCLUSTER_SEEDS" REDIS_WAIT_REPLICAS="$wait" \
        REDIS_WAIT_TIMEOUT_MS=300
    : >"$vis"
    rm -f "$T_TMP/visitor.stop"
    visitor "$site" "$vis" 1 10
    # Before any processor (the first run), the visitor's first ten events: one shard, in
    # send order.
    if [ -z "${PROCESSOR1_PID:-}" ]; then
        local holding=0 order
        for s in $(q_names); do
            order=$(redis_cli lrange "$s" 0 -1 | tac |
                jq -r "select(.site_id == \"$site\" and .user_id == \"order-u\") | .properties.seq" |
                tr '\n' ' ')
            [ -n "$order" ] || continue
            holding=$((holding + 1))
            expect_eq "the visitor's events in send order in $s (at $(owner "$s"))" "$order" \
                "$(printf 'o-%d ' $(seq 1 10))"
        done
        expect_eq "one visitor's events all in one shard" "$holding" 1
        for i in 1 2 3; do start_processor "$i" "$DB"; done
    fi

    "$BUILD/tests/loadgen" --port "$INGEST_PORT" --connections 4 --seconds 60 --rate 100 \
        --retries 20 --site "$site" --tag "w$wait" --out "$load" >"$load.summary" &
    local load_pid=$!
    visitor "$site" "$vis" 11 &
    local visitor_pid=$!
    MARK=0
    check "WAIT=$wait: load flowing (100 events answered 202)" wait_until 20 flowing "$load" 100

    # The master serving the most shards, and its replica.
    declare -A held=()
    local victim="" replica victim_pid start survivors=()
    for s in $(q_names); do
        o=$(owner "$s")
        held[$o]="${held[$o]:-}$s "
    done
    for o in "${!held[@]}"; do
        if [ -z "$victim" ] || [ ${#held[$o]} -gt ${#held[$victim]} ]; then victim=$o; fi
    done
    echo "# WAIT=$wait: shards by master:" "$(for o in "${!held[@]}"; do echo -n "$o: ${held[$o]}; "; done)"
    replica=$(redis-cli -p "$victim" role | sed -n 4p)
    for i in "${!RCLUSTER_PORTS[@]}"; do
        [ "${RCLUSTER_PORTS[$i]}" = "$victim" ] && victim_pid=${RCLUSTER_PIDS[$i]}
        [ "${RCLUSTER_PORTS[$i]}" = "$victim" ] || survivors+=("${RCLUSTER_PORTS[$i]}")
    done
    # Its replica's link cut first, as when a replica lags: CLIENT KILL TYPE replica, and a
    # masterauth the master refuses, so that the replica cannot connect again (it would
    # within 0.1 s). The master goes on acknowledging pushes its replica never gets, and the
    # processors, stopped (SIGSTOP), leave them in the queue, as when they are behind; the
    # kill comes after 30 more 202s, or within about a second (with WAIT=1 the master's
    # shards answer 503 meanwhile), shorter than the processors' heartbeat TTL.
    local paused=${EPOCHREALTIME/./}
    processors_signal STOP
    redis-cli -p "$replica" config set masterauth cut-off >/dev/null
    redis-cli -p "$victim" client kill type replica >/dev/null
    MARK=$(accepted_so_far "$load")
    wait_until 1 flowing "$load" 30
    # (bash's "Killed" notice of the node silenced)
    { ours "$victim_pid" && kill -KILL "$victim_pid" && wait "$victim_pid"; } 2>/dev/null
    redis-cli -p "$replica" config set masterauth "" >/dev/null
    processors_signal CONT
    echo "# WAIT=$wait: link cut and processors paused $(((${EPOCHREALTIME/./} - paused) / 1000))" \
        "ms, $(($(accepted_so_far "$load") - MARK)) events answered 202 meanwhile"
    start=$SECONDS
    check "WAIT=$wait: master $victim (${held[$victim]% }) killed; its replica $replica promoted" \
        wait_until 30 is_master "$replica"
    check "WAIT=$wait: every surviving node says cluster_state:ok" \
        wait_until 30 all_ok "${survivors[@]}"
    echo "# WAIT=$wait: failover took about $((SECONDS - start)) s"
    live

    # The killed master started again: a replica of its successor (with WAIT=1 its shards'
    # pushes are answered 503 until it has synced, and resent).
    [ "$wait" = 1 ] && restart_cluster_node "$victim"
    # A processor killed holding a claimed batch (or as soon as none came), started again.
    i=$((RANDOM % 3 + 1))
    wait_until 3 mid_batch "$i"
    pid_var="PROCESSOR${i}_PID"
    ours "${!pid_var}" && kill -KILL "${!pid_var}"
    wait "${!pid_var}" 2>/dev/null
    start_processor "$i" "$DB"
    if [ "$wait" = 1 ]; then
        check "WAIT=$wait: the killed master, started again, is a replica in sync" \
            wait_until 30 replicated "$victim"
        echo "# WAIT=$wait: $((SECONDS - start)) s from the kill to the old master in sync"
    fi
    MARK=$(accepted_so_far "$load")
    check "WAIT=$wait: load flowing after the failover (50 more 202s)" \
        wait_until 20 flowing "$load" 50
    kill -TERM "$load_pid"
    wait "$load_pid"
    touch "$T_TMP/visitor.stop"
    wait "$visitor_pid"
    echo "# WAIT=$wait: load: $(cat "$load.summary"); visitor: $(grep -vc '^? ' "$vis")" \
        "answered 202, $(grep -c '^? ' "$vis") not"
    start=$SECONDS
    if wait_until 60 settled; then pass "WAIT=$wait: every shard drained ($((SECONDS - start)) s)"; else
        fail "WAIT=$wait: every shard drained" "pending $(q_llen "")"; fi
}

# --- REDIS_WAIT_REPLICAS=1: exactly once --------------------------------------------------
run 1 cf1-site
verify_exactly_once $DB cf1-site "$T_TMP/cf1-site.load" "$T_TMP/cf1-site.visitor"
verify_rollup $DB cf1-site 2025-11-15
stored=$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find \
    '{"site_id":"cf1-site","user_id":"order-u"}')
# (A Date's text has no ".000" on a whole second: the milliseconds are put back to sort.)
order=$(jq -sr 'def t: .["$date"] | if test("\\.[0-9]+Z$") then . else sub("Z$"; ".000Z") end;
    sort_by(.received_at | t) | map(.properties.seq) | join(" ")' <<<"$stored")
sent=$(grep -v '^? ' "$T_TMP/cf1-site.visitor" | cut -d' ' -f2 | paste -sd' ')
# Stored but never answered 202 (a push whose WAIT failed, never resent with success): left out.
order=$(for s in $order; do [[ " $sent " == *" $s "* ]] && echo "$s"; done | paste -sd' ')
expect_eq "one visitor's stored events: received in send order" "$order" "$sent"
expect_eq "no dead letters" "$(q_llen :dead)" 0
expect_clean_stop ingest

# --- REDIS_WAIT_REPLICAS=0: what the option is for ----------------------------------------
run 0 cf0-site
accepted=$(cat "$T_TMP/cf0-site.load" "$T_TMP/cf0-site.visitor" | grep -v '^? ' |
    cut -d' ' -f1 | sort)
lost=$(comm -23 <(echo "$accepted") <("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events \
    find '{"site_id":"cf0-site"}' | jq -r ._id | sort) | wc -l)
echo "# lost with REDIS_WAIT_REPLICAS=0: $lost of $(wc -l <<<"$accepted")"
expect_match "REDIS_WAIT_REPLICAS=0: the lost 202s counted" "$lost" '^[0-9]+$'
for i in 1 2 3; do expect_clean_stop "processor$i"; done
expect_clean_stop ingest
t_summary
