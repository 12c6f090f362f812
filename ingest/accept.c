/* accept.c - accepting events: POST /event and POST /events, from reading the body to
 * the answer (validation, SITE_IDS, RATE_LIMIT, ids and envelopes, the push to Redis). */
#include "accept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "envelope.h"
#include "event.h"
#include "ingest.h"
#include "pusher.h"
#include "qrecord.h"
#include "reply.h"
#include "shards.h"
#include "sources.h"
#include "text.h"
#include "ts.h"
#include "visitor.h"

/* The request id: the client's X-Request-Id when it is 1-LOG_REQUEST_ID_MAX characters
 * of [A-Za-z0-9._:-], else the event id. */
static void
request_id(const struct mg_connection *conn, const char *event_id, char *out, size_t outlen)
{
    const char *h = mg_get_header(conn, "X-Request-Id");
    const char *rid = h != NULL && event_request_id_valid(h, strlen(h)) ? h : event_id;
    size_t n = strnlen(rid, outlen - 1);

    memcpy(out, rid, n); /* not snprintf(): once per request */
    out[n] = '\0';
}

/* Read the body (at most max bytes) into *buf (the caller frees it) and *len. Returns 0,
 * or the status of the error reply http_read_body() sent. */
static int
read_body(struct mg_connection *conn, struct ingest *in, long max, char **buf, size_t *len)
{
    int status = http_read_body(conn, (size_t)max, buf, len);

    if (status == 413) {
        atomic_fetch_add(&in->stats.too_large, 1);
    }
    return status;
}

/* Parse a body as JSON. Returns 0 with *out set (the caller's reference), or the status
 * of the error sent: 400, or 500 when memory ran out (the body may be fine). */
static int
parse_json(struct mg_connection *conn, struct ingest *in, const char *buf, size_t len, json_t **out)
{
    struct app_err err = {0};

    if ((*out = event_parse_body(buf, len, &err)) == NULL) {
        if (err.code != ERR_INVALID) {
            LOG_ERROR("%s", err.msg);
            return http_send_error(conn, 500, "Internal error");
        }
        atomic_fetch_add(&in->stats.invalid, 1);
        return http_send_error(conn, 400, "%s", err.msg);
    }
    return 0;
}

/* The key of the client the request counts against (client_make_key(), TRUST_PROXY): what
 * the rate limiter keys by, and what a derived visitor id hashes. */
static void
client_key(const struct mg_connection *conn, const struct ingest *in, char out[CLIENT_KEY_MAX])
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *xff[MG_MAX_HEADERS];
    size_t n_xff = 0;

    /* Every X-Forwarded-For header, in order: a proxy may add its own after the client's. */
    for (int i = 0; i < ri->num_headers && n_xff < sizeof xff / sizeof xff[0]; i++) {
        if (strcasecmp(ri->http_headers[i].name, "X-Forwarded-For") == 0) {
            xff[n_xff++] = ri->http_headers[i].value;
        }
    }
    client_make_key(ri->remote_addr, xff, n_xff, in->cfg.trust_proxy, out, CLIENT_KEY_MAX);
}

/* Take n events from the client's allowance (RATE_LIMIT). Returns 0 when they are within
 * it, else the status of the 429 sent. */
static int
rate_limit(struct mg_connection *conn, struct ingest *in, size_t n)
{
    char client[CLIENT_KEY_MAX], retry[40];
    long after = 0;
    enum ratelimit_verdict v;

    if (in->rate == NULL) {
        return 0;
    }
    client_key(conn, in, client);
    v = ratelimit_take(in->rate, client, ts_mono_ms(), (long)n, &after);
    if (v == RATELIMIT_OK) {
        return 0;
    }
    atomic_fetch_add(&in->stats.rate_limited, n);
    if (v == RATELIMIT_NEVER) {
        return http_send_error(conn, 429,
                               "Batch of %zu events exceeds the rate limit's burst of %ld events; "
                               "send at most %ld per request",
                               n, in->cfg.rate_burst, in->cfg.rate_burst);
    }
    snprintf(retry, sizeof retry, "Retry-After: %ld\r\n", after);
    return http_send_error_headers(
        conn, 429, retry, "Rate limit exceeded (%ld events per second), please retry later",
        in->cfg.rate_limit);
}

/* The message of an event refused for its site (SITE_IDS), into out: valid UTF-8, even
 * where the site id is cut. */
