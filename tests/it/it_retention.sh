#!/usr/bin/env bash
# it_retention.sh - retention: events of three sites over four days are stored and counted;
# a processor with RETENTION_DAYS=30, SITE_RETENTION=ret-a:5,ret-keep:0 and
# RETENTION_SWEEP_S=1 then deletes, by its sweep, exactly the events (and rollup user
# documents) of the days before each site's first kept day, keeps the others and every
# rollup figure; /events and /stats/aggregated say from which day raw events exist; an old
# event sent again after the sweep is a dead letter (expired), stored and counted nowhere;
# ROLLUP_RETENTION_DAYS deletes the rollups of older days; RETENTION_TTL=auto leaves the raw
# events to the sweep on the test server, RETENTION_TTL=on makes exactly the TTL indexes a
# recomputation wants (partial filters, ages, names), and changed settings change them or
# name in the log what the test server cannot do; bad settings stop the programs.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=retention
RET=(RETENTION_DAYS=30 SITE_RETENTION=" ret-a:5 , ret-keep:0")
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=10
start_service reporting MONGO_URI="$(mongo_uri $DB)" "${RET[@]}"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$@"; }
day() { date -u -d "$1 days ago" +%F; }
D40=$(day 40) D10=$(day 10) D2=$(day 2) D0=$(day 0)
SITES="ret-a ret-b ret-keep"
DAYS="$D40 $D10 $D2 $D0"

# Three events per site and day, users u1-u3, at 00:30 (today's may be in the future).
events=$(for s in $SITES; do for d in $DAYS; do for i in 1 2 3; do
    printf '{"event_id":"%s-%s-%s","site_id":"%s","event_type":"page_view","path":"/p%s","user_id":"u%s","timestamp":"%sT00:30:00Z"}\n' \
        "$s" "$d" "$i" "$s" "$i" "$i" "$d"
done; done; done | jq -sc .)
http POST "$I/events" "$events"
expect_eq "36 events accepted" "$HTTP_STATUS" 202
# And 600 more on ret-b's oldest day, of 600 users, so that the sweep deletes events and walks
# user documents in several steps (SWEEP_BATCH: 500).
for part in 0 1; do
    http POST "$I/events" "$(jq -nc --arg d "$D40" --argjson p $part '[range($p * 300; $p * 300 + 300) |
        {site_id: "ret-b", event_type: "page_view", path: "/bulk", user_id: "x\(.)",
         timestamp: "\($d)T01:00:00Z"}]')"
    expect_eq "300 more events accepted" "$HTTP_STATUS" 202
done
counted() {
    for s in $SITES; do for d in $DAYS; do
        local want=3
        [ "$s $d" = "ret-b $D40" ] && want=603
        [ "$(curl -s "$R/stats?site_id=$s&date=$d" | jq .total_views)" = $want ] || return 1
    done; done
}
check "every site-day stored and counted" wait_until 60 counted
stats_all() { for s in $SITES; do for d in $DAYS; do
    curl -s "$R/stats?site_id=$s&date=$d" | jq -c 'del(.raw_events_from)'
done; done; }
before=$(stats_all)
stop_pid "$PROCESSOR_PID"

