#!/usr/bin/env bash
# it_visits.sh - visits (issue 23, point 2, the assignment): the processor gives each event its
# visit when it claims it (processor/assign.h), and the envelopes it commits to its processing
# list carry it ("visit":{...}, docs/design.md). Ingest pushes plain envelopes.
# Read with redis-cli after tests/tools/assigner, the processor's claim alone (no MongoDB),
# has claimed everything pending: visit ids and sequence numbers; a gap just under
# VISIT_TIMEOUT_S continues a visit and one just over starts another (real waits, measured on
# the clock, against the envelopes' own received times); the contributions of a few visit
# shapes add up to the visit's figures (bounce, duration, entry and exit pages); two ingests
# continue one visit; a client's duplicate, through one ingest or two, gets the identical
# member and moves nothing; the lease: a claim while another consumer assigns takes nothing,
# and a batch an assigner left between claim and commit is the next one taken, in order; the
# same with QUEUE_SHARDS=4, where each visitor's state lives on its shard; and across midnight
# (ingest-fault's FAULT_SALT_DAYS) a hashed visitor's visit goes on under its new user_id, on
# the same shard.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
K1=${T_QUEUE_SHARDS:-1}
common=(REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 HTTP_THREADS=16 LOG_LEVEL=debug)

echo "# --- VISIT_TIMEOUT_S (the processor's): an integer from 1, else exit 2 with one line"
for bad in 0 -1 1.5 30m abc 31622401; do
    expect_config_error processor VISIT_TIMEOUT_S=$bad REDIS_PORT="$REDIS_PORT"
done

start_service ingest "${common[@]}" QUEUE_KEY=gap
start_service ingest2 "${common[@]}"
start_service ingest3 "${common[@]}"
BASE=$(($(date +%s) - 3600))

# e TYPE SECONDS [PATH] [MORE]: one event of site vs at BASE + SECONDS, of user $U.
e() {
    printf '{"site_id":"vs","event_type":"%s","timestamp":"%s","user_id":"%s"%s%s}' "$1" \
        "$(date -u -d "@$((BASE + $2))" +%FT%TZ)" "$U" "${3:+,\"path\":\"$3\"}" "${4:-}"
}
# post PORT BODY [CLIENT] [UA]: POST /events; sets HTTP_STATUS and IDS (the ids, in order).
post() {
    HTTP_STATUS=$(curl -s -o "$T_TMP/post.body" -w '%{http_code}' --max-time $((10 * T_SLOW)) \
        -H 'Content-Type: application/json' -H "X-Forwarded-For: ${3:-198.51.100.7}" \
        -H "User-Agent: ${4:-VisitsTest/1.0}" --data-binary "$2" \
        "http://127.0.0.1:$1/events") || HTTP_STATUS=000
    mapfile -t IDS < <(jq -r '.ids[]?' "$T_TMP/post.body")
}
# assign QUEUE_KEY K: the processor's claim of everything pending on the K shards (timeout 2 s
# on the queue "gap", 60 s elsewhere), into the processing lists of the consumer it-assigner.
assign() {
    local t=60
    [ "$1" = gap ] && t=2
    "$BUILD/tests/assigner" "$REDIS_PORT" "$1" "$2" "$t" >/dev/null ||
        fail "assigner $1 $2 failed"
}
# envs QUEUE_KEY K: every envelope of the queue's K shards once assigned, each shard in
# arrival order.
envs() {
    local k
    assign "$1" "$2"
    for k in $(T_QUEUE_SHARDS=$2 q_names "$1"); do
        redis_cli lrange "$k:processing:it-assigner" 0 -1 | tac
    done
}
# visit ID [QUEUE_KEY K]: the visit member of each envelope of event ID, one a line.
visit() {
    envs "${2:-events}" "${3:-$K1}" | jq -c --arg id "$1" 'select(.id == $id) | .visit'
}
# member ID FIELD [QUEUE_KEY K]: one member of the visit of ID's (first) envelope.
member() {
    visit "$1" "${3:-events}" "${4:-$K1}" | head -n 1 | jq -r ".$2"
}
# received ID [QUEUE_KEY K]: the envelope's received time.
received() {
    envs "${2:-events}" "${3:-$K1}" | jq -r --arg id "$1" 'select(.id == $id) | .received' |
        head -n 1
}
now_ms() { date +%s%3N; }
# wait_past MS: until the clock reads at least MS.
wait_past() { while [ "$(now_ms)" -lt "$1" ]; do sleep 0.02; done; }
# VA: jq's va of an envelope, the member its visit's later events carry: its own attribution,
# device and country, in the order the envelope writes them.
VA='(.att // {}) + ({br, brv, os, osv, dev, cc} | with_entries(select(.value != null)))'
# figures USER [QUEUE_KEY K]: the user's visit figures, summed from its events' contributions
# as the processor's rollups will (contract: v, ve with eb, vx, vo), exit pages left at 0 dropped.
figures() {
    envs "${2:-events}" "${3:-$K1}" | jq -s -S -c --arg u "$1" '
        map(select(.user_id == $u) | .visit) |
        {visits: (map(.n) | add), bounces: (map(.b) | add), duration: (map(.d) | add),
         entry: (reduce (.[] | select(.e)) as $m ({};
             .[$m.e].visits += $m.en | .[$m.e].bounces += $m.eb)),
         exit: (reduce .[] as $m ({};
             (if $m.x then .[$m.x].visits += $m.xn | .[$m.x].bounces += $m.xb else . end) |
             (if $m.xo then .[$m.xo].visits -= 1 | .[$m.xo].bounces -= $m.xob else . end)) |
             with_entries(select(.value.visits != 0 or .value.bounces != 0)))}'
}

