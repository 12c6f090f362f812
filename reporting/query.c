/* query.c - reporting's reads of MongoDB: the figures of /stats. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_doc.h"
#include "ts.h"

void
breakdown_clear(struct breakdown *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->rows[i].value);
    }
    memset(b, 0, sizeof *b);
}

/* Add a row. Returns 0, or -1 out of memory. */
static int
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

void
stats_clear(struct stats *st)
{
    breakdown_clear(&st->top_paths);
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
    if (path == NULL || st->top_paths.n == ROLLUP_TOP_PATHS) {
        return 0;
    }
    return breakdown_add(&st->top_paths, path, views, 0);
}

/* --- from the rollups ------------------------------------------------------------------ */

static void
free_ids(char **ids, int64_t n)
{
    for (int64_t i = 0; ids != NULL && i < n; i++) {
        free(ids[i]);
    }
    free(ids);
}

/* The site-day ids of the days of r, in order (free_ids()), or NULL out of memory. */
static char **
scope_ids(const char *site_id, const struct day_range *r, const char *event_type)
{
    char **ids = calloc((size_t)r->days, sizeof *ids);

    for (int64_t i = 0; ids != NULL && i < r->days; i++) {
        if ((ids[i] = rollup_scope_id(site_id, r->from_ms + i * TS_DAY_MS, event_type)) == NULL) {
            free_ids(ids, i);
            return NULL;
        }
    }
    return ids;
}

/* Append {key: {$in: [ids[0..n)]}} to doc. */
static void
append_in(bson_t *doc, const char *key, char *const *ids, int64_t n)
{
    bson_t in, list;
    char k[24];

    bson_append_document_begin(doc, key, -1, &in);
    bson_append_array_begin(&in, "$in", -1, &list);
    for (int64_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%lld", (long long)i);
        BSON_APPEND_UTF8(&list, k, ids[i]);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(doc, &in);
}

/* The day in r of a rollup document's id (its leading date), or -1. */
static int64_t
day_of_id(const char *id, const struct day_range *r)
{
    int64_t ms;

    if (strlen(id) < 10 || ts_parse_date(id, 10, &ms) != 0) {
        return -1;
    }
    return range_bucket_of(r, TS_DAY_MS, ms);
}

/* The string field `key` of doc, or NULL. */
static const char *
utf8_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

/* The int64 field `key` of doc, or 0. */
static int64_t
num_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
               ? bson_iter_as_int64(&it)
               : 0;
}

/* Read the site-day documents ids[0..r->days) by _id: add their views (and, for one day,
 * its users) to out, and keep a copy of each in docs[day] for range_users(). */
static int
read_scopes(mongoc_collection_t *rollups, char **ids, const struct day_range *r, struct stats *out,
            bson_t **docs, struct app_err *err)
{
    bson_t *filter = bson_new();
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    append_in(filter, "_id", ids, r->days);
    cur = mongoc_collection_find_with_opts(rollups, filter, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        const char *id = utf8_field(doc, "_id");
        int64_t day = id != NULL ? day_of_id(id, r) : -1;
        if (day < 0 || docs[day] != NULL || strcmp(id, ids[day]) != 0) {
            continue;
        }
        out->total_views += num_field(doc, "views");
        if (r->days == 1) {
            out->unique_users = num_field(doc, "users");
        } else if ((docs[day] = bson_copy(doc)) == NULL) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb rollup: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return rc;
}

/* Names collected for a distinct count. */
struct names {
    char **v;
    size_t n, cap;
};

static int
names_add(struct names *x, const char *s)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        char **v = realloc(x->v, cap * sizeof *v);
        if (v == NULL) {
            return -1;
        }
        x->v = v;
        x->cap = cap;
    }
    if ((x->v[x->n] = strdup(s)) == NULL) {
        return -1;
    }
    x->n++;
    return 0;
}

/* Forget x's names, keeping its array for the next ones. */
static void
names_reset(struct names *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->v[i]);
    }
    x->n = 0;
}

