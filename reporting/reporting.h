/* reporting.h - the reporting service's configuration and shared state. */
#ifndef REPORTING_REPORTING_H
#define REPORTING_REPORTING_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>

#include "auth.h"
#include "erase.h"
#include "http.h"
#include "log.h"
#include "retention.h"
#include "sitetz.h"
#include "store.h"
#include "svc.h"

/* reporting's own settings; the listener's and the logger's are in its struct svc_program. */
struct reporting_cfg {
    const char *mongo_uri;
    long max_db_requests;
    const char *read_tokens;       /* READ_TOKENS: "" when open */
    const char *read_tokens_file;  /* READ_TOKENS_FILE: "" when not set */
    const char *admin_tokens;      /* ADMIN_TOKENS: "" when the admin routes are off */
    const char *admin_tokens_file; /* ADMIN_TOKENS_FILE: "" when not set */
    long export_max_streams;       /* EXPORT_MAX_STREAMS: exports running at once */
    struct retention ret;          /* RETENTION_DAYS, ...; its sites parsed by start() */
    const char *site_retention;    /* SITE_RETENTION as given */
    const char *site_timezones;    /* SITE_TIMEZONES as given */
    struct sitetz tzs;             /* each site's time zone: its days and hours (start()) */
};

/* The threads: main() (svc_main) waits for the stop; the HTTP workers (HTTP_THREADS, and
 * HTTP_PROBE_THREADS on PROBE_PORT) run the routes, at most MAX_DB_REQUESTS of them
 * waiting on MongoDB at once; the erasure runner (erase.h) does the erasure jobs; the
 * driver's pools each run a monitor thread per server (common/store.h). */
struct reporting {
    struct svc_program svc; /* first: the routes' ctx is a struct reporting */
    struct reporting_cfg cfg;
    store_t *store;
    atomic_ullong mongo_errors; /* failed reads of MongoDB (answered 503) */
    atomic_ullong db_busy;      /* requests answered 503 because MAX_DB_REQUESTS were waiting */
    /* One slot per request that may wait on MongoDB at once: beyond them a request is
     * answered 503 at once rather than hold an HTTP worker while the database is slow. */
    sem_t db_slots;
    int slots_made;             /* db_slots was initialised (by start) */
    struct auth auth;           /* the read tokens; none (n == 0): every client may read */
    struct auth admin;          /* the admin tokens; none (n == 0): the admin routes answer 404 */
    atomic_int exports;         /* exports streaming now (at most EXPORT_MAX_STREAMS) */
    struct erase_runner runner; /* the erasure jobs' runner (erase.h) */
};

_Static_assert(offsetof(struct reporting, svc) == 0, "struct svc_program must come first");

/* The route table (routes.c, which lists every route): on the client listener the figures
 * (/stats, /stats/timeseries, /stats/breakdown and each one's /aggregated), /events and the
 * dashboard's files (public); on both listeners the probes and /metrics (public:
 * SVC_OPEN_ROUTE). */
extern const struct http_route reporting_routes[];
extern const size_t reporting_n_routes;

/* The dependency /health and /readyz check: MongoDB answers ping (routes.c). */
int reporting_deps(void *ctx, struct app_err *err);

/* GET /events (events.c). */
int reporting_handle_events(struct mg_connection *conn, void *arg);

/* GET /stats/summary and GET /stats/realtime (visits.c). */
int reporting_handle_summary(struct mg_connection *conn, void *arg);
int reporting_handle_realtime(struct mg_connection *conn, void *arg);

/* GET /stats/goals (goals.c). */
int reporting_handle_goals(struct mg_connection *conn, void *arg);

/* GET /stats/funnel (funnel.c). */
int reporting_handle_funnel(struct mg_connection *conn, void *arg);

/* Take one of the MAX_DB_REQUESTS slots for a request that is about to wait on MongoDB.
 * Returns 0, or sends 503 "Too many requests waiting for the database, please retry" and
 * returns 503. Give the slot back with reporting_db_leave(). */
int reporting_db_enter(struct mg_connection *conn, struct reporting *r);
void reporting_db_leave(struct reporting *r);

/* The reply to a query that failed with err: logged at WARN as `what: message`, counted
 * in mongo_errors, and answered 503 "Database unavailable, please retry". */
int reporting_db_failed(struct mg_connection *conn, struct reporting *r, const char *what,
                        const struct app_err *err);

/* The filter of the client listener (access.c): with read tokens, every route but the
 * public ones (HTTP_ROUTE_PUBLIC) and the admin ones needs `Authorization: Bearer <token>`
 * with a known read token, else 401 with `WWW-Authenticate: Bearer`. An admin route
 * (HTTP_ROUTE_ADMIN) answers 404 without admin tokens, as if it did not exist, and else
 * needs a known admin token (401 as above); a read token is not one. */
int reporting_filter(struct mg_connection *conn, void *ctx);

/* Whether the request's token (which reporting_filter() let through) may read site_id.
 * Returns 0, or sends 403 and returns 403. Every handler that reads a site calls it once
 * it has its site_id. */
int reporting_may_read(struct mg_connection *conn, struct reporting *r, const char *site_id);

/* The same for an admin route: whether the request's admin token covers site_id. Returns 0,
 * or sends 403 "This token may not <what> site_id '<site>'" and returns 403. */
int reporting_may_admin(struct mg_connection *conn, struct reporting *r, const char *site_id,
                        const char *what);

/* GET /export (export.c). */
int reporting_handle_export(struct mg_connection *conn, void *arg);

#endif
