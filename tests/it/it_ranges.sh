#!/usr/bin/env bash
# it_ranges.sh - figures over ranges of days: /stats and /stats/aggregated with from/to,
# /stats/timeseries by hour and by day, /stats/breakdown by type, path and referrer, on
# known events (a user on several days counts once), answers equal to the raw events', and
# every parameter error with its exact message.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=ranges
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_SIZE=5
start_service reporting MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
SENT=0
err() { echo "{\"status\":\"error\",\"message\":\"$1\"}"; }

post() { # post TYPE TIMESTAMP PATH USER [REFERRER]
    local body="{\"site_id\":\"rs\",\"event_type\":\"$1\",\"timestamp\":\"$2\""
    [ -n "$3" ] && body+=",\"path\":\"$3\""
    [ -n "$4" ] && body+=",\"user_id\":\"$4\""
    [ -n "${5:-}" ] && body+=",\"properties\":{\"referrer\":\"$5\"}"
    http POST "$I/event" "$body}"
    if [ "$HTTP_STATUS" = 202 ]; then SENT=$((SENT + 1)); else fail "post $body: $HTTP_STATUS $HTTP_BODY"; fi
}
count() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events count '{}'; }
# The processor counts a batch right after storing it: wait until /stats has them all.
counted() {
    [ "$(curl -s "$R/stats?site_id=rs&from=2025-11-01&to=2025-12-31" | jq .total_views)" = "$SENT" ]
}

# Three days and a day before a gap: u1 on every day, u2 on two, u3 once; no user once.
post page_view 2025-11-14T23:59:59.999Z /a u1 https://news.example.com/x?y=1
post page_view 2025-11-15T00:00:00Z /a u1 https://www.search.example/q
post page_view 2025-11-15T10:00:00Z /b u2 https://news.example.com/other
post click 2025-11-15T10:30:00Z /b u2
post page_view 2025-11-16T08:00:00Z /a u1
post signup 2025-11-16T23:00:00Z "" u3
# Without a user_id: ingest derives the visitor (one client, one User-Agent, today's salt),
# a user like u1-u3 in every figure.
post page_view 2025-11-16T23:59:59Z /c "" https://news.example.com/
post page_view 2025-11-20T12:00:00Z /c u2
if wait_until $((30 * T_SLOW)) counted; then pass "all $SENT events counted"; else
    fail "all $SENT events counted" "stored $(count)"; fi

# --- /stats over a range -------------------------------------------------------------------
q="site_id=rs&from=2025-11-14&to=2025-11-16"
# Over more than one day the answer says that visitors known by ingest's daily hash count
# once per day (docs/api.md): "hashed_visitors":"per_day".
want='{"site_id":"rs","from":"2025-11-14","to":"2025-11-16","total_views":7,"unique_users":4,
  "hashed_visitors":"per_day","top_paths":[{"path":"/a","views":3},{"path":"/b","views":2},{"path":"/c","views":1}]}'
http GET "$R/stats?$q"
expect_http "/stats over three days: each user once" 200 "$want"
http GET "$R/stats/aggregated?$q"
expect_http "/stats/aggregated over three days" 200 "$want"
http GET "$R/stats?$q&event_type=page_view"
expect_http "/stats over three days, page_view" 200 '{"site_id":"rs","from":"2025-11-14",
  "to":"2025-11-16","event_type":"page_view","total_views":5,"unique_users":3,
  "hashed_visitors":"per_day","top_paths":[{"path":"/a","views":3},{"path":"/b","views":1},{"path":"/c","views":1}]}'
http GET "$R/stats?site_id=rs&from=2025-11-15&to=2025-11-15"
expect_http "a one-day range is that day" 200 '{"site_id":"rs","from":"2025-11-15",
  "to":"2025-11-15","total_views":3,"unique_users":2,
  "top_paths":[{"path":"/b","views":2},{"path":"/a","views":1}]}'
http GET "$R/stats?site_id=rs&from=2025-11-17&to=2025-11-19"
expect_http "a range without events" 200 '{"site_id":"rs","from":"2025-11-17","to":"2025-11-19",
  "total_views":0,"unique_users":0,"hashed_visitors":"per_day","top_paths":[]}'
