#!/usr/bin/env bash
# it_browser.sh - the tracker in a real browser: headless Chromium (Debian's), driven by
# playwright-core (deploy/setup.sh puts both in place), opens pages served from another
# origin (tests/browser/server.js) that load /tracker.js from ingest with the one-line
# snippet; each case (tests/browser/cases.js) then checks exactly what MongoDB stored.
# it: long (run_it.sh: it starts before the others)
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

need_browser
DB=browser
q() { "$BUILD/tests/mongoq" "$(mongo_uri $DB)" events "$@"; }
count() { q count "{\"site_id\":\"$1\"}"; }
stored_at_least() { [ "$(count "$1")" -ge "$2" ]; }

start_redis
start_mongo
start_node pages pages
PAGES="http://127.0.0.1:$PAGES_PORT"
start_service ingest REDIS_PORT="$REDIS_PORT" CORS_ORIGINS="$PAGES"
start_service ingest2 REDIS_PORT="$REDIS_PORT" CORS_ORIGINS="http://127.0.0.1:1"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)"
start_service reporting MONGO_URI="$(mongo_uri $DB)"
I="http://127.0.0.1:$INGEST_PORT"
start_node proxy proxy "$I" 1
start_node proxy429 proxy "$I" 1 429 3
start_node proxy5xx proxy "$I" 3 502,504,408

# run_case NAME: run cases.js NAME until its page is closed ("done"); CASE_PID is its
# process (its browser stays open until end_case, so that beacons still go out).
run_case() {
    local log="$T_TMP/case-$1.log"
    PAGES=$PAGES INGEST=$I REFUSING="http://127.0.0.1:$INGEST2_PORT" \
        PROXY="http://127.0.0.1:$PROXY_PORT" PROXY429="http://127.0.0.1:$PROXY429_PORT" \
        PROXY5XX="http://127.0.0.1:$PROXY5XX_PORT" node "$T_ROOT/tests/browser/cases.js" "$1" >"$log" 2>&1 &
    CASE_PID=$!
    CASE_LOG=$log
    T_PIDS+=("$CASE_PID")
    # shellcheck disable=SC2317 # called through wait_until
    finished() { grep -qx "done" "$CASE_LOG" || ! ours "$CASE_PID"; }
    wait_until 60 finished
    if ! grep -qx "done" "$log"; then
        fail "browser case $1 ran" "$(tail -n 20 "$log")"
        return 1
    fi
    expect_eq "case $1: no exception on the page" "$(grep '^pageerror ' "$log")" ""
}
# case_info KEY: a value the last case printed.
case_info() {
    sed -n "s/^info $1 //p" "$CASE_LOG"
}
# end_case: close the browser, then wait until the queue is drained, so that whatever it
# sent is in MongoDB.
end_case() {
    stop_pid "$CASE_PID" 20
    wait_until 30 queue_settled events
}
# expect_events SITE EXPECTED: the site's documents, as [event_type, path, properties],
# are exactly EXPECTED (one JSON array per line, in any order).
expect_events() {
    local actual expected
    actual=$(q find "{\"site_id\":\"$1\"}" | jq -cS '[.event_type, .path, .properties]' | sort)
    expected=$(jq -cS . <<<"$2" | sort)
    if [ "$actual" = "$expected" ]; then
        pass "$1: the stored events are exactly those expected"
    else
        fail "$1: the stored events are exactly those expected" "expected:" "$expected" \
            "actual:" "$actual"
    fi
}
# expect_ids SITE: every document's _id is "<site>:<event_id>" with the tracker's id form.
expect_ids() {
    local bad
    bad=$(q find "{\"site_id\":\"$1\"}" | jq -r '._id' | grep -cvE "^$1:[a-z0-9]{4,28}\$")
    expect_eq "$1: every _id is the site and the tracker's event_id" "$bad" 0
}
# expect_times SITE FROM TO: every timestamp falls within [FROM, TO] (epoch seconds).
expect_times() {
    local outside
    outside=$(q find "{\"site_id\":\"$1\"}" |
        jq -r '.timestamp."$date" | sub("\\.[0-9]+"; "") | fromdateiso8601' |
        awk -v a="$2" -v b="$3" '$1 < a || $1 > b' | wc -l)
    expect_eq "$1: every timestamp is the time it was sent (to the second)" "$outside" 0
}