static void
unknown_site(const char *site_id, char *out, size_t outlen)
{
    char raw[96];

    snprintf(raw, sizeof raw, "Unknown site_id '%.64s'", site_id);
    text_sanitize(out, outlen, raw, strlen(raw));
}

/* The events of one request on their way to Redis. A single event lives in the struct
 * itself, so that POST /event allocates none of these arrays. */
struct outgoing {
    size_t n;
    struct event *evs;
    char **envelopes; /* owned */
    size_t *lens;
    struct shards_extra *extra; /* each event's shard */
    char rid[LOG_REQUEST_ID_MAX + 1];
    struct event one;
    char *one_envelope;
    size_t one_len;
    struct shards_extra one_extra;
};

static void
outgoing_free(struct outgoing *o)
{
    for (size_t i = 0; o->evs != NULL && o->envelopes != NULL && i < o->n; i++) {
        event_cleanup(&o->evs[i]);
        free(o->envelopes[i]);
    }
    if (o->evs != &o->one) {
        free(o->evs);
        free(o->envelopes);
        free(o->lens);
        free(o->extra);
    }
}

/* Room for n events: evs, when not NULL, is a malloc'd array of them (event_scan_batch()),
 * which o takes over, else o's own, zeroed. Returns 0, or -1 when out of memory. */
static int
outgoing_alloc(struct outgoing *o, size_t n, struct event *evs)
{
    o->n = n;
    if (n == 1 && evs == NULL) {
        o->evs = &o->one;
        o->envelopes = &o->one_envelope;
        o->lens = &o->one_len;
        o->extra = &o->one_extra;
        event_init(&o->one);
        o->one_envelope = NULL;
        o->one_extra = (struct shards_extra){0};
        return 0;
    }
    o->evs = evs != NULL ? evs : calloc(n, sizeof *o->evs);
    o->envelopes = calloc(n, sizeof *o->envelopes);
    o->lens = calloc(n, sizeof *o->lens);
    o->extra = calloc(n, sizeof *o->extra);
    return o->evs && o->envelopes && o->lens && o->extra ? 0 : -1;
}

/* Give each validated event, received at now (UTC ms), its ids and envelope: a new
 * delivery id (UUIDv7) always; the _id derived from the client's event_id when it sent
 * one, else the delivery id itself. Returns 0, or -1 when out of memory. */
