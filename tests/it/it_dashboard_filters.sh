#!/usr/bin/env bash
# it_dashboard_filters.sh - the dashboard's sources, devices and countries panels and its
# filters (issue 24), in headless Chromium driven by playwright-core (tests/browser/filters.js):
# four browser contexts with real User-Agents and screens (an iPhone, an Android tablet,
# Firefox on Windows, Safari on macOS) load test pages with the tracker, landing with UTM
# campaigns, from a page of another origin, or from Google (a referrer), two of them from
# addresses the country database places (X-Forwarded-For through TRUST_PROXY=1); then the
# dashboard's panels show, tab by tab, /stats/breakdown's rows (the devices, browsers, OS,
# sources, channels and campaigns expected; the tabs by keyboard too), a click on a row
# (mobile) adds a chip and a filter to the address, and every panel's figures (the live
# feed's events and the current visitors too) become the API's for that filter; a second
# filter from another panel, a reload and the back button keep the address's filters, the
# chip's × brings back the figures without them, and the row (none) filters on (none); an
# entry page's filter leaves the feed and the current visitors the whole site's (GET /events
# and /stats/realtime cannot apply it), said so; at 375 px nothing scrolls sideways. Two
# visitors sign up (a custom event): the goals panel is /stats/goals's rows, a click on the
# goal adds its chip; the funnel typed is /stats/funnel's for the same steps and filters,
# survives a reload (the address), and a bad step shows the API's 400 in the panel. No page error, console error or Content-Security-Policy refusal.
# Screenshots go to $BUILD/screenshots/.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

need_browser
DB=dashfilters
SITE="site-filters"
SHOTS="$BUILD/screenshots"
mkdir -p "$SHOTS"
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events "$@"; }

start_redis
start_mongo
start_node pages pages
start_node other pages
PAGES="http://127.0.0.1:$PAGES_PORT"
start_service ingest REDIS_PORT="$REDIS_PORT" CORS_ORIGINS="$PAGES" TRUST_PROXY=1
I="http://127.0.0.1:$INGEST_PORT"
# Two visitors' addresses, which the pinned country database places (as in it_geo.sh): each
# a proxy in front of ingest that adds it as X-Forwarded-For.
FORWARDED_FOR=193.99.144.80 start_node de proxy "$I" 0
FORWARDED_FOR=202.12.27.33 start_node jp proxy "$I" 0
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" BATCH_WAIT_MS=100
start_service reporting MONGO_URI="$(mongo_uri $DB)"
R="http://127.0.0.1:$REPORTING_PORT"

# run_case NAME: filters.js NAME to its end (lib.sh's browser_case).
run_case() {
    PAGES="$PAGES" OTHER="http://localhost:$OTHER_PORT" INGEST="$I" REPORTING="$R" \
        INGEST_DE="http://127.0.0.1:$DE_PORT" INGEST_JP="http://127.0.0.1:$JP_PORT" \
        SITE="$SITE" SHOTS="$SHOTS" browser_case filters.js "$1"
}
# api PATH: reporting's answer to GET PATH, compact.
api() {
    curl -s "$R$1" | jq -c .
}
# rows PATH: a /stats/breakdown answer as the panels' tables hold it.
ROWS_JQ='[.values[] | [.value, .visitors, .visits, .pageviews, .bounce_rate]]'
rows() {
    api "$1" | jq -c "$ROWS_JQ"
}
# values PATH: the values of a /stats/breakdown answer, sorted.
values() {
    api "$1" | jq -c '[.values[].value] | sort'
}
enc() { jq -rn --arg v "$1" '$v | @uri'; }

if ! run_case visits; then
    t_summary
    exit 1
fi
expect_eq "the tablet's page: referred by the page of the other origin" \
    "$(shown referrer_tablet -r .)" "http://localhost:$OTHER_PORT/"
expect_eq "Firefox's page: referred by Google" "$(shown referrer_firefox -r .)" \
    "https://www.google.com/"