echo "# --- a visit: its id is its first event's, seq in arrival order, start its first ts"
U="u-one"
V_T0=$(now_ms)
post "$INGEST2_PORT" "[$(e page_view 10 /a),$(e click 12),$(e page_view 11 /b)]"
expect_eq "202" "$HTTP_STATUS" 202
V0="${IDS[0]}"
for i in 0 1 2; do
    expect_eq "event $i: the visit id" "$(member "${IDS[$i]}" id)" "$V0"
    expect_eq "event $i: seq $((i + 1))" "$(member "${IDS[$i]}" s)" $((i + 1))
    expect_eq "event $i: start" "$(member "${IDS[$i]}" start)" $(((BASE + 10) * 1000))
done
expect_eq "n: 1 on the first only" "$(for i in 0 1 2; do member "${IDS[$i]}" n; done | tr -d '\n')" 100
post "$INGEST2_PORT" "[$(e click 13)]"
expect_eq "the next request: seq 4 of the same visit" \
    "$(member "${IDS[0]}" id) $(member "${IDS[0]}" s)" "$V0 4"
KEY="events:visit:2:vs:u-one"
[ "$K1" -gt 1 ] && KEY="$(T_QUEUE_SHARDS=$K1 q_names events | while read -r q; do
    [ "$(redis_cli exists "$q:visit:2:vs:u-one")" = 1 ] && echo "$q:visit:2:vs:u-one"
done)"
expect_eq "the state: a hash under the shard's key" "$(redis_cli type "$KEY")" hash
TTL=$(redis_cli pttl "$KEY")
# Set by the claim that assigned the visit's first event, after T0: at most what has passed
# since has run off.
SINCE=$(($(now_ms) - V_T0))
expect_eq "its TTL: the timeout and 300 s, less the $SINCE ms since the visit began ($TTL ms)" \
    "$((${TTL:-0} >= 360000 - SINCE && ${TTL:-0} <= 360000))" 1

echo "# --- the lease: one assigner per queue at a time; a batch left uncommitted goes first"
Q1=$(T_QUEUE_SHARDS=$K1 q_names events | head -n 1)
expect_eq "no lease, assigning list or assigner left after a claim" \
    "$(redis_cli exists "$Q1:assign" "$Q1:assigning" "$Q1:assigner")" 0
post "$INGEST2_PORT" "[$(e click 14)]"
L1="${IDS[0]}"
for q in $(T_QUEUE_SHARDS=$K1 q_names events); do redis_cli set "$q:assign" other-consumer >/dev/null; done
expect_eq "another consumer holds the lease: nothing claimed" \
    "$("$BUILD/tests/assigner" "$REDIS_PORT" events "$K1" 60)" 0
