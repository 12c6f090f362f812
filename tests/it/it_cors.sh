#!/usr/bin/env bash
# it_cors.sh - ingest as a browser's endpoint: CORS (preflights, the headers of every reply,
# 403 for an origin CORS_ORIGINS does not list), SITE_IDS, RATE_LIMIT with TRUST_PROXY on
# and off, and their configuration errors. Nothing refused is ever queued.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
EV='{"site_id":"site-a","event_type":"page_view","timestamp":"2025-11-15T10:00:00Z"}'
err() { echo "{\"status\":\"error\",\"message\":\"$1\"}"; }

# req METHOD URL BODY [CURL-ARGS...]: as lib.sh's http, with the body sent as curl's
# --data-binary (no Content-Type unless the arguments give one; an empty BODY sends none)
# and more curl arguments (headers).
req() {
    local method=$1 url=$2 body=$3 out
    shift 3
    local args=(-s -S -o "$T_TMP/req.body" -D "$T_TMP/req.headers" -w '%{http_code}'
        --max-time 30 -X "$method" -H 'Content-Type:' "$@" "$url")
    if [ -n "$body" ]; then
        printf '%s' "$body" >"$T_TMP/req.request"
        args+=(--data-binary "@$T_TMP/req.request")
    fi
    out=$(curl "${args[@]}" 2>"$T_TMP/req.err") || out="000"
    HTTP_STATUS=$out
    HTTP_BODY=$(cat "$T_TMP/req.body" 2>/dev/null)
    HTTP_HEADERS=$(tr -d '\r' <"$T_TMP/req.headers" 2>/dev/null)
}

# header NAME: the value of header NAME in the last req's reply ("" when absent; "(2)"
# appended when it came twice).
header() {
    local v n
    v=$(grep -i "^$1: " <<<"$HTTP_HEADERS" | head -n 1 | cut -d' ' -f2-)
    n=$(grep -ic "^$1: " <<<"$HTTP_HEADERS")
    if [ "$n" -gt 1 ]; then v="$v ($n)"; fi
    echo "$v"
}

# cors_headers: "ACAO|Vary" of the last reply.
cors_headers() {
    echo "$(header Access-Control-Allow-Origin)|$(header Vary)"
}

# === CORS_ORIGINS as a list, SITE_IDS =====================================================
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=qa MAX_BODY_BYTES=1024 \
    CORS_ORIGINS="https://shop.example, http://localhost:8080" SITE_IDS="site-a, site-b"
U="http://127.0.0.1:$INGEST_PORT"
SHOP=(-H 'Origin: https://shop.example')
EVIL=(-H 'Origin: https://evil.example')

# --- preflights -------------------------------------------------------------------------
for path in /event /events; do
    req OPTIONS "$U$path" '' "${SHOP[@]}" -H 'Access-Control-Request-Method: POST' \
        -H 'Access-Control-Request-Headers: content-type'
    expect_eq "preflight $path, allowed origin: 204" "$HTTP_STATUS" 204
    expect_eq "preflight $path: no body" "$HTTP_BODY" ""
    expect_eq "preflight $path: Allow-Origin echoes the origin, Vary" "$(cors_headers)" \
        "https://shop.example|Origin"
    expect_eq "preflight $path: Allow-Methods" "$(header Access-Control-Allow-Methods)" "POST, OPTIONS"
    expect_eq "preflight $path: Allow-Headers" "$(header Access-Control-Allow-Headers)" \
        "Content-Type, X-Request-Id, Idempotency-Key"
    expect_eq "preflight $path: Max-Age" "$(header Access-Control-Max-Age)" 86400
    expect_eq "preflight $path: a 204 has no Content-Length" "$(header Content-Length)" ""
