/* query_aggregated.c - the figures of /stats, /stats/timeseries and /stats/breakdown from the
 * raw events (the /aggregated routes), each grouped or counted on the server as far as it
 * can be, through the index {site_id, timestamp}. */
#include "query_aggregated.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "hosts.h"
#include "ts.h"

/* The events a read of the range's (timestamp, user_id) asks for in one batch: each at most
 * about 300 bytes. */
#define TIMES_BATCH 1024

/* {site_id, timestamp: {$gte: from_ms, $lt: to_ms}} (and event_type unless NULL): the
 * events of a site in [from_ms, to_ms), through {site_id, timestamp}; site_id and event_type
 * are plain strings, never operators. */
static bson_t *
events_match(const char *site_id, int64_t from_ms, int64_t to_ms, const char *event_type)
{
    bson_t *match = BCON_NEW("site_id", BCON_UTF8(site_id), "timestamp", "{", "$gte",
                             BCON_DATE_TIME(from_ms), "$lt", BCON_DATE_TIME(to_ms), "}");

    if (event_type != NULL) {
        BSON_APPEND_UTF8(match, "event_type", event_type);
    }
    return match;
}

/* --- /stats/aggregated ------------------------------------------------------------------ */

/* The pipeline: match the site and days (and type), then count, distinct users and
 * top paths in one $facet. */
static bson_t *
stats_pipeline(const char *site_id, const struct day_range *r, const char *event_type)
{
    bson_t *p = bson_new();
    bson_t *match = events_match(site_id, range_raw_from(r), r->end_ms, event_type);
    bson_t stages, stage, facet, arr, st;

    bson_append_array_begin(p, "pipeline", -1, &stages);

    bson_append_document_begin(&stages, "0", -1, &stage);
    BSON_APPEND_DOCUMENT(&stage, "$match", match);
    bson_append_document_end(&stages, &stage);
    bson_destroy(match);

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

/* The answer of the $facet: its one document, read into the stats. */
struct facets {
    struct stats *out;
    int got; /* the document came */
};

/* The $facet's document: the count, the distinct users and the top paths. */
static int
facets_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct facets *f = arg;
    bson_iter_t it, arr;

    f->got = 1;
    f->out->total_views = facet_count(doc, "total");
    f->out->unique_users = facet_count(doc, "users");
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
            if (bson_init_static(&entry, data, len) && stats_add_path(f->out, &entry, "_id") != 0) {
                return err_set(err, ERR_INTERNAL, "out of memory");
            }
        }
    }
    return DBREAD_STOP;
}

int
query_aggregated_stats(store_t *s, const char *site_id, const struct day_range *r,
                       const char *event_type, struct stats *out, struct app_err *err)
{
    struct facets f = {.out = out};
    bson_t *pipeline = stats_pipeline(site_id, r, event_type);
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .what = "mongodb aggregate",
                             .each = facets_doc,
                             .arg = &f};
    int rc;

    memset(out, 0, sizeof *out);
    rc = dbread_run(s, &q, err);
    if (rc == 0 && !f.got) {
        rc = err_set(err, ERR_INTERNAL, "mongodb aggregate returned no document");
    }
    if (rc != 0) {
        stats_clear(out);
    }
    bson_destroy(pipeline);
    return rc;
}

/* --- /stats/timeseries/aggregated ------------------------------------------------------- */

/* The one document of a count: its `n` into *(int64_t *)arg. */
static int
count_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    (void)err;
    *(int64_t *)arg = dbread_int64(doc, "n");
    return DBREAD_STOP;
}

/* The distinct non-empty user_ids of site_id's events in [from_ms, to_ms) (of event_type
 * unless NULL), counted on the server: one aggregation through {site_id, timestamp} that
 * groups them by user_id and counts the groups, so that reporting receives one number. */
static int
events_users(store_t *s, const char *site_id, int64_t from_ms, int64_t to_ms,
             const char *event_type, int64_t *out, struct app_err *err)
{
    bson_t *match = events_match(site_id, from_ms, to_ms, event_type);
    /* Grouped first and matched after ({$gt: ""}: the non-empty strings), as the $facet of
     * /stats/aggregated (tests/bench/NOTES.md). */
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$project", "{",
                 "_id", BCON_INT32(0), "user_id", BCON_INT32(1), "}", "}", "{", "$group", "{",
                 "_id", BCON_UTF8("$user_id"), "}", "}", "{", "$match", "{", "_id", "{", "$gt",
                 BCON_UTF8(""), "}", "}", "}", "{", "$count", BCON_UTF8("n"), "}", "]");
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .what = "mongodb events users",
                             .each = count_doc,
                             .arg = out};
    int rc;

    *out = 0; /* no user: no document */
    rc = dbread_run(s, &q, err);
    bson_destroy(pipeline);
    bson_destroy(match);
    return rc;
}

