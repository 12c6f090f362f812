/* main.c - reporting: serves /stats, /stats/aggregated and the probes from MongoDB (stats.c). */

#include "reporting.h"
#include "svc.h"

int
main(void)
{
    struct reporting r = {0};
    struct reporting_cfg *c = &r.cfg;
    const struct cfg_var vars[] = {
        {"PORT", "4000", CFG_LISTEN, &c->port, 0, 0, 0, NULL},
        {"BIND_ADDRESS", "0.0.0.0", CFG_NONEMPTY, &c->bind_address, 0, 0, 0, NULL},
        {"MONGO_URI", "mongodb://127.0.0.1:27017/analytics", CFG_URI, &c->mongo_uri, 0, 0, 0,
         store_check_uri},
        SVC_HTTP_VARS(&c->http, "128", "4900"),
        {"MAX_DB_REQUESTS", "32", CFG_INT, &c->max_db_requests, 1, 4096, 0, NULL},
        {"SHUTDOWN_DELAY_MS", "0", CFG_INT, &c->shutdown_delay_ms, 0, 60000, 0, NULL},
        SVC_LOG_VARS(&c->log),
    };
    struct app_err err = {0};
    http_server_t *http = NULL;
    int status = 1;

    /* The driver's messages go through our logger from the first one on. */
    log_init("reporting");
    store_driver_init();
    if (svc_configure("reporting", vars, sizeof vars / sizeof vars[0], &c->log) != 0) {
        store_driver_cleanup();
        return SVC_EXIT_CONFIG;
    }
    svc_install_signals();
    sem_init(&r.db_slots, 0, (unsigned)c->max_db_requests);
    r.store = store_new(c->mongo_uri, "reporting", 10000, &err);
    if (r.store == NULL) {
        LOG_ERROR("start: %s", err.msg);
        goto done;
    }
    struct http_opts hopts = {c->bind_address,       c->port,
                              (int)c->http.threads,  c->http.request_timeout_ms,
                              c->http.keep_alive_ms, c->http.probe_port};
    http = svc_listen(&hopts, reporting_routes, reporting_n_routes, &r);
    if (http == NULL) {
        goto done;
    }
    svc_wait_for_stop(c->shutdown_delay_ms);
    LOG_INFO("stopping");
    status = 0;
done:
    http_stop(http);
    store_free(r.store);
    sem_destroy(&r.db_slots);
    store_driver_cleanup();
    return status;
}