# -- a page view on load, a click, form use, a custom event, scrolling and a pushState ---
from=$(date -u +%s)
if run_case collect; then
    check "site-abc-123: the events arrive" wait_until 30 stored_at_least site-abc-123 10
    end_case
    to=$(date -u +%s)
    url=$(case_info url)
    expect_eq "site-abc-123: stored once each" "$(count site-abc-123)" 10
    expect_events site-abc-123 '
        ["page_view", "/page/home", {"referrer": "", "utm_source": "news", "utm_medium": "email",
                                     "utm_campaign": "spring"}]
        ["click", "/page/home", {"tag": "button", "id": "signup", "analytics": "signup",
                                 "text": "Sign up now"}]
        ["click", "/page/home", {"tag": "input", "id": "agree"}]
        ["click", "/page/home", {"tag": "div", "id": "note"}]
        ["form", "/page/home", {"action": "change", "name": "agree", "type": "checkbox"}]
        ["form", "/page/home", {"action": "blur", "name": "email", "type": "email"}]
        ["signup_completed", "/page/home", {"plan": "pro", "seats": 3}]
        ["scroll", "/page/home", {"depth": 100}]
        ["page_view", "/page/pricing", {"referrer": "'"${url%%\?*}"'"}]
        ["scroll", "/page/pricing", {"depth": 100}]'
    expect_eq "nothing kept in localStorage or sessionStorage" "$(case_info kept)" 0
    # One visit: every event is stored with its first page view's attribution, the later page
    # view (its own referrer the site, no campaign) and the clicks too.
    expect_eq "site-abc-123: every event's source, channel and campaign are its visit's" \
        "$(q find '{"site_id":"site-abc-123"}' |
            jq -r '[.source, .channel, .utm_source // "-", .utm_campaign // "-"] | join("|")' | sort -u)" \
        "Direct / None|Email|news|spring"
    # The device: Chromium's browser and OS from its User-Agent, the class from the screen's
    # width (800: a tablet's), not the window's (1000) nor the User-Agent's (Linux: desktop).
    expect_match "site-abc-123: every event carries the browser's device, its class by screen_width" \
        "$(q find '{"site_id":"site-abc-123"}' | jq -r '[.browser, .os, .device] | join("|")' |
            sort -u)" '^(Headless)?Chrome\|Linux\|tablet$'
    expect_match "site-abc-123: every event carries one visitor, derived by ingest" \
        "$(q find '{"site_id":"site-abc-123"}' | jq -r '.user_id + " " + .visitor_source' |
            sort -u)" '^[0-9a-f]{32} hash$'
    expect_eq "what was typed, or is editable, is stored nowhere" \
        "$(q find '{}' | grep -c -e secret-typed-value -e 'private note')" 0
    expect_ids site-abc-123
    expect_times site-abc-123 "$from" "$to"
    day=$(date -u +%F)
    http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=site-abc-123&date=$day"
    expect_http "/stats for the site" 200 '{"site_id":"site-abc-123","date":"'"$day"'",
        "total_views":10,"unique_users":1,"top_paths":[{"path":"/page/home","views":8},
        {"path":"/page/pricing","views":2}]}'
    http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=site-abc-123&date=$day&event_type=page_view"
    expect_http "/stats for the site's page views" 200 '{"site_id":"site-abc-123",
        "date":"'"$day"'","event_type":"page_view","total_views":2,"unique_users":1,"top_paths":[
        {"path":"/page/home","views":1},{"path":"/page/pricing","views":1}]}'
fi

# -- data-capture="form, mousemove": one move a second at most, as shares of the window ----
if run_case mousemove; then
    check "site-mouse: the events arrive" wait_until 30 stored_at_least site-mouse 4
    end_case
    expect_events site-mouse '
        ["page_view", "/page/move", {"referrer": ""}]
        ["mousemove", "/page/move", {"x": 0.25, "y": 0.25}]
        ["mousemove", "/page/move", {"x": 0.5, "y": 0.75}]
        ["scroll", "/page/move", {"depth": 100}]'
fi

# -- what is still queued when the page closes leaves by beacon ---------------------------
if run_case beacon; then
    check "site-beacon: the events arrive" wait_until 30 stored_at_least site-beacon 5
    end_case
    echo "# batches sent before the page closed: $(case_info batches_before_close)"
    expect_events site-beacon '
        ["page_view", "/page/beacon", {"referrer": ""}]
        ["last_one", "/page/beacon", {}]
        ["last_two", "/page/beacon", {}]
        ["last_three", "/page/beacon", {}]
        ["scroll", "/page/beacon", {"depth": 100}]'
    expect_ids site-beacon
fi

# -- a batch too large for keepalive (over 64 KiB) is sent all the same ---------------------
if run_case large; then
    check "site-large: the events arrive" wait_until 30 stored_at_least site-large 3
    end_case
    expect_events site-large '
        ["page_view", "/page/large", {"referrer": ""}]
        ["large", "/page/large", {"blob": "'"$(printf 'x%.0s' $(seq 70000))"'"}]
        ["scroll", "/page/large", {"depth": 100}]'
fi