static int
seal(struct mg_connection *conn, struct outgoing *o, int64_t now)
{
    for (size_t i = 0; i < o->n; i++) {
        struct event *ev = &o->evs[i];
        ev->received_ms = now;
        event_new_id(now, ev->delivery);
        if (ev->client_id != NULL) {
            event_derive_id(ev->site_id, ev->client_id, ev->id);
        } else {
            memcpy(ev->id, ev->delivery, sizeof ev->delivery);
            ev->delivery[0] = '\0'; /* the id itself */
        }
        if (i == 0) {
            request_id(conn, event_delivery(ev), o->rid, sizeof o->rid);
        }
        ev->request_id = o->rid;
        if ((o->envelopes[i] = envelope_encode(ev, &o->lens[i])) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* Give each event sent without a user_id (absent or empty) its derived visitor id
 * (visitor.h) under the salt of its site's day (salt.h: the UTC day, or the site's local day
 * under SITE_TIMEZONES), visitor source "hash", its id under the day before's salt when there
 * is one (ev->prev_visitor, the envelope's "vy": for a visit crossing midnight, which the
 * processor continues) and its shard by client (shards_of_client()). The
 * client's address and User-Agent go into the hashes only: never into a log line or the
 * envelope. Returns 0, or the status of the error sent: 503 when the
 * salt could not be had from Redis (as for a failed push), 500 when out of memory. */
static int
derive_visitors(struct mg_connection *conn, struct ingest *in, struct outgoing *o)
{
    unsigned char salt[SALT_LEN], prev[SALT_LEN];
    char client[CLIENT_KEY_MAX];
    const char *ua = mg_get_header(conn, "User-Agent");
    struct app_err err = {0};
    int64_t now = salt_clock_ms(), salt_day = INT64_MIN;
    int have_prev = 0, status = 0;

    for (size_t i = 0; i < o->n && status == 0; i++) {
        struct event *ev = &o->evs[i];
        int64_t day;
        if (ev->user_id != NULL && ev->user_id[0] != '\0') {
            continue;
        }
        day = tz_day_of(sitetz_find(&in->cfg.tzs, ev->site_id), now);
        if (day != salt_day) {
            if (salt_of_day(in->salt, day, salt, prev, &have_prev, &err) != 0) {
                LOG_WARN("%zu event(s) not queued: no visitor salt: %s", o->n, err.msg);
                atomic_fetch_add(&in->stats.unavailable, o->n);
                explicit_bzero(salt, sizeof salt);
                explicit_bzero(prev, sizeof prev);
                return http_send_error(conn, 503, "Queue unavailable, please retry");
            }
            if (salt_day == INT64_MIN) {
                client_key(conn, in, client);
            }
            salt_day = day;
        }
        if (visitor_derive(salt, sizeof salt, ev->site_id, client, ua, ev->visitor_id) != 0 ||
            (have_prev &&
             visitor_derive(prev, sizeof prev, ev->site_id, client, ua, ev->prev_visitor))) {
            status = http_send_error(conn, 500, "Internal error");
            break;
        }
        o->extra[i].shard =
            shards_of_client(ev->site_id, client, ua, (unsigned)in->cfg.queue_shards);
        ev->user_id = ev->visitor_id;
        ev->visitor = EVENT_VISITOR_HASH;
    }
    explicit_bzero(salt, sizeof salt);
    explicit_bzero(prev, sizeof prev);
    return status;
}

/* Give the events of a request their client's country (geo.h, GEOIP_DB): one lookup of the
 * client key, whose address goes no further than the lookup. */
static void
locate(const struct mg_connection *conn, const struct ingest *in, struct outgoing *o)
{
    char client[CLIENT_KEY_MAX], cc[EVENT_COUNTRY_LEN + 1];

    if (in->geo == NULL) {
        return;
    }
    client_key(conn, in, client);
    if (!geo_country(in->geo, client, cc)) {
        return;
    }
    for (size_t i = 0; i < o->n; i++) {
        memcpy(o->evs[i].country, cc, sizeof cc);
    }
}

/* Strip the referrers of a request's events (sources_strip_referrer()) and give its page views
 * their source, channel and campaign (sources_attribute()). The page's own host is the
 * request's Origin header's, which browsers send with every POST (an API client may send one
 * too); without one, only an empty referrer is "Direct / None". Returns 0, or the status of
 * the 500 sent when out of memory. */
static int
attribute(struct mg_connection *conn, struct outgoing *o)
{
    const char *origin = mg_get_header(conn, "Origin");
    char site[EVENT_HOST_MAX + 1] = "";

    if (origin != NULL) {
        sources_host(origin, site);
    }
    for (size_t i = 0; i < o->n; i++) {
        if (sources_strip_referrer(&o->evs[i]) != 0) {
            return http_send_error(conn, 500, "Internal error");
        }
        sources_attribute(&o->evs[i], site);
    }
    return 0;
}

/* Give the events of a request their device (ua.h): the User-Agent parsed once (cached), its
 * class by each event's screen_width when it has one. The User-Agent goes no further. */
static void
describe(const struct mg_connection *conn, const struct ingest *in, struct outgoing *o)
{
    const char *agent = mg_get_header(conn, "User-Agent");
    struct event_device dev;

    ua_parse(in->ua, agent != NULL ? agent : "", agent != NULL ? strlen(agent) : 0, &dev);
    for (size_t i = 0; i < o->n; i++) {
        o->evs[i].device = dev;
        if (o->evs[i].screen_width >= 0) {
            strcpy(o->evs[i].device.device, ua_device_of_width(o->evs[i].screen_width));
        }
    }
}

/* The Idempotency-Key header of POST /event, which stands for the body's event_id: into
 * ev->client_id when the body has none. Returns 0, or the status of the 400 sent. */
static int
take_idempotency_key(struct mg_connection *conn, struct ingest *in, struct event *ev)
{
    const char *key = mg_get_header(conn, "Idempotency-Key");

    if (key == NULL) {
        return 0;
    }
    if (!event_client_id_valid(key, strlen(key))) {
        atomic_fetch_add(&in->stats.invalid, 1);
        return http_send_error(conn, 400,
                               "Header 'Idempotency-Key' must be 1-64 characters of A-Z, a-z, "
                               "0-9, '_' and '-'");
    }
    if (ev->client_id != NULL && strcmp(ev->client_id, key) != 0) {
        atomic_fetch_add(&in->stats.invalid, 1);
        return http_send_error(conn, 400,
                               "Header 'Idempotency-Key' and field 'event_id' differ; send one, "
                               "or the same value in both");
    }
    ev->client_id = key; /* civetweb's: lives as long as the request */
    return 0;
}

/* Add QUEUE_SHARDS to the record of queue layouts (common/qrecord.h) before the first push,
 * so that a processor with another value counts what this ingest queues in its
 * analytics_queue_stray_events. Tried before a push at most once a second until it succeeds
 * once (a Redis that does not answer delays one request a second, not each); a failure is the
 * push's to report. */
static void
record_layout(struct ingest *in)
{
    unsigned char used[QSHARD_MAX + 1];
    struct app_err err = {0};
    rconn_t *c;
    char others[64] = "";
    size_t len = 0;

    long long now = ts_mono_ms(), next = atomic_load(&in->record_next_ms);

    if (atomic_load(&in->recorded) || now < next ||
        !atomic_compare_exchange_strong(&in->record_next_ms, &next, now + 1000) ||
        (c = rconn_pool_pop(in->redis)) == NULL) {
        return;
    }
    if (qrecord_add(in->cfg.queue_key, (unsigned)in->cfg.queue_shards, c, used, &err) == 0 &&
        !atomic_exchange(&in->recorded, 1)) {
        for (unsigned k = 1; k <= QSHARD_MAX && len + 8 < sizeof others; k++) {
            if (used[k] && k != (unsigned)in->cfg.queue_shards) {
                len += (size_t)snprintf(others + len, sizeof others - len, "%s%u",
                                        len > 0 ? ", " : "", k);
            }
        }
        if (len > 0) {
            LOG_INFO("QUEUE_SHARDS=%ld; other values recorded in %s:shards: %s (processors "
                     "drain only their own: see analytics_queue_stray_events)",
                     in->cfg.queue_shards, in->cfg.queue_key, others);
        }
    }
    rconn_pool_push(in->redis, c);
}

/* Queue the sealed events with one atomic push per queue shard (shards.h), then answer:
 * 202 with reply, a JSON text, or 503. */
static int
enqueue(struct mg_connection *conn, struct ingest *in, struct outgoing *o, const char *reply)
{
    struct app_err err = {0};
    size_t maybe = 0;

    log_set_request_id(o->rid);
    record_layout(in);
    for (size_t i = 0; i < o->n; i++) {
        if (o->evs[i].visitor != EVENT_VISITOR_HASH) {
            o->extra[i].shard = shards_of_event(&o->evs[i], (unsigned)in->cfg.queue_shards);
        }
    }
    if (shards_push(in->pushers, (unsigned)in->cfg.queue_shards, o->evs, o->extra, o->envelopes,
                    o->lens, o->n, &maybe, &err) != 0) {
        if (err.code == ERR_UNKNOWN) {
            /* Answered 503 all the same: the client may retry, which can store the
             * events twice; never answered 202 without Redis's acknowledgement. */
            LOG_WARN("%zu of %zu event(s) may or may not be queued (%s), first %s: %s", maybe, o->n,
                     strncmp(err.msg, "redis WAIT", 10) == 0 ? "not confirmed on the replicas"
                     : maybe < o->n                          ? "queued on some shards only"
                                                             : "no answer from Redis",
                     o->evs[0].id, err.msg);
            atomic_fetch_add(&in->stats.ambiguous, maybe);
        } else {
            LOG_WARN("%zu event(s) not queued, first %s: %s", o->n, o->evs[0].id, err.msg);
        }
        atomic_fetch_add(&in->stats.unavailable, o->n);
        log_set_request_id(NULL);
        return http_send_error(conn, 503, "Queue unavailable, please retry");
    }
    atomic_fetch_add(&in->stats.enqueued, o->n);
    for (size_t i = 0; i < o->n && log_enabled(LOG_LVL_DEBUG); i++) {
        LOG_DEBUG("event %s queued", o->evs[i].id); /* as the processor's "event ... stored" */
    }
    log_set_request_id(NULL);
    return http_send_text(conn, 202, "application/json", reply, strlen(reply));
}

int
accept_post_event(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct outgoing o = {0};
    struct app_err err = {0};
    json_t *body = NULL, *derived = NULL;
    char msg[96], *dumped = NULL, *buf = NULL;
    size_t len = 0;
    int scanned = 0;
    int status = read_body(conn, in, in->cfg.max_body_bytes, &buf, &len);

    if (status != 0) {
        goto done;
    }
    outgoing_alloc(&o, 1, NULL); /* cannot fail for one event */
    /* A plain event skips jansson; anything else (or anything wrong) takes the full
     * parse, which finds the precise reason. */
    scanned = event_scan(buf, len, &o.evs[0]);
    if ((!scanned && (status = parse_json(conn, in, buf, len, &body)) != 0) ||
        (status = rate_limit(conn, in, 1)) != 0) {
        goto done;
    }
    if (!scanned &&
        (event_from_request(body, &o.evs[0], &err) != 0 || sources_check(&o.evs[0], &err) != 0)) {
        atomic_fetch_add(&in->stats.invalid, 1);
        status = http_send_error(conn, 400, "%s", err.msg);
        goto done;
    }
    if ((status = take_idempotency_key(conn, in, &o.evs[0])) != 0) {
        goto done;
    }
    if (!sites_accepts(in->sites, o.evs[0].site_id)) {
        atomic_fetch_add(&in->stats.unknown_site, 1);
        unknown_site(o.evs[0].site_id, msg, sizeof msg);
        status = http_send_error(conn, 403, "%s", msg);
        goto done;
    }
    atomic_fetch_add(&in->stats.valid, 1);
    if ((status = derive_visitors(conn, in, &o)) != 0) {
        goto done;
    }
    locate(conn, in, &o);
    if ((status = attribute(conn, &o)) != 0) {
        goto done;
    }
    describe(conn, in, &o);
    if (seal(conn, &o, ts_now_ms()) != 0) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    if ((dumped = reply_accepted(o.evs, 1, 1)) != NULL) {
        status = enqueue(conn, in, &o, dumped);
        goto done;
    }
    /* A derived id holds the client's site_id, which may need escaping: jansson's. */
    derived = json_pack("{s:s,s:s}", "status", "accepted", "id", o.evs[0].id);
    dumped = derived != NULL ? json_dumps(derived, JSON_COMPACT) : NULL;
    status = dumped != NULL ? enqueue(conn, in, &o, dumped)
                            : http_send_error(conn, 500, "Internal error");
done:
    free(dumped);
    json_decref(derived);
    outgoing_free(&o);
    json_decref(body);
    free(buf);
    return status;
}

/* A refused batch: {"status":"error","message":..., "errors":[{"index","message"}]};
 * takes ownership of errors. */
static int
send_batch_errors(struct mg_connection *conn, int status, const char *message, json_t *errors)
{
    json_t *reply =
        json_pack("{s:s,s:s,s:o}", "status", "error", "message", message, "errors", errors);
    return http_send_json(conn, status, reply);
}

/* 403 for a batch with events of sites SITE_IDS does not list, naming the first and its
 * index; the errors list each such event. Returns 0 when every site is accepted. */
static int
refuse_unknown_sites(struct mg_connection *conn, struct ingest *in, const struct outgoing *o)
{
    json_t *errors = NULL;
    char msg[96], first[192];
    int lost = 0; /* an entry that could not be added: the list would not be whole */

    for (size_t i = 0; i < o->n; i++) {
        if (sites_accepts(in->sites, o->evs[i].site_id)) {
            continue;
        }
        unknown_site(o->evs[i].site_id, msg, sizeof msg);
        if (errors == NULL) {
            snprintf(first, sizeof first, "%s at index %zu; none was accepted", msg, i);
            if ((errors = json_array()) == NULL) {
                return http_send_error(conn, 500, "Internal error");
            }
        }
        lost |= json_array_append_new(
                    errors, json_pack("{s:I,s:s}", "index", (json_int_t)i, "message", msg)) != 0;
    }
    if (errors == NULL) {
        return 0;
    }
    if (lost) {
        json_decref(errors);
        return http_send_error(conn, 500, "Internal error");
    }
    atomic_fetch_add(&in->stats.unknown_site, o->n);
    return send_batch_errors(conn, 403, first, errors);
}

/* The events of a POST /events body: the array itself, or {"sent_at": ..., "events": [...]}
 * with *has_sent set and *sent_ms the client's clock at sending. Returns the array
 * (borrowed from body), or NULL with err set (the reason for a 400). */
static json_t *
batch_events(json_t *body, int *has_sent, int64_t *sent_ms, struct app_err *err)
{
    json_t *events;

    *has_sent = 0;
    if (!json_is_object(body)) {
        events = body;
        if (json_is_array(events) && json_array_size(events) >= 1 &&
            json_array_size(events) <= INGEST_BATCH_MAX_EVENTS) {
            return events;
        }
        err_set(err, ERR_INVALID, "Request body must be a JSON array of 1 to %d events",
                INGEST_BATCH_MAX_EVENTS);
        return NULL;
    }
    events = json_object_get(body, "events");
    if (events == NULL) {
        err_set(err, ERR_INVALID,
                "Request body must be a JSON array of 1 to %d events, or an object with "
                "field 'events'",
                INGEST_BATCH_MAX_EVENTS);
        return NULL;
    }
    if (!json_is_array(events) || json_array_size(events) < 1 ||
        json_array_size(events) > INGEST_BATCH_MAX_EVENTS) {
        err_set(err, ERR_INVALID, "Field 'events' must be a JSON array of 1 to %d events",
                INGEST_BATCH_MAX_EVENTS);
        return NULL;
    }
    if (json_object_get(body, "sent_at") != NULL &&
        !json_is_null(json_object_get(body, "sent_at"))) {
        if (event_take_time(body, "sent_at", sent_ms, err) != 0) {
            return NULL;
        }
        *has_sent = 1;
    }
    return events;
}

int
accept_post_events(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct outgoing o = {0};
    struct app_err berr = {0};
    json_t *body = NULL, *events, *errors = NULL, *ids = NULL;
    char *reply = NULL, *buf = NULL;
    struct event *scanned = NULL;
    size_t i, n, len = 0;
    int64_t now = ts_now_ms(), sent_ms = 0;
    int has_sent = 0, rc;
    int status = read_body(conn, in, INGEST_BATCH_MAX_BYTES, &buf, &len);

    if (status != 0) {
        goto done;
    }
    /* An array of plain events skips jansson (event_scan_batch()). */
    if ((scanned = event_scan_batch(buf, len, INGEST_BATCH_MAX_EVENTS, &n)) != NULL) {
        if ((status = rate_limit(conn, in, n)) != 0) {
            goto done;
        }
        if (outgoing_alloc(&o, n, scanned) != 0) {
            scanned = NULL; /* o's */
            status = http_send_error(conn, 500, "Internal error");
            goto done;
        }
        scanned = NULL; /* o's */
        goto valid;
    }
    if ((status = parse_json(conn, in, buf, len, &body)) != 0) {
        goto done;
    }
    if ((events = batch_events(body, &has_sent, &sent_ms, &berr)) == NULL) {
        n = json_is_array(body) ? json_array_size(body) : 0;
        atomic_fetch_add(&in->stats.invalid, n ? n : 1);
        status = http_send_error(conn, 400, "%s", berr.msg);
        goto done;
    }
    n = json_array_size(events);
    if ((status = rate_limit(conn, in, n)) != 0) {
        goto done;
    }
    if (outgoing_alloc(&o, n, NULL) != 0 ||
        (rc = batch_validate(events, has_sent, sent_ms, now, o.evs, &errors)) < 0) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    if (rc > 0) {
        atomic_fetch_add(&in->stats.invalid, n);
        status =
            send_batch_errors(conn, 400, "Invalid events in the batch; none was accepted", errors);
        errors = NULL; /* stolen */
        goto done;
    }
valid:
    if ((status = refuse_unknown_sites(conn, in, &o)) != 0) {
        goto done;
    }
    atomic_fetch_add(&in->stats.valid, n);
    if ((status = derive_visitors(conn, in, &o)) != 0) {
        goto done;
    }
    locate(conn, in, &o);
    if ((status = attribute(conn, &o)) != 0) {
        goto done;
    }
    describe(conn, in, &o);
    if (seal(conn, &o, now) != 0) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    if ((reply = reply_accepted(o.evs, o.n, 0)) != NULL) {
        status = enqueue(conn, in, &o, reply);
        goto done;
    }
    if ((ids = json_array()) == NULL) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    for (i = 0; i < n; i++) {
        json_array_append_new(ids, json_string(o.evs[i].id));
    }
    ids = json_pack("{s:s,s:o}", "status", "accepted", "ids", ids); /* steals ids */
    reply = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    status = reply ? enqueue(conn, in, &o, reply) : http_send_error(conn, 500, "Internal error");
done:
    free(reply);
    json_decref(ids);
    outgoing_free(&o);
    json_decref(errors);
    json_decref(body);
    free(scanned);
    free(buf);
    return status;
}