same=0
for span in 2025-11-14..2025-11-20 2025-11-15..2025-11-16 2025-11-16..2025-11-20 \
    2024-11-21..2025-11-20 2025-11-20..2025-11-20; do
    for type in "" page_view click signup; do
        q="site_id=rs&from=${span%..*}&to=${span#*..}${type:+&event_type=$type}"
        a=$(curl -s "$R/stats?$q")
        b=$(curl -s "$R/stats/aggregated?$q")
        if [ "$a" = "$b" ]; then same=$((same + 1)); else echo "# $q: $a / $b"; fi
    done
done
expect_eq "ranges: /stats equals /stats/aggregated" "$same" 20
http GET "$R/stats?site_id=rs&from=2024-11-20&to=2025-11-20"
expect_eq "366 days (2024-11-20 to 2025-11-20) are allowed" "$HTTP_STATUS $(jq .total_views <<<"$HTTP_BODY")" "200 $SENT"

# --- a unit separator (\x1f) inside a path, a user id and an event type ---------------------
# The raw events' breakdown once joined value and user with \x1f and split them at the
# first one: "/x\x1fy" counted as "/x". Another site, so that the figures above stay.
for ev in '"page_view","path":"/x\u001fy","user_id":"u\u001fv"' '"page_view","path":"/x\u001fy","user_id":"w"' \
    '"page_view","path":"/x","user_id":"u"' '"a\u001fb","user_id":"u"' '"a","user_id":"u2"'; do
    http POST "$I/event" '{"site_id":"rs-sep","timestamp":"2025-11-15T09:00:00Z","event_type":'"$ev"'}'
    [ "$HTTP_STATUS" = 202 ] || fail "post $ev: $HTTP_STATUS $HTTP_BODY"
done
# shellcheck disable=SC2317 # called through wait_until
sep_counted() { [ "$(curl -s "$R/stats?site_id=rs-sep&date=2025-11-15" | jq .total_views)" = 5 ]; }
check "the \x1f events counted" wait_until $((30 * T_SLOW)) sep_counted
for ep in stats/breakdown stats/breakdown/aggregated; do
    http GET "$R/$ep?site_id=rs-sep&date=2025-11-15&by=path"
    expect_http "/$ep by path, \x1f inside a path" 200 '{"site_id":"rs-sep","date":"2025-11-15",
      "by":"path","values":[{"value":"/x\u001fy","views":2},{"value":"/x","views":1}]}'
    http GET "$R/$ep?site_id=rs-sep&date=2025-11-15&by=event_type"
    expect_http "/$ep by event_type, \x1f inside a type and a user" 200 '{"site_id":"rs-sep",
      "date":"2025-11-15","by":"event_type","values":[{"value":"page_view","views":3,"unique_users":3},
      {"value":"a","views":1,"unique_users":1},{"value":"a\u001fb","views":1,"unique_users":1}]}'
done

# --- /stats/timeseries --------------------------------------------------------------------
pts() { jq -c '[.points[] | select(.views > 0 or .unique_users > 0)]' <<<"$HTTP_BODY"; }
q="site_id=rs&from=2025-11-15&to=2025-11-16"
for ep in stats/timeseries stats/timeseries/aggregated; do
    http GET "$R/$ep?$q&interval=hour"
    expect_eq "/$ep by hour: 48 points from midnight" \
        "$HTTP_STATUS $(jq -c '[(.points | length), .points[0].t, .points[47].t, .interval]' <<<"$HTTP_BODY")" \
        '200 [48,"2025-11-15T00:00:00Z","2025-11-16T23:00:00Z","hour"]'
    expect_json "/$ep by hour: the hours with events" "$(pts)" \
        '[{"t":"2025-11-15T00:00:00Z","views":1,"unique_users":1},
          {"t":"2025-11-15T10:00:00Z","views":2,"unique_users":1},
          {"t":"2025-11-16T08:00:00Z","views":1,"unique_users":1},
          {"t":"2025-11-16T23:00:00Z","views":2,"unique_users":2}]'
    http GET "$R/$ep?$q&interval=day&event_type=page_view"
    expect_http "/$ep by day, page_view" 200 '{"site_id":"rs","from":"2025-11-15","to":"2025-11-16",
      "event_type":"page_view","interval":"day","points":[
      {"t":"2025-11-15T00:00:00Z","views":2,"unique_users":2},
      {"t":"2025-11-16T00:00:00Z","views":2,"unique_users":2}]}'
    http GET "$R/$ep?site_id=rs&date=2025-11-20&interval=hour"
    expect_eq "/$ep of one date by hour" "$(pts)" '[{"t":"2025-11-20T12:00:00Z","views":1,"unique_users":1}]'
