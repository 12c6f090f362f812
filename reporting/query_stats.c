/* query_stats.c - /stats from the rollup documents: the site-day documents of a day or a
 * range, the distinct users of a range from its user documents, and the top paths. */
#include "query_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbread.h"

/* The most passes a distinct count of users makes (RANGE_USERS_PASS hashes each). */
#define USERS_PASSES_MAX 4096

/* The site-day documents of a range: their ids in order, and the copy of each found (for
 * range_users()). */
struct scopes {
    const char *site_id;
    char **ids;
    const struct day_range *r;
    bson_t **docs;
    struct stats *out;
};

/* For each site-day document of ids: add its views (and, for one day, its users) to out, and
 * keep a copy of it in docs[day]. */
static int
scope_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct scopes *sc = arg;
    const char *id = dbread_utf8(doc, "_id");
    int64_t day = id != NULL ? query_day_of_id(id, sc->r) : -1;

    if (day < 0 || sc->docs[day] != NULL || strcmp(id, sc->ids[day]) != 0) {
        return DBREAD_NEXT;
    }
    sc->out->total_views += dbread_int64(doc, "views");
    if (sc->r->days == 1) {
        sc->out->unique_users = dbread_int64(doc, "users");
    } else if ((sc->docs[day] = bson_copy(doc)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return DBREAD_NEXT;
}

/* Read the site-day documents sc->ids[0..r->days) by site_id and _id, the rollups' shard key
 * (scope_doc()). */
static int
read_scopes(store_t *s, struct scopes *sc, struct app_err *err)
{
    bson_t *filter = BCON_NEW("site_id", BCON_UTF8(sc->site_id));
    const struct dbread q = {.kind = DBREAD_FIND,
                             .collection = ROLLUP_COLLECTION,
                             .query = filter,
                             .what = "mongodb rollup",
                             .each = scope_doc,
                             .arg = sc};
    int rc;

    rc = store_append_in(filter, "_id", sc->ids, (size_t)sc->r->days, err) != 0
             ? -1
             : dbread_run(s, &q, err);
    bson_destroy(filter);
    return rc;
}

/* {$or: [{_id: {$gte: "<id>|", $lt: "<id>}"}}, ...]} over the days with a site-day
 * document: every user document of those days, through the _id index ('}', the character
 * after ROLLUP_CHILD_SEP '|', bounds every string that starts with "<id>|"). Sets *filter
 * NULL when no day has one. Returns 0, or -1 out of memory. */
static int
users_filter(const struct scopes *sc, bson_t **filter)
{
    bson_t *f = NULL, or, clause, range;
    char k[24];
    size_t n = 0;

    *filter = NULL;
    for (int64_t i = 0; i < sc->r->days; i++) {
        size_t len = strlen(sc->ids[i]);
        char *bound;
        if (sc->docs[i] == NULL) {
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
        memcpy(bound, sc->ids[i], len);
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

/* One pass of a distinct count: the hashes of the users whose hash % passes == pass. */
struct pass {
    const struct scopes *sc;
    int64_t passes, pass;
    uint64_t *h; /* the set (range_hold()) */
    size_t n, cap;
    int full; /* the pass holds too many: more passes */
};

/* For each user document: hold its user's hash when its site-day counts it
 * (range_user_counted(): its owner applied there) and it falls in this pass. */
static int
user_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct pass *p = arg;
    const char *id = dbread_utf8(doc, "_id"), *b = dbread_utf8(doc, "b");
    int64_t day = id != NULL ? query_day_of_id(id, p->sc->r) : -1;
    size_t len = day >= 0 ? strlen(p->sc->ids[day]) : 0;
    uint64_t x;

    if (day < 0 || b == NULL || p->sc->docs[day] == NULL ||
        strncmp(id, p->sc->ids[day], len) != 0 || id[len] != ROLLUP_CHILD_SEP ||
        !range_user_counted(p->sc->docs[day], b)) {
        return DBREAD_NEXT;
    }
    x = range_user_hash(id + len + 1, strlen(id + len + 1));
    if ((int64_t)(x % (uint64_t)p->passes) != p->pass) {
        return DBREAD_NEXT;
    }
    if ((p->full = range_hold(&p->h, &p->n, &p->cap, x)) < 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return p->full ? DBREAD_STOP : DBREAD_NEXT;
}

/* One pass over the user documents of filter: the distinct users of the days of sc->r that
 * their site-day counts and whose hash % p->passes == p->pass, into *out. Returns 0, 1 when
 * the pass holds too many (more passes), or -1 with err. */
static int
users_pass(store_t *s, const bson_t *filter, struct pass *p, int64_t *out, struct app_err *err)
{
    bson_t *opts = BCON_NEW("projection", "{", "b", BCON_INT32(1), "}", "batchSize",
                            BCON_INT32(QUERY_USERS_BATCH));
    const struct dbread q = {.kind = DBREAD_FIND,
                             .collection = ROLLUP_USERS_COLLECTION,
                             .query = filter,
                             .opts = opts,
                             .what = "mongodb rollup users",
                             .each = user_doc,
                             .arg = p};
    int rc;

    p->n = 0;
    p->cap = 4096;
    p->full = 0;
    p->h = malloc(p->cap * sizeof *p->h);
    rc = p->h == NULL ? err_set(err, ERR_INTERNAL, "out of memory") : dbread_run(s, &q, err);
    if (rc == 0 && p->full) {
        rc = 1;
    }
    if (rc == 0) {
        *out = (int64_t)range_unique(p->h, p->n);
    }
    free(p->h);
    p->h = NULL;
    bson_destroy(opts);
    return rc;
}

/* The distinct users over the days of sc->r: the user documents of each day that its
 * site-day counts, each user once, by hash (range.h): in range_passes() passes over the
 * documents (their number from the days' `users`, each a user document), each holding at
 * most RANGE_USERS_PASS hashes (2 MiB) and a batch of QUERY_USERS_BATCH documents; a pass
 * that would hold more doubles the passes. */
static int
range_users(store_t *s, const struct scopes *sc, int64_t *out, struct app_err *err)
{
    struct pass p = {.sc = sc};
    bson_t *filter;
    int64_t entries = 0, count;
    int rc = 0;

    *out = 0;
    if (users_filter(sc, &filter) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (filter == NULL) {
        return 0;
    }
    for (int64_t i = 0; i < sc->r->days; i++) {
        entries += sc->docs[i] != NULL ? dbread_int64(sc->docs[i], "users") : 0;
    }
    p.passes = range_passes(entries);
    while (rc == 0 && p.pass < p.passes) {
        rc = users_pass(s, filter, &p, &count, err);
        if (rc == 1) {
            /* More distinct users than the `users` figures said: split the passes. */
            rc = p.passes * 2 > USERS_PASSES_MAX
                     ? err_set(err, ERR_INTERNAL, "mongodb rollup users: too many users")
                     : 0;
            p.passes *= 2;
            p.pass = 0;
            *out = 0;
        } else if (rc == 0) {
            *out += count;
            p.pass++;
        }
    }
    bson_destroy(filter);
    return rc;
}

int
query_stats_scopes(store_t *s, const char *site_id, char **ids, const struct day_range *r,
                   struct stats *out, struct app_err *err)
{
    struct scopes sc = {.site_id = site_id, .ids = ids, .r = r, .out = out};
    int rc;

    if ((sc.docs = calloc((size_t)r->days, sizeof *sc.docs)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    rc = read_scopes(s, &sc, err) != 0 ||
                 (r->days > 1 && range_users(s, &sc, &out->unique_users, err) != 0)
             ? -1
             : 0;
    for (int64_t i = 0; i < r->days; i++) {
        bson_destroy(sc.docs[i]);
    }
    free(sc.docs);
    return rc;
}

/* The top paths of a read: where they go, and the name of their path's field. */
struct paths {
    struct stats *out;
    const char *key;
};

/* For each top path document: add it to the stats. */
static int
path_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    const struct paths *p = arg;

    return stats_add_path(p->out, doc, p->key) != 0 ? err_set(err, ERR_INTERNAL, "out of memory")
                                                    : DBREAD_NEXT;
}

int
query_stats_rollups(store_t *s, const char *site_id, const struct day_range *r,
                    const char *event_type, struct stats *out, struct app_err *err)
{
    char **ids = query_scope_ids(site_id, r, event_type);
    struct paths top = {.out = out};
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = ROLLUP_PATHS_COLLECTION,
                       .what = "mongodb rollup paths",
                       .each = path_doc,
                       .arg = &top};
    bson_t *pipeline = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (ids == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (query_stats_scopes(s, site_id, ids, r, out, err) != 0) {
        goto done;
    }
    if ((q.query = pipeline =
             query_top_pipeline(ids, r, "path", ROLLUP_TOP_PATHS, &top.key, err)) == NULL) {
        goto done;
    }
    rc = dbread_run(s, &q, err);
done:
    if (rc != 0) {
        stats_clear(out);
    }
    query_free_ids(ids, ids != NULL ? r->days : 0);
    bson_destroy(pipeline);
    return rc;
}
