/* store.h - MongoDB for the programs that use it (processor, reporting): the driver's
 * set-up and log, a client pool with server monitoring, a health check, the write
 * concern, the stop flag, the size of write commands and the $in filter of a set of ids.
 * The documents themselves are each program's: the processor writes events and rollups
 * (processor/insert.h, processor/rollup.h), reporting reads them (reporting/query.h). */
#ifndef COMMON_STORE_H
#define COMMON_STORE_H

#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "metrics.h"

#define STORE_EVENTS_COLLECTION "events"
#define STORE_DEFAULT_DB "analytics"
#define STORE_DUPLICATE_KEY 11000

typedef struct store store_t;

/* Route the driver's log through ours (at the levels our logger maps it to, without its
 * trace output) and mongoc_init(). Call first, before any other driver function. */
void store_driver_init(void);

/* mongoc_cleanup(): call last, after store_free(). */
void store_driver_cleanup(void);

/* Whether the driver accepts `value` as a MongoDB URI: 0, or -1 with err (one line) saying
 * why. The check function of the MONGO_URI row of a configuration table (struct cfg_var). */
int store_check_uri(const char *value, struct app_err *err);

/* The MONGO_URI row, writing into the const char **dest. */
#define STORE_URI_VAR(dest)                                                                        \
    {                                                                                              \
        "MONGO_URI", "mongodb://127.0.0.1:27017/analytics", CFG_URI, (dest), 0, 0, 0,              \
            store_check_uri                                                                        \
    }

/* Connect lazily to the MongoDB of `uri` (database from its path, default
 * "analytics"). Unless the URI sets them, serverSelectionTimeoutMS is 2000,
 * connectTimeoutMS 2000 and socketTimeoutMS socket_timeout_ms, so an
 * unreachable or frozen server turns into an error within seconds rather than
 * minutes. Must be called after store_driver_init(). Returns NULL with err filled on
 * a bad URI. */
store_t *store_new(const char *uri, const char *appname, int socket_timeout_ms,
                   struct app_err *err);

/* Free the pool. NULL is a no-op. Call before store_driver_cleanup(). */
void store_free(store_t *s);

/* A client of the main pool (thread-safe), and a collection of the store's database on it
 * (release with mongoc_collection_destroy() before giving the client back). */
mongoc_client_t *store_client_pop(store_t *s);
void store_client_push(store_t *s, mongoc_client_t *client);
mongoc_collection_t *store_collection(const store_t *s, mongoc_client_t *client, const char *name);
mongoc_database_t *store_database(const store_t *s, mongoc_client_t *client);

/* The write concern of the processor's writes: "majority" or a number of nodes (1 or
 * more; 0, unacknowledged, is refused since nothing could then be known to be
 * stored), with a 10-second wtimeout so that a missing majority turns into a
 * retry rather than a hang. The default is the URI's, else the server's.
 * Returns 0, or -1 with err->msg saying why the value is not accepted. */
int store_set_write_concern(store_t *s, const char *w, struct app_err *err);

/* From now on, every collection and database this store hands out reads from the primary,
 * whatever MONGO_URI's readPreference says (a URI shared with reporting may send its reads to
 * secondaries, which lag), with read concern majority when the write concern set above is
 * "majority", else local (the primary's own view, which holds this store's acknowledged
 * writes). For the processor, whose protocol reads back what it wrote: call it after
 * store_set_write_concern(). */
void store_pin_reads(store_t *s);

/* Append the write concern set above (if any) to the options of a write. Returns 0, or -1
 * when it cannot be appended. */
int store_append_write_concern(const store_t *s, bson_t *opts);

/* What the driver's server monitoring saw of the main pool. */
struct store_counters {
    atomic_ullong servers_connected; /* Unknown -> reachable: first connection, reconnects */
    atomic_ullong servers_lost;      /* reachable -> Unknown */
    atomic_ullong heartbeats_failed;
};

/* Append the analytics_mongodb_connections_total, _disconnects_total,
 * _heartbeat_failures_total, _timeouts_total and _write_chunk families. */
void store_render_metrics(const store_t *s, struct metrics_buf *b);

/* From now on, every call that sends more than one command to the server checks *stop
 * before each (through store_stopping()), and fails with "stopping" as soon as it is
 * set: a stop then waits for at most the one command in flight. */
void store_set_stop_flag(store_t *s, const atomic_int *stop);

/* -1 with err "stopping" (ERR_TRANSIENT) once the stop flag is set, else 0: call before
 * each command of a call that sends several. */
int store_stopping(const store_t *s, struct app_err *err);

/* The most documents one write command carries (and the most ids one $in names). It
 * starts at STORE_CHUNK_MAX; when a command times out (a server too slow to answer that
 * many within socketTimeoutMS: retrying the same command would time out again, for
 * ever) it becomes half the size of that command, and it doubles back after
 * STORE_CHUNK_GROW commands in a row that did not. */
#define STORE_CHUNK_MAX 10000
#define STORE_CHUNK_GROW 8
size_t store_chunk(const store_t *s);

/* Record how a command of m documents (store_chunk() or fewer) ended, see store_chunk():
 * on a socket timeout in berr (NULL: it succeeded) the timeout is counted and the chunk
 * becomes m / 2 at most. m 0: a command on one document, outside any chunk (an update or read
 * that settles one document), whose timeout is counted alone: the chunk stays, and its
 * success is no step towards doubling it back. Returns whether it timed out. */
int store_chunk_outcome(store_t *s, size_t m, const bson_error_t *berr);

/* The code of the first entry of reply.writeErrors (-1 when it has none), or 0 when
 * there is no writeErrors entry; its errmsg into msg when msg is not NULL. */
int32_t store_first_write_error(const bson_t *reply, char *msg, size_t msglen);

/* A filter {key: {$in: [id, ...]}} appended to document doc (the sets of documents both
 * programs read by id): store_in_begin(), store_in_add() for each id, store_in_end(). The
 * array's keys are "0", "1", ..., as BSON wants. Allocates nothing but doc's growth. */
struct store_in {
    bson_t *doc;
    bson_t in, list;
    uint32_t n;
    int open; /* in and list are open */
    int ok;   /* every append so far succeeded */
};
void store_in_begin(struct store_in *x, bson_t *doc, const char *key);
void store_in_add(struct store_in *x, const char *id);

/* Close the filter. Returns 0, or -1 with err (ERR_INTERNAL) when doc could not grow (past
 * BSON's size limit: libbson aborts when memory runs out): the filter is then cut short, not
 * to be sent. */
int store_in_end(struct store_in *x, struct app_err *err);

/* The same filter over the n ids of a list: {key: {$in: [ids[0..n)]}} appended to doc.
 * Returns 0, or -1 with err as store_in_end(). */
int store_append_in(bson_t *doc, const char *key, char *const *ids, size_t n, struct app_err *err);

/* Run `ping` on a separate pool whose timeouts are 2 s whatever the URI says,
 * so a health check answers within that even when the server is frozen.
 * Returns 0 when the server answers, -1 (err filled) otherwise. Thread-safe. */
int store_ping(store_t *s, struct app_err *err);

#ifdef FAULT_INJECTION
/* The test variants' command log (tests/it/cmdlog.c): with MONGO_COMMAND_LOG set, add to cbs a
 * command-started callback that records each command of the main pool. */
void store_cmdlog_callbacks(mongoc_apm_callbacks_t *cbs);
#endif

#endif
