/* chunked.h - MongoDB commands over many documents, each command on store_chunk() of them at
 * most: reads by a $in of their ids, compare-and-sets of a field, and bulk upserts. Before
 * each command they check the stop flag (store_stopping()), and they tell the store how each
 * command ended (store_chunk_outcome()), so that a command that timed out goes out smaller
 * next time instead of timing out for ever. One thread per call (as the store's clients). */
#ifndef PROCESSOR_CHUNKED_H
#define PROCESSOR_CHUNKED_H

#include <stddef.h>

#include "err.h"
#include "store.h"

/* The i-th id a chunked_find() reads. */
typedef const char *(*chunked_id_fn)(const void *arg, size_t i);

/* A document that the query of ids [from, from + m) found. */
typedef void (*chunked_doc_fn)(void *arg, const bson_t *doc, size_t from, size_t m);

/* Read the documents of coll whose _id is one of the n ids id(arg, 0), ..., id(arg, n - 1),
 * with one find {_id: {$in: [...]}} per store_chunk() ids, calling each(arg, doc, from, m) for
 * each document that the query of ids [from, from + m) found. Returns 0, or -1 with err:
 * ERR_TRANSIENT "mongodb <what>: <reason>" when a query fails, or "stopping"; ERR_INTERNAL
 * when a filter cannot be built. */
int chunked_find(store_t *s, mongoc_collection_t *coll, size_t n, chunked_id_fn id,
                 chunked_doc_fn each, void *arg, const char *what, struct app_err *err);

/* A compare-and-set on each of the documents ids[0..n) of coll: set `field` to `to` where it
 * is `from` ("": where it is missing), with one updateMany {_id: {$in: [...]}, field: from}
 * -> {$set: {field: to}} per store_chunk() ids, with the store's write concern. Which
 * documents it changed, a read tells. Returns 0, or -1 with err: ERR_TRANSIENT "mongodb
 * <what>: <reason>" when an update fails, or "stopping"; ERR_INTERNAL when a filter cannot
 * be built. */
int chunked_cas(store_t *s, mongoc_collection_t *coll, const char *const *ids, size_t n,
                const char *field, const char *from, const char *to, const char *what,
                struct app_err *err);

/* Run upsert i of a chunked_upsert() by itself until it is settled. Returns 0, or -1 with
 * the call's err. */
typedef int (*chunked_settle_fn)(void *arg, size_t i);

/* Run the upserts filters[i] / updates[i] on coll, i < n, as unordered bulk writes of
 * store_chunk() upserts at most, with the store's write concern. The updates go out without
 * the driver's check of each (the caller builds them of operators only: the check was a tenth
 * of the processor's instructions). When a bulk write reports a write error (a duplicate key:
 * an upsert whose filter failed on an existing document, or that lost the race to create it),
 * settle(arg, i) runs each of its upserts by itself: servers differ in what they keep of a
 * bulk with errors (MongoDB the updates without one, the test server none), so each upsert
 * must be safe to repeat. Returns 0, or -1 with err: ERR_TRANSIENT "mongodb <what> bulk
 * write: <reason>", or "stopping"; ERR_INTERNAL "<what> update: <reason>" when the driver
 * refuses an update; or settle()'s. */
int chunked_upsert(store_t *s, mongoc_collection_t *coll, bson_t **filters, bson_t **updates,
                   size_t n, chunked_settle_fn settle, void *arg, const char *what,
                   struct app_err *err);

#endif
