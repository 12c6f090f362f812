/* routes.c - ingest's HTTP handlers: POST /event and GET /health. */
#include <stdlib.h>

#include "envelope.h"
#include "event.h"
#include "ingest.h"
#include "queue.h"
#include "ts.h"

static int
handle_post_event(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct event ev;
    struct app_err err = {0};
    json_error_t jerr;
    json_t *body = NULL;
    char *buf = NULL, *envelope = NULL;
    size_t len = 0, envelope_len = 0;
    rconn_t *redis;
    int status;

    event_init(&ev);
    status = http_read_body(conn, (size_t)in->cfg.max_body_bytes, &buf, &len);
    if (status == 413) {
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
        status = http_send_error(conn, 400, "Invalid JSON: %s (line %d, column %d)", jerr.text,
                                 jerr.line, jerr.column);
        goto done;
    }
    if (event_from_json(body, EVENT_FROM_REQUEST, &ev, &err) != 0) {
        status = http_send_error(conn, 400, "%s", err.msg);
        goto done;
    }
    ev.received_ms = ts_now_ms();
    event_new_id(ev.received_ms, ev.id);
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
        status = http_send_error(conn, 503, "Queue unavailable, please retry");
        goto done;
    }
    rconn_pool_push(in->redis, redis);
    status = http_send_json(conn, 202, json_pack("{s:s,s:s}", "status", "accepted", "id", ev.id));
done:
    event_cleanup(&ev);
    json_decref(body);
    free(envelope);
    free(buf);
    return status;
}

static int
handle_health(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct app_err err = {0};
    rconn_t *redis = rconn_pool_pop(in->redis);
    int ok = redis != NULL && rconn_ping(redis, &err) == 0;

    if (redis != NULL) {
        rconn_pool_push(in->redis, redis);
    }
    if (!ok) {
        LOG_WARN("health: %s", err.msg);
    }
    return http_send_json(
        conn, ok ? 200 : 503,
        json_pack("{s:s,s:s}", "status", ok ? "ok" : "error", "service", "ingest"));
}

const struct http_route ingest_routes[] = {
    {"POST", "/event", handle_post_event},
    {"GET", "/health", handle_health},
};
const size_t ingest_n_routes = sizeof ingest_routes / sizeof ingest_routes[0];
