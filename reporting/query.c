/* query.c - reporting's reads of MongoDB: the figures of /stats. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_doc.h"
#include "ts.h"

void
stats_clear(struct stats *st)
{
    for (size_t i = 0; i < st->n_paths; i++) {
        free(st->top_paths[i].path);
    }
    memset(st, 0, sizeof *st);
}

/* Add the entry {<path_key>: path, views: n} of a top-paths answer to st. Returns 0 (also
 * for an entry without a path, or beyond ROLLUP_TOP_PATHS: skipped), or -1 out of memory. */
static int
add_path(struct stats *st, const bson_t *entry, const char *path_key)
{
    bson_iter_t it;
    const char *path = NULL;
    int64_t views = 0;

    if (bson_iter_init_find(&it, entry, path_key) && BSON_ITER_HOLDS_UTF8(&it)) {
        path = bson_iter_utf8(&it, NULL);
    }
    if (bson_iter_init_find(&it, entry, "views") && BSON_ITER_HOLDS_NUMBER(&it)) {
        views = bson_iter_as_int64(&it);
    }
    if (path == NULL || st->n_paths == ROLLUP_TOP_PATHS) {
        return 0;
    }
    if ((st->top_paths[st->n_paths].path = strdup(path)) == NULL) {
        return -1;
    }
    st->top_paths[st->n_paths++].views = views;
    return 0;
}

/* --- from the rollups ------------------------------------------------------------------ */

int
query_stats_rollups(store_t *s, const char *site_id, int64_t day_start_ms, const char *event_type,
                    struct stats *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *rollups = store_collection(s, client, ROLLUP_COLLECTION);
    mongoc_collection_t *paths = store_collection(s, client, ROLLUP_PATHS_COLLECTION);
    char *id = rollup_scope_id(site_id, day_start_ms, event_type);
    bson_t *filter = NULL, *pipeline = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_error_t berr;
    bson_iter_t it;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (id == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    filter = BCON_NEW("_id", BCON_UTF8(id));
    cur = mongoc_collection_find_with_opts(rollups, filter, NULL, NULL);
    if (mongoc_cursor_next(cur, &doc)) {
        if (bson_iter_init_find(&it, doc, "views") && BSON_ITER_HOLDS_NUMBER(&it)) {
            out->total_views = bson_iter_as_int64(&it);
        }
        if (bson_iter_init_find(&it, doc, "users") && BSON_ITER_HOLDS_NUMBER(&it)) {
            out->unique_users = bson_iter_as_int64(&it);
        }
    } else if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb rollup: %s", berr.message);
        goto done;
    }
    mongoc_cursor_destroy(cur);
    /* The index {scope: 1, views: -1, path: 1} serves this on MongoDB. */
    pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", "{", "scope", BCON_UTF8(id), "views", "{", "$gt",
                 BCON_INT32(0), "}", "}", "}", "{", "$sort", "{", "views", BCON_INT32(-1), "path",
                 BCON_INT32(1), "}", "}", "{", "$limit", BCON_INT32(ROLLUP_TOP_PATHS), "}", "]");
    cur = mongoc_collection_aggregate(paths, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        if (add_path(out, doc, "path") != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb rollup paths: %s", berr.message);
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        stats_clear(out);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    bson_destroy(filter);
    free(id);
    mongoc_collection_destroy(paths);
    mongoc_collection_destroy(rollups);
    store_client_push(s, client);
    return rc;
}

/* --- from the raw events ---------------------------------------------------------------- */

/* The pipeline: match the site-day (and type), then count, distinct users and
 * top paths in one $facet. */
static bson_t *
stats_pipeline(const char *site_id, int64_t day_start_ms, const char *event_type)
{
    bson_t *p = bson_new();
    bson_t stages, stage, match, range, facet, arr, st, inner;

    bson_append_array_begin(p, "pipeline", -1, &stages);

    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    bson_append_utf8(&match, "site_id", -1, site_id, -1); /* a plain string: never an operator */
    bson_append_document_begin(&match, "timestamp", -1, &range);
    bson_append_date_time(&range, "$gte", -1, day_start_ms);
    bson_append_date_time(&range, "$lt", -1, day_start_ms + TS_DAY_MS);
    bson_append_document_end(&match, &range);
    if (event_type != NULL) {
        bson_append_utf8(&match, "event_type", -1, event_type, -1);
    }
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);

    bson_append_document_begin(&stages, "1", -1, &stage);
    bson_append_document_begin(&stage, "$facet", -1, &facet);

    bson_append_array_begin(&facet, "total", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    BSON_APPEND_UTF8(&st, "$count", "n");
    bson_append_document_end(&arr, &st);
    bson_append_array_end(&facet, &arr);

    /* {$gt: ""} matches exactly the non-empty strings (type bracketing). */
    bson_append_array_begin(&facet, "users", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    bson_append_document_begin(&st, "$match", -1, &inner);
    BCON_APPEND(&inner, "user_id", "{", "$gt", BCON_UTF8(""), "}");
    bson_append_document_end(&st, &inner);
    bson_append_document_end(&arr, &st);
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$user_id"), "}", "}");
    BCON_APPEND(&arr, "2", "{", "$count", BCON_UTF8("n"), "}");
    bson_append_array_end(&facet, &arr);

    bson_append_array_begin(&facet, "paths", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    bson_append_document_begin(&st, "$match", -1, &inner);
    BCON_APPEND(&inner, "path", "{", "$gt", BCON_UTF8(""), "}");
    bson_append_document_end(&st, &inner);
    bson_append_document_end(&arr, &st);
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$path"), "views", "{", "$sum",
                BCON_INT32(1), "}", "}", "}");
    BCON_APPEND(&arr, "2", "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1), "}",
                "}");
    BCON_APPEND(&arr, "3", "{", "$limit", BCON_INT32(ROLLUP_TOP_PATHS), "}");
    bson_append_array_end(&facet, &arr);

    bson_append_document_end(&stage, &facet);
    bson_append_document_end(&stages, &stage);
    bson_append_array_end(p, &stages);
    return p;
}

/* The `n` of the first document of facet array `name`, or 0 when it is empty. */
static int64_t
facet_count(const bson_t *doc, const char *name)
{
    bson_iter_t it, d;
    char path[64];

    snprintf(path, sizeof path, "%s.0.n", name);
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &d) &&
        BSON_ITER_HOLDS_NUMBER(&d)) {
        return bson_iter_as_int64(&d);
    }
    return 0;
}

