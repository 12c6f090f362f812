#!/usr/bin/env bash
# it_fault_dead.sh - dead letters are written once. A processor-fault with FAULT_LOSE_REPLY=N
# (tests/fault.c) loses the answer of its N-th Redis call after Redis ran it, for every N of
# a run that stores three events and dead-letters two bad envelopes (the claim, the
# heartbeat, the recovery pass, the acknowledgement that pushes the dead letters): each event
# is stored once and each dead letter pushed once.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
TS=1763200800000 # 2025-11-15T10:00:00Z

# envelope N SITE: a valid queue envelope of event N (a UUIDv7 id of its own) on SITE.
envelope() {
    printf '{"v":1,"id":"0190163d-8694-7abc-8def-%012d","site_id":"%s","event_type":"page_view","ts":%s,"received":%s,"path":"/p%s","user_id":"u%s"}' \
        "$1" "$2" "$((TS + $1))" "$((TS + $1 + 5))" "$(($1 % 3))" "$1"
}

# --- lost replies -----------------------------------------------------------------------------
RUN=0
FAILED_RUNS=()
# lose_run N: on a queue and database of their own, three events and two bad envelopes,
# drained by a processor-fault with FAULT_LOSE_REPLY=N. Sets REPLIES (the replies it read).
lose_run() {
    local n=$1 q db stored dead why=()
    RUN=$((RUN + 1))
    q="lose$RUN"
    db="lose$RUN"
    for i in 1 2; do redis_cli lpush "$q" "$(envelope "$((RUN * 10 + i))" lose-site)" >/dev/null; done
    redis_cli lpush "$q" 'not json at all' >/dev/null
    redis_cli lpush "$q" "$(envelope "$((RUN * 10 + 3))" lose-site)" >/dev/null
    redis_cli lpush "$q" '{"v":1,"id":"bad","site_id":"s","event_type":"e","ts":1,"received":1}' >/dev/null
    : >"$T_TMP/processor.log"
    VARIANT=-fault start_service processor REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$q" \
        MONGO_URI="$(mongo_uri "$db")" BATCH_SIZE=10 BATCH_WAIT_MS=100 RETRY_BASE_MS=10 \
        RETRY_MAX_MS=100 HEARTBEAT_TTL_MS=60000 FAULT_LOSE_REPLY="$n"
    # shellcheck disable=SC2317 # called through wait_until
    done_run() {
        queue_settled "$q" && [ "$(redis_cli llen "$q:dead")" -ge 2 ] &&
            [ "$("$BUILD/tests/mongoq" "$(mongo_uri "$db")" events count '{}')" -ge 3 ]
    }
    wait_until $((20 * T_SLOW)) done_run || why+=("never drained")
    stop_pid "$PROCESSOR_PID"
    [ "$STOP_RC" = 0 ] || why+=("processor ended with $STOP_RC")
    REPLIES=$(sed -n 's/^FAULT: replies: //p' "$T_TMP/processor.log" | tail -n 1)
    stored=$("$BUILD/tests/mongoq" "$(mongo_uri "$db")" events count '{}')
    dead=$(redis_cli llen "$q:dead")
    [ "$stored" = 3 ] || why+=("$stored events stored, not 3")
    [ "$dead" = 2 ] || why+=("$dead dead letters, not 2")
    echo "# lost reply $n: stored $stored, dead letters $dead${why[*]:+; ${why[*]}}"
    if [ "${#why[@]}" -gt 0 ]; then
        FAILED_RUNS+=("reply $n: ${why[*]}")
        cp "$T_TMP/processor.log" "$T_TMP/processor-lose$n.log"
    fi
}
lose_run 0 # a clean run: counts the replies
clean=$REPLIES
echo "# a clean run reads $clean Redis replies"
check "a clean run reads some Redis replies ($clean)" [ "${clean:-0}" -gt 3 ]
for n in $(seq 1 "${clean:-0}"); do lose_run "$n"; done
expect_eq "each lost reply: every event stored once, every dead letter pushed once" \
    "${#FAILED_RUNS[@]}" 0
for f in "${FAILED_RUNS[@]}"; do echo "#   $f"; done

t_summary
