/* stats.c - reporting's HTTP handlers: GET /stats, GET /stats/aggregated, /metrics. */
#include <string.h>

#include "dashboard.h"
#include "event.h"
#include "params.h"
#include "query.h"
#include "reporting.h"
#include "svc.h"
#include "text.h"
#include "ts.h"

#define MISSING_PARAMS "Missing required parameters: site_id, date (YYYY-MM-DD)"

int
reporting_db_enter(struct mg_connection *conn, struct reporting *r)
{
    if (sem_trywait(&r->db_slots) != 0) {
        atomic_fetch_add(&r->db_busy, 1);
        return http_send_error_headers(conn, 503, "Retry-After: 1\r\n",
                                       "Too many requests waiting for the database, please retry");
    }
    return 0;
}

void
reporting_db_leave(struct reporting *r)
{
    sem_post(&r->db_slots);
}

int
reporting_db_failed(struct mg_connection *conn, struct reporting *r, const char *what,
                    const struct app_err *err)
{
    LOG_WARN("%s: %s", what, err->msg);
    atomic_fetch_add(&r->mongo_errors, 1);
    return http_send_error(conn, 503, "Database unavailable, please retry");
}

/* GET /stats and GET /stats/aggregated: the same parameters, errors and answer. */
static int
answer_stats(struct mg_connection *conn, struct reporting *r, query_stats_fn query)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char site_id[EVENT_SITE_ID_MAX + 1], date[16], event_type[EVENT_TYPE_MAX + 1];
    int site_len = reporting_param(qs, "site_id", site_id, EVENT_SITE_ID_MAX);
    int date_len = reporting_param(qs, "date", date, 10);
    int type_len = reporting_param(qs, "event_type", event_type, EVENT_TYPE_MAX);
    struct stats st;
    struct app_err err = {0};
    int64_t day;
    json_t *reply, *paths;
    int rc;

    if (site_len == 0 || date_len == 0) {
        return http_send_error(conn, 400, MISSING_PARAMS);
    }
    if (site_len < 0) {
        return http_send_error(conn, 400, "Parameter 'site_id' must be 1-%d bytes of UTF-8",
                               EVENT_SITE_ID_MAX);
    }
    if (date_len < 0 || ts_parse_date(date, (size_t)date_len, &day) != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'date' must be a calendar date as YYYY-MM-DD, "
                               "e.g. 2025-11-15");
    }
    if (type_len < 0) {
        return http_send_error(conn, 400, "Parameter 'event_type' must be 1-%d bytes of UTF-8",
                               EVENT_TYPE_MAX);
    }
    if ((rc = reporting_may_read(conn, r, site_id)) != 0 ||
        (rc = reporting_db_enter(conn, r)) != 0) {
        return rc;
    }
    rc = query(r->store, site_id, day, type_len > 0 ? event_type : NULL, &st, &err);
    reporting_db_leave(r);
    if (rc != 0) {
        return reporting_db_failed(conn, r, "stats", &err);
    }
    paths = json_array();
    for (size_t i = 0; paths != NULL && i < st.n_paths; i++) {
        if (json_array_append_new(paths, json_pack("{s:s,s:I}", "path", st.top_paths[i].path,
                                                   "views", (json_int_t)st.top_paths[i].views)) !=
            0) {
            json_decref(paths);
            paths = NULL; /* out of memory: the reply below fails, and says so */
        }
    }
    reply = json_pack("{s:s,s:s,s:I,s:I,s:o}", "site_id", site_id, "date", date, "total_views",
                      (json_int_t)st.total_views, "unique_users", (json_int_t)st.unique_users,
                      "top_paths", paths);
    if (reply != NULL && type_len > 0) {
        json_object_set_new(reply, "event_type", json_string(event_type));
    }
    stats_clear(&st);
    return http_send_json(conn, 200, reply);
}

/* From the rollups the processors keep: a few documents, however many events. */
static int
handle_stats(struct mg_connection *conn, void *arg)
{
    return answer_stats(conn, arg, query_stats_rollups);
}

/* From the raw events, with one aggregation over the site-day. */
static int
handle_stats_aggregated(struct mg_connection *conn, void *arg)
{
    return answer_stats(conn, arg, query_stats_events);
}

int
reporting_deps(void *ctx, struct app_err *err)
{
    struct reporting *r = ctx;
    return store_ping(r->store, err);
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    metrics_single(&b, "analytics_mongodb_errors_total", "counter",
                   "Failed MongoDB queries (answered 503).", (double)atomic_load(&r->mongo_errors));
    metrics_single(&b, "analytics_db_busy_total", "counter",
                   "Requests answered 503 at once because MAX_DB_REQUESTS were already waiting "
                   "on MongoDB.",
                   (double)atomic_load(&r->db_busy));
    store_render_metrics(r->store, &b);
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route reporting_routes[] = {
    {"GET", "/stats", handle_stats, 0},
    {"GET", "/stats/aggregated", handle_stats_aggregated, 0},
    {"GET", "/events", reporting_handle_events, 0},
    DASHBOARD_ROUTES,
    SVC_PROBE_ROUTES,
    {"GET", "/metrics", handle_metrics, SVC_OPEN_ROUTE},
};
const size_t reporting_n_routes = sizeof reporting_routes / sizeof reporting_routes[0];
