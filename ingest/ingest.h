/* ingest.h - the ingest service's configuration and shared state. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include <stdatomic.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pusher.h"
#include "rconn.h"
#include "svc.h"

/* POST /events: at most this many events, and this many bytes of body. */
#define INGEST_BATCH_MAX_EVENTS 500
#define INGEST_BATCH_MAX_BYTES (512L * 1024)

struct ingest_cfg {
    int port;
    const char *bind_address;
    const char *redis_host;
    int redis_port;
    const char *redis_password;
    long redis_timeout_ms;
    const char *queue_key;
    long max_body_bytes;
    struct svc_http_cfg http;
    long shutdown_delay_ms;
    struct svc_log_cfg log;
};

/* Counters for /metrics. */
struct ingest_stats {
    atomic_ullong valid;       /* events that passed validation */
    atomic_ullong enqueued;    /* events in Redis, answered 202 */
    atomic_ullong invalid;     /* events answered 400 (each event of a refused batch) */
    atomic_ullong too_large;   /* requests answered 413 */
    atomic_ullong unavailable; /* events answered 503: Redis failed */
    atomic_ullong ambiguous;   /* of those, events Redis may have queued (no answer came) */
    struct rconn_stats redis;
    struct metrics_histogram push_sizes; /* events per LPUSH of the group commit */
};

struct ingest {
    struct ingest_cfg cfg;
    rconn_pool_t *redis; /* the probes */
    pusher_t *pusher;    /* the events */
    struct ingest_stats stats;
};

/* The route table: POST /event, POST /events, the probes and /metrics. */
extern const struct http_route ingest_routes[];
extern const size_t ingest_n_routes;

#endif