done
V_SAME=0 V_DIFFER=0
for span in 2025-11-14..2025-11-20 2025-10-21..2025-11-20; do
    for type in "" page_view click signup; do
        same_answer stats/timeseries "site_id=rs&from=${span%..*}&to=${span#*..}&interval=hour${type:+&event_type=$type}"
        same_answer stats/timeseries "site_id=rs&from=${span%..*}&to=${span#*..}&interval=day${type:+&event_type=$type}"
    done
done
expect_eq "time series: the rollups' answers equal the raw events'" "$V_SAME $V_DIFFER" "16 0"
http GET "$R/stats/timeseries?site_id=rs&from=2024-11-20&to=2025-11-20&interval=day"
expect_eq "a 366-day series by day" "$HTTP_STATUS $(jq '.points | length' <<<"$HTTP_BODY")" "200 366"

# --- /stats/breakdown ----------------------------------------------------------------------
for ep in stats/breakdown stats/breakdown/aggregated; do
    http GET "$R/$ep?$q&by=event_type"
    expect_http "/$ep by event_type over two days" 200 '{"site_id":"rs","from":"2025-11-15",
      "to":"2025-11-16","by":"event_type","hashed_visitors":"per_day","values":[
      {"value":"page_view","views":4,"unique_users":3},{"value":"click","views":1,"unique_users":1},
      {"value":"signup","views":1,"unique_users":1}]}'
    http GET "$R/$ep?site_id=rs&from=2025-11-14&to=2025-11-20&by=path&limit=2"
    expect_http "/$ep by path, limit 2" 200 '{"site_id":"rs","from":"2025-11-14",
      "to":"2025-11-20","by":"path","values":[{"value":"/a","views":3},{"value":"/b","views":2}]}'
    http GET "$R/$ep?site_id=rs&from=2025-11-14&to=2025-11-20&by=referrer"
    expect_http "/$ep by referrer: page views by host" 200 '{"site_id":"rs","from":"2025-11-14",
      "to":"2025-11-20","by":"referrer","values":[{"value":"news.example.com","views":3},
      {"value":"www.search.example","views":1}]}'
    http GET "$R/$ep?site_id=rs&date=2025-11-15&by=referrer"
    expect_http "/$ep by referrer on one date" 200 '{"site_id":"rs","date":"2025-11-15",
      "by":"referrer","values":[{"value":"news.example.com","views":1},
      {"value":"www.search.example","views":1}]}'
done
V_SAME=0 V_DIFFER=0
for span in date=2025-11-15 date=2025-11-16 from=2025-11-14\&to=2025-11-20; do
    for by in event_type path referrer; do
        for limit in 1 100; do same_answer stats/breakdown "site_id=rs&$span&by=$by&limit=$limit"; done
    done
done
expect_eq "breakdowns: the rollups' answers equal the raw events'" "$V_SAME $V_DIFFER" "18 0"

# --- errors ----------------------------------------------------------------------------------
MISSING=$(err 'Missing required parameters: site_id, date (YYYY-MM-DD)')
for q in "?site_id=rs" "?from=2025-11-14&to=2025-11-15" "?site_id=&from=2025-11-14&to=2025-11-15"; do
    http GET "$R/stats$q"
    expect_http "/stats$q" 400 "$MISSING"
done
# expect_errors EP: for each line "KEY QUERY" of stdin, /EP and /EP/aggregated answer
# site_id=rs&QUERY with a 400 of message MSG[KEY].
expect_errors() {
    local want q ep
    while read -r want q; do
        for ep in "$1" "$1/aggregated"; do
            http GET "$R/$ep?site_id=rs&$q"
            expect_http "/$ep?$q" 400 "$(err "${MSG[$want]}")"
        done
    done
}
declare -A MSG=(
    [both]="Use either 'date' or 'from' and 'to', not both"
    [pair]="Parameters 'from' and 'to' must be given together"
    [badfrom]="Parameter 'from' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
    [badto]="Parameter 'to' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
    [order]="Parameter 'from' must not be after 'to'"
    [long]="The range from 'from' to 'to' may span at most 366 days"
)
expect_errors stats <<'CASES'
both date=2025-11-15&from=2025-11-14&to=2025-11-16
both date=2025-11-15&to=2025-11-16
pair from=2025-11-14
pair to=2025-11-14
badfrom from=2025-02-30&to=2025-03-01
badfrom from=2025-11-14T00:00:00Z&to=2025-11-16
badfrom from=x&to=2025-11-16
badto from=2025-11-14&to=2025-11-31
badto from=2025-11-14&to=20251116
order from=2025-11-16&to=2025-11-15
long from=2024-11-19&to=2025-11-20
long from=0001-01-01&to=9999-12-31
CASES

