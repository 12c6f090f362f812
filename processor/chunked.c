/* chunked.c - MongoDB inserts, reads, compare-and-sets and upserts over many documents, in
 * chunks, through one loop. */
#include "chunked.h"

#include <stdlib.h>
#include <string.h>

#include "event_doc.h"

int
chunked_run(store_t *s, size_t n, chunked_cmd_fn cmd, void *arg, const char *what,
            struct app_err *err)
{
    for (size_t from = 0, m; from < n; from += m) {
        bson_error_t berr;
        int rc;

        m = store_chunk(s);
        m = m < n - from ? m : n - from;
        if (store_stopping(s, err) != 0) {
            return -1;
        }
        memset(&berr, 0, sizeof berr);
        if ((rc = cmd(arg, from, m, &berr, err)) < 0) {
            return -1;
        }
        if (rc != 2) {
            store_chunk_outcome(s, m, rc == 1 ? &berr : NULL);
        }
        if (rc == 1) {
            return err_set(err, ERR_TRANSIENT, "mongodb %s: %s", what, berr.message);
        }
    }
    return 0;
}

int
chunked_keys_new(struct chunked_keys *ks, size_t cap)
{
    ks->k = calloc(cap ? cap : 1, sizeof *ks->k);
    ks->first = calloc(cap ? cap : 1, sizeof *ks->first);
    ks->n = ks->d = 0;
    ks->cap = cap;
    return ks->k != NULL && ks->first != NULL ? 0 : -1;
}

void
chunked_keys_free(struct chunked_keys *ks)
{
    free(ks->k);
    free(ks->first);
    ks->k = NULL;
    ks->first = NULL;
    ks->n = ks->d = ks->cap = 0;
}

void
chunked_keys_add(struct chunked_keys *ks, const char *id, size_t at)
{
    if (ks->n < ks->cap) {
        ks->k[ks->n].id = id;
        ks->k[ks->n++].at = at;
    }
}

static int
cmp_key(const void *a, const void *b)
{
    const struct chunked_key *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c != 0 ? c : (x->at > y->at) - (x->at < y->at);
}

void
chunked_keys_sort(struct chunked_keys *ks)
{
    if (ks->n > 1) {
        qsort(ks->k, ks->n, sizeof *ks->k, cmp_key);
    }
    ks->d = 0;
    for (size_t i = 0; i < ks->n; i++) {
        if (i == 0 || strcmp(ks->k[i - 1].id, ks->k[i].id) != 0) {
            ks->first[ks->d++] = i;
        }
    }
}

int
chunked_keys_find(const struct chunked_keys *ks, size_t from, size_t m, const char *id, size_t *lo,
                  size_t *hi)
{
    size_t a = from, b = from + m < ks->d ? from + m : ks->d;

    while (a < b) {
        size_t mid = a + (b - a) / 2;
        int c = strcmp(ks->k[ks->first[mid]].id, id);
        if (c == 0) {
            *lo = ks->first[mid];
            *hi = mid + 1 < ks->d ? ks->first[mid + 1] : ks->n;
            return 1;
        }
        if (c < 0) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    return 0;
}

bson_t *
chunked_sites_in(const struct event *evs, const size_t *at, size_t n, struct app_err *err)
{
    bson_t *f = bson_new();
    struct store_in x;
    const char *last = NULL;

    store_in_begin(&x, f, EVDOC_SITE_ID);
    for (size_t j = 0; j < n; j++) {
        const char *site = evs[at != NULL ? at[j] : j].site_id;
        if (last == NULL || strcmp(site, last) != 0) {
            store_in_add(&x, site);
        }
        last = site;
    }
    if (store_in_end(&x, err) != 0) {
        bson_destroy(f);
        return NULL;
    }
    return f;
}

/* The i-th id of a $in. */
typedef const char *(*id_fn)(const void *arg, size_t i);

/* {_id: {$in: [id(arg, from), ..., id(arg, from + m - 1)]}} and the conditions of also (NULL:
 * none), or NULL with err. */
static bson_t *
in_filter(id_fn id, const void *arg, size_t from, size_t m, const bson_t *also, struct app_err *err)
{
    bson_t *f = bson_new();
    struct store_in x;

    store_in_begin(&x, f, "_id");
    for (size_t i = from; i < from + m; i++) {
        store_in_add(&x, id(arg, i));
    }
    if (store_in_end(&x, err) != 0 || (also != NULL && !bson_concat(f, also))) {
        err_set(err, ERR_INTERNAL, "a filter of %zu ids is too large", m);
        bson_destroy(f);
        return NULL;
    }
    return f;
}

/* The r-th distinct id of a set of keys (id_fn). */
static const char *
key_id(const void *arg, size_t r)
{
    const struct chunked_keys *ks = arg;

    return ks->k[ks->first[r]].id;
}

/* ids[i] of an array of ids (id_fn). */
static const char *
array_id(const void *arg, size_t i)
{
    return ((const char *const *)arg)[i];
}

/* One chunked_find(). */
struct find {
    mongoc_collection_t *coll;
    const bson_t *also, *opts;
    const struct chunked_keys *ks;
    chunked_hit_fn hit;
    void *arg;
};

/* The find of distinct ids [from, from + m) (chunked_cmd_fn). */
static int
find_chunk(void *arg, size_t from, size_t m, bson_error_t *berr, struct app_err *err)
{
    struct find *q = arg;
    bson_t *f = in_filter(key_id, q->ks, from, m, q->also, err);
    mongoc_cursor_t *cur;
    const bson_t *doc;
    int failed;

    if (f == NULL) {
        return -1;
    }
    cur = mongoc_collection_find_with_opts(q->coll, f, q->opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        size_t lo, hi;
        if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it) &&
            chunked_keys_find(q->ks, from, m, bson_iter_utf8(&it, NULL), &lo, &hi)) {
            for (size_t j = lo; j < hi; j++) {
                q->hit(q->arg, doc, q->ks->k[j].at);
            }
        }
    }
    failed = mongoc_cursor_error(cur, berr);
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    return failed ? 1 : 0;
}

