/* routes.c - reporting's route table and HTTP answers: GET /stats, /stats/timeseries and
 * /stats/breakdown (each also from the raw events: /aggregated), /metrics, and the
 * MAX_DB_REQUESTS slots every read of MongoDB takes. */
#include <errno.h>
#include <string.h>

#include "breakdown_scan.h"
#include "dashboard.h"
#include "event.h"
#include "params.h"
#include "query_aggregated.h"
#include "query_breakdown.h"
#include "query_scan.h"
#include "query_series.h"
#include "query_stats.h"
#include "query_visits.h"
#include "range.h"
#include "reporting.h"
#include "request.h"
#include "svc.h"
#include "text.h"
#include "ts.h"

#define MISSING_PARAMS "Missing required parameters: site_id, date (YYYY-MM-DD)"
#define MISSING_SERIES "Missing required parameters: site_id, from, to (YYYY-MM-DD), interval"
#define MISSING_BREAKDOWN                                                                          \
    "Missing required parameters: site_id, date or from and to (YYYY-MM-DD), by"

/* Whether a request's filters may be answered (a route from the rollups, answered by the
 * scan instead; `what` names the raw events' variant, which takes none): 0, or the status of
 * the 400 sent. */
static int
filters_apply(struct mg_connection *conn, const struct req *q, int rollups, const char *what)
{
    if (!rollups) {
        return http_send_error(conn, 400, REQ_NO_FILTERS, what);
    }
    if (q->type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply with 'filter'; use "
                               "filter=event_type:is:<type>");
    }
    return 0;
}

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
    /* It fails only past SEM_VALUE_MAX posts, which one post per taken slot never reaches. */
    if (sem_post(&r->db_slots) != 0) {
        LOG_ERROR("sem_post: %s", strerror(errno));
    }
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
    struct req q;
    struct stats st;
    struct app_err err = {0};
    json_t *reply, *paths;
    int status, dropped;

    if ((status = req_read(conn, mg_get_request_info(conn)->query_string, &r->cfg.tzs, &q,
                           MISSING_PARAMS)) != 0) {
        return status;
    }
    if (q.filters.n > 0) {
        return http_send_error(conn, 400, REQ_NO_FILTERS "; use /stats/summary or /stats/breakdown",
                               query == query_stats_rollups ? "/stats" : "/stats/aggregated");
    }
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    status = query(r->store, q.site_id, &q.days, q.type_len > 0 ? q.event_type : NULL, &st, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    paths = json_array();
    for (size_t i = 0; paths != NULL && i < st.top_paths.n; i++) {
        const struct breakdown_row *row = &st.top_paths.rows[i];
        if (json_array_append_new(paths, json_pack("{s:s,s:I}", "path", row->value, "views",
                                                   (json_int_t)row->views)) != 0) {
            json_decref(paths);
            paths = NULL; /* out of memory: the reply below fails, and says so */
        }
    }
    reply = req_reply_head(&q);
    /* json_object_set_new() takes its value, also when it fails (out of memory): the reply
     * is then dropped, and the send below fails and says so. */
    dropped = reply == NULL ||
              json_object_set_new(reply, "total_views", json_integer(st.total_views)) != 0 ||
              json_object_set_new(reply, "unique_users", json_integer(st.unique_users)) != 0 ||
              req_note_hashed(reply, &q) != 0;
    if (dropped) {
        json_decref(paths);
    } else {
        dropped = json_object_set_new(reply, "top_paths", paths) != 0;
    }
    if (dropped) {
        json_decref(reply);
        reply = NULL;
    }
    stats_clear(&st);
    return req_send(conn, &q, reply);
}

/* Point i of a series with metric= (figure f, enum summary_figure): {"t", "<figure>": value},
 * from the views and users of ts and the visits of v (NULL: not read, for visitors and
 * events). NULL out of memory. */
