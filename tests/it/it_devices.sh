#!/usr/bin/env bash
# it_devices.sh - the client's device (issue 24): ingest parses the User-Agent with uap-core's
# rules (ingest/ua.h) into browser and major version, operating system and major version, and
# takes the device class from the event's screen_width (< 576 mobile, < 992 tablet, else
# desktop) or, without one, guesses it from the User-Agent; the stored event has them as
# browser, browser_version, os, os_version and device, which GET /events shows. A bad
# screen_width is a 400 (null is absent, as for every member). Without a User-Agent nothing of
# them is stored. No stored document and no log line of the run holds a User-Agent.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=devices
start_service ingest REDIS_PORT="$REDIS_PORT" LOG_LEVEL=debug
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
start_service reporting MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
NOW=$(date -u +%FT%TZ)
IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
IPAD='Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1'
ANDROID='Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36'
TABLET='Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Safari/537.36'
FIREFOX='Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0'
EDGE='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72'
MARKED='Mozilla/5.0 (X11; Linux x86_64; marker-51c2e) Gecko/20100101 Firefox/115.0'

VISITOR=0
# post UA WIDTH [PATH]: one event of site devices (or a batch of two at /events) with
# User-Agent UA ("" for none) and screen_width WIDTH ("" for none; as is, so "1.5" or "\"9\""
# too); sets HTTP_STATUS and IDS (the events' ids). Each post is a visitor of its own, so that
# its event starts a visit and is stored with its own device (a visit's later events are stored
# with their visit's, its first event's).
post() {
    local ev body
    VISITOR=$((VISITOR + 1))
    ev="{\"site_id\":\"devices\",\"event_type\":\"page_view\",\"user_id\":\"v$VISITOR\",\"timestamp\":\"$NOW\""
    [ -n "$2" ] && ev="$ev,\"screen_width\":$2"
    ev="$ev}"
    body=$ev
    [ "${3:-/event}" = /events ] && body="[$ev,$ev]"
    HTTP_STATUS=$(curl -s -o "$T_TMP/post.body" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' -H "User-Agent: $1" --data-binary "$body" \
        "http://127.0.0.1:$INGEST_PORT${3:-/event}") || HTTP_STATUS=000
    IDS=$(jq -r '.id // (.ids | join(" ")) // empty' "$T_TMP/post.body" 2>/dev/null)
}
# expect_device UA WIDTH WANT [PATH]: post, and every event of it is stored with WANT: its
# browser, browser_version, os, os_version and device, joined by "|" ("null" for each it has
# not), checked once every event is stored (expect_stored: all are posted first, then waited
# for once).
expect_device() {
    post "$1" "$2" "${4:-}"
    expect_eq "${1:0:40}... width '${2}': 202" "$HTTP_STATUS" 202
    for id in $IDS; do
        expect_stored "${1:0:40}... width '${2}': $3" "$id" \
            '[.browser, .browser_version, .os, .os_version, .device] | map(tostring) | join("|")' "$3"
    done
}

echo "# real User-Agents with their screen widths"
expect_device "$IPHONE" 390 "Mobile Safari|17|iOS|17|mobile"
ID_IPHONE=$IDS
expect_device "$ANDROID" 412 "Chrome Mobile|119|Android|14|mobile"
expect_device "$FIREFOX" 1920 "Firefox|120|Windows|10|desktop"
expect_device "$EDGE" 1536 "Edge|119|Windows|10|desktop"
expect_device "$IPAD" 820 "Mobile Safari|16|iOS|16|tablet"
expect_device "$EDGE" 575 "Edge|119|Windows|10|mobile"
expect_device "$EDGE" 576 "Edge|119|Windows|10|tablet"
expect_device "$EDGE" 991 "Edge|119|Windows|10|tablet"
expect_device "$IPHONE" 992 "Mobile Safari|17|iOS|17|desktop"
expect_device "$ANDROID" 412 "Chrome Mobile|119|Android|14|mobile" /events

echo "# without a screen width: the class the User-Agent suggests"
expect_device "$IPHONE" "" "Mobile Safari|17|iOS|17|mobile"
expect_device "$IPAD" "" "Mobile Safari|16|iOS|16|tablet"
expect_device "$ANDROID" "" "Chrome Mobile|119|Android|14|mobile"
expect_device "$TABLET" "" "Chrome|119|Android|13|tablet"
expect_device "$FIREFOX" "" "Firefox|120|Windows|10|desktop"
expect_device "curl/8.4.0" "" "curl|8|Other|null|null"
expect_device "" "" "null|null|null|null|null"
expect_device "" 1280 "null|null|null|null|desktop"
expect_device "$MARKED" "" "Firefox|115|Linux|null|desktop"

echo "# a bad screen_width: 400"
for w in -1 100001 1.5 '"390"' true '{}'; do
    post "$IPHONE" "$w"
    expect_eq "screen_width $w: 400" "$HTTP_STATUS" 400
    expect_match "screen_width $w: the reason" "$(cat "$T_TMP/post.body")" "screen_width"
done
post "$IPHONE" 0
expect_eq "screen_width 0: 202" "$HTTP_STATUS" 202
post "$IPHONE" null
expect_eq "screen_width null (as every member: absent): 202" "$HTTP_STATUS" 202
post "$IPHONE" 100000
expect_eq "screen_width 100000: 202" "$HTTP_STATUS" 202

echo "# each event stored with its device, which GET /events shows"
# Those of expect_device and the three accepted widths above (0, null, 100000).
check_stored $DB '{"site_id":"devices"}' $((${#STORED_IDS[@]} + 3))
expect_eq "GET /events: the iPhone's device" \
    "$(listed devices "$ID_IPHONE" '[.browser, .browser_version, .os, .os_version, .device] | join("|")')" \
    "Mobile Safari|17|iOS|17|mobile"

echo "# no stored document and no log line holds a User-Agent"
dump_collections $DB "$T_TMP/dump"
check "the collections were dumped ($(wc -l <"$T_TMP/dump") documents)" \
    grep -q '"browser" : "Mobile Safari"' "$T_TMP/dump"
for s in "$IPHONE" "$IPAD" "$ANDROID" "$TABLET" "$FIREFOX" "$EDGE" "$MARKED" marker-51c2e \
    "Gecko/20100101" "KHTML, like Gecko"; do
    check "no document holds '${s:0:40}'" absent "$s" "$T_TMP/dump"
    check "no log line holds '${s:0:40}'" absent "$s" "$T_TMP"/*.log
done
check "the logs were searched ($(cat "$T_TMP"/*.log | wc -l) lines)" grep -q "queued" "$T_TMP/ingest.log"

for s in ingest processor reporting; do expect_clean_stop $s; done

t_summary
