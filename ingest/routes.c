/* routes.c - ingest's HTTP handlers: POST /event and GET /health. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "event.h"
#include "ingest.h"
#include "queue.h"
#include "svc.h"
#include "ts.h"

/* The request id: the client's X-Request-Id when it is 1-64 characters of
 * [A-Za-z0-9._:-], else the event id. */
static void
request_id(const struct mg_connection *conn, const char *event_id, char *out, size_t outlen)
{
    const char *h = mg_get_header(conn, "X-Request-Id");
    size_t n = h ? strlen(h) : 0;
    int ok = n > 0 && n <= 64;

    for (size_t i = 0; ok && i < n; i++) {
        char c = h[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == ':' || c == '-';
    }
    snprintf(out, outlen, "%s", ok ? h : event_id);
}

static int
handle_post_event(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct event ev;
    struct app_err err = {0};
    json_error_t jerr;
    json_t *body = NULL;
    char *buf = NULL, *envelope = NULL, rid[65];
    size_t len = 0, envelope_len = 0;
    rconn_t *redis;
    int status;

    event_init(&ev);
    status = http_read_body(conn, (size_t)in->cfg.max_body_bytes, &buf, &len);
    if (status == 413) {
        atomic_fetch_add(&in->stats.too_large, 1);
        status =
            http_send_error(conn, 413, "Request body exceeds %ld bytes", in->cfg.max_body_bytes);
        goto done;
    }
    if (status != 0) {
        status = http_send_error(conn, 400, "Could not read the request body");
        goto done;
    }
    body = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
    if (body == NULL) {
        atomic_fetch_add(&in->stats.invalid, 1);
        status = http_send_error(conn, 400, "Invalid JSON: %s (line %d, column %d)", jerr.text,
                                 jerr.line, jerr.column);
        goto done;
    }
    if (event_from_json(body, EVENT_FROM_REQUEST, &ev, &err) != 0) {
        atomic_fetch_add(&in->stats.invalid, 1);
        status = http_send_error(conn, 400, "%s", err.msg);
        goto done;
    }
    atomic_fetch_add(&in->stats.valid, 1);
    ev.received_ms = ts_now_ms();
    event_new_id(ev.received_ms, ev.id);
    request_id(conn, ev.id, rid, sizeof rid);
    ev.request_id = rid;
    log_set_request_id(rid);
    envelope = envelope_encode(&ev, &envelope_len);
    if (envelope == NULL) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    redis = rconn_pool_pop(in->redis);
    if (redis == NULL) {
        status = http_send_error(conn, 500, "Internal error");
        goto done;
    }
    if (queue_push(redis, in->cfg.queue_key, envelope, envelope_len, &err) != 0) {
        rconn_pool_push(in->redis, redis);
        if (err.code == ERR_UNKNOWN) {
            /* Answered 503 all the same: the client may retry, which can store the
             * event twice; never answered 202 without Redis's acknowledgement. */
            LOG_WARN("event %s may or may not be queued (no answer from Redis): %s", ev.id,
                     err.msg);
        } else {
            LOG_WARN("event %s not queued: %s", ev.id, err.msg);
        }
        atomic_fetch_add(&in->stats.unavailable, 1);
        status = http_send_error(conn, 503, "Queue unavailable, please retry");
        goto done;
    }
    rconn_pool_push(in->redis, redis);
    atomic_fetch_add(&in->stats.enqueued, 1);
    LOG_DEBUG("event %s queued", ev.id);
    status = http_send_json(conn, 202, json_pack("{s:s,s:s}", "status", "accepted", "id", ev.id));
done:
    log_set_request_id(NULL);
    event_cleanup(&ev);
    json_decref(body);
    free(envelope);
    free(buf);
    return status;
}

static int
redis_ok(void *arg, struct app_err *err)
{
    struct ingest *in = arg;
    return rconn_pool_ping(in->redis, err);
}

static int
handle_health(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "ingest", SVC_HEALTH, redis_ok, arg);
}

static int
handle_ready(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "ingest", SVC_READY, redis_ok, arg);
}

static int
handle_live(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "ingest", SVC_LIVE, redis_ok, arg);
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct ingest_stats *s = &in->stats;
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    metrics_single(&b, "analytics_events_accepted_total", "counter",
                   "Events that passed validation.", (double)atomic_load(&s->valid));
    metrics_single(&b, "analytics_events_enqueued_total", "counter",
                   "Events pushed onto the Redis queue and answered 202.",
                   (double)atomic_load(&s->enqueued));
    metrics_family(&b, "analytics_events_rejected_total", "counter",
                   "Events not queued, by reason: invalid (400), too_large (413), "
                   "queue_unavailable (503).");
    metrics_sample(&b, "analytics_events_rejected_total", "reason=\"invalid\"",
                   (double)atomic_load(&s->invalid));
    metrics_sample(&b, "analytics_events_rejected_total", "reason=\"too_large\"",
                   (double)atomic_load(&s->too_large));
    metrics_sample(&b, "analytics_events_rejected_total", "reason=\"queue_unavailable\"",
                   (double)atomic_load(&s->unavailable));
    metrics_single(&b, "analytics_redis_connections_total", "counter",
                   "Redis connections opened (reconnects included).",
                   (double)atomic_load(&s->redis.connects));
    metrics_single(&b, "analytics_redis_errors_total", "counter",
                   "Failed Redis connects and commands.", (double)atomic_load(&s->redis.errors));
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route ingest_routes[] = {
    {"POST", "/event", handle_post_event}, {"GET", "/health", handle_health},
    {"GET", "/readyz", handle_ready},      {"GET", "/livez", handle_live},
    {"GET", "/metrics", handle_metrics},
};
const size_t ingest_n_routes = sizeof ingest_routes / sizeof ingest_routes[0];