static json_t *
metric_point(const char *t, int f, const struct series *ts, const struct visit_series *v, int64_t i)
{
    struct summary b = {.visitors = ts->users[i],
                        .events = ts->views[i],
                        .pageviews = v != NULL ? v->pageviews[i] : 0,
                        .visits = v != NULL ? v->visits[i] : 0,
                        .bounces = v != NULL ? v->bounces[i] : 0,
                        .duration_ms = v != NULL ? v->duration_ms[i] : 0};
    double x = summary_figure(&b, f);

    return json_pack("{s:s,s:o}", "t", t, summary_figure_names[f],
                     f < SUMMARY_COUNTS ? json_integer((json_int_t)x) : json_real(x));
}

/* GET /stats/timeseries and /stats/timeseries/aggregated: the points of every bucket; on the
 * first, with metric=, one figure of the first row a point (query_visits.h). */
static int
answer_series(struct mg_connection *conn, struct reporting *r, query_series_fn query)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char interval[8], metric_s[24];
    int interval_len = reporting_param(qs, "interval", interval, 4),
        metric_len = reporting_param(qs, "metric", metric_s, 16),
        metric = summary_figure_of(metric_s, metric_len);
    struct req q;
    struct series ts;
    struct visit_series vs = {0};
    struct app_err err = {0};
    const char *bad;
    int64_t step;
    json_t *reply, *points;
    int status;

    if ((status = req_read(conn, qs, &r->cfg.tzs, &q, MISSING_SERIES)) != 0) {
        return status;
    }
    if ((bad = range_interval(interval, interval_len, &q.days, &step)) != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if (metric_len != 0 && (metric < 0 || query != query_series_rollups)) {
        return http_send_error(conn, 400,
                               query != query_series_rollups
                                   ? "Parameter 'metric' does not apply to "
                                     "/stats/timeseries/aggregated"
                                   : "Parameter 'metric' must be visitors, visits, pageviews, "
                                     "events, views_per_visit, bounce_rate or visit_duration");
    }
    if (metric_len != 0 && q.type_len != 0) {
        return http_send_error(conn, 400, "Parameter 'event_type' does not apply with 'metric'");
    }
    if (q.filters.n > 0 && (status = filters_apply(conn, &q, query == query_series_rollups,
                                                   "/stats/timeseries/aggregated")) != 0) {
        return status;
    }
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    /* Visitors and events are the series' own users and views; the others need the visits. */
    int visits = metric_len > 0 && metric != SUMMARY_VISITORS && metric != SUMMARY_EVENTS;
    if (q.filters.n > 0) {
        status = query_scan_series(r->store, q.site_id, &q.days, step, &q.filters, &ts, &vs, &err);
    } else {
        status = query(r->store, q.site_id, &q.days, step, q.type_len > 0 ? q.event_type : NULL,
                       &ts, &err);
        if (status == 0 && visits &&
            (status = query_visit_series(r->store, q.site_id, &q.days, step, &vs, &err)) != 0) {
            series_clear(&ts);
        }
    }
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    points = json_array();
    for (int64_t i = 0; points != NULL && i < ts.n; i++) {
        char t[RANGE_T_LEN];
        json_t *pt;
        range_bucket_time(&q.days, step, i, t);
        pt = metric_len > 0 ? metric_point(t, metric, &ts, visits ? &vs : NULL, i)
                            : json_pack("{s:s,s:I,s:I}", "t", t, "views", (json_int_t)ts.views[i],
                                        "unique_users", (json_int_t)ts.users[i]);
        /* A lower bound: the hour's set of users was full (docs/api.md). */
        if (pt != NULL && ts.capped[i] && (metric_len == 0 || metric == SUMMARY_VISITORS) &&
            json_object_set_new(pt, "unique_users_capped", json_true()) != 0) {
            json_decref(pt);
            pt = NULL;
        }
        if (pt == NULL || json_array_append_new(points, pt) != 0) {
            json_decref(points);
            points = NULL;
        }
    }
    series_clear(&ts);
    visit_series_clear(&vs);
    reply = req_reply_head(&q);
    if (reply == NULL || points == NULL ||
        json_object_set_new(reply, "interval", json_string(interval)) != 0 ||
        (metric_len > 0 &&
         json_object_set_new(reply, "metric", json_string(summary_figure_names[metric])) != 0)) {
        json_decref(points);
        json_decref(reply);
        reply = NULL;
    } else if (json_object_set_new(reply, "points", points) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return req_send(conn, &q, reply);
}

/* GET /stats/breakdown and /stats/breakdown/aggregated: the top values of `by`. */
static int
answer_breakdown(struct mg_connection *conn, struct reporting *r, query_breakdown_fn query)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char by_s[FILTER_KEY_MAX + 8], limit_s[8];
    int by_len = reporting_param(qs, "by", by_s, FILTER_KEY_MAX + 6),
        limit_len = reporting_param(qs, "limit", limit_s, 5);
    struct req q;
    struct breakdown bd;
    struct app_err err = {0};
    const char *bad;
    int by, limit, status, users;
    json_t *reply, *values;

    if ((status = req_read(conn, qs, &r->cfg.tzs, &q, MISSING_BREAKDOWN)) != 0) {
        return status;
    }
    if (q.type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply to "
                               "/stats/breakdown; use by=event_type");
    }
    if (query == query_breakdown_rollups) {
        struct filter_dimension dim;
        /* The rollups keep five dimensions and their top 100; the others, and every filter,
         * are counted from the raw events (breakdown_scan.h). */
        if (by_len <= 0 || filter_dimension_parse(by_s, (size_t)by_len, &dim) != 0) {
            return http_send_error(conn, 400, "%s", BREAKDOWN_ERR_BY);
        }
        if (range_limit(limit_s, limit_len, BREAKDOWN_DEFAULT, BREAKDOWN_SCAN_MAX, &limit) !=
            NULL) {
            return http_send_error(conn, 400, "Parameter 'limit' must be an integer from 1 to %d",
                                   BREAKDOWN_SCAN_MAX);
        }
        if (q.filters.n > 0 || limit > BREAKDOWN_MAX || range_by(by_s, by_len, &by) != NULL) {
            return breakdown_scan_answer(conn, r, &q, &dim, limit);
        }
    }
    if (q.filters.n > 0 &&
        (status = filters_apply(conn, &q, 0, "/stats/breakdown/aggregated")) != 0) {
        return status;
    }
    if ((bad = range_by(by_s, by_len, &by)) != NULL ||
        (bad = range_limit(limit_s, limit_len, BREAKDOWN_DEFAULT, BREAKDOWN_MAX, &limit)) != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    status = query(r->store, q.site_id, &q.days, by, limit, &bd, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    values = json_array();
    for (size_t i = 0; values != NULL && i < bd.n; i++) {
        /* Entry and exit pages: visits and bounces (query_visits.h), the bounce rate as
         * /stats/summary gives it. */
        struct summary pages = {.visits = bd.rows[i].views, .bounces = bd.rows[i].users};
        json_t *row =
            by == RANGE_BY_ENTRY_PAGE || by == RANGE_BY_EXIT_PAGE
                ? json_pack("{s:s,s:I,s:f}", "value", bd.rows[i].value, "visits",
                            (json_int_t)pages.visits, "bounce_rate", summary_bounce_rate(&pages))
                : json_pack("{s:s,s:I}", "value", bd.rows[i].value, "views",
                            (json_int_t)bd.rows[i].views);
        if (row != NULL && bd.has_users &&
            json_object_set_new(row, "unique_users", json_integer(bd.rows[i].users)) != 0) {
            json_decref(row);
            row = NULL; /* out of memory: the append below fails, and the reply says so */
        }
        if (json_array_append_new(values, row) != 0) {
            json_decref(values);
            values = NULL;
        }
    }
    users = bd.has_users;
    breakdown_clear(&bd);
    reply = req_reply_head(&q);
    if (reply == NULL || values == NULL ||
        json_object_set_new(reply, "by", json_string(range_by_names[by])) != 0) {
        json_decref(values);
        json_decref(reply);
        reply = NULL;
    } else if (json_object_set_new(reply, "values", values) != 0 ||
               (users && req_note_hashed(reply, &q) != 0)) {
        json_decref(reply);
        reply = NULL;
    }
    return req_send(conn, &q, reply);
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
    return answer_stats(conn, arg, query_aggregated_stats);
}

/* From the site-day or site-hour rollups. */
static int
handle_series(struct mg_connection *conn, void *arg)
{
    return answer_series(conn, arg, query_series_rollups);
}

/* From the raw events of the range. */
static int
handle_series_aggregated(struct mg_connection *conn, void *arg)
{
    return answer_series(conn, arg, query_aggregated_series);
}

/* From the type, path and referrer rollups. */
static int
handle_breakdown(struct mg_connection *conn, void *arg)
{
    return answer_breakdown(conn, arg, query_breakdown_rollups);
}

/* From the raw events of the range. */
static int
handle_breakdown_aggregated(struct mg_connection *conn, void *arg)
{
    return answer_breakdown(conn, arg, query_aggregated_breakdown);
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
    static const char scans[] =
        "Reads of filtered figures and of breakdowns by a visit's dimensions, by what answered "
        "them: the rollups of the visits' dimensions, or the raw events.";
    const struct metrics_row rows[] = {
        {"analytics_mongodb_errors_total", "counter", "Failed MongoDB queries (answered 503).",
         NULL, NULL, (double)atomic_load(&r->mongo_errors), NULL, NULL, NULL},
        {"analytics_db_busy_total", "counter",
         "Requests answered 503 at once because MAX_DB_REQUESTS were already waiting "
         "on MongoDB.",
         NULL, NULL, (double)atomic_load(&r->db_busy), NULL, NULL, NULL},
        {"analytics_scan_reads_total", "counter", scans, "from", "rollups",
         (double)atomic_load(&query_scan_from_rollups), NULL, NULL, NULL},
        {"analytics_scan_reads_total", "counter", scans, "from", "raw",
         (double)atomic_load(&query_scan_from_raw), NULL, NULL, NULL},
        {"analytics_exports_running", "gauge",
         "Exports (GET /export) being streamed now, at most EXPORT_MAX_STREAMS.", NULL, NULL,
         (double)atomic_load(&r->exports), NULL, NULL, NULL},
    };
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    METRICS_TABLE(&b, rows);
    store_render_metrics(r->store, &b);
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route reporting_routes[] = {
    {"GET", "/stats", handle_stats, 0},
    {"GET", "/stats/aggregated", handle_stats_aggregated, 0},
    {"GET", "/events", reporting_handle_events, 0},
    {"GET", "/stats/timeseries", handle_series, 0},
    {"GET", "/stats/timeseries/aggregated", handle_series_aggregated, 0},
    {"GET", "/stats/breakdown", handle_breakdown, 0},
    {"GET", "/stats/breakdown/aggregated", handle_breakdown_aggregated, 0},
    {"GET", "/stats/summary", reporting_handle_summary, 0},
    {"GET", "/stats/realtime", reporting_handle_realtime, 0},
    {"GET", "/stats/goals", reporting_handle_goals, 0},
    {"GET", "/stats/funnel", reporting_handle_funnel, 0},
    {"GET", "/export", reporting_handle_export, HTTP_ROUTE_ADMIN},
    {"DELETE", "/sites/*", erase_handle_delete, HTTP_ROUTE_ADMIN},
    {"GET", "/jobs/*", erase_handle_job, HTTP_ROUTE_ADMIN},
    DASHBOARD_ROUTES,
    SVC_PROBE_ROUTES,
    {"GET", "/metrics", handle_metrics, SVC_OPEN_ROUTE},
};
const size_t reporting_n_routes = sizeof reporting_routes / sizeof reporting_routes[0];
