/* query_realtime.c - GET /stats/realtime from the raw events of the last minutes. */
#include "query_realtime.h"

#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "event_doc.h"
#include "hash.h"
#include "query_scan.h"

/* For each page of the realtime aggregation: a row of out (its visitors as views). */
static int
realtime_row(const bson_t *doc, void *arg, struct app_err *err)
{
    const char *path = dbread_utf8(doc, "_id");

    if (path == NULL) {
        return DBREAD_NEXT;
    }
    return breakdown_add(arg, path, dbread_int64(doc, "visitors"), 0) != 0
               ? err_set(err, ERR_INTERNAL, "out of memory")
               : DBREAD_NEXT;
}

/* The count of a {$count: "n"} stage. */
static int
count_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    (void)err;
    *(int64_t *)arg = dbread_int64(doc, "n");
    return DBREAD_STOP;
}

/* The unfiltered read: two aggregations. */
static int
realtime_all(store_t *s, const char *site_id, int64_t now_ms, int64_t window_ms, int limit,
             int64_t *visitors, struct breakdown *pages, struct app_err *err)
{
    bson_t *who = BCON_NEW("pipeline", "[", "{", "$match", "{", EVDOC_SITE_ID, BCON_UTF8(site_id),
                           EVDOC_TIMESTAMP, "{", "$gte", BCON_DATE_TIME(now_ms - window_ms), "}",
                           EVDOC_USER_ID, "{", "$type", BCON_UTF8("string"), "}", "}", "}", "{",
                           "$group", "{", "_id", BCON_UTF8("$" EVDOC_USER_ID), "}", "}", "{",
                           "$count", BCON_UTF8("n"), "}", "]");
    /* Each visitor's latest page view ($sort then $first: the test server has no $last), then
     * the visitors of each page. */
    bson_t *where = BCON_NEW(
        "pipeline", "[", "{", "$match", "{", EVDOC_SITE_ID, BCON_UTF8(site_id), EVDOC_TIMESTAMP,
        "{", "$gte", BCON_DATE_TIME(now_ms - window_ms), "}", EVDOC_EVENT_TYPE,
        BCON_UTF8("page_view"), EVDOC_USER_ID, "{", "$type", BCON_UTF8("string"), "}", EVDOC_PATH,
        "{", "$type", BCON_UTF8("string"), "}", "}", "}", "{", "$sort", "{", EVDOC_TIMESTAMP,
        BCON_INT32(-1), "_id", BCON_INT32(-1), "}", "}", "{", "$group", "{", "_id",
        BCON_UTF8("$" EVDOC_USER_ID), "path", "{", "$first", BCON_UTF8("$" EVDOC_PATH), "}", "}",
        "}", "{", "$group", "{", "_id", BCON_UTF8("$path"), "visitors", "{", "$sum", BCON_INT32(1),
        "}", "}", "}", "{", "$sort", "{", "visitors", BCON_INT32(-1), "_id", BCON_INT32(1), "}",
        "}", "{", "$limit", BCON_INT32(limit), "}", "]");
    const struct dbread count = {.kind = DBREAD_AGGREGATE,
                                 .collection = STORE_EVENTS_COLLECTION,
                                 .query = who,
                                 .what = "mongodb realtime visitors",
                                 .each = count_doc,
                                 .arg = visitors};
    const struct dbread list = {.kind = DBREAD_AGGREGATE,
                                .collection = STORE_EVENTS_COLLECTION,
                                .query = where,
                                .what = "mongodb realtime pages",
                                .each = realtime_row,
                                .arg = pages};
    int rc;

    *visitors = 0;
    memset(pages, 0, sizeof *pages);
    rc = dbread_run(s, &count, err) != 0 || dbread_run(s, &list, err) != 0 ? -1 : 0;
    if (rc != 0) {
        breakdown_clear(pages);
    }
    bson_destroy(who);
    bson_destroy(where);
    return rc;
}

/* The filtered read's visitors: each one's latest kept page view's path (owned, or NULL). */
struct seen {
    const struct filters *fs;
    struct visitor {
        uint64_t user; /* FNV-1a 64 of user_id; 0: empty slot */
        char *path;
    } * tab;
    size_t n, cap; /* visitors, slots (a power of two) */
};

/* The visitor of hash u in w's table (made when new): its slot, or NULL (out of memory, or
 * past QUERY_REALTIME_VISITORS_MAX: w->n says which). */
