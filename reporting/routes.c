/* routes.c - reporting's route table and HTTP answers: GET /stats, /stats/timeseries and
 * /stats/breakdown (each also from the raw events: /aggregated), /metrics, and the
 * MAX_DB_REQUESTS slots every read of MongoDB takes. */
#include <errno.h>
#include <string.h>

#include "dashboard.h"
#include "event.h"
#include "params.h"
#include "query_aggregated.h"
#include "query_breakdown.h"
#include "query_series.h"
#include "query_stats.h"
#include "range.h"
#include "reporting.h"
#include "svc.h"
#include "text.h"
#include "ts.h"

#define MISSING_PARAMS "Missing required parameters: site_id, date (YYYY-MM-DD)"
#define MISSING_SERIES "Missing required parameters: site_id, from, to (YYYY-MM-DD), interval"
#define MISSING_BREAKDOWN                                                                          \
    "Missing required parameters: site_id, date or from and to (YYYY-MM-DD), by"

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

/* The parameters every figure shares: the site, the days (date, or from and to), the type. */
struct req {
    char site_id[EVENT_SITE_ID_MAX + 1], date[16], from[16], to[16];
    char event_type[EVENT_TYPE_MAX + 1];
    int date_len, from_len, to_len, type_len;
    struct day_range days;
};

/* Read them from the query string into q. Returns 0, or the HTTP status of the 400 sent
 * (`missing`: the message when site_id or every day parameter is absent). */