# As if that consumer had claimed the pending event and stopped before its commit.
for q in $(T_QUEUE_SHARDS=$K1 q_names events); do
    redis_cli lmove "$q" "$q:assigning" RIGHT LEFT >/dev/null
    redis_cli del "$q:assign" >/dev/null
done
post "$INGEST2_PORT" "[$(e click 15)]"
L2="${IDS[0]}"
expect_eq "its lease gone: the batch it left, then the next" \
    "$(member "$L1" s) $(member "$L2" s)" "5 6"

echo "# --- a gap just under VISIT_TIMEOUT_S=2 continues the visit, just over starts another"
# On a loaded machine the second request may arrive over 2 s after the first: then another
# visitor tries again (at most 5 times), so that the case under the timeout is the one tested.
for try in 1 2 3 4 5; do
    U="u-gap-$try"
    post "$INGEST_PORT" "[$(e page_view 0 /a)]"
    G0="${IDS[0]}"
    T0=$(received "$G0" gap "$K1")
    wait_past $((T0 + 1500))
    post "$INGEST_PORT" "[$(e click 1)]"
    G1="${IDS[0]}"
    T1=$(received "$G1" gap "$K1")
    [ $((T1 - T0)) -gt 2000 ] || break
done
expect_eq "the gap is under 2 s ($((T1 - T0)) ms, try $try)" "$((T1 - T0 >= 1500 && T1 - T0 <= 2000))" 1
expect_eq "1.5 s: the same visit, seq 2" "$(member "$G1" id gap "$K1") $(member "$G1" s gap "$K1") $(member "$G1" n gap "$K1")" "$G0 2 0"
wait_past $((T1 + 2500))
post "$INGEST_PORT" "[$(e click 2),$(e page_view 3 /c)]"
G2="${IDS[0]}"
T2=$(received "$G2" gap "$K1")
check "the gap is over 2 s ($((T2 - T1)) ms)" [ $((T2 - T1)) -gt 2000 ]
expect_eq "2.5 s: a new visit, its id the event's own" \
    "$(member "$G2" id gap "$K1") $(member "$G2" s gap "$K1") $(member "$G2" n gap "$K1")" "$G2 1 1"
expect_eq "its start: the event's ts" "$(member "$G2" start gap "$K1")" $(((BASE + 2) * 1000))
expect_eq "and the next event in it: seq 2" "$(member "${IDS[1]}" id gap "$K1") $(member "${IDS[1]}" s gap "$K1")" "$G2 2"
expect_eq "the earlier visit's events are left as they were" "$(member "$G0" s gap "$K1")" 1

echo "# --- the contributions of each visit shape add up to its figures"
# shape USER EXPECTED EVENTS...: post the user's events in one request, then compare.
shape() {
    local u=$1 want=$2
    shift 2
    U=$u
    post "$INGEST2_PORT" "[$(
        IFS=,
        echo "$*"
    )]"
    expect_eq "$u: 202" "$HTTP_STATUS" 202
    expect_eq "$u: figures" "$(figures "$u")" "$(jq -S -c . <<<"$want")"
    expect_eq "$u: its first event has no va, each later one its va" \
        "$(envs events "$K1" | jq -s -c --arg u "$u" "map(select(.user_id == \$u)) |
            (map(select(.visit.n == 1))[0] | $VA) as \$w |
            map(if .visit.n == 1 then .visit | has(\"va\") | not else .visit.va == \$w end) |
            [length > 0, all]")" "[true,true]"
}
U="s-bounce"
shape s-bounce '{"visits":1,"bounces":1,"duration":0,"entry":{"/a":{"visits":1,"bounces":1}},
    "exit":{"/a":{"visits":1,"bounces":1}}}' "$(e page_view 0 /a)"
expect_eq "s-bounce: its member" "$(visit "${IDS[0]}")" \
    "{\"id\":\"${IDS[0]}\",\"s\":1,\"start\":$((BASE * 1000)),\"n\":1,\"b\":1,\"d\":0,\"e\":\"/a\",\"en\":1,\"eb\":1,\"x\":\"/a\",\"xn\":1,\"xb\":1}"
