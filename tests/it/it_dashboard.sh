#!/usr/bin/env bash
# it_dashboard.sh - reporting's dashboard page (GET /): its files as served (types, ETag
# and 304, the page's Content-Security-Policy), then, in headless Chromium driven by
# playwright-core (tests/browser/dashboard.js), the page over example events of several
# days, types, paths and users: each range of the picker shows the API's own figures (the
# first row and its changes as /stats/summary?compare=previous has them, written as the
# page writes them; one chart point per hour up to 2 days and per day beyond; the top paths,
# event types, entry and exit pages in order) asking one call at a time and only what it
# shows; a click (or Enter or Space) on each figure draws that figure's
# /stats/timeseries?metric= points, saying which; visit figures that are not 0 (answers
# rewritten on their way, until the processors count visits) are written as the page should
# (1.67, 42 %, 1h 02m 05s, the bounce rate's rise in red); the current visitors are
# /stats/realtime's and grow without a reload when a new visitor comes; an empty site and a
# missing database are said in words, a busy reporting (503 with Retry-After) is said and
# asked again until the figures show, the live feed shows a new event within 6 s and stops
# when paused, READ_TOKENS makes the page ask for a token, and a 375 px wide screen has no
# sideways scroll; no case may log a console error (the icon's 404 was one) or be refused
# by the page's Content-Security-Policy. Screenshots of each state go to $BUILD/screenshots/.
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
# The site's raw events are said to be kept 10 days (reporting only: no processor deletes
# them): a range that starts before shows a notice.
# ZONE_SITE's days are Pacific/Chatham's (+13:45 in December).
ZONE_SITE="site-dash-zone"
start_service reporting MONGO_URI="$(mongo_uri $DB)" SITE_RETENTION="$SITE:10" \
    SITE_TIMEZONES="$ZONE_SITE:Pacific/Chatham"
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
# run_case NAME: run dashboard.js NAME to its end (lib.sh's browser_case).
run_case() {
    REPORTING="$R" AUTH="$AUTH" DEAD="$DEAD" INGEST="$I" SITE="$SITE" EMPTY_SITE="$EMPTY_SITE" \
        ZONE_SITE="$ZONE_SITE" TOKEN="$TOKEN" SHOTS="$SHOTS" browser_case dashboard.js "$1"
}
# api PATH: the API's answer (reporting's JSON) to GET PATH, compact.
api() {
    curl -s "$R$1" | jq -c .
}
# FIRST_ROW_JQ: jq definitions of how the page writes the first row's figures (app.js's
# FIGURES): fmt(name) writes a value of figure name, said(name) a change {arrow, pct, tone},
# label(name) its words, and first_row (on a /stats/summary?compare=previous answer) each
# figure as the page shows it.
# shellcheck disable=SC2016 # jq's variables
FIRST_ROW_JQ='
def names: ["visitors","visits","pageviews","views_per_visit","bounce_rate","visit_duration","events"];
def figlabel($n): {visitors:"Unique visitors",visits:"Visits",pageviews:"Pageviews",
    views_per_visit:"Views per visit",bounce_rate:"Bounce rate",visit_duration:"Visit duration",
    events:"All events"}[$n];
def commas: if . >= 1000 then ((. / 1000 | floor) | commas) + "," + ((. % 1000) | tostring | ("00" + .)[-3:])
    else tostring end;
def two: tostring | ("0" + .)[-2:];
def dur: round as $s | if $s < 60 then "\($s)s" elif $s < 3600 then "\($s / 60 | floor)m \($s % 60 | two)s"
    else "\($s / 3600 | floor)h \($s / 60 | floor % 60 | two)m \($s % 60 | two)s" end;
def fmt($n): if $n == "views_per_visit" then (. * 100 | round) / 100 | tostring
    elif $n == "bounce_rate" then "\(round) %" elif $n == "visit_duration" then dur else commas end;
def said($n): if . == null then {arrow: "", pct: "—", tone: "none"}
    else (fabs | round) as $r | {arrow: (if $r == 0 then "" elif . > 0 then "↑" else "↓" end),
        pct: "\($r | commas) %",
        tone: (if $r == 0 then "none" elif (. > 0) == ($n != "bounce_rate") then "good" else "bad" end)} end;
def first_row: . as $s | [names[] as $n | [$n, ($s[$n] | fmt($n)), $s[$n],
    ($s.change[$n] | said($n) | .arrow, .pct, .tone), $s.change[$n]]];
