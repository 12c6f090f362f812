/* query_series.c - /stats/timeseries from the site-day or site-hour documents of a range. */
#include "query_series.h"

#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "query_aggregated.h"
#include "ts.h"

/* A batch of site-day or site-hour documents holds about SERIES_BATCH_BYTES at the largest
 * size met so far (a site-hour keeps its hour's users, 9 bytes each, up to
 * ROLLUP_HOUR_USERS_MAX), at most SERIES_BATCH_MAX documents, SERIES_BATCH_FIRST before
 * any is met. */
#define SERIES_BATCH_BYTES (1024 * 1024)
#define SERIES_BATCH_MAX 64
#define SERIES_BATCH_FIRST 8

/* A read of a range's site-day or site-hour documents into its buckets. */
struct buckets {
    const struct day_range *r;
    int64_t step_ms;
    int hour;   /* site-hours */
    char **ids; /* each bucket's document id */
    struct series *out;
    int before_sets; /* a site-hour without its set of users was met (users -1) */
};

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

/* For each site-day or site-hour document: its bucket's views and users. */
static int
bucket_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct buckets *bk = arg;
    const char *id = dbread_utf8(doc, "_id");
    int64_t b = id != NULL ? range_bucket_of_id(bk->r, bk->step_ms, id) : -1;

    (void)err;
    if (b < 0 || strcmp(id, bk->ids[b]) != 0) {
        return DBREAD_NEXT;
    }
    bk->out->views[b] = dbread_int64(doc, "views");
    bk->out->users[b] = bk->hour ? set_size(doc, "u") : dbread_int64(doc, "users");
    bk->out->capped[b] = bk->hour && dbread_bool(doc, "u_capped");
    /* A site-hour created before the sets were kept has no u_all: its users come from its
     * raw events. */
    if (bk->hour && bk->out->views[b] > 0 && !dbread_bool(doc, "u_all")) {
        bk->out->users[b] = -1;
        bk->before_sets = 1;
    }
    return DBREAD_NEXT;
}

/* The next batch: about SERIES_BATCH_BYTES of documents the size of the largest so far. */
static uint32_t
bucket_batch(void *arg, size_t largest)
{
    (void)arg;
    return range_batch(SERIES_BATCH_BYTES, largest, SERIES_BATCH_MAX);
}

int
query_series_rollups(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                     const char *event_type, struct series *out, struct app_err *err)
{
    int hour = step_ms != TS_DAY_MS;
    int64_t n = range_buckets(r, step_ms);
    struct buckets bk = {.r = r, .step_ms = step_ms, .hour = hour, .out = out};
    bson_t *filter = NULL, *opts = NULL;
    struct dbread q = {.kind = DBREAD_FIND,
                       .collection = hour ? ROLLUP_HOURS_COLLECTION : ROLLUP_COLLECTION,
                       .what = "mongodb rollup series",
                       .each = bucket_doc,
                       .arg = &bk,
                       .batch = bucket_batch};
    int rc = -1;

    memset(out, 0, sizeof *out);
    if ((bk.ids = query_bucket_ids(site_id, r, step_ms, event_type)) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (series_init(out, r, step_ms, err) != 0) {
        goto done;
    }
    /* site_id: the shard key of the site-days is {site_id, _id} (docs/scaling.md). */
    q.query = filter = BCON_NEW("site_id", BCON_UTF8(site_id));
    if (store_append_in(filter, "_id", bk.ids, (size_t)n, err) != 0) {
        goto done;
    }
    q.opts = opts = BCON_NEW("batchSize", BCON_INT32(SERIES_BATCH_FIRST));
    if (dbread_run(s, &q, err) != 0) {
        goto done;
    }
    if (bk.before_sets &&
        query_aggregated_bucket_users(s, site_id, r, step_ms, event_type, out, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        series_clear(out);
    }
    bson_destroy(opts);
    bson_destroy(filter);
    query_free_ids(bk.ids, bk.ids != NULL ? n : 0);
    return rc;
}
