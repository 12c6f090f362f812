/* drain.c - the processor's loop: claim a batch, store it in MongoDB, then acknowledge it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "envelope.h"
#include "event.h"
#include "processor.h"
#include "queue.h"
#include "svc.h"
#include "ts.h"

struct drain {
    struct processor *p;
    rconn_t *redis;
    struct backoff bo;
    char processing[512]; /* <QUEUE_KEY>:processing:<consumer id> */
    char dead_key[300];   /* <QUEUE_KEY>:dead */
};

/* A consumer id unique to this process: host, pid and a random tag. */
static void
make_consumer_id(char *out, size_t outlen)
{
    char host[128] = "host", tag[EVENT_ID_LEN + 1];

    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    event_new_id(ts_now_ms(), tag);
    snprintf(out, outlen, "%s:%ld:%.8s", host, (long)getpid(), tag + 28);
}

/* Wait before the next try of something that failed; returns 1 when a stop
 * was requested meanwhile. */
static int
wait_retry(struct drain *d, const char *what, const struct app_err *err)
{
    long ms = backoff_next(&d->bo);

    LOG_WARN("%s: %s; retry %u in %ld ms", what, err->msg, d->bo.attempt, ms);
    return backoff_sleep(ms, &svc_stop_requested);
}

/* Store the batch and acknowledge it. Returns 0 when done, 1 when a stop
 * request interrupted the retries (the batch is then handed back). */
static int
process_batch(struct drain *d, struct queue_batch *batch)
{
    struct event *evs = calloc(batch->n, sizeof *evs);
    size_t *src = calloc(batch->n, sizeof *src); /* evs[i] came from batch->items[src[i]] */
    enum store_outcome *outcomes = calloc(batch->n, sizeof *outcomes);
    char(*reasons)[128] = calloc(batch->n, sizeof *reasons);
    char **dead = calloc(batch->n, sizeof *dead);
    size_t n_ok = 0, n_dead = 0, stored = 0, dups = 0;
    struct app_err err = {0};
    int rc = 0;

    if (evs == NULL || src == NULL || outcomes == NULL || reasons == NULL || dead == NULL) {
        LOG_ERROR("out of memory for a batch of %zu", batch->n);
        rc = 1;
        goto handback;
    }
    for (size_t i = 0; i < batch->n; i++) {
        redisReply *item = batch->items[i];
        if (envelope_decode(item->str, item->len, &evs[n_ok], &err) == 0) {
            src[n_ok++] = i;
            continue;
        }
        LOG_WARN("dead letter: invalid envelope: %s", err.msg);
        dead[n_dead] =
            queue_dead_entry("invalid_envelope", err.msg, 1, ts_now_ms(), item->str, item->len);
        if (dead[n_dead] != NULL) {
            n_dead++;
        }
    }
    while (store_insert_events(d->p->store, evs, n_ok, ts_now_ms(), outcomes, reasons, &err) != 0) {
        if (wait_retry(d, "mongodb", &err)) {
            rc = 1;
            goto handback;
        }
    }
    backoff_reset(&d->bo);
    for (size_t i = 0; i < n_ok; i++) {
        redisReply *item = batch->items[src[i]];
        if (outcomes[i] == STORE_INSERTED) {
            stored++;
        } else if (outcomes[i] == STORE_DUPLICATE) {
            dups++;
        } else {
            LOG_WARN("dead letter: event %s rejected: %s", evs[i].id, reasons[i]);
            dead[n_dead] = queue_dead_entry("rejected_by_mongodb", reasons[i], 1, ts_now_ms(),
                                            item->str, item->len);
            if (dead[n_dead] != NULL) {
                n_dead++;
            }
        }
    }
    /* Only now, with MongoDB's acknowledgement in hand, does the batch leave Redis. */
    while (queue_ack(d->redis, d->processing, d->dead_key, dead, n_dead, &err) != 0) {
        if (wait_retry(d, "redis ack", &err)) {
            LOG_WARN("stopping with %zu stored events unacknowledged in %s; they are "
                     "idempotent on redelivery",
                     batch->n, d->processing);
            rc = 1;
            goto done;
        }
    }
    backoff_reset(&d->bo);
    LOG_DEBUG("batch of %zu: %zu stored, %zu already stored, %zu dead", batch->n, stored, dups,
              n_dead);
    goto done;
handback:
    while (queue_requeue(d->redis, d->processing, d->p->cfg.queue_key, &err) < 0) {
        LOG_WARN("handing back %s: %s", d->processing, err.msg);
        if (backoff_sleep(backoff_next(&d->bo), NULL) != 0 || d->bo.attempt > 5) {
            break;
        }
    }
done:
    for (size_t i = 0; evs != NULL && i < n_ok; i++) {
        event_cleanup(&evs[i]);
    }
    for (size_t i = 0; dead != NULL && i < n_dead; i++) {
        free(dead[i]);
    }
    free(evs);
    free(src);
    free(outcomes);
    free(reasons);
    free(dead);
    return rc;
}

/* Create the indexes, retrying until MongoDB answers or a stop is requested. */
static void
ensure_indexes(struct drain *d)
{
    struct app_err err = {0};

    while (!svc_stop_requested && store_ensure_indexes(d->p->store, &err) != 0) {
        if (wait_retry(d, "mongodb indexes", &err)) {
            return;
        }
    }
    backoff_reset(&d->bo);
}

int
drain_run(struct processor *p)
{
    const struct processor_cfg *c = &p->cfg;
    struct rconn_opts ropts = {c->redis_host, c->redis_port, c->redis_password,
                               (int)c->redis_timeout_ms};
    struct drain d = {.p = p};
    struct queue_batch batch;
    char consumer[200];
    struct app_err err = {0};

    d.redis = rconn_new(&ropts);
    if (d.redis == NULL) {
        return -1;
    }
    make_consumer_id(consumer, sizeof consumer);
    snprintf(d.processing, sizeof d.processing, "%s:processing:%s", c->queue_key, consumer);
    snprintf(d.dead_key, sizeof d.dead_key, "%s:dead", c->queue_key);
    backoff_init(&d.bo, c->retry_base_ms, c->retry_max_ms);
    queue_batch_init(&batch);
    LOG_INFO("consumer %s draining %s", consumer, c->queue_key);
    ensure_indexes(&d);
    while (!svc_stop_requested) {
        int n = queue_claim(d.redis, c->queue_key, d.processing, (size_t)c->batch_size, c->block_ms,
                            &batch, &err);
        if (n < 0) {
            queue_batch_clear(&batch);
            wait_retry(&d, "redis claim", &err);
            continue;
        }
        backoff_reset(&d.bo);
        if (n > 0) {
            process_batch(&d, &batch);
        }
        queue_batch_clear(&batch);
    }
    rconn_free(d.redis);
    return 0;
}