SERIES_MISSING=$(err 'Missing required parameters: site_id, from, to (YYYY-MM-DD), interval')
for q in "?site_id=rs&interval=hour" "?from=2025-11-14&to=2025-11-15&interval=hour" ""; do
    http GET "$R/stats/timeseries$q"
    expect_http "/stats/timeseries$q" 400 "$SERIES_MISSING"
done
MSG[interval]="Parameter 'interval' must be hour or day"
MSG[hours]="With interval=hour the range may span at most 31 days"
expect_errors stats/timeseries <<'CASES'
interval from=2025-11-14&to=2025-11-16
interval from=2025-11-14&to=2025-11-16&interval=
interval from=2025-11-14&to=2025-11-16&interval=minute
interval from=2025-11-14&to=2025-11-16&interval=hourly
interval from=2025-11-14&to=2025-11-16&interval=HOUR
hours from=2025-10-15&to=2025-11-15&interval=hour
both date=2025-11-15&from=2025-11-14&to=2025-11-16&interval=hour
pair from=2025-11-14&interval=day
order from=2025-11-16&to=2025-11-15&interval=day
long from=2024-11-19&to=2025-11-20&interval=day
badto from=2025-11-14&to=2025-11-31&interval=day
CASES
BD_MISSING=$(err 'Missing required parameters: site_id, date or from and to (YYYY-MM-DD), by')
for q in "?site_id=rs&by=path" "?date=2025-11-15&by=path"; do
    http GET "$R/stats/breakdown$q"
    expect_http "/stats/breakdown$q" 400 "$BD_MISSING"
done
# by and limit: /stats/breakdown takes every dimension and a limit up to 1,000 (counted from
# the raw events past the rollups' 100), its /aggregated variant the rollups' own and 100.
BY_MAIN="Parameter 'by' must be event_type, path, referrer, entry_page, exit_page, source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, device, browser, os, country or prop.<key>"
BY_AGG="Parameter 'by' must be event_type, path, referrer, entry_page or exit_page"
for q in "" "&by=" "&by=user_id" "&by=paths" "&by=prop." "&by=prop.a.b"; do
    http GET "$R/stats/breakdown?site_id=rs&date=2025-11-15$q"
    expect_http "/stats/breakdown?date=2025-11-15$q" 400 "$(err "$BY_MAIN")"
    http GET "$R/stats/breakdown/aggregated?site_id=rs&date=2025-11-15$q"
    expect_http "/stats/breakdown/aggregated?date=2025-11-15$q" 400 "$(err "$BY_AGG")"
done
for limit in 0 -1 ten 10000 1001; do
    http GET "$R/stats/breakdown?site_id=rs&date=2025-11-15&by=path&limit=$limit"
    expect_http "/stats/breakdown?by=path&limit=$limit" 400 \
        "$(err "Parameter 'limit' must be an integer from 1 to 1000")"
done
for limit in 0 101 -1 ten 10000; do
    http GET "$R/stats/breakdown/aggregated?site_id=rs&date=2025-11-15&by=path&limit=$limit"
    expect_http "/stats/breakdown/aggregated?by=path&limit=$limit" 400 \
        "$(err "Parameter 'limit' must be an integer from 1 to 100")"
done
http GET "$R/stats/breakdown?site_id=rs&date=2025-11-15&by=path&limit=101"
expect_eq "/stats/breakdown?by=path&limit=101: 200, from the raw events" "$HTTP_STATUS" 200
MSG[type]="Parameter 'event_type' does not apply to /stats/breakdown; use by=event_type"
expect_errors stats/breakdown <<'CASES'
type date=2025-11-15&by=path&event_type=click
both date=2025-11-15&from=2025-11-14&to=2025-11-16&by=path
long from=2024-11-19&to=2025-11-20&by=path
badfrom from=2025-13-01&to=2025-11-16&by=path
CASES
http GET "$R/stats/timeseries?site_id=rs&from=2025-10-16&to=2025-11-15&interval=hour"
expect_eq "31 days by hour are allowed: 744 points" \
    "$HTTP_STATUS $(jq '.points | length' <<<"$HTTP_BODY")" "200 744"

for s in processor ingest reporting; do expect_clean_stop $s; done
t_summary