int
query_aggregated_bucket_users(store_t *s, const char *site_id, const struct day_range *r,
                              int64_t step_ms, const char *event_type, struct series *out,
                              struct app_err *err)
{
    int rc = 0;

    for (int64_t b = 0; rc == 0 && b < out->n; b++) {
        if (out->users[b] < 0) {
            rc = events_users(s, site_id, range_bucket_start(r, step_ms, b),
                              range_bucket_start(r, step_ms, b + 1), event_type, &out->users[b],
                              err);
        }
    }
    return rc;
}

/* The raw events of a range, in time order, into a series' buckets: the users of the
 * bucket being read are held as hashes. */
struct times {
    const struct day_range *r;
    int64_t step_ms;
    struct series *out;
    uint64_t *h; /* the users of `bucket` (range_hold()) */
    size_t n, cap;
    int64_t bucket; /* the bucket whose users are in h, -1 before the first */
    int full;       /* it has more than h holds: counted on the server */
};

/* Close the bucket being read: its users from h, or -1 (to count on the server). */
static void
times_close(struct times *t)
{
    if (t->bucket >= 0) {
        t->out->users[t->bucket] = t->full ? -1 : (int64_t)range_unique(t->h, t->n);
    }
}

/* For each event: a view of its bucket, and its user held. */
static int
time_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct times *t = arg;
    bson_iter_t it;
    const char *user = dbread_utf8(doc, "user_id");
    int64_t b = bson_iter_init_find(&it, doc, "timestamp") && BSON_ITER_HOLDS_DATE_TIME(&it)
                    ? range_bucket_of(t->r, t->step_ms, bson_iter_date_time(&it))
                    : -1;

    if (b < 0) {
        return DBREAD_NEXT;
    }
    if (b != t->bucket) {
        if (b < t->bucket) {
            return err_set(err, ERR_INTERNAL, "mongodb events series: not in time order");
        }
        times_close(t);
        t->n = 0;
        t->full = 0;
        t->bucket = b;
    }
    t->out->views[b]++;
    if (user != NULL && user[0] != '\0' && !t->full &&
        (t->full = range_hold(&t->h, &t->n, &t->cap, range_user_hash(user, strlen(user)))) < 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return DBREAD_NEXT;
}

/* Add the figures of the raw events of the range to out's buckets (allocated): the views
 * and the distinct users of each bucket. One aggregation through {site_id, timestamp} that
 * sends only the events' timestamp and user_id, in time order and in batches of
 * TIMES_BATCH, so that the events come bucket by bucket: the users of the bucket being read
 * are held as hashes (range_user_hash()), at most RANGE_USERS_PASS of them; a bucket with
 * more distinct users than that has them counted on the server (events_users()). */
static int
series_from_events(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                   const char *event_type, struct series *out, struct app_err *err)
{
    bson_t *match = events_match(site_id, range_raw_from(r), r->end_ms, event_type);
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$sort", "{",
                 "timestamp", BCON_INT32(1), "}", "}", "{", "$project", "{", "_id", BCON_INT32(0),
                 "timestamp", BCON_INT32(1), "user_id", BCON_INT32(1), "}", "}", "]");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(TIMES_BATCH));
    struct times t = {.r = r, .step_ms = step_ms, .out = out, .cap = 4096, .bucket = -1};
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .opts = opts,
                             .what = "mongodb events series",
                             .each = time_doc,
                             .arg = &t};
    int rc;

    t.h = malloc(t.cap * sizeof *t.h);
    rc = t.h == NULL ? err_set(err, ERR_INTERNAL, "out of memory") : dbread_run(s, &q, err);
    if (rc == 0) {
        times_close(&t);
        /* The buckets with too many users to hold: counted on the server. */
        rc = query_aggregated_bucket_users(s, site_id, r, step_ms, event_type, out, err);
    }
    free(t.h);
    bson_destroy(opts);
    bson_destroy(pipeline);
    bson_destroy(match);
    return rc;
}

int
query_aggregated_series(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                        const char *event_type, struct series *out, struct app_err *err)
{
    int rc = series_init(out, r, step_ms, err) != 0 ||
                     series_from_events(s, site_id, r, step_ms, event_type, out, err) != 0
                 ? -1
                 : 0;

    if (rc != 0) {
        series_clear(out);
    }
    return rc;
}

/* --- /stats/breakdown/aggregated -------------------------------------------------------- */

