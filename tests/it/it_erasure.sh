#!/usr/bin/env bash
# it_erasure.sh - erasure (DELETE /sites/{site}/visitors/{id}, DELETE /sites/{site},
# GET /jobs/{id}) on reporting: without ADMIN_TOKENS the routes are not there (404); 401, 403
# and each 400; events of several visitors of two sites through ingest and the processor; a
# visitor's erasure (an id with '/', sent as %2F) leaves no document of any collection holding
# the id or its hash, the rollups' /stats unchanged, /stats/aggregated and the hourly unique
# users equal to a recomputation from the raw events without the visitor, the other site's
# documents of the same id kept, and an audit record without the id; the same DELETE again is
# a new job that finds nothing; two DELETEs of a running job answer the same job; a job whose
# reporting is killed (kill -9) mid-way is resumed by another reporting once its lease runs out,
# every swap of a site-hour's set raced by an $addToSet and retried; a site's erasure, stopped
# mid-way by SIGTERM (the lease given back) and finished by another reporting at once, removes
# every document of the site and nothing of the other.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
DB=erasure
SITE=ersite
DAY=2025-11-15
VICTIM=victim/7
KILLME=killme-visitor
URI=$(mongo_uri $DB)
CHECK=("$T_PYTHON" "$T_ROOT/tests/it/erasure_check.py")
q() { "$BUILD/tests/mongoq" "$URI" "$@"; }
JOBS=(JOBS_POLL_MS=50 JOBS_LEASE_MS=1500 JOBS_BATCH=2)

# --- without ADMIN_TOKENS: no such routes ----------------------------------------------------
start_service reporting MONGO_URI="$URI"
R="http://127.0.0.1:$REPORTING_PORT"
http DELETE "$R/sites/$SITE"
expect_http "without ADMIN_TOKENS: DELETE /sites/{site} is 404" 404 \
    "{\"status\":\"error\",\"message\":\"Not found: /sites/$SITE\"}"
http GET "$R/jobs/0123456789abcdef0123456789abcdef"
expect_http "without ADMIN_TOKENS: GET /jobs/{id} is 404" 404 \
    '{"status":"error","message":"Not found: /jobs/0123456789abcdef0123456789abcdef"}'
expect_clean_stop reporting
expect_config_error reporting JOBS_BATCH=0 MONGO_URI="$URI"
expect_config_error reporting JOBS_POLL_MS=x MONGO_URI="$URI"
expect_config_error reporting JOBS_LEASE_MS=10 MONGO_URI="$URI"

# --- the events ------------------------------------------------------------------------------
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$URI"
ADMIN=(ADMIN_TOKENS="adm,adm2:other" MONGO_URI="$URI" "${JOBS[@]}")
# The test variant pauses 10 ms after each batch: the job of 300 events killed below runs for
# more than a second.
VARIANT=-fault start_service reporting "${ADMIN[@]}" FAULT_JOBS_PAUSE_MS=10
R="http://127.0.0.1:$REPORTING_PORT"
while read -r batch; do
    http POST "http://127.0.0.1:$INGEST_PORT/events" "$batch"
    expect_eq "a batch of events is accepted" "$HTTP_STATUS" 202
done < <("${CHECK[@]}" gen)
N=$("${CHECK[@]}" gen | jq -s '[.[][] | select(.site_id == "'$SITE'")] | length')
counted() { [ "$(curl -s "$R/stats/aggregated?site_id=$SITE&date=$DAY" | jq .total_views)" = "$N" ] &&
    [ "$(curl -s "$R/stats?site_id=$SITE&date=$DAY" | jq .total_views)" = "$N" ] &&
    [ "$(curl -s "$R/stats?site_id=other&date=$DAY" | jq .total_views)" = 12 ]; }
check "the processor counted the $N events of $SITE and 12 of other" wait_until $((20 * T_SLOW)) counted

