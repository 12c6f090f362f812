/* svc.h - what every service's main() shares: configuration at start, and the stop flag. */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "cfg.h"
#include "http.h"
#include "log.h"

/* Exit status for a bad configuration value (SPEC.md). */
#define SVC_EXIT_CONFIG 2

/* Set by SIGTERM or SIGINT (a lock-free atomic, so a signal handler may set it and any
 * thread read it); the only mutable global besides the logger's state. */
extern atomic_int svc_stop_requested;

/* The logging settings every service's table has rows for (LOG_LEVEL, LOG_FORMAT). */
struct svc_log_cfg {
    enum log_level level;
    enum log_format format;
};

/* Rows for LOG_LEVEL and LOG_FORMAT writing into *l, to put in a table. */
#define SVC_LOG_VARS(l)                                                                            \
    {"LOG_LEVEL", "info", CFG_LOG_LEVEL, &(l)->level, 0, 0, 0, NULL},                              \
    {                                                                                              \
        "LOG_FORMAT", "text", CFG_LOG_FORMAT, &(l)->format, 0, 0, 0, NULL                          \
    }

/* The settings of a program's HTTP listeners (see struct http_opts). */
struct svc_http_cfg {
    long threads;
    long request_timeout_ms;
    long keep_alive_ms;
    int probe_port;
};

/* Rows for HTTP_THREADS, REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS and PROBE_PORT
 * writing into *h, with the program's defaults for the first and the last. */
#define SVC_HTTP_VARS(h, threads_def, probe_port_def)                                              \
    {"HTTP_THREADS", threads_def, CFG_INT, &(h)->threads, 1, 4096, 0, NULL},                       \
        {"REQUEST_TIMEOUT_MS", "10000", CFG_INT, &(h)->request_timeout_ms, 100, 600000, 0, NULL},  \
        {"KEEP_ALIVE_TIMEOUT_MS", "5000", CFG_INT, &(h)->keep_alive_ms, 0, 600000, 0, NULL},       \
    {                                                                                              \
        "PROBE_PORT", probe_port_def, CFG_LISTEN, &(h)->probe_port, 0, 0, 0, NULL                  \
    }

/* Start the HTTP listeners and log "listening on ADDR:PORT" (and "probes on
 * ADDR:PORT" when there is a probe listener). Returns NULL after logging why. */
http_server_t *svc_listen(const struct http_opts *opts, const struct http_route *routes,
                          size_t n_routes, void *ctx);

/* Start the logger for `service`, load the configuration table (which must
 * contain SVC_LOG_VARS(log)) and log it. On a bad value prints one line naming
 * the variable and returns -1: main() then exits with SVC_EXIT_CONFIG. */
int svc_configure(const char *service, const struct cfg_var *vars, size_t n,
                  const struct svc_log_cfg *log);

/* Install the SIGTERM/SIGINT handler (sets svc_stop_requested) and ignore SIGPIPE. */
void svc_install_signals(void);

/* Sleep in 100 ms slices until a stop is requested; then, for delay_ms more, keep
 * serving (so /readyz answers "stopping" while a load balancer takes the instance out). */
void svc_wait_for_stop(long delay_ms);

/* The probes every program serves. */
enum svc_probe {
    SVC_HEALTH, /* /health (SPEC): 200 when the dependencies answer, else 503 */
    SVC_READY,  /* /readyz: as /health, and 503 "stopping" once a stop was requested */
    SVC_LIVE,   /* /livez: 200 while the process serves; dependencies are not checked */
};

/* Checks the program's dependencies: 0 when they answer, else -1 with err filled. */
typedef int (*svc_deps_fn)(void *ctx, struct app_err *err);

/* Answer a probe with {"status":"ok"|"error"|"stopping","service":service}. */
int svc_probe(struct mg_connection *conn, const char *service, enum svc_probe kind,
              svc_deps_fn deps, void *ctx);

#endif