static struct visitor *
visitor_of(struct seen *w, uint64_t u)
{
    size_t i;

    if (2 * (w->n + 1) > w->cap) {
        size_t cap = w->cap != 0 ? 2 * w->cap : 256;
        struct visitor *tab = calloc(cap, sizeof *tab);
        if (tab == NULL) {
            return NULL;
        }
        for (size_t k = 0; k < w->cap; k++) {
            if (w->tab[k].user != 0) {
                for (i = w->tab[k].user & (cap - 1); tab[i].user != 0; i = (i + 1) & (cap - 1)) {
                }
                tab[i] = w->tab[k];
            }
        }
        free(w->tab);
        w->tab = tab;
        w->cap = cap;
    }
    for (i = u & (w->cap - 1); w->tab[i].user != 0; i = (i + 1) & (w->cap - 1)) {
        if (w->tab[i].user == u) {
            return &w->tab[i];
        }
    }
    if (w->n >= QUERY_REALTIME_VISITORS_MAX) {
        return NULL;
    }
    w->n++;
    w->tab[i].user = u;
    return &w->tab[i];
}

/* Each event of the window, oldest first: a kept one counts its visitor, a kept page view
 * with a path becomes its visitor's page. */
static int
seen_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct seen *w = arg;
    const char *user = dbread_utf8(doc, EVDOC_USER_ID), *type, *path;
    struct visitor *v;
    char *copy;

    if (user == NULL || !query_scan_doc_passes(w->fs, doc)) {
        return DBREAD_NEXT;
    }
    if ((v = visitor_of(w, hash_fnv1a(HASH_FNV1A_BASIS, user, strlen(user)) | 1)) == NULL) {
        return w->n >= QUERY_REALTIME_VISITORS_MAX
                   ? err_set(err, ERR_INVALID,
                             "More than %d visitors in the window, too many to count with "
                             "filters",
                             QUERY_REALTIME_VISITORS_MAX)
                   : err_set(err, ERR_INTERNAL, "out of memory");
    }
    type = dbread_utf8(doc, EVDOC_EVENT_TYPE);
    path = dbread_utf8(doc, EVDOC_PATH);
    if (type == NULL || strcmp(type, "page_view") != 0 || path == NULL) {
        return DBREAD_NEXT;
    }
    if ((copy = strdup(path)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    free(v->path);
    v->path = copy;
    return DBREAD_NEXT;
}

/* Paths by visitors, most first, then by path. */
static int
by_visitors(const void *a, const void *b)
{
    const struct breakdown_row *x = a, *y = b;

    if (x->views != y->views) {
        return x->views > y->views ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pages of w's visitors: each path's visitors, the top `limit` into pages. */
static int
rank_pages(struct seen *w, int limit, struct breakdown *pages)
{
    char **paths = malloc((w->n + 1) * sizeof *paths);
    struct breakdown_row *rows = malloc((w->n + 1) * sizeof *rows);
    size_t n = 0, m = 0;
    int rc = -1;

    if (paths == NULL || rows == NULL) {
        goto done;
    }
    for (size_t i = 0; i < w->cap; i++) {
        if (w->tab[i].user != 0 && w->tab[i].path != NULL) {
            paths[n++] = w->tab[i].path;
        }
    }
    qsort(paths, n, sizeof *paths, by_path);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && strcmp(rows[m - 1].value, paths[i]) == 0) {
            rows[m - 1].views++;
        } else {
            rows[m++] = (struct breakdown_row){.value = paths[i], .views = 1};
        }
    }
    qsort(rows, m, sizeof *rows, by_visitors);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < m && i < (size_t)limit; i++) {
        rc = breakdown_add(pages, rows[i].value, rows[i].views, 0);
    }
done:
    free(paths);
    free(rows);
    return rc;
}

int
query_realtime(store_t *s, const char *site_id, const struct filters *fs, int64_t now_ms,
               int64_t window_ms, int limit, int64_t *visitors, struct breakdown *pages,
               struct app_err *err)
{
    struct seen w = {.fs = fs};
    bson_t *filter, *opts;
    int rc;

    if (fs == NULL || fs->n == 0) {
        return realtime_all(s, site_id, now_ms, window_ms, limit, visitors, pages, err);
    }
    filter = BCON_NEW(EVDOC_SITE_ID, BCON_UTF8(site_id), EVDOC_TIMESTAMP, "{", "$gte",
                      BCON_DATE_TIME(now_ms - window_ms), "}");
    opts = BCON_NEW("sort", "{", EVDOC_TIMESTAMP, BCON_INT32(1), "_id", BCON_INT32(1), "}");
    {
        const struct dbread q = {.kind = DBREAD_FIND,
                                 .collection = STORE_EVENTS_COLLECTION,
                                 .query = filter,
                                 .opts = opts,
                                 .what = "mongodb realtime",
                                 .each = seen_doc,
                                 .arg = &w};
        *visitors = 0;
        memset(pages, 0, sizeof *pages);
        rc = dbread_run(s, &q, err);
    }
    if (rc == 0 && (rc = rank_pages(&w, limit, pages)) != 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (rc == 0) {
        *visitors = (int64_t)w.n;
    } else {
        breakdown_clear(pages);
    }
    for (size_t i = 0; i < w.cap; i++) {
        free(w.tab[i].path);
    }
    free(w.tab);
    bson_destroy(opts);
    bson_destroy(filter);
    return rc;
}