static void
names_free(struct names *x)
{
    names_reset(x);
    free(x->v);
}

/* {$or: [{_id: {$gte: "<id>|", $lt: "<id>}"}}, ...]} over the days with a site-day
 * document: every user document of those days, through the _id index ('}', the character
 * after ROLLUP_CHILD_SEP '|', bounds every string that starts with "<id>|"). Sets *filter
 * NULL when no day has one. Returns 0, or -1 out of memory. */
static int
users_filter(char **ids, const struct day_range *r, bson_t **docs, bson_t **filter)
{
    bson_t *f = NULL, or, clause, range;
    char k[24];
    size_t n = 0;

    *filter = NULL;
    for (int64_t i = 0; i < r->days; i++) {
        size_t len = strlen(ids[i]);
        char *bound;
        if (docs[i] == NULL) {
            continue; /* no views that day, so no users */
        }
        if ((bound = malloc(len + 2)) == NULL) {
            bson_destroy(f);
            return -1;
        }
        if (f == NULL) {
            f = bson_new();
            bson_append_array_begin(f, "$or", -1, & or);
        }
        memcpy(bound, ids[i], len);
        bound[len + 1] = '\0';
        snprintf(k, sizeof k, "%zu", n++);
        bson_append_document_begin(& or, k, -1, &clause);
        bson_append_document_begin(&clause, "_id", -1, &range);
        bound[len] = ROLLUP_CHILD_SEP;
        BSON_APPEND_UTF8(&range, "$gte", bound);
        bound[len] = ROLLUP_CHILD_SEP + 1;
        BSON_APPEND_UTF8(&range, "$lt", bound);
        bson_append_document_end(&clause, &range);
        bson_append_document_end(& or, &clause);
        free(bound);
    }
    if (f != NULL) {
        bson_append_array_end(f, & or);
    }
    *filter = f;
    return 0;
}

/* The distinct users over the days of r: the user documents of each day that its site-day
 * counts (range_user_counted(): its owner applied there), each user_id once. */
