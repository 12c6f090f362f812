#!/usr/bin/env bash
# it_tracker.sh - GET/HEAD /tracker.js on ingest: the script as built, its size, its headers,
# its ETag (the served bytes' sha256) and 304 on If-None-Match. The browser tests that run it
# are in it_browser.sh.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_service ingest REDIS_PORT="$REDIS_PORT"
I="http://127.0.0.1:$INGEST_PORT"

# get [CURL-ARGS...]: GET /tracker.js; sets STATUS, the headers in $T_TMP/h, the body in $T_TMP/b.
get() {
    rm -f "$T_TMP/b" "$T_TMP/h"
    STATUS=$(curl -s -o "$T_TMP/b" -D "$T_TMP/h" -w '%{http_code}' "$@" "$I/tracker.js")
    touch "$T_TMP/b"
}
# wire METHOD [HEADER-LINE]: the request as is over a socket (curl would not show what a
# HEAD or a 304 sends after the head); sets STATUS, the headers in $T_TMP/h and what
# came after them, up to the close, in $T_TMP/b.
wire() {
    local req="$1 /tracker.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${2:+$2\r\n}\r\n"
    exec 3<>"/dev/tcp/127.0.0.1/$INGEST_PORT"
    # shellcheck disable=SC2059 # the request's CRLFs are in the format
    printf "$req" >&3
    cat <&3 >"$T_TMP/raw"
    exec 3<&-
    sed -n '1,/^\r$/p' "$T_TMP/raw" >"$T_TMP/h"
    tail -c +"$(($(wc -c <"$T_TMP/h") + 1))" "$T_TMP/raw" >"$T_TMP/b"
    STATUS=$(head -n 1 "$T_TMP/h" | cut -d' ' -f2)
}
# header NAME: that header's value in the last reply (empty when absent).
header() {
    tr -d '\r' <"$T_TMP/h" | awk -v k="${1,,}:" 'tolower($1) == k { sub(/^[^:]*: */, ""); print }'
}

get
expect_eq "GET /tracker.js: status" "$STATUS" 200
expect_eq "GET: Content-Type" "$(header Content-Type)" "application/javascript; charset=utf-8"
expect_eq "GET: Cache-Control" "$(header Cache-Control)" "public, max-age=3600"
size=$(wc -c <"$T_TMP/b")
echo "# tracker.js as served: $size bytes"
expect_eq "the script is at most 3 KB as served ($size bytes)" "$((${size:-0} > 0 && ${size:-0} <= 3072))" 1
expect_eq "GET: Content-Length is the body's" "$(header Content-Length)" "$size"
expect_eq "the body is the build's minified ingest/tracker.js" \
    "$(sha256sum <"$T_TMP/b")" "$(sha256sum <"$BUILD/gen/tracker.min.js")"
etag=$(header ETag)
expect_eq "ETag: a strong tag from the served bytes' sha256" "$etag" \
    "\"$(sha256sum <"$T_TMP/b" | cut -c1-16)\""
check "the served script is valid JavaScript" node --check "$T_TMP/b"
cp "$T_TMP/b" "$T_TMP/first"

wire HEAD
expect_eq "HEAD /tracker.js: status" "$STATUS" 200
expect_eq "HEAD: no body" "$(wc -c <"$T_TMP/b")" 0
expect_eq "HEAD: Content-Length as GET's" "$(header Content-Length)" "$size"
expect_eq "HEAD: ETag as GET's" "$(header ETag)" "$etag"

wire GET "If-None-Match: $etag"
expect_eq "If-None-Match with the ETag: 304" "$STATUS" 304
expect_eq "304: no body" "$(wc -c <"$T_TMP/b")" 0
expect_eq "304: no Content-Length" "$(header Content-Length)" ""
expect_eq "304: the ETag again" "$(header ETag)" "$etag"
expect_eq "304: Cache-Control again" "$(header Cache-Control)" "public, max-age=3600"
get -H "If-None-Match: \"0000\", W/$etag"
expect_eq "If-None-Match listing the weak form among others: 304" "$STATUS" 304
get -H 'If-None-Match: *'
expect_eq "If-None-Match: *: 304" "$STATUS" 304
get -H 'If-None-Match: "0000000000000000"'
expect_eq "If-None-Match with another tag: 200" "$STATUS" 200
check "... and the whole script" cmp -s "$T_TMP/b" "$T_TMP/first"
get -H 'If-None-Match: garbage'
expect_eq "a malformed If-None-Match: 200" "$STATUS" 200
get -H 'If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT'
expect_eq "If-Modified-Since is not a validator here: 200" "$STATUS" 200

http POST "$I/tracker.js" '{}'
expect_http "POST /tracker.js: 405" 405 \
    '{"status":"error","message":"Method POST not allowed on /tracker.js; use GET"}'
http GET "$I/tracker.js?v=1"
expect_eq "a query string is ignored: 200" "$HTTP_STATUS" 200

expect_clean_stop ingest
t_summary
