#!/usr/bin/env bash
# callgrind.sh - the benchmark's cost figures: instructions counted by valgrind's callgrind,
# which are the same for the same binary and input, where wall-clock rates on a shared
# machine move by 20-50 % between runs. Each service runs under
# `valgrind --tool=callgrind --instr-atstart=no`; instrumentation is switched on
# (`callgrind_control -i on PID`) only once it has started and taken unmeasured warm-up
# work, and the profile is dumped (`callgrind_control -d PID`) when the measured work is
# done, so start-up is not counted. Rows (ids C.1-C.6):
#   C.1 ingest, POST /event: instructions per request, over 2,000 requests of the
#       benchmark's event (part 1's) on one keep-alive connection (curl)
#   C.1p the same with events that have properties (build/tests/loadgen --connections 1)
#   C.2 ingest, POST /events: instructions per event, over 20 requests of 500 events
#       (the events of tests/bench/bench.sh's `fill`)
#   C.3 processor: instructions per event while it drains 2,000 queued events (4 batches
#       of BATCH_SIZE=500) into MongoDB: its own process only (the database is another
#       process); the queue is filled before the profile starts and handed to the idle
#       processor with one RENAME
#   C.4 processor: MongoDB commands sent and documents written per batch of 500, with the
#       rollup protocol's share, from callgrind's call counts of the driver's entry points
#   C.5 Redis: instructions per event of ingest's push (one multi-value LPUSH per group
#       commit, ingest/pusher.c) over C.2's requests, in a redis-server of its own under
#       callgrind (its network and command handling included)
#   C.6 Redis: instructions per event of a processor's claims of C.5's events (the visit
#       assignment's three scripts, acknowledgements, heartbeats) in that redis-server
# and, for C.1-C.3, the top five functions by inclusive cost (callgrind_annotate
# --inclusive=yes; thread entry points and the driver loop that hold ~100 % left out).
# Each figure is shown next to the one of the previous run, read from BENCH_OUT before it
# is overwritten, so that a change that costs more shows.
#
#   tests/bench/callgrind.sh --update          run, print, and rewrite the cost rows and
#                                              details in BENCH_OUT in place (make bench-cost)
#   tests/bench/callgrind.sh --out DIR         run, print, and write DIR/rows (tab-separated:
#                                              id, measurement, result, command) and
#                                              DIR/details.md for tests/bench/bench.sh
# About 30-40 s of callgrind time. Environment: BUILD (build), BENCH_OUT (docs/benchmarks.md).
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/../it/lib.sh"

cd "$T_ROOT" || exit 1
BENCH_OUT=${BENCH_OUT:-$T_ROOT/docs/benchmarks.md}
REL_BUILD=${BUILD#"$T_ROOT"/}
MODE=${1:-}
OUT_DIR=${2:-}
case "$MODE" in
--update) OUT_DIR="$T_TMP/out" ;;
--out) [ -n "$OUT_DIR" ] || { echo "usage: $0 --update | --out DIR" >&2; exit 2; } ;;
*)
    echo "usage: $0 --update | --out DIR" >&2
    exit 2
    ;;
esac
mkdir -p "$OUT_DIR" || exit 1
REQS=2000     # C.1 requests
BATCHES=20    # C.2 requests of 500 events
DRAIN_N=2000  # C.3 events
SITE=bench-site

die() {
    T_FAILED=$((T_FAILED + 1))
    echo "callgrind.sh: FAILED: $*" >&2
    exit 1
}
say() { echo "# $*"; }

for tool in valgrind callgrind_control callgrind_annotate jq curl redis-cli; do
    command -v "$tool" >/dev/null || die "$tool is not installed (run make setup)"
done
for bin in ingest processor tests/loadgen tests/mongoq tests/freeport; do
    [ -x "$BUILD/$bin" ] || die "$BUILD/$bin is missing (run make all)"
done

