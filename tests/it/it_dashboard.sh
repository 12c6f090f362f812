#!/usr/bin/env bash
# it_dashboard.sh - reporting's dashboard page (GET /): its files as served (types, ETag
# and 304, the page's Content-Security-Policy), then, in headless Chromium driven by
# playwright-core (tests/browser/dashboard.js), the page over example events of several
# days, types, paths and users: each range of the picker shows the API's own figures (the
# cards, one chart point per hour up to 2 days and per day beyond, the top paths in order)
# asking one call at a time and only what it shows, an empty site and a missing database
# are said in words, a busy reporting (503 with Retry-After) is said and asked again until
# the figures show, the live feed shows a new event within 6 s and stops when paused,
# READ_TOKENS makes the page ask for a token, and a 375 px wide screen has no sideways
# scroll; no case may log a console error (the icon's 404 was one). Screenshots of each
# state go to $BUILD/screenshots/.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

need_browser
DB=dashboard
SITE="site-dash"
EMPTY_SITE="site-dash-empty"
TOKEN=dash-read-token-1
SHOTS="$BUILD/screenshots"
mkdir -p "$SHOTS"
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events "$@"; }
count() { q count "{\"site_id\":\"$1\"}"; }

start_redis
start_mongo
start_service ingest REDIS_PORT="$REDIS_PORT"
# A batch is written at most 100 ms after its first event: the live feed's 6 s are the page's
# 5 s refresh and the pipeline's time.
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_WAIT_MS=100
start_service reporting MONGO_URI="$(mongo_uri $DB)"
start_service reporting2 MONGO_URI="$(mongo_uri $DB)" READ_TOKENS="$TOKEN:$SITE"
start_service reporting3 \
    MONGO_URI="mongodb://127.0.0.1:$(free_port)/$DB?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
I="http://127.0.0.1:$INGEST_PORT"
R="http://127.0.0.1:$REPORTING_PORT"
# shellcheck disable=SC2153 # set by start_service
AUTH="http://127.0.0.1:$REPORTING2_PORT" DEAD="http://127.0.0.1:$REPORTING3_PORT"

# -- the page's files, as served -------------------------------------------------------
# header NAME: the value of header NAME in the last reply (case-insensitive, no CR).
header() {
    printf '%s\n' "$HTTP_HEADERS" | tr -d '\r' | sed -n "s/^$1: //Ip" | head -n 1
}
for f in "/ text/html; charset=utf-8" "/dashboard/app.js application/javascript; charset=utf-8" \
    "/dashboard/app.css text/css; charset=utf-8" \
    "/dashboard/uplot.js application/javascript; charset=utf-8" \
    "/dashboard/uplot.css text/css; charset=utf-8" "/favicon.ico image/x-icon"; do
    path=${f%% *}
    # (2>/dev/null: bash's warning that the icon's body, read into HTTP_BODY, holds NULs)
    http GET "$R$path" 2>/dev/null
    expect_eq "GET $path: 200" "$HTTP_STATUS" 200
    expect_eq "GET $path: its type" "$(header Content-Type)" "${f#* }"
    expect_eq "GET $path: revalidated each time" "$(header Cache-Control)" no-cache
    etag=$(header ETag)
    expect_match "GET $path: a strong ETag" "$etag" '^"[0-9a-f]{16}"$'
    out=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $etag" "$R$path")
    expect_eq "GET $path with its ETag: 304 without a body" "$out" "304 0"
done
http GET "$R/"
expect_match "the page's Content-Security-Policy: this origin's scripts only" \
    "$(header Content-Security-Policy)" "^default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
expect_eq "the page: served as written in reporting/dashboard/index.html" \
    "$(curl -s "$R/" | sha256sum)" "$(sha256sum <"$T_ROOT/reporting/dashboard/index.html")"
expect_eq "the icon: served as in reporting/dashboard/favicon.ico" \
    "$(curl -s "$R/favicon.ico" | sha256sum)" "$(sha256sum <"$T_ROOT/reporting/dashboard/favicon.ico")"
expect_eq "uPlot: served as its npm package has it" \
    "$(curl -s "$R/dashboard/uplot.js" | sha256sum)" \
    "$(sha256sum <"$T_ROOT/.deps/uplot/node_modules/uplot/dist/uPlot.iife.min.js")"
