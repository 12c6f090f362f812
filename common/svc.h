/* svc.h - what every service's main() shares: configuration at start, and the stop flag. */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "cfg.h"
#include "http.h"
#include "log.h"

/* Exit status for a bad configuration value (the contract, docs/api.md). */
#define SVC_EXIT_CONFIG 2

/* Set by SIGTERM or SIGINT (a lock-free atomic, so a signal handler may set it and any
 * thread read it); the only mutable global besides the logger's state. */
extern atomic_int svc_stop_requested;

/* The settings every program's table has rows for: its listener, logging and stop. */
struct svc_cfg {
    const char *bind_address;
    int port;
    long threads;            /* worker threads of the main listener */
    long request_timeout_ms; /* see struct http_opts */
    long keep_alive_ms;
    int probe_port; /* -1: no probe listener */
    long shutdown_delay_ms;
    enum log_level log_level;
    enum log_format log_format;
};

/* Rows for PORT and BIND_ADDRESS writing into the struct svc_cfg *c. */
#define SVC_LISTEN_VARS(c, port_def)                                                               \
    {"PORT", port_def, CFG_LISTEN, &(c)->port, 0, 0, 0, NULL},                                     \
    {                                                                                              \
        "BIND_ADDRESS", "0.0.0.0", CFG_BIND_ADDRESS, &(c)->bind_address, 0, 0, 0, NULL             \
    }

/* Rows for HTTP_THREADS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, PROBE_PORT and
 * SHUTDOWN_DELAY_MS, with the program's defaults for the first and PROBE_PORT. A program
 * without them serves its probes only, as svc_probe_only_cfg() sets. */
#define SVC_HTTP_VARS(c, threads_def, probe_port_def)                                              \
    {"HTTP_THREADS", threads_def, CFG_INT, &(c)->threads, 1, 4096, 0, NULL},                       \
        {"REQUEST_TIMEOUT_MS", "10000", CFG_INT, &(c)->request_timeout_ms, 100, 600000, 0, NULL},  \
        {"KEEP_ALIVE_TIMEOUT_MS", "5000", CFG_INT, &(c)->keep_alive_ms, 0, 600000, 0, NULL},       \
        {"PROBE_PORT", probe_port_def, CFG_LISTEN, &(c)->probe_port, 0, 0, 0, NULL},               \
    {                                                                                              \
        "SHUTDOWN_DELAY_MS", "0", CFG_INT, &(c)->shutdown_delay_ms, 0, 60000, 0, NULL              \
    }

/* Rows for LOG_LEVEL and LOG_FORMAT. */
#define SVC_LOG_VARS(c)                                                                            \
    {"LOG_LEVEL", "info", CFG_LOG_LEVEL, &(c)->log_level, 0, 0, 0, NULL},                          \
    {                                                                                              \
        "LOG_FORMAT", "text", CFG_LOG_FORMAT, &(c)->log_format, 0, 0, 0, NULL                      \
    }

/* The listener of a program that serves probes and /metrics only (the processor):
 * HTTP_PROBE_THREADS workers, HTTP_PROBE_TIMEOUT_MS, no keep-alive, no second listener.
 * Set before loading a table without SVC_HTTP_VARS. */
void svc_probe_only_cfg(struct svc_cfg *c);

/* Checks the program's dependencies: 0 when they answer, else -1 with err filled. */
typedef int (*svc_deps_fn)(void *ctx, struct app_err *err);

/* A program: a configuration table, a route table and its own work. The program's
 * state struct begins with this one (so the routes' ctx, the program's state, is also
 * a struct svc_program *: SVC_PROBE_ROUTES relies on it), e.g.
 *
 *   struct ingest { struct svc_program svc; ...the program's own state... };
 *
 * svc_main() then runs every program the same way:
 *   1. start the logger, load the table (which holds SVC_LOG_VARS(&svc.cfg)), log it;
 *   2. install the signal handlers (SIGTERM, SIGINT: stop; SIGPIPE, SIGHUP, SIGUSR1,
 *      SIGUSR2: ignored);
 *   3. start(): open what the routes and the work need (pools, stores);
 *   4. listen on svc.cfg's address and ports, serving routes with the state as ctx;
 *   5. work() until svc_stop_requested (without work: wait for the stop, then serve
 *      shutdown_delay_ms more so that /readyz says "stopping" to the load balancer);
 *   6. stop listening, then finish(): free what start() made (also after a failed one).
 * The threads: main() runs steps 1-6 (so work() runs on the main thread); the HTTP
 * workers of http.c run the routes; the program describes any others in its header. */
struct svc_program {
    const char *name; /* "ingest": the logger's service name and the probes' */
    const struct cfg_var *vars;
    size_t n_vars;
    struct svc_cfg cfg; /* written by the table's SVC_*_VARS rows */
    const struct http_route *routes;
    size_t n_routes;
    svc_deps_fn deps;      /* what /health and /readyz check; ctx is the program's state */
    http_filter_fn filter; /* sees each request of the main listener first; may be NULL */
    int raw_paths;         /* http_opts.raw_paths */
    int (*start)(struct svc_program *prog, struct app_err *err); /* 0, or -1 with err */
    int (*work)(struct svc_program *prog);    /* 0 at a clean stop, else -1; may be NULL */
    void (*finish)(struct svc_program *prog); /* may be NULL */
};

/* Run the program (see struct svc_program). Returns main()'s exit status: 0 after a
 * clean stop, SVC_EXIT_CONFIG for a bad configuration value, 1 when it could not start
 * or its work failed. */
int svc_main(struct svc_program *prog);

/* The probe routes every program serves, on both listeners: /health (the contract: 200 when
 * the dependencies answer, else 503), /readyz (as /health, and 503 "stopping" once a
 * stop was requested) and /livez (200 while the process serves). Each answers
 * {"status":"ok"|"error"|"stopping","service":name}. */
int svc_handle_health(struct mg_connection *conn, void *ctx);
int svc_handle_ready(struct mg_connection *conn, void *ctx);
int svc_handle_live(struct mg_connection *conn, void *ctx);
/* The flags of the probes and /metrics: on both listeners, and open to every client. */
#define SVC_OPEN_ROUTE (HTTP_ROUTE_PROBE | HTTP_ROUTE_PUBLIC)
#define SVC_PROBE_ROUTES                                                                           \
    {"GET", "/health", svc_handle_health, SVC_OPEN_ROUTE},                                         \
        {"GET", "/readyz", svc_handle_ready, SVC_OPEN_ROUTE},                                      \
    {                                                                                              \
        "GET", "/livez", svc_handle_live, SVC_OPEN_ROUTE                                           \
    }

#endif
