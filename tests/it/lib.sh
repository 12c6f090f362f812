# shellcheck shell=bash
# lib.sh - integration-test harness: real redis-server and MongoDB-compatible server on
# free ports in a temporary folder, the built services, HTTP helpers and assertions.
#
# Source it from a tests/it/it_*.sh script (or a benchmark). Environment:
#   BUILD     build folder with ingest, processor, reporting (default: build)
#   VALGRIND  when 1, every service runs under valgrind; a leak or error fails its stop
#             (VALGRIND_ARGS: more valgrind options, e.g. --track-origins=yes)
#   T_QUEUE_SHARDS  when set, every ingest and processor starts with QUEUE_SHARDS set to it
#             (a script's own QUEUE_SHARDS=... wins); q_names and the helpers after it
#             read the queue's keys of every shard (make check-shards)
# Every server started here is stopped by PID when the script exits.

set -uo pipefail

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$T_ROOT/$BUILD" ;; esac
JONGODB_BIN=${JONGODB_BIN:-"$T_ROOT/.deps/jongodb/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb"}
# libmongoc (loaded by the processor and reporting) keeps counters in /dev/shm/mongoc-<pid>; a
# process killed with SIGKILL leaves its file, and a later process given the same pid
# then prints a warning before main() (breaking "one line" checks). Tests turn it off.
export MONGOC_DISABLE_SHM=1
# The Python of the hostile clients (tests/tools/attack.py): Debian's, which deploy/setup.sh
# installs, when there is one; a version manager's shim in front of `python3` (pyenv's) takes
# half a second to start, once per request those scripts send.
# shellcheck disable=SC2034 # read by the test scripts
if [ -x /usr/bin/python3 ]; then T_PYTHON=/usr/bin/python3; else T_PYTHON=python3; fi
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$T_NAME.XXXXXX")
T_PASSED=0
T_FAILED=0
T_PIDS=()
# Services are slower to start and stop under valgrind.
if [ "${VALGRIND:-0}" = 1 ]; then T_SLOW=10; else T_SLOW=1; fi

# ours PID: the process lives and is a child of this script (or of the subshell that set
# T_PARENT=$BASHPID and started it: it_fault_inject.sh's parallel runs). A PID of ours that
# has ended may be reused by another script's process (run_it.sh runs scripts side by side),
# so nothing is signalled without this check.
ours() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split the fields after the command name
    set -- $stat
    [ "$2" = "${T_PARENT:-$$}" ] && [ "$1" != Z ]
}