# Six page views, a goal (signup) of the two visitors who go on, and a scroll depth each as the page is left (or the next one viewed).
settled() { [ "$(q count "{\"site_id\":\"$SITE\",\"event_type\":\"page_view\"}")" -ge 6 ] &&
    [ "$(q count "{\"site_id\":\"$SITE\",\"event_type\":\"scroll\"}")" -ge 6 ] &&
    [ "$(q count "{\"site_id\":\"$SITE\",\"event_type\":\"signup\"}")" -ge 2 ] &&
    queue_settled events; }
check "the four visitors' events are stored" wait_until 30 settled

DAY=$(date -u +%F)
SPAN="site_id=$SITE&from=$DAY&to=$DAY"
# The figures expected of the four visitors (their stored visits: each visit's first page
# view's attribution and device).
expect_eq "devices: a phone, a tablet, two desktops" "$(values "/stats/breakdown?$SPAN&by=device")" \
    '["desktop","mobile","tablet"]'
expect_eq "browsers" "$(values "/stats/breakdown?$SPAN&by=browser")" \
    '["Chrome","Firefox","Mobile Safari","Safari"]'
expect_eq "operating systems" "$(values "/stats/breakdown?$SPAN&by=os")" \
    '["Android","Mac OS X","Windows","iOS"]'
expect_eq "channels" "$(values "/stats/breakdown?$SPAN&by=channel")" \
    '["Email","Organic Search","Paid","Referral"]'
expect_eq "campaigns" "$(values "/stats/breakdown?$SPAN&by=utm_campaign")" \
    '["(none)","brand","spring"]'
expect_eq "countries" "$(values "/stats/breakdown?$SPAN&by=country")" '["(none)","DE","JP"]'

if run_case dashboard; then
    # Unfiltered: each tab of each panel is /stats/breakdown's rows, in order.
    for by in source channel utm_campaign utm_source utm_medium device browser os; do
        expect_eq "the $by tab: /stats/breakdown?by=$by's rows, in order" \
            "$(shown tabs ".$by")" "$(rows "/stats/breakdown?$SPAN&by=$by&limit=10")"
    done
    expect_eq "the keyboard: the right arrow picks the next tab and focuses it, the one picked alone in the Tab order" \
        "$(shown keyboard)" '["browser",[-1,0,-1]]'
    expect_eq "the countries panel: /stats/breakdown?by=country's rows" \
        "$(shown start .tables.countries)" "$(rows "/stats/breakdown?$SPAN&by=country&limit=10")"
    expect_eq "the countries: each named, with its code" \
        "$(shown start -r '.country_words | sort | join(",")')" "(none),Germany (DE),Japan (JP)"
    expect_eq "the first row: /stats/summary's visitors and pageviews" \
        "$(shown start '[.figures.visitors, .figures.pageviews]')" \
        "$(api "/stats/summary?$SPAN" | jq -c '[.visitors, .pageviews]')"
    expect_eq "no filter: no chip, none in the address" "$(shown start '[.chips, .address]')" '[[],[]]'
    expect_match "the country data's credit (CC BY 4.0, the NRO)" "$(shown start -r .credit)" \
        'country data is provided by the NRO .*Creative Commons Attribution 4.0 International License'

    # The goals panel: /stats/goals's rows; the funnel: /stats/funnel's for the steps picked,
    # with the range's top pages and goals offered.
    GOALS_JQ='[.goals[] | [.goal, .visitors, .events, .conversion_rate]]'
    FUNNEL_JQ='[.steps[] | [.step, .visitors, .conversion_rate, .dropoff]]'
    STEPS="steps=$(enc path:/page/home,event:signup)"
    expect_eq "the goals panel: /stats/goals's rows (goal, visitors, events, conversion rate)" \
        "$(shown start .tables.goals)" "$(api "/stats/goals?$SPAN&limit=10" | jq -c "$GOALS_JQ")"
    expect_eq "the goals: signup, by the phone and Firefox" "$(shown start '[.tables.goals[] | .[0:3]]')" \
        '[["signup",2,2]]'
    expect_eq "no funnel before steps are picked: none asked for, none in the address; two empty rows" \
        "$(shown start '[.tables.funnel, .funnel_address, .funnel_rows]')" \
        '[[],null,[["path","",false],["event","",false]]]'
    expect_eq "the steps offered: the top pages table's paths and the goals panel's goals" \
        "$(shown funnel_empty -c '.offered')" \
        "$(shown funnel_empty -c '{pages: [.tables.paths[][0]], goals: [.tables.goals[][0]]}')"
    expect_eq "the pages offered: the three pages visited" "$(shown funnel_empty -c '.offered.pages | sort')" \
        '["/page/docs","/page/home","/page/pricing"]'
    expect_eq "one step alone: said in the panel, nothing asked for, not in the address" \
        "$(shown funnel_one '[.funnel_msg, .tables.funnel, .funnel_address]')" \
        '["A funnel needs 2 to 8 steps: pick one more",[],null]'
    expect_eq "a third step added: three rows, each removable" "$(shown funnel_three_rows -c .)" \
        '[["path","/page/home",true],["event"," signup ",true],["path","/page/docs",true]]'
    expect_eq "the funnel: /stats/funnel's steps (visitors, of step 1, drop-off)" \
        "$(shown funnel .tables.funnel)" "$(api "/stats/funnel?$SPAN&$STEPS" | jq -c "$FUNNEL_JQ")"
    expect_eq "the funnel: three visitors on /page/home, one of them signed up; in the address" \
        "$(shown funnel '[[.tables.funnel[][1]], .funnel_address, .funnel_msg]')" \
        '[[3,1],"path:/page/home,event:signup",""]'
    FG="filter=$(enc event_type:is:signup)"
    expect_eq "a click on a goal: the filter event_type is signup, a chip" \
        "$(shown goal '[.chips, .address]')" '[[["event_type:is:signup","Event type is signup"]],["event_type:is:signup"]]'
    expect_eq "a goal's filter: the first row, the goals and the funnel are the API's for it" \
        "$(shown goal '[.figures.visitors, .figures.events, .tables.goals, .tables.funnel]')" \
        "$(jq -nc --argjson s "$(api "/stats/summary?$SPAN&$FG")" \
            --argjson g "$(api "/stats/goals?$SPAN&limit=10&$FG" | jq -c "$GOALS_JQ")" \
            --argjson f "$(api "/stats/funnel?$SPAN&$STEPS&$FG" | jq -c "$FUNNEL_JQ")" \
            '[$s.visitors, $s.events, $g, $f]')"

    # A click on the mobile row: the chip, the address, and every panel the API's for it.
    F="filter=$(enc device:is:mobile)"
    expect_eq "mobile: a chip, and the filter in the address" "$(shown mobile '[.chips, .address]')" \
        '[[["device:is:mobile","Device is mobile"]],["device:is:mobile"]]'
    expect_eq "mobile: the first row is /stats/summary's for device is mobile" \
        "$(shown mobile -c '.figures | [.visitors, .visits, .pageviews, .bounce_rate, .events]')" \
        "$(api "/stats/summary?$SPAN&$F" | jq -c '[.visitors, .visits, .pageviews, .bounce_rate, .events]')"
    expect_eq "mobile: one visitor (the phone), not the four" \
        "$(shown mobile .figures.visitors) $(shown start .figures.visitors)" "1 4"
    for by in source channel utm_campaign utm_source utm_medium device browser os; do
        expect_eq "mobile: the $by tab is /stats/breakdown?by=$by's for device is mobile" \
            "$(shown mobile_tabs ".$by")" "$(rows "/stats/breakdown?$SPAN&by=$by&limit=10&$F")"
    done
    expect_eq "mobile: the countries are the API's for device is mobile" \
        "$(shown mobile .tables.countries)" "$(rows "/stats/breakdown?$SPAN&by=country&limit=10&$F")"
    expect_eq "mobile: the top paths are /stats/breakdown?by=path's for device is mobile" \
        "$(shown mobile .tables.paths)" \
        "$(api "/stats/breakdown?$SPAN&by=path&limit=10&$F" | jq -c '[.values[] | [.value, .views]]')"
    expect_eq "mobile: the entry pages are the API's for device is mobile" \
        "$(shown mobile '[.tables.entry[] | .[0:2]]')" \
        "$(api "/stats/breakdown?$SPAN&by=entry_page&limit=10&$F" | jq -c '[.values[] | [.value, .visits]]')"
    # shellcheck disable=SC2016 # jq's variable
    expect_eq "mobile: the live feed is /events's for device is mobile, and says it is filtered" \
        "$(shown mobile '[.feed, .feed_words]')" \
        "$(api "/events?site_id=$SITE&limit=20&properties=false&$F" |
            jq -c '[[.events[].id], ", filtered"]')"
    expect_eq "mobile: the current visitors are /stats/realtime's for device is mobile (one)" \
        "$(shown mobile .realtime)" \
        "$(api "/stats/realtime?site_id=$SITE&$F" | jq -c '[.visitors, "device:is:mobile"]')"
    expect_eq "no filter: the current visitors are the site's four" "$(shown start .realtime)" '[4,""]'
    expect_eq "mobile: the feed holds the phone's 6 events, not the site's 16" \
        "$(shown mobile '.feed | length') $(shown start '.feed | length')" "6 16"
    expect_eq "mobile: the goals and the funnel are the API's for device is mobile" \
        "$(shown mobile '[.tables.goals, .tables.funnel]')" \
        "$(jq -nc --argjson g "$(api "/stats/goals?$SPAN&limit=10&$F" | jq -c "$GOALS_JQ")" \
            --argjson f "$(api "/stats/funnel?$SPAN&$STEPS&$F" | jq -c "$FUNNEL_JQ")" '[$g, $f]')"
    expect_eq "mobile: the phone's campaign only" "$(shown mobile_tabs -c '[.utm_campaign[][0]]')" \
        '["spring"]'

    # A second filter from the sources panel: both chips, both in every call.
    two=$(shown two -r '.address[1]')
    expect_match "a second filter: from the sources panel's first row" "$two" '^source:is:'
    F2="$F&filter=$(enc "$two")"
    expect_eq "two filters: two chips, in the address" "$(shown two '[(.chips | length), (.address | length)]')" \
        '[2,2]'
    expect_eq "two filters: the first row is /stats/summary's for both" \
        "$(shown two -c '.figures | [.visitors, .pageviews]')" \
        "$(api "/stats/summary?$SPAN&$F2" | jq -c '[.visitors, .pageviews]')"
    expect_eq "a reload: the same filters and figures, and the funnel's steps" \
        "$(shown reloaded '[.address, .figures, .funnel_address, .tables.funnel]')" \
        "$(shown two '[.address, .figures, .funnel_address, .tables.funnel]')"
    expect_eq "a reload: the funnel's steps in their rows and asked for again" \
        "$(shown reloaded '[.funnel_steps, (.tables.funnel | length), .funnel_rows]')" \
        '["path:/page/home,event:signup",2,[["path","/page/home",false],["event","signup",false]]]'
    expect_eq "the back button: the filter before (mobile only) and its figures" \
        "$(shown back '[.address, .figures, .tables.devices]')" \
        "$(shown mobile '[.address, .figures, .tables.devices]')"
    FN="filter=$(enc device:is_not:mobile)"
    expect_eq "the chip's operator: device is not mobile, in the chip and the address" \
        "$(shown not_mobile '[.chips, .address]')" \
        '[[["device:is_not:mobile","Device is not mobile"]],["device:is_not:mobile"]]'
    expect_eq "is not mobile: the first row and the devices are the API's for it" \
        "$(shown not_mobile '[.figures.visitors, .figures.pageviews, .tables.devices]')" \
        "$(jq -nc --argjson s "$(api "/stats/summary?$SPAN&$FN")" \
            --argjson d "$(rows "/stats/breakdown?$SPAN&by=device&limit=10&$FN")" '[$s.visitors, $s.pageviews, $d]')"
    expect_eq "is not mobile: three visitors (all but the phone), no mobile row" \
        "$(shown not_mobile '[.figures.visitors, ([.tables.devices[][0]] | index("mobile"))]')" '[3,null]'
    expect_eq "the operator again: device is mobile, as the click on the row gave" \
        "$(shown mobile_again '[.chips, .address, .figures, .tables.devices]')" \
        "$(shown mobile '[.chips, .address, .figures, .tables.devices]')"
    expect_eq "the chip's ×: no filter, and the figures (and the feed) without it" \
        "$(shown removed '[.chips, .address, .figures, .tables.devices, .tables.sources, .feed, .feed_words]')" \
        "$(shown start '[.chips, .address, .figures, .tables.devices, .tables.sources, .feed, .feed_words]')"
    F="filter=$(enc 'country:is:(none)')"
    expect_eq "the row (none): the filter country is (none)" "$(shown none '[.chips, .address]')" \
        '[[["country:is:(none)","Country is (none)"]],["country:is:(none)"]]'
    expect_eq "the row (none): the first row and the devices are the API's for it (Safari's visit)" \
        "$(shown none '[.figures.visitors, .figures.pageviews, .tables.devices]')" \
        "$(jq -nc --argjson s "$(api "/stats/summary?$SPAN&$F")" \
            --argjson d "$(rows "/stats/breakdown?$SPAN&by=device&limit=10&$F")" '[$s.visitors, $s.pageviews, $d]')"
    expect_eq "the row (none): one visitor, on a desktop" "$(shown none '[.figures.visitors, .tables.devices[][0]]')" \
        '[1,"desktop"]'
    expect_eq "an entry page's row too: two chips; the feed and the current visitors the whole site's (GET /events and /stats/realtime cannot filter on it), said so" \
        "$(shown entry '[(.chips | length), (.feed | length), .feed_words, .realtime]')" \
        "[2,16,\": the whole site's (they cannot be filtered on entry or exit pages)\",[4,\"\"]]"
    expect_eq "375 px wide, filtered: no sideways scroll" "$(shown phone_widths '.[0] <= .[1]')" true
    LONG="/$(printf 'x%.0s' $(seq 300))"
    expect_eq "a step longer than the API takes: its 400 message in the funnel panel, no rows, no alert" \
        "$(shown bad_step '[.funnel_msg, .tables.funnel, .funnel_address]'; shown funnel_400; grep -c '^dialog ' "$CASE_LOG")" \
        "$(jq -nc --arg m "$(api "/stats/funnel?$SPAN&steps=$(enc "path:/page/home,path:$LONG")" | jq -r .message)" \
            --arg s "path:/page/home,path:$LONG" '[$m, [], $s]'; printf 'true\n0')"
fi

expect_clean_stop reporting
expect_clean_stop processor
expect_clean_stop ingest
t_summary
