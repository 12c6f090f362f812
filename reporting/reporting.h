/* reporting.h - the reporting service's configuration and shared state. */
#ifndef REPORTING_REPORTING_H
#define REPORTING_REPORTING_H

#include <semaphore.h>
#include <stdatomic.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "svc.h"

struct reporting_cfg {
    int port;
    const char *bind_address;
    const char *mongo_uri;
    struct svc_http_cfg http;
    long max_db_requests;
    long shutdown_delay_ms;
    struct svc_log_cfg log;
};

struct reporting {
    struct reporting_cfg cfg;
    store_t *store;
    atomic_ullong mongo_errors; /* failed /stats queries */
    atomic_ullong db_busy;      /* requests answered 503 because MAX_DB_REQUESTS were waiting */
    /* One slot per request that may wait on MongoDB at once: beyond them a request is
     * answered 503 at once rather than hold an HTTP worker while the database is slow. */
    sem_t db_slots;
};

/* The route table: GET /stats, /stats/aggregated (the client listener), /health, /readyz,
 * /livez and /metrics (both listeners). */
extern const struct http_route reporting_routes[];
extern const size_t reporting_n_routes;

#endif