done
# The list is compared in normal form (case, default port); the reply echoes the request.
req OPTIONS "$U/event" '' -H 'Origin: HTTP://LOCALHOST:8080'
expect_eq "preflight, origin in another case: 204" "$HTTP_STATUS" 204
expect_eq "preflight, origin in another case: echoed as sent" "$(cors_headers)" "HTTP://LOCALHOST:8080|Origin"
req OPTIONS "$U/event" '' -H 'Origin: https://shop.example:443'
expect_eq "preflight, origin with its default port: allowed" "$(cors_headers)" "https://shop.example:443|Origin"
req OPTIONS "$U/event" '' "${EVIL[@]}" -H 'Access-Control-Request-Method: POST'
expect_http "preflight, origin not listed" 403 "$(err 'Origin not allowed')"
expect_eq "preflight, origin not listed: no Allow-Origin, no Allow-Methods" \
    "$(cors_headers)|$(header Access-Control-Allow-Methods)" "|Origin|"
for o in 'http://shop.example' 'https://shop.example:8443' 'https://shop.example.evil.example' \
    'null' 'https://shop.example/'; do
    req OPTIONS "$U/event" '' -H "Origin: $o"
    expect_eq "preflight from $o: 403" "$HTTP_STATUS" 403
done
req OPTIONS "$U/event" ''
expect_eq "OPTIONS without Origin (not a preflight): 204 with the methods" \
    "$HTTP_STATUS|$(cors_headers)|$(header Access-Control-Allow-Methods)" "204||Origin|POST, OPTIONS"
req OPTIONS "$U/health" '' "${SHOP[@]}"
expect_eq "OPTIONS on a route without it: 405" "$HTTP_STATUS|$(header Allow)" "405|GET"

# --- every reply to an allowed origin carries Allow-Origin and Vary ----------------------
req POST "$U/event" "$EV" "${SHOP[@]}" -H 'Content-Type: application/json'
expect_eq "POST /event, allowed origin: 202" "$HTTP_STATUS" 202
expect_eq "202: Allow-Origin and Vary, once each" "$(cors_headers)" "https://shop.example|Origin"
expect_eq "202: Retry-After exposed to the page's script" "$(header Access-Control-Expose-Headers)" Retry-After
req POST "$U/event" '{"site_id":"site-a"}' "${SHOP[@]}"
expect_http "400, allowed origin" 400 "$(err 'Missing required fields: event_type, timestamp')"
expect_eq "400: Allow-Origin and Vary" "$(cors_headers)" "https://shop.example|Origin"
req POST "$U/events" "[$EV,$EV]" "${SHOP[@]}"
expect_eq "POST /events, allowed origin: 202 with two ids" "$HTTP_STATUS $(jq '.ids | length' <<<"$HTTP_BODY")" "202 2"
expect_eq "/events 202: Allow-Origin and Vary" "$(cors_headers)" "https://shop.example|Origin"
req POST "$U/events" '[{"site_id":"site-a"}]' "${SHOP[@]}"
expect_eq "/events 400, allowed origin" "$HTTP_STATUS|$(cors_headers)" "400|https://shop.example|Origin"
req POST "$U/event" "{\"pad\":\"$(head -c 2000 /dev/zero | tr '\0' a)\"}" "${SHOP[@]}"
expect_eq "413 (from the body reader), allowed origin" "$HTTP_STATUS|$(cors_headers)" "413|https://shop.example|Origin"
req GET "$U/event" '' "${SHOP[@]}"
expect_eq "405, allowed origin" "$HTTP_STATUS|$(cors_headers)" "405|https://shop.example|Origin"
req GET "$U/nowhere" '' "${SHOP[@]}"
expect_eq "404, allowed origin" "$HTTP_STATUS|$(cors_headers)" "404|https://shop.example|Origin"
req GET "$U/health" '' "${SHOP[@]}"
expect_eq "/health on the main port, allowed origin" "$HTTP_STATUS|$(cors_headers)" "200|https://shop.example|Origin"
expect_eq "queued so far: the 202s' three events" "$(redis_cli llen qa)" 3

# --- no Origin: not a CORS request, served as ever --------------------------------------
req POST "$U/event" "$EV"
expect_eq "no Origin: 202, no Allow-Origin" "$HTTP_STATUS|$(cors_headers)" "202||Origin"
expect_eq "no Origin: queued" "$(redis_cli llen qa)" 4