http GET "$AUTH/dashboard/app.js"
expect_eq "READ_TOKENS: the page's files need no token" "$HTTP_STATUS" 200
http POST "$R/" '{}'
expect_eq "POST /: 405" "$HTTP_STATUS" 405

# -- example events: ten days back, four types, four paths, seven users ------------------
# Event i: day (i % 13) % 10 back, at hour i * 7 % 24 (today: no later than now); a path and
# a type weighted so that the top paths and types are in a clear order.
today=$(date -u -d "$(date -u +%F)" +%s)
now=$(date -u +%s)
paths=(/ / / / /pricing /pricing /pricing /docs /docs /blog/launch)
types=(page_view page_view page_view page_view page_view click click signup scroll scroll)
events=()
for i in $(seq 0 239); do
    d=$((i % 13 % 10))
    at=$((today - d * 86400 + i * 7 % 24 * 3600 + i % 60 * 60))
    [ "$at" -gt "$now" ] && at=$((now - i))
    [ "$at" -lt "$today" ] && [ "$d" -eq 0 ] && at=$today
    ts=$(date -u -d "@$at" +%FT%TZ)
    events+=("{\"site_id\":\"$SITE\",\"event_type\":\"${types[i * 3 % 10]}\",\"path\":\"${paths[i * 7 % 10]}\",\"user_id\":\"user-$(((i * 3 + i / 10) % 7))\",\"timestamp\":\"$ts\"}")
done
for start in 0 120; do
    batch=$(printf '%s\n' "${events[@]:start:120}" | jq -cs .)
    http POST "$I/events" "$batch"
    expect_eq "a batch of 120 example events: 202" "$HTTP_STATUS" 202
done
stored() { [ "$(count "$SITE")" -eq 240 ]; }
check "the 240 events are stored" wait_until 30 stored
check "the processor has counted them" wait_until 30 queue_settled events

