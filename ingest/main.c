/* main.c - ingest: accepts POST /event, validates it and queues it in Redis; and an export's
 * events again, POST /import (import.c), for the holders of its admin tokens. */
#include <stdlib.h>

#include "auth.h"
#include "ingest.h"
#include "qshard.h"
#include "svc.h"

/* One pusher per queue shard, onto that shard's pending list. Returns 0 or -1 with err. */
static int
make_pushers(struct ingest *in, struct app_err *err)
{
    unsigned k = (unsigned)in->cfg.queue_shards;
    const char *why = qshard_check(in->cfg.queue_key, in->cfg.queue_shards);

    if (why == NULL && in->cfg.redis.cluster[0] != '\0') {
        why = qshard_check_cluster(in->cfg.queue_key, in->cfg.queue_shards);
    }
    if (why != NULL) {
        return err_set(err, ERR_INVALID, "configuration: %s", why);
    }
    in->pushers = calloc(k, sizeof *in->pushers);
    if (in->pushers == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (unsigned i = 0; i < k; i++) {
        char *name = qshard_name(in->cfg.queue_key, k, i);
        if (name == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        in->pushers[i] = pusher_new(&in->cfg.redis, name, &in->stats.push_sizes, err);
        free(name); /* pusher_new() copies it */
        if (in->pushers[i] == NULL) {
            return -1;
        }
        pusher_set_wait(in->pushers[i], in->cfg.wait_replicas, in->cfg.wait_timeout_ms,
                        &in->stats.wait_failures);
    }
    return 0;
}

/* cfg's check of ADMIN_TOKENS_FILE (auth_check_file()). */
static int
check_admin_file(const char *path, struct app_err *err)
{
    return auth_check_file(path, "ADMIN_TOKENS", err);
}

/* The admin tokens of POST /import (checked by cfg_load()). */
static int
load_admin(struct ingest *in, struct app_err *err)
{
    if (auth_load(in->cfg.admin_tokens, "ADMIN_TOKENS", in->cfg.admin_tokens_file,
                  "ADMIN_TOKENS_FILE", &in->admin, err) != 0) {
        return -1;
    }
    if (in->admin.n == 0) {
        LOG_INFO("ADMIN_TOKENS and ADMIN_TOKENS_FILE are not set: the admin routes (/import) "
                 "answer 404");
    } else {
        LOG_INFO("admin tokens: %zu; the admin routes (/import) need one", in->admin.n);
    }
    return 0;
}

static int
start(struct svc_program *prog, struct app_err *err)
{
    struct ingest *in = (struct ingest *)prog;

    if (load_admin(in, err) != 0) {
        return -1;
    }
    rconn_stats_init(&in->stats.redis);
    in->cfg.redis.stats = &in->stats.redis;
    metrics_histogram_init(&in->stats.push_sizes, metrics_size_bounds, metrics_size_n);
    in->redis = rconn_pool_new(&in->cfg.redis);
    if (in->redis == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if (make_pushers(in, err) != 0 ||
        (in->cors = cors_policy_new(in->cfg.cors_origins, err)) == NULL ||
        (in->sites = sites_new(in->cfg.site_ids, err)) == NULL ||
        (in->salt = salt_new(&in->cfg.redis, in->cfg.queue_key, err)) == NULL ||
        sitetz_parse(in->cfg.site_timezones, &in->cfg.tzs, err) != 0) {
        return -1;
    }
    if (in->cfg.geoip_db[0] != '\0' && (in->geo = geo_open(in->cfg.geoip_db, err)) == NULL) {
        return -1; /* checked by cfg (geo_check_db()): the file went away since */
    }
    if ((in->ua = ua_new(err)) == NULL) {
        return -1;
    }
    if (in->cfg.rate_limit > 0) {
        long burst = in->cfg.rate_burst > 0 ? in->cfg.rate_burst : in->cfg.rate_limit;
        in->cfg.rate_burst = burst;
        if ((in->rate = ratelimit_new(in->cfg.rate_limit, burst, err)) == NULL) {
            return -1;
        }
    }
    return 0;
}

static void
finish(struct svc_program *prog)
{
    struct ingest *in = (struct ingest *)prog;

    auth_free(&in->admin);
    ua_free(in->ua);
    geo_free(in->geo);
    ratelimit_free(in->rate);
    salt_free(in->salt);
    sitetz_free(&in->cfg.tzs);
    sites_free(in->sites);
    cors_policy_free(in->cors);
    for (long i = 0; in->pushers != NULL && i < in->cfg.queue_shards; i++) {
        pusher_free(in->pushers[i]);
    }
    free(in->pushers);
    rconn_pool_free(in->redis);
}

int
main(void)
{
    struct ingest in = {0};
    struct ingest_cfg *c = &in.cfg;
    const struct cfg_var vars[] = {
        SVC_LISTEN_VARS(&in.svc.cfg, "3000"),
        RCONN_VARS(&c->redis, "1000"),
        {"REDIS_WAIT_REPLICAS", "0", CFG_INT, &c->wait_replicas, 0, 64, 0, NULL},
        {"REDIS_WAIT_TIMEOUT_MS", "1000", CFG_INT, &c->wait_timeout_ms, 1, 60000, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &c->queue_key, 0, 0, 0, NULL},
        {"QUEUE_SHARDS", "1", CFG_INT, &c->queue_shards, 1, QSHARD_MAX, 0, NULL},
        {"MAX_BODY_BYTES", "65536", CFG_INT, &c->max_body_bytes, 1, 1024 * 1024, 0, NULL},
        {"CORS_ORIGINS", "*", CFG_CHECKED, &c->cors_origins, 0, 0, 0, cors_check_origins},
        {"SITE_IDS", "", CFG_CHECKED, &c->site_ids, 0, 0, 0, sites_check_ids},
        {"RATE_LIMIT", "0", CFG_INT, &c->rate_limit, 0, 1000000, 0, NULL},
        {"RATE_BURST", "0", CFG_INT, &c->rate_burst, 0, 1000000, 0, NULL},
        {"TRUST_PROXY", "0", CFG_INT, &c->trust_proxy, 0, CLIENT_TRUST_PROXY_MAX, 0, NULL},
        {"GEOIP_DB", GEOIP_DB_DEFAULT, CFG_CHECKED_OFF, &c->geoip_db, 0, 0, 0, geo_check_db},
        SITETZ_VAR(&c->site_timezones),
        {"ADMIN_TOKENS", "", CFG_CHECKED, &c->admin_tokens, 0, 0, 1, auth_check_spec},
        {"ADMIN_TOKENS_FILE", "", CFG_CHECKED, &c->admin_tokens_file, 0, 0, 0, check_admin_file},
        SVC_HTTP_VARS(&in.svc.cfg, "256", "3900"),
        SVC_LOG_VARS(&in.svc.cfg),
    };

    in.svc = (struct svc_program){
        .name = "ingest",
        .vars = vars,
        .n_vars = sizeof vars / sizeof vars[0],
        .routes = ingest_routes,
        .n_routes = ingest_n_routes,
        .deps = ingest_deps,
        .filter = ingest_filter,
        .start = start,
        .finish = finish,
    };
    return svc_main(&in.svc);
}