# cg_start LABEL NAME ENV...: run $BUILD/NAME under callgrind, instrumentation off, with
# PORT=0 and the environment given, its profile and log named LABEL; waits for its
# "listening on" line. Sets CG_PID and CG_PORT. Each measure has a process of its own: the
# inclusive costs of a second dump of one process are wrong for the calls that were under
# way when collection was switched off and on (poll, nanosleep...), and so is its summary.
cg_start() {
    local label=$1 name=$2 log="$T_TMP/$1.log"
    shift 2
    env PORT=0 PROBE_PORT=0 BIND_ADDRESS=127.0.0.1 "$@" valgrind --tool=callgrind \
        --instr-atstart=no --callgrind-out-file="$T_TMP/$label.cg" "$BUILD/$name" >"$log" 2>&1 &
    CG_PID=$!
    T_PIDS+=("$CG_PID")
    wait_until 60 grep -q 'INFO listening on ' "$log" || die "$name did not start under callgrind"
    CG_PORT=$(sed -n 's/.*INFO listening on [^:]*:\([0-9]*\).*/\1/p' "$log" | tail -n 1)
}

# cg_on PID / cg_dump PID: start counting; write the counts so far to <out>.1 and stop.
cg_on() {
    local out
    out=$(callgrind_control -i on "$1" 2>&1) || die "callgrind_control -i on $1: $out"
}
cg_dump() {
    local out
    out=$(callgrind_control -d "$1" 2>&1) || die "callgrind_control -d $1: $out"
    out=$(callgrind_control -i off "$1" 2>&1) || die "callgrind_control -i off $1: $out"
}

# cg_total FILE: the instructions of a dump.
cg_total() {
    awk '/^totals:/ { print $2; exit }' "$1"
}

