/* routes.c - the processor's HTTP endpoints: /health, /readyz, /livez, /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "queue.h"
#include "svc.h"

int
processor_deps(void *ctx, struct app_err *err)
{
    struct processor *p = ctx;
    return rconn_pool_ping(p->redis, err) == 0 ? store_ping(p->store, err) : -1;
}

/* analytics_processor_info: which consumer this process is, for scrapers and tests to
 * find its processing list without reading its logs. */
static void
info(struct metrics_buf *b, const struct processor *p)
{
    const char *consumer = queue_name(p->queues.q[0], QUEUE_CONSUMER);
    const char *queue = p->cfg.queue_key;
    /* Twice a value's length holds it escaped, so the escapes cannot fail. */
    size_t nc = 2 * strlen(consumer) + 1, nq = 2 * strlen(queue) + 1, n = nc + nq + 32;
    char *c = malloc(nc), *q = malloc(nq), *labels = malloc(n);

    if (c != NULL && q != NULL && labels != NULL) {
        metrics_label_escape(consumer, c, nc);
        metrics_label_escape(queue, q, nq);
        snprintf(labels, n, "consumer=\"%s\",queue=\"%s\",shards=\"%u\"", c, q, p->queues.n);
        metrics_family(b, "analytics_processor_info", "gauge",
                       "This processor's consumer id (host:pid:tag; its processing list is "
                       "<queue>:processing:<consumer> with one shard, "
                       "{<queue>:<i>}:processing:<consumer> in shard i of several), queue and "
                       "QUEUE_SHARDS; always 1.");
        metrics_sample(b, "analytics_processor_info", labels, 1);
    }
    free(c);
    free(q);
    free(labels);
}

/* The queue's gauges, read at scrape time: analytics_queue_depth and analytics_dead_letters
 * by shard (a lagging shard alerts on its own), analytics_processing_depth over all shards.
 * Nothing when Redis fails or memory runs out. */