# --- the statuses ----------------------------------------------------------------------------
adm() { # adm METHOD PATH [TOKEN]: sets HTTP_STATUS and HTTP_BODY
    HTTP_STATUS=$(curl -s -o "$T_TMP/adm.body" -w '%{http_code}' -X "$1" \
        -H "Authorization: Bearer ${3:-adm}" "$R$2")
    HTTP_BODY=$(cat "$T_TMP/adm.body")
}
HTTP_STATUS=$(curl -s -o "$T_TMP/adm.body" -w '%{http_code}' -X DELETE "$R/sites/$SITE")
expect_eq "no token: 401" "$HTTP_STATUS" 401
adm DELETE "/sites/$SITE" wrong
expect_http "an unknown token: 401" 401 '{"status":"error","message":"Invalid token"}'
adm DELETE "/sites/$SITE" adm2
expect_http "a token of other sites: 403" 403 \
    "{\"status\":\"error\",\"message\":\"This token may not erase site_id '$SITE'\"}"
adm GET /jobs/0123456789abcdef0123456789abcdef
expect_http "an unknown job: 404" 404 \
    '{"status":"error","message":"Unknown job: 0123456789abcdef0123456789abcdef"}'
SITE_MSG="The site_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as %2F)"
USER_MSG="The user_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as %2F)"
PATH_MSG="The path must be /sites/{site_id} or /sites/{site_id}/visitors/{user_id}"
for bad in "/sites/|$SITE_MSG" "/sites/%ff|$SITE_MSG" "/sites/$SITE%00x|$SITE_MSG" \
    "/sites/%ZZ|$SITE_MSG" "/sites/$SITE/visitors/|$USER_MSG" "/sites/$SITE/visitors/a/b|$USER_MSG" \
    "/sites/$SITE/visitors/u1%00|$USER_MSG" "/sites/$SITE/other/x|$PATH_MSG" \
    "/sites/$(printf 'x%.0s' {1..257})|$SITE_MSG"; do
    adm DELETE "${bad%%|*}"
    expect_http "DELETE ${bad%%|*}: 400" 400 "{\"status\":\"error\",\"message\":$(jq -n --arg m "${bad#*|}" '$m')}"
done
adm GET /jobs/xyz
expect_http "GET /jobs/xyz: 400" 400 '{"status":"error","message":"The job id in the path must be 32 hex digits"}'

# --- a visitor's erasure ---------------------------------------------------------------------
q events find '{}' >"$T_TMP/events.before"
for ep in stats stats/summary; do
    curl -s "$R/$ep?site_id=$SITE&date=$DAY" >"$T_TMP/$(tr / _ <<<"$ep").before"
done
# job_done ID: the job is done (its reply then in HTTP_BODY).
job_done() {
    adm GET "/jobs/$1"
    [ "$(jq -r .state <<<"$HTTP_BODY")" = "done" ]
}
adm DELETE "/sites/$SITE/visitors/victim%2F7"
expect_eq "DELETE a visitor: 202" "$HTTP_STATUS" 202
JOB=$(jq -r .job_id <<<"$HTTP_BODY")
expect_json "its job, queued" "$(jq -c '{kind, site_id, state, deleted}' <<<"$HTTP_BODY")" \
    "{\"kind\":\"visitor\",\"site_id\":\"$SITE\",\"state\":\"queued\",\"deleted\":{}}"
check "the job is done" wait_until $((20 * T_SLOW)) job_done "$JOB"
job_done "$JOB"
# (rollup_dims: the victim's events are of one day and one combination of a visit's
# dimensions, API events without a referrer or a User-Agent.)
expect_json "GET /jobs/{id}: what it deleted" "$(jq -c '{kind, site_id, state, deleted}' <<<"$HTTP_BODY")" \
    "{\"kind\":\"visitor\",\"site_id\":\"$SITE\",\"state\":\"done\",\"deleted\":{\"events\":20,\"rollup_users\":2,\"rollup_hours\":12,\"rollup_dims\":1}}"
check "it has its dates" jq -e '.created_at <= .started_at and .started_at <= .finished_at' <<<"$HTTP_BODY"
adm GET "/jobs/$JOB" adm2
expect_eq "GET /jobs/{id} with a token of other sites: 403" "$HTTP_STATUS" 403

HASH=$("${CHECK[@]}" hash "$VICTIM")
dump_collections $DB "$T_TMP/after.jsonl"
for c in jobs audit; do q $c find '{}'; done >>"$T_TMP/after.jsonl"
grep -e victim -e "$HASH" "$T_TMP/after.jsonl" | grep -v '"other"\|5:other' >"$T_TMP/left.jsonl"
expect_eq "no document of $SITE in any collection holds the id or its hash" "$(wc -l <"$T_TMP/left.jsonl")" 0
expect_eq "the other site's events of the same id are kept" \
    "$(q events find '{"site_id":"other","user_id":"victim/7"}' | wc -l)" 6
q audit find "{\"_id\":\"$JOB\"}" >"$T_TMP/audit.jsonl"
expect_eq "the audit record exists" "$(jq -c '[.kind, .site_id, .deleted.events]' "$T_TMP/audit.jsonl")" \
    "[\"visitor\",\"$SITE\",20]"
q events find '{}' >"$T_TMP/events.after"
expect_eq "every other event is kept" \
    "$(jq -c 'select(.user_id != "victim/7" or .site_id != "'$SITE'") | ._id' "$T_TMP/events.before" | sort | md5sum)" \
    "$(jq -c '._id' "$T_TMP/events.after" | sort | md5sum)"
curl -s "$R/stats?site_id=$SITE&date=$DAY" >"$T_TMP/stats.after"
expect_json "/stats (the rollups' counts) unchanged" "$(cat "$T_TMP/stats.after")" "$(cat "$T_TMP/stats.before")"
http GET "$R/stats/aggregated?site_id=$SITE&date=$DAY"
expect_json "/stats/aggregated: the remaining raw events" "$(jq -c '{total_views, unique_users}' <<<"$HTTP_BODY")" \
    "$("${CHECK[@]}" totals $SITE $DAY <"$T_TMP/events.after")"
http GET "$R/stats/timeseries?site_id=$SITE&date=$DAY&interval=hour"
expect_json "hourly unique users: every user's but the visitor's, views unchanged" \
    "$(jq -c '[.points[] | select(.views > 0)]' <<<"$HTTP_BODY")" \
    "$("${CHECK[@]}" hours $SITE "$VICTIM" $DAY <"$T_TMP/events.before")"

adm DELETE "/sites/$SITE/visitors/victim%2F7"
JOB2=$(jq -r .job_id <<<"$HTTP_BODY")
check "the same DELETE again is a new job" [ "$JOB2" != "$JOB" ]
check "which is done" wait_until $((20 * T_SLOW)) job_done "$JOB2"
job_done "$JOB2"
expect_json "and finds nothing" "$(jq -c .deleted <<<"$HTTP_BODY")" \
    '{"events":0,"rollup_users":0,"rollup_hours":0,"rollup_dims":0}'

# --- interrupted by kill -9, resumed by another reporting ------------------------------------
adm DELETE "/sites/$SITE/visitors/$KILLME"
JOB3=$(jq -r .job_id <<<"$HTTP_BODY")
adm DELETE "/sites/$SITE/visitors/$KILLME"
expect_eq "a DELETE of a target whose job is unfinished answers that job" "$(jq -r .job_id <<<"$HTTP_BODY")" "$JOB3"
started() { adm GET "/jobs/$JOB3" && jq -e '.state == "running" and .deleted.events >= 10' <<<"$HTTP_BODY"; }
check "the job runs" wait_until $((20 * T_SLOW)) started
kill -KILL "$REPORTING_PID"
wait "$REPORTING_PID" 2>/dev/null
LEFT=$(q events find "{\"user_id\":\"$KILLME\"}" | wc -l)
check "killed mid-way: some of its events are left ($LEFT)" [ "$LEFT" -gt 0 ] && [ "$LEFT" -lt 300 ]
# This one races each swap of a site-hour's set with an $addToSet of the hash 1, as a
# processor's batch would (FAULT_JOBS_CAS_RACE): the swap must fail, read again and retry.
VARIANT=-fault start_service reporting2 "${ADMIN[@]}" FAULT_JOBS_CAS_RACE=1 FAULT_JOBS_PAUSE_MS=10
# shellcheck disable=SC2153 # set by start_service reporting2
R="http://127.0.0.1:$REPORTING2_PORT"
check "another reporting resumes it once its lease runs out" wait_until $((20 * T_SLOW)) job_done "$JOB3"
job_done "$JOB3"
expect_eq "none of its events is left" "$(q events find "{\"user_id\":\"$KILLME\"}" | wc -l)" 0
check "its count of events is at least what the first left minus one batch" \
    jq -e '.deleted.events >= 298 and .deleted.events <= 300' <<<"$HTTP_BODY"
KHASH=$("${CHECK[@]}" hash "$KILLME")
expect_eq "each of its 12 site-hours lost its hash and kept the one added in between" \
    "$(q rollup_hours find "{\"site_id\":\"$SITE\"}" | jq -s -c \
        "[(map(select(.u | index($KHASH))) | length), (map(select(.u | index(1))) | length)]")" '[0,12]'
check "the swap was retried" grep -q "site-hour .* changed under the swap" "$T_TMP/reporting2.log"
dump_collections $DB "$T_TMP/after3.jsonl"
for c in jobs audit; do q $c find '{}'; done >>"$T_TMP/after3.jsonl"
expect_eq "no document holds its id or its hash" \
    "$(grep -c -e "$KILLME" -e "$KHASH" "$T_TMP/after3.jsonl")" 0

# --- a site's erasure ------------------------------------------------------------------------
dump_collections $DB "$T_TMP/site.before"
adm DELETE "/sites/$SITE"
JOB4=$(jq -r .job_id <<<"$HTTP_BODY")
expect_eq "DELETE a site: 202" "$HTTP_STATUS" 202
# SIGTERM mid-way: the runner ends its batch and gives the lease back, and the next reporting
# takes the job over at once (not JOBS_LEASE_MS later: its lease is 60 s here).
site_started() { adm GET "/jobs/$JOB4" && jq -e '.state == "running" and .deleted.events >= 4' <<<"$HTTP_BODY"; }
check "its job runs" wait_until $((20 * T_SLOW)) site_started
expect_clean_stop reporting2
expect_json "stopped, the job is left running with its lease given back" \
    "$(q jobs find "{\"_id\":\"$JOB4\"}" | jq -c '{state, lease_until}')" '{"state":"running","lease_until":0}'
start_service reporting3 ADMIN_TOKENS=adm MONGO_URI="$URI" JOBS_POLL_MS=50 JOBS_LEASE_MS=60000
# shellcheck disable=SC2153 # set by start_service reporting3
R="http://127.0.0.1:$REPORTING3_PORT"
check "its job is done" wait_until $((30 * T_SLOW)) job_done "$JOB4"
dump_collections $DB "$T_TMP/site.after"
expect_eq "no document of the site is left" "$(grep -c -e "$SITE" "$T_TMP/site.after")" 0
expect_eq "every document of the other site is kept" "$(grep -v "$SITE" "$T_TMP/site.before" | sort | md5sum)" \
    "$(sort "$T_TMP/site.after" | md5sum)"
expect_eq "the figures of the other site stay" "$(curl -s "$R/stats?site_id=other&date=$DAY" | jq .total_views)" 12
expect_eq "four audit records, none with a visitor's id" \
    "$(q audit find '{}' | grep -v -c -e victim -e "$KILLME" -e '"u[0-9]"')" 4
expect_eq "no finished job keeps its target" "$(q jobs find '{}' | jq -s 'map(select(has("target"))) | length')" 0

expect_clean_stop reporting3
t_summary
