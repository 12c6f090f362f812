#!/usr/bin/env bash
# it_geo.sh - the client's country (issue 24): ingest looks the client address up (as the
# rate limiter sees it, TRUST_PROXY included) in GEOIP_DB, the database deploy/setup.sh pins,
# and the stored event has its ISO 3166-1 alpha-2 code as `country`, which GET /events
# shows. A private address, loopback, and an address the database does not place give no
# country; with GEOIP_DB empty no event has one. No stored document and no log line of the
# run holds an address. GEOIP_DB naming a missing or foreign file stops ingest at start,
# exit 2, with one line naming the variable. The expected countries were read from the
# pinned file with mmdblookup (as in tests/unit/test_geo.c).
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=geo
DE=193.99.144.80
JP=202.12.27.33
IE6=2a00:1450:4001:800::2004
start_service ingest REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 LOG_LEVEL=debug
start_service ingest2 REDIS_PORT="$REDIS_PORT" TRUST_PROXY=1 LOG_LEVEL=debug GEOIP_DB=
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
start_service reporting MONGO_URI="$(mongo_uri $DB)" LOG_LEVEL=debug
NOW=$(date -u +%FT%TZ)

VISITOR=0
# post PORT XFF [PATH]: one event of site geo (or a batch of two at /events), X-Forwarded-For
# XFF ("" for none); sets HTTP_STATUS and IDS (the events' ids). Each post is a visitor of its
# own, so that its event starts a visit and is stored with its own country (a visit's later
# events are stored with their visit's, its first event's).
post() {
    local ev body
    VISITOR=$((VISITOR + 1))
    ev="{\"site_id\":\"geo\",\"event_type\":\"page_view\",\"user_id\":\"v$VISITOR\",\"timestamp\":\"$NOW\"}"
    local xff=()
    body=$ev
    [ "${3:-/event}" = /events ] && body="[$ev,$ev]"
    [ -n "$2" ] && xff=(-H "X-Forwarded-For: $2")
    HTTP_STATUS=$(curl -s -o "$T_TMP/post.body" -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' "${xff[@]}" --data-binary "$body" \
        "http://127.0.0.1:$1${3:-/event}") || HTTP_STATUS=000
    IDS=$(jq -r '.id // (.ids | join(" "))' "$T_TMP/post.body")
}
# expect_country NAME ID WANT: event ID is stored with country WANT ("null" for none), checked
# once every event is stored (expect_stored: all are posted first, then waited for once).
expect_country() {
    expect_stored "$1" "$2" .country "$3"
}

echo "# a public address: its country"
post "$INGEST_PORT" "$DE"
expect_eq "DE: 202" "$HTTP_STATUS" 202
expect_country "$DE: country DE" "$IDS" DE
ID_DE=$IDS
post "$INGEST_PORT" "10.9.8.7, $JP"
expect_country "the address the trusted proxy saw (rightmost): JP" "$IDS" JP
post "$INGEST_PORT" "$JP" /events
expect_eq "a batch: 202" "$HTTP_STATUS" 202
for id in $IDS; do expect_country "a batch's event $id: JP" "$id" JP; done
post "$INGEST_PORT" "[$IE6]:443"
expect_country "IPv6 (its /64): IE" "$IDS" IE

echo "# private, loopback and unplaced addresses: no country"
for a in 192.168.1.20 10.1.2.3 100.64.0.9 169.254.3.4 fd00:1:2:3::4 fe80::1 192.0.2.1; do
    post "$INGEST_PORT" "$a"
    expect_eq "$a: 202" "$HTTP_STATUS" 202
    expect_country "$a: no country" "$IDS" null
done
post "$INGEST_PORT" ""
expect_country "127.0.0.1 (no X-Forwarded-For): no country" "$IDS" null
post "$INGEST_PORT" "$DE, 127.0.0.1"
expect_country "X-Forwarded-For 127.0.0.1: no country" "$IDS" null
post "$INGEST_PORT" "not-an-address"
expect_country "not an address (the connection's, 127.0.0.1): no country" "$IDS" null
ID_NONE=$IDS

echo "# GEOIP_DB empty: no lookup"
post "$INGEST2_PORT" "$DE"
expect_eq "GEOIP_DB=: 202" "$HTTP_STATUS" 202
expect_country "GEOIP_DB=: no country" "$IDS" null

echo "# each event stored with its country, which GET /events shows"
check_stored $DB '{"site_id":"geo"}' ${#STORED_IDS[@]}
expect_eq "GET /events shows the country" "$(listed geo "$ID_DE" .country)" DE
expect_eq "GET /events: no country member without one" "$(listed geo "$ID_NONE" 'has("country")')" false

echo "# GEOIP_DB naming a missing or foreign file stops ingest at start"
expect_config_error ingest GEOIP_DB="$T_TMP/missing.mmdb" REDIS_PORT="$REDIS_PORT"
expect_config_error ingest GEOIP_DB="$T_ROOT/README.md" REDIS_PORT="$REDIS_PORT"

echo "# no stored document and no log line holds an address"
# Every collection the programs write, and every log of the run.
dump_collections $DB "$T_TMP/dump"
check "the collections were dumped ($(wc -l <"$T_TMP/dump") documents)" \
    grep -q '"country" : "DE"' "$T_TMP/dump"
for s in "$DE" "$JP" "$IE6" 2a00:1450:4001:800 192.168.1.20 10.1.2.3 100.64.0.9 169.254.3.4 fd00:1:2:3 10.9.8.7; do
    check "no document holds '$s'" absent "$s" "$T_TMP/dump"
    check "no log line holds '$s'" absent "$s" "$T_TMP"/*.log
done
check "the logs were searched ($(cat "$T_TMP"/*.log | wc -l) lines)" grep -q "queued" "$T_TMP/ingest.log"

for s in ingest ingest2 processor reporting; do expect_clean_stop $s; done

t_summary