static int
read_req(struct mg_connection *conn, const char *qs, struct req *q, const char *missing)
{
    int site_len = reporting_param(qs, "site_id", q->site_id, EVENT_SITE_ID_MAX);
    const char *bad;

    q->date_len = reporting_param(qs, "date", q->date, 10);
    q->from_len = reporting_param(qs, "from", q->from, 10);
    q->to_len = reporting_param(qs, "to", q->to, 10);
    q->type_len = reporting_param(qs, "event_type", q->event_type, EVENT_TYPE_MAX);
    if (site_len == 0 || (q->date_len == 0 && q->from_len == 0 && q->to_len == 0)) {
        return http_send_error(conn, 400, "%s", missing);
    }
    if (site_len < 0) {
        return http_send_error(conn, 400, "Parameter 'site_id' must be 1-%d bytes of UTF-8",
                               EVENT_SITE_ID_MAX);
    }
    bad = range_parse(q->date, q->date_len, q->from, q->from_len, q->to, q->to_len, &q->days);
    if (bad != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if (q->type_len < 0) {
        return http_send_error(conn, 400, "Parameter 'event_type' must be 1-%d bytes of UTF-8",
                               EVENT_TYPE_MAX);
    }
    return 0;
}

/* May this request read site_id, and is there a MAX_DB_REQUESTS slot for it? Returns 0
 * with the slot taken, or the status of the 403 or 503 sent. */
static int
db_slot(struct mg_connection *conn, struct reporting *r, const char *site_id)
{
    int rc = reporting_may_read(conn, r, site_id);
    return rc != 0 ? rc : reporting_db_enter(conn, r);
}

/* Release the slot; on a failed query (rc != 0), send the 400 of a read refused for its
 * size (ERR_INVALID, with its message), or log it and send the 503. Returns 0 when the
 * query succeeded, else the status sent. */
static int
db_done(struct mg_connection *conn, struct reporting *r, int rc, const struct app_err *err)
{
    reporting_db_leave(r);
    if (rc != 0 && err->code == ERR_INVALID) {
        return http_send_error(conn, 400, "%s", err->msg);
    }
    return rc == 0 ? 0 : reporting_db_failed(conn, r, "stats", err);
}

/* {"site_id", "date" or "from" and "to"}: the head of every figure's answer, in the contract's
 * (docs/api.md) order. NULL out of memory. */
static json_t *
reply_head(const struct req *q)
{
    return q->date_len > 0
               ? json_pack("{s:s,s:s}", "site_id", q->site_id, "date", q->date)
               : json_pack("{s:s,s:s,s:s}", "site_id", q->site_id, "from", q->from, "to", q->to);
}

/* Over more than one day, an answer's unique_users counts a visitor known by ingest's daily
 * hash (visitor_source "hash", ingest/visitor.h) once per day it came: such a visitor has a
 * new id each day, so for them the figure is a sum of days. The answer says so with
 * "hashed_visitors":"per_day" (docs/api.md). Returns 0, or -1 when out of memory. */
static int
note_hashed(json_t *reply, const struct req *q)
{
    return q->days.days > 1 ? json_object_set_new(reply, "hashed_visitors", json_string("per_day"))
                            : 0;
}

/* Add "event_type" to a reply when the request narrowed to one, then send it (a NULL
 * reply: out of memory, which the send reports). */
static int
send_reply(struct mg_connection *conn, const struct req *q, json_t *reply)
{
    if (reply != NULL && q->type_len > 0 &&
        json_object_set_new(reply, "event_type", json_string(q->event_type)) != 0) {
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    }
    return http_send_json(conn, 200, reply);
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

    if ((status = read_req(conn, mg_get_request_info(conn)->query_string, &q, MISSING_PARAMS)) !=
            0 ||
        (status = db_slot(conn, r, q.site_id)) != 0) {
        return status;
    }
    status = query(r->store, q.site_id, &q.days, q.type_len > 0 ? q.event_type : NULL, &st, &err);
    if ((status = db_done(conn, r, status, &err)) != 0) {
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
    reply = reply_head(&q);
    /* json_object_set_new() takes its value, also when it fails (out of memory): the reply
     * is then dropped, and the send below fails and says so. */
    dropped = reply == NULL ||
              json_object_set_new(reply, "total_views", json_integer(st.total_views)) != 0 ||
              json_object_set_new(reply, "unique_users", json_integer(st.unique_users)) != 0 ||
              note_hashed(reply, &q) != 0;
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
    return send_reply(conn, &q, reply);
}

/* GET /stats/timeseries and /stats/timeseries/aggregated: the points of every bucket. */
static int
answer_series(struct mg_connection *conn, struct reporting *r, query_series_fn query)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char interval[8];
    int interval_len = reporting_param(qs, "interval", interval, 4);
    struct req q;
    struct series ts;
    struct app_err err = {0};
    const char *bad;
    int64_t step;
    json_t *reply, *points;
    int status;

    if ((status = read_req(conn, qs, &q, MISSING_SERIES)) != 0) {
        return status;
    }
    if ((bad = range_interval(interval, interval_len, &q.days, &step)) != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = db_slot(conn, r, q.site_id)) != 0) {
        return status;
    }
    status =
        query(r->store, q.site_id, &q.days, step, q.type_len > 0 ? q.event_type : NULL, &ts, &err);
    if ((status = db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    points = json_array();
    for (int64_t i = 0; points != NULL && i < ts.n; i++) {
        char t[RANGE_T_LEN];
        json_t *pt;
        range_bucket_time(&q.days, step, i, t);
        pt = json_pack("{s:s,s:I,s:I}", "t", t, "views", (json_int_t)ts.views[i], "unique_users",
                       (json_int_t)ts.users[i]);
        /* A lower bound: the hour's set of users was full (docs/api.md). */
        if (pt != NULL && ts.capped[i] &&
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
    reply = reply_head(&q);
    if (reply == NULL || points == NULL ||
        json_object_set_new(reply, "interval", json_string(interval)) != 0) {
        json_decref(points);
        json_decref(reply);
        reply = NULL;
    } else if (json_object_set_new(reply, "points", points) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return send_reply(conn, &q, reply);
}

/* GET /stats/breakdown and /stats/breakdown/aggregated: the top values of `by`. */
static int
answer_breakdown(struct mg_connection *conn, struct reporting *r, query_breakdown_fn query)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char by_s[16], limit_s[8];
    int by_len = reporting_param(qs, "by", by_s, 10),
        limit_len = reporting_param(qs, "limit", limit_s, 4);
    struct req q;
    struct breakdown bd;
    struct app_err err = {0};
    const char *bad;
    int by, limit, status, users;
    json_t *reply, *values;

    if ((status = read_req(conn, qs, &q, MISSING_BREAKDOWN)) != 0) {
        return status;
    }
    if (q.type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply to "
                               "/stats/breakdown; use by=event_type");
    }
    if ((bad = range_by(by_s, by_len, &by)) != NULL ||
        (bad = range_limit(limit_s, limit_len, BREAKDOWN_DEFAULT, BREAKDOWN_MAX, &limit)) != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = db_slot(conn, r, q.site_id)) != 0) {
        return status;
    }
    status = query(r->store, q.site_id, &q.days, by, limit, &bd, &err);
    if ((status = db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    values = json_array();
    for (size_t i = 0; values != NULL && i < bd.n; i++) {
        json_t *row = json_pack("{s:s,s:I}", "value", bd.rows[i].value, "views",
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
    reply = reply_head(&q);
    if (reply == NULL || values == NULL ||
        json_object_set_new(reply, "by", json_string(range_by_names[by])) != 0) {
        json_decref(values);
        json_decref(reply);
        reply = NULL;
    } else if (json_object_set_new(reply, "values", values) != 0 ||
               (users && note_hashed(reply, &q) != 0)) {
        json_decref(reply);
        reply = NULL;
    }
    return send_reply(conn, &q, reply);
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
    const struct metrics_row rows[] = {
        {"analytics_mongodb_errors_total", "counter", "Failed MongoDB queries (answered 503).",
         NULL, NULL, (double)atomic_load(&r->mongo_errors), NULL, NULL, NULL},
        {"analytics_db_busy_total", "counter",
         "Requests answered 503 at once because MAX_DB_REQUESTS were already waiting "
         "on MongoDB.",
         NULL, NULL, (double)atomic_load(&r->db_busy), NULL, NULL, NULL},
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
    DASHBOARD_ROUTES,
    SVC_PROBE_ROUTES,
    {"GET", "/metrics", handle_metrics, SVC_OPEN_ROUTE},
};
const size_t reporting_n_routes = sizeof reporting_routes / sizeof reporting_routes[0];
