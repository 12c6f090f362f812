/* goals.c - GET /stats/goals (docs/api.md): the custom events of a range with their converted
 * visitors, events and conversion rate, or one goal's by a property; one aggregation over
 * the raw events (goals_plan.h) and the site's visitors as /stats/summary counts them. */
#include <string.h>

#include "dbread.h"
#include "goals_plan.h"
#include "params.h"
#include "query_scan.h"
#include "query_stats.h"
#include "request.h"

#define GOALS_ERR_TOO_MANY                                                                         \
    "The range has more than 1000 goals or values of the property, too many to count: ask a "      \
    "shorter range"

/* The aggregation's one document into the rows (arg, a struct goal_read). */
struct goal_read {
    int none;
    struct goal_rows *rows;
};

static int
goal_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    const struct goal_read *g = arg;
    int rc = goal_rows_of(doc, g->none, g->rows);

    if (rc > 0) {
        return err_set(err, ERR_INVALID, GOALS_ERR_TOO_MANY);
    }
    return rc < 0 ? err_set(err, ERR_INTERNAL, "out of memory") : DBREAD_STOP;
}

/* The goals (or goal's values by key: key not "") of site_id over r into rows, and the site's
 * visitors over r (/stats/summary's figure) into *visitors. Returns 0, or -1 with err (rows
 * empty). */
static int
query_goals(store_t *s, const char *site_id, const struct day_range *r, const char *goal,
            const char *key, struct goal_rows *rows, int64_t *visitors, struct app_err *err)
{
    bson_t *pipeline = goals_pipeline(site_id, r, goal, key);
    struct goal_read g = {.none = key[0] != '\0', .rows = rows};
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .what = "mongodb goals",
                             .each = goal_doc,
                             .arg = &g};
    char **ids = query_scope_ids(site_id, r, NULL);
    struct stats st = {0};
    int rc;

    memset(rows, 0, sizeof *rows);
    rc = ids == NULL ? err_set(err, ERR_INTERNAL, "out of memory") : dbread_run(s, &q, err);
    if (rc == 0 && (rc = query_stats_scopes(s, site_id, ids, r, &st, err)) == 0) {
        *visitors = st.unique_users;
    }
    if (rc != 0) {
        goal_rows_clear(rows);
    }
    stats_clear(&st);
    query_free_ids(ids, ids != NULL ? r->days : 0);
    bson_destroy(pipeline);
    return rc;
}

/* query_goals() with q's filters, from the raw events (scan.h): the goals are the rows of a
 * breakdown by event type (without the tracker's types), or by the property with the goal
 * as one more filter; the site's visitors those of the filtered summary. */
static int
query_goals_scan(store_t *s, const struct req *q, const char *goal, const char *key,
                 struct goal_rows *rows, int64_t *visitors, struct app_err *err)
{
    struct filters fs = q->filters;
    struct filter_dimension by = {.dim = key[0] != '\0' ? FILTER_PROP : FILTER_EVENT_TYPE};
    struct scan sc;
    struct summary site;
    int rc;

    memset(rows, 0, sizeof *rows);
    memcpy(by.key, key, strlen(key) + 1);
    if (goal != NULL) { /* room for it: FILTER_SLOTS */
        struct filter *f = &fs.f[fs.n++];
        memset(f, 0, sizeof *f);
        f->d.dim = FILTER_EVENT_TYPE;
        f->op = FILTER_IS;
        memcpy(f->value, goal, strlen(goal) + 1);
    }
    if ((rc = query_scan_summary(s, q->site_id, &q->days, &q->filters, &site, err)) != 0) {
        return rc;
    }
    *visitors = site.visitors;
    if (scan_init(&sc, &fs, &q->days, SCAN_VALUES, 0, &by) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if ((rc = query_scan(s, q->site_id, &sc, err)) == 0 &&
        (rows->rows = malloc((sc.n_rows + 1) * sizeof *rows->rows)) == NULL) {
        rc = err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < sc.n_rows; i++) {
        const struct scan_row *r = &sc.rows[i];
        if (key[0] == '\0' && goals_builtin(r->value)) {
            continue;
        }
        if (rows->n == GOALS_VALUES_MAX) {
            rc = err_set(err, ERR_INVALID, GOALS_ERR_TOO_MANY);
            break;
        }
        rows->rows[rows->n++] = (struct goal_row){r->value, r->s.visitors, r->s.events};
        sc.rows[i].value = NULL; /* now the row's */
    }
    scan_cleanup(&sc);
    if (rc != 0) {
        goal_rows_clear(rows);
    }
    return rc;
}

/* The rows as the answer's list: {"goal" or "value": name, "visitors", "events",
 * "conversion_rate"}. NULL out of memory. */
static json_t *
rows_json(const struct goal_rows *rows, const char *name, int64_t visitors)
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < rows->n; i++) {
        const struct goal_row *row = &rows->rows[i];
        if (json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:f}", name, row->name, "visitors",
                                                  (json_int_t)row->visitors, "events",
                                                  (json_int_t)row->events, "conversion_rate",
                                                  goals_rate(row->visitors, visitors))) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

int
reporting_handle_goals(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    const char *qs = mg_get_request_info(conn)->query_string;
    char goal[EVENT_TYPE_MAX + 1], by[GOALS_KEY_MAX + 8], key[GOALS_KEY_MAX + 1], limit_s[8];
    int goal_len = reporting_param(qs, "goal", goal, EVENT_TYPE_MAX),
        by_len = reporting_param(qs, "by", by, GOALS_KEY_MAX + 6),
        limit_len = reporting_param(qs, "limit", limit_s, 4);
    struct req q;
    struct goal_rows rows;
    struct app_err err = {0};
    int64_t visitors = 0;
    const char *bad;
    json_t *reply, *list;
    int limit, status;

    if ((status = req_read(conn, qs, &r->cfg.tzs, &q, REQ_MISSING_DAYS)) != 0) {
        return status;
    }
    if (q.type_len != 0) {
        return http_send_error(conn, 400,
                               "Parameter 'event_type' does not apply to /stats/goals; use goal");
    }
    if ((bad = goals_params(goal, goal_len, by, by_len, key)) != NULL ||
        (bad = range_limit(limit_s, limit_len, BREAKDOWN_DEFAULT, BREAKDOWN_MAX, &limit)) != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = req_db_slot(conn, r, &q)) != 0) {
        return status;
    }
    status = q.filters.n > 0 ? query_goals_scan(r->store, &q, goal_len > 0 ? goal : NULL, key,
                                                &rows, &visitors, &err)
                             : query_goals(r->store, q.site_id, &q.days, goal_len > 0 ? goal : NULL,
                                           key, &rows, &visitors, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        return status;
    }
    goal_rows_rank(&rows, (size_t)limit);
    list = rows_json(&rows, key[0] != '\0' ? "value" : "goal", visitors);
    goal_rows_clear(&rows);
    reply = req_reply_head(&q);
    if (reply == NULL || list == NULL ||
        (goal_len > 0 && json_object_set_new(reply, "goal", json_string(goal)) != 0) ||
        (key[0] != '\0' && json_object_set_new(reply, "by", json_string(by)) != 0) ||
        json_object_set_new(reply, "visitors", json_integer(visitors)) != 0 ||
        req_note_hashed(reply, &q) != 0) {
        json_decref(list);
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    } else if (json_object_set_new(reply, key[0] != '\0' ? "values" : "goals", list) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return req_send(conn, &q, reply);
}