U="s-clicks"
shape s-clicks '{"visits":1,"bounces":0,"duration":3000,"entry":{},"exit":{}}' \
    "$(e click 0)" "$(e click 3)"
expect_eq "s-clicks: no page, no entry or exit" "$(visit "${IDS[1]}" | jq -c 'del(.va)')" \
    "{\"id\":\"${IDS[0]}\",\"s\":2,\"start\":$((BASE * 1000)),\"n\":0,\"b\":0,\"d\":3000,\"en\":0,\"xn\":0,\"xb\":0}"
U="s-scroll"
shape s-scroll '{"visits":1,"bounces":1,"duration":4000,"entry":{"/a":{"visits":1,"bounces":1}},
    "exit":{"/a":{"visits":1,"bounces":1}}}' "$(e page_view 0 /a)" "$(e scroll 4)" "$(e mousemove 2)"
U="s-other"
shape s-other '{"visits":1,"bounces":0,"duration":10000,"entry":{"/a":{"visits":1,"bounces":0}},
    "exit":{"/b":{"visits":1,"bounces":0}}}' "$(e page_view 0 /a)" "$(e page_view 10 /b)"
expect_eq "s-other: the exit moves from /a to /b" "$(visit "${IDS[1]}" | jq -c 'del(.va)')" \
    "{\"id\":\"${IDS[0]}\",\"s\":2,\"start\":$((BASE * 1000)),\"n\":0,\"b\":-1,\"d\":10000,\"e\":\"/a\",\"en\":0,\"eb\":-1,\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":\"/a\",\"xob\":1}"
U="s-same"
shape s-same '{"visits":1,"bounces":0,"duration":2000,"entry":{"/a":{"visits":1,"bounces":0}},
    "exit":{"/a":{"visits":1,"bounces":0}}}' "$(e page_view 0 /a)" "$(e page_view 2 '/a?x=1')"
expect_eq "s-same: the exit stays" "$(visit "${IDS[1]}" | jq -c 'del(.va)')" \
    "{\"id\":\"${IDS[0]}\",\"s\":2,\"start\":$((BASE * 1000)),\"n\":0,\"b\":-1,\"d\":2000,\"e\":\"/a\",\"en\":0,\"eb\":-1,\"x\":\"/a\",\"xn\":0,\"xb\":-1}"
U="s-click"
shape s-click '{"visits":1,"bounces":0,"duration":5000,"entry":{"/a":{"visits":1,"bounces":0}},
    "exit":{"/a":{"visits":1,"bounces":0}}}' "$(e page_view 5 /a)" "$(e click 0)"
U="s-three"
shape s-three '{"visits":1,"bounces":0,"duration":20000,"entry":{"/a":{"visits":1,"bounces":0}},
    "exit":{"/a":{"visits":1,"bounces":0}}}' "$(e page_view 0 /a)" "$(e page_view 10 /b)" \
    "$(e page_view 20 /a)" "$(e scroll 15)"
# A first page view without a path: the bounce it started ends at the entry page's event, which
# must not take a bounce away from that page (eb), nor give one to an exit that is not there.
U="s-nopath"
shape s-nopath '{"visits":1,"bounces":0,"duration":4000,"entry":{"/b":{"visits":1,"bounces":0}},
    "exit":{"/b":{"visits":1,"bounces":0}}}' "$(e page_view 0)" "$(e page_view 4 /b)"
expect_eq "s-nopath: the entry page's bounce change is its bounce after (eb 0)" \
    "$(visit "${IDS[1]}" | jq -c '[.b, .en, .eb, .xn, .xb]')" "[-1,1,0,1,0]"
U="s-nopath-click"
shape s-nopath-click '{"visits":1,"bounces":0,"duration":1000,"entry":{},"exit":{}}' \
    "$(e page_view 0)" "$(e click 1)"
expect_eq "s-nopath-click: no exit, so no exit bounce change (xb 0, no x)" \
    "$(visit "${IDS[1]}" | jq -c '[.b, .x, .xb]')" "[-1,null,0]"
