/* svc.c - what every service's main() shares: configuration at start, and the stop flag. */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

atomic_int svc_stop_requested = 0;

int
svc_configure(const char *service, const struct cfg_var *vars, size_t n,
              const struct svc_log_cfg *log)
{
    struct app_err err = {0};

    log_init(service);
    if (cfg_load(vars, n, &err) != 0) {
        LOG_ERROR("configuration: %s", err.msg);
        return -1;
    }
    log_set_level(log->level);
    log_set_format(log->format);
    cfg_log(vars, n);
    return 0;
}

http_server_t *
svc_listen(const struct http_opts *opts, const struct http_route *routes, size_t n_routes,
           void *ctx)
{
    struct app_err err = {0};
    http_server_t *http = http_start(opts, routes, n_routes, ctx, &err);

    if (http == NULL) {
        LOG_ERROR("http: %s", err.msg);
        return NULL;
    }
    LOG_INFO("listening on %s:%d", opts->bind_addr, http_port(http));
    if (http_probe_port(http) >= 0) {
        LOG_INFO("probes on %s:%d", opts->bind_addr, http_probe_port(http));
    }
    return http;
}

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&svc_stop_requested, 1);
}

void
svc_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void
svc_wait_for_stop(long delay_ms)
{
    const struct timespec slice = {0, 100 * 1000000L};

    while (!atomic_load(&svc_stop_requested)) {
        nanosleep(&slice, NULL);
    }
    if (delay_ms > 0) {
        LOG_INFO("stopping: not ready, serving %ld ms more", delay_ms);
        struct timespec rest = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&rest, NULL);
    }
}

int
svc_probe(struct mg_connection *conn, const char *service, enum svc_probe kind, svc_deps_fn deps,
          void *ctx)
{
    struct app_err err = {0};
    const char *status = "ok";

    if (kind == SVC_READY && atomic_load(&svc_stop_requested)) {
        status = "stopping";
    } else if (kind != SVC_LIVE && deps(ctx, &err) != 0) {
        LOG_WARN("%s: %s", kind == SVC_READY ? "readiness" : "health", err.msg);
        status = "error";
    }
    return http_send_json(conn, strcmp(status, "ok") == 0 ? 200 : 503,
                          json_pack("{s:s,s:s}", "status", status, "service", service));
}
