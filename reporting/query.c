/* query.c - reporting's reads of MongoDB: the figures of /stats. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_doc.h"
#include "hosts.h"
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

/* The user documents a read of the range's users asks for in one batch: each at most about
 * 800 bytes (a site-day id, a user_id of at most 256 bytes and a batch id), so a batch holds
 * at most about 200 KB. */
#define USERS_BATCH 256

/* The most passes a distinct count of users makes (RANGE_USERS_PASS hashes each). */
#define USERS_PASSES_MAX 4096

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

/* One pass over the user documents of filter: the distinct users of the days of r that
 * their site-day counts (range_user_counted(): its owner applied there) and whose hash %
 * passes == pass, into *out. Returns 0, 1 when the pass holds too many (more passes), or -1
 * with err. */
static int
users_pass(mongoc_collection_t *users, const bson_t *filter, char **ids, const struct day_range *r,
           bson_t **docs, int64_t passes, int64_t pass, int64_t *out, struct app_err *err)
{
    bson_t *opts =
        BCON_NEW("projection", "{", "b", BCON_INT32(1), "}", "batchSize", BCON_INT32(USERS_BATCH));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(users, filter, opts, NULL);
    size_t n = 0, cap = 4096;
    uint64_t *h = malloc(cap * sizeof *h);
    const bson_t *doc;
    bson_error_t berr;
    int rc = h == NULL ? err_set(err, ERR_INTERNAL, "out of memory") : 0;

    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        const char *id = utf8_field(doc, "_id"), *b = utf8_field(doc, "b");
        int64_t day = id != NULL ? day_of_id(id, r) : -1;
        size_t len = day >= 0 ? strlen(ids[day]) : 0;
        uint64_t x;
        if (day < 0 || b == NULL || docs[day] == NULL || strncmp(id, ids[day], len) != 0 ||
            id[len] != ROLLUP_CHILD_SEP || !range_user_counted(docs[day], b)) {
            continue;
        }
        x = range_user_hash(id + len + 1, strlen(id + len + 1));
        if ((int64_t)(x % (uint64_t)passes) == pass && (rc = range_hold(&h, &n, &cap, x)) < 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb rollup users: %s", berr.message);
    }
    if (rc == 0) {
        *out = (int64_t)range_unique(h, n);
    }
    free(h);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return rc;
}

/* The distinct users over the days of r: the user documents of each day that its site-day
 * counts, each user once, by hash (range.h): in range_passes() passes over the documents
 * (their number from the days' `users`, each a user document), each holding at most
 * RANGE_USERS_PASS hashes (2 MiB) and a batch of USERS_BATCH documents; a pass that would
 * hold more doubles the passes. */
