/* visits.c - the first row's routes: GET /stats/summary (a range's visitors, visits, page
 * views, events, views per visit, bounce rate and visit duration, with the period before it
 * on compare=previous) and GET /stats/realtime (the visitors of the last five minutes and
 * the pages they are on). docs/api.md has their answers and errors. */
#include <math.h>
#include <string.h>

#include "params.h"
#include "query_realtime.h"
#include "query_scan.h"
#include "query_visits.h"
#include "request.h"
#include "ts.h"

/* The window of GET /stats/realtime, and the most pages it lists. */
#define REALTIME_WINDOW_MS (5 * 60 * 1000)
#define REALTIME_PAGES 10

/* The figures of s into obj; and, with before (not NULL), the change of each into change.
 * Returns 0, or -1 out of memory. */
static int
put_figures(json_t *obj, const struct summary *s, json_t *change, const struct summary *before)
{
    for (int f = 0; f < SUMMARY_FIGURES; f++) {
        double v = summary_figure(s, f);
        json_t *j = f < SUMMARY_COUNTS ? json_integer((json_int_t)v) : json_real(v);
        if (json_object_set_new(obj, summary_figure_names[f], j) != 0) {
            return -1;
        }
        if (before != NULL) {
            double c = summary_change(v, summary_figure(before, f));
            if (json_object_set_new(change, summary_figure_names[f],
                                    isnan(c) ? json_null() : json_real(c)) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* {"from","to"} of the days of r. NULL out of memory. */
static json_t *
days_of(const struct day_range *r)
{
    char from[RANGE_DATE_LEN], to[RANGE_DATE_LEN];

    range_dates(r, from, to);
    return json_pack("{s:s,s:s}", "from", from, "to", to);
}

/* The summary of q's site over days, with q's filters. */
static int
summary_of(store_t *s, const struct req *q, const struct day_range *days, struct summary *out,
           struct app_err *err)
{
    return q->filters.n > 0 ? query_scan_summary(s, q->site_id, days, &q->filters, out, err)
                            : query_summary(s, q->site_id, days, out, err);
}

int
reporting_handle_summary(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    const char *qs = mg_get_request_info(conn)->query_string;
    char compare[16];
    int compare_len = reporting_param(qs, "compare", compare, 8);
    struct req q;
    struct summary now, before;
    struct day_range prev;
    struct app_err err = {0};
    json_t *reply = NULL, *past = NULL, *change = NULL;
    int status;

    if ((status = req_read(conn, qs, &r->cfg.tzs, &q, REQ_MISSING_DAYS)) != 0) {
        return status;
    }
    if (q.type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply to /stats/summary");
    }
    if (compare_len != 0 && (compare_len < 0 || strcmp(compare, "previous") != 0)) {
        return http_send_error(conn, 400, "Parameter 'compare' must be previous");
    }
    prev = range_make(q.days.z, q.days.first_day - q.days.days, q.days.days);
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    prev.raw_from_ms = q.days.raw_from_ms;
    /* Filtered: from the raw events (query_scan.h); else from the rollups. */
    status = summary_of(r->store, &q, &q.days, &now, &err) != 0 ||
                     (compare_len > 0 && summary_of(r->store, &q, &prev, &before, &err) != 0)
                 ? -1
                 : 0;
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    if (compare_len > 0) {
        past = days_of(&prev);
        change = json_object();
    }
    reply = req_reply_head(&q);
    if (reply == NULL || req_note_hashed(reply, &q) != 0 ||
        put_figures(reply, &now, change, compare_len > 0 ? &before : NULL) != 0 ||
        (compare_len > 0 &&
         (past == NULL || change == NULL || put_figures(past, &before, NULL, NULL) != 0 ||
          json_object_set(reply, "previous", past) != 0 ||
          json_object_set(reply, "change", change) != 0))) {
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    }
    json_decref(past);
    json_decref(change);
    return req_send(conn, &q, reply);
}

int
reporting_handle_realtime(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    const char *qs = mg_get_request_info(conn)->query_string;
    char site_id[EVENT_SITE_ID_MAX + 1], msg[160];
    int site_len = reporting_param(qs, "site_id", site_id, EVENT_SITE_ID_MAX);
    struct filters fs;
    struct breakdown pages;
    struct app_err err = {0};
    int64_t n;
    json_t *reply, *list;
    const struct tz *zone;
    int status;

    if (site_len == 0) {
        return http_send_error(conn, 400, "Missing required parameters: site_id");
    }
    if (filters_read(qs, &fs, msg, sizeof msg) != 0) {
        return http_send_error(conn, 400, "%s", msg);
    }
    for (int i = 0; i < fs.n; i++) {
        /* The window's events do not hold their visits whole. */
        if (FILTER_OF_PAGES(fs.f[i].d.dim)) {
            return http_send_error(conn, 400,
                                   "Filter dimension '%s' does not apply to /stats/realtime",
                                   filter_dim_names[fs.f[i].d.dim]);
        }
    }
    if (site_len < 0) {
        return http_send_error(conn, 400, "Parameter 'site_id' must be 1-%d bytes of UTF-8",
                               EVENT_SITE_ID_MAX);
    }
    if ((status = reporting_may_read(conn, r, site_id)) != 0 ||
        (status = reporting_db_enter(conn, r)) != 0) {
        return status;
    }
    status = query_realtime(r->store, site_id, &fs, ts_now_ms(), REALTIME_WINDOW_MS, REALTIME_PAGES,
                            &n, &pages, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    list = json_array();
    for (size_t i = 0; list != NULL && i < pages.n; i++) {
        if (json_array_append_new(list, json_pack("{s:s,s:I}", "path", pages.rows[i].value,
                                                  "visitors", (json_int_t)pages.rows[i].views)) !=
            0) {
            json_decref(list);
            list = NULL;
        }
    }
    breakdown_clear(&pages);
    reply = list == NULL
                ? NULL
                : json_pack("{s:s,s:i,s:I,s:o}", "site_id", site_id, "window_seconds",
                            REALTIME_WINDOW_MS / 1000, "visitors", (json_int_t)n, "pages", list);
    if (reply != NULL && fs.n > 0 &&
        json_object_set_new(reply, "filters", req_filters_json(&fs)) != 0) {
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    }
    /* The site's zone, if it has one: the dashboard counts its days there. */
    if (reply != NULL && (zone = sitetz_find(&r->cfg.tzs, site_id)) != NULL &&
        json_object_set_new(reply, "timezone", json_string(tz_name(zone))) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return http_send_json(conn, 200, reply);
}
