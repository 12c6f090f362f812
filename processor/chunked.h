/* chunked.h - MongoDB commands over many documents, each command on store_chunk() of them at
 * most: inserts, reads by a $in of their ids, compare-and-sets of a field, and bulk upserts,
 * all through one loop (chunked_run()). Before each command it checks the stop flag
 * (store_stopping()), and it tells the store how each command ended (store_chunk_outcome()),
 * so that a command that timed out goes out smaller next time instead of timing out for ever,
 * and is counted (analytics_mongodb_timeouts_total). One thread per call (as the store's
 * clients). */
#ifndef PROCESSOR_CHUNKED_H
#define PROCESSOR_CHUNKED_H

#include <stddef.h>

#include "err.h"
#include "event.h"
#include "store.h"

/* {site_id: {$in: [...]}}: the sites of events evs[at[j]], j < n (at NULL: evs[j]), a site
 * next to itself once: the also of a chunked_find() or chunked_cas() on the events, whose shard
 * key is {site_id: 1, _id: 1} (docs/scaling.md; an _id is of one site, so this adds nothing to
 * what the _ids select). NULL with err (ERR_INTERNAL) when it cannot be built. */
bson_t *chunked_sites_in(const struct event *evs, const size_t *at, size_t n, struct app_err *err);

/* One command of a chunked_run(), on items [from, from + m) of the caller's: returns 0 when
 * the server answered, 2 when it answered with write errors (whatever the caller then did
 * about them succeeded), 1 when the command failed with berr (no answer, or a transient
 * error), or -1 with err (the command could not be built, or what the caller did about the
 * answer failed). */
typedef int (*chunked_cmd_fn)(void *arg, size_t from, size_t m, bson_error_t *berr,
                              struct app_err *err);

/* Run cmd over items [0, n) in commands of store_chunk() items at most (read before each
 * command, so one that timed out makes the next smaller), telling the store how each ended:
 * 0 as an answer, 1 with its berr; 2 not at all (the retry of a batch finds the documents it
 * wrote before: were those answers steps towards a larger chunk, each retry would grow the
 * chunk back over the same documents and time out again, for ever). Returns 0, or -1 with err:
 * ERR_TRANSIENT "stopping", or "mongodb <what>: <reason>" when a command failed; or cmd's. */
int chunked_run(store_t *s, size_t n, chunked_cmd_fn cmd, void *arg, const char *what,
                struct app_err *err);

/* A set of ids to read, each with the caller's index `at` (the same id may come with several),
 * sorted by id so that a document read is matched to its keys by a binary search, and each
 * distinct id is asked for once: chunked_keys_new(), chunked_keys_add() each, then
 * chunked_keys_sort() (pure: tests/unit/test_chunked.c). */
struct chunked_key {
    const char *id; /* the caller's, not copied */
    size_t at;
};
struct chunked_keys {
    struct chunked_key *k;
    size_t n, cap;
    size_t *first; /* first[r]: the index in k of the r-th distinct id, r < d */
    size_t d;
};

/* Room for cap keys. Returns 0, or -1 out of memory (chunked_keys_free() it all the same). */
int chunked_keys_new(struct chunked_keys *ks, size_t cap);
void chunked_keys_free(struct chunked_keys *ks);

/* Add key (id, at); at most cap of them. */
void chunked_keys_add(struct chunked_keys *ks, const char *id, size_t at);

/* Sort the keys by id, then at, and list the distinct ids in first[0..d). O(n log n). */
void chunked_keys_sort(struct chunked_keys *ks);

/* Of the distinct ids [from, from + m), the one equal to id: its keys are k[*lo..*hi).
 * Returns 1, or 0 when none is. */
int chunked_keys_find(const struct chunked_keys *ks, size_t from, size_t m, const char *id,
                      size_t *lo, size_t *hi);

/* A document read for key `at` (once for each key of its id). */
typedef void (*chunked_hit_fn)(void *arg, const bson_t *doc, size_t at);

/* Read the documents of coll whose _id is one of the sorted ids of ks, with one find
 * {_id: {$in: [...]}, <also's conditions>} (also and options opts, NULL: none) per
 * store_chunk() distinct ids (chunked_run()); also carries the rest of coll's shard key
 * (docs/scaling.md), the same for every chunk,
 * calling hit(arg, doc, at) for each key of each document found. Returns 0, or -1 with err
 * as chunked_run(); ERR_INTERNAL when a filter cannot be built. */
int chunked_find(store_t *s, mongoc_collection_t *coll, const bson_t *also, const bson_t *opts,
                 const struct chunked_keys *ks, chunked_hit_fn hit, void *arg, const char *what,
                 struct app_err *err);

/* A compare-and-set on each of the documents ids[0..n) of coll: set `field` to `to` where it
 * is `from` ("": where it is missing), with one updateMany {_id: {$in: [...]}, field: from,
 * <also's conditions, as chunked_find()>} -> {$set: {field: to}} per store_chunk() ids, with the
 * store's write concern. Which documents it changed, a read tells. Returns 0, or -1 with err as
 * chunked_run(); ERR_INTERNAL when a filter cannot be built. */
int chunked_cas(store_t *s, mongoc_collection_t *coll, const bson_t *also, const char *const *ids,
                size_t n, const char *field, const char *from, const char *to, const char *what,
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
 * must be safe to repeat. Returns 0, or -1 with err as chunked_run(); ERR_INTERNAL "<what>:
 * the driver refuses an update: <reason>"; or settle()'s. */
int chunked_upsert(store_t *s, mongoc_collection_t *coll, bson_t **filters, bson_t **updates,
                   size_t n, chunked_settle_fn settle, void *arg, const char *what,
                   struct app_err *err);

#endif
