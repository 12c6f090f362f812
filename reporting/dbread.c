/* dbread.c - reporting's one way to read MongoDB: open a client, a collection and a cursor,
 * hand each document to the read's callback, release them all; and a document's fields. */
#include "dbread.h"

int
dbread_run(store_t *s, const struct dbread *q, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, q->collection);
    mongoc_cursor_t *cur =
        q->kind == DBREAD_FIND
            ? mongoc_collection_find_with_opts(coll, q->query, q->opts, NULL)
            : mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, q->query, q->opts, NULL);
    const bson_t *doc;
    bson_error_t berr;
    size_t largest = 0;
    int rc = DBREAD_NEXT;

    while (rc == DBREAD_NEXT && mongoc_cursor_next(cur, &doc)) {
        if ((rc = q->each(doc, q->arg, err)) == DBREAD_NEXT && q->batch != NULL) {
            largest = doc->len > largest ? doc->len : largest;
            mongoc_cursor_set_batch_size(cur, q->batch(q->arg, largest));
        }
    }
    if (rc >= 0) {
        rc = mongoc_cursor_error(cur, &berr)
                 ? err_set(err, ERR_TRANSIENT, "%s: %s", q->what, berr.message)
                 : 0;
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}

const char *
dbread_utf8(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

int64_t
dbread_int64(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it)
               ? bson_iter_as_int64(&it)
               : 0;
}

int
dbread_bool(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
}
