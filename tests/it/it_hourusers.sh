#!/usr/bin/env bash
# it_hourusers.sh - the hourly unique users of /stats/timeseries come from the set of user
# hashes each site-hour document keeps (u), not from the raw events: the set holds each user
# of the hour once (a client's second send of an event adds nothing), and a site-hour whose
# set was found full (u_capped) answers its users flagged as a lower bound; one created before
# the sets were kept (no u_all) answers them from its raw events. A site-hour before 1970
# starts at its own hour.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=hourusers
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=3
start_service reporting MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$@"; }

post() { # post EVENT_ID TIMESTAMP USER
    local body="{\"event_id\":\"$1\",\"site_id\":\"hu\",\"event_type\":\"page_view\",\"timestamp\":\"$2\""
    [ -n "$3" ] && body+=",\"user_id\":\"$3\""
    http POST "$I/event" "$body}"
    expect_eq "post $1" "$HTTP_STATUS" 202
}
# In 10:00: u1 twice, u2, u3, and an event without a user_id (whose visitor ingest derives:
# a fourth user); u1 once in 11:00. e1 is sent
# again by the client with another user_id (a client's duplicate: not counted, so its u9 is
# in no set).
post e1 2025-11-15T10:00:00Z u1
post e2 2025-11-15T10:10:00Z u2
post e3 2025-11-15T10:20:00Z u1
post e4 2025-11-15T10:30:00Z ""
post e5 2025-11-15T10:40:00Z u3
post e6 2025-11-15T11:00:00Z u1
post e1 2025-11-15T10:00:00Z u9
counted() {
    [ "$(curl -s "$R/stats?site_id=hu&date=2025-11-15" | jq .total_views)" = 6 ] &&
        [ "$(metric "http://127.0.0.1:$PROCESSOR_PORT" analytics_events_client_duplicate_total)" = 1 ]
}
check "the processor counted the six events and met the client's duplicate" \
    wait_until $((10 * T_SLOW)) counted

hour_set() { # hour_set ID: the number of entries of the site-hour's u, and its u_all
    q rollup_hours find "{\"_id\":\"$1\"}" | jq -s -c '.[0] | [(.u | length), .u_all]'
}
expect_eq "the site-hour 10:00 keeps four users" "$(hour_set '2025-11-15T10|*|2:hu')" '[4,true]'
expect_eq "the site-hour 10:00 of page_view keeps four users" \
    "$(hour_set '2025-11-15T10|9:page_view|2:hu')" '[4,true]'
expect_eq "the site-hour 11:00 keeps one user" "$(hour_set '2025-11-15T11|*|2:hu')" '[1,true]'

pts() { jq -c '[.points[] | select(.views > 0 or .unique_users > 0)]' <<<"$HTTP_BODY"; }
for ep in stats/timeseries stats/timeseries/aggregated; do
    http GET "$R/$ep?site_id=hu&date=2025-11-15&interval=hour"
    expect_json "/$ep by hour" "$(pts)" \
        '[{"t":"2025-11-15T10:00:00Z","views":5,"unique_users":4},
          {"t":"2025-11-15T11:00:00Z","views":1,"unique_users":1}]'
done

# A site-hour whose set was full: its users are a lower bound, flagged in the answer.
# shellcheck disable=SC2016 # $numberLong is extended JSON, not an expansion
q rollup_hours insert '{"_id":"2025-11-16T09|*|2:hu","site_id":"hu","date":"2025-11-16",
  "event_type":null,"views":{"$numberLong":"7"},"u":[{"$numberLong":"5"},{"$numberLong":"-9"}],
  "u_all":true,"u_capped":true}' >/dev/null
http GET "$R/stats/timeseries?site_id=hu&date=2025-11-16&interval=hour"
expect_json "a full set: unique_users flagged as a lower bound" "$(pts)" \
    '[{"t":"2025-11-16T09:00:00Z","views":7,"unique_users":2,"unique_users_capped":true}]'

# A site-hour from before the sets were kept (no u_all, no u): its users come from its raw
# events (two users here, stored directly), the other hours' from their sets.
# shellcheck disable=SC2016 # $numberLong is extended JSON, not an expansion
q rollup_hours insert '{"_id":"2025-11-17T08|*|2:hu","site_id":"hu","date":"2025-11-17",
  "event_type":null,"views":{"$numberLong":"3"}}' >/dev/null
for e in "o1 u7" "o2 u8" "o3 u7"; do
    q events insert "{\"_id\":\"${e% *}\",\"site_id\":\"hu\",\"event_type\":\"page_view\",
      \"timestamp\":{\"\$date\":\"2025-11-17T08:30:00Z\"},\"user_id\":\"${e#* }\"}" >/dev/null
done
http GET "$R/stats/timeseries?site_id=hu&from=2025-11-15&to=2025-11-17&interval=hour"
expect_json "a site-hour from before the sets: its users from its raw events" "$(pts)" \
    '[{"t":"2025-11-15T10:00:00Z","views":5,"unique_users":4},
      {"t":"2025-11-15T11:00:00Z","views":1,"unique_users":1},
      {"t":"2025-11-16T09:00:00Z","views":7,"unique_users":2,"unique_users_capped":true},
      {"t":"2025-11-17T08:00:00Z","views":3,"unique_users":2}]'

http GET "$R/stats/timeseries?site_id=hu&date=2025-11-15&interval=hour"
expect_eq "no flag where the set was not full" \
    "$(jq '[.points[] | select(has("unique_users_capped"))] | length' <<<"$HTTP_BODY")" 0

# A site-hour before 1970: its hour field is the start of that hour (1969-12-31T23:00Z),
# not the start of 1970 (which ts - ts % hour, rounding toward zero, gave).
post e7 1969-12-31T23:30:00Z u1
# shellcheck disable=SC2317 # called through wait_until
hour_doc() { q rollup_hours find '{"_id":"1969-12-31T23|*|2:hu"}' | jq -e -c .hour; }
check "the site-hour of 1969-12-31T23:30Z is counted" wait_until $((10 * T_SLOW)) hour_doc
# shellcheck disable=SC2016 # $date is extended JSON, not an expansion
expect_eq "its hour field is 1969-12-31T23:00Z" "$(hour_doc)" '{"$date":{"$numberLong":"-3600000"}}'

for s in processor ingest reporting; do expect_clean_stop $s; done
t_summary