'
# shown_first_row KEY: the first row the last case showed as KEY, as first_row writes it.
shown_first_row() {
    # shellcheck disable=SC2016 # jq's variable
    shown "$1" '[.figures | to_entries[] | .value as $f |
        [.key, $f.text, $f.value, $f.arrow, $f.pct, $f.tone, $f.change]]'
}
# pages_jq: a /stats/breakdown?by=entry_page|exit_page answer as the page's table shows it.
pages_jq="$FIRST_ROW_JQ"'[.values[] | [.value, .visits, (.bounce_rate | fmt("bounce_rate")), .bounce_rate]]'
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
    expect_eq "$name: events and visitors are /stats's figures" "$(shown "$name" '[.views, .users]')" \
        "$(api "/stats?$span" | jq -c '[.total_views, .unique_users]')"
    expect_eq "$name: the first row, its changes and their colours are /stats/summary's" \
        "$(shown_first_row "$name")" \
        "$(api "/stats/summary?$span&compare=previous" | jq -c "$FIRST_ROW_JQ first_row")"
    expect_eq "$name: the chart draws unique visitors, its button pressed" \
        "$(shown "$name" '[.chart_metric, .chart_title, .chart_legend, [.figures | to_entries[] | select(.value.pressed) | .key]]')" \
        '["visitors","Unique visitors","Unique visitors",["visitors"]]'
    for by in entry exit; do
        local want
        want=$(api "/stats/breakdown?$span&by=${by}_page&limit=10")
        expect_eq "$name: the $by pages, in order, with visits and bounce rate, are /stats/breakdown's" \
            "$(shown "$name" ".$by")" "$(jq -c "$pages_jq" <<<"$want")"
        expect_eq "$name: the $by pages' words when there are none" "$(shown "$name" -r ".${by}_msg")" \
            "$(jq -r 'if .values == [] then "No visits counted in this range" else "" end' <<<"$want")"
    done
    # Over several days the API says that visitors known by ingest's daily hash count once a
    # day ("hashed_visitors":"per_day"), and the card says it in words.
    local note=""
    [ "$days" -gt 1 ] && note="Visitors without an id are counted once a day: over several days, a sum of days"
    expect_eq "$name: the users card's words on visitors counted per day" \
        "$(shown "$name" -r .users_note)" "$note"
    # A range that starts before the first day of raw events (SITE_RETENTION: 10 days) says so.
    note=""
    [ "$days" -gt 11 ] && note="Raw events are kept from $(date -u -d '10 days ago' +%F) on: figures that read them (filters, goals, funnels, most breakdowns, visitors over several days) leave out the days before."
    expect_eq "$name: the notice of the first day of raw events" "$(shown "$name" -r .retention_note)" "$note"
    expect_eq "$name: /stats's hashed_visitors" "$(api "/stats?$span" | jq -r '.hashed_visitors // ""')" \
        "$([ "$days" -gt 1 ] && echo per_day)"
    if [ "$days" -le 2 ]; then interval=hour want_points=$((days * 24)); else interval=day want_points=$days; fi
    points=$(api "/stats/timeseries?$span&interval=$interval&metric=visitors")
    expect_eq "$name: the chart has one point per $interval ($want_points)" \
        "$(shown "$name" '[.chart_points, (.series | length), .canvas]')" "[$want_points,$want_points,1]"
    expect_eq "$name: the chart's points are /stats/timeseries?metric=visitors's" \
        "$(shown "$name" '[.series[] | .[1:]]')" \
        "$(jq -c "$FIRST_ROW_JQ"'[.points[] | [(.visitors | fmt("visitors")), .visitors]]' <<<"$points")"
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
    # The first row's figures are not all zeros: two and more users, page views and clicks.
    expect_eq "today and the last 7 days: visitors, pageviews and events counted" \
        "$(shown today '[.figures.visitors.value, .figures.pageviews.value, .figures.events.value] | all(. > 0)'
           shown last7 '[.figures.visitors.value, .figures.pageviews.value, .figures.events.value] | all(. > 0)')" \
        "$(printf 'true\ntrue')"
    expect_eq "today: a change against yesterday's events; the last 30 days: none before them (—)" \
        "$(shown today '.figures.events.change != null'; shown last30 -r '.figures.events.pct')" \
        "$(printf 'true\n—')"
    expect_eq "last 30 days: the top paths" "$(shown last30 '[.paths[][0]]')" \
        '["/","/pricing","/docs","/blog/launch"]'
    expect_eq "a custom range that ends before it starts" "$(shown backwards -r .)" \
        "The range must not start after it ends."
    expect_eq "a load asks for the figures (/stats's top paths are the table's), then the live parts" \
        "$(shown first_calls '[.[] | split("?")[0]]')" \
        '["/stats/summary","/stats/timeseries","/stats","/stats/breakdown","/stats/breakdown","/stats/breakdown","/stats/breakdown","/stats/breakdown","/stats/breakdown","/stats/goals","/events","/stats/realtime"]'
    expect_eq "the first row against the period before; the chart's figure; the six breakdowns (the panels' first tabs)" \
        "$(shown first_calls '[.[0,1,3,4,5,6,7,8] | split("?")[1] | split("&") | map(select(test("^(compare|metric|by|interval|filter)=")))]')" \
        '[["compare=previous"],["interval=hour","metric=visitors"],["by=event_type"],["by=entry_page"],["by=exit_page"],["by=source"],["by=device"],["by=country"]]'
    expect_eq "the feed asks for what it shows: 20 events, without their properties" \
        "$(shown first_calls -r '.[10] | split("?")[1]')" "site_id=$SITE&limit=20&properties=false"
    expect_eq "the current visitors: the site's" "$(shown first_calls -r '.[11] | split("?")[1]')" \
        "site_id=$SITE"
    expect_eq "one call at a time" "$(shown first_at_once)" 1
    expect_eq "the icon: a 16 x 16 image" "$(shown icon)" "[16,16]"
