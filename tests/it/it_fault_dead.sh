#!/usr/bin/env bash
# it_fault_dead.sh - dead letters are written once, and a batch that can never be counted
# becomes dead letters instead of stalling its processor.
#  1. A lost reply: a processor-fault with FAULT_LOSE_REPLY=N (tests/it/fault.c) loses the
#     answer of its N-th Redis call after Redis ran it, for every N of a run that stores
#     three events and dead-letters two bad envelopes (the claim, the heartbeat, the recovery
#     pass, the acknowledgement that pushes the dead letters): each event is stored once and
#     each dead letter pushed once.
#  2. A stall: the rollup of one batch fails every time (the failpoint FAULT_FAIL_ROLLUP);
#     after MAX_ATTEMPTS tries its envelopes go to the dead-letter list (reason rollup_failed,
#     counted in analytics_events_dead_lettered_total) and the batch behind it, on the same
#     documents, is counted; requeued (processor --dead requeue) once the failpoint is gone,
#     they are counted too, and /stats answers as /stats/aggregated.
#  3. Owners that keep changing: every compare-and-set of a redelivered event's owner loses
#     (FAULT_CAS_LOST); the batch is dead-lettered after MAX_ATTEMPTS tries.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
TS=1763200800000 # 2025-11-15T10:00:00Z

# envelope N SITE: a valid queue envelope of event N (a UUIDv7 id of its own) on SITE.
envelope() {
    printf '{"v":1,"id":"0190163d-8694-7abc-8def-%012d","site_id":"%s","event_type":"page_view","ts":%s,"received":%s,"path":"/p%s","user_id":"u%s"}' \
        "$1" "$2" "$((TS + $1))" "$((TS + $1 + 5))" "$(($1 % 3))" "$1"
}

# --- 1. lost replies --------------------------------------------------------------------------
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

# --- 2. a batch whose rollup can never succeed ---------------------------------------------
Q=stall
DB=stall
P_ENV=(REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$Q" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=10
    BATCH_WAIT_MS=100 RETRY_BASE_MS=10 RETRY_MAX_MS=50 MAX_ATTEMPTS=3)
for i in 1 2 3 4; do redis_cli lpush $Q "$(envelope "$i" stall-site)" >/dev/null; done
: >"$T_TMP/processor.log"
VARIANT=-fault start_service processor "${P_ENV[@]}" FAULT_FAIL_ROLLUP=1
P="http://127.0.0.1:$PROCESSOR_PORT"
# shellcheck disable=SC2317 # called through wait_until
dead_of_batch1() { [ "$(redis_cli llen $Q:dead)" = 4 ] && queue_settled $Q; }
check "the batch that cannot be counted is dead-lettered after 3 tries" \
    wait_until $((20 * T_SLOW)) dead_of_batch1
dead=$(redis_cli lrange $Q:dead 0 -1 | jq -sc 'map({reason, attempts,
    failpoint: (.error | test("failpoint")), id: (.payload | fromjson | .id)}) | sort_by(.id)')
expect_json "its dead letters: each envelope, reason rollup_failed, 3 attempts, the error" \
    "$dead" "$(for i in 1 2 3 4; do printf '{"reason":"rollup_failed","attempts":3,"failpoint":true,"id":"0190163d-8694-7abc-8def-%012d"}' "$i"; done | jq -sc .)"
expect_eq "analytics_events_dead_lettered_total{reason=\"rollup_failed\"}" \
    "$(metric "$P" 'analytics_events_dead_lettered_total{reason="rollup_failed"}')" 4
# The next batch, on the same site-day, paths and site-hour, is counted.
for i in 5 6 7; do redis_cli lpush $Q "$(envelope "$i" stall-site)" >/dev/null; done
# shellcheck disable=SC2317 # called through wait_until
batch2() { [ "$(metric "$P" analytics_batches_total)" -ge 2 ] && queue_settled $Q; }
check "the batch behind it is counted" wait_until $((20 * T_SLOW)) batch2
start_service reporting MONGO_URI="$(mongo_uri $DB)"
R="http://127.0.0.1:$REPORTING_PORT"
expect_eq "/stats: the given-up batch's stored events are not counted yet" \
    "$(curl -s "$R/stats?site_id=stall-site&date=2025-11-15" | jq -c '[.total_views, .unique_users]')" \
    '[3,3]'
expect_eq "/stats/aggregated: all seven are stored" \
    "$(curl -s "$R/stats/aggregated?site_id=stall-site&date=2025-11-15" | jq .total_views)" 7
expect_clean_stop processor
# Without the failpoint, requeued: met again, taken over from the given-up batch, counted.
start_service processor "${P_ENV[@]}"
P="http://127.0.0.1:$PROCESSOR_PORT"
expect_eq "processor --dead requeue: 4 dead letters back on the queue" \
    "$(env REDIS_PORT="$REDIS_PORT" QUEUE_KEY=$Q "$BUILD/processor" --dead requeue 2>&1 | tail -n 1)" \
    "requeued 4 dead letters onto $Q"
# shellcheck disable=SC2317 # called through wait_until
requeued() { [ "$(metric "$P" analytics_batches_total)" -ge 1 ] && queue_settled $Q; }
check "the requeued envelopes are processed" wait_until $((20 * T_SLOW)) requeued
expect_eq "no dead letters left" "$(redis_cli llen $Q:dead)" 0
check "their counts were taken over from the given-up batch" \
    [ "$(metric "$P" analytics_rollup_takeovers_total)" -gt 0 ]
verify_rollup $DB stall-site 2025-11-15
expect_eq "/stats: all seven counted" \
    "$(curl -s "$R/stats?site_id=stall-site&date=2025-11-15" | jq -c '[.total_views, .unique_users]')" \
    '[7,7]'
for s in processor reporting; do expect_clean_stop $s; done

# --- 3. owners that keep changing ----------------------------------------------------------
# processor1 stores a batch and dies before counting it; processor2 takes it over, but every
# compare-and-set of an owner loses (FAULT_CAS_LOST, as if other processors always moved
# first): after MAX_ATTEMPTS its batch is dead-lettered rather than retried for ever.
Q=owners
DB=owners
P_ENV=(REDIS_PORT="$REDIS_PORT" QUEUE_KEY="$Q" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=10
    BATCH_WAIT_MS=100 RETRY_BASE_MS=10 RETRY_MAX_MS=50 MAX_ATTEMPTS=2 HEARTBEAT_TTL_MS=1000)
for i in 11 12 13; do redis_cli lpush $Q "$(envelope "$i" owners-site)" >/dev/null; done
VARIANT=-fault start_service processor1 "${P_ENV[@]}" FAULT_KILL_BEFORE_ROLLUP=1
# shellcheck disable=SC2317 # called through wait_until
gone() { ! ours "$PROCESSOR1_PID"; }
check "processor1 stored its batch and died before counting it" wait_until $((20 * T_SLOW)) gone
VARIANT=-fault start_service processor2 "${P_ENV[@]}" FAULT_CAS_LOST=1
# shellcheck disable=SC2317 # called through wait_until
given_up() { [ "$(redis_cli llen $Q:dead)" = 3 ] && queue_settled $Q; }
check "a batch whose owners keep changing is dead-lettered after 2 tries" \
    wait_until $((30 * T_SLOW)) given_up
expect_eq "its dead letters say why" \
    "$(redis_cli lrange $Q:dead 0 -1 | jq -sc 'map([.reason, .attempts, .error]) | unique')" \
    '[["rollup_failed",2,"redelivered events: their owners keep changing"]]'
expect_clean_stop processor2

t_summary
