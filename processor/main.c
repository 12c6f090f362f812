/* main.c - processor: drains the Redis queue into MongoDB; probes and metrics on PORT (routes.c).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "processor.h"
#include "svc.h"

int
main(int argc, char **argv)
{
    struct processor p = {0};
    struct processor_cfg *c = &p.cfg;
    const struct cfg_var vars[] = {
        {"PORT", "5000", CFG_LISTEN, &c->port, 0, 0, 0, NULL},
        {"BIND_ADDRESS", "0.0.0.0", CFG_NONEMPTY, &c->bind_address, 0, 0, 0, NULL},
        {"REDIS_HOST", "127.0.0.1", CFG_NONEMPTY, &c->redis_host, 0, 0, 0, NULL},
        {"REDIS_PORT", "6379", CFG_PORT, &c->redis_port, 0, 0, 0, NULL},
        {"REDIS_PASSWORD", "", CFG_STRING, &c->redis_password, 0, 0, 1, NULL},
        {"REDIS_TIMEOUT_MS", "2000", CFG_INT, &c->redis_timeout_ms, 1, 60000, 0, NULL},
        {"MONGO_URI", "mongodb://127.0.0.1:27017/analytics", CFG_URI, &c->mongo_uri, 0, 0, 0,
         store_check_uri},
        {"MONGO_WRITE_CONCERN", "majority", CFG_WRITE_CONCERN, &c->write_concern, 0, 0, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &c->queue_key, 0, 0, 0, NULL},
        {"BATCH_SIZE", "100", CFG_INT, &c->batch_size, 1, 10000, 0, NULL},
        {"BATCH_WAIT_MS", "1000", CFG_INT, &c->block_ms, 10, 1000, 0, NULL},
        {"RETRY_BASE_MS", "100", CFG_INT, &c->retry_base_ms, 1, 60000, 0, NULL},
        {"RETRY_MAX_MS", "30000", CFG_INT, &c->retry_max_ms, 1, 600000, 0, NULL},
        {"MAX_ATTEMPTS", "5", CFG_INT, &c->max_attempts, 1, 1000, 0, NULL},
        {"HEARTBEAT_TTL_MS", "15000", CFG_INT, &c->heartbeat_ttl_ms, 1000, 3600000, 0, NULL},
#ifdef FAULT_INJECTION /* the failpoints of the tests' processor-fault */
        {"FAULT_KILL_BEFORE_ROLLUP", "0", CFG_INT, &c->fault_kill_before_rollup, 0, LONG_MAX, 0,
         NULL},
        {"FAULT_STOP_BEFORE_ROLLUP", "0", CFG_INT, &c->fault_stop_before_rollup, 0, LONG_MAX, 0,
         NULL},
        {"FAULT_KILL_IN_ROLLUP", "0", CFG_INT, &c->fault_kill_in_rollup, 0, LONG_MAX, 0, NULL},
#endif
        SVC_LOG_VARS(&c->log),
    };
    struct app_err err = {0};
    http_server_t *http = NULL;
    int status = 1;

    /* The driver's messages go through our logger from the first one on. */
    log_init("processor");
    store_driver_init();
    if (argc > 1) {
        /* An operator command: the same configuration, no service, no config log. */
        log_init("processor");
        if (cfg_load(vars, sizeof vars / sizeof vars[0], &err) != 0) {
            fprintf(stderr, "processor: configuration: %s\n", err.msg);
            status = SVC_EXIT_CONFIG;
        } else if (strcmp(argv[1], "--dead") == 0) {
            status = dead_command(c, argc - 2, argv + 2);
        } else {
            fprintf(stderr, "usage: processor [--dead list [N] | requeue | purge]\n");
            status = SVC_EXIT_CONFIG;
        }
        store_driver_cleanup();
        return status;
    }
    if (svc_configure("processor", vars, sizeof vars / sizeof vars[0], &c->log) != 0) {
        store_driver_cleanup();
        return SVC_EXIT_CONFIG;
    }
    svc_install_signals();
    struct rconn_opts ropts = {c->redis_host, c->redis_port, c->redis_password,
                               (int)c->redis_timeout_ms, NULL};
    if (drain_prepare(&p) != 0) {
        LOG_ERROR("configuration: QUEUE_KEY: too long");
        status = SVC_EXIT_CONFIG;
        goto done;
    }
    ropts.stats = &p.stats.redis;
    p.redis = rconn_pool_new(&ropts);
    /* A write stuck on a frozen server gives up within 5 s, so a SIGTERM is
     * honoured within the 10 s a drain may take. */
    p.store = store_new(c->mongo_uri, "processor", 5000, &err);
    if (p.redis == NULL || p.store == NULL) {
        LOG_ERROR("start: %s", p.store == NULL ? err.msg : "out of memory");
        goto done;
    }
    /* Every command of a batch checks for SIGTERM: a stop waits for one in flight. */
    store_set_stop_flag(p.store, &svc_stop_requested);
    if (store_set_write_concern(p.store, c->write_concern, &err) != 0) {
        LOG_ERROR("start: %s", err.msg); /* cannot happen: cfg checked the value */
        goto done;
    }
    /* Probes and metrics only: a probe listener's settings (see http_opts). */
    struct http_opts hopts = {c->bind_address,       c->port, HTTP_PROBE_THREADS,
                              HTTP_PROBE_TIMEOUT_MS, 0,       -1};
    http = svc_listen(&hopts, processor_routes, processor_n_routes, &p);
    if (http == NULL) {
        goto done;
    }
    if (drain_run(&p) != 0) {
        goto done;
    }
    LOG_INFO("stopped");
    status = 0;
done:
    http_stop(http);
    store_free(p.store);
    rconn_pool_free(p.redis);
    store_driver_cleanup();
    return status;
}