# cg_top FILE: the top five functions by inclusive cost, "name NN %; ..." (thread entry
# points, the processor's loop and unnamed functions of stripped libraries left out).
cg_top() {
    callgrind_annotate --inclusive=yes --auto=no "$1" 2>/dev/null | awk '
        /^-+$/ { dashes++; next }
        dashes >= 4 && $2 ~ /^\(/ && $3 ~ /:/ {
            pct = $2; gsub(/[()%]/, "", pct)
            name = $3; sub(/.*:/, "", name)
            if (pct + 0 >= 95 || name ~ /^0x/ || name ~ /^(start_thread|clone3?|drain_run)$/ || seen[name]++) next
            out = out (n ? "; " : "") "`" name "` " pct " %"
            if (++n == 5) { print out; exit }
        }'
}

# cg_calls FILE FUNCTION: how many times FUNCTION was called (summed over its callers).
cg_calls() {
    callgrind_annotate --tree=caller --threshold=100 "$1" 2>/dev/null | awk -v f="$2" '
        /^ *$/ { sum = 0; next }
        / < / { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(/,/, "", c); sum += c; next }
        / \*  / { name = $0; sub(/ \[.*/, "", name); sub(/.*:/, "", name)
                  if (name == f) { print sum + 0; found = 1; exit } ; sum = 0 }
        END { if (!found) print 0 }'
}

# previous ID: the first number in the result of row ID of BENCH_OUT's last run (empty if none).
previous() {
    [ -f "$BENCH_OUT" ] || return 0
    awk -F' [|] ' -v id="$1" '$1 == "| " id { r = $3; gsub(/[*,]/, "", r); if (match(r, /[0-9]+(\.[0-9]+)?/)) print substr(r, RSTART, RLENGTH); exit }' "$BENCH_OUT"
}

# vs_previous NOW PREV: "previous P, +x.y %" or "no previous run".
vs_previous() {
    if [ -z "$2" ]; then
        echo "no previous figure"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "previous %s, %+.1f %%", b, (b > 0 ? (a - b) * 100 / b : 0) }' |
            sed "s/previous $2/previous $(group "${2%%.*}")${2#"${2%%.*}"}/"
    fi
}

ROWS_FILE="$OUT_DIR/rows"
DETAILS_FILE="$OUT_DIR/details.md"
: >"$ROWS_FILE"
TOPS=()

# cost_row ID MEASUREMENT PER TOTAL UNITS COMMAND DUMP: one row, per-unit instructions.
cost_row() {
    local id=$1 what=$2 per=$3 total=$4 units=$5 how=$6 dump=$7 prev result
    prev=$(previous "$id")
    result="**$(group "$per") instructions/$units** ($(vs_previous "$per" "$prev")); $(group "$total") in all"
    printf '%s\t%s\t%s\t%s\n' "$id" "$what" "$result" "$how" >>"$ROWS_FILE"
    say "$id $what: $result"
    TOPS+=("| $id | $(cg_top "$dump") |")
}

say "cost: servers on free ports of 127.0.0.1 (logs in $T_TMP)"
start_redis || die "redis-server did not start"
start_mongo || die "the MongoDB-compatible server did not start"

# post_batches PID: C.2's requests, POST /events of batch.json to $INGEST_URL, 2 unmeasured
# then BATCHES counted by the callgrind of PID (ingest's own, or Redis's for C.5); dies
# unless each answered 202.
post_batches() {
    local urls=() codes i # one -o per URL: the answers go nowhere, their statuses are counted
    for ((i = 0; i < BATCHES; i++)); do urls+=(-o /dev/null "$INGEST_URL/events"); done
    curl -sf --max-time 60 -H 'Content-Type: application/json' --data-binary "@$T_TMP/batch.json" \
        -o /dev/null "$INGEST_URL/events" -o /dev/null "$INGEST_URL/events" ||
        die "POST /events (warm-up) failed"
    cg_on "$1"
    codes=$(curl -s -w '%{http_code}\n' --max-time 300 -H 'Content-Type: application/json' \
        --data-binary "@$T_TMP/batch.json" "${urls[@]}")
    cg_dump "$1"
    [ "$(grep -c '^202$' <<<"$codes")" = "$BATCHES" ] || die "POST /events answered: $(tr '\n' ' ' <<<"$codes")"
}

# --- C.1, C.2: ingest ---------------------------------------------------------------------

# C.1: the benchmark's own event (part 1's body, tests/bench/post.lua), plain strings only.
cg_start ingest ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=cost
INGEST_CG=$CG_PID
INGEST_URL="http://127.0.0.1:$CG_PORT"
EVENT='{"site_id":"bench-site","event_type":"page_view","path":"/p0","user_id":"u0","timestamp":"2025-11-15T10:00:00Z"}'
# post_event N: N POST /event of EVENT on one keep-alive connection; their statuses.
post_event() {
    local urls=() i
    for ((i = 0; i < $1; i++)); do urls+=(-o /dev/null "$INGEST_URL/event"); done
    curl -s -w '%{http_code}\n' --max-time 300 -H 'Content-Type: application/json' \
        --data-binary "$EVENT" "${urls[@]}"
}
[ "$(post_event 200 | grep -c '^202$')" = 200 ] || die "POST /event (warm-up) failed"
cg_on "$INGEST_CG"
codes=$(post_event "$REQS")
cg_dump "$INGEST_CG"
[ "$(grep -c '^202$' <<<"$codes")" = "$REQS" ] || die "not every POST /event was accepted"
total=$(cg_total "$T_TMP/ingest.cg.1")
cost_row C.1 "ingest, \`POST /event\` of the benchmark's event: instructions per request (callgrind, steady state)" \
    $((total / REQS)) "$total" request \
    "$REQS × \`curl --data-binary '{\"site_id\":\"bench-site\",...}' URL/event\` (one keep-alive connection, post.lua's event 0) against \`valgrind --tool=callgrind --instr-atstart=no $REL_BUILD/ingest\`, counted between \`callgrind_control -i on\` and \`-d\` after 200 unmeasured requests" \
    "$T_TMP/ingest.cg.1"
stop_pid "$INGEST_CG" 60

# C.1p: events with properties (loadgen's: tests/tools/loadgen.c), which take the jansson path.
cg_start ingest-props ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=cost
INGEST_CG=$CG_PID
"$BUILD/tests/loadgen" --port "$CG_PORT" --connections 1 --max 200 --seconds 120 \
    --out "$T_TMP/warm.ids" >/dev/null || die "loadgen (warm-up) failed"
cg_on "$INGEST_CG"
LOADGEN_CMD="$REL_BUILD/tests/loadgen --port PORT --connections 1 --max $REQS --seconds 300 --out FILE"
out=$("$BUILD/tests/loadgen" --port "$CG_PORT" --connections 1 --max "$REQS" --seconds 300 \
    --out "$T_TMP/event.ids") || die "loadgen failed: $out"
cg_dump "$INGEST_CG"
[[ "$out" == *"accepted=$REQS "* ]] || die "not every POST /event was accepted: $out"
total=$(cg_total "$T_TMP/ingest-props.cg.1")
cost_row C.1p "ingest, \`POST /event\` with properties: instructions per request (callgrind, steady state)" \
    $((total / REQS)) "$total" request \
    "\`$LOADGEN_CMD\` (events with \`properties\`), as C.1" \
    "$T_TMP/ingest-props.cg.1"

jq -nc --arg site "$SITE" '
    def two: tostring | if length < 2 then "0" + . else . end;
    [range(0; 500) | (. % 3600) as $s |
     {site_id: $site, event_type: (if . % 4 == 3 then "click" else "page_view" end),
      path: "/p\(. % 50)", user_id: "u\(. % 200)",
      timestamp: "2025-11-15T10:\($s / 60 | floor | two):\($s % 60 | two)Z"}]' >"$T_TMP/batch.json" ||
    die "jq could not make the events"
stop_pid "$INGEST_CG" 60
cg_start ingest-batch ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=cost
INGEST_CG=$CG_PID
INGEST_URL="http://127.0.0.1:$CG_PORT"
post_batches "$INGEST_CG"
total=$(cg_total "$T_TMP/ingest-batch.cg.1")
cost_row C.2 "ingest, \`POST /events\` of 500 events: instructions per event (callgrind)" \
    $((total / (BATCHES * 500))) "$total" event \
    "$BATCHES × \`curl --data-binary @batch.json URL/events\` (one keep-alive connection) after 2 unmeasured, as C.1" \
    "$T_TMP/ingest-batch.cg.1"

# --- C.3, C.4: processor -----------------------------------------------------------------

# The queue to drain: ingest (still under callgrind, not counting) fills key "cost"; the
# processor drains key "events"; RENAME hands it over whole once the processor is idle.
redis_cli del cost >/dev/null
for ((i = 0; i < DRAIN_N; i += 500)); do
    curl -sf -o /dev/null --max-time 60 -H 'Content-Type: application/json' \
        --data-binary "@$T_TMP/batch.json" "$INGEST_URL/events" || die "POST /events (fill) failed"
done
[ "$(redis_cli llen cost)" = "$DRAIN_N" ] || die "the queue holds $(redis_cli llen cost) events, not $DRAIN_N"
stop_pid "$INGEST_CG" 60
URI=$(mongo_uri cost)
cg_start processor processor REDIS_PORT="$REDIS_PORT" QUEUE_KEY=events BATCH_SIZE=500 MONGO_URI="$URI"
PROC_CG=$CG_PID
# Started: registered as a consumer once its indexes are made and its first recovery pass ran.
# shellcheck disable=SC2317 # called through wait_until
registered() { [ "$(redis_cli scard events:consumers)" = 1 ] && redis_cli --scan --pattern 'events:heartbeat:*' | grep -q .; }
wait_until 60 registered || die "the processor did not register"
# shellcheck disable=SC2317 # called through wait_until
drained() {
    [ "$(redis_cli llen events)" = 0 ] && [ "$("$BUILD/tests/mongoq" "$URI" events count '{}')" = "$DRAIN_N" ] &&
        ! redis_cli --scan --pattern 'events:processing:*' | grep -q .
}
cg_on "$PROC_CG"
redis_cli rename cost events >/dev/null
wait_until 300 drained || die "the processor did not drain $DRAIN_N events"
cg_dump "$PROC_CG"
stop_pid "$PROC_CG" 60
[ "$STOP_RC" = 0 ] || die "the processor exited $STOP_RC on SIGTERM"
dump="$T_TMP/processor.cg.1"
total=$(cg_total "$dump")
cost_row C.3 "processor, draining $(group "$DRAIN_N") queued events (BATCH_SIZE=500): instructions per event (callgrind, its own process)" \
    $((total / DRAIN_N)) "$total" event \
    "\`REDIS_PORT=P QUEUE_KEY=events BATCH_SIZE=500 MONGO_URI=$(mongo_uri cost) valgrind --tool=callgrind --instr-atstart=no $REL_BUILD/processor\`, counted from \`callgrind_control -i on\` (processor idle, registered) and \`RENAME cost events\` until drained" \
    "$dump"

# Per batch of 500: every command the driver sends goes through
# mongoc_cluster_run_command_monitored; the events' inserts are insert_many calls (and,
# after a duplicate, insert_one); every document written is an insert or update statement.
batches=$((DRAIN_N / 500))
commands=$(cg_calls "$dump" mongoc_cluster_run_command_monitored)
ev_cmds=$(($(cg_calls "$dump" mongoc_collection_insert_many) + $(cg_calls "$dump" mongoc_collection_insert_one)))
ins_docs=$(cg_calls "$dump" _mongoc_write_command_insert_append)
upd_docs=$(cg_calls "$dump" _mongoc_write_command_update_append)
finds=$(($(cg_calls "$dump" mongoc_collection_find_with_opts) + $(cg_calls "$dump" mongoc_collection_count_documents)))
per() { awk -v a="$1" -v b="$batches" 'BEGIN { v = a / b; if (v == int(v)) printf "%d", v; else printf "%.1f", v }'; }
prev=$(previous C.4)
result="**$(per "$commands") commands** ($(vs_previous "$(per "$commands")" "$prev")): events $(per "$ev_cmds"), rollup protocol $(per $((commands - ev_cmds))) (reads $(per "$finds")); documents written $(per $((ins_docs + upd_docs))): events $(per "$ins_docs"), rollup upserts and updates $(per "$upd_docs")"
printf '%s\t%s\t%s\t%s\n' C.4 "processor: MongoDB commands and documents written per batch of 500 (C.3's drain, $batches batches)" \
    "$result" "calls in C.3's profile: \`mongoc_cluster_run_command_monitored\` (every command), \`insert_many\`/\`insert_one\`, \`find_with_opts\`/\`count_documents\`, \`_mongoc_write_command_insert_append\`/\`_update_append\` (statements)" >>"$ROWS_FILE"
say "C.4 per batch: $result"

# --- C.5: Redis, ingest's LPUSH --------------------------------------------------------------

# C.2's requests again, into a redis-server of its own under callgrind (stripped: no top five).
RCG_PORT=$("$BUILD/tests/freeport") || die "no free port"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$T_TMP/redis.cg" \
    redis-server --port "$RCG_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$T_TMP/redis-cg.log" 2>&1 &
RCG_PID=$!
T_PIDS+=("$RCG_PID")
# shellcheck disable=SC2317 # called through wait_until
rcg_up() { redis-cli -p "$RCG_PORT" ping 2>/dev/null | grep -q PONG; }
wait_until 60 rcg_up || die "redis-server did not start under callgrind"
start_service ingest9 REDIS_PORT="$RCG_PORT" QUEUE_KEY=cost || die "ingest did not start"
INGEST_URL="http://127.0.0.1:$INGEST9_PORT"
post_batches "$RCG_PID"
stop_pid "$INGEST9_PID" 60
total=$(cg_total "$T_TMP/redis.cg.1")
prev=$(previous C.5)
per=$((total / (BATCHES * 500)))
result="**$(group "$per") instructions/event** ($(vs_previous "$per" "$prev")); $(group "$total") in all"
printf '%s\t%s\t%s\t%s\n' C.5 "Redis: ingest's push of C.2's events (LPUSH): instructions per event (callgrind)" \
    "$result" "\`valgrind --tool=callgrind --instr-atstart=no redis-server ...\`, ingest on it, C.2's $BATCHES requests after 2 unmeasured" >>"$ROWS_FILE"
say "C.5 Redis: $result"

# --- C.6: Redis, the processor's claims ------------------------------------------------------

# C.5's last DRAIN_N queued events, drained from that Redis (still under callgrind, counting again) by a
# processor of its own (not under callgrind): the claim, visit state and commit scripts
# (200 visitors per 500 events), the acknowledgements and heartbeats, per event.
redis-cli -p "$RCG_PORT" ltrim cost 0 $((DRAIN_N - 1)) >/dev/null
N6=$(redis-cli -p "$RCG_PORT" llen cost)
URI6=$(mongo_uri cost6)
start_service processor9 REDIS_PORT="$RCG_PORT" QUEUE_KEY=events BATCH_SIZE=500 MONGO_URI="$URI6" ||
    die "the processor did not start"
# shellcheck disable=SC2317 # called through wait_until
registered9() { [ "$(redis-cli -p "$RCG_PORT" scard events:consumers)" = 1 ]; }
wait_until 60 registered9 || die "the processor did not register"
# shellcheck disable=SC2317 # called through wait_until
drained9() {
    [ "$(redis-cli -p "$RCG_PORT" llen events)" = 0 ] &&
        [ "$("$BUILD/tests/mongoq" "$URI6" events count '{}')" = "$N6" ] &&
        ! redis-cli -p "$RCG_PORT" --scan --pattern 'events:processing:*' | grep -q .
}
cg_on "$RCG_PID"
redis-cli -p "$RCG_PORT" rename cost events >/dev/null
wait_until 600 drained9 || die "the processor did not drain $N6 events"
cg_dump "$RCG_PID"
stop_pid "$PROCESSOR9_PID" 60
total=$(cg_total "$T_TMP/redis.cg.2")
prev=$(previous C.6)
per=$((total / N6))
result="**$(group "$per") instructions/event** ($(vs_previous "$per" "$prev")); $(group "$total") in all"
printf '%s\t%s\t%s\t%s\n' C.6 "Redis: the processor's claims of C.5's $(group "$N6") events (claim, visit states, commit, acknowledgement; BATCH_SIZE=500, 200 visitors per 500 events): instructions per event (callgrind)" \
    "$result" "C.5's \`redis-server\` under callgrind, counting again from the \`RENAME\` of its queue to a processor's until drained" >>"$ROWS_FILE"
say "C.6 Redis: $result"

commit=$(git -C "$T_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$T_ROOT" diff --quiet HEAD -- . ':!docs/benchmarks.md' 2>/dev/null || commit+=" with uncommitted changes"
{
    echo "<!-- cost details: tests/bench/callgrind.sh -->"
    echo "Rows C.1-C.6 were measured at commit $commit on $(date -u +%Y-%m-%dT%H:%M:%SZ) by"
    echo "tests/bench/callgrind.sh (\`make bench-cost\` rewrites only them). Where the instructions"
    echo "of C.1-C.3 go: the top five functions by inclusive cost (\`callgrind_annotate"
    echo "--inclusive=yes\`; thread entry points left out):"
    echo
    echo "| # | top five functions (inclusive) |"
    echo "|---|---|"
    printf '%s\n' "${TOPS[@]}"
    echo "<!-- /cost details -->"
} >"$DETAILS_FILE"

if [ "$MODE" = --update ]; then
    [ -f "$BENCH_OUT" ] || die "$BENCH_OUT does not exist: run make bench first"
    # Replace the C.* rows and the details block where they are; a file without them
    # gets the rows at the end of the results table and the details just after it.
    has_rows=$(grep -c '^| C\.[0-9]*[a-z]* |' "$BENCH_OUT")
    has_details=$(grep -c '^<!-- cost details' "$BENCH_OUT")
    awk -v rows="$ROWS_FILE" -v details="$DETAILS_FILE" -v has_rows="$has_rows" \
        -v has_details="$has_details" '
        function put_rows(  l, f) {
            while ((getline l < rows) > 0) {
                split(l, f, "\t"); print "| " f[1] " | " f[2] " | " f[3] " | " f[4] " |"
            }
            close(rows); done_rows = 1
        }
        function put_details(  l) { while ((getline l < details) > 0) print l; close(details) }
        /^<!-- cost details/ { skip = 1; put_details(); next }
        skip { if (/^<!-- \/cost details/) skip = 0; next }
        /^\| C\.[0-9]+[a-z]* \|/ { if (!done_rows) put_rows(); next }
        /^## Results/ { in_results = 1 }
        in_results && /^\|/ { in_table = 1 }
        in_table && !/^\|/ {
            in_table = 0; in_results = 0
            if (!has_rows) put_rows()
            print
            if (!has_details) { put_details(); print "" }
            next
        }
        { print }' "$BENCH_OUT" >"$T_TMP/bench.md" || die "could not rewrite $BENCH_OUT"
    cp "$T_TMP/bench.md" "$BENCH_OUT"
    say "cost rows and details written to ${BENCH_OUT#"$T_ROOT"/}"
fi
echo
awk -F'\t' '{ print "| " $1 " | " $2 " | " $3 " | " $4 " |" }' "$ROWS_FILE"
echo
cat "$DETAILS_FILE"
