#!/usr/bin/env bash
# it_memory.sh - reporting's memory per read is bounded by the figures of docs/design.md
# (Memory per request), not by the data it reads: its peak RSS (VmHWM, reset through /proc/PID/clear_refs after a
# warm-up) while it answers, one after another, every figure over a 366-day range of 3,660
# events, each with its own long path and user (/stats, /stats/aggregated, the breakdowns
# and the daily series, from the rollups and from the raw events), and then 8 concurrent
# GET /events?limit=250 over events of 60 KB, with and without properties. The data is
# written raw by build/tests/memfill (a few seconds on the test server); part 10 of
# tests/bench/bench.sh measures the same reads over 100,000 distinct paths and users.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_mongo
DB=memory
fill() { # fill SITE N DAYS PAD PROPS
    local out
    if out=$("$BUILD/tests/memfill" "$(mongo_uri $DB)" "$@"); then echo "# memfill $*: $out"; else
        fail "memfill $*" "$out"; fi
}
# The range's site has a 200-byte id (a user document's id holds it), its paths and users
# 250 bytes each.
WIDE=$(printf 'wide%.0s' $(seq 50))
fill big 250 1 8 60000
fill "$WIDE" 3660 366 250 2000
fill warm 366 366 8 100
# The test server takes seconds for a read of 15 MB when other scripts keep the machine
# busy: a socket timeout of a minute rather than 10 s, as this script is about memory.
start_service reporting MONGO_URI="$(mongo_uri $DB)?socketTimeoutMS=60000"
R="http://127.0.0.1:$REPORTING_PORT"

kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$REPORTING_PID/status"; }
# peak_reset: the high-water mark back to the current RSS (Linux 4.0+).
peak_reset() { echo 5 >"/proc/$REPORTING_PID/clear_refs"; }
# within DESCRIPTION MIB: VmHWM grew by at most MIB MiB since the last peak_reset.
within() {
    local grew=$(($(kb VmHWM) - BASE_KB))
    echo "# $1: peak RSS $((BASE_KB / 1024)) MiB + $grew kB"
    if [ "$grew" -le $(($2 * 1024)) ]; then pass "$1: peak RSS grew by at most $2 MiB"; else
        fail "$1: peak RSS grew by at most $2 MiB" "grew by $grew kB"; fi
}
# concurrent N URL: N GETs of URL at once; each answer in $T_TMP/c.<i>, its status in
# $T_TMP/c.<i>.status.
concurrent() {
    local i pids=()
    for ((i = 0; i < $1; i++)); do
        curl -s -o "$T_TMP/c.$i" -w '%{http_code}\n' --max-time 120 "$2" >"$T_TMP/c.$i.status" &
        pids+=($!)
    done
    wait "${pids[@]}"
}
statuses() { cat "$T_TMP"/c.*.status | sort | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }'; }

# Warm-up: every route below, on a small site (the driver's connections, the allocator's
# arenas of the workers), so that what is measured is the reads: /events from 8 workers at
# once, as measured below; the range's figures once each (the test server takes a second
# or more for each: its $or of 366 ranges is matched against every user document).
for q in "events?site_id=big&limit=1" "events?site_id=warm&limit=250&properties=false"; do
    concurrent 8 "$R/$q"
done
W="site_id=warm&from=2024-11-15&to=2025-11-15"
for q in "stats?$W" "stats/aggregated?$W" "stats/breakdown/aggregated?$W&by=path" \
    "stats/breakdown/aggregated?$W&by=event_type" "stats/breakdown/aggregated?$W&by=referrer" \
    "stats/timeseries/aggregated?$W&interval=day"; do
    curl -s -o /dev/null --max-time 60 "$R/$q"
done

# --- a 366-day range: 3,660 events, as many paths and users ------------------------------
Q="site_id=$WIDE&from=2024-11-15&to=2025-11-15"
a=$(curl -s "$R/stats?$Q")
b=$(curl -s "$R/stats/aggregated?$Q")
expect_json "366 days: /stats equals /stats/aggregated" "$a" "$b"
expect_eq "366 days: every event and user counted" "$(jq -c '[.total_views, .unique_users]' <<<"$a")" "[3660,3660]"
for ep in "stats?$Q" "stats/aggregated?$Q" "stats/breakdown?$Q&by=path" \
    "stats/breakdown/aggregated?$Q&by=path" "stats/breakdown/aggregated?$Q&by=event_type" \
    "stats/breakdown/aggregated?$Q&by=referrer" "stats/timeseries?$Q&interval=day" \
    "stats/timeseries/aggregated?$Q&interval=day"; do
    BASE_KB=$(kb VmRSS)
    peak_reset
    http GET "$R/$ep"
    expect_eq "/${ep%%\?*} over 366 days: 200" "$HTTP_STATUS" 200
    within "/${ep%%\?*} over 366 days (${ep##*&})" 2
done

# --- GET /events: 8 concurrent pages of limit=250 over 250 events of 60 KB --------------
# README: a page holds at most 1 MiB of events; a request at most about 4 MiB. (8 rather
# than MAX_DB_REQUESTS' 32: the test server copies 15 MB a request, and 32 at once take it
# minutes on a busy machine; the code before the cap grew by 465 MiB with 8, and by 1.7 GB
# with 32, where the cap's grows by 74 MiB.)
rm -f "$T_TMP"/c.*
BASE_KB=$(kb VmRSS)
peak_reset
concurrent 8 "$R/events?site_id=big&limit=250"
expect_eq "/events x8: all answered 200" "$(statuses)" "200:8"
within "/events?limit=250 x8 (60 KB events)" $((8 * 4))
check "/events: a page ends at 1 MiB of events, with a next_cursor" \
    jq -e '(.events | length) < 250 and (.events | length) > 0 and (.next_cursor | type == "string")
        and ((.events | tojson | length) <= 1048576)' "$T_TMP/c.0"
rm -f "$T_TMP"/c.*
BASE_KB=$(kb VmRSS)
peak_reset
concurrent 8 "$R/events?site_id=big&limit=250&properties=false"
expect_eq "/events?properties=false x8: all answered 200" "$(statuses)" "200:8"
within "/events?limit=250&properties=false x8" 8
check "/events?properties=false: all 250 events, none with properties" \
    jq -e '(.events | length) == 250 and ([.events[] | has("properties")] | any | not)' "$T_TMP/c.0"

expect_clean_stop reporting
t_summary