# -- the browser cases -----------------------------------------------------------------
# run_case NAME: run dashboard.js NAME to its end; 1 (and a failure) when it did not finish.
run_case() {
    CASE_LOG="$T_TMP/case-$1.log"
    if ! REPORTING="$R" AUTH="$AUTH" DEAD="$DEAD" INGEST="$I" SITE="$SITE" \
        EMPTY_SITE="$EMPTY_SITE" TOKEN="$TOKEN" SHOTS="$SHOTS" \
        timeout 120 node "$T_ROOT/tests/browser/dashboard.js" "$1" >"$CASE_LOG" 2>&1 ||
        ! grep -qx "done" "$CASE_LOG"; then
        fail "browser case $1 ran" "$(tail -n 20 "$CASE_LOG")"
        return 1
    fi
    expect_eq "case $1: no exception on the page" "$(grep '^pageerror ' "$CASE_LOG")" ""
    expect_eq "case $1: nothing refused by the page's Content-Security-Policy" \
        "$(grep '^csp ' "$CASE_LOG")" ""
    expect_eq "case $1: no error in the browser's console" "$(grep '^console ' "$CASE_LOG")" ""
}
# shown KEY [JQ-ARGS...]: the value the last case printed for KEY, through jq with JQ-ARGS
# (default: the value as it is).
shown() {
    local key=$1
    shift
    [ $# -gt 0 ] || set -- .
    sed -n "s/^info $key //p" "$CASE_LOG" | jq -c "$@"
}
# api PATH: the API's answer (reporting's JSON) to GET PATH, compact.
api() {
    curl -s "$R$1" | jq -c .
}
# api_figures KEY: /stats's [total_views, unique_users] for the range the last case showed
# as KEY.
api_figures() {
    api "/stats?site_id=$SITE&from=$(shown "$1" -r .from)&to=$(shown "$1" -r .to)" |
        jq -c '[.total_views, .unique_users]'
}
# expect_range NAME DAYS: what case "ranges" showed for range NAME (DAYS days) is the API's.
expect_range() {
    local name=$1 days=$2 from to span interval points want_points
    from=$(shown "$name" -r .from)
    to=$(shown "$name" -r .to)
    if ! [[ "$from $to" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
        fail "$name: the page's range is two dates" "from: $from" "to: $to"
        return 1
    fi
    span="site_id=$SITE&from=$from&to=$to"
    expect_eq "$name: $days days, to today" \
        "$((($(date -u -d "$to" +%s) - $(date -u -d "$from" +%s)) / 86400 + 1)) $to" \
        "$days $(date -u +%F)"
    expect_eq "$name: the cards are /stats's figures" "$(shown "$name" '[.views, .users]')" \
        "$(api "/stats?$span" | jq -c '[.total_views, .unique_users]')"
    # Over several days the API says that visitors known by ingest's daily hash count once a
    # day ("hashed_visitors":"per_day"), and the card says it in words.
    local note=""
    [ "$days" -gt 1 ] && note="Visitors without an id are counted once a day: over several days, a sum of days"
    expect_eq "$name: the users card's words on visitors counted per day" \
        "$(shown "$name" -r .users_note)" "$note"
    expect_eq "$name: /stats's hashed_visitors" "$(api "/stats?$span" | jq -r '.hashed_visitors // ""')" \
        "$([ "$days" -gt 1 ] && echo per_day)"
    if [ "$days" -le 2 ]; then interval=hour want_points=$((days * 24)); else interval=day want_points=$days; fi
    points=$(api "/stats/timeseries?$span&interval=$interval")
    expect_eq "$name: the chart has one point per $interval ($want_points)" \
        "$(shown "$name" '[.chart_points, (.series | length), .canvas]')" "[$want_points,$want_points,1]"
    expect_eq "$name: the chart's points are /stats/timeseries's" \
        "$(shown "$name" '[.series[] | .[1:]]')" "$(jq -c '[.points[] | [.views, .unique_users]]' <<<"$points")"
    expect_eq "$name: the top paths, in order, are /stats/breakdown's" "$(shown "$name" .paths)" \
        "$(api "/stats/breakdown?$span&by=path&limit=10" | jq -c '[.values[] | [.value, .views]]')"
    expect_eq "$name: the event types, in order, with their users, are /stats/breakdown's" \
        "$(shown "$name" .types)" \
        "$(api "/stats/breakdown?$span&by=event_type&limit=10" | jq -c '[.values[] | [.value, .views, .unique_users]]')"
}

if run_case ranges; then
    expect_range today 1
    expect_range last7 7
    expect_range last30 30
    expect_range custom2 2
    expect_range custom3 3
    expect_eq "last 30 days: all 240 example events" "$(shown last30 .views)" 240
    expect_eq "last 30 days: the top paths" "$(shown last30 '[.paths[][0]]')" \
        '["/","/pricing","/docs","/blog/launch"]'
    expect_eq "a custom range that ends before it starts" "$(shown backwards -r .)" \
        "The range must not start after it ends."
    expect_eq "a load asks for the figures (/stats's top paths are the table's), then the feed" \
        "$(shown first_calls '[.[] | split("?")[0]]')" \
        '["/stats","/stats/timeseries","/stats/breakdown","/events"]'
    expect_eq "the feed asks for what it shows: 20 events, without their properties" \
        "$(shown first_calls -r '.[3] | split("?")[1]')" "site_id=$SITE&limit=20&properties=false"
    expect_eq "one call at a time" "$(shown first_at_once)" 1
    expect_eq "the icon: a 16 x 16 image" "$(shown icon)" "[16,16]"
fi

if run_case latest; then
    latest_day=$(curl -s "$R/events?site_id=$SITE&limit=1" | jq -r '.events[0].timestamp[:10]')
    expect_eq "a range without the site's events: the day of its latest event is offered" \
        "$(shown offer -r .)" \
        "No events for this site in this range; its latest event is on $latest_day. Show $latest_day"
    expect_eq "the offer taken: that day is shown" "$(shown latest '[.from, .to]')" \
        "[\"$latest_day\",\"$latest_day\"]"
    curl -s "$R/stats?site_id=$SITE&date=$latest_day" >"$T_TMP/latest.json"
    expect_eq "the offer taken: the cards are that day's /stats" \
        "$(shown latest '[.views, .users]')" "$(jq -c '[.total_views, .unique_users]' "$T_TMP/latest.json")"
    expect_eq "the offer taken: it is gone" "$(shown offer_after)" true
fi

if run_case empty; then
    expect_eq "a site without events: said so" "$(shown cards_msg -r .)" \
        "No events for this site in this range"
    expect_eq "a site without events: no paths" "$(shown paths_msg -r .)" "No paths in this range"
    expect_eq "a site without events: zero on the cards" "$(shown empty '[.views, .users]')" "[0,0]"
    expect_eq "a site without events: the feed says so" "$(shown feed_msg -r .)" \
        "No events for this site yet"
fi

if run_case token; then
    expect_eq "READ_TOKENS: the page asks for a token" "$(shown asked)" true
    expect_eq "READ_TOKENS: and says why" "$(shown asked_why -r .)" \
        "This reporting server needs a read token."
    expect_eq "a wrong token: asked again, saying so" "$(shown wrong_why -r .)" \
        "That token was not accepted: enter another read token."
    expect_eq "with the token: the data of the last 7 days" "$(shown with_token '[.views, .users]')" \
        "$(shown with_token '[.from, .to]' | jq -r '"/stats?site_id='"$SITE"'&from=\(.[0])&to=\(.[1])"' |
            xargs -I{} curl -s -H "Authorization: Bearer $TOKEN" "$AUTH{}" |
            jq -c '[.total_views, .unique_users]')"
    expect_eq "the token is sent as a bearer token" "$(shown sent -r .)" "Bearer $TOKEN"
    expect_eq "the token is kept for the session" "$(shown kept)" "[\"$TOKEN\"]"
    expect_eq "and nowhere else" "$(shown kept_local)" 0
    expect_eq "a new session asks again" "$(shown asked_again)" true
    expect_eq "a site the token does not cover: the API's 403, in words" "$(shown other_site -r .)" \
        "This token may not read site_id '$EMPTY_SITE'"
fi

if run_case dberror; then
    expect_eq "no database: said in words" "$(shown status -r .)" \
        "Reporting could not reach the database: retry"
    expect_eq "no database: a retry button" "$(shown retry)" true
fi

busy_words='Reporting is busy (too many requests are waiting for its database)'
if run_case busy; then
    said=$(shown seen -r '.[] | select(startswith("Reporting is busy"))')
    check "busy: said so while waiting" [ -n "$said" ]
    expect_eq "busy: in these words, with when the page asks again" "$(grep -cvE \
        '^Reporting is busy \(too many requests are waiting for its database\): trying again in [0-9]+ s$' \
        <<<"$said")" 0
    expect_eq "busy: then the figures, without a click" "$(shown busy '[.views, .users]')" \
        "$(api_figures busy)"
    expect_eq "busy: /stats asked 4 times (3 refused), then the other calls" \
        "$(shown calls -c '[.[] | [.path, .status]]')" \
        '[["/stats",503],["/stats",503],["/stats",503],["/stats",200],["/stats/timeseries",200],["/stats/breakdown",200],["/events",200]]'
    # shellcheck disable=SC2016 # jq's variable
    gaps=$(shown calls -c '[range(1; 4) as $i | .[$i].start - .[$i - 1].start]')
    check "busy: each retry after Retry-After (2 s) or the backoff if longer (2, 4 s): $gaps ms" \
        [ "$(jq '.[0] >= 1900 and .[1] >= 1900 and .[2] >= 3900' <<<"$gaps")" = true ]
    expect_eq "busy: one call at a time" "$(shown at_once)" 1
fi

if run_case overloaded; then
    expect_eq "still busy after 3 retries: said so" "$(shown status -r .)" "$busy_words: retry"
    expect_eq "still busy: a retry button" "$(shown retry)" true
    expect_eq "still busy: 4 calls in all, the figures' first" "$(shown calls)" 4
    expect_eq "still busy, then Retry: the figures" "$(shown after_retry '[.views, .users]')" \
        "$(api_figures after_retry)"
fi

if run_case phone; then
    expect_eq "375 px wide: no sideways scroll (scrollWidth <= clientWidth)" \
        "$(shown widths '.[0] <= .[1]')" true
    expect_eq "375 px wide: the data of the last 30 days" "$(shown phone .views)" 240
fi

if run_case live; then
    ms=$(shown live_ms)
    check "live feed: a new event is shown within 6 s ($ms ms)" [ "${ms:-99999}" -le 6000 ]
    expect_match "live feed: newest first" "$(shown live_first -r .)" '^/live/'
    expect_eq "pause: the button says Resume" "$(shown pause_label -r .)" Resume
    expect_eq "paused: no request for 7 s" "$(shown paused_requests)" 0
    expect_eq "paused: the new event is not shown" "$(shown paused_shown)" 0
    ms=$(shown resumed_ms)
    check "resumed: the new event is shown at once ($ms ms)" [ "${ms:-99999}" -le 6000 ]
fi

expect_clean_stop reporting
expect_clean_stop reporting2
expect_clean_stop reporting3
expect_clean_stop processor
expect_clean_stop ingest
t_summary
