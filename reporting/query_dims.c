/* query_dims.c - a scan's figures from rollup_dims and rollup_dim_visits. */
#include "query_dims.h"

#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "query.h"
#include "rollup_doc.h"
#include "ts.h"

/* scan_dims.vals is indexed by enum filter_dim, rollup_dim_fields[] in the same order. */
_Static_assert(FILTER_COUNTRY + 1 == ROLLUP_DIMS, "rollup_dim_fields[] is enum filter_dim's start");

/* What one read of the dimension documents works with. */
struct dims_read {
    struct scan *s;
    int visits;     /* rollup_dim_visits (else rollup_dims) */
    int incomplete; /* a document with a capped set of users, or a day without dims: true */
    int64_t *users; /* room for a document's hashes */
    size_t cap;
};

/* A site-day or visit site-day of the range (dbread_each_fn): its day is held by the dimension
 * rollups only when it says so. */
static int
day_flag(const bson_t *doc, void *arg, struct app_err *err)
{
    struct dims_read *rd = arg;

    (void)err;
    if (!dbread_bool(doc, ROLLUP_DIMS_FLAG)) {
        rd->incomplete = 1;
        return DBREAD_STOP;
    }
    return DBREAD_NEXT;
}

/* The hashes of doc's set u into rd->users; their number, or -1 out of memory. */
static long
read_users(struct dims_read *rd, const bson_t *doc)
{
    bson_iter_t it, u;
    size_t n = 0;

    if (!bson_iter_init_find(&it, doc, "u") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &u)) {
        return 0;
    }
    while (bson_iter_next(&u)) {
        if (!BSON_ITER_HOLDS_INT64(&u)) {
            continue;
        }
        if (n == rd->cap) {
            size_t cap = rd->cap != 0 ? 2 * rd->cap : 256;
            int64_t *grown = realloc(rd->users, cap * sizeof *grown);
            if (grown == NULL) {
                return -1;
            }
            rd->users = grown;
            rd->cap = cap;
        }
        rd->users[n++] = bson_iter_int64(&u);
    }
    return (long)n;
}

/* One document of rollup_dims or rollup_dim_visits (dbread_each_fn), into the scan. */
static int
dims_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct dims_read *rd = arg;
    struct scan_dims d = {.users = NULL};
    long n = 0;
    int rc;

    if (dbread_bool(doc, "u_capped")) {
        rd->incomplete = 1; /* its users are a lower bound: the raw events count them */
        return DBREAD_STOP;
    }
    const char *date = dbread_utf8(doc, "date");
    int64_t date_ms;
    if (date == NULL || ts_parse_date(date, strlen(date), &date_ms) != 0) {
        return DBREAD_NEXT; /* not a document of ours */
    }
    d.day = date_ms / TS_DAY_MS - range_date_ms(&rd->s->range, 0) / TS_DAY_MS;
    for (int i = 0; i < ROLLUP_DIMS; i++) {
        d.vals[i] = dbread_utf8(doc, rollup_dim_fields[i]);
    }
    if (rd->visits) {
        d.add.visits = dbread_int64(doc, "visits");
        d.add.bounces = dbread_int64(doc, "bounces");
        d.add.duration_ms = dbread_int64(doc, "duration_ms");
    } else {
        d.add.events = dbread_int64(doc, "views");
        d.add.pageviews = dbread_int64(doc, "pageviews");
        if ((n = read_users(rd, doc)) < 0) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        d.users = rd->users;
        d.n_users = (size_t)n;
    }
    if ((rc = scan_add_dims(rd->s, &d)) != 0) {
        return rc < 0 ? err_set(err, ERR_INTERNAL, "out of memory")
                      : err_set(err, ERR_INVALID, "%s", SCAN_TOO_MANY);
    }
    return DBREAD_NEXT;
}

/* Whether every site-day and visit site-day of the range that exists says dims: true. */
static int
range_held(store_t *st, const char *site_id, struct dims_read *rd, struct app_err *err)
{
    static const char *const colls[] = {ROLLUP_COLLECTION, ROLLUP_VISITS_COLLECTION};
    const struct day_range *r = &rd->s->range;
    char **ids = query_scope_ids(site_id, r, NULL);
    int rc = 0;

    if (ids == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t c = 0; c < 2 && rc == 0 && !rd->incomplete; c++) {
        bson_t *filter = BCON_NEW("site_id", BCON_UTF8(site_id));
        bson_t *opts = BCON_NEW("projection", "{", ROLLUP_DIMS_FLAG, BCON_INT32(1), "}");
        const struct dbread q = {.kind = DBREAD_FIND,
                                 .collection = colls[c],
                                 .query = filter,
                                 .opts = opts,
                                 .what = "mongodb rollup days",
                                 .each = day_flag,
                                 .arg = rd};
        rc = store_append_in(filter, "_id", ids, (size_t)r->days, err) != 0
                 ? -1
                 : dbread_run(st, &q, err);
        bson_destroy(filter);
        bson_destroy(opts);
    }
    query_free_ids(ids, r->days);
    return rc;
}

/* Read the dimension documents of collection coll over the range into the scan. */
static int
read_dims(store_t *st, const char *site_id, const char *coll, struct dims_read *rd,
          struct app_err *err)
{
    char first[RANGE_DATE_LEN], last[RANGE_DATE_LEN];
    bson_t *filter, *opts;
    int rc;

    range_dates(&rd->s->range, first, last);
    filter = BCON_NEW("site_id", BCON_UTF8(site_id), "date", "{", "$gte", BCON_UTF8(first), "$lte",
                      BCON_UTF8(last), "}");
    opts = BCON_NEW("projection", "{", "_id", BCON_INT32(0), "runs", BCON_INT32(0), "voided",
                    BCON_INT32(0), "}");
    const struct dbread q = {.kind = DBREAD_FIND,
                             .collection = coll,
                             .query = filter,
                             .opts = opts,
                             .what = "mongodb rollup dimensions",
                             .each = dims_doc,
                             .arg = rd};
    rc = dbread_run(st, &q, err);
    bson_destroy(filter);
    bson_destroy(opts);
    return rc;
}

int
query_dims(store_t *st, const char *site_id, struct scan *s, struct app_err *err)
{
    struct dims_read rd = {.s = s};
    int rc = -1;

    if (range_held(st, site_id, &rd, err) != 0) {
        goto done;
    }
    if (!rd.incomplete && read_dims(st, site_id, ROLLUP_DIMS_COLLECTION, &rd, err) != 0) {
        goto done;
    }
    rd.visits = 1;
    if (!rd.incomplete && read_dims(st, site_id, ROLLUP_DIM_VISITS_COLLECTION, &rd, err) != 0) {
        goto done;
    }
    if (rd.incomplete) {
        /* Start the scan again for the raw events: rows from before the stop are dropped. */
        struct scan fresh;
        if (scan_init(&fresh, s->fs, &s->range, s->mode, s->step_ms,
                      s->mode == SCAN_VALUES ? &s->by : NULL) != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
        scan_cleanup(s);
        *s = fresh;
    }
    rc = rd.incomplete ? 0 : 1;
done:
    free(rd.users);
    return rc;
}
