/* reporting.h - the reporting service's configuration and shared state. */
#ifndef REPORTING_REPORTING_H
#define REPORTING_REPORTING_H

#include <stdatomic.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "svc.h"

struct reporting_cfg {
    int port;
    const char *bind_address;
    const char *mongo_uri;
    long http_threads;
    long shutdown_delay_ms;
    struct svc_log_cfg log;
};

struct reporting {
    struct reporting_cfg cfg;
    store_t *store;
    atomic_ullong mongo_errors; /* failed /stats queries */
};

/* The route table: GET /stats, GET /stats/aggregated, GET /health. */
extern const struct http_route reporting_routes[];
extern const size_t reporting_n_routes;

#endif
