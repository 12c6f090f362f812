/* query_visits.c - the first row's figures from the rollups (visits by the bucket of their
 * start, page views by their own), the entry and exit pages, and the visitors of the last
 * minutes from the raw events. */
#include "query_visits.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "event_doc.h"
#include "query_stats.h"
#include "ts.h"

void
visit_series_clear(struct visit_series *v)
{
    free(v->pageviews);
    free(v->visits);
    free(v->bounces);
    free(v->duration_ms);
    memset(v, 0, sizeof *v);
}

/* A read of one document a bucket (by _id), adding fields[f] of bucket b's document to
 * sums[f][b]. */
struct sums {
    const struct day_range *r;
    int64_t step_ms;
    char **ids;
    const char *const *fields;
    int64_t **sums;
    size_t n_fields;
};

static int
sum_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    const struct sums *sm = arg;
    const char *id = dbread_utf8(doc, "_id");
    int64_t b = id != NULL ? range_bucket_of_id(sm->r, sm->step_ms, id) : -1;

    (void)err;
    if (b < 0 || strcmp(id, sm->ids[b]) != 0) {
        return DBREAD_NEXT;
    }
    for (size_t f = 0; f < sm->n_fields; f++) {
        sm->sums[f][b] += dbread_int64(doc, sm->fields[f]);
    }
    return DBREAD_NEXT;
}

/* Read the bucket documents of sm->ids (n of them) of site_id in collection, with one find by
 * site_id (the rollups' shard key leads with it) and _id. */
static int
read_sums(store_t *s, const char *collection, const char *site_id, int64_t n, struct sums *sm,
          struct app_err *err)
{
    bson_t *filter = BCON_NEW("site_id", BCON_UTF8(site_id));
    const struct dbread q = {.kind = DBREAD_FIND,
                             .collection = collection,
                             .query = filter,
                             .what = "mongodb rollup visits",
                             .each = sum_doc,
                             .arg = sm};
    int rc =
        store_append_in(filter, "_id", sm->ids, (size_t)n, err) != 0 ? -1 : dbread_run(s, &q, err);

    bson_destroy(filter);
    return rc;
}

