/* svc.c - what every program's main() shares: configuration, listeners, probes, the stop. */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonmem.h"

atomic_int svc_stop_requested = 0;

void
svc_probe_only_cfg(struct svc_cfg *c)
{
    c->threads = HTTP_PROBE_THREADS;
    c->request_timeout_ms = HTTP_PROBE_TIMEOUT_MS;
    c->keep_alive_ms = 0;
    c->probe_port = -1;
    c->shutdown_delay_ms = 0;
}

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&svc_stop_requested, 1);
}

/* SIGTERM and SIGINT set svc_stop_requested. SIGPIPE is ignored, and so are SIGHUP, SIGUSR1
 * and SIGUSR2, whose default action would end the program on the spot, with no graceful
 * stop (events accepted but not yet pushed, a batch in hand): none of them has a meaning
 * here, and a stray one (a terminal closing, a misdirected kill) must not cost anything. */
static void
install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

/* Sleep in 100 ms slices until a stop is requested; then, for delay_ms more, keep
 * serving (so /readyz answers "stopping" while a load balancer takes the instance out). */
static void
wait_for_stop(long delay_ms)
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

/* Start the listeners and log "listening on ADDR:PORT" (and "probes on ADDR:PORT").
 * Returns NULL after logging why. */
static http_server_t *
listen_as(struct svc_program *prog)
{
    const struct svc_cfg *c = &prog->cfg;
    struct http_opts opts = {c->bind_address,       c->port,          (int)c->threads,
                             c->request_timeout_ms, c->keep_alive_ms, c->probe_port,
                             prog->filter,          prog->raw_paths};
    struct app_err err = {0};
    http_server_t *http = http_start(&opts, prog->routes, prog->n_routes, prog, &err);

    if (http == NULL) {
        LOG_ERROR("http: %s", err.msg);
        return NULL;
    }
    LOG_INFO("listening on %s:%d", c->bind_address, http_port(http));
    if (http_probe_port(http) >= 0) {
        LOG_INFO("probes on %s:%d", c->bind_address, http_probe_port(http));
    }
    return http;
}

int
svc_main(struct svc_program *prog)
{
    struct app_err err = {0};
    http_server_t *http = NULL;
    int status = 1;

    jsonmem_install(); /* before any thread */
    log_init(prog->name);
    if (cfg_load(prog->vars, prog->n_vars, &err) != 0) {
        LOG_ERROR("configuration: %s", err.msg);
        return SVC_EXIT_CONFIG;
    }
    log_set_level(prog->cfg.log_level);
    log_set_format(prog->cfg.log_format);
    cfg_log(prog->vars, prog->n_vars);
    install_signals();
    if (prog->start != NULL && prog->start(prog, &err) != 0) {
        LOG_ERROR("start: %s", err.msg);
        if (err.code == ERR_INVALID) {
            status = SVC_EXIT_CONFIG; /* a value cfg could not judge alone (qshard_check()) */
        }
        goto done;
    }
    if ((http = listen_as(prog)) == NULL) {
        goto done;
    }
    if (prog->work != NULL) {
        if (prog->work(prog) != 0) {
            goto done;
        }
    } else {
        wait_for_stop(prog->cfg.shutdown_delay_ms);
    }
    LOG_INFO("stopping");
    status = 0;
done:
    http_stop(http);
    if (prog->finish != NULL) {
        prog->finish(prog);
    }
    return status;
}

enum probe {
    PROBE_HEALTH,
    PROBE_READY,
    PROBE_LIVE,
};

static int
probe(struct mg_connection *conn, void *ctx, enum probe kind)
{
    const struct svc_program *prog = ctx;
    struct app_err err = {0};
    const char *status = "ok";

    if (kind == PROBE_READY && atomic_load(&svc_stop_requested)) {
        status = "stopping";
    } else if (kind != PROBE_LIVE && prog->deps != NULL && prog->deps(ctx, &err) != 0) {
        LOG_WARN("%s: %s", kind == PROBE_READY ? "readiness" : "health", err.msg);
        status = "error";
    }
    return http_send_json(conn, strcmp(status, "ok") == 0 ? 200 : 503,
                          json_pack("{s:s,s:s}", "status", status, "service", prog->name));
}

int
svc_handle_health(struct mg_connection *conn, void *ctx)
{
    return probe(conn, ctx, PROBE_HEALTH);
}

int
svc_handle_ready(struct mg_connection *conn, void *ctx)
{
    return probe(conn, ctx, PROBE_READY);
}

int
svc_handle_live(struct mg_connection *conn, void *ctx)
{
    return probe(conn, ctx, PROBE_LIVE);
}
