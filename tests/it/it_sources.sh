#!/usr/bin/env bash
# it_sources.sh - a page view's source, channel and campaign (issue 24, points 1 and 2):
# ingest names the host of properties.referrer from the pinned referrer list (Snowplow's, as
# Debian's ruby-referer-parser ships it), gives "Direct / None" to a page view without one or
# referred by its own site (the request's Origin), the host itself (medium "referral") to one
# the list does not know, a channel by the rules of docs/api.md, and the properties' utm_*
# to the stored event, which GET /events shows. A referrer's query, fragment and user info
# never reach a stored document or a log line. Other event types get no attribution; a
# campaign member that is not a string of at most 256 bytes is a 400.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=sources
TOKEN=tok3n-$RANDOM$RANDOM
start_service ingest REDIS_PORT="$REDIS_PORT" LOG_LEVEL=debug
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
start_service reporting MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
NOW=$(date -u +%FT%TZ)

VISITOR=0
# post PROPS [TYPE] [ORIGIN] [PATH]: one event of site src with properties PROPS (a JSON
# object), of type TYPE (page_view), Origin header ORIGIN (none when empty), to PATH
# (/event; /events sends a batch of two); sets HTTP_STATUS, BODY and IDS. Each post is a
# visitor of its own, so that its event starts a visit and is stored with its own attribution
# (a visit's later events are stored with their visit's, its first event's).
post() {
    VISITOR=$((VISITOR + 1))
    local ev="{\"site_id\":\"src\",\"event_type\":\"${2:-page_view}\",\"user_id\":\"v$VISITOR\",\"timestamp\":\"$NOW\",\"path\":\"/landing?$TOKEN=1#$TOKEN\",\"properties\":$1}"
    local body=$ev hdr=()
    [ "${4:-/event}" = /events ] && body="[$ev,$ev]"
    [ -n "${3:-}" ] && hdr=(-H "Origin: $3")
    HTTP_STATUS=$(curl -s -o "$T_TMP/post.body" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' "${hdr[@]}" --data-binary "$body" \
        "http://127.0.0.1:$INGEST_PORT${4:-/event}") || HTTP_STATUS=000
    BODY=$(cat "$T_TMP/post.body")
    IDS=$(jq -r '.id // (.ids // [] | join(" "))' "$T_TMP/post.body" 2>/dev/null)
}
# expect_source PROPS ORIGIN SOURCE MEDIUM CHANNEL: a page view of PROPS from ORIGIN is stored
# with that source, medium and channel, checked once every event is stored (expect_stored:
# all are posted first, then waited for once).
expect_source() {
    post "$1" page_view "$2"
    expect_eq "$1 from '$2': 202" "$HTTP_STATUS" 202
    expect_stored "$1 from '$2': source, medium, channel" "$IDS" \
        '[.source, .medium, .channel] | join("|")' "$3|$4|$5"
}

echo "# referrers of each kind"
expect_source '{}' "" "Direct / None" none Direct
expect_source '{"referrer":""}' https://shop.example "Direct / None" none Direct
expect_source '{"referrer":"https://shop.example/cart"}' https://shop.example "Direct / None" none Direct
expect_source '{"referrer":"https://www.shop.example/"}' https://shop.example:8443 "Direct / None" none Direct
expect_source '{"referrer":"https://www.google.com/"}' https://shop.example Google search "Organic Search"
expect_source '{"referrer":"https://www.google.co.uk/"}' "" Google search "Organic Search"
expect_source '{"referrer":"https://www.bing.com/search"}' "" Bing search "Organic Search"
expect_source '{"referrer":"https://t.co/"}' "" Twitter social "Organic Social"
expect_source '{"referrer":"https://m.facebook.com/"}' "" Facebook social "Organic Social"
expect_source '{"referrer":"https://mail.google.com/mail/u/0/"}' "" Gmail email Email
expect_source '{"referrer":"https://Blog.Example.ORG:8080/post"}' "" blog.example.org referral Referral
expect_source '{"referrer":"news.example.net/item"}' "" news.example.net referral Referral

echo "# campaigns: utm_* with the page view, the channel from utm_medium"
post '{"referrer":"https://www.google.com/","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring sale","utm_term":"shoes","utm_content":"ad-1"}'
expect_eq "a campaign: 202" "$HTTP_STATUS" 202
expect_stored "a campaign: stored" "$IDS" \
    '[.source, .channel, .utm_source, .utm_medium, .utm_campaign, .utm_term, .utm_content] | join("|")' \
    "Google|Paid|google|cpc|spring sale|shoes|ad-1"
ID_CAMPAIGN=$IDS
post '{"utm_source":"newsletter","utm_medium":"email","utm_campaign":"caf\u00e9"}' page_view "" /events
expect_eq "a batch: 202" "$HTTP_STATUS" 202
for id in $IDS; do
    expect_stored "a batch's event: email campaign" "$id" \
        '[.source, .channel, .utm_source, .utm_campaign, has("utm_term")] | join("|")' \
        "Direct / None|Email|newsletter|café|false"
done
post '{"utm_source":"x","referrer":"https://www.google.com/"}' click
expect_eq "a click: 202" "$HTTP_STATUS" 202
expect_stored "a click: no attribution" "$IDS" \
    '[has("source"), has("channel"), has("utm_source")] | join("|")' "false|false|false"

echo "# campaign members are checked"
post '{"utm_campaign":5}'
expect_eq "utm_campaign 5: 400" "$HTTP_STATUS" 400
expect_eq "utm_campaign 5: the reason" "$(jq -r .message <<<"$BODY")" \
    "Field 'properties.utm_campaign' must be a string of at most 256 bytes"
post "{\"utm_term\":\"$(printf 'x%.0s' {1..257})\"}" page_view "" /events
expect_eq "utm_term of 257 bytes in a batch: 400" "$HTTP_STATUS" 400
expect_eq "utm_term of 257 bytes: the reason" "$(jq -r '.errors[0].message' <<<"$BODY")" \
    "Field 'properties.utm_term' must be a string of at most 256 bytes"

echo "# a referrer's query, fragment and user info are never stored"
post "{\"referrer\":\"https://user:$TOKEN@www.bing.com/search?q=$TOKEN&x=1#$TOKEN\"}"
expect_eq "a referrer with a query: 202" "$HTTP_STATUS" 202
expect_stored "stored as scheme, host and path" "$IDS" \
    '[.properties.referrer, .source, .path] | join("|")' "https://www.bing.com/search|Bing|/landing"
post "{\"referrer\":\"https://a.example/p#$TOKEN\"}" click "" /events
expect_eq "a click's referrer with a fragment: 202" "$HTTP_STATUS" 202
for id in $IDS; do
    expect_stored "a click's referrer: stripped" "$id" .properties.referrer "https://a.example/p"
done

echo "# each event stored with its attribution, which GET /events shows"
check_stored $DB '{"site_id":"src"}' ${#STORED_IDS[@]}
expect_eq "GET /events shows them" \
    "$(listed src "$ID_CAMPAIGN" '[.source, .medium, .channel, .utm_source, .utm_medium, .utm_campaign, .utm_term, .utm_content] | join("|")')" \
    "Google|search|Paid|google|cpc|spring sale|shoes|ad-1"

echo "# no document and no log line holds the token"
dump_collections $DB "$T_TMP/dump"
check "the collections were dumped ($(wc -l <"$T_TMP/dump") documents)" \
    grep -q '"source" : "Bing"' "$T_TMP/dump"
check "no document holds the token" absent "$TOKEN" "$T_TMP/dump"
check "no log line holds the token" absent "$TOKEN" "$T_TMP"/*.log

for s in ingest processor reporting; do expect_clean_stop $s; done

t_summary