t_cleanup() {
    local pid
    for pid in "${T_PIDS[@]}"; do
        ours "$pid" || continue
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${T_PIDS[@]}"; do
        for _ in $(seq 50); do ours "$pid" || break; sleep 0.1; done
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    if [ "$T_FAILED" -gt 0 ]; then
        echo "# $T_NAME: logs of the failed run:"
        for f in "$T_TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "# --- $f (last 40 lines)"
            tail -n 40 "$f" | sed 's/^/#   /'
        done
    fi
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# group N: 1234567 -> 1,234,567 (the benchmark's figures)
group() {
    local n=$1 out=""
    while [ ${#n} -gt 3 ]; do
        out=",${n: -3}$out"
        n=${n:0:${#n}-3}
    done
    echo "$n$out"
}

# --- assertions -------------------------------------------------------------------------

pass() {
    T_PASSED=$((T_PASSED + 1))
    echo "ok - $1"
}

fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do echo "#   $line"; done
}

# check DESCRIPTION COMMAND...: pass when COMMAND succeeds, else fail.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION ACTUAL EXPECTED
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $3" "actual:   $2"; fi
}

# expect_match DESCRIPTION ACTUAL EXTENDED-REGEX
expect_match() {
    if [[ "$2" =~ $3 ]]; then pass "$1"; else fail "$1" "expected to match: $3" "actual: $2"; fi
}

# expect_json DESCRIPTION ACTUAL-JSON EXPECTED-JSON: equal as JSON values (key order ignored).
expect_json() {
    local a e
    a=$(jq -cS . <<<"$2" 2>/dev/null) || a="(not JSON) $2"
    e=$(jq -cS . <<<"$3")
    if [ "$a" = "$e" ]; then pass "$1"; else fail "$1" "expected: $e" "actual:   $a"; fi
}

# expect_http DESCRIPTION STATUS JSON: the last http call answered exactly this.
expect_http() {
    expect_eq "$1: status" "$HTTP_STATUS" "$2"
    expect_json "$1: body" "$HTTP_BODY" "$3"
}

# expect_config_error PROGRAM VAR=value [NAME=value...]: $BUILD/PROGRAM, with VAR=value
# (and the other variables), exits 2 at once with one line naming VAR:
# "... ERROR configuration: VAR: why". A program that starts instead is stopped after 10 s
# (exit 124), on free ports.
expect_config_error() {
    local prog=$1 bad=$2 out rc
    shift 2
    out=$(env PORT=0 PROBE_PORT=0 "$@" "$bad" timeout 10 "$BUILD/$prog" 2>&1)
    rc=$?
    expect_eq "$prog $bad: exit 2" "$rc" 2
    expect_match "$prog $bad: one line naming ${bad%%=*}" "$out" "^[^
]* ERROR configuration: ${bad%%=*}: [^
]*$"
}

# wait_until SECONDS COMMAND...: poll COMMAND until it succeeds; 1 if it never did. COMMAND
# runs anew each time, but its arguments were expanded once, before the call: in
# `wait_until 10 test "$(q events count ...)" = 1` the count is read once, and when it was not
# 1 yet the call waits the whole 10 s for nothing. Poll a function that reads it instead.
# A wait that runs out says so on stderr (in the script's log), whether or not its caller
# checks: one that always does is a sleep of its whole deadline.
wait_until() {
    local limit=$1 deadline=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "# wait_until: not so after $limit s: $*" >&2
            return 1
        fi
        sleep 0.05
    done
}

t_summary() {
    echo "# $T_NAME: $T_PASSED passed, $T_FAILED failed"
    echo "$T_PASSED $T_FAILED" >"${T_RESULT_FILE:-/dev/null}"
    [ "$T_FAILED" -eq 0 ]
}

# --- HTTP -------------------------------------------------------------------------------

# The major version of curl, whose own User-Agent (curl/7.88.1) ingest stores as the browser
# "curl" of that version on the system "Other" (ingest/ua.h; tests/it/it_devices.sh).
# shellcheck disable=SC2034 # read by the test scripts
CURL_MAJOR=$(curl --version | awk 'NR == 1 { split($2, v, "."); print v[1] }')

# http METHOD URL [BODY]: sets HTTP_STATUS and HTTP_BODY (and HTTP_HEADERS).
http() {
    local out
    local args=(-s -S -o "$T_TMP/http.body" -D "$T_TMP/http.headers" -w '%{http_code}'
        --max-time 30 -X "$1" "$2")
    if [ $# -ge 3 ]; then
        # Through a file: one argument of a command may not exceed 128 KiB.
        printf '%s' "$3" >"$T_TMP/http.request"
        args+=(-H 'Content-Type: application/json' --data-binary "@$T_TMP/http.request")
    fi
    out=$(curl "${args[@]}" 2>"$T_TMP/http.err") || out="000"
    HTTP_STATUS=$out
    HTTP_BODY=$(cat "$T_TMP/http.body" 2>/dev/null)
    # shellcheck disable=SC2034 # read by the test scripts
    HTTP_HEADERS=$(cat "$T_TMP/http.headers" 2>/dev/null)
}

# need_browser: playwright-core (in .deps/, put on NODE_PATH) and Debian's Chromium, for
# tests/browser/; when either is missing the script fails and ends here.
need_browser() {
    export NODE_PATH="$T_ROOT/.deps/playwright/node_modules"
    if ! [ -f "$NODE_PATH/playwright-core/package.json" ] || ! [ -x /usr/bin/chromium ]; then
        fail "playwright-core in .deps/ and /usr/bin/chromium (run deploy/setup.sh)"
        t_summary
        exit 1
    fi
}

# start_node NAME ARGS...: node tests/browser/server.js ARGS in the background (with the
# caller's environment: FORWARDED_FOR=... start_node ...); sets NAME_PORT (upper case) from
# its "listening on" line.
start_node() {
    local name=$1 log="$T_TMP/$1.log" pid port
    shift
    node "$T_ROOT/tests/browser/server.js" "$@" >"$log" 2>&1 &
    pid=$!
    T_PIDS+=("$pid")
    wait_until 10 grep -q '^listening on ' "$log" || { echo "$name did not start" >&2; return 1; }
    port=$(sed -n 's/^listening on [^:]*:\([0-9]*\)$/\1/p' "$log")
    printf -v "${name^^}_PORT" '%s' "$port"
}

# browser_case SCRIPT NAME: node SCRIPT (a file of tests/browser/) NAME, with the caller's
# environment, to its end, its output in CASE_LOG; 1 (and a failure) when it did not print
# "done" within 120 s. Then no page error, console error or Content-Security-Policy refusal
# may have been printed.
browser_case() {
    local start=$SECONDS
    CASE_LOG="$T_TMP/case-$2.log"
    if ! timeout 120 node "$T_ROOT/tests/browser/$1" "$2" >"$CASE_LOG" 2>&1 ||
        ! grep -qx "done" "$CASE_LOG"; then
        fail "browser case $2 ran" "$(tail -n 20 "$CASE_LOG")"
        return 1
    fi
    echo "# browser case $2: $((SECONDS - start)) s"
    expect_eq "case $2: no exception on the page" "$(grep '^pageerror ' "$CASE_LOG")" ""
    expect_eq "case $2: nothing refused by the page's Content-Security-Policy" \
        "$(grep '^csp ' "$CASE_LOG")" ""
    expect_eq "case $2: no error in the browser's console" "$(grep '^console ' "$CASE_LOG")" ""
}
# shown KEY [JQ-ARGS...]: the value the last browser case printed for KEY ("info KEY JSON"),
# through jq with JQ-ARGS (default: the value as it is).
shown() {
    local key=$1
    shift
    [ $# -gt 0 ] || set -- .
    sed -n "s/^info $key //p" "$CASE_LOG" | jq -c "$@"
}

# --- servers ----------------------------------------------------------------------------

free_port() {
    "$BUILD/tests/freeport"
}

# start_redis: sets REDIS_PORT and REDIS_PID. Retries on a port race. REDIS_PORT_WANTED
# restarts it on a given port, REDIS_EXTRA_ARGS adds server options.
start_redis() {
    local name=REDIS port pid dir
    dir="$T_TMP/${name,,}"
    mkdir -p "$dir"
    for _ in 1 2 3 4 5; do
        port=${REDIS_PORT_WANTED:-$(free_port)}
        # shellcheck disable=SC2086 # REDIS_EXTRA_ARGS is a list of options
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --daemonize no ${REDIS_EXTRA_ARGS:-} >>"$T_TMP/${name,,}.log" 2>&1 &
        pid=$!
        if wait_until 10 redis-cli -p "$port" ping; then
            T_PIDS+=("$pid")
            REDIS_PORT=$port
            printf -v "${name}_PID" '%s' "$pid"
            return 0
        fi
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    echo "could not start redis-server" >&2
    return 1
}

# start_redis_cluster: a Redis Cluster of six redis-server nodes (three masters with a
# replica each), each in its own folder under $T_TMP, formed with `redis-cli --cluster
# create`; returns once every node says cluster_state:ok. Sets RCLUSTER_PORTS and
# RCLUSTER_PIDS (arrays, node by node) and RCLUSTER_SEEDS (all six as host:port,... : what
# REDIS_CLUSTER reads). Every port is below 55536, as a node's cluster bus listens on its
# port + 10000. RCLUSTER_NODE_TIMEOUT_MS (default 1500) is cluster-node-timeout: how soon a
# master that stopped answering is failed over (any replica may take over: the validity
# factor is 0). No persistence, as start_redis.
start_redis_cluster() {
    local i port pid dir addrs=()
    RCLUSTER_PORTS=()
    RCLUSTER_PIDS=()
    for i in 0 1 2 3 4 5; do
        dir="$T_TMP/rcluster$i"
        mkdir -p "$dir"
        for _ in 1 2 3 4 5; do
            port=$(cluster_port) || return 1
            cluster_node "$i" "$port"
            pid=$NODE_PID
            # (A node that cannot have its port or bus port exits at once.)
            wait_until 10 node_up_or_gone "$pid" "$port"
            ours "$pid" && redis-cli -p "$port" ping >/dev/null 2>&1 && break
            ours "$pid" && kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            pid=
        done
        [ -n "$pid" ] || { echo "could not start cluster node $i" >&2; return 1; }
        T_PIDS+=("$pid")
        RCLUSTER_PORTS+=("$port")
        RCLUSTER_PIDS+=("$pid")
        addrs+=("127.0.0.1:$port")
    done
    if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
        >"$T_TMP/rcluster-create.log" 2>&1; then
        echo "redis-cli --cluster create failed:" >&2
        cat "$T_TMP/rcluster-create.log" >&2
        return 1
    fi
    for port in "${RCLUSTER_PORTS[@]}"; do
        wait_until 30 cluster_ok "$port" || { echo "node $port: cluster not ok" >&2; return 1; }
    done
    # cluster_state:ok comes before the replicas have synced: a WAIT or a failover right
    # after would find a master without a replica.
    for port in "${RCLUSTER_PORTS[@]}"; do
        wait_until 30 replicated "$port" || { echo "node $port: no replica in sync" >&2; return 1; }
    done
    # shellcheck disable=SC2034 # read by the test scripts
    RCLUSTER_SEEDS=$(IFS=,; echo "${addrs[*]}")
}

# cluster_node I PORT: runs node I of start_redis_cluster (in the background, its folder
# $T_TMP/rcluster$I, its nodes.conf there); sets NODE_PID.
cluster_node() {
    redis-server --port "$2" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file nodes.conf \
        --cluster-node-timeout "${RCLUSTER_NODE_TIMEOUT_MS:-1500}" \
        --cluster-replica-validity-factor 0 --save '' --appendonly no --dir "$T_TMP/rcluster$1" \
        --daemonize no >>"$T_TMP/rcluster$1.log" 2>&1 &
    NODE_PID=$!
}

# restart_cluster_node PORT: starts again, on its port and with its nodes.conf, the node of
# start_redis_cluster at PORT (which has ended: killed); returns once it answers PING (it
# rejoins the cluster as its nodes.conf and the other nodes say: a master that was failed
# over comes back as a replica of its successor). Updates RCLUSTER_PIDS.
restart_cluster_node() {
    local i
    for i in "${!RCLUSTER_PORTS[@]}"; do
        [ "${RCLUSTER_PORTS[$i]}" = "$1" ] || continue
        cluster_node "$i" "$1"
        T_PIDS+=("$NODE_PID")
        RCLUSTER_PIDS[i]=$NODE_PID
        wait_until 10 redis-cli -p "$1" ping
        return
    done
    return 1
}

# replicated PORT: the node is a replica whose link to its master is up, or a master with
# a replica in sync (state=online).
replicated() {
    local info
    info=$(redis-cli -p "$1" info replication 2>/dev/null | tr -d '\r')
    case "$info" in
    *role:slave*) [[ "$info" == *master_link_status:up* ]] ;;
    *) [[ "$info" == *slave0:*state=online* ]] ;;
    esac
}

# cluster_port: a free port below 55536 that no node of this cluster has yet.
cluster_port() {
    local port
    for _ in $(seq 200); do
        port=$(free_port) || return 1
        if [ "$port" -lt 55536 ] && ! [[ " ${RCLUSTER_PORTS[*]} " == *" $port "* ]]; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port below 55536" >&2
    return 1
}

# node_up_or_gone PID PORT: the node answers PING, or its process has ended.
node_up_or_gone() {
    ! ours "$1" || redis-cli -p "$2" ping >/dev/null 2>&1
}

# cluster_ok PORT: the node at PORT says cluster_state:ok.
cluster_ok() {
    redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

# cluster_masters: the ports of the cluster's nodes that answer and are masters.
cluster_masters() {
    local port
    for port in "${RCLUSTER_PORTS[@]}"; do
        [ "$(redis-cli -p "$port" role 2>/dev/null | head -n 1)" = master ] && echo "$port"
    done
    return 0
}

# start_mongo: starts the MongoDB-compatible server on a free port; sets MONGO_HOSTPORT, MONGO_PID.
# MONGO_PORT_WANTED restarts it on a given port.
start_mongo() {
    local log="$T_TMP/mongo.log" pid
    [ -x "$JONGODB_BIN" ] || { echo "no $JONGODB_BIN: run deploy/setup.sh" >&2; return 1; }
    : >"$log"
    "$JONGODB_BIN" --host=127.0.0.1 --port="${MONGO_PORT_WANTED:-0}" >"$log" 2>&1 &
    pid=$!
    if ! wait_until 20 grep -q '^JONGODB_URI=' "$log"; then
        echo "could not start the MongoDB-compatible server" >&2
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
        return 1
    fi
    T_PIDS+=("$pid")
    # shellcheck disable=SC2034 # read by the test scripts
    MONGO_PID=$pid
    MONGO_HOSTPORT=$(sed -n 's|^JONGODB_URI=mongodb://\([^/]*\)/.*|\1|p' "$log")
}

# check_shardkeys LOG: every command of command log LOG (MONGO_COMMAND_LOG, tests/it/cmdlog.c)
# carries its collection's shard key (tests/tools/shardkeys.py, docs/scaling.md); prints the
# checker's summary.
check_shardkeys() {
    local out
    if out=$("$T_PYTHON" "$T_ROOT/tests/tools/shardkeys.py" "$1" 2>&1); then
        pass "every command carries its collection's shard key"
    else
        fail "every command carries its collection's shard key" "$out"
    fi
    echo "$out" | sed 's/^/# /' | tail -n 30
}

# mongo_uri DB: a URI for database DB on the test server.
mongo_uri() {
    echo "mongodb://$MONGO_HOSTPORT/$1"
}

# start_service NAME [VAR=value ...]: runs $BUILD/NAME with PORT=0 and PROBE_PORT=0 on
# 127.0.0.1 and the given environment; waits for its "listening on" line. Sets NAME_PORT,
# NAME_PROBE_PORT (ingest and reporting: the probe listener) and NAME_PID (upper-case
# NAME), logs to $T_TMP/NAME.log (appending across restarts). A digit suffix names
# another instance of the same program: processor2 runs $BUILD/processor. With
# VARIANT=-fault it runs the fault-injection variant ($BUILD/processor-fault, see fault.c).
start_service() {
    local name=$1 up log pid port lines
    shift
    up=${name^^}
    log="$T_TMP/$name.log"
    touch "$log"
    lines=$(wc -l <"$log")
    local cmd=("$BUILD/${name%%[0-9]*}${VARIANT:-}")
    # shellcheck disable=SC2054 # valgrind options that contain commas
    if [ "${VALGRIND:-0}" = 1 ]; then
        local extra
        read -r -a extra <<<"${VALGRIND_ARGS:-}"
        cmd=(valgrind --quiet --error-exitcode=99 --leak-check=full
            --show-leak-kinds=definite,indirect,possible
            --errors-for-leak-kinds=definite,indirect,possible
            --suppressions="$T_ROOT/tests/it/valgrind.supp" "${extra[@]}" "${cmd[@]}")
    fi
    local shards=()
    case $name in ingest* | processor*) [ -n "${T_QUEUE_SHARDS:-}" ] && shards=("QUEUE_SHARDS=$T_QUEUE_SHARDS") ;; esac
    env PORT=0 PROBE_PORT=0 BIND_ADDRESS=127.0.0.1 "${shards[@]}" "$@" "${cmd[@]}" >>"$log" 2>&1 &
    pid=$!
    # shellcheck disable=SC2317 # called through wait_until
    listening() { tail -n +"$((lines + 1))" "$log" | grep -Eq 'INFO listening on |"message":"listening on '; }
    # shellcheck disable=SC2317 # called through wait_until
    up_or_gone() { listening || ! ours "$pid"; }
    if ! wait_until $((10 * T_SLOW)) up_or_gone || ! listening; then
        echo "$name did not start; its log:" >&2
        tail -n +"$((lines + 1))" "$log" >&2
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    port=$(tail -n +"$((lines + 1))" "$log" | grep -E 'INFO listening on |"message":"listening on ' |
        sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' | tail -n 1)
    T_PIDS+=("$pid")
    printf -v "${up}_PORT" '%s' "$port"
    port=$(tail -n +"$((lines + 1))" "$log" | grep -E 'INFO probes on |"message":"probes on ' |
        sed -n 's/.*probes on [^:]*:\([0-9]*\).*/\1/p' | tail -n 1)
    printf -v "${up}_PROBE_PORT" '%s' "$port"
    printf -v "${up}_PID" '%s' "$pid"
}

# stop_pid PID [TIMEOUT]: SIGTERM a process started by this script, wait for it; sets
# STOP_RC to its exit status, or "timeout". (Not in $(...): only this shell can wait.)
stop_pid() {
    local pid=$1 limit=${2:-$((10 * T_SLOW))}
    ours "$pid" && kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + limit))
    while ours "$pid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            STOP_RC=timeout
            return
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null
    STOP_RC=$?
}

# expect_clean_stop NAME: SIGTERM the service and expect exit status 0 (under valgrind:
# no leak and no error, else 99).
expect_clean_stop() {
    local up=${1^^} pid
    pid=${up}_PID
    stop_pid "${!pid}"
    expect_eq "$1 exits 0 on SIGTERM" "$STOP_RC" 0
}

# dump_collections DB FILE: every document of every collection the programs write in database
# DB into FILE, one per line (each collection named by a *_COLLECTION constant in common/: the
# test server has no listCollections). For searching them for what must never be stored.
dump_collections() {
    grep -ho '_COLLECTION "[a-z_]*"' "$T_ROOT"/common/*.h | cut -d'"' -f2 | sort -u | while read -r c; do
        "$BUILD/tests/mongoq" "$(mongo_uri "$1")" "$c" find '{}'
    done >"$2"
}

# events_wait DB FILTER N FILE: wait (10 s; 100 s under valgrind) until at least N events of
# database DB match FILTER (a JSON query) and the queue (events) is settled, every batch
# acknowledged, so with its rollups and visits written (what a search of every collection
# must see); then write those events into FILE, one JSON document a line, for event_of. For
# a script that posts all its events first and waits once, rather than once per event (a batch
# of one each).
events_wait() {
    wait_until $((10 * T_SLOW)) events_done "$1" "$2" "$3" || true
    "$BUILD/tests/mongoq" "$(mongo_uri "$1")" events find "$2" | jq -c . >"$4"
}

# events_done DB FILTER N: at least N events of DB match FILTER, and the queue is settled.
events_done() {
    [ "$("$BUILD/tests/mongoq" "$(mongo_uri "$1")" events count "$2")" -ge "$3" ] &&
        queue_settled events
}

# event_of FILE ID JQ: JQ (raw output) applied to the event of FILE (from events_wait) whose
# _id is ID; nothing when there is none.
event_of() {
    jq -r --arg id "$2" "select(._id == \$id) | $3" "$1"
}

# expect_stored NAME ID JQ WANT: a check kept for check_stored, so that a script posts all its
# events before it waits for them once: JQ (raw output) applied to the stored event ID is WANT.
STORED_NAMES=()
STORED_IDS=()
STORED_JQS=()
STORED_WANTS=()
expect_stored() {
    STORED_NAMES+=("$1")
    STORED_IDS+=("$2")
    STORED_JQS+=("$3")
    STORED_WANTS+=("$4")
}

# check_stored DB FILTER N: wait for the events (events_wait, at least N of DB matching FILTER,
# into $T_TMP/events), then run every check expect_stored kept, in order, against them; forget
# the checks.
check_stored() {
    local i
    events_wait "$1" "$2" "$3" "$T_TMP/events"
    for i in "${!STORED_IDS[@]}"; do
        expect_eq "${STORED_NAMES[$i]}" \
            "$(event_of "$T_TMP/events" "${STORED_IDS[$i]}" "${STORED_JQS[$i]}")" "${STORED_WANTS[$i]}"
    done
    STORED_NAMES=() STORED_IDS=() STORED_JQS=() STORED_WANTS=()
}

# listed SITE ID JQ: JQ (raw output) applied to event ID as GET /events of SITE (its first 100)
# on the running reporting shows it; nothing when it is not there.
listed() {
    curl -s "http://127.0.0.1:$REPORTING_PORT/events?site_id=$1&limit=100" |
        jq -r --arg id "$2" ".events[] | select(.id == \$id) | $3"
}

# absent TEXT FILE...: no FILE holds TEXT (as is, not a pattern).
absent() { ! grep -qF -- "$@"; }

# redis_cli ARGS...: redis-cli against the test Redis.
redis_cli() {
    redis-cli -p "$REDIS_PORT" "$@"
}

# start_redis_replica: a second redis-server on a free port, a replica of the test Redis
# (start_redis first); returns once its link to the master is up. Sets REPLICA_PORT and
# REPLICA_PID.
start_redis_replica() {
    local port pid dir="$T_TMP/replica"
    mkdir -p "$dir"
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --daemonize no --replicaof 127.0.0.1 "$REDIS_PORT" >>"$T_TMP/replica.log" 2>&1 &
        pid=$!
        if wait_until 10 redis-cli -p "$port" ping; then
            T_PIDS+=("$pid")
            REPLICA_PORT=$port
            # shellcheck disable=SC2034 # read by the test scripts
            REPLICA_PID=$pid
            wait_until 10 replica_linked
            return
        fi
        ours "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    echo "could not start the redis-server replica" >&2
    return 1
}

# replica_linked: the replica's link to its master is up.
replica_linked() {
    redis-cli -p "$REPLICA_PORT" info replication | grep -q '^master_link_status:up'
}

# --- exactly-once checks for the fault tests ---------------------------------------------

# metric URL NAME{LABELS}: the value of one sample of URL/metrics (0 when absent).
metric() {
    curl -s "$1/metrics" | awk -v k="$2" '$1 == k { v = $2 } END { print v == "" ? 0 : v }'
}

# consumer_of NAME: the consumer id of the running processor NAME (processor, processor2,
# ...), from the analytics_processor_info sample of its /metrics (empty when it does not
# answer). A label value is escaped as a JSON string is (\\, \", \n), so jq unescapes it.
consumer_of() {
    local port=${1^^}_PORT
    curl -s "http://127.0.0.1:${!port}/metrics" |
        grep -oE '^analytics_processor_info\{consumer="([^"\\]|\\.)*"' | sed 's/^[^"]*//' | jq -r .
}

# q_names [QUEUE_KEY]: the name of each shard of the queue (default events), one a line,
# for QUEUE_SHARDS=${T_QUEUE_SHARDS:-1}: QUEUE_KEY itself for one, else
# {QUEUE_KEY:i/K~n} (common/qshard.h, printed by tests/tools/qnames.c). Every key of a shard
# is its name and a suffix (processor/queue.h).
q_names() {
    local key=${1:-events} n=${T_QUEUE_SHARDS:-1}
    if [ "$n" -le 1 ]; then echo "$key"; return; fi
    "$BUILD/tests/qnames" "$key" "$n" | cut -d' ' -f1
}

# q_first: the first shard's name of events (where a test pushes envelopes by hand).
q_first() {
    q_names events | head -n 1
}

# q_llen SUFFIX [QUEUE_KEY]: LLEN of <shard>SUFFIX added up over the shards (SUFFIX "":
# pending; ":dead"; ":processing:<consumer>").
q_llen() {
    local k sum=0
    for k in $(q_names "${2:-events}"); do sum=$((sum + $(redis_cli llen "$k$1"))); done
    echo "$sum"
}

# q_scard SUFFIX [QUEUE_KEY]: SCARD of <shard>SUFFIX added up over the shards.
q_scard() {
    local k sum=0
    for k in $(q_names "${2:-events}"); do sum=$((sum + $(redis_cli scard "$k$1"))); done
    echo "$sum"
}

# q_lrange SUFFIX [QUEUE_KEY]: every element of <shard>SUFFIX of every shard, shard by shard.
q_lrange() {
    local k
    for k in $(q_names "${2:-events}"); do redis_cli lrange "$k$1" 0 -1; done
}

# queue_settled QUEUE_KEY: nothing pending and no processing list holds anything, in any
# shard.
queue_settled() {
    local k q
    for q in $(q_names "$1"); do
        [ "$(redis_cli llen "$q")" = 0 ] || return 1
        [ "$(redis_cli llen "$q:assigning")" = 0 ] || return 1
        for k in $(redis_cli --scan --pattern "$q:processing:*"); do
            [ "$(redis_cli llen "$k")" = 0 ] || return 1
        done
    done
}

# verify_exactly_once DB SITE LOADGEN-FILE...: every event that got a 202 (a line
# "<id> <seq>") is stored exactly once; no event (seq) is stored twice; nothing is stored
# that the client never sent or that was refused, except, at most, the events ingest
# counted in analytics_events_ambiguous_total (Redis got the push but its answer never came
# back, so the client got a 503). Prints the exact counts. Call it while the ingest that took
# the events runs: its counter is read from its /metrics (0 if it cannot be, which only makes
# the check stricter).
verify_exactly_once() {
    local db=$1 site=$2 dir="$T_TMP/verify"
    shift 2
    mkdir -p "$dir"
    cat "$@" | grep -v '^? ' | sort >"$dir/accepted"
    cat "$@" | sed -n 's/^? //p' | sort >"$dir/unanswered"
    "$BUILD/tests/mongoq" "$(mongo_uri "$db")" events find "{\"site_id\":\"$site\"}" |
        jq -r '"\(._id) \(.properties.seq)"' | sort >"$dir/stored"
    local accepted stored dups lost wrong extra phantom
    accepted=$(wc -l <"$dir/accepted")
    stored=$(wc -l <"$dir/stored")
    dups=$(cut -d' ' -f2 "$dir/stored" | sort | uniq -d | wc -l)
    lost=$(comm -23 <(cut -d' ' -f1 "$dir/accepted") <(cut -d' ' -f1 "$dir/stored" | sort) | wc -l)
    # The stored document of each accepted id carries the seq the client sent with it.
    wrong=$(join "$dir/accepted" "$dir/stored" | awk '$2 != $3' | wc -l)
    # Stored but never answered 202: only requests whose answer was lost may be there.
    extra=$(comm -13 <(cut -d' ' -f1 "$dir/accepted") <(cut -d' ' -f1 "$dir/stored" | sort) | wc -l)
    phantom=$(comm -13 <(cut -d' ' -f2 "$dir/accepted" "$dir/unanswered" | sort) \
        <(cut -d' ' -f2 "$dir/stored" | sort) | wc -l)
    local ambiguous
    ambiguous=$(metric "http://127.0.0.1:$INGEST_PORT" analytics_events_ambiguous_total)
    echo "# exactly-once: accepted=$accepted stored=$stored duplicates=$dups lost=$lost" \
        "stored_without_202=$extra (client saw no answer: $(wc -l <"$dir/unanswered")," \
        "ingest saw no answer from Redis: $ambiguous)"
    check "load: some events accepted ($accepted)" [ "$accepted" -gt 0 ]
    expect_eq "exactly once: lost" "$lost" 0
    expect_eq "exactly once: duplicates" "$dups" 0
    expect_eq "exactly once: stored documents match what was sent" "$wrong" 0
    if [ "$phantom" -le "$ambiguous" ]; then
        pass "exactly once: nothing stored that was refused ($phantom, all with no answer from Redis)"
    else
        fail "exactly once: nothing stored that was refused" "$phantom stored, $ambiguous ambiguous"
    fi
}

# verify_rollup DB SITE DATE...: /stats (from the processors' rollups) answers exactly as
# /stats/aggregated (from the raw events) for SITE on each DATE, for all events and for
# each type in ROLLUP_TYPES (default: page_view click). A DATE of the form FROM..TO asks
# for that range (from=FROM&to=TO), and then /stats/timeseries too, by hour and by day,
# against /stats/timeseries/aggregated. /stats/breakdown by each of event_type, path and
# referrer against /stats/breakdown/aggregated, for every DATE. Starts a reporting service on DB unless one runs.
# The figures must not all be zero.
verify_rollup() {
    local db=$1 site=$2 date span type q by
    V_SAME=0 V_DIFFER=0 V_VIEWS=0
    shift 2
    [ -n "${REPORTING_PORT:-}" ] || start_service reporting MONGO_URI="$(mongo_uri "$db")"
    for date in "$@"; do
        case $date in
        *..*) span="from=${date%..*}&to=${date#*..}" ;;
        *) span="date=$date" ;;
        esac
        for type in "" ${ROLLUP_TYPES:-page_view click}; do
            q="site_id=$site&$span${type:+&event_type=$type}"
            same_answer stats "$q"
            if [ -z "$type" ]; then
                for by in event_type path referrer; do
                    same_answer stats/breakdown "$q&by=$by&limit=100"
                done
            fi
            [ "$span" = "date=$date" ] && continue
            same_answer stats/timeseries "$q&interval=hour"
            same_answer stats/timeseries "$q&interval=day"
        done
    done
    echo "# rollups: $V_SAME queries answered alike, $V_DIFFER differ ($V_VIEWS views in all)"
    expect_eq "rollups: the rollups' answers equal the raw events'" "$V_DIFFER" 0
    check "rollups: the queries counted something" [ "$V_VIEWS" -gt 0 ]
}

# same_answer EP QUERY: /EP and /EP/aggregated answer alike (a 200 with a site_id); counts
# in V_SAME, V_DIFFER, and the views of /stats in V_VIEWS.
same_answer() {
    local a b
    a=$(curl -s "http://127.0.0.1:$REPORTING_PORT/$1?$2")
    b=$(curl -s "http://127.0.0.1:$REPORTING_PORT/$1/aggregated?$2")
    if [ "$a" = "$b" ] && jq -e .site_id >/dev/null 2>&1 <<<"$a"; then
        V_SAME=$((V_SAME + 1))
        if [ "$1" = stats ]; then V_VIEWS=$((V_VIEWS + $(jq .total_views <<<"$a"))); fi
    else
        V_DIFFER=$((V_DIFFER + 1))
        echo "# /$1?$2: $a"
        echo "#   /$1/aggregated: $b"
    fi
}