U="s-esc"
shape s-esc '{"visits":1,"bounces":1,"duration":0,"entry":{"/q\"\\\u0001":{"visits":1,"bounces":1}},
    "exit":{"/q\"\\\u0001":{"visits":1,"bounces":1}}}' "$(e page_view 0 '/q\"\\\u0001')"

echo "# --- the visit's attribution and device: its first event's, on every later event (va)"
U="u-attr"
post "$INGEST2_PORT" "[$(e page_view 0 /a ',"properties":{"referrer":"https://news.example.org/story","utm_source":"letter","utm_medium":"email","utm_campaign":"spring"}')]" \
    198.51.100.7 "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0"
A0="${IDS[0]}"
expect_eq "the first event: no va (its own values are its visit's)" "$(visit "$A0" | jq -c 'has("va")')" false
FIRST=$(envs events "$K1" | jq -c --arg id "$A0" 'select(.id == $id)' | head -n 1)
WANT=$(jq -c "$VA" <<<"$FIRST")
expect_eq "the first event's own: its referrer's host, its campaign, its device" \
    "$(jq -c '[.s, .us, .um, .uc, .dev, .os, .osv]' <<<"$WANT")" '["news.example.org","letter","email","spring","mobile","Android","14"]'
# The next events in a later batch: the state passed through Redis.
post "$INGEST3_PORT" "[$(e page_view 5 /b ',"properties":{"referrer":"https://other.example.net/x"}'),$(e click 6)]" \
    198.51.100.7 "VisitsTest/2.0"
A1="${IDS[0]}"
A2="${IDS[1]}"
OWN=$(envs events "$K1" | jq -c --arg id "$A1" 'select(.id == $id)' | head -n 1)
expect_eq "the later page view's own values are another referrer's, another device's" \
    "$(jq -c "$VA | [.s, .us, .dev]" <<<"$OWN")" '["other.example.net",null,null]'
for id in "$A1" "$A2"; do
    expect_eq "event $id (seq $(member "$id" s)): va is the first event's" "$(visit "$id" | jq -c .va)" "$WANT"
done

echo "# --- two ingests continue one visit"
U="u-two"
post "$INGEST2_PORT" "[$(e page_view 0 /a)]"
W0="${IDS[0]}"
post "$INGEST3_PORT" "[$(e page_view 1 /b)]"
expect_eq "the other ingest: the same visit, seq 2" "$(member "${IDS[0]}" id) $(member "${IDS[0]}" s)" "$W0 2"
post "$INGEST2_PORT" "[$(e click 2)]"
expect_eq "back on the first: seq 3" "$(member "${IDS[0]}" id) $(member "${IDS[0]}" s)" "$W0 3"

# dups PORT_A PORT_B QUEUE_KEY K: one event_id sent three times (twice through A, once
# through B) with another event between: the identical member each time, and the state
# not moved by the copies.
dups() {
    U=u-dup-$3
    post "$1" "[$(e page_view 0 /a ',"event_id":"d1"')]"
    post "$1" "[$(e click 1 '' ',"event_id":"d2"')]"
    post "$1" "[$(e page_view 0 /a ',"event_id":"d1"')]"
    post "$2" "[$(e page_view 0 /a ',"event_id":"d1"')]"
    post "$2" "[$(e click 1 '' ',"event_id":"d2"')]"
    expect_eq "$3: d1 three envelopes, one member" "$(visit vs:d1 "$3" "$4" | sort | uniq -c | awk '{print $1}')" 3
    expect_eq "$3: d2 two envelopes, one member" "$(visit vs:d2 "$3" "$4" | sort | uniq -c | awk '{print $1}')" 2
    expect_eq "$3: d1's member is the first copy's" "$(visit vs:d1 "$3" "$4" | head -n 1)" \
        "{\"id\":\"vs:d1\",\"s\":1,\"start\":$((BASE * 1000)),\"n\":1,\"b\":1,\"d\":0,\"e\":\"/a\",\"en\":1,\"eb\":1,\"x\":\"/a\",\"xn\":1,\"xb\":1}"
    post "$2" "[$(e click 2)]"
    expect_eq "$3: the next event: seq 3 (the copies moved nothing)" \
        "$(member "${IDS[0]}" s "$3" "$4") $(member "${IDS[0]}" id "$3" "$4")" "3 vs:d1"
}
echo "# --- a client's duplicate gets the identical member, through one ingest or two"
dups "$INGEST2_PORT" "$INGEST3_PORT" events "$K1"