# -- a batch answered 503 is sent again, with the same event ids, and stored once ---------
if run_case retry; then
    check "site-retry: the events arrive" wait_until 30 stored_at_least site-retry 3
    end_case
    expect_eq "the browser saw 503, then 202" "$(case_info statuses)" "503,202"
    failed_ids=$(sed -n 's/^POST \/events 503 //p' "$T_TMP/proxy.log")
    retried_ids=$(sed -n 's/^POST \/events 202 //p' "$T_TMP/proxy.log" | head -n 1)
    expect_match "the failed batch held the page view and the custom event" "$failed_ids" \
        '^[a-z0-9]+,[a-z0-9]+$'
    expect_eq "the retry sent the same event ids" "$retried_ids" "$failed_ids"
    expect_events site-retry '
        ["page_view", "/page/retry", {"referrer": ""}]
        ["retry_me", "/page/retry", {}]
        ["scroll", "/page/retry", {"depth": 100}]'
    expect_eq "site-retry: those ids are the stored _ids" \
        "$(q find '{"site_id":"site-retry"}' | jq -r ._id | grep -cFx \
            -e "site-retry:${failed_ids%,*}" -e "site-retry:${failed_ids#*,}")" 2
fi

# -- a 429's Retry-After is waited before the batch is sent again --------------------------
if run_case ratelimited; then
    check "site-limited: the events arrive" wait_until 30 stored_at_least site-limited 2
    end_case
    gap=$(case_info retry_after_ms)
    check "the retry came after Retry-After's 3 s, not the first backoff's 1 s ($gap ms)" \
        [ "${gap:-0}" -ge 3000 ]
    expect_events site-limited '
        ["page_view", "/page/limited", {"referrer": ""}]
        ["scroll", "/page/limited", {"depth": 100}]'
    expect_eq "site-limited: the 429, then one 202" \
        "$(sed -n 's/^POST \/events \([0-9]*\) .*/\1/p' "$T_TMP/proxy429.log" | head -n 2 | tr '\n' ' ')" "429 202 "
fi

# -- a proxy's 502, 504 and 408: the batch is sent again each time, and stored once ------
if run_case proxyerrors; then
    check "site-proxied: the events arrive" wait_until 30 stored_at_least site-proxied 3
    end_case
    expect_eq "the browser saw 502, 504, 408, then 202" "$(case_info statuses)" "502,504,408,202"
    sed -n 's/^POST \/events \([0-9]*\) \(.*\)/\1 \2/p' "$T_TMP/proxy5xx.log" >"$T_TMP/proxied"
    expect_eq "each refused batch was sent again with the same event ids" \
        "$(head -n 4 "$T_TMP/proxied" | cut -d' ' -f2 | sort -u | wc -l)" 1
    ids=$(cut -d' ' -f2 "$T_TMP/proxied" | tr ',' '\n' | sort -u)
    once=0
    for id in $ids; do
        [ "$(q count "{\"_id\":\"site-proxied:$id\"}")" = 1 ] && once=$((once + 1))
    done
    expect_eq "every event id the proxy saw is stored exactly once" "$once $(count site-proxied)" \
        "$(wc -w <<<"$ids") $(wc -w <<<"$ids")"
    expect_events site-proxied '
        ["page_view", "/page/proxied", {"referrer": ""}]
        ["through_proxy", "/page/proxied", {}]
        ["scroll", "/page/proxied", {"depth": 100}]'
    http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=site-proxied&date=$(date -u +%F)"
    expect_eq "site-proxied: counted once each in /stats" "$(jq .total_views <<<"$HTTP_BODY")" 3
fi

# -- what is chosen or typed, and URLs' queries and fragments, are stored nowhere ---------
# every_document: every document of every collection the programs write (each named by a
# *_COLLECTION constant in common/: the test server has no listCollections), as JSON lines.
every_document() {
    local c
    grep -ho '_COLLECTION "[a-z_]*"' "$T_ROOT"/common/*.h | cut -d'"' -f2 | while read -r c; do
        "$BUILD/tests/mongoq" "$(mongo_uri $DB)" "$c" find '{}'
    done
}
if run_case private; then
    check "site-private: the events arrive" wait_until 30 stored_at_least site-private 13
    end_case
    expect_eq "the options were chosen" "$(case_info chosen)" \
        "secret-card-amex-0005,secret-choice-insurance"
    expect_eq "the note was typed" "$(case_info typed)" "secret-typed-note"
    origin=$(case_info origin)
    expect_events site-private '
        ["page_view", "/page/from", {"referrer": ""}]
        ["scroll", "/page/from", {"depth": 100}]
        ["page_view", "/page/private", {"referrer": "'"$origin"'/page/from"}]
        ["click", "/page/private", {"tag": "select", "id": "card"}]
        ["click", "/page/private", {"tag": "div", "id": "pay", "analytics": "payment"}]
        ["click", "/page/private", {"tag": "div", "id": "pay", "analytics": "payment"}]
        ["click", "/page/private", {"tag": "div", "id": "notes", "analytics": "notes"}]
        ["click", "/page/private", {"tag": "div", "id": "notes", "analytics": "notes"}]
        ["click", "/page/private", {"tag": "div", "id": "notes", "analytics": "notes"}]
        ["click", "/page/private", {"tag": "button", "id": "widget"}]
        ["scroll", "/page/private", {"depth": 100}]
        ["page_view", "/page/private-next", {"referrer": "'"$origin"'/page/private"}]
        ["scroll", "/page/private-next", {"depth": 100}]'
    expect_eq "site-private: a page view referred by its own site is Direct / None (Origin)" \
        "$(q find '{"site_id":"site-private","event_type":"page_view"}' | jq -r .source | sort -u)" \
        "Direct / None"
    every_document >"$T_TMP/everything"
    check "the collections searched hold the site's events" grep -q '"_id" : "site-private:' "$T_TMP/everything"
    check "and the rollups" grep -q '"views" : ' "$T_TMP/everything"
    expect_eq "nothing chosen, typed or in a query or fragment is stored, in any collection" \
        "$(grep -o 'secret-[a-z0-9-]*' "$T_TMP/everything" | sort -u)" ""
fi

# -- CORS_ORIGINS without the page's origin: refused, nothing stored ----------------------
refused() {
    [ "$(metric "http://127.0.0.1:$INGEST2_PORT" \
        'analytics_http_requests_total{route="/events",status="403"}')" -ge 1 ]
}
if run_case refused; then
    check "ingest (CORS_ORIGINS without the page) refused the page's batch with 403" \
        wait_until 30 refused
    end_case
    expect_eq "site-cors: nothing stored" "$(count site-cors)" 0
fi

# -- cookieless by default: three visitors, nothing kept on their devices ---------------
if run_case cookieless; then
    check "site-cookieless: the events arrive" wait_until 30 stored_at_least site-cookieless 6
    check "site-stored: the events arrive" wait_until 30 stored_at_least site-stored 2
    end_case
    for k in 1 2 3; do
        expect_eq "visitor $k: nothing of ours in localStorage, sessionStorage or cookies" \
            "$(case_info "kept_$k")" '{"local":0,"session":0,"cookie":"","cookies":0}'
    done
    expect_eq "site-cookieless: three visitors, each derived by ingest" \
        "$(q find '{"site_id":"site-cookieless"}' | jq -r '.user_id + " " + .visitor_source' |
            sort -u | grep -cE '^[0-9a-f]{32} hash$')" 3
    day=$(date -u +%F)
    http GET "http://127.0.0.1:$REPORTING_PORT/stats?site_id=site-cookieless&date=$day"
    expect_eq "/stats counts three visitors" "$(jq .unique_users <<<"$HTTP_BODY")" 3
    stored=$(case_info stored_1)
    expect_match "data-storage=local: an anonymous id kept in localStorage" "$stored" \
        '^[a-z0-9]{4,28}$'
    expect_eq "data-storage=local: a new context with that storage keeps it" \
        "$(case_info stored_2)" "$stored"
    expect_eq "site-stored: every event carries it, as the device's" \
        "$(q find '{"site_id":"site-stored"}' | jq -r '.user_id + " " + .visitor_source' |
            sort -u)" "$stored device"
fi

# -- a visitor's clock a day ahead: the stored times are the real ones --------------------
from=$(date -u +%s)
if run_case skew; then
    check "site-skew: the events arrive" wait_until 30 stored_at_least site-skew 3
    end_case
    to=$(date -u +%s)
    expect_eq "the page's clock was a day ahead" "$(case_info page_clock | cut -c1-10)" \
        "$(date -u -d '+1 day' +%F)"
    expect_eq "site-skew: stored once each" "$(count site-skew)" 3
    expect_times site-skew "$from" "$to"
fi

# -- data-respect-dnt with Do Not Track or Global Privacy Control: nothing is sent --------
if run_case dnt; then
    check "site-dnt-control: the page without data-respect-dnt sends" \
        wait_until 30 stored_at_least site-dnt-control 3
    end_case
    expect_eq "Do Not Track: no batch left the page" "$(case_info batches_site-dnt)" 0
    expect_eq "Global Privacy Control: no batch left the page" "$(case_info batches_site-gpc)" 0
    expect_eq "site-dnt: nothing stored" "$(count site-dnt)" 0
    expect_eq "site-gpc: nothing stored" "$(count site-gpc)" 0
fi

expect_clean_stop processor
expect_clean_stop reporting
expect_clean_stop ingest
expect_clean_stop ingest2
t_summary
