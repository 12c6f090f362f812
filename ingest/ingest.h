/* ingest.h - the ingest service's configuration and shared state. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include <stdatomic.h>

#include "http.h"
#include "log.h"
#include "rconn.h"
#include "svc.h"

struct ingest_cfg {
    int port;
    const char *bind_address;
    const char *redis_host;
    int redis_port;
    const char *redis_password;
    long redis_timeout_ms;
    const char *queue_key;
    long max_body_bytes;
    long http_threads;
    long shutdown_delay_ms;
    struct svc_log_cfg log;
};

/* Counters for /metrics. */
struct ingest_stats {
    atomic_ullong valid;       /* requests whose event passed validation */
    atomic_ullong enqueued;    /* events in Redis, answered 202 */
    atomic_ullong invalid;     /* answered 400 */
    atomic_ullong too_large;   /* answered 413 */
    atomic_ullong unavailable; /* answered 503: Redis failed */
    struct rconn_stats redis;
};

struct ingest {
    struct ingest_cfg cfg;
    rconn_pool_t *redis;
    struct ingest_stats stats;
};

/* The route table: POST /event, GET /health. */
extern const struct http_route ingest_routes[];
extern const size_t ingest_n_routes;

#endif