echo "# --- QUEUE_SHARDS=4: each visitor's state and envelopes on its shard"
start_service ingest4 "${common[@]}" QUEUE_SHARDS=4 QUEUE_KEY=ev4
start_service ingest5 "${common[@]}" QUEUE_SHARDS=4 QUEUE_KEY=ev4
used=""
for i in 0 1 2 3 4 5 6 7; do
    U=k$i
    post "$INGEST4_PORT" "[$(e page_view 0 /a)]"
    F="${IDS[0]}"
    post "$INGEST5_PORT" "[$(e click 1)]"
    expect_eq "k$i: two ingests, one visit" "$(member "${IDS[0]}" id ev4 4) $(member "${IDS[0]}" s ev4 4)" "$F 2"
    for q in $(T_QUEUE_SHARDS=4 q_names ev4); do
        n=$(redis_cli lrange "$q:processing:it-assigner" 0 -1 | jq -r --arg u "k$i" 'select(.user_id == $u) | .id' | wc -l)
        [ "$n" = 0 ] && continue
        expect_eq "k$i: both envelopes on one shard" "$n" 2
        expect_eq "k$i: its state on that shard" "$(redis_cli type "$q:visit:2:vs:k$i")" hash
        used="$used $q"
    done
done
check "the visitors spread over several shards" [ "$(tr ' ' '\n' <<<"$used" | sort -u | grep -c .)" -gt 1 ]
dups "$INGEST4_PORT" "$INGEST5_PORT" ev4 4

echo "# --- midnight: a hashed visitor's visit goes on under its new user_id, on its shard"
VARIANT=-fault start_service ingest6 "${common[@]}" QUEUE_SHARDS=4 QUEUE_KEY=ev4
VARIANT=-fault start_service ingest7 "${common[@]}" QUEUE_SHARDS=4 QUEUE_KEY=ev4 FAULT_SALT_DAYS=1
hashed() { printf '{"site_id":"vs","event_type":"%s","timestamp":"%s"%s}' "$1" \
    "$(date -u -d "@$((BASE + $2))" +%FT%TZ)" "${3:+,\"path\":\"$3\"}"; }
for c in 1 2 3 4 5 6; do
    post "$INGEST6_PORT" "[$(hashed page_view 0 /a)]" 203.0.113.$c "Midnight/$c"
    M0="${IDS[0]}"
    post "$INGEST7_PORT" "[$(hashed click 1)]" 203.0.113.$c "Midnight/$c"
    M1="${IDS[0]}"
    A=$(envs ev4 4 | jq -r --arg id "$M0" 'select(.id == $id) | .user_id')
    B=$(envs ev4 4 | jq -r --arg id "$M1" 'select(.id == $id) | .user_id')
    check "client $c: a new user_id after midnight" [ -n "$A" -a -n "$B" -a "$A" != "$B" ]
    expect_eq "client $c: the same visit goes on (id, seq, n, b)" \
        "$(visit "$M1" ev4 4 | jq -r '"\(.id) \(.s) \(.n) \(.b)"')" "$M0 2 0 -1"
    for q in $(T_QUEUE_SHARDS=4 q_names ev4); do
        n=$(redis_cli lrange "$q:processing:it-assigner" 0 -1 | jq -r --arg a "$M0" --arg b "$M1" 'select(.id == $a or .id == $b) | .id' | wc -l)
        [ "$n" = 0 ] || expect_eq "client $c: both days on one shard" "$n" 2
        [ "$n" = 0 ] || expect_eq "client $c: the state moved to the new id" \
            "$(redis_cli exists "$q:visit:2:vs:$A") $(redis_cli type "$q:visit:2:vs:$B")" "0 hash"
    done
done

for s in ingest ingest2 ingest3 ingest4 ingest5 ingest6 ingest7; do expect_clean_stop $s; done

t_summary