static int
range_users(mongoc_collection_t *users, char **ids, const struct day_range *r, bson_t **docs,
            int64_t *out, struct app_err *err)
{
    bson_t *filter;
    int64_t entries = 0, passes, pass = 0, count;
    int rc = 0;

    *out = 0;
    if (users_filter(ids, r, docs, &filter) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (filter == NULL) {
        return 0;
    }
    for (int64_t i = 0; i < r->days; i++) {
        entries += docs[i] != NULL ? num_field(docs[i], "users") : 0;
    }
    passes = range_passes(entries);
    while (rc == 0 && pass < passes) {
        rc = users_pass(users, filter, ids, r, docs, passes, pass, &count, err);
        if (rc == 1) {
            /* More distinct users than the `users` figures said: split the passes. */
            rc = passes * 2 > USERS_PASSES_MAX
                     ? err_set(err, ERR_INTERNAL, "mongodb rollup users: too many users")
                     : 0;
            passes *= 2;
            pass = 0;
            *out = 0;
        } else if (rc == 0) {
            *out += count;
            pass++;
        }
    }
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

/* The distinct non-empty user_ids of site_id's events in [from_ms, to_ms) (of event_type
 * unless NULL), counted on the server: one aggregation through {site_id, timestamp} that
 * groups them by user_id and counts the groups, so that reporting receives one number. */
static int
events_users(mongoc_collection_t *events, const char *site_id, int64_t from_ms, int64_t to_ms,
             const char *event_type, int64_t *out, struct app_err *err)
{
    bson_t *match = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                             BCON_DATE_TIME(from_ms), "$lt", BCON_DATE_TIME(to_ms), "}");
    bson_t *pipeline;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (event_type != NULL) {
        BSON_APPEND_UTF8(match, "event_type", event_type);
    }
    /* Grouped first and matched after ({$gt: ""}: the non-empty strings), as the $facet of
     * /stats/aggregated (tests/bench/NOTES.md). */
    pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$project", "{",
                 "_id", BCON_INT32(0), "user_id", BCON_INT32(1), "}", "}", "{", "$group", "{",
                 "_id", BCON_UTF8("$user_id"), "}", "}", "{", "$match", "{", "_id", "{", "$gt",
                 BCON_UTF8(""), "}", "}", "}", "{", "$count", BCON_UTF8("n"), "}", "]");
    cur = mongoc_collection_aggregate(events, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    *out = mongoc_cursor_next(cur, &doc) ? num_field(doc, "n") : 0; /* none: no document */
    if (mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb events users: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    bson_destroy(match);
    return rc;
}

/* The events a read of the range's (timestamp, user_id) asks for in one batch: each at most
 * about 300 bytes. */
#define TIMES_BATCH 1024

/* Add the figures of the raw events of the range to out's buckets (allocated): the views
 * and the distinct users of each bucket. One aggregation through {site_id, timestamp} that
 * sends only the events' timestamp and user_id, in time order and in batches of
 * TIMES_BATCH, so that the events come bucket by bucket: the users of the bucket being read
 * are held as hashes (range_user_hash()), at most RANGE_USERS_PASS of them; a bucket with
 * more distinct users than that has them counted on the server (events_users()). */
static int
series_from_events(store_t *s, mongoc_client_t *client, const char *site_id,
                   const struct day_range *r, int64_t step_ms, const char *event_type,
                   struct series *out, struct app_err *err)
{
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *match = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                             BCON_DATE_TIME(r->from_ms), "$lt",
                             BCON_DATE_TIME(r->from_ms + r->days * TS_DAY_MS), "}");
    bson_t *pipeline, *opts = BCON_NEW("batchSize", BCON_INT32(TIMES_BATCH));
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    size_t n = 0, cap = 4096;
    uint64_t *h = malloc(cap * sizeof *h);
    int64_t bucket = -1; /* the bucket whose users are in h */
    int rc = h == NULL ? err_set(err, ERR_INTERNAL, "out of memory") : 0, full = 0;

    if (event_type != NULL) {
        BSON_APPEND_UTF8(match, "event_type", event_type);
    }
    pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$sort", "{",
                 "timestamp", BCON_INT32(1), "}", "}", "{", "$project", "{", "_id", BCON_INT32(0),
                 "timestamp", BCON_INT32(1), "user_id", BCON_INT32(1), "}", "}", "]");
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, opts, NULL);
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
                out->users[bucket] = full ? -1 : (int64_t)range_unique(h, n);
            }
            n = 0;
            full = 0;
            bucket = b;
        }
        out->views[b]++;
        if (user != NULL && user[0] != '\0' && !full &&
            (full = range_hold(&h, &n, &cap, range_user_hash(user, strlen(user)))) < 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb events series: %s", berr.message);
    }
    if (rc == 0 && bucket >= 0) {
        out->users[bucket] = full ? -1 : (int64_t)range_unique(h, n);
    }
    /* The buckets with too many users to hold: counted on the server. */
    for (int64_t b = 0; rc == 0 && b < out->n; b++) {
        int64_t from = r->from_ms + b * step_ms;
        if (out->users[b] < 0) {
            rc = events_users(coll, site_id, from, from + step_ms, event_type, &out->users[b], err);
        }
    }
    free(h);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(pipeline);
    bson_destroy(match);
    mongoc_collection_destroy(coll);
    return rc;
}

/* The number of entries of array field `key` of doc (0 when missing). A site-hour's users are
 * its set u's size: counted here from the array, since the test server cannot compute $size
 * (docs/development.md): that reads 8 bytes a user per site-hour document, a real MongoDB could
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
 * events of each, counted on the server (events_users()). Returns 0, or -1 with err. */
static int
users_from_events(store_t *s, mongoc_client_t *client, const char *site_id,
                  const struct day_range *r, int64_t step_ms, const char *event_type,
                  struct series *out, struct app_err *err)
{
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    int rc = 0;

    for (int64_t b = 0; rc == 0 && b < out->n; b++) {
        int64_t from = r->from_ms + b * step_ms;
        if (out->users[b] < 0) {
            rc = events_users(coll, site_id, from, from + step_ms, event_type, &out->users[b], err);
        }
    }
    mongoc_collection_destroy(coll);
    return rc;
}

/* A batch of site-day or site-hour documents holds about SERIES_BATCH_BYTES at the largest
 * size met so far (a site-hour keeps its hour's users, 9 bytes each, up to
 * ROLLUP_HOUR_USERS_MAX), at most SERIES_BATCH_MAX documents, SERIES_BATCH_FIRST before
 * any is met. */
