/* store_int.h - what store.c shares with rollup.c, and no one else: the pool, the database
 * name and the write concern. */
#ifndef COMMON_STORE_INT_H
#define COMMON_STORE_INT_H

#include <mongoc/mongoc.h>

#include "store.h"

#define STORE_DUPLICATE_KEY 11000

struct store {
    mongoc_client_pool_t *pool;     /* reads and writes */
    struct store_counters counters; /* of pool, updated by its monitor threads */
    mongoc_client_pool_t *probe;    /* store_ping() only, with short timeouts */
    char *db;
    mongoc_write_concern_t *wc; /* for event writes; NULL: the URI's */
};

/* A client of the main pool; give it back with store_client_push(). */
mongoc_client_t *store_client_pop(store_t *s);
void store_client_push(store_t *s, mongoc_client_t *client);

/* The code of the first entry of reply.writeErrors (-1 when it has none), or 0 when
 * there is no writeErrors entry; its errmsg into msg when msg is not NULL. */
int32_t store_first_write_error(const bson_t *reply, char *msg, size_t msglen);

#endif