fi

if run_case figures; then
    span="site_id=$SITE&from=$(shown first -r .from)&to=$(shown first -r .to)"
    # shellcheck disable=SC2016 # jq's variables
    for m in visits pageviews views_per_visit bounce_rate visit_duration events visitors; do
        label=$(jq -nr "$FIRST_ROW_JQ figlabel(\"$m\")")
        points=$(api "/stats/timeseries?$span&interval=hour&metric=$m")
        expect_eq "a click on $label: asks for its series, once" "$(shown "chart_$m" -r '.asked | length, (.[0] | test("[?&]metric='"$m"'(&|$)"))')" \
            "$(printf '1\ntrue')"
        expect_eq "a click on $label: the chart and its table are /stats/timeseries?metric=$m's points" \
            "$(shown "chart_$m" '[.chart_points, .canvas, [.series[] | .[1:]]]')" \
            "$(jq -c "$FIRST_ROW_JQ"'[(.points | length), 1, [.points[] | [(.["'"$m"'"] | fmt("'"$m"'")), .["'"$m"'"]]]]' <<<"$points")"
        expect_eq "a click on $label: the chart's title and legend say so, its button alone pressed, kept in the address" \
            "$(shown "chart_$m" -c '[.chart_metric, .chart_title, .chart_legend, .pressed, .metric_in_address]')" \
            "[\"$m\",\"$label\",\"$label\",[\"$m\"],\"$m\"]"
    done
    expect_eq "the chart's figures: one call at a time" "$(shown at_once)" 1
    expect_eq "each figure is a button named by its words and figure, the chart's one pressed" \
        "$(shown names -c '[to_entries[] | [.key, .value[1]]]')" \
        '[["visitors",true],["visits",false],["pageviews",false],["views_per_visit",false],["bounce_rate",false],["visit_duration",false],["events",false]]'
    # shellcheck disable=SC2016 # jq's variables
    expect_eq "the buttons' accessible names begin with their words and the figure shown" \
        "$(jq -c --argjson names "$(shown names)" --argjson f "$(shown first .figures)" \
            "$FIRST_ROW_JQ"' [names[] as $n | $names[$n][0] | startswith(figlabel($n) + " " + $f[$n].text)] | all' <<<null)" true
    expect_eq "the figure picked stays on the chart for another range" \
        "$(shown week '[.chart_metric, .chart_title, .figures.pageviews.pressed, .chart_points]')" \
        '["pageviews","Pageviews",true,7]'
    expect_eq "7 days: the visitors' words say they are a sum of days" "$(shown week -r .users_note)" \
        "Visitors without an id are counted once a day: over several days, a sum of days"
    expect_match "7 days: the visitors' button is described by those words" \
        "$(shown week_names -r '.visitors[0]')" '^Unique visitors '
fi

if run_case visitfigures; then
    expect_eq "visit figures that are not 0: the first row writes the answer's (1.67, 42 %, 1h 02m 05s)" \
        "$(shown_first_row visitfigures)" "$(shown answers -c ".summary | $FIRST_ROW_JQ first_row")"
    expect_eq "and the bounce rate's rise in red, the others' in green" \
        "$(shown visitfigures -c '[.figures | (.views_per_visit, .bounce_rate, .visit_duration) | [.arrow, .pct, .tone]]')" \
        '[["↓","11 %","bad"],["↑","20 %","bad"],["","0 %","none"]]'
    for by in entry exit; do
        expect_eq "the $by pages: the answer's, in order, with visits and bounce rate" \
            "$(shown visitfigures ".$by") $(shown visitfigures -r ".${by}_msg")" \
            "$(shown answers -c ".${by}_page | $pages_jq") "
    done
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
    expect_eq "a site without events: the first row is /stats/summary's (zeros, no change: —)" \
        "$(shown_first_row empty)" \
        "$(api "/stats/summary?site_id=$EMPTY_SITE&from=$(shown empty -r .from)&to=$(shown empty -r .to)&compare=previous" |
            jq -c "$FIRST_ROW_JQ first_row")"
    expect_eq "a site without events: every change is —" "$(shown empty '[.figures[] | .pct] | unique')" '["—"]'
    expect_eq "a site without events: no entry or exit pages, in words" \
        "$(shown empty '[.entry_msg, .exit_msg, .entry, .exit]')" \
        '["No visits counted in this range","No visits counted in this range",[],[]]'
    expect_eq "a site without events: no current visitors" "$(shown empty .realtime)" 0
    expect_eq "a site without events: the feed says so" "$(shown feed_msg -r .)" \
        "No events for this site yet"
