/* main.c - reporting: serves /stats, /stats/aggregated and the probes from MongoDB (stats.c). */

#include "reporting.h"
#include "svc.h"

static int
start(struct svc_program *prog, struct app_err *err)
{
    struct reporting *r = (struct reporting *)prog;

    sem_init(&r->db_slots, 0, (unsigned)r->cfg.max_db_requests);
    r->slots_made = 1;
    r->store = store_new(r->cfg.mongo_uri, "reporting", 10000, err);
    return r->store == NULL ? -1 : 0;
}

static void
finish(struct svc_program *prog)
{
    struct reporting *r = (struct reporting *)prog;

    store_free(r->store);
    if (r->slots_made) {
        sem_destroy(&r->db_slots);
    }
}

int
main(void)
{
    struct reporting r = {0};
    struct reporting_cfg *c = &r.cfg;
    const struct cfg_var vars[] = {
        SVC_LISTEN_VARS(&r.svc.cfg, "4000"),
        STORE_URI_VAR(&c->mongo_uri),
        {"MAX_DB_REQUESTS", "32", CFG_INT, &c->max_db_requests, 1, 4096, 0, NULL},
        SVC_HTTP_VARS(&r.svc.cfg, "128", "4900"),
        SVC_LOG_VARS(&r.svc.cfg),
    };
    int status;

    r.svc = (struct svc_program){
        .name = "reporting",
        .vars = vars,
        .n_vars = sizeof vars / sizeof vars[0],
        .routes = reporting_routes,
        .n_routes = reporting_n_routes,
        .deps = reporting_deps,
        .start = start,
        .finish = finish,
    };
    /* The driver's messages go through our logger from the first one on. */
    store_driver_init();
    status = svc_main(&r.svc);
    store_driver_cleanup();
    return status;
}
