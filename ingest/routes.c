/* routes.c - ingest's route table, and its small handlers: /tracker.js, the CORS filter
 * and preflights, the probes' dependency and /metrics (the events: accept.c). */
#include "accept.h"
#include "auth_http.h"
#include "import.h"
#include "ingest.h"
#include "svc.h"
#include "tracker.h"

/* GET (and HEAD) /tracker.js: the browser tracker, cached for an hour, 304 when the
 * browser holds this very version (its ETag). */
static int
handle_tracker(struct mg_connection *conn, void *arg)
{
    struct http_asset tracker = tracker_js;

    (void)arg;
    tracker.cache_control = "public, max-age=3600";
    return http_send_asset(conn, &tracker);
}

int
ingest_deps(void *ctx, struct app_err *err)
{
    struct ingest *in = ctx;
    return rconn_pool_ping(in->redis, err);
}

int
ingest_filter(struct mg_connection *conn, void *ctx)
{
    struct ingest *in = ctx;
    char headers[CORS_HEADERS_MAX];

    if (http_route_flags(conn) & HTTP_ROUTE_ADMIN) {
        return auth_check_admin(conn, &in->admin); /* not for browsers: no CORS */
    }
    if (cors_check(in->cors, mg_get_header(conn, "Origin"), headers, sizeof headers) ==
        CORS_FORBIDDEN) {
        atomic_fetch_add(&in->stats.forbidden_origin, 1);
        http_add_reply_headers(conn, headers);
        return http_send_error(conn, 403, "Origin not allowed");
    }
    http_add_reply_headers(conn, headers);
    return 0;
}

/* OPTIONS /event, /events: a browser's preflight, after ingest_filter() let it through. */
static int
handle_preflight(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    char headers[CORS_HEADERS_MAX], scratch[CORS_HEADERS_MAX];
    enum cors_verdict v =
        cors_check(in->cors, mg_get_header(conn, "Origin"), scratch, sizeof scratch);

    cors_preflight_headers(in->cors, v, headers, sizeof headers);
    return http_send_empty(conn, 204, headers);
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct ingest_stats *s = &in->stats;
    const char *rejected = "Events not queued, by reason: invalid (400), too_large (413), "
                           "queue_unavailable (503), forbidden_origin (403), unknown_site (403), "
                           "rate_limited (429).";
    const struct metrics_row rows[] = {
        {"analytics_events_accepted_total", "counter", "Events that passed validation.", NULL, NULL,
         (double)atomic_load(&s->valid), NULL, NULL, NULL},
        {"analytics_events_enqueued_total", "counter",
         "Events pushed onto the Redis queue and answered 202.", NULL, NULL,
         (double)atomic_load(&s->enqueued), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "invalid",
         (double)atomic_load(&s->invalid), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "too_large",
         (double)atomic_load(&s->too_large), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "queue_unavailable",
         (double)atomic_load(&s->unavailable), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "forbidden_origin",
         (double)atomic_load(&s->forbidden_origin), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "unknown_site",
         (double)atomic_load(&s->unknown_site), NULL, NULL, NULL},
        {"analytics_events_rejected_total", "counter", rejected, "reason", "rate_limited",
         (double)atomic_load(&s->rate_limited), NULL, NULL, NULL},
        {"analytics_events_ambiguous_total", "counter",
         "Events whose push Redis did not answer, or did not confirm on REDIS_WAIT_REPLICAS "
         "replicas: they may or may not be queued (answered 503, counted as queue_unavailable "
         "too).",
         NULL, NULL, (double)atomic_load(&s->ambiguous), NULL, NULL, NULL},
        {"analytics_redis_wait_failures_total", "counter",
         "Group commits (LPUSHes) whose WAIT did not confirm REDIS_WAIT_REPLICAS replicas "
         "within REDIS_WAIT_TIMEOUT_MS: their events were answered 503.",
         NULL, NULL, (double)atomic_load(&s->wait_failures), NULL, NULL, NULL},
        {"analytics_redis_connections_total", "counter",
         "Redis connections opened (reconnects included).", NULL, NULL,
         (double)atomic_load(&s->redis.connects), NULL, NULL, NULL},
        {"analytics_redis_errors_total", "counter", "Failed Redis connects and commands.", NULL,
         NULL, (double)atomic_load(&s->redis.errors), NULL, NULL, NULL},
        {"analytics_redis_push_batch_size", "histogram",
         "Events per LPUSH: concurrent requests share one (group commit).", NULL, NULL, 0,
         &s->push_sizes, NULL, NULL},
    };
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    METRICS_TABLE(&b, rows);
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route ingest_routes[] = {
    {"POST", "/event", accept_post_event, 0},
    {"POST", "/events", accept_post_events, 0},
    {"POST", "/import", import_post, HTTP_ROUTE_ADMIN},
    {"OPTIONS", "/event", handle_preflight, 0},
    {"OPTIONS", "/events", handle_preflight, 0},
    {"GET", "/tracker.js", handle_tracker, 0},
    SVC_PROBE_ROUTES,
    {"GET", "/metrics", handle_metrics, SVC_OPEN_ROUTE},
};
const size_t ingest_n_routes = sizeof ingest_routes / sizeof ingest_routes[0];