int
query_stats_events(store_t *s, const char *site_id, int64_t day_start_ms, const char *event_type,
                   struct stats *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *pipeline = stats_pipeline(site_id, day_start_ms, event_type);
    mongoc_cursor_t *cursor =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    bson_error_t berr;
    bson_iter_t it, arr;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!mongoc_cursor_next(cursor, &doc)) {
        if (mongoc_cursor_error(cursor, &berr)) {
            err_set(err, ERR_TRANSIENT, "mongodb aggregate: %s", berr.message);
        } else {
            err_set(err, ERR_INTERNAL, "mongodb aggregate returned no document");
        }
        goto done;
    }
    out->total_views = facet_count(doc, "total");
    out->unique_users = facet_count(doc, "users");
    if (bson_iter_init_find(&it, doc, "paths") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            const uint8_t *data;
            uint32_t len;
            bson_t entry;
            if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
                continue;
            }
            bson_iter_document(&arr, &len, &data);
            if (bson_init_static(&entry, data, len) && add_path(out, &entry, "_id") != 0) {
                err_set(err, ERR_INTERNAL, "out of memory");
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        stats_clear(out);
    }
    mongoc_cursor_destroy(cursor);
    bson_destroy(pipeline);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}

/* --- the events themselves --------------------------------------------------------------- */

int
query_events(store_t *s, const struct events_query *q, struct events_page *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *filter = explorer_filter(q), *opts = explorer_find_opts(q);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t berr;
    long n = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if ((out->events = json_array()) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    while (mongoc_cursor_next(cur, &doc)) {
        json_t *ev;
        bson_iter_t it;
        if (n == q->limit) {
            out->more = 1;
            break;
        }
        if ((ev = explorer_render(doc)) == NULL || json_array_append_new(out->events, ev) != 0) {
            err_set(err, ERR_INTERNAL,
                    "cannot render an event (no string _id or no date "
                    "timestamp, or out of memory)");
            goto done;
        }
        n++;
        bson_iter_init_find(&it, doc, EVDOC_TIMESTAMP);
        out->last_ms = bson_iter_date_time(&it);
        bson_iter_init_find(&it, doc, EVDOC_ID);
        snprintf(out->last_id, sizeof out->last_id, "%s", bson_iter_utf8(&it, NULL));
    }
    if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb find events: %s", berr.message);
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        json_decref(out->events);
        out->events = NULL;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}
