/* query_breakdown.c - /stats/breakdown from the rollups: the site-day-type documents of a
 * range (by event_type, with each type's distinct users), or its path or referrer documents. */
#include "query_breakdown.h"

#include <string.h>

#include "dbread.h"
#include "query_stats.h"
#include "query_visits.h"
#include "ts.h"

/* The pipeline of the event types of site_id's days in r: their views (and, one day, its
 * users) summed over the site-day-type documents, most viewed first. */
static bson_t *
types_pipeline(const char *site_id, const struct day_range *r, int limit)
{
    char from[RANGE_DATE_LEN], to[RANGE_DATE_LEN];

    range_dates(r, from, to);
    return BCON_NEW("pipeline", "[", "{", "$match", "{", "site_id", BCON_UTF8(site_id), "date", "{",
                    "$gte", BCON_UTF8(from), "$lte", BCON_UTF8(to), "}", "event_type", "{", "$ne",
                    BCON_NULL, "}", "views", "{", "$gt", BCON_INT32(0), "}", "}", "}", "{",
                    "$group", "{", "_id", BCON_UTF8("$event_type"), "views", "{", "$sum",
                    BCON_UTF8("$views"), "}", "users", "{", "$sum", BCON_UTF8("$users"), "}", "}",
                    "}", "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1), "}", "}",
                    "{", "$limit", BCON_INT32(limit), "}", "]");
}

/* Each listed type's distinct users over r (more than a day), as /stats?event_type=. */
static int
types_users(store_t *s, const char *site_id, const struct day_range *r, struct breakdown *out,
            struct app_err *err)
{
    for (size_t i = 0; i < out->n; i++) {
        char **ids = query_scope_ids(site_id, r, out->rows[i].value);
        struct stats st;
        int rc;
        if (ids == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        memset(&st, 0, sizeof st);
        rc = query_stats_scopes(s, site_id, ids, r, &st, err);
        query_free_ids(ids, r->days);
        if (rc != 0) {
            return -1;
        }
        out->rows[i].users = st.unique_users;
    }
    return 0;
}

int
query_breakdown_rollups(store_t *s, const char *site_id, const struct day_range *r, int by,
                        int limit, struct breakdown *out, struct app_err *err)
{
    struct breakdown_rows rows = {.out = out, .key = "_id"};
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = by == RANGE_BY_EVENT_TYPE ? ROLLUP_COLLECTION
                                     : by == RANGE_BY_PATH     ? ROLLUP_PATHS_COLLECTION
                                                               : ROLLUP_REFERRERS_COLLECTION,
                       .what = "mongodb rollup breakdown",
                       .each = breakdown_add_doc,
                       .arg = &rows};
    char **ids = NULL;
    bson_t *pipeline = NULL;
    int rc = -1;

    if (by == RANGE_BY_ENTRY_PAGE || by == RANGE_BY_EXIT_PAGE) {
        return query_visit_pages(s, site_id, r, by == RANGE_BY_EXIT_PAGE, limit, out, err);
    }
    memset(out, 0, sizeof *out);
    out->has_users = by == RANGE_BY_EVENT_TYPE;
    if (by == RANGE_BY_EVENT_TYPE) {
        pipeline = types_pipeline(site_id, r, limit);
    } else if ((ids = query_scope_ids(site_id, r, NULL)) != NULL) {
        if ((pipeline = query_top_pipeline(ids, r, range_by_names[by], limit, &rows.key, err)) ==
            NULL) {
            goto done;
        }
    } else {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    q.query = pipeline;
    if (dbread_run(s, &q, err) != 0) {
        goto done;
    }
    if (by == RANGE_BY_EVENT_TYPE && r->days > 1 && types_users(s, site_id, r, out, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        breakdown_clear(out);
    }
    query_free_ids(ids, ids != NULL ? r->days : 0);
    bson_destroy(pipeline);
    return rc;
}
