/* chunked.c - MongoDB reads, compare-and-sets and upserts over many documents, in chunks. */
#include "chunked.h"

/* How many of the n items from `from` on the next command takes (store_chunk() at most),
 * or 0 with err "stopping" once a stop is requested. */
static size_t
next_chunk(store_t *s, size_t from, size_t n, struct app_err *err)
{
    size_t m = store_chunk(s);

    if (store_stopping(s, err) != 0) {
        return 0;
    }
    return m < n - from ? m : n - from;
}

/* Tell the store how a command on m documents ended: failed (berr) or not (see
 * store_chunk_outcome()). Returns 0, or -1 with err "mongodb <what>: <reason>" when it failed. */
static int
outcome(store_t *s, size_t m, int failed, const bson_error_t *berr, const char *what,
        struct app_err *err)
{
    store_chunk_outcome(s, m, failed ? berr : NULL);
    return failed ? err_set(err, ERR_TRANSIENT, "mongodb %s: %s", what, berr->message) : 0;
}

/* {_id: {$in: [id(arg, from), ..., id(arg, from + m - 1)]}}, or NULL with err. */
static bson_t *
in_filter(chunked_id_fn id, const void *arg, size_t from, size_t m, struct app_err *err)
{
    bson_t *f = bson_new();
    struct store_in x;

    store_in_begin(&x, f, "_id");
    for (size_t i = from; i < from + m; i++) {
        store_in_add(&x, id(arg, i));
    }
    if (store_in_end(&x, err) != 0) {
        bson_destroy(f);
        return NULL;
    }
    return f;
}

/* ids[i] of an array of ids (chunked_id_fn). */
static const char *
array_id(const void *arg, size_t i)
{
    return ((const char *const *)arg)[i];
}

int
chunked_find(store_t *s, mongoc_collection_t *coll, size_t n, chunked_id_fn id, chunked_doc_fn each,
             void *arg, const char *what, struct app_err *err)
{
    for (size_t from = 0, m; from < n; from += m) {
        bson_t *f;
        mongoc_cursor_t *cur;
        const bson_t *doc;
        bson_error_t berr;
        int rc;

        if ((m = next_chunk(s, from, n, err)) == 0) {
            return -1;
        }
        if ((f = in_filter(id, arg, from, m, err)) == NULL) {
            return -1;
        }
        cur = mongoc_collection_find_with_opts(coll, f, NULL, NULL);
        while (mongoc_cursor_next(cur, &doc)) {
            each(arg, doc, from, m);
        }
        rc = outcome(s, m, mongoc_cursor_error(cur, &berr), &berr, what, err);
        mongoc_cursor_destroy(cur);
        bson_destroy(f);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int
chunked_cas(store_t *s, mongoc_collection_t *coll, const char *const *ids, size_t n,
            const char *field, const char *from, const char *to, const char *what,
            struct app_err *err)
{
    for (size_t at = 0, m; at < n; at += m) {
        bson_t *f, *update, *opts;
        bson_error_t berr;
        int rc;

        if ((m = next_chunk(s, at, n, err)) == 0) {
            return -1;
        }
        if ((f = in_filter(array_id, ids, at, m, err)) == NULL) {
            return -1;
        }
        if (from[0] != '\0') {
            BSON_APPEND_UTF8(f, field, from);
        } else {
            BCON_APPEND(f, field, "{", "$exists", BCON_BOOL(false), "}");
        }
        update = BCON_NEW("$set", "{", field, BCON_UTF8(to), "}");
        opts = bson_new();
        store_append_write_concern(s, opts);
        rc = outcome(s, m, !mongoc_collection_update_many(coll, f, update, opts, NULL, &berr),
                     &berr, what, err);
        bson_destroy(f);
        bson_destroy(update);
        bson_destroy(opts);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The upserts [from, from + n) of a chunked_upsert() as one unordered bulk write. */
static int
upsert_chunk(store_t *s, mongoc_collection_t *coll, bson_t **filters, bson_t **updates, size_t from,
             size_t n, chunked_settle_fn settle, void *arg, const char *what, struct app_err *err)
{
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t *one = BCON_NEW("upsert", BCON_BOOL(true), "validate", BCON_BOOL(false));
    mongoc_bulk_operation_t *bulk;
    bson_t reply;
    bson_error_t berr;
    int rc = -1;

    store_append_write_concern(s, opts);
    bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
    for (size_t i = from; i < from + n; i++) {
        if (!mongoc_bulk_operation_update_one_with_opts(bulk, filters[i], updates[i], one, &berr)) {
            err_set(err, ERR_INTERNAL, "%s update: %s", what, berr.message);
            bson_init(&reply);
            goto done;
        }
    }
    if (mongoc_bulk_operation_execute(bulk, &reply, &berr) != 0) {
        store_chunk_outcome(s, n, NULL);
        rc = 0;
    } else if (berr.code == STORE_DUPLICATE_KEY || store_first_write_error(&reply, NULL, 0) != 0) {
        rc = 0;
        for (size_t i = from; i < from + n && rc == 0; i++) {
            rc = settle(arg, i);
        }
    } else {
        store_chunk_outcome(s, n, &berr);
        err_set(err, ERR_TRANSIENT, "mongodb %s bulk write: %s", what, berr.message);
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
    for (size_t from = 0, m; from < n; from += m) {
        if ((m = next_chunk(s, from, n, err)) == 0 ||
            upsert_chunk(s, coll, filters, updates, from, m, settle, arg, what, err) != 0) {
            return -1;
        }
    }
    return 0;
}
