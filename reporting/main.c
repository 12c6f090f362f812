/* main.c - reporting: serves the figures of its sites and their raw events from MongoDB, and
 * the dashboard, to the holders of its read tokens (access.c); its routes are in routes.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"
#include "svc.h"

/* cfg's check of READ_TOKENS_FILE: READ_TOKENS is not set too, and the file holds a token
 * list auth_parse() accepts. */
static int
check_tokens_file(const char *path, struct app_err *err)
{
    const char *inline_list = getenv("READ_TOKENS");
    char *text;
    int rc;

    if (path[0] == '\0') {
        return 0;
    }
    if (inline_list != NULL && inline_list[0] != '\0') {
        return err_set(err, ERR_INVALID, "set together with READ_TOKENS; set only one of them");
    }
    if (auth_read_file(path, &text, err->msg, sizeof err->msg) != 0) {
        err->code = ERR_INVALID;
        return -1;
    }
    rc = auth_check_list(text, err);
    free(text);
    return rc;
}

/* The read tokens, from READ_TOKENS or READ_TOKENS_FILE (both checked by cfg_load()). */
static int
load_tokens(struct reporting *r, struct app_err *err)
{
    char why[200];
    char *text = NULL;
    const char *spec = r->cfg.read_tokens;
    int rc;

    if (r->cfg.read_tokens_file[0] != '\0') {
        if (auth_read_file(r->cfg.read_tokens_file, &text, why, sizeof why) != 0) {
            return err_set(err, ERR_INVALID, "READ_TOKENS_FILE: %s", why);
        }
        spec = text;
    }
    if (spec[0] == '\0') {
        LOG_WARN("READ_TOKENS and READ_TOKENS_FILE are not set: every client may read every "
                 "site");
        return 0;
    }
    rc = auth_parse(spec, &r->auth, why, sizeof why);
    free(text);
    if (rc != 0) {
        return err_set(err, ERR_INVALID, "%s: %s",
                       r->cfg.read_tokens_file[0] != '\0' ? "READ_TOKENS_FILE" : "READ_TOKENS",
                       why);
    }
    LOG_INFO("read tokens: %zu; every route but the probes, /metrics and the dashboard's files "
             "needs one",
             r->auth.n);
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
    return r->store == NULL ? -1 : 0;
}

static void
finish(struct svc_program *prog)
{
    struct reporting *r = (struct reporting *)prog;

    store_free(r->store);
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
        {"READ_TOKENS_FILE", "", CFG_CHECKED, &c->read_tokens_file, 0, 0, 0, check_tokens_file},
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
        .start = start,
        .finish = finish,
    };
    /* The driver's messages go through our logger from the first one on. */
    store_driver_init();
    status = svc_main(&r.svc);
    store_driver_cleanup();
    return status;
}