/* For each referrer URL and its views: add them to its host's (arg, a struct hosts). */
static int
referrer_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    char host[ROLLUP_REFERRER_MAX + 1];
    const char *ref = dbread_utf8(doc, "_id");
    int added;

    if (ref == NULL || rollup_referrer_host(ref, host) < 0) {
        return DBREAD_NEXT; /* counted under no referrer */
    }
    if ((added = hosts_add(arg, host, dbread_int64(doc, "views"))) < 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (added > 0) {
        return err_set(err, ERR_INVALID,
                       "The range has more than %d referrer hosts, too many to count from the "
                       "raw events: ask /stats/breakdown, or a shorter range",
                       HOSTS_MAX);
    }
    return DBREAD_NEXT;
}

/* The page views of the range (match) by referrer host into out: the server groups them by
 * their raw properties.referrer (one document per distinct URL, in batches), reporting
 * reduces each to its host (rollup_referrer_host()) and adds them up, holding at most
 * HOSTS_MAX hosts: more is refused (ERR_INVALID, a 400). */
static int
referrers_from_events(store_t *s, const bson_t *match, int limit, struct breakdown *out,
                      struct app_err *err)
{
    bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{",
                                "$match", "{", "event_type", BCON_UTF8("page_view"), "}", "}", "{",
                                "$group", "{", "_id", BCON_UTF8("$properties.referrer"), "views",
                                "{", "$sum", BCON_INT32(1), "}", "}", "}", "]");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(QUERY_USERS_BATCH));
    struct hosts h;
    const struct dbread q = {.kind = DBREAD_AGGREGATE,
                             .collection = STORE_EVENTS_COLLECTION,
                             .query = pipeline,
                             .opts = opts,
                             .what = "mongodb events breakdown",
                             .each = referrer_doc,
                             .arg = &h};
    const struct host_views *top[BREAKDOWN_MAX];
    long n = 0;
    int rc = hosts_init(&h) != 0 ? err_set(err, ERR_INTERNAL, "out of memory") : 0;

    if (rc == 0) {
        rc = dbread_run(s, &q, err);
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
    bson_destroy(opts);
    bson_destroy(pipeline);
    return rc;
}

/* The top `limit` values of `field` (event_type or path) of the range's events (match),
 * counted on the server: grouped by the field, non-empty strings only, most viewed first,
 * ties by value. */
static int
values_from_events(store_t *s, const bson_t *match, const char *field, int limit,
                   struct breakdown *out, struct app_err *err)
{
    char ref[16];
    struct breakdown_rows rows = {.out = out, .key = "_id"};
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = STORE_EVENTS_COLLECTION,
                       .what = "mongodb events breakdown",
                       .each = breakdown_add_doc,
                       .arg = &rows};
    bson_t *pipeline;
    int rc;

    snprintf(ref, sizeof ref, "$%s", field);
    pipeline = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(match), "}", "{", "$project",
                        "{", "_id", BCON_INT32(0), field, BCON_INT32(1), "}", "}", "{", "$group",
                        "{", "_id", BCON_UTF8(ref), "views", "{", "$sum", BCON_INT32(1), "}", "}",
                        "}", "{", "$match", "{", "_id", "{", "$gt", BCON_UTF8(""), "}", "}", "}",
                        "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1), "}", "}",
                        "{", "$limit", BCON_INT32(limit), "}", "]");
    q.query = pipeline;
    rc = dbread_run(s, &q, err);
    bson_destroy(pipeline);
    return rc;
}

int
query_aggregated_breakdown(store_t *s, const char *site_id, const struct day_range *r, int by,
                           int limit, struct breakdown *out, struct app_err *err)
{
    int64_t to_ms = r->end_ms;
    bson_t *match = events_match(site_id, range_raw_from(r), to_ms, NULL);
    int rc;

    memset(out, 0, sizeof *out);
    if (by == RANGE_BY_ENTRY_PAGE || by == RANGE_BY_EXIT_PAGE) {
        bson_destroy(match);
        /* A visit's pages need its events in order: only the processors' rollups have them. */
        return err_set(err, ERR_INVALID,
                       "Parameter 'by' must be event_type, path or referrer on "
                       "/stats/breakdown/aggregated");
    }
    out->has_users = by == RANGE_BY_EVENT_TYPE;
    rc = by == RANGE_BY_REFERRER
             ? referrers_from_events(s, match, limit, out, err)
             : values_from_events(s, match, range_by_names[by], limit, out, err);
    /* Each listed type's users, counted on the server as /stats/aggregated counts them. */
    for (size_t i = 0; rc == 0 && by == RANGE_BY_EVENT_TYPE && i < out->n; i++) {
        rc = events_users(s, site_id, range_raw_from(r), to_ms, out->rows[i].value,
                          &out->rows[i].users, err);
    }
    if (rc != 0) {
        breakdown_clear(out);
    }
    bson_destroy(match);
    return rc != 0 ? -1 : 0;
}
