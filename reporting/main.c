/* main.c - reporting: serves the figures of its sites and their raw events from MongoDB, and
 * the dashboard, to the holders of its read tokens, and its raw events in bulk to the holders of
 * its admin tokens (access.c), who may also erase a visitor or a site (erase.h); its routes are
 * in routes.c. */
#include <errno.h>
#include <string.h>

#include "reporting.h"
#include "svc.h"

/* cfg's checks of READ_TOKENS_FILE and ADMIN_TOKENS_FILE (auth_check_file()). */
static int
check_read_file(const char *path, struct app_err *err)
{
    return auth_check_file(path, "READ_TOKENS", err);
}

static int
check_admin_file(const char *path, struct app_err *err)
{
    return auth_check_file(path, "ADMIN_TOKENS", err);
}

/* The read tokens and the admin tokens (each list checked by cfg_load()). */
static int
load_tokens(struct reporting *r, struct app_err *err)
{
    const struct reporting_cfg *c = &r->cfg;

    if (auth_load(c->read_tokens, "READ_TOKENS", c->read_tokens_file, "READ_TOKENS_FILE", &r->auth,
                  err) != 0 ||
        auth_load(c->admin_tokens, "ADMIN_TOKENS", c->admin_tokens_file, "ADMIN_TOKENS_FILE",
                  &r->admin, err) != 0) {
        return -1;
    }
    if (r->auth.n == 0) {
        LOG_WARN("READ_TOKENS and READ_TOKENS_FILE are not set: every client may read every "
                 "site");
    } else {
        LOG_INFO("read tokens: %zu; every route but the probes, /metrics, the dashboard's "
                 "files and the admin routes needs one",
                 r->auth.n);
    }
    if (r->admin.n == 0) {
        LOG_INFO("ADMIN_TOKENS and ADMIN_TOKENS_FILE are not set: the admin routes (/export, "
                 "/sites, /jobs) answer 404");
    } else {
        LOG_INFO("admin tokens: %zu; the admin routes (/export, /sites, /jobs) need one",
                 r->admin.n);
    }
    return 0;
}

static int
start(struct svc_program *prog, struct app_err *err)
{
    struct reporting *r = (struct reporting *)prog;

    if (load_tokens(r, err) != 0 ||
        retention_parse_sites(r->cfg.site_retention, &r->cfg.ret, err) != 0 ||
        sitetz_parse(r->cfg.site_timezones, &r->cfg.tzs, err) != 0) {
        return -1;
    }
    /* It fails only for a count past SEM_VALUE_MAX (MAX_DB_REQUESTS is at most 4096). */
    if (sem_init(&r->db_slots, 0, (unsigned)r->cfg.max_db_requests) != 0) {
        return err_set(err, ERR_INTERNAL, "sem_init: %s", strerror(errno));
    }
    r->slots_made = 1;
    r->store = store_new(r->cfg.mongo_uri, "reporting", 10000, err);
    return r->store == NULL ? -1 : erase_start(r, err);
}

static void
finish(struct svc_program *prog)
{
    struct reporting *r = (struct reporting *)prog;

    erase_join(r); /* svc_stop_requested is set: it ends its batch */
    store_free(r->store);
    auth_free(&r->admin);
    auth_free(&r->auth);
    retention_cleanup(&r->cfg.ret);
    sitetz_free(&r->cfg.tzs);
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
        RETENTION_VARS(&c->ret, &c->site_retention),
        SITETZ_VAR(&c->site_timezones),
        {"READ_TOKENS", "", CFG_CHECKED, &c->read_tokens, 0, 0, 1, auth_check_spec},
        {"READ_TOKENS_FILE", "", CFG_CHECKED, &c->read_tokens_file, 0, 0, 0, check_read_file},
        {"ADMIN_TOKENS", "", CFG_CHECKED, &c->admin_tokens, 0, 0, 1, auth_check_spec},
        {"ADMIN_TOKENS_FILE", "", CFG_CHECKED, &c->admin_tokens_file, 0, 0, 0, check_admin_file},
        {"EXPORT_MAX_STREAMS", "2", CFG_INT, &c->export_max_streams, 1, 64, 0, NULL},
        ERASE_VARS(&r.runner),
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
        .filter = reporting_filter,
        /* The erasure routes name ids in their paths: erase_plan.c decodes them itself. */
        .raw_paths = 1,
        .start = start,
        .finish = finish,
    };
    /* The driver's messages go through our logger from the first one on. */
    store_driver_init();
    status = svc_main(&r.svc);
    store_driver_cleanup();
    return status;
}
