/* routes.c - the processor's HTTP endpoints: /health, /readyz, /livez, /metrics. */
#include <stdio.h>

#include "processor.h"
#include "queue.h"
#include "svc.h"

static int
deps_ok(void *arg, struct app_err *err)
{
    struct processor *p = arg;
    return rconn_pool_ping(p->redis, err) == 0 ? store_ping(p->store, err) : -1;
}

static int
handle_health(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "processor", SVC_HEALTH, deps_ok, arg);
}

static int
handle_ready(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "processor", SVC_READY, deps_ok, arg);
}

static int
handle_live(struct mg_connection *conn, void *arg)
{
    return svc_probe(conn, "processor", SVC_LIVE, deps_ok, arg);
}

/* LLEN of key, or -1 when Redis does not answer. */
static long long
list_length(rconn_t *redis, const char *key)
{
    struct app_err err = {0};
    redisReply *r = rconn_command(redis, &err, "LLEN %s", key);
    long long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        n = r->integer;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return n;
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
    /* Twice the size holds any escaped value: the escapes cannot fail. */
    char consumer[2 * sizeof p->consumer], queue[2 * sizeof p->processing];
    char labels[sizeof consumer + sizeof queue + 32];

    metrics_label_escape(p->consumer, consumer, sizeof consumer);
    metrics_label_escape(p->cfg.queue_key, queue, sizeof queue);
    snprintf(labels, sizeof labels, "consumer=\"%s\",queue=\"%s\"", consumer, queue);
    metrics_family(b, "analytics_processor_info", "gauge",
                   "This processor's consumer id (host:pid:tag; its processing list is "
                   "<queue>:processing:<consumer>) and queue; always 1.");
    metrics_sample(b, "analytics_processor_info", labels, 1);
}

static int
handle_metrics(struct mg_connection *conn, void *arg)
{
    struct processor *p = arg;
    struct processor_stats *s = &p->stats;
    rconn_t *redis = rconn_pool_pop(p->redis);
    struct metrics_buf b;
    long long depth;
    int status;

    metrics_buf_init(&b);
    http_metrics_render(conn, &b);
    info(&b, p);
    counter(&b, "analytics_events_stored_total", "Event documents inserted into MongoDB.",
            &s->stored);
    counter(&b, "analytics_events_duplicate_total",
            "Redelivered events found already stored (not stored again).", &s->duplicates);
    metrics_family(&b, "analytics_events_dead_lettered_total", "counter",
                   "Events moved to the dead-letter list, by reason.");
    metrics_sample(&b, "analytics_events_dead_lettered_total", "reason=\"invalid_envelope\"",
                   (double)atomic_load(&s->dead_invalid));
    metrics_sample(&b, "analytics_events_dead_lettered_total", "reason=\"rejected_by_mongodb\"",
                   (double)atomic_load(&s->dead_rejected));
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
    if (redis != NULL && (depth = list_length(redis, p->cfg.queue_key)) >= 0) {
        metrics_single(&b, "analytics_queue_depth", "gauge", "Events waiting in the queue.",
                       (double)depth);
        metrics_single(&b, "analytics_processing_depth", "gauge",
                       "Events claimed by this processor and not yet acknowledged.",
                       (double)list_length(redis, p->processing));
        metrics_single(&b, "analytics_dead_letters", "gauge", "Entries in the dead-letter list.",
                       (double)list_length(redis, p->dead_key));
    }
    if (redis != NULL) {
        rconn_pool_push(p->redis, redis);
    }
    status = http_send_metrics(conn, &b);
    metrics_buf_free(&b);
    return status;
}

const struct http_route processor_routes[] = {
    {"GET", "/health", handle_health, 1},
    {"GET", "/readyz", handle_ready, 1},
    {"GET", "/livez", handle_live, 1},
    {"GET", "/metrics", handle_metrics, 1},
};
const size_t processor_n_routes = sizeof processor_routes / sizeof processor_routes[0];
