/* store_int.h - what store.c shares with rollup.c, and no one else: the pool, the database
 * name and the write concern. */
#ifndef COMMON_STORE_INT_H
#define COMMON_STORE_INT_H

#include <mongoc/mongoc.h>

#include "store.h"

#define STORE_DUPLICATE_KEY 11000

struct store {
    mongoc_client_pool_t *pool;        /* reads and writes */
    const volatile sig_atomic_t *stop; /* see store_set_stop_flag(); NULL: never */
    atomic_size_t chunk;               /* see store_chunk() */
    atomic_uint chunk_streak;          /* commands in a row that did not time out */
    atomic_ullong chunk_timeouts;      /* commands that timed out (each halved chunk) */
    struct store_counters counters;    /* of pool, updated by its monitor threads */
    mongoc_client_pool_t *probe;       /* store_ping() only, with short timeouts */
    char *db;
    mongoc_write_concern_t *wc; /* for event writes; NULL: the URI's */
};

/* A client of the main pool; give it back with store_client_push(). */
mongoc_client_t *store_client_pop(store_t *s);
void store_client_push(store_t *s, mongoc_client_t *client);

/* -1 with err "stopping" once the stop flag is set, else 0: call before each command of
 * a call that sends several. */
int store_stopping(const store_t *s, struct app_err *err);

/* Record how a command of m documents (store_chunk() or fewer) ended, see store_chunk():
 * on a socket timeout in berr (NULL: it succeeded) the chunk becomes m / 2 at most.
 * Returns whether it timed out. */
int store_chunk_outcome(store_t *s, size_t m, const bson_error_t *berr);

/* The code of the first entry of reply.writeErrors (-1 when it has none), or 0 when
 * there is no writeErrors entry; its errmsg into msg when msg is not NULL. */
int32_t store_first_write_error(const bson_t *reply, char *msg, size_t msglen);

#endif
