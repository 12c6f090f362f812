#!/usr/bin/env bash
# it_timezones.sh - each site's own time zone (issue 25, point 6): SITE_TIMEZONES gives a site
# in Europe/Berlin (its spring-forward day of 23 hours and its fall-back day of 25), one in
# Asia/Kolkata (+05:30) and one in Pacific/Chatham (+12:45, +13:45 in summer, changing at
# :45), beside one without a zone; visits of several events, some across local midnights, go
# through ingest and two processors, and tests/it/tz_check.py recomputes, with Python's
# zoneinfo from the stored raw events, every local day's /stats, /stats/aggregated,
# /stats/summary, hourly /stats/timeseries (23, 24 or 25 local hours, labelled with their
# offsets) and GET /events, and a daily series and summary over the days. The site without a
# zone answers in UTC days, without "timezone". The visitor id ingest derives changes at the
# site's local midnight, its visit going on. Then an unknown zone or a bad list stops ingest,
# the processor and reporting (exit 2).
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=timezones
TZS="tz-berlin:Europe/Berlin, tz-kolkata:Asia/Kolkata,tz-chatham:Pacific/Chatham"
start_service ingest REDIS_PORT="$REDIS_PORT" RATE_LIMIT=0
PROC=(REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=50 BATCH_WAIT_MS=20
    SITE_TIMEZONES="$TZS")
start_service processor "${PROC[@]}"
start_service processor2 "${PROC[@]}"
start_service reporting MONGO_URI="$(mongo_uri $DB)" SITE_TIMEZONES="$TZS"
R="http://127.0.0.1:$REPORTING_PORT"

# The events: for each site, from two hours before its first local day to two hours after its
# last, every 50 minutes a visitor sends a page view, then 4 minutes later a click or a second
# page view, and every third time a third event 9 minutes after the first. A visit is a
# visitor's events that arrive within VISIT_TIMEOUT_S of one another, and these all arrive at
# once: so each group has a visitor of its own (each tenth one coming back 50 minutes later,
# in the same visit), for visits of one to six events, some across a local midnight or a
# change of the clocks.
"$T_PYTHON" - >"$T_TMP/batches" <<'EOF'
import datetime, json
from zoneinfo import ZoneInfo

UTC = datetime.timezone.utc
SITES = [("tz-berlin", "Europe/Berlin", "2026-03-28", "2026-03-30"),
         ("tz-berlin", "Europe/Berlin", "2026-10-24", "2026-10-26"),
         ("tz-kolkata", "Asia/Kolkata", "2026-06-01", "2026-06-02"),
         ("tz-chatham", "Pacific/Chatham", "2026-04-04", "2026-04-06"),
         ("tz-utc", "UTC", "2026-03-28", "2026-03-30")]
for site, zone, first, last in SITES:
    z = ZoneInfo(zone)
    start = datetime.datetime.combine(datetime.date.fromisoformat(first), datetime.time(), z)
    end = datetime.datetime.combine(datetime.date.fromisoformat(last) + datetime.timedelta(days=1),
                                    datetime.time(), z)
    t, i, evs = start.astimezone(UTC) - datetime.timedelta(hours=2), 0, []
    while t < end.astimezone(UTC) + datetime.timedelta(hours=2):
        user = "u%d" % (i - 1 if i % 10 == 1 else i)
        steps = [(0, "page_view", "/a"), (4, "click" if i % 2 else "page_view", "/b")]
        if i % 3 == 0:
            steps.append((9, "page_view", "/c"))
        for minutes, kind, path in steps:
            at = t + datetime.timedelta(minutes=minutes, seconds=i % 60)
            evs.append({"site_id": site, "event_type": kind, "path": path, "user_id": user,
                        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
        t += datetime.timedelta(minutes=50)
        i += 1
    for k in range(0, len(evs), 400):
        print(json.dumps(evs[k:k + 400]))
EOF
SENT=0
while read -r batch; do
    http POST "http://127.0.0.1:$INGEST_PORT/events" "$batch"
    [ "$HTTP_STATUS" = 202 ] || fail "POST /events: 202" "$HTTP_STATUS $HTTP_BODY"
    SENT=$((SENT + $(jq length <<<"$batch")))
done <"$T_TMP/batches"
stored_all() {
    [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{}')" = "$SENT" ]
}
wait_until 60 queue_settled events || fail "the queue drains"
wait_until 60 stored_all || fail "every event is stored" "$SENT sent"
pass "$SENT events stored"
"$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find '{}' >"$T_TMP/events.jsonl"

# check NAME ZONE DAY...: tz_check.py's comparisons for site NAME.
check() {
    local site=$1
    shift
    if "$T_PYTHON" "$T_ROOT/tests/it/tz_check.py" "$T_TMP/events.jsonl" "$R" "$site" "$@" \
        >"$T_TMP/check-$site.txt" 2>&1; then
        pass "$site ($1, $2 to ${!#}): every figure equals its recomputation ($(sed -n 's/^# compared //p' "$T_TMP/check-$site.txt"))"
    else
        grep -v '^ok' "$T_TMP/check-$site.txt"
        fail "$site ($1): every figure equals its recomputation" "see above"
    fi
}
check tz-berlin Europe/Berlin 2026-03-28 2026-03-29 2026-03-30
check tz-berlin Europe/Berlin 2026-10-24 2026-10-25 2026-10-26
check tz-kolkata Asia/Kolkata 2026-06-01 2026-06-02
check tz-chatham Pacific/Chatham 2026-04-04 2026-04-05 2026-04-06
check tz-utc - 2026-03-28 2026-03-29 2026-03-30

# The day of 25 hours has 25 points by hour, the one of 23 has 23; Kolkata's hours start at :30 UTC.
expect_eq "Berlin's fall-back day: 25 local hours, 02:00 twice (+02:00, then +01:00)" \
    "$(curl -s "$R/stats/timeseries?site_id=tz-berlin&date=2026-10-25&interval=hour" |
        jq -c '[(.points | length), [.points[2,3].t]]')" \
    '[25,["2026-10-25T02:00:00+02:00","2026-10-25T02:00:00+01:00"]]'
expect_eq "Berlin's spring-forward day: 23 local hours, from 01:00 to 03:00" \
    "$(curl -s "$R/stats/timeseries?site_id=tz-berlin&date=2026-03-29&interval=hour" |
        jq -c '[(.points | length), [.points[1,2].t], .timezone]')" \
    '[23,["2026-03-29T01:00:00+01:00","2026-03-29T03:00:00+02:00"],"Europe/Berlin"]'
expect_eq "the rollups of Kolkata's hours of 2026-06-02: 24, from 18:30 UTC the day before" \
    "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" rollup_hours find \
        '{"site_id":"tz-kolkata","event_type":null,"date":"2026-06-02"}' |
        jq -rs '[.[]._id | .[0:16]] | unique | [.[0], .[-1], length] | join(" ")')" \
    "2026-06-01T18:30 2026-06-02T17:30 24"

