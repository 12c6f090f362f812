/* ingest.h - the ingest service's configuration and shared state. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include <stdatomic.h>
#include <stddef.h>

#include "auth.h"
#include "client.h"
#include "cors.h"
#include "geo.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pusher.h"
#include "ratelimit.h"
#include "rconn.h"
#include "salt.h"
#include "sites.h"
#include "sitetz.h"
#include "svc.h"
#include "ua.h"

/* POST /events: at most this many events, and this many bytes of body. */
#define INGEST_BATCH_MAX_EVENTS 500
#define INGEST_BATCH_MAX_BYTES (512L * 1024)

/* ingest's own settings; the listener's and the logger's are in its struct svc_program. */
struct ingest_cfg {
    struct rconn_opts redis;
    const char *queue_key;
    long queue_shards; /* QUEUE_SHARDS: shards.h */
    long max_body_bytes;
    const char *cors_origins;      /* CORS_ORIGINS, checked by cors_check_origins() */
    const char *site_ids;          /* SITE_IDS, checked by sites_check_ids() */
    long rate_limit;               /* RATE_LIMIT: events per second per client, 0: no limit */
    long rate_burst;               /* RATE_BURST: the bucket's size, 0: rate_limit */
    long trust_proxy;              /* TRUST_PROXY: the proxies in front (client_make_key()) */
    long wait_replicas;            /* REDIS_WAIT_REPLICAS: WAIT for them after each LPUSH, 0: no */
    long wait_timeout_ms;          /* REDIS_WAIT_TIMEOUT_MS: the WAIT's timeout */
    const char *geoip_db;          /* GEOIP_DB: the country database (geo.h), "": none */
    const char *admin_tokens;      /* ADMIN_TOKENS (common/auth.h), "": none */
    const char *admin_tokens_file; /* ADMIN_TOKENS_FILE, "": none */
    const char *site_timezones;    /* SITE_TIMEZONES as given, parsed into tzs at start */
    struct sitetz tzs;             /* each site's zone: the day of its visitors' salt (salt.h) */
};

/* Counters for /metrics. */
struct ingest_stats {
    atomic_ullong valid;            /* events that passed validation */
    atomic_ullong enqueued;         /* events in Redis, answered 202 */
    atomic_ullong invalid;          /* events answered 400 (each event of a refused batch) */
    atomic_ullong too_large;        /* requests answered 413 */
    atomic_ullong unavailable;      /* events answered 503: Redis failed (push or salt) */
    atomic_ullong ambiguous;        /* of those, events Redis may have queued (no answer came,
                                       or the WAIT for replicas failed) */
    atomic_ullong wait_failures;    /* group commits whose WAIT for replicas failed */
    atomic_ullong forbidden_origin; /* requests answered 403: Origin not in CORS_ORIGINS */
    atomic_ullong unknown_site;     /* events answered 403: site not in SITE_IDS */
    atomic_ullong rate_limited;     /* events answered 429 */
    struct rconn_stats redis;
    struct metrics_histogram push_sizes; /* events per LPUSH of the group commit */
};

/* The threads: main() (svc_main) waits for the stop; the HTTP workers (HTTP_THREADS, and
 * HTTP_PROBE_THREADS on PROBE_PORT) run the routes; whichever worker leads a pusher's
 * group commit (one pusher per queue shard) sends the LPUSH for the others (pusher.h). No thread of
 * ingest's own. */
struct ingest {
    struct svc_program svc; /* first: the routes' ctx is a struct ingest */
    struct ingest_cfg cfg;
    rconn_pool_t *redis; /* the probes */
    pusher_t **pushers;  /* the events: one per queue shard (cfg.queue_shards, shards.h) */
    cors_policy_t *cors;
    sites_t *sites;
    ratelimit_t *rate;           /* NULL without RATE_LIMIT */
    atomic_int recorded;         /* QUEUE_SHARDS is in the record of layouts (common/qrecord.h) */
    atomic_llong record_next_ms; /* ts_mono_ms() before which not to try again */
    salt_t *salt;                /* the daily salt of derived visitor ids (salt.h, visitor.h) */
    geo_t *geo;                  /* the clients' countries (geo.h); NULL with GEOIP_DB empty */
    ua_t *ua;                    /* the clients' browsers, systems and devices (ua.h) */
    struct auth admin;           /* the admin tokens: POST /import (empty: the route is 404) */
    struct ingest_stats stats;
};

_Static_assert(offsetof(struct ingest, svc) == 0, "struct svc_program must come first");

/* The route table: POST /event, POST /events, POST /import, the probes and /metrics. */
extern const struct http_route ingest_routes[];
extern const size_t ingest_n_routes;

/* The dependency /health and /readyz check: Redis answers PING. */
int ingest_deps(void *ctx, struct app_err *err);

/* The filter every request of the main listener passes first (CORS): it attaches
 * "Vary: Origin" to every reply, and "Access-Control-Allow-Origin" for an allowed
 * Origin; a request whose Origin CORS_ORIGINS does not allow is answered 403
 * "Origin not allowed" and goes no further. An admin route (POST /import) skips CORS and
 * needs an admin token instead (auth_check_admin(): 404 without admin tokens, 401). */
int ingest_filter(struct mg_connection *conn, void *ctx);

#endif