static int
range_users(mongoc_collection_t *users, char **ids, const struct day_range *r, bson_t **docs,
            int64_t *out, struct app_err *err)
{
    bson_t *filter, *opts;
    struct names names = {NULL, 0, 0};
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    *out = 0;
    if (users_filter(ids, r, docs, &filter) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (filter == NULL) {
        return 0;
    }
    opts = BCON_NEW("projection", "{", "b", BCON_INT32(1), "}");
    cur = mongoc_collection_find_with_opts(users, filter, opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        const char *id = utf8_field(doc, "_id"), *b = utf8_field(doc, "b");
        int64_t day = id != NULL ? day_of_id(id, r) : -1;
        size_t len = day >= 0 ? strlen(ids[day]) : 0;
        if (day < 0 || b == NULL || docs[day] == NULL || strncmp(id, ids[day], len) != 0 ||
            id[len] != ROLLUP_CHILD_SEP || !range_user_counted(docs[day], b)) {
            continue;
        }
        if (names_add(&names, id + len + 1) != 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb rollup users: %s", berr.message);
    }
    if (rc == 0) {
        *out = (int64_t)range_distinct(names.v, names.n);
    }
    names_free(&names);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    return rc;
}

/* The top values of `field` (path or referrer) of the range's child documents (path or
 * referrer documents: {scope, <field>, views}), with the name of their value's field in
 * the answers: one day, the top of the index {scope: 1, views: -1, <field>: 1}; more, each
 * value's views summed over the days. */
static bson_t *
top_pipeline(char **ids, const struct day_range *r, const char *field, int limit, const char **key)
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
    } else {
        append_in(&match, "scope", ids, r->days);
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

/* The views of a site over r (total_views) and its distinct users (unique_users), from
 * the site-day documents of ids[0..r->days) and, over more than a day, their user
 * documents. */
static int
scope_figures(mongoc_collection_t *rollups, mongoc_collection_t *users, char **ids,
              const struct day_range *r, struct stats *out, struct app_err *err)
{
    bson_t **docs = calloc((size_t)r->days, sizeof *docs);
    int rc;

    if (docs == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    rc = read_scopes(rollups, ids, r, out, docs, err) != 0 ||
                 (r->days > 1 && range_users(users, ids, r, docs, &out->unique_users, err) != 0)
             ? -1
             : 0;
    for (int64_t i = 0; i < r->days; i++) {
        bson_destroy(docs[i]);
    }
    free(docs);
    return rc;
}

int
query_stats_rollups(store_t *s, const char *site_id, const struct day_range *r,
                    const char *event_type, struct stats *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *rollups = store_collection(s, client, ROLLUP_COLLECTION);
    mongoc_collection_t *paths = store_collection(s, client, ROLLUP_PATHS_COLLECTION);
    mongoc_collection_t *users = store_collection(s, client, ROLLUP_USERS_COLLECTION);
    char **ids = scope_ids(site_id, r, event_type);
    bson_t *pipeline = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    const char *key;
    bson_error_t berr;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (ids == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (scope_figures(rollups, users, ids, r, out, err) != 0) {
        goto done;
    }
    pipeline = top_pipeline(ids, r, "path", ROLLUP_TOP_PATHS, &key);
    cur = mongoc_collection_aggregate(paths, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        if (add_path(out, doc, key) != 0) {
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
    free_ids(ids, ids != NULL ? r->days : 0);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    mongoc_collection_destroy(users);
    mongoc_collection_destroy(paths);
    mongoc_collection_destroy(rollups);
    store_client_push(s, client);
    return rc;
}

/* --- from the raw events ---------------------------------------------------------------- */

/* The pipeline: match the site and days (and type), then count, distinct users and
 * top paths in one $facet. */
static bson_t *
stats_pipeline(const char *site_id, const struct day_range *r, const char *event_type)
{
    bson_t *p = bson_new();
    bson_t stages, stage, match, range, facet, arr, st;

    bson_append_array_begin(p, "pipeline", -1, &stages);

    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    bson_append_utf8(&match, "site_id", -1, site_id, -1); /* a plain string: never an operator */
    bson_append_document_begin(&match, "timestamp", -1, &range);
    bson_append_date_time(&range, "$gte", -1, r->from_ms);
    bson_append_date_time(&range, "$lt", -1, r->from_ms + r->days * TS_DAY_MS);
    bson_append_document_end(&match, &range);
    if (event_type != NULL) {
        bson_append_utf8(&match, "event_type", -1, event_type, -1);
    }
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);

    /* Only the two fields the facets read go on: MongoDB works that out by itself, the test
     * server copies whole events into each facet and takes twice as long without it. */
    BCON_APPEND(&stages, "1", "{", "$project", "{", "_id", BCON_INT32(0), "user_id", BCON_INT32(1),
                "path", BCON_INT32(1), "}", "}");

    bson_append_document_begin(&stages, "2", -1, &stage);
    bson_append_document_begin(&stage, "$facet", -1, &facet);

    bson_append_array_begin(&facet, "total", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    BSON_APPEND_UTF8(&st, "$count", "n");
    bson_append_document_end(&arr, &st);
    bson_append_array_end(&facet, &arr);

    /* Each facet groups first and then keeps the groups whose _id is a non-empty string
     * ({$gt: ""}, type bracketing): the test server walks every document a stage is given,
     * so matching the few groups costs less than matching the events (tests/bench/NOTES.md). */
    bson_append_array_begin(&facet, "users", -1, &arr);
    BCON_APPEND(&arr, "0", "{", "$group", "{", "_id", BCON_UTF8("$user_id"), "}", "}");
    BCON_APPEND(&arr, "1", "{", "$match", "{", "_id", "{", "$gt", BCON_UTF8(""), "}", "}", "}");
    BCON_APPEND(&arr, "2", "{", "$count", BCON_UTF8("n"), "}");
    bson_append_array_end(&facet, &arr);

    bson_append_array_begin(&facet, "paths", -1, &arr);
    BCON_APPEND(&arr, "0", "{", "$group", "{", "_id", BCON_UTF8("$path"), "views", "{", "$sum",
                BCON_INT32(1), "}", "}", "}");
    BCON_APPEND(&arr, "1", "{", "$match", "{", "_id", "{", "$gt", BCON_UTF8(""), "}", "}", "}");
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
query_stats_events(store_t *s, const char *site_id, const struct day_range *r,
                   const char *event_type, struct stats *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *pipeline = stats_pipeline(site_id, r, event_type);
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

/* --- time series -------------------------------------------------------------------------- */

void
series_clear(struct series *ts)
{
    free(ts->views);
    free(ts->users);
    free(ts->capped);
    memset(ts, 0, sizeof *ts);
}

/* Allocate the zeroed buckets of r. Returns 0, or -1 with err. */
static int
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

/* Add the figures of the raw events of the range to out's buckets (allocated): the views
 * and the distinct users of each bucket. One find through the index
 * {site_id: 1, timestamp: 1}, in time order, so that the events come bucket by bucket: only
 * the users of the bucket being read are held, and a long range costs no more memory than
 * its busiest bucket. */
static int
series_from_events(store_t *s, mongoc_client_t *client, const char *site_id,
                   const struct day_range *r, int64_t step_ms, const char *event_type,
                   struct series *out, struct app_err *err)
{
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *filter = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                              BCON_DATE_TIME(r->from_ms), "$lt",
                              BCON_DATE_TIME(r->from_ms + r->days * TS_DAY_MS), "}");
    bson_t *opts = BCON_NEW("projection", "{", "timestamp", BCON_INT32(1), "user_id", BCON_INT32(1),
                            "}", "sort", "{", "timestamp", BCON_INT32(1), "}");
    struct names users = {NULL, 0, 0};
    int64_t bucket = -1; /* the bucket whose users are in `users` */
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (event_type != NULL) {
        BSON_APPEND_UTF8(filter, "event_type", event_type);
    }
    cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const char *user = utf8_field(doc, "user_id");
        int64_t b = bson_iter_init_find(&it, doc, "timestamp") && BSON_ITER_HOLDS_DATE_TIME(&it)
                        ? range_bucket_of(r, step_ms, bson_iter_date_time(&it))
                        : -1;
        if (b < 0) {
            continue;
        }
        if (b != bucket) {
            if (b < bucket) {
                rc = err_set(err, ERR_INTERNAL, "mongodb events series: not in time order");
                break;
            }
            if (bucket >= 0) {
                out->users[bucket] = (int64_t)range_distinct(users.v, users.n);
            }
            names_reset(&users);
            bucket = b;
        }
        out->views[b]++;
        if (user != NULL && user[0] != '\0' && names_add(&users, user) != 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb events series: %s", berr.message);
    }
    if (rc == 0 && bucket >= 0) {
        out->users[bucket] = (int64_t)range_distinct(users.v, users.n);
    }
    names_free(&users);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    return rc;
}

/* The number of entries of array field `key` of doc (0 when missing). A site-hour's users are
 * its set u's size: counted here from the array, since the test server cannot compute $size
 * (../shared/MONGO.md): that reads 8 bytes a user per site-hour document, a real MongoDB could
 * project {$size: "$u"} instead. */
static int64_t
set_size(const bson_t *doc, const char *key)
{
    bson_iter_t it, arr;
    int64_t n = 0;

    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            n++;
        }
    }
    return n;
}

/* Whether doc's field `key` is true. */
static int
bool_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
}

/* The users of out's buckets marked -1 (site-hours from before the sets), from the raw
 * events of the range. Returns 0, or -1 with err. */
static int
users_from_events(store_t *s, mongoc_client_t *client, const char *site_id,
                  const struct day_range *r, int64_t step_ms, const char *event_type,
                  struct series *out, struct app_err *err)
{
    struct series raw;

    if (series_init(&raw, r, step_ms, err) != 0 ||
        series_from_events(s, client, site_id, r, step_ms, event_type, &raw, err) != 0) {
        series_clear(&raw);
        return -1;
    }
    for (int64_t b = 0; b < out->n; b++) {
        if (out->users[b] < 0) {
            out->users[b] = raw.users[b];
        }
    }
    series_clear(&raw);
    return 0;
}

int
query_series_rollups(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                     const char *event_type, struct series *out, struct app_err *err)
{
    int hour = step_ms != TS_DAY_MS;
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll =
        store_collection(s, client, hour ? ROLLUP_HOURS_COLLECTION : ROLLUP_COLLECTION);
    int64_t n = range_buckets(r, step_ms);
    char **ids = calloc((size_t)n, sizeof *ids);
    bson_t *filter = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_error_t berr;
    int rc = -1, before_sets = 0;

    memset(out, 0, sizeof *out);
    for (int64_t i = 0; ids != NULL && i < n; i++) {
        int64_t t = r->from_ms + i * step_ms;
        if ((ids[i] = hour ? rollup_hour_id(site_id, t, event_type)
                           : rollup_scope_id(site_id, t, event_type)) == NULL) {
            free_ids(ids, i);
            ids = NULL;
        }
    }
    if (ids == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (series_init(out, r, step_ms, err) != 0) {
        goto done;
    }
    filter = bson_new();
    append_in(filter, "_id", ids, n);
    cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        const char *id = utf8_field(doc, "_id");
        int64_t b = id != NULL ? range_bucket_of_id(r, step_ms, id) : -1;
        if (b >= 0 && strcmp(id, ids[b]) == 0) {
            out->views[b] = num_field(doc, "views");
            out->users[b] = hour ? set_size(doc, "u") : num_field(doc, "users");
            out->capped[b] = hour && bool_field(doc, "u_capped");
            /* A site-hour created before the sets were kept has no u_all: its users come
             * from its raw events. */
            if (hour && out->views[b] > 0 && !bool_field(doc, "u_all")) {
                out->users[b] = -1;
                before_sets = 1;
            }
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb rollup series: %s", berr.message);
        goto done;
    }
    if (before_sets &&
        users_from_events(s, client, site_id, r, step_ms, event_type, out, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        series_clear(out);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    free_ids(ids, ids != NULL ? n : 0);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}

int
query_series_events(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                    const char *event_type, struct series *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    int rc = series_init(out, r, step_ms, err) != 0 ||
                     series_from_events(s, client, site_id, r, step_ms, event_type, out, err) != 0
                 ? -1
                 : 0;

    if (rc != 0) {
        series_clear(out);
    }
    store_client_push(s, client);
    return rc;
}

/* --- breakdowns ---------------------------------------------------------------------------- */

/* The pipeline of the event types of site_id's days in r: their views (and, one day, its
 * users) summed over the site-day-type documents, most viewed first. */
static bson_t *
types_pipeline(const char *site_id, const struct day_range *r, int limit)
{
    char from[TS_FORMAT_LEN], to[TS_FORMAT_LEN];

    ts_format(r->from_ms, from);
    ts_format(r->from_ms + (r->days - 1) * TS_DAY_MS, to);
    from[10] = to[10] = '\0';
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
types_users(mongoc_collection_t *rollups, mongoc_collection_t *users, const char *site_id,
            const struct day_range *r, struct breakdown *out, struct app_err *err)
{
    for (size_t i = 0; i < out->n; i++) {
        char **ids = scope_ids(site_id, r, out->rows[i].value);
        struct stats st;
        int rc;
        if (ids == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        memset(&st, 0, sizeof st);
        rc = scope_figures(rollups, users, ids, r, &st, err);
        free_ids(ids, r->days);
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
    mongoc_client_t *client = store_client_pop(s);
    const char *name = by == RANGE_BY_EVENT_TYPE ? ROLLUP_COLLECTION
                       : by == RANGE_BY_PATH     ? ROLLUP_PATHS_COLLECTION
                                                 : ROLLUP_REFERRERS_COLLECTION;
    mongoc_collection_t *coll = store_collection(s, client, name);
    mongoc_collection_t *users = store_collection(s, client, ROLLUP_USERS_COLLECTION);
    char **ids = NULL;
    bson_t *pipeline = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    const char *key = "_id";
    bson_error_t berr;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->has_users = by == RANGE_BY_EVENT_TYPE;
    if (by == RANGE_BY_EVENT_TYPE) {
        pipeline = types_pipeline(site_id, r, limit);
    } else if ((ids = scope_ids(site_id, r, NULL)) != NULL) {
        pipeline = top_pipeline(ids, r, range_by_names[by], limit, &key);
    } else {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        const char *value = utf8_field(doc, key);
        if (value != NULL &&
            breakdown_add(out, value, num_field(doc, "views"), num_field(doc, "users")) != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb rollup breakdown: %s", berr.message);
        goto done;
    }
    if (by == RANGE_BY_EVENT_TYPE && r->days > 1 &&
        types_users(coll, users, site_id, r, out, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        breakdown_clear(out);
    }
    free_ids(ids, ids != NULL ? r->days : 0);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    mongoc_collection_destroy(users);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}

/* The value event document doc counts under for `by` into out, or NULL when none: its
 * type, its non-empty path, or a page view's referrer host. */
static const char *
event_value(const bson_t *doc, int by, char out[ROLLUP_REFERRER_MAX + 1])
{
    bson_iter_t it;
    const char *type = utf8_field(doc, "event_type"), *path;

    if (by == RANGE_BY_EVENT_TYPE) {
        return type;
    }
    if (by == RANGE_BY_PATH) {
        path = utf8_field(doc, "path");
        return path != NULL && path[0] != '\0' ? path : NULL;
    }
    if (type == NULL || strcmp(type, "page_view") != 0 || !bson_iter_init(&it, doc) ||
        !bson_iter_find_descendant(&it, "properties.referrer", &it) || !BSON_ITER_HOLDS_UTF8(&it) ||
        rollup_referrer_host(bson_iter_utf8(&it, NULL), out) < 0) {
        return NULL;
    }
    return out;
}

int
query_breakdown_events(store_t *s, const char *site_id, const struct day_range *r, int by,
                       int limit, struct breakdown *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *filter = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                              BCON_DATE_TIME(r->from_ms), "$lt",
                              BCON_DATE_TIME(r->from_ms + r->days * TS_DAY_MS), "}");
    bson_t *opts = BCON_NEW("projection", "{", "event_type", BCON_INT32(1), "path", BCON_INT32(1),
                            "user_id", BCON_INT32(1), "properties.referrer", BCON_INT32(1), "}");
    struct names keys = {NULL, 0, 0};
    struct top_row rows[BREAKDOWN_MAX];
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t berr;
    long n;
    int rc = -1, added;

    memset(out, 0, sizeof *out);
    out->has_users = by == RANGE_BY_EVENT_TYPE;
    while (mongoc_cursor_next(cur, &doc)) {
        char host[ROLLUP_REFERRER_MAX + 1], *key;
        const char *value = event_value(doc, by, host), *user = utf8_field(doc, "user_id");
        size_t len;
        if (value == NULL) {
            continue;
        }
        user = user != NULL ? user : "";
        len = strlen(value) + strlen(user) + 2;
        if ((key = malloc(len)) == NULL) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
        snprintf(key, len, "%s\x1f%s", value, user);
        added = names_add(&keys, key);
        free(key);
        if (added != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        err_set(err, ERR_TRANSIENT, "mongodb events breakdown: %s", berr.message);
        goto done;
    }
    if ((n = range_top(keys.v, keys.n, rows, (size_t)limit)) < 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (long i = 0; i < n; i++) {
        if (breakdown_add(out, rows[i].value, rows[i].views, rows[i].users) != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        breakdown_clear(out);
    }
    names_free(&keys);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}
