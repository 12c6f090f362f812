/* main.c - processor: drains the Redis queue into MongoDB; probes and metrics on PORT (routes.c).
 */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "assign.h"
#include "processor.h"
#include "qshard.h"
#include "svc.h"

static int
start(struct svc_program *prog, struct app_err *err)
{
    struct processor *p = (struct processor *)prog;

    if (drain_prepare(p, err) != 0) {
        return -1;
    }
    p->cfg.redis.stats = &p->stats.redis;
    p->redis = rconn_pool_new(&p->cfg.redis);
    if (p->redis == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    /* A write stuck on a frozen server gives up within 5 s, so a SIGTERM is
     * honoured within the 10 s a drain may take. */
    p->store = store_new(p->cfg.mongo_uri, "processor", 5000, err);
    if (p->store == NULL) {
        return -1;
    }
    /* Every command of a batch checks for SIGTERM: a stop waits for one in flight. */
    store_set_stop_flag(p->store, &svc_stop_requested);
    /* Cannot fail: cfg checked the value. */
    if (store_set_write_concern(p->store, p->cfg.write_concern, err) != 0) {
        return -1;
    }
    /* The protocol's read-backs go to the primary whatever MONGO_URI says (reporting may
     * share the URI and read from secondaries, which lag). */
    store_pin_reads(p->store);
    /* Cannot fail but out of memory (or a zone file gone since): cfg checked the values. */
    return retention_parse_sites(p->cfg.site_retention, &p->cfg.ret, err) != 0 ||
                   sitetz_parse(p->cfg.site_timezones, &p->cfg.tzs, err) != 0
               ? -1
               : 0;
}

static void
finish(struct svc_program *prog)
{
    struct processor *p = (struct processor *)prog;

    store_free(p->store);
    rconn_pool_free(p->redis);
    queue_set_free(&p->queues);
    retention_cleanup(&p->cfg.ret);
    sitetz_free(&p->cfg.tzs);
}

/* `processor --dead ...`, `processor --recover-orphans`: the same configuration, no service, no
 * config log. */
static int
operator_command(struct processor *p, int argc, char **argv)
{
    struct app_err err = {0};

    log_init(p->svc.name);
    if (cfg_load(p->svc.vars, p->svc.n_vars, &err) != 0) {
        fprintf(stderr, "processor: configuration: %s\n", err.msg);
        return SVC_EXIT_CONFIG;
    }
    if (strcmp(argv[1], "--dead") == 0) {
        return dead_command(&p->cfg, argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "--recover-orphans") == 0 && argc == 2) {
        return orphans_command(&p->cfg);
    }
    fprintf(stderr, "usage: processor [--dead list [N] | requeue | purge | --recover-orphans]\n");
    return SVC_EXIT_CONFIG;
}

int
main(int argc, char **argv)
{
    struct processor p = {0};
    struct processor_cfg *c = &p.cfg;
    /* Each batch allocates and frees a few MB (its events, its visitors' states): keep that
     * memory in the heap instead of handing it back to the kernel after every batch (glibc
     * trims and unmaps past 128 KB) and faulting it in again, which cost more CPU than the
     * work on it (tests/bench/NOTES.md). */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    const struct cfg_var vars[] = {
        SVC_LISTEN_VARS(&p.svc.cfg, "5000"),
        RCONN_VARS(&c->redis, "2000"),
        STORE_URI_VAR(&c->mongo_uri),
        {"MONGO_WRITE_CONCERN", "majority", CFG_WRITE_CONCERN, &c->write_concern, 0, 0, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &c->queue_key, 0, 0, 0, NULL},
        {"QUEUE_SHARDS", "1", CFG_INT, &c->queue_shards, 1, QSHARD_MAX, 0, NULL},
        {"BATCH_SIZE", "100", CFG_INT, &c->batch_size, 1, 10000, 0, NULL},
        {"BATCH_WAIT_MS", "1000", CFG_INT, &c->block_ms, 10, 1000, 0, NULL},
        {"RETRY_BASE_MS", "100", CFG_INT, &c->retry_base_ms, 1, 60000, 0, NULL},
        {"RETRY_MAX_MS", "30000", CFG_INT, &c->retry_max_ms, 1, 600000, 0, NULL},
        {"MAX_ATTEMPTS", "5", CFG_INT, &c->max_attempts, 1, 1000, 0, NULL},
        {"HEARTBEAT_TTL_MS", "15000", CFG_INT, &c->heartbeat_ttl_ms, 1000, 3600000, 0, NULL},
        ASSIGN_TIMEOUT_VAR(&c->visit_timeout_s),
        RETENTION_VARS(&c->ret, &c->site_retention),
        SWEEP_VAR(&c->sweep_s),
        TTL_VAR(&c->retention_ttl),
        SITETZ_VAR(&c->site_timezones),
#ifdef FAULT_INJECTION /* the failpoints of the tests' processor-fault */
        {"FAULT_KILL_BEFORE_ROLLUP", "0", CFG_INT, &c->fault_kill_before_rollup, 0, LONG_MAX, 0,
         NULL},
        {"FAULT_STOP_BEFORE_ROLLUP", "0", CFG_INT, &c->fault_stop_before_rollup, 0, LONG_MAX, 0,
         NULL},
        {"FAULT_KILL_IN_ROLLUP", "0", CFG_INT, &c->fault_kill_in_rollup, 0, LONG_MAX, 0, NULL},
        {"FAULT_KILL_BEFORE_HOURS", "0", CFG_INT, &c->fault_kill_before_hours, 0, LONG_MAX, 0,
         NULL},
        {"FAULT_FAIL_ROLLUP", "0", CFG_INT, &c->fault_fail_rollup, 0, LONG_MAX, 0, NULL},
        {"FAULT_KILL_IN_ASSIGN", "0", CFG_INT, &c->fault_kill_in_assign, 0, LONG_MAX, 0, NULL},
        {"FAULT_STALL_IN_ASSIGN", "0", CFG_INT, &c->fault_stall_in_assign, 0, LONG_MAX, 0, NULL},
#endif
        SVC_LOG_VARS(&p.svc.cfg),
    };
    int status;

    p.svc = (struct svc_program){
        .name = "processor",
        .vars = vars,
        .n_vars = sizeof vars / sizeof vars[0],
        .routes = processor_routes,
        .n_routes = processor_n_routes,
        .deps = processor_deps,
        .start = start,
        .work = drain_run,
        .finish = finish,
    };
    svc_probe_only_cfg(&p.svc.cfg);
    /* The driver's messages go through our logger from the first one on. */
    store_driver_init();
    status = argc > 1 ? operator_command(&p, argc, argv) : svc_main(&p.svc);
    store_driver_cleanup();
    return status;
}