fi

if run_case zone; then
    ZDAY=$("$T_PYTHON" -c 'import datetime, zoneinfo; print(datetime.datetime.now(zoneinfo.ZoneInfo("Pacific/Chatham")).date())')
    ZTS=$(api "/stats/timeseries?site_id=$ZONE_SITE&date=$ZDAY&interval=hour")
    expect_eq "a site's time zone: its first load in UTC, said so, then in its zone" \
        "$(shown zone_labels -c .)" \
        "[\"$ZONE_SITE, $(date -u +%F) (UTC)\",\"$ZONE_SITE, $ZDAY (Pacific/Chatham)\"]"
    expect_eq "then its zone's today, hours and words, once /stats/realtime has named it" \
        "$(shown zone '[.label, .interval, .time_head, .from, .points, .first_hour, .loads]')" \
        "$(jq -c --arg s "$ZONE_SITE" --arg d "$ZDAY" \
            '["\($s), \($d) (Pacific/Chatham)", "by hour (Pacific/Chatham)", "Time (Pacific/Chatham)",
              $d, (.points | length), (.points[0].t | .[0:16] | sub("T"; " ")) + " " + (.points[0].t | .[19:]), 2]' <<<"$ZTS")"
    expect_eq "the API's hours for that day: 24, from local midnight (+13:45)" \
        "$(jq -c '[(.points | length), .points[0].t[10:], .timezone]' <<<"$ZTS")" '[24,"T00:00:00+13:45","Pacific/Chatham"]'
    expect_eq "after a reload: in its zone at once, one load" "$(shown zone_reload '[.label, .loads]')" \
        "[\"$ZONE_SITE, $ZDAY (Pacific/Chatham)\",1]"
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
    expect_eq "busy: /stats/summary asked 4 times (3 refused), then the other calls" \
        "$(shown calls -c '[.[] | [.path, .status]]')" \
        '[["/stats/summary",503],["/stats/summary",503],["/stats/summary",503],["/stats/summary",200],["/stats/timeseries",200],["/stats",200],["/stats/breakdown",200],["/stats/breakdown",200],["/stats/breakdown",200],["/stats/breakdown",200],["/stats/breakdown",200],["/stats/breakdown",200],["/stats/goals",200],["/events",200],["/stats/realtime",200]]'
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
    expect_eq "375 px wide: no figure of the first row cut off" "$(shown clipped)" "[]"
fi

if run_case realtime; then
    expect_eq "the current visitors of a site without events: /stats/realtime's" \
        "$(shown realtime_first '.[0] == .[1] and (.[0] | type) == "number"')" true
    expect_eq "a new visitor: one more, without a reload" \
        "$(shown realtime_grew '.[1] == .[0] + 1') $(shown realtime_same_page)" "true [true,1]"
    ms=$(shown realtime_grew '.[2]')
    check "a new visitor: counted within 11 s, the page's 5 s poll and the pipeline's time ($ms ms)" \
        [ "${ms:-99999}" -le 11000 ]
    expect_eq "said in words" "$(shown realtime_words -r .)" \
        "$(shown realtime_grew -r '"\(.[1]) current visitor" + (if .[1] == 1 then "" else "s" end)')"
    expect_eq "a second visitor: still /stats/realtime's, one more" \
        "$(shown realtime_after '.[0] == .[1]') $(shown realtime_after '.[0]')" \
        "true $(($(shown realtime_grew '.[1]') + 1))"
fi

if run_case live; then
    ms=$(shown live_ms)
    check "live feed: a new event is shown within 6 s ($ms ms)" [ "${ms:-99999}" -le 6000 ]
    expect_match "live feed: newest first" "$(shown live_first -r .)" '^/live/'
    expect_eq "pause: the button says Resume" "$(shown pause_label -r .)" Resume
    expect_eq "paused: no request for 7 s (the feed's or the current visitors')" "$(shown paused_requests)" 0
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
