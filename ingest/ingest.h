/* ingest.h - the ingest service's configuration and shared state. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include "http.h"
#include "log.h"
#include "rconn.h"

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
    enum log_level log_level;
};

struct ingest {
    struct ingest_cfg cfg;
    rconn_pool_t *redis;
};

/* The route table: POST /event, GET /health. */
extern const struct http_route ingest_routes[];
extern const size_t ingest_n_routes;

#endif