static void
queue_metrics(struct metrics_buf *b, const struct queue_set *qs, const char *queue_key,
              rconn_t *redis)
{
    struct queue_depths *d = calloc(qs->n, sizeof *d);
    long long processing = 0, stray = 0;
    struct app_err err = {0};
    char label[32];

    for (unsigned i = 0; d != NULL && i < qs->n; i++) {
        if (queue_depths(qs->q[i], redis, &d[i], &err) != 0) {
            free(d);
            return;
        }
        processing += d[i].processing;
    }
    if (d == NULL) {
        return;
    }
    metrics_family(b, "analytics_queue_depth", "gauge", "Events waiting in the queue, by shard.");
    for (unsigned i = 0; i < qs->n; i++) {
        snprintf(label, sizeof label, "shard=\"%u\"", i);
        metrics_sample(b, "analytics_queue_depth", label, (double)d[i].pending);
    }
    metrics_family(b, "analytics_processing_depth", "gauge",
                   "Events claimed by this processor and not yet acknowledged (all shards).");
    metrics_sample(b, "analytics_processing_depth", NULL, (double)processing);
    metrics_family(b, "analytics_dead_letters", "gauge",
                   "Entries in the dead-letter list, by shard.");
    for (unsigned i = 0; i < qs->n; i++) {
        snprintf(label, sizeof label, "shard=\"%u\"", i);
        metrics_sample(b, "analytics_dead_letters", label, (double)d[i].dead);
    }
    free(d);
    if (queue_set_stray_events(queue_key, qs->n, redis, &stray, &err) == 0) {
        metrics_family(b, "analytics_queue_stray_events", "gauge",
                       "Events waiting in the shards of a QUEUE_SHARDS other than this "
                       "processor's, which it does not drain.");
        metrics_sample(b, "analytics_queue_stray_events", NULL, (double)stray);
    }
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct processor *p = arg;
    struct processor_stats *s = &p->stats;
    rconn_t *redis = rconn_pool_pop(p->redis);
    const char *dead = "Events moved to the dead-letter list, by reason.";
    const char *retention = "Documents deleted by the retention sweep: raw events, rollup user "
                            "documents, other rollup documents.";
    _Static_assert(SWEEP_COLLS == 3, "a row of analytics_retention_deleted_total per collection");
    _Static_assert(DEAD_REASONS == 5, "a row of analytics_events_dead_lettered_total per reason");
    const struct metrics_row events[] = {
        {"analytics_events_stored_total", "counter", "Event documents inserted into MongoDB.", NULL,
         NULL, (double)atomic_load(&s->stored), NULL, NULL, NULL},
        {"analytics_events_duplicate_total", "counter",
         "Events found already stored (not stored again): redeliveries and client "
         "duplicates.",
         NULL, NULL, (double)atomic_load(&s->duplicates), NULL, NULL, NULL},
        {"analytics_events_client_duplicate_total", "counter",
         "Of those, events stored from another envelope with the same event_id (a client "
         "that sent one event twice): counted in the rollups by that one only.",
         NULL, NULL, (double)atomic_load(&s->client_duplicates), NULL, NULL, NULL},
        {"analytics_events_dead_lettered_total", "counter", dead, "reason",
         processor_dead_reasons[0], (double)atomic_load(&s->dead[0]), NULL, NULL, NULL},
        {"analytics_events_dead_lettered_total", "counter", dead, "reason",
         processor_dead_reasons[1], (double)atomic_load(&s->dead[1]), NULL, NULL, NULL},
        {"analytics_events_dead_lettered_total", "counter", dead, "reason",
         processor_dead_reasons[2], (double)atomic_load(&s->dead[2]), NULL, NULL, NULL},
        {"analytics_events_dead_lettered_total", "counter", dead, "reason",
         processor_dead_reasons[3], (double)atomic_load(&s->dead[3]), NULL, NULL, NULL},
        {"analytics_events_dead_lettered_total", "counter", dead, "reason",
         processor_dead_reasons[4], (double)atomic_load(&s->dead[4]), NULL, NULL, NULL},
        {"analytics_retries_total", "counter",
         "Waits with backoff before trying a failed MongoDB or Redis operation again.", NULL, NULL,
         (double)atomic_load(&s->retries), NULL, NULL, NULL},
        {"analytics_mongodb_errors_total", "counter", "Failed MongoDB writes (retried).", NULL,
         NULL, (double)atomic_load(&s->mongo_errors), NULL, NULL, NULL},
    };
    const struct metrics_row batches[] = {
        {"analytics_batches_total", "counter", "Batches stored and acknowledged.", NULL, NULL,
         (double)atomic_load(&s->batches), NULL, NULL, NULL},
        {"analytics_batch_size", "histogram", "Events per claimed batch.", NULL, NULL, 0,
         &s->batch_size, NULL, NULL},
        {"analytics_events_recovered_total", "counter",
         "Events of stopped processors returned to the queue by this one's recovery passes.", NULL,
         NULL, (double)atomic_load(&s->recovered), NULL, NULL, NULL},
        {"analytics_rollup_takeovers_total", "counter",
         "Counts of redelivered events taken over from a batch that crashed or was "
         "recovered before adding them to the rollups.",
         NULL, NULL, (double)atomic_load(&s->taken_over), NULL, NULL, NULL},
        {"analytics_rollup_user_takeovers_total", "counter",
         "Distinct users of a site-day counted for a batch that crashed or was recovered "
         "after claiming them and before adding them to the rollups.",
         NULL, NULL, (double)atomic_load(&s->users_taken_over), NULL, NULL, NULL},
        {"analytics_retention_deleted_total", "counter", retention, "collection",
         sweep_coll_names[SWEEP_EVENTS], (double)atomic_load(&s->retention_deleted[SWEEP_EVENTS]),
         NULL, NULL, NULL},
        {"analytics_retention_deleted_total", "counter", retention, "collection",
         sweep_coll_names[SWEEP_USERS], (double)atomic_load(&s->retention_deleted[SWEEP_USERS]),
         NULL, NULL, NULL},
        {"analytics_retention_deleted_total", "counter", retention, "collection",
         sweep_coll_names[SWEEP_ROLLUPS], (double)atomic_load(&s->retention_deleted[SWEEP_ROLLUPS]),
         NULL, NULL, NULL},
        {"analytics_retention_ttl_indexes", "gauge",
         "The retention TTL indexes on events made as the settings want them at start.", NULL, NULL,
         (double)atomic_load(&s->ttl.indexes), NULL, NULL, NULL},
        {"analytics_retention_events_by_ttl", "gauge",
         "1 when TTL indexes delete the raw events, 0 when the retention sweep does.", NULL, NULL,
         (double)atomic_load(&s->ttl.events_by_ttl), NULL, NULL, NULL},
        {"analytics_redis_connections_total", "counter",
         "Redis connections opened (reconnects included).", NULL, NULL,
         (double)atomic_load(&s->redis.connects), NULL, NULL, NULL},
        {"analytics_redis_errors_total", "counter", "Failed Redis connects and commands.", NULL,
         NULL, (double)atomic_load(&s->redis.errors), NULL, NULL, NULL},
    };
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    info(&b, p);
    METRICS_TABLE(&b, events);
    store_render_metrics(p->store, &b);
    METRICS_TABLE(&b, batches);
    if (redis != NULL) {
        queue_metrics(&b, &p->queues, p->cfg.queue_key, redis);
    }
    if (redis != NULL) {
        rconn_pool_push(p->redis, redis);
    }
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route processor_routes[] = {
    SVC_PROBE_ROUTES,
    {"GET", "/metrics", handle_metrics, SVC_OPEN_ROUTE},
};
const size_t processor_n_routes = sizeof processor_routes / sizeof processor_routes[0];