# --- an origin not listed: 403, nothing queued ------------------------------------------
req POST "$U/event" "$EV" "${EVIL[@]}" -H 'Content-Type: text/plain'
expect_http "POST /event, origin not listed" 403 "$(err 'Origin not allowed')"
expect_eq "403: no Allow-Origin, nothing exposed" "$(cors_headers)|$(header Access-Control-Expose-Headers)" "|Origin|"
req POST "$U/events" "[$EV,$EV,$EV]" "${EVIL[@]}"
expect_http "POST /events, origin not listed" 403 "$(err 'Origin not allowed')"
req GET "$U/health" '' "${EVIL[@]}"
expect_eq "any route of the main port, origin not listed: 403" "$HTTP_STATUS" 403
# The same connection serves the next request correctly after a 403 left the body unread.
codes=$(curl -s -o /dev/null -w '%{http_code} ' -H 'Origin: https://evil.example' \
    --data-binary "$EV" "$U/event" --next -s -o /dev/null -w '%{http_code}' \
    --data-binary "$EV" "$U/event")
expect_eq "403 then 202 on one connection" "$codes" "403 202"
expect_eq "nothing queued by the refused origins" "$(redis_cli llen qa)" 5
http GET "http://127.0.0.1:$INGEST_PROBE_PORT/health"
expect_eq "the probe port has no CORS filter" "$HTTP_STATUS" 200