int
chunked_find(store_t *s, mongoc_collection_t *coll, const bson_t *also, const bson_t *opts,
             const struct chunked_keys *ks, chunked_hit_fn hit, void *arg, const char *what,
             struct app_err *err)
{
    struct find q = {coll, also, opts, ks, hit, arg};

    return chunked_run(s, ks->d, find_chunk, &q, what, err);
}

/* One chunked_cas(). */
struct cas {
    store_t *s;
    mongoc_collection_t *coll;
    const bson_t *also;
    const char *const *ids;
    const char *field, *from, *to;
};

/* The compare-and-set of ids [at, at + m) (chunked_cmd_fn). */
static int
cas_chunk(void *arg, size_t at, size_t m, bson_error_t *berr, struct app_err *err)
{
    struct cas *c = arg;
    bson_t *f = in_filter(array_id, c->ids, at, m, c->also, err), *update, *opts;
    int failed;

    if (f == NULL) {
        return -1;
    }
    if (c->from[0] != '\0') {
        BSON_APPEND_UTF8(f, c->field, c->from);
    } else {
        BCON_APPEND(f, c->field, "{", "$exists", BCON_BOOL(false), "}");
    }
    update = BCON_NEW("$set", "{", c->field, BCON_UTF8(c->to), "}");
    opts = bson_new();
    store_append_write_concern(c->s, opts);
    failed = !mongoc_collection_update_many(c->coll, f, update, opts, NULL, berr);
    bson_destroy(f);
    bson_destroy(update);
    bson_destroy(opts);
    return failed;
}

int
chunked_cas(store_t *s, mongoc_collection_t *coll, const bson_t *also, const char *const *ids,
            size_t n, const char *field, const char *from, const char *to, const char *what,
            struct app_err *err)
{
    struct cas c = {s, coll, also, ids, field, from, to};

    return chunked_run(s, n, cas_chunk, &c, what, err);
}

/* One chunked_upsert(). */
struct upsert {
    store_t *s;
    mongoc_collection_t *coll;
    bson_t **filters, **updates;
    chunked_settle_fn settle;
    void *arg;
    const char *what;
};

/* The upserts [from, from + n) as one unordered bulk write (chunked_cmd_fn). */
static int
upsert_chunk(void *arg, size_t from, size_t n, bson_error_t *berr, struct app_err *err)
{
    struct upsert *u = arg;
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t *one = BCON_NEW("upsert", BCON_BOOL(true), "validate", BCON_BOOL(false));
    mongoc_bulk_operation_t *bulk;
    bson_t reply;
    int rc = -1;

    store_append_write_concern(u->s, opts);
    bulk = mongoc_collection_create_bulk_operation_with_opts(u->coll, opts);
    for (size_t i = from; i < from + n; i++) {
        if (!mongoc_bulk_operation_update_one_with_opts(bulk, u->filters[i], u->updates[i], one,
                                                        berr)) {
            err_set(err, ERR_INTERNAL, "%s: the driver refuses an update: %s", u->what,
                    berr->message);
            bson_init(&reply);
            goto done;
        }
    }
    if (mongoc_bulk_operation_execute(bulk, &reply, berr) != 0) {
        rc = 0;
    } else if (berr->code == STORE_DUPLICATE_KEY || store_first_write_error(&reply, NULL, 0) != 0) {
        /* Answered, with write errors: each of its upserts by itself. */
        rc = 2;
        for (size_t i = from; i < from + n && rc == 2; i++) {
            rc = u->settle(u->arg, i) == 0 ? 2 : -1;
        }
    } else {
        rc = 1;
    }
done:
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(opts);
    bson_destroy(one);
    return rc;
}

int
chunked_upsert(store_t *s, mongoc_collection_t *coll, bson_t **filters, bson_t **updates, size_t n,
               chunked_settle_fn settle, void *arg, const char *what, struct app_err *err)
{
    struct upsert u = {s, coll, filters, updates, settle, arg, what};

    return chunked_run(s, n, upsert_chunk, &u, what, err);
}