#define SERIES_BATCH_BYTES (1024 * 1024)
#define SERIES_BATCH_MAX 64
#define SERIES_BATCH_FIRST 8

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
    bson_t *filter = NULL, *opts = NULL;
    mongoc_cursor_t *cur = NULL;
    const bson_t *doc;
    bson_error_t berr;
    size_t largest = 0;
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
    opts = BCON_NEW("batchSize", BCON_INT32(SERIES_BATCH_FIRST));
    cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        const char *id = utf8_field(doc, "_id");
        int64_t b = id != NULL ? range_bucket_of_id(r, step_ms, id) : -1;
        largest = doc->len > largest ? doc->len : largest;
        mongoc_cursor_set_batch_size(cur,
                                     range_batch(SERIES_BATCH_BYTES, largest, SERIES_BATCH_MAX));
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
    bson_destroy(opts);
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

/* The page views of the range by referrer host into out: the server groups them by their
 * raw properties.referrer (one document per distinct URL, in batches), reporting reduces
 * each to its host (rollup_referrer_host()) and adds them up, holding at most HOSTS_MAX
 * hosts: more is refused (ERR_INVALID, a 400). */
static int
referrers_from_events(mongoc_collection_t *coll, const bson_t *match, int limit,
                      struct breakdown *out, struct app_err *err)
{
    bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{",
                                "$match", "{", "event_type", BCON_UTF8("page_view"), "}", "}", "{",
                                "$group", "{", "_id", BCON_UTF8("$properties.referrer"), "views",
                                "{", "$sum", BCON_INT32(1), "}", "}", "}", "]");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(USERS_BATCH));
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, opts, NULL);
    struct hosts h;
    const struct host_views *top[BREAKDOWN_MAX];
    const bson_t *doc;
    bson_error_t berr;
    long n = 0;
    int rc = hosts_init(&h) != 0 ? err_set(err, ERR_INTERNAL, "out of memory") : 0;

    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        char host[ROLLUP_REFERRER_MAX + 1];
        const char *ref = utf8_field(doc, "_id");
        int added;
        if (ref == NULL || rollup_referrer_host(ref, host) < 0) {
            continue; /* counted under no referrer */
        }
        if ((added = hosts_add(&h, host, num_field(doc, "views"))) < 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        } else if (added > 0) {
            rc = err_set(err, ERR_INVALID,
                         "The range has more than %d referrer hosts, too many to count from the "
                         "raw events: ask /stats/breakdown, or a shorter range",
                         HOSTS_MAX);
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb events breakdown: %s", berr.message);
    }
    if (rc == 0 && (n = hosts_top(&h, (size_t)limit, top)) < 0) {
        rc = err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (long i = 0; rc == 0 && i < n; i++) {
        if (breakdown_add(out, top[i]->host, top[i]->views, 0) != 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    hosts_free(&h);
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(pipeline);
    return rc;
}

/* The top `limit` values of `field` (event_type or path) of the range's events, counted on
 * the server: grouped by the field, non-empty strings only, most viewed first, ties by
 * value. */
static int
values_from_events(mongoc_collection_t *coll, const bson_t *match, const char *field, int limit,
                   struct breakdown *out, struct app_err *err)
{
    char ref[16];
    bson_t *pipeline;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    snprintf(ref, sizeof ref, "$%s", field);
    pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$project",
                        "{", "_id", BCON_INT32(0), field, BCON_INT32(1), "}", "}", "{", "$group",
                        "{", "_id", BCON_UTF8(ref), "views", "{", "$sum", BCON_INT32(1), "}", "}",
                        "}", "{", "$match", "{", "_id", "{", "$gt", BCON_UTF8(""), "}", "}", "}",
                        "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1), "}", "}",
                        "{", "$limit", BCON_INT32(limit), "}", "]");
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        const char *value = utf8_field(doc, "_id");
        if (value != NULL && breakdown_add(out, value, num_field(doc, "views"), 0) != 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb events breakdown: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    return rc;
}

int
query_breakdown_events(store_t *s, const char *site_id, const struct day_range *r, int by,
                       int limit, struct breakdown *out, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    int64_t to_ms = r->from_ms + r->days * TS_DAY_MS;
    bson_t *match = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                             BCON_DATE_TIME(r->from_ms), "$lt", BCON_DATE_TIME(to_ms), "}");
    int rc;

    memset(out, 0, sizeof *out);
    out->has_users = by == RANGE_BY_EVENT_TYPE;
    rc = by == RANGE_BY_REFERRER
             ? referrers_from_events(coll, match, limit, out, err)
             : values_from_events(coll, match, range_by_names[by], limit, out, err);
    /* Each listed type's users, counted on the server as /stats/aggregated counts them. */
    for (size_t i = 0; rc == 0 && by == RANGE_BY_EVENT_TYPE && i < out->n; i++) {
        rc = events_users(coll, site_id, r->from_ms, to_ms, out->rows[i].value, &out->rows[i].users,
                          err);
    }
    if (rc != 0) {
        breakdown_clear(out);
    }
    bson_destroy(match);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc != 0 ? -1 : 0;
}