int
query_visit_series(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                   struct visit_series *out, struct app_err *err)
{
    static const char *const views[] = {"views"};
    static const char *const visits[] = {"visits", "bounces", "duration_ms"};
    int hour = step_ms != TS_DAY_MS;
    int64_t n = range_buckets(r, step_ms);
    char **type_ids = NULL, **all_ids = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->n = n;
    out->pageviews = calloc((size_t)n, sizeof *out->pageviews);
    out->visits = calloc((size_t)n, sizeof *out->visits);
    out->bounces = calloc((size_t)n, sizeof *out->bounces);
    out->duration_ms = calloc((size_t)n, sizeof *out->duration_ms);
    type_ids = query_bucket_ids(site_id, r, step_ms, "page_view");
    all_ids = query_bucket_ids(site_id, r, step_ms, NULL);
    if (out->pageviews == NULL || out->visits == NULL || out->bounces == NULL ||
        out->duration_ms == NULL || type_ids == NULL || all_ids == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    {
        int64_t *pv[] = {out->pageviews};
        int64_t *vs[] = {out->visits, out->bounces, out->duration_ms};
        struct sums a = {r, step_ms, type_ids, views, pv, 1};
        struct sums b = {r, step_ms, all_ids, visits, vs, 3};
        if (read_sums(s, hour ? ROLLUP_HOURS_COLLECTION : ROLLUP_COLLECTION, site_id, n, &a, err) !=
                0 ||
            read_sums(s, ROLLUP_VISITS_COLLECTION, site_id, n, &b, err) != 0) {
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        visit_series_clear(out);
    }
    query_free_ids(type_ids, type_ids != NULL ? n : 0);
    query_free_ids(all_ids, all_ids != NULL ? n : 0);
    return rc;
}

int
query_summary(store_t *s, const char *site_id, const struct day_range *r, struct summary *out,
              struct app_err *err)
{
    char **ids = query_scope_ids(site_id, r, NULL);
    struct stats st = {0};
    struct visit_series v = {0};
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (ids == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (query_stats_scopes(s, site_id, ids, r, &st, err) == 0 &&
        query_visit_series(s, site_id, r, TS_DAY_MS, &v, err) == 0) {
        out->events = st.total_views;
        out->visitors = st.unique_users;
        for (int64_t i = 0; i < v.n; i++) {
            out->pageviews += v.pageviews[i];
            out->visits += v.visits[i];
            out->bounces += v.bounces[i];
            out->duration_ms += v.duration_ms[i];
        }
        rc = 0;
    }
    visit_series_clear(&v);
    stats_clear(&st);
    query_free_ids(ids, r->days);
    return rc;
}

double
summary_views_per_visit(const struct summary *s)
{
    return s->visits > 0 ? (double)s->pageviews / (double)s->visits : 0;
}

double
summary_bounce_rate(const struct summary *s)
{
    return s->visits > 0 ? 100.0 * (double)s->bounces / (double)s->visits : 0;
}

double
summary_visit_duration(const struct summary *s)
{
    return s->visits > 0 ? (double)s->duration_ms / (1000.0 * (double)s->visits) : 0;
}

const char *const summary_figure_names[SUMMARY_FIGURES] = {
    "visitors",        "visits",      "pageviews",     "events",
    "views_per_visit", "bounce_rate", "visit_duration"};

double
summary_figure(const struct summary *s, int f)
{
    switch (f) {
    case SUMMARY_VISITORS:
        return (double)s->visitors;
    case SUMMARY_VISITS:
        return (double)s->visits;
    case SUMMARY_PAGEVIEWS:
        return (double)s->pageviews;
    case SUMMARY_EVENTS:
        return (double)s->events;
    case SUMMARY_VIEWS_PER_VISIT:
        return summary_views_per_visit(s);
    case SUMMARY_BOUNCE_RATE:
        return summary_bounce_rate(s);
    default:
        return summary_visit_duration(s);
    }
}

int
summary_figure_of(const char *s, int len)
{
    for (int f = 0; len > 0 && f < SUMMARY_FIGURES; f++) {
        if ((size_t)len == strlen(summary_figure_names[f]) &&
            memcmp(s, summary_figure_names[f], (size_t)len) == 0) {
            return f;
        }
    }
    return -1;
}

double
summary_change(double now, double before)
{
    return before != 0 ? (now - before) * 100.0 / before : NAN;
}

/* For each page of an entry or exit page aggregation: a row of out (visits as views,
 * bounces as users). */
static int
page_row(const bson_t *doc, void *arg, struct app_err *err)
{
    const char *path = dbread_utf8(doc, "_id");

    if (path == NULL) {
        return DBREAD_NEXT;
    }
    return breakdown_add(arg, path, dbread_int64(doc, "visits"), dbread_int64(doc, "bounces")) != 0
               ? err_set(err, ERR_INTERNAL, "out of memory")
               : DBREAD_NEXT;
}

int
query_visit_pages(store_t *s, const char *site_id, const struct day_range *r, int exit, int limit,
                  struct breakdown *out, struct app_err *err)
{
    char **ids = query_scope_ids(site_id, r, NULL);
    bson_t *p = NULL, stages, stage, match;
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection =
                           exit ? ROLLUP_EXIT_PAGES_COLLECTION : ROLLUP_ENTRY_PAGES_COLLECTION,
                       .what = exit ? "mongodb exit pages" : "mongodb entry pages",
                       .each = page_row,
                       .arg = out};
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (ids == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    /* The pages' documents of the range's site-days, summed by path: a page's visits may be
     * below zero on one document for a moment (an exit counted away before it was counted
     * there, by two batches in the other order), so the sums are filtered, not the
     * documents. */
    q.query = p = bson_new();
    bson_append_array_begin(p, "pipeline", -1, &stages);
    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    if (store_append_in(&match, "scope", ids, (size_t)r->days, err) != 0) {
        goto done;
    }
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);
    BCON_APPEND(&stages, "1", "{", "$group", "{", "_id", BCON_UTF8("$path"), "visits", "{", "$sum",
                BCON_UTF8("$visits"), "}", "bounces", "{", "$sum", BCON_UTF8("$bounces"), "}", "}",
                "}");
    BCON_APPEND(&stages, "2", "{", "$match", "{", "visits", "{", "$gt", BCON_INT32(0), "}", "}",
                "}");
    BCON_APPEND(&stages, "3", "{", "$sort", "{", "visits", BCON_INT32(-1), "_id", BCON_INT32(1),
                "}", "}");
    BCON_APPEND(&stages, "4", "{", "$limit", BCON_INT32(limit), "}");
    bson_append_array_end(p, &stages);
    rc = dbread_run(s, &q, err);
done:
    if (rc != 0) {
        breakdown_clear(out);
    }
    bson_destroy(p);
    query_free_ids(ids, r->days);
    return rc;
}