# The days each site keeps (an independent recomputation: Python, from the settings).
expected() {
    python3 - "$D0" "$DAYS" <<'PY'
import datetime, sys
today = datetime.date.fromisoformat(sys.argv[1])
keep = {"ret-a": 5, "ret-b": 30, "ret-keep": 0}
for s, n in keep.items():
    for d in sys.argv[2].split():
        kept = n == 0 or datetime.date.fromisoformat(d) >= today - datetime.timedelta(days=n)
        print(s, d, 3 if kept else 0)
PY
}
stored() { # the events and the rollup user documents of each site and day, from MongoDB
    local users
    users=$(q rollup_users find '{}' | jq -r '._id')
    for s in $SITES; do for d in $DAYS; do
        local next
        next=$(date -u -d "$d + 1 day" +%F)
        echo "$s $d $(q events count "{\"site_id\":\"$s\",\"timestamp\":{\"\$gte\":{\"\$date\":\"${d}T00:00:00Z\"},\"\$lt\":{\"\$date\":\"${next}T00:00:00Z\"}}}")"
        echo "users $s $d $(grep -cE "^$d\|[^|]*\|${#s}:$s\|" <<<"$users")"
    done; done
}
# A user has two documents a day: of all types and of its type.
want=$(expected | awk '{ print; print "users", $1, $2, 2 * $3 }')
echo "# expected after the sweep:"; echo "$want" | grep -v '^users' | sed 's/^/#   /'
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=10 \
    "${RET[@]}" RETENTION_SWEEP_S=1
P="http://127.0.0.1:$PROCESSOR_PORT"
swept() { [ "$(stored)" = "$want" ]; }
if wait_until 30 swept; then pass "the sweep deleted exactly the events and user documents of the days before each site's first"; else
    fail "the sweep deleted exactly the events and user documents of the days before each site's first" \
        "$(diff <(echo "$want") <(stored))"; fi
expect_eq "analytics_retention_deleted_total{collection=\"events\"}" \
    "$(metric "$P" 'analytics_retention_deleted_total{collection="events"}')" 609
expect_eq "analytics_retention_deleted_total{collection=\"rollup_users\"}" \
    "$(metric "$P" 'analytics_retention_deleted_total{collection="rollup_users"}')" 1218
check "the sweep logs its counts" grep -q 'retention sweep: deleted 609 events, 1218 rollup user documents, 0 rollup documents' "$T_TMP/processor.log"
expect_eq "the rollups keep every figure" "$(stats_all)" "$before"
check "RETENTION_TTL=auto on the test server (no serverStatus): the sweep deletes the raw events" \
    grep -q 'retention TTL: no TTL index (RETENTION_TTL=auto and the server has no serverStatus, as the test server); the sweep deletes the raw events' "$T_TMP/processor.log"
expect_eq "analytics_retention_events_by_ttl" "$(metric "$P" analytics_retention_events_by_ttl)" 0

# raw_events_from: the first day of raw events, absent when kept for ever.
A5=$(day 5) B30=$(day 30)
http GET "$R/events?site_id=ret-a"
expect_eq "/events: ret-a's raw events from $A5" "$(jq -c '[.raw_events_from, (.events | length)]' <<<"$HTTP_BODY")" "[\"$A5\",6]"
http GET "$R/events?site_id=ret-keep&limit=5"
expect_eq "/events: ret-keep's kept for ever (no raw_events_from)" "$(jq -c '[has("raw_events_from"), (.events | length), (.next_cursor | type)]' <<<"$HTTP_BODY")" '[false,5,"string"]'
http GET "$R/stats/aggregated?site_id=ret-a&date=$D10"
expect_eq "/stats/aggregated before the first raw day: no events, and says so" \
    "$(jq -c '[.total_views, .raw_events_from]' <<<"$HTTP_BODY")" "[0,\"$A5\"]"
http GET "$R/stats/aggregated?site_id=ret-b&from=$D40&to=$D0"
expect_eq "/stats/aggregated over a range: the events kept" \
    "$(jq -c '[.total_views, .unique_users, .raw_events_from]' <<<"$HTTP_BODY")" "[9,3,\"$B30\"]"
http GET "$R/stats?site_id=ret-b&from=$D40&to=$D0"
# Its views are the rollups', whole; its users over several days are counted from the user
# documents, which went with the raw events: those of the kept days only.
expect_eq "/stats over the same range: the rollups' views, the kept days' users" \
    "$(jq -c '[.total_views, .unique_users, .raw_events_from]' <<<"$HTTP_BODY")" "[612,3,\"$B30\"]"
http GET "$R/stats?site_id=ret-b&date=$D40"
expect_eq "/stats of one expired day: its views and users, whole" \
    "$(jq -c '[.total_views, .unique_users]' <<<"$HTTP_BODY")" "[603,603]"
http GET "$R/stats/summary?site_id=ret-keep&date=$D40"
expect_eq "/stats/summary: kept for ever, no raw_events_from" "$(jq -c 'has("raw_events_from")' <<<"$HTTP_BODY")" false
http GET "$R/stats/breakdown?site_id=ret-a&date=$D10&by=country"
expect_eq "/stats/breakdown from the raw events says it" "$(jq -c .raw_events_from <<<"$HTTP_BODY")" "\"$A5\""

# An old event sent again (its document swept) and a new one of an expired day: dead
# letters, stored and counted nowhere.
old=$(jq -c '[.[] | select(.event_id == "ret-a-'"$D10"'-1")]' <<<"$events")
http POST "$I/events" "$old"
http POST "$I/event" "{\"site_id\":\"ret-b\",\"event_type\":\"page_view\",\"user_id\":\"u9\",\"timestamp\":\"${D40}T05:00:00Z\"}"
two_expired() { [ "$(redis_cli llen events:dead)" = 2 ] && queue_settled events; }
check "both go to the dead letters" wait_until 30 two_expired
expect_eq "their reason: expired" "$(redis_cli lrange events:dead 0 -1 | jq -r .reason | sort -u)" expired
expect_eq "analytics_events_dead_lettered_total{reason=\"expired\"}" \
    "$(metric "$P" 'analytics_events_dead_lettered_total{reason="expired"}')" 2
expect_eq "nothing stored again" "$(stored)" "$want"
expect_eq "nothing counted again" "$(stats_all)" "$before"
expect_clean_stop processor

# ROLLUP_RETENTION_DAYS=20: the rollups of D40 go (every collection), D10's stay.
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" "${RET[@]}" \
    RETENTION_SWEEP_S=1 ROLLUP_RETENTION_DAYS=20
rollup_docs() { # rollup documents (every collection but rollup_users) of day $1
    for c in rollups rollup_paths rollup_hours rollup_visits rollup_entry_pages rollup_exit_pages \
        rollup_dims rollup_dim_visits; do
        q "$c" find '{}' | jq -r '._id'
    done | grep -c "^$1"
}
no_d40() { [ "$(rollup_docs "$D40")" = 0 ]; }
check "ROLLUP_RETENTION_DAYS: the rollups of $D40 are deleted" wait_until 30 no_d40
expect_match "the rollups of $D10 stay" "$(rollup_docs "$D10")" '^[1-9][0-9]*$'
expect_eq "the events of ret-keep's $D40 stay" "$(q events count "{\"site_id\":\"ret-keep\"}")" 12
http GET "$R/stats?site_id=ret-keep&date=$D10"
expect_eq "/stats of $D10 unchanged" "$(jq -c 'del(.raw_events_from)' <<<"$HTTP_BODY")" "$(sed -n 10p <<<"$before")"

# RETENTION_TTL=on: the events' TTL indexes, as an independent recomputation (Python, from
# the settings) wants them: one per run of site ids in byte order with the same days, its
# partial filter, (days + 1) * 86400 + 3600 s, named by the FNV-1a of its bounds. The test
# server keeps them (and never expires anything), has createIndexes and listIndexes but no
# collMod and no dropIndexes.
ttl_want() { # DAYS SITE:DAYS...
    "$T_PYTHON" - "$@" <<'PY'
import json, sys
default, listed = int(sys.argv[1]), dict((a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[2:])
sites = sorted(listed, key=lambda s: s.encode())
# elements: stretch 0, site 0, stretch 1, ..., site n-1, stretch n
elems = []
for i, s in enumerate(sites):
    elems += [("gap", i, default), ("site", i, listed[s])]
elems.append(("gap", len(sites), default))
def fnv(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) % 2**64
    return "%016x" % h
out, i = [], 0
while i < len(elems):
    j = i
    while j + 1 < len(elems) and elems[j + 1][2] == elems[i][2]:
        j += 1
    days = elems[i][2]
    if days > 0:
        kind, k, _ = elems[i]
        lo = None if (kind, k) == ("gap", 0) else (sites[k], True) if kind == "site" else (sites[k - 1], False)
        kind, k, _ = elems[j]
        hi = None if (kind, k) == ("gap", len(sites)) else (sites[k], True) if kind == "site" else (sites[k], False)
        key = b"n" if lo is None else (b"G" if lo[1] else b"g") + lo[0].encode() + b"\0"
        key += b"n" if hi is None else (b"L" if hi[1] else b"l") + hi[0].encode() + b"\0"
        if lo is not None and hi is not None and lo[0] == hi[0]:
            f = {"site_id": lo[0]}
        elif lo is None and hi is None:
            f = None
        else:
            r = {}
            if lo: r["$gte" if lo[1] else "$gt"] = lo[0]
            if hi: r["$lte" if hi[1] else "$lt"] = hi[0]
            f = {"site_id": r}
        out.append({"name": "retention_ttl_" + fnv(key), "filter": f, "age": (days + 1) * 86400 + 3600})
    i = j + 1
for o in sorted(out, key=lambda o: o["name"]):
    print(json.dumps(o, sort_keys=True, separators=(",", ":")))
PY
}
expect_clean_stop processor
ttl_have() {
    q events command '{"listIndexes":"events"}' | jq -c '.cursor.firstBatch[] | select(.name | startswith("retention_ttl_")) |
        {name, filter: .partialFilterExpression, age: .expireAfterSeconds}' | jq -cS . | sort
}
log_from=$(wc -l <"$T_TMP/processor.log")
since() { tail -n +"$((log_from + 1))" "$T_TMP/processor.log"; }
reconciled() { since | grep -q 'retention TTL: '; }
# An event and a user document of ret-b 70 days ago, past every retention here, written
# straight into MongoDB: the sweep deletes the user document; the event is the TTL indexes'
# while they are in place, the sweep's again when they are not.
D70=$(day 70)
q events insert "{\"_id\":\"ttl-old\",\"site_id\":\"ret-b\",\"timestamp\":{\"\$date\":\"${D70}T02:00:00Z\"}}" >/dev/null
user_id=$(q rollup_users find '{}' | jq -r ._id | grep "^$D2|.*|5:ret-b|" | head -n 1 | sed "s/^$D2/$D70/; s/|[^|]*\$/|ttl-old/")
q rollup_users insert "{\"_id\":\"$user_id\",\"b\":\"x\"}" >/dev/null
old_user_gone() { [ "$(q rollup_users count "{\"_id\":\"$user_id\"}")" = 0 ]; }
old_event_gone() { [ "$(q events count '{"_id":"ttl-old"}')" = 0 ]; }
old_event_gone_not() { ! old_event_gone; }
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" "${RET[@]}" RETENTION_TTL=on \
    RETENTION_SWEEP_S=1
P="http://127.0.0.1:$PROCESSOR_PORT"
check "RETENTION_TTL=on: the processor reconciles the TTL indexes" wait_until 20 reconciled
check "its sweep deletes the old user document ($user_id)" wait_until 20 old_user_gone
check "and leaves the old event to the TTL indexes (a pass does the events before the users)" old_event_gone_not
# Reads of the raw events start at raw_events_from: the old event, stored still, counts nowhere.
http GET "$R/stats/aggregated?site_id=ret-b&date=$D70"
expect_eq "/stats/aggregated of its day counts nothing of it, and says from when raw events exist" \
    "$(jq -c '[.total_views, .raw_events_from]' <<<"$HTTP_BODY")" "[0,\"$(day 30)\"]"
http GET "$R/stats/summary?site_id=ret-b&date=$D70&filter=event_type:is_not:x"
expect_eq "a filtered summary of its day (the raw events) counts nothing of it either" \
    "$(jq -c '[.events, .raw_events_from]' <<<"$HTTP_BODY")" "[0,\"$(day 30)\"]"
want=$(ttl_want 30 ret-a:5 ret-keep:0)
expect_eq "listIndexes: 4 TTL indexes, their partial filters and ages as recomputed" "$(ttl_have)" "$(jq -cS . <<<"$want" | sort)"
expect_eq "analytics_retention_ttl_indexes" "$(metric "$P" analytics_retention_ttl_indexes)" 4
expect_eq "analytics_retention_events_by_ttl: the TTL indexes delete the raw events" "$(metric "$P" analytics_retention_events_by_ttl)" 1
check "its log says so" grep -q 'retention TTL: 4 TTL indexes on events (RETENTION_TTL=on); they delete the raw events' <(since)
expect_clean_stop processor
# Changed settings: ret-keep no longer listed, RETENTION_DAYS 60. One index stays, one changes
# its age (collMod), one is new, two go (dropIndexes): the test server creates the new one and
# says "no such command" to the others, which the log names; the sweep deletes the raw events.
log_from=$(wc -l <"$T_TMP/processor.log")
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" RETENTION_DAYS=60 \
    SITE_RETENTION=ret-a:5 RETENTION_TTL=on RETENTION_SWEEP_S=1
P="http://127.0.0.1:$PROCESSOR_PORT"
check "changed settings: the processor reconciles again" wait_until 20 reconciled
new=$(ttl_want 60 ret-a:5)
changed=$(jq -r 'select(.age == 61 * 86400 + 3600) | .name' <<<"$new")
added=$(comm -13 <(jq -r .name <<<"$want" | sort) <(jq -r .name <<<"$new" | sort))
gone=$(comm -23 <(jq -r .name <<<"$want" | sort) <(jq -r .name <<<"$new" | sort))
expect_eq "recomputed: 1 kept, 1 aged anew, 1 added, 2 gone" \
    "$(wc -w <<<"$changed $added $gone")" 5
check "the log names the collMod the test server lacks" grep -q "retention TTL: collMod (expireAfterSeconds) of index $changed failed: no such command" <(since)
for g in $gone; do
    check "the log names the dropIndexes of $g" grep -q "retention TTL: dropIndexes of index $g failed: no such command" <(since)
done
check "and says that the sweep deletes the raw events" grep -q 'retention TTL: 3 steps failed (above): the sweep deletes the raw events' <(since)
expect_eq "the new index is made: listIndexes has it" "$(ttl_have | jq -r .name | grep -c "^$added$")" 1
expect_eq "analytics_retention_ttl_indexes: the one kept and the one added" "$(metric "$P" analytics_retention_ttl_indexes)" 2
expect_eq "analytics_retention_events_by_ttl: the sweep" "$(metric "$P" analytics_retention_events_by_ttl)" 0
check "and the sweep deletes the old event" wait_until 20 old_event_gone

# Bad settings: exit 2, one line naming the variable.
expect_config_error processor SITE_RETENTION=shop
expect_config_error processor RETENTION_TTL=yes
expect_config_error processor SITE_RETENTION=a:1,a:2
expect_config_error processor RETENTION_DAYS=-1
expect_config_error processor RETENTION_SWEEP_S=0
expect_config_error reporting ROLLUP_RETENTION_DAYS=x
expect_config_error reporting SITE_RETENTION=shop:36501
for s in processor reporting ingest; do expect_clean_stop $s; done
t_summary
