/* dbread.h - reporting's one way to read MongoDB: a find or an aggregation on a client of the
 * store's pool, each document of its cursor handed to a callback, everything released and a
 * failure of the cursor turned into an app_err in one place; and the fields a read takes
 * from a document. */
#ifndef REPORTING_DBREAD_H
#define REPORTING_DBREAD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* What a read's callback answers for each document: go on to the next one, or stop reading
 * (enough was read: not a failure). A callback that fails fills err and returns -1. */
#define DBREAD_NEXT 0
#define DBREAD_STOP 1

/* The callback of a read: called with each document in the cursor's order (doc is valid
 * until it returns; copy what is kept). Returns DBREAD_NEXT, DBREAD_STOP or -1 (err filled). */
typedef int (*dbread_each_fn)(const bson_t *doc, void *arg, struct app_err *err);

/* The size of the cursor's next batch, after a document the callback went on from, given the
 * size in bytes of the largest such document so far (the room of a bounded read: see
 * range_batch()). */
typedef uint32_t (*dbread_batch_fn)(void *arg, size_t largest);

/* A read: a find (query is its filter) or an aggregation (query is {pipeline: [...]}) on a
 * collection of the store's database. */
struct dbread {
    enum { DBREAD_FIND, DBREAD_AGGREGATE } kind;
    const char *collection;
    const bson_t *query;
    const bson_t *opts;  /* the find's or aggregation's options (batchSize...), or NULL */
    const char *what;    /* a failed cursor's err->msg is "<what>: <the driver's message>" */
    dbread_each_fn each; /* called with arg */
    void *arg;
    dbread_batch_fn batch; /* or NULL: the batches the driver and opts choose */
};

/* Run read q: take a client from s's pool, open the cursor, hand each document to q->each
 * (and, after each it went on from, set the next batch's size from q->batch), then release
 * the cursor, the collection and the client, whatever happened. Returns 0 when the cursor
 * was read to its end or the callback stopped it; -1 when the callback failed (err as it
 * filled it; the cursor is then not asked for its error), or when the cursor failed (err:
 * ERR_TRANSIENT, "<what>: <message>"). Thread-safe: one client a read, given back before
 * it returns, so a caller may run several reads one after the other. */
int dbread_run(store_t *s, const struct dbread *q, struct app_err *err);

/* The string field `key` of doc, or NULL (missing, or not a string). */
const char *dbread_utf8(const bson_t *doc, const char *key);

/* The number field `key` of doc as an int64, or 0 (missing, or not a number). */
int64_t dbread_int64(const bson_t *doc, const char *key);

/* Whether doc's field `key` is the boolean true. */
int dbread_bool(const bson_t *doc, const char *key);

#endif
