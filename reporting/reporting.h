/* reporting.h - the reporting service's configuration and shared state. */
#ifndef REPORTING_REPORTING_H
#define REPORTING_REPORTING_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>

#include "http.h"
#include "log.h"
#include "store.h"
#include "svc.h"

/* reporting's own settings; the listener's and the logger's are in its struct svc_program. */
struct reporting_cfg {
    const char *mongo_uri;
    long max_db_requests;
};

/* The threads: main() (svc_main) waits for the stop; the HTTP workers (HTTP_THREADS, and
 * HTTP_PROBE_THREADS on PROBE_PORT) run the routes, at most MAX_DB_REQUESTS of them
 * waiting on MongoDB at once; the driver's pools each run a monitor thread per server
 * (common/store.h). */
struct reporting {
    struct svc_program svc; /* first: the routes' ctx is a struct reporting */
    struct reporting_cfg cfg;
    store_t *store;
    atomic_ullong mongo_errors; /* failed /stats queries */
    atomic_ullong db_busy;      /* requests answered 503 because MAX_DB_REQUESTS were waiting */
    /* One slot per request that may wait on MongoDB at once: beyond them a request is
     * answered 503 at once rather than hold an HTTP worker while the database is slow. */
    sem_t db_slots;
    int slots_made; /* db_slots was initialised (by start) */
};

_Static_assert(offsetof(struct reporting, svc) == 0, "struct svc_program must come first");

/* The route table: GET /stats, /stats/timeseries, /stats/breakdown and each one's
 * /aggregated (the client listener), /health, /readyz,
 * /livez and /metrics (both listeners). */
extern const struct http_route reporting_routes[];
extern const size_t reporting_n_routes;

/* The dependency /health and /readyz check: MongoDB answers ping. */
int reporting_deps(void *ctx, struct app_err *err);

#endif
