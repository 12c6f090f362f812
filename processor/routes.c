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

static void
counter(struct metrics_buf *b, const char *name, const char *help, atomic_ullong *v)
{
    metrics_single(b, name, "counter", help, (double)atomic_load(v));
}

/* analytics_processor_info: which consumer this process is, for scrapers and tests to
 * find its processing list without reading its logs. */
static void
info(struct metrics_buf *b, const struct processor *p)
{
    const char *consumer = queue_name(p->queue, QUEUE_CONSUMER);
    const char *queue = queue_name(p->queue, QUEUE_PENDING);
    /* Twice a value's length holds it escaped, so the escapes cannot fail. */
    size_t nc = 2 * strlen(consumer) + 1, nq = 2 * strlen(queue) + 1, n = nc + nq + 32;
    char *c = malloc(nc), *q = malloc(nq), *labels = malloc(n);

    if (c != NULL && q != NULL && labels != NULL) {
        metrics_label_escape(consumer, c, nc);
        metrics_label_escape(queue, q, nq);
        snprintf(labels, n, "consumer=\"%s\",queue=\"%s\"", c, q);
        metrics_family(b, "analytics_processor_info", "gauge",
                       "This processor's consumer id (host:pid:tag; its processing list is "
                       "<queue>:processing:<consumer>) and queue; always 1.");
        metrics_sample(b, "analytics_processor_info", labels, 1);
    }
    free(c);
    free(q);
    free(labels);
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct processor *p = arg;
    struct processor_stats *s = &p->stats;
    rconn_t *redis = rconn_pool_pop(p->redis);
    struct queue_depths depths;
    struct app_err err = {0};
    struct metrics_buf b;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    info(&b, p);
    counter(&b, "analytics_events_stored_total", "Event documents inserted into MongoDB.",
            &s->stored);
    counter(&b, "analytics_events_duplicate_total",
            "Events found already stored (not stored again): redeliveries and client "
            "duplicates.",
            &s->duplicates);
    counter(&b, "analytics_events_client_duplicate_total",
            "Of those, events stored from another envelope with the same event_id (a client "
            "that sent one event twice): counted in the rollups by that one only.",
            &s->client_duplicates);
    metrics_family(&b, "analytics_events_dead_lettered_total", "counter",
                   "Events moved to the dead-letter list, by reason.");
    for (int r = 0; r < DEAD_REASONS; r++) {
        char label[64];
        snprintf(label, sizeof label, "reason=\"%s\"", processor_dead_reasons[r]);
        metrics_sample(&b, "analytics_events_dead_lettered_total", label,
                       (double)atomic_load(&s->dead[r]));
    }
    counter(&b, "analytics_retries_total",
            "Waits with backoff before trying a failed MongoDB or Redis operation again.",
            &s->retries);
    counter(&b, "analytics_mongodb_errors_total", "Failed MongoDB writes (retried).",
            &s->mongo_errors);
    store_render_metrics(p->store, &b);
    counter(&b, "analytics_batches_total", "Batches stored and acknowledged.", &s->batches);
    metrics_family(&b, "analytics_batch_size", "histogram", "Events per claimed batch.");
    metrics_histogram_render(&b, "analytics_batch_size", NULL, &s->batch_size);
    counter(&b, "analytics_events_recovered_total",
            "Events of stopped processors returned to the queue by this one's recovery passes.",
            &s->recovered);
    counter(&b, "analytics_rollup_takeovers_total",
            "Counts of redelivered events taken over from a batch that crashed or was "
            "recovered before adding them to the rollups.",
            &s->taken_over);
    counter(&b, "analytics_rollup_user_takeovers_total",
            "Distinct users of a site-day counted for a batch that crashed or was recovered "
            "after claiming them and before adding them to the rollups.",
            &s->users_taken_over);
    counter(&b, "analytics_redis_connections_total",
            "Redis connections opened (reconnects included).", &s->redis.connects);
    counter(&b, "analytics_redis_errors_total", "Failed Redis connects and commands.",
            &s->redis.errors);
    if (redis != NULL && queue_depths(p->queue, redis, &depths, &err) == 0) {
        metrics_single(&b, "analytics_queue_depth", "gauge", "Events waiting in the queue.",
                       (double)depths.pending);
        metrics_single(&b, "analytics_processing_depth", "gauge",
                       "Events claimed by this processor and not yet acknowledged.",
                       (double)depths.processing);
        metrics_single(&b, "analytics_dead_letters", "gauge", "Entries in the dead-letter list.",
                       (double)depths.dead);
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