# The visitor ingest derives for events without a user_id: its id changes at the site's
# local midnight (Kolkata's 2026-06-02 begins at 2026-06-01T18:30Z), not at UTC's, and the
# visit goes on across it ("vy"); a UTC site's stays the same then. Two ingests whose salt
# clock stands before and after that midnight (ingest-fault: FAULT_SALT_AT_MS).
AT() { "$T_PYTHON" -c "import datetime as d; print(int(d.datetime.fromisoformat('$1+00:00').timestamp() * 1000))"; }
VARIANT=-fault start_service ingest2 REDIS_PORT="$REDIS_PORT" RATE_LIMIT=0 TRUST_PROXY=1 \
    SITE_TIMEZONES="$TZS" FAULT_SALT_AT_MS="$(AT 2026-06-01T18:20:00)"
VARIANT=-fault start_service ingest3 REDIS_PORT="$REDIS_PORT" RATE_LIMIT=0 TRUST_PROXY=1 \
    SITE_TIMEZONES="$TZS" FAULT_SALT_AT_MS="$(AT 2026-06-01T18:40:00)"
# stored_id ID: event ID is stored.
stored_id() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count "{\"_id\":\"$1\"}")" = 1 ]; }
# hashed PORT SITE: the stored user_id and visit_id of one event of a visitor without a user_id.
hashed() {
    local id
    id=$(curl -s -H 'Content-Type: application/json' -H 'X-Forwarded-For: 198.51.100.77' \
        -H 'User-Agent: TzTest/1.0' --data-binary \
        "{\"site_id\":\"$2\",\"event_type\":\"page_view\",\"path\":\"/\",\"timestamp\":\"2026-06-01T18:25:00Z\"}" \
        "http://127.0.0.1:$1/event" | jq -r .id)
    wait_until 30 stored_id "$id"
    "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events find "{\"_id\":\"$id\"}" | jq -c '[.user_id, .visit_id]'
}
K1=$(hashed "$INGEST2_PORT" tz-kolkata)
K2=$(hashed "$INGEST3_PORT" tz-kolkata)
U1=$(hashed "$INGEST2_PORT" tz-utc)
U2=$(hashed "$INGEST3_PORT" tz-utc)
expect_eq "Kolkata, across its midnight: another visitor id, the same visit" \
    "$(jq -nc --argjson a "$K1" --argjson b "$K2" '[$a[0] != $b[0], $a[1] == $b[1], ($a[0] | test("^[0-9a-f]{32}$"))]')" \
    '[true,true,true]'
expect_eq "the UTC site then: the same visitor id" "$(jq -c '.[0]' <<<"$U1")" "$(jq -c '.[0]' <<<"$U2")"

expect_clean_stop processor
expect_clean_stop processor2
expect_clean_stop reporting

# An unknown zone, a name that is no zone's, a site twice: a configuration error naming the item.
for prog in ingest processor reporting; do
    expect_config_error "$prog" "SITE_TIMEZONES=shop:Mars/Olympus_Mons" \
        REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
    expect_config_error "$prog" "SITE_TIMEZONES=shop:../etc/passwd" \
        REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
done
expect_match "the message names the item and the zone" \
    "$(env PORT=0 PROBE_PORT=0 MONGO_URI="$(mongo_uri $DB)" \
        SITE_TIMEZONES="a:UTC,shop:Mars/Olympus_Mons" timeout 10 "$BUILD/reporting" 2>&1)" \
    'SITE_TIMEZONES: item 2 \("shop:Mars/Olympus_Mons"\): time zone is not a zone of the system'"'"'s tzdata'
expect_match "a site listed twice" \
    "$(env PORT=0 PROBE_PORT=0 MONGO_URI="$(mongo_uri $DB)" \
        SITE_TIMEZONES="a:UTC,a:Asia/Kolkata" timeout 10 "$BUILD/reporting" 2>&1)" \
    'SITE_TIMEZONES: item 2: site "a" is listed twice'
t_summary
