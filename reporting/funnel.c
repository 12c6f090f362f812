/* funnel.c - GET /stats/funnel (docs/api.md): for each of 2 to 8 steps, the visitors with a
 * visit that started in the range and reached it, in order, and the drop-off from the step
 * before; one aggregation over the raw events, matched visit by visit in C (funnel_plan.h). */
#include <string.h>

#include "dbread.h"
#include "event_doc.h"
#include "funnel_plan.h"
#include "goals_plan.h"
#include "params.h"
#include "query_scan.h"
#include "request.h"

#define FUNNEL_ERR_TOO_MANY                                                                        \
    "The funnel's first step has more than 100000 visitors in the range, too many to count: ask "  \
    "a shorter range"

/* Each event of the aggregation into the walk (arg). */
static int
funnel_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    int rc =
        funnel_walk_event(arg, dbread_utf8(doc, EVDOC_VISIT_ID), dbread_utf8(doc, EVDOC_USER_ID),
                          dbread_utf8(doc, EVDOC_EVENT_TYPE), dbread_utf8(doc, EVDOC_PATH));

    if (rc > 0) {
        return err_set(err, ERR_INVALID, FUNNEL_ERR_TOO_MANY);
    }
    return rc < 0 ? err_set(err, ERR_INTERNAL, "out of memory") : DBREAD_NEXT;
}

/* A kept visit of a filtered funnel (scan.h's visit_fn) into the walk (arg). */
static int
walk_visit(void *arg, const struct scan_event *ev, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = funnel_walk_event(arg, ev[i].visit_id, ev[i].user_id, ev[i].type, ev[i].path);
    }
    return rc;
}

/* Each step of f's visitors over r on site_id (with the filters fs: the visits they keep)
 * into visitors[0..f->n). Returns 0, or -1 with err (ERR_INVALID past FUNNEL_VISITORS_MAX,
 * or past the scan's bounds). */
static int
query_funnel(store_t *s, const char *site_id, const struct day_range *r, const struct funnel *f,
             const struct filters *fs, int64_t visitors[FUNNEL_STEPS_MAX], struct app_err *err)
{
    bson_t *pipeline = funnel_pipeline(site_id, r, f), *opts = funnel_opts();
    struct funnel_walk w;
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .opts = opts,
                             .what = "mongodb funnel",
                             .each = funnel_doc,
                             .arg = &w};
    int rc;

    funnel_walk_init(&w, f);
    if (fs->n > 0) {
        /* Filtered: the kept visits of the raw events (scan.h), each walked whole. */
        struct scan sc;
        if (scan_init(&sc, fs, r, SCAN_ONE, 0, NULL) != 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        } else {
            sc.visit_fn = walk_visit;
            sc.visit_arg = &w;
            rc = query_scan(s, site_id, &sc, err);
        }
        scan_cleanup(&sc);
    } else {
        rc = dbread_run(s, &q, err);
    }
    if (rc == 0 && (rc = funnel_walk_end(&w)) != 0) {
        rc = rc > 0 ? err_set(err, ERR_INVALID, FUNNEL_ERR_TOO_MANY)
                    : err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (rc == 0) {
        funnel_walk_counts(&w, visitors);
    }
    funnel_walk_cleanup(&w);
    bson_destroy(opts);
    bson_destroy(pipeline);
    return rc;
}

/* The steps as the answer's list: {"step", "visitors", "dropoff", "conversion_rate"}. NULL
 * out of memory. */
static json_t *
steps_json(const struct funnel *f, const int64_t visitors[FUNNEL_STEPS_MAX])
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < f->n; i++) {
        char name[FUNNEL_VALUE_MAX + 8];
        int64_t drop = i > 0 ? visitors[i - 1] - visitors[i] : 0;
        if (json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:f}", "step",
                                                  funnel_step_name(&f->steps[i], name, sizeof name),
                                                  "visitors", (json_int_t)visitors[i], "dropoff",
                                                  (json_int_t)drop, "conversion_rate",
                                                  goals_rate(visitors[i], visitors[0]))) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

int
reporting_handle_funnel(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    const char *qs = mg_get_request_info(conn)->query_string;
    char steps[FUNNEL_PARAM_MAX + 1], bad[160];
    int steps_len = reporting_param(qs, "steps", steps, FUNNEL_PARAM_MAX);
    struct funnel f;
    struct req q;
    struct app_err err = {0};
    int64_t visitors[FUNNEL_STEPS_MAX] = {0};
    json_t *reply, *list;
    int status;

    if ((status = req_read(conn, qs, &r->cfg.tzs, &q, REQ_MISSING_DAYS)) != 0) {
        return status;
    }
    if (q.type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply to /stats/funnel; use steps");
    }
    if (funnel_parse(steps, steps_len, &f, bad, sizeof bad) != 0) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    status = query_funnel(r->store, q.site_id, &q.days, &f, &q.filters, visitors, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    list = steps_json(&f, visitors);
    reply = req_reply_head(&q);
    if (reply == NULL || list == NULL) {
        json_decref(list);
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    } else if (json_object_set_new(reply, "steps", list) != 0 || req_note_hashed(reply, &q) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return req_send(conn, &q, reply);
}
