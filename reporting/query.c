/* query.c - what reporting's reads answer (breakdowns, stats, series: their rows and
 * lifetimes), and the ids, $in and top-values aggregation of a range's rollup documents. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "ts.h"

void
breakdown_clear(struct breakdown *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->rows[i].value);
    }
    memset(b, 0, sizeof *b);
}

int
breakdown_add(struct breakdown *b, const char *value, int64_t views, int64_t users)
{
    if (b->n == BREAKDOWN_MAX) {
        return 0;
    }
    if ((b->rows[b->n].value = strdup(value)) == NULL) {
        return -1;
    }
    b->rows[b->n].views = views;
    b->rows[b->n++].users = users;
    return 0;
}

int
breakdown_add_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    const struct breakdown_rows *rows = arg;
    const char *value = dbread_utf8(doc, rows->key);

    if (value != NULL && breakdown_add(rows->out, value, dbread_int64(doc, "views"),
                                       dbread_int64(doc, "users")) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return DBREAD_NEXT;
}

void
stats_clear(struct stats *st)
{
    breakdown_clear(&st->top_paths);
    memset(st, 0, sizeof *st);
}

int
stats_add_path(struct stats *st, const bson_t *entry, const char *path_key)
{
    const char *path = dbread_utf8(entry, path_key);

    if (path == NULL || st->top_paths.n == ROLLUP_TOP_PATHS) {
        return 0;
    }
    return breakdown_add(&st->top_paths, path, dbread_int64(entry, "views"), 0);
}

void
series_clear(struct series *ts)
{
    free(ts->views);
    free(ts->users);
    free(ts->capped);
    memset(ts, 0, sizeof *ts);
}

int
series_init(struct series *out, const struct day_range *r, int64_t step_ms, struct app_err *err)
{
    memset(out, 0, sizeof *out);
    out->n = range_buckets(r, step_ms);
    out->views = calloc((size_t)out->n, sizeof *out->views);
    out->users = calloc((size_t)out->n, sizeof *out->users);
    out->capped = calloc((size_t)out->n, sizeof *out->capped);
    if (out->views == NULL || out->users == NULL || out->capped == NULL) {
        series_clear(out);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

/* --- the rollup documents of a range ----------------------------------------------------- */

void
query_free_ids(char **ids, int64_t n)
{
    for (int64_t i = 0; ids != NULL && i < n; i++) {
        free(ids[i]);
    }
    free(ids);
}

char **
query_bucket_ids(const char *site_id, const struct day_range *r, int64_t step_ms,
                 const char *event_type)
{
    int64_t n = range_buckets(r, step_ms);
    char **ids = calloc((size_t)n, sizeof *ids);

    for (int64_t i = 0; ids != NULL && i < n; i++) {
        if ((ids[i] = step_ms == TS_DAY_MS
                          ? rollup_scope_id(site_id, range_date_ms(r, i), event_type)
                          : rollup_hour_id(site_id, range_bucket_start(r, step_ms, i),
                                           event_type)) == NULL) {
            query_free_ids(ids, i);
            return NULL;
        }
    }
    return ids;
}

char **
query_scope_ids(const char *site_id, const struct day_range *r, const char *event_type)
{
    return query_bucket_ids(site_id, r, TS_DAY_MS, event_type);
}

int64_t
query_day_of_id(const char *id, const struct day_range *r)
{
    int64_t ms, day;

    if (strlen(id) < 10 || ts_parse_date(id, 10, &ms) != 0) {
        return -1;
    }
    day = ms / TS_DAY_MS - r->first_day; /* the site's date */
    return day >= 0 && day < r->days ? day : -1;
}

bson_t *
query_top_pipeline(char **ids, const struct day_range *r, const char *field, int limit,
                   const char **key, struct app_err *err)
{
    bson_t *p = bson_new();
    bson_t stages, stage, match;
    char ref[16];

    snprintf(ref, sizeof ref, "$%s", field);
    *key = r->days == 1 ? field : "_id";
    bson_append_array_begin(p, "pipeline", -1, &stages);
    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    if (r->days == 1) {
        BSON_APPEND_UTF8(&match, "scope", ids[0]);
    } else if (store_append_in(&match, "scope", ids, (size_t)r->days, err) != 0) {
        bson_append_document_end(&stage, &match);
        bson_append_document_end(&stages, &stage);
        bson_append_array_end(p, &stages);
        bson_destroy(p);
        return NULL;
    }
    BCON_APPEND(&match, "views", "{", "$gt", BCON_INT32(0), "}");
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);
    if (r->days == 1) {
        BCON_APPEND(&stages, "1", "{", "$sort", "{", "views", BCON_INT32(-1), field, BCON_INT32(1),
                    "}", "}");
    } else {
        BCON_APPEND(&stages, "1", "{", "$group", "{", "_id", BCON_UTF8(ref), "views", "{", "$sum",
                    BCON_UTF8("$views"), "}", "}", "}");
        BCON_APPEND(&stages, "2", "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1),
                    "}", "}");
    }
    BCON_APPEND(&stages, r->days == 1 ? "2" : "3", "{", "$limit", BCON_INT32(limit), "}");
    bson_append_array_end(p, &stages);
    return p;
}
