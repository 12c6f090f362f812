/* main.c - ingest: accepts POST /event, validates it and queues it in Redis. */
#include <stdlib.h>

#include "ingest.h"
#include "svc.h"

int
main(void)
{
    struct ingest in = {0};
    struct ingest_cfg *c = &in.cfg;
    const struct cfg_var vars[] = {
        {"PORT", "3000", CFG_LISTEN, &c->port, 0, 0, 0, NULL},
        {"BIND_ADDRESS", "0.0.0.0", CFG_NONEMPTY, &c->bind_address, 0, 0, 0, NULL},
        {"REDIS_HOST", "127.0.0.1", CFG_NONEMPTY, &c->redis_host, 0, 0, 0, NULL},
        {"REDIS_PORT", "6379", CFG_PORT, &c->redis_port, 0, 0, 0, NULL},
        {"REDIS_PASSWORD", "", CFG_STRING, &c->redis_password, 0, 0, 1, NULL},
        {"REDIS_TIMEOUT_MS", "1000", CFG_INT, &c->redis_timeout_ms, 1, 60000, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &c->queue_key, 0, 0, 0, NULL},
        {"MAX_BODY_BYTES", "65536", CFG_INT, &c->max_body_bytes, 1, 1024 * 1024, 0, NULL},
        SVC_HTTP_VARS(&c->http, "256", "3900"),
        {"SHUTDOWN_DELAY_MS", "0", CFG_INT, &c->shutdown_delay_ms, 0, 60000, 0, NULL},
        SVC_LOG_VARS(&c->log),
    };
    struct app_err err = {0};
    http_server_t *http = NULL;
    int status = 1;

    if (svc_configure("ingest", vars, sizeof vars / sizeof vars[0], &c->log) != 0) {
        return SVC_EXIT_CONFIG;
    }
    svc_install_signals();
    rconn_stats_init(&in.stats.redis);
    struct rconn_opts ropts = {c->redis_host, c->redis_port, c->redis_password,
                               (int)c->redis_timeout_ms, &in.stats.redis};
    metrics_histogram_init(&in.stats.push_sizes, metrics_size_bounds, metrics_size_n);
    in.redis = rconn_pool_new(&ropts);
    if (in.redis == NULL) {
        LOG_ERROR("out of memory");
        goto done;
    }
    in.pusher = pusher_new(&ropts, c->queue_key, &in.stats.push_sizes, &err);
    if (in.pusher == NULL) {
        LOG_ERROR("%s", err.msg);
        goto done;
    }
    struct http_opts hopts = {c->bind_address,       c->port,
                              (int)c->http.threads,  c->http.request_timeout_ms,
                              c->http.keep_alive_ms, c->http.probe_port};
    http = svc_listen(&hopts, ingest_routes, ingest_n_routes, &in);
    if (http == NULL) {
        goto done;
    }
    svc_wait_for_stop(c->shutdown_delay_ms);
    LOG_INFO("stopping");
    status = 0;
done:
    http_stop(http);
    pusher_free(in.pusher);
    rconn_pool_free(in.redis);
    return status;
}