# --- SITE_IDS -----------------------------------------------------------------------------
req POST "$U/event" '{"site_id":"site-z","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}' "${SHOP[@]}"
expect_http "POST /event, site not in SITE_IDS" 403 "$(err "Unknown site_id 'site-z'")"
expect_eq "site 403 to an allowed origin: Allow-Origin" "$(cors_headers)" "https://shop.example|Origin"
req POST "$U/event" '{"site_id":"SITE-A","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_http "site ids match exactly (case too)" 403 "$(err "Unknown site_id 'SITE-A'")"
batch='[{"site_id":"site-a","event_type":"e","timestamp":"2025-11-15T10:00:00Z"},
{"site_id":"site-z","event_type":"e","timestamp":"2025-11-15T10:00:00Z"},
{"site_id":"site-b","event_type":"e","timestamp":"2025-11-15T10:00:00Z"},
{"site_id":"site-y","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}]'
req POST "$U/events" "$batch"
expect_http "POST /events with sites not in SITE_IDS: the whole batch" 403 \
    '{"status":"error","message":"Unknown site_id '"'site-z'"' at index 1; none was accepted","errors":[{"index":1,"message":"Unknown site_id '"'site-z'"'"},{"index":3,"message":"Unknown site_id '"'site-y'"'"}]}'
req POST "$U/events" '[{"site_id":"site-z","event_type":"e","timestamp":"2025-11-15T10:00:00Z"},{"site_id":"site-a"}]'
expect_eq "a batch with invalid events and unknown sites: 400 first" \
    "$HTTP_STATUS $(jq -c .errors <<<"$HTTP_BODY")" \
    '400 [{"index":1,"message":"Missing required fields: event_type, timestamp"}]'
expect_eq "nothing queued by the refused sites" "$(redis_cli llen qa)" 5
req POST "$U/events" '[{"site_id":"site-b","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}]'
expect_eq "a listed site: 202" "$HTTP_STATUS" 202
expect_eq "and it is queued" "$(redis_cli llen qa)" 6

m() { metric "http://127.0.0.1:$INGEST_PROBE_PORT" "analytics_events_rejected_total{reason=\"$1\"}"; }
expect_eq "metrics: forbidden_origin counts the refused requests" "$(m forbidden_origin)" 10
expect_eq "metrics: unknown_site counts the events of refused requests" "$(m unknown_site)" 6
expect_clean_stop ingest

# === the default, CORS_ORIGINS=*: any origin ==============================================
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=qb
U="http://127.0.0.1:$INGEST_PORT"
req OPTIONS "$U/events" ''
expect_eq "*: preflight without Origin: Allow-Origin *" "$HTTP_STATUS|$(cors_headers)" "204|*|Origin"
req OPTIONS "$U/events" '' -H 'Origin: https://anyone.example:8443'
expect_eq "*: preflight echoes the Origin" "$HTTP_STATUS|$(cors_headers)" "204|https://anyone.example:8443|Origin"
req POST "$U/event" "$EV" -H 'Origin: https://anyone.example'
expect_eq "*: 202 echoes the Origin" "$HTTP_STATUS|$(cors_headers)" "202|https://anyone.example|Origin"
req POST "$U/event" "$EV" -H 'Origin: null'
expect_eq "*: Origin null (sandboxed page): Allow-Origin *" "$HTTP_STATUS|$(cors_headers)" "202|*|Origin"
req POST "$U/event" "$EV" -H 'Origin: not an origin'
expect_eq "*: a malformed Origin is not echoed" "$HTTP_STATUS|$(cors_headers)" "202|*|Origin"
req POST "$U/event" "$EV"
expect_eq "*: no Origin: no Allow-Origin" "$HTTP_STATUS|$(cors_headers)" "202||Origin"
req POST "$U/event" '{"site_id":"anything","event_type":"e","timestamp":"2025-11-15T10:00:00Z"}'
expect_eq "no SITE_IDS: any site" "$HTTP_STATUS" 202
expect_eq "all queued" "$(redis_cli llen qb)" 5
expect_clean_stop ingest

# === RATE_LIMIT ===========================================================================
# 1 event per second, bursts of 5, clients told apart by X-Forwarded-For behind one proxy
# (TRUST_PROXY=1): the last address of the list, the one the proxy appended. A bucket refills
# one token a second, so what must be refused is refused as long as the requests after the
# first arrive within a second of it; each check measures that window and, should the
# machine be slower than that, allows exactly the tokens the extra time refilled.
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=qc RATE_LIMIT=1 RATE_BURST=5 TRUST_PROXY=1
U="http://127.0.0.1:$INGEST_PORT"
ms() { date +%s%3N; }
batch() { # batch N SITE: a JSON array of N events
    local i out=""
    for ((i = 0; i < $1; i++)); do out+="${out:+,}$EV"; done
    echo "[$out]"
}
printf '%s' "$(batch 5)" >"$T_TMP/b5"
printf '%s' "$(batch 3)" >"$T_TMP/b3"
printf '%s' "$EV" >"$T_TMP/b1"
# The client 203.0.113.1 writes an X-Forwarded-For of its own, a new address each time, and
# the proxy appends the address it saw: in the same header, or in a header of its own.
A1=(-H 'X-Forwarded-For: 198.51.100.1, 203.0.113.1')
A2=(-H 'X-Forwarded-For: 198.51.100.2, 203.0.113.1')
A3=(-H 'X-Forwarded-For: 198.51.100.3' -H 'X-Forwarded-For: 203.0.113.1')
# One connection: 5 events (the burst), then 1, then 3, from the same client.
t0=$(ms)
curl -s -D "$T_TMP/h1" -o "$T_TMP/r1" -w '%{http_code} ' "${A1[@]}" --data-binary "@$T_TMP/b5" "$U/events" \
    --next -s -D "$T_TMP/h2" -o "$T_TMP/r2" -w '%{http_code} ' "${A2[@]}" -H 'Origin: https://x.example' \
    --data-binary "@$T_TMP/b1" "$U/event" \
    --next -s -D "$T_TMP/h3" -o "$T_TMP/r3" -w '%{http_code}' "${A3[@]}" --data-binary "@$T_TMP/b3" "$U/events" \
    >"$T_TMP/codes"
window=$(($(ms) - t0))
codes=$(cat "$T_TMP/codes")
retry() { tr -d '\r' <"$1" | sed -n 's/^Retry-After: //Ip'; }
if [ "$window" -lt 1000 ]; then
    expect_eq "the burst of 5 passes, then 429 for 1 event and for 3, whatever the client wrote (in $window ms)" \
        "$codes" "202 429 429"
    expect_eq "429 for 1 event: Retry-After 1" "$(retry "$T_TMP/h2")" 1
    expect_eq "429 to a page: Retry-After exposed to its script, Allow-Origin" \
        "$(tr -d '\r' <"$T_TMP/h2" | grep -iE '^Access-Control-(Expose-Headers|Allow-Origin): ' | sort | tr '\n' '|')" \
        "Access-Control-Allow-Origin: https://x.example|Access-Control-Expose-Headers: Retry-After|"
    expect_match "429 for 3 events: Retry-After 2 or 3 (tokens refill meanwhile)" "$(retry "$T_TMP/h3")" '^[23]$'
    expect_json "429: the message" "$(cat "$T_TMP/r2")" "$(err 'Rate limit exceeded (1 events per second), please retry later')"
else
    echo "# the three requests took $window ms: up to $((window / 1000)) token(s) refilled"
    expect_eq "the burst of 5 passes" "${codes%% *}" 202
    refused=$(grep -o 429 <<<"$codes" | wc -l)
    check "at most $((window / 1000)) more event(s) passed than the burst" [ $((2 - refused)) -le $((window / 1000)) ]
fi
# The events of the 202s and of the 429s, from the codes seen.
c2=$(cut -d' ' -f2 <<<"$codes")
c3=$(cut -d' ' -f3 <<<"$codes")
queued=$((5 + (c2 == 202 ? 1 : 0) + (c3 == 202 ? 3 : 0)))
rl_expected=$(((c2 == 429 ? 1 : 0) + (c3 == 429 ? 3 : 0)))
expect_eq "queued: the events answered 202" "$(redis_cli llen qc)" "$queued"
# Another client has a bucket of its own.
req POST "$U/events" "$(batch 5)" -H 'X-Forwarded-For: 203.0.113.2'
expect_eq "another address (X-Forwarded-For, TRUST_PROXY=1): its own burst" "$HTTP_STATUS" 202
req POST "$U/event" "$EV" -H 'X-Forwarded-For: [2001:db8:1:2::1]:4431' -H 'Origin: https://x.example'
expect_eq "an IPv6 client: 202 with CORS headers" "$HTTP_STATUS|$(cors_headers)" "202|https://x.example|Origin"
# A batch bigger than the burst can never fit: refused whatever the bucket holds.
req POST "$U/events" "$(batch 6)" -H 'X-Forwarded-For: 198.51.100.9' -H 'Origin: https://x.example'
expect_http "a batch bigger than the burst" 429 "$(err "Batch of 6 events exceeds the rate limit's burst of 5 events; send at most 5 per request")"
expect_eq "... without Retry-After (waiting does not help), with CORS headers" \
    "$(header Retry-After)|$(cors_headers)" "|https://x.example|Origin"

rl_expected=$((rl_expected + 6))
expect_eq "metrics: rate_limited counts the refused events" \
    "$(metric "http://127.0.0.1:$INGEST_PROBE_PORT" 'analytics_events_rejected_total{reason="rate_limited"}')" "$rl_expected"
expect_eq "nothing refused was queued" "$(redis_cli llen qc)" $((queued + 5 + 1))
expect_clean_stop ingest

# TRUST_PROXY=0 (the default): X-Forwarded-For is ignored; all of these come from 127.0.0.1.
start_service ingest REDIS_PORT="$REDIS_PORT" QUEUE_KEY=qd RATE_LIMIT=1 RATE_BURST=2
U="http://127.0.0.1:$INGEST_PORT"
t0=$(ms)
codes=$(curl -s -o /dev/null -w '%{http_code} ' -H 'X-Forwarded-For: 203.0.113.1' --data-binary "@$T_TMP/b1" "$U/event" \
    --next -s -o /dev/null -w '%{http_code} ' -H 'X-Forwarded-For: 203.0.113.2' --data-binary "@$T_TMP/b1" "$U/event" \
    --next -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.3' --data-binary "@$T_TMP/b1" "$U/event")
window=$(($(ms) - t0))
if [ "$window" -lt 1000 ]; then
    expect_eq "TRUST_PROXY=0: one bucket whatever X-Forwarded-For says (in $window ms)" "$codes" "202 202 429"
else
    echo "# the three requests took $window ms"
    expect_eq "TRUST_PROXY=0: the burst passes" "${codes% *}" "202 202"
fi
expect_clean_stop ingest

# === configuration errors (it_ingest.sh checks that each stops ingest with exit 2) ====
out=$(env CORS_ORIGINS=https://shop.example/ "$BUILD/ingest" 2>&1)
expect_match "CORS_ORIGINS: says what is wrong" "$out" \
    'CORS_ORIGINS: "https://shop.example/" is not an origin: scheme://host\[:port\], without a path or a trailing slash$'

t_summary
