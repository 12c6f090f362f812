/* store.h - MongoDB: a client pool, idempotent event writes and the /stats query. */
#ifndef COMMON_STORE_H
#define COMMON_STORE_H

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "metrics.h"

#define STORE_EVENTS_COLLECTION "events"
#define STORE_ROLLUPS_COLLECTION "rollups"    /* see rollup.h */
#define STORE_PATHS_COLLECTION "rollup_paths" /* see rollup.h */
#define STORE_USERS_COLLECTION "rollup_users" /* see rollup.h */
#define STORE_DEFAULT_DB "analytics"
#define STORE_TOP_PATHS 10

typedef struct store store_t;

/* Connect lazily to the MongoDB of `uri` (database from its path, default
 * "analytics"). Unless the URI sets them, serverSelectionTimeoutMS is 2000,
 * connectTimeoutMS 2000 and socketTimeoutMS socket_timeout_ms, so an
 * unreachable or frozen server turns into an error within seconds rather than
 * minutes. Must be called after mongoc_init(). Returns NULL with err filled on
 * a bad URI. */
store_t *store_new(const char *uri, const char *appname, int socket_timeout_ms,
                   struct app_err *err);

/* The write concern of event writes: "majority" or a number of nodes (1 or
 * more; 0, unacknowledged, is refused since nothing could then be known to be
 * stored), with a 10-second wtimeout so that a missing majority turns into a
 * retry rather than a hang. The default is the URI's, else the server's.
 * Returns 0, or -1 with err->msg saying why the value is not accepted. */
int store_set_write_concern(store_t *s, const char *w, struct app_err *err);

/* What the driver's server monitoring saw of the main pool. */
struct store_counters {
    atomic_ullong servers_connected; /* Unknown -> reachable: first connection, reconnects */
    atomic_ullong servers_lost;      /* reachable -> Unknown */
    atomic_ullong heartbeats_failed;
};

/* Append the analytics_mongodb_connections_total, _disconnects_total and
 * _heartbeat_failures_total families. */
void store_render_metrics(const store_t *s, struct metrics_buf *b);

/* From now on, every call that sends more than one command to the server checks *stop
 * before each (store_insert_events() and rollup_apply()), and fails with "stopping" as
 * soon as it is set: a stop then waits for at most the one command in flight. */
void store_set_stop_flag(store_t *s, const volatile sig_atomic_t *stop);

/* The most documents one write command carries (and the most ids one $in names). It
 * starts at STORE_CHUNK_MAX; when a command times out (a server too slow to answer that
 * many within socketTimeoutMS: retrying the same command would time out again, for
 * ever) it becomes half the size of that command, and it doubles back after
 * STORE_CHUNK_GROW commands in a row that did not. */
#define STORE_CHUNK_MAX 10000
#define STORE_CHUNK_GROW 8
size_t store_chunk(const store_t *s);

/* Free the pool. NULL is a no-op. Call before mongoc_cleanup(). */
void store_free(store_t *s);

/* Run `ping` on a separate pool whose timeouts are 2 s whatever the URI says,
 * so a health check answers within that even when the server is frozen.
 * Returns 0 when the server answers, -1 (err filled) otherwise. Thread-safe. */
int store_ping(store_t *s, struct app_err *err);

/* Create the indexes the queries need, idempotently: events {site_id:1, timestamp:1}
 * and rollup_paths {scope:1, views:-1, path:1}. */
int store_ensure_indexes(store_t *s, struct app_err *err);

/* What became of each event handed to store_insert_events(). */
enum store_outcome {
    STORE_INSERTED = 0,
    STORE_DUPLICATE = 1, /* an event with this _id was already stored: counts as stored */
    STORE_REJECTED = 2,  /* the server refused this document; see reasons[i] */
};

/* The figures an event counts in, each kept by the processors in its own rollup
 * document (see rollup.h): the site-day, the site-day of its event type, and, when it
 * has a path, that path's counts in each of the two. */
enum store_kind {
    STORE_KIND_ALL = 0,
    STORE_KIND_TYPE = 1,
    STORE_KIND_PATH_ALL = 2,
    STORE_KIND_PATH_TYPE = 3,
    STORE_KINDS = 4
};
/* Their names in an event document's `own` field: "a", "t", "pa", "pt". */
extern const char *const store_kind_names[STORE_KINDS];

/* Write the events as documents {_id: id, site_id, event_type, path, user_id,
 * timestamp: Date, createdAt: Date(now_ms), properties?, own: {a, t, pa?, pt?}}
 * (absent path and user_id are null; own names `batch` for each figure the event
 * counts in, pa and pt only with a non-empty path). Idempotent: the event id is the _id and a
 * duplicate-key error means "already stored". One unordered insert_many; when the server reports
 * write errors for it, the batch is written again one document at a time, since the test server
 * inserts nothing from a batch with one duplicate while MongoDB inserts the rest (see MONGO.md).
 * Returns 0 when every event has an outcome in outcomes[i] (and, for
 * STORE_REJECTED, a reason in reasons[i], a buffer of 128 bytes each);
 * -1 with err->code ERR_TRANSIENT when the server could not be reached or did
 * not acknowledge: then nothing is known, and the whole batch is to be retried.
 * The documents go out in commands of at most store_chunk() each. */
int store_insert_events(store_t *s, const struct event *evs, size_t n, int64_t now_ms,
                        const char *batch, enum store_outcome *outcomes, char (*reasons)[128],
                        struct app_err *err);

/* The figures of /stats for one site and UTC day. */
struct store_stats {
    int64_t total_views;
    int64_t unique_users;
    json_t *top_paths; /* owned: array of {"path","views"}, at most STORE_TOP_PATHS */
};

/* Compute the stats of site_id for the UTC day starting at day_start_ms,
 * narrowed to event_type unless it is NULL, with one aggregation over the
 * {site_id, timestamp} range. site_id and event_type are matched as plain
 * strings. Returns 0 and fills out (release top_paths with json_decref()), or
 * -1 with err filled. Thread-safe. */
int store_query_stats(store_t *s, const char *site_id, int64_t day_start_ms, const char *event_type,
                      struct store_stats *out, struct app_err *err);

#endif
