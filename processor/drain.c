/* drain.c - the processor's loop: claim a batch, store it in MongoDB, then acknowledge it. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assign.h"
#include "backoff.h"
#include "envelope.h"
#include "event.h"
#include "insert.h"
#include "processor.h"
#include "qshard.h"
#include "queue.h"
#include "rollup.h"
#include "svc.h"
#include "ts.h"

struct drain {
    struct processor *p;
    struct processor_stats *stats;
    const struct queue_set *qs; /* &p->queues */
    const queue_t *q;           /* the shard of the batch in hand (of the last claim) */
    rconn_t *redis;
    struct backoff bo;
    struct rollup_batch batch; /* the id of the batch in hand */
};

static void
count(atomic_ullong *counter, unsigned long long n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* The heartbeat thread keeps this consumer's heartbeat fresh, on its own
 * connection, even while the main loop waits on MongoDB. */
struct heartbeat {
    pthread_t thread;
    atomic_int stop;
    rconn_t *redis;
    const struct drain *d;
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

    count(&d->stats->retries, 1);
    LOG_WARN("%s: %s; retry %u in %ld ms", what, err->msg, d->bo.attempt, ms);
    return backoff_sleep(ms, &svc_stop_requested);
}

static void *
heartbeat_main(void *arg)
{
    struct heartbeat *hb = arg;
    const struct processor_cfg *c = &hb->d->p->cfg;
    const struct timespec slice = {0, 50 * 1000000L};
    long every = c->heartbeat_ttl_ms / 3;
    struct app_err err = {0};
    int failing = 0;

    while (!atomic_load(&hb->stop)) {
        if (queue_set_heartbeat(hb->d->qs, hb->redis, c->heartbeat_ttl_ms, &err) != 0) {
            if (!failing) {
                LOG_WARN("heartbeat: %s", err.msg);
            }
            failing = 1;
        } else {
            failing = 0;
        }
        for (long waited = 0; waited < every && !atomic_load(&hb->stop); waited += 50) {
            nanosleep(&slice, NULL);
        }
    }
    return NULL;
}

const char *const processor_dead_reasons[DEAD_REASONS] = {
    "invalid_envelope", "rejected_by_mongodb", "rollup_failed", "id_conflict", "expired"};

/* What became of a batch's events: stored or duplicate (each event once), and the dead
 * letters by reason (an event stored and then dead-lettered with its batch is in both). */
struct tally {
    size_t stored, dups, dead[DEAD_REASONS];
};

/* Add a dead letter for item to the list to push at ack time, and count it in t. Returns -1
 * when it could not be built (out of memory): the batch must then not be acknowledged. */
static int
add_dead(char **dead, size_t *n_dead, struct tally *t, enum processor_dead reason,
         const char *error, int attempts, const redisReply *item)
{
    const char *name = processor_dead_reasons[reason];
    char *entry = queue_dead_entry(name, error, attempts, ts_now_ms(), item->str, item->len);

    if (entry == NULL) {
        LOG_ERROR("out of memory for a dead letter (%s)", name);
        return -1;
    }
    dead[(*n_dead)++] = entry;
    t->dead[reason]++;
    return 0;
}

#ifdef FAULT_INJECTION
/* The failpoints of the fault tests: a processor killed, or frozen (then continued by
 * the test), after storing its N-th batch and before counting it in the rollups. */
static void
fault_before_rollup(const struct drain *d)
{
    const struct processor_cfg *c = &d->p->cfg;

    if (d->batch.seq == c->fault_kill_before_rollup) {
        LOG_WARN("failpoint: killing this processor before the rollup of batch %s", d->batch.id);
        raise(SIGKILL);
    }
    if (d->batch.seq == c->fault_stop_before_rollup) {
        LOG_WARN("failpoint: stopping this processor before the rollup of batch %s", d->batch.id);
        raise(SIGSTOP);
        LOG_WARN("failpoint: continued; counting batch %s", d->batch.id);
    }
}

/* The failpoint inside the rollup step (see struct rollup_batch). */
static void
fault_in_rollup(const struct rollup_batch *b)
{
    LOG_WARN("failpoint: killing this processor half-way through the rollup of batch %s", b->id);
    raise(SIGKILL);
}

/* The failpoint between the site-days and the site-hours (see struct rollup_batch). */
static void
fault_before_hours(const struct rollup_batch *b)
{
    LOG_WARN("failpoint: killing this processor between the site-days and the site-hours of "
             "batch %s",
             b->id);
    raise(SIGKILL);
}
#endif

/* Count the stored events in the rollups (see rollup.h). A transient failure (MongoDB
 * unreachable, slow, or a stop) is retried without limit; any other (out of memory, owners
 * that keep changing, a document that never settles) could fail for ever while the
 * heartbeat keeps the batch claimed and nothing behind it moves: after max_attempts of
 * those, the batch is given up. Returns 0, 1 when a stop request interrupted the retries, or
 * 2 when it gave up (*why the last failure, *tries the failures that counted). */
static int
count_all(struct drain *d, const struct event *events, const enum insert_outcome *outcomes,
          size_t n, struct app_err *why, int *tries)
{
    struct rollup_tally tally = {0, 0, 0};

    *tries = 0;
    while (rollup_apply(d->p->store, &d->batch, events, outcomes, n, &d->p->cfg.tzs, &tally, why) !=
           0) {
        if (why->code == ERR_TRANSIENT) {
            count(&d->stats->mongo_errors, 1);
        } else if (++*tries >= d->p->cfg.max_attempts) {
            return 2;
        }
        if (wait_retry(d, "mongodb rollup", why)) {
            return 1;
        }
    }
    count(&d->stats->taken_over, tally.taken_over);
    count(&d->stats->users_taken_over, tally.users_taken_over);
    count(&d->stats->client_duplicates, tally.client_duplicates);
    return 0;
}

/* Write events[0..n) until each is stored, a duplicate, or refused max_attempts times
 * (then a dead letter), then count them in the rollups (count_all(): when that gives up,
 * every stored one becomes a dead letter too). Transient failures are retried without
 * limit. The caller keeps ownership of events and items; the retries work on copies.
 * Returns 0, or 1 when a stop request interrupted the retries (or memory ran out). */
static int
store_all(struct drain *d, const struct event *events, const redisReply *const *items_in, size_t n,
          char **dead, size_t *n_dead, struct tally *t)
{
    size_t sz = n ? n : 1;
    /* Shallow copies, compacted as events are settled: they own nothing. */
    struct event *evs = malloc(sz * sizeof *evs);
    const redisReply **items = malloc(sz * sizeof *items);
    enum insert_outcome *outcomes = calloc(sz, sizeof *outcomes);
    enum insert_outcome *final = calloc(sz, sizeof *final); /* by the caller's index */
    size_t *orig = calloc(sz, sizeof *orig);                /* evs[i] is events[orig[i]] */
    char(*reasons)[INSERT_REASON_LEN] = calloc(sz, sizeof *reasons);
    int *attempts = calloc(sz, sizeof *attempts);
    struct app_err err = {0};
    size_t total = n;
    int rc = 0, tries;

    if (evs == NULL || items == NULL || outcomes == NULL || final == NULL || orig == NULL ||
        reasons == NULL || attempts == NULL) {
        LOG_ERROR("out of memory for a batch of %zu", n);
        rc = 1;
        goto done;
    }
    memcpy(evs, events, n * sizeof *evs);
    memcpy(items, items_in, n * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        orig[i] = i;
    }
    while (n > 0) {
        size_t keep = 0;
        if (insert_events(d->p->store, evs, n, ts_now_ms(), d->batch.id, outcomes, reasons, &err) !=
            0) {
            count(&d->stats->mongo_errors, 1);
            if (wait_retry(d, "mongodb", &err)) {
                rc = 1;
                goto done;
            }
            continue;
        }
        /* Compact the refused events that have tries left to the front. */
        for (size_t i = 0; i < n; i++) {
            log_set_request_id(evs[i].request_id);
            final[orig[i]] = outcomes[i];
            if (outcomes[i] == INSERT_NEW) {
                LOG_DEBUG("event %s stored", evs[i].id);
                t->stored++;
            } else if (outcomes[i] == INSERT_DUPLICATE) {
                LOG_DEBUG("event %s was already stored", evs[i].id);
                t->dups++;
            } else if (outcomes[i] == INSERT_CONFLICT) {
                LOG_WARN("dead letter: %s", reasons[i]);
                if (add_dead(dead, n_dead, t, DEAD_ID_CONFLICT, reasons[i], 1, items[i]) != 0) {
                    rc = 1;
                    goto done;
                }
            } else if (++attempts[i] >= d->p->cfg.max_attempts) {
                LOG_WARN("dead letter: event %s refused %d times: %s", evs[i].id, attempts[i],
                         reasons[i]);
                if (add_dead(dead, n_dead, t, DEAD_REJECTED, reasons[i], attempts[i], items[i]) !=
                    0) {
                    rc = 1;
                    goto done;
                }
            } else {
                LOG_WARN("event %s refused (try %d of %ld): %s", evs[i].id, attempts[i],
                         d->p->cfg.max_attempts, reasons[i]);
                evs[keep] = evs[i];
                items[keep] = items[i];
                attempts[keep] = attempts[i];
                orig[keep] = orig[i];
                keep++;
            }
        }
        log_set_request_id(NULL);
        n = keep;
        if (n > 0) {
            struct app_err why = {ERR_INVALID, "documents refused"};
            if (wait_retry(d, "mongodb", &why)) {
                rc = 1;
                goto done;
            }
        }
    }
    log_set_request_id(NULL);
#ifdef FAULT_INJECTION
    fault_before_rollup(d);
#endif
    switch (count_all(d, events, final, total, &err, &tries)) {
    case 0:
        break;
    case 2:
        /* Given up: its stored events go to the dead letters uncounted (requeued, they
         * are met again and taken over from this batch), and its run ends. */
        LOG_ERROR("dead letters: the rollup of batch %s failed %d times: %s", d->batch.id, tries,
                  err.msg);
        for (size_t i = 0; i < total; i++) {
            if ((final[i] == INSERT_NEW || final[i] == INSERT_DUPLICATE) &&
                add_dead(dead, n_dead, t, DEAD_ROLLUP_FAILED, err.msg, tries, items_in[i]) != 0) {
                rc = 1;
                goto done;
            }
        }
        rollup_batch_new_run(&d->batch);
        LOG_WARN("rollup run %s begins", d->batch.run);
        break;
    default:
        rc = 1;
        goto done;
    }
    backoff_reset(&d->bo);
done:
    log_set_request_id(NULL);
    free(evs);
    free(items);
    free(outcomes);
    free(final);
    free(orig);
    free(reasons);
    free(attempts);
    return rc;
}

/* Tries to hand a batch back go on for at most this long (plus one Redis timeout). */
#define DRAIN_HAND_BACK_MS 2000

/* Hand the processing list back to the queue, trying for up to DRAIN_HAND_BACK_MS. */
static void
hand_back(struct drain *d)
{
    struct app_err err = {0};
    long n;

    int64_t until = ts_mono_ms() + DRAIN_HAND_BACK_MS; /* this runs while stopping */

    do {
        n = queue_requeue(d->q, d->redis, &err);
        if (n >= 0) {
            LOG_INFO("handed %ld events back to %s", n, queue_name(d->q, QUEUE_PENDING));
            return;
        }
        LOG_WARN("handing back %s: %s", queue_name(d->q, QUEUE_PROCESSING), err.msg);
        backoff_sleep(200, NULL);
    } while (ts_mono_ms() < until);
    LOG_WARN("%s left for the recovery pass", queue_name(d->q, QUEUE_PROCESSING));
}

/* Store the batch and acknowledge it. Returns 0 when done, 1 when a stop
 * request interrupted it (the batch is then handed back or left for recovery). */
static int
process_batch(struct drain *d, struct queue_batch *batch)
{
    struct event *evs = malloc(batch->n * sizeof *evs);         /* [0, n_ok) set below */
    const redisReply **items = calloc(batch->n, sizeof *items); /* evs[i] came from items[i] */
    char **dead = calloc(batch->n, sizeof *dead);
    size_t n_ok = 0, n_dead = 0;
    struct tally t = {0, 0, {0}};
    struct app_err err = {0};
    int rc = 0;

    rollup_batch_next(&d->batch);
    if (evs == NULL || items == NULL || dead == NULL) {
        LOG_ERROR("out of memory for a batch of %zu", batch->n);
        rc = 1;
        hand_back(d);
        goto done;
    }
    for (size_t i = 0; i < batch->n; i++) {
        redisReply *item = batch->items[i];
        if (batch->ev != NULL && batch->ev[i].src != NULL) { /* decoded by the claim */
            evs[n_ok] = batch->ev[i];
            batch->ev[i].src = NULL; /* evs[n_ok] holds the reference now */
        } else if (envelope_decode(item->str, item->len, &evs[n_ok], &err) != 0) {
            if (err.code != ERR_INVALID) { /* out of memory: the envelope may be fine */
                LOG_ERROR("decoding an envelope: %s; the batch is tried again", err.msg);
                rc = 1;
                hand_back(d);
                goto done;
            }
            LOG_WARN("dead letter: invalid envelope: %s", err.msg);
            if (add_dead(dead, &n_dead, &t, DEAD_INVALID_ENVELOPE, err.msg, 1, item) != 0) {
                rc = 1;
                hand_back(d);
                goto done;
            }
            continue;
        }
        /* Not stored: the sweep may have deleted its document, and storing it again would
         * count it again. */
        if (sweep_expired(&d->p->cfg.ret, &evs[n_ok], ts_now_ms(), err.msg, sizeof err.msg)) {
            event_cleanup(&evs[n_ok]);
            if (add_dead(dead, &n_dead, &t, DEAD_EXPIRED, err.msg, 1, item) != 0) {
                rc = 1;
                hand_back(d);
                goto done;
            }
            continue;
        }
        items[n_ok++] = item;
    }
    if (store_all(d, evs, items, n_ok, dead, &n_dead, &t) != 0) {
        rc = 1;
        hand_back(d);
        goto done;
    }
    /* Only now, with MongoDB's acknowledgement in hand, does the batch leave Redis. */
    while (queue_ack(d->q, d->redis, dead, n_dead, &err) < 0) {
        if (wait_retry(d, "redis ack", &err)) {
            LOG_WARN("stopping with %zu stored events unacknowledged in %s; the recovery pass "
                     "returns them and they are not stored twice",
                     batch->n, queue_name(d->q, QUEUE_PROCESSING));
            rc = 1;
            goto done;
        }
    }
    backoff_reset(&d->bo);
    count(&d->stats->stored, t.stored);
    count(&d->stats->duplicates, t.dups);
    for (int r = 0; r < DEAD_REASONS; r++) {
        count(&d->stats->dead[r], t.dead[r]);
    }
    count(&d->stats->batches, 1);
    metrics_observe(&d->stats->batch_size, (double)batch->n);
    LOG_DEBUG("batch of %zu: %zu stored, %zu already stored, %zu dead", batch->n, t.stored, t.dups,
              n_dead);
done:
    for (size_t i = 0; evs != NULL && i < n_ok; i++) {
        event_cleanup(&evs[i]);
    }
    for (size_t i = 0; dead != NULL && i < n_dead; i++) {
        free(dead[i]);
    }
    free(evs);
    free(items);
    free(dead);
    return rc;
}

/* Create the indexes, register this consumer in every shard and run the first recovery
 * pass of each (through its registry), retrying each until it works or a stop is
 * requested; then warn of shards another QUEUE_SHARDS left. */
static void
start_up(struct drain *d)
{
    const struct processor_cfg *c = &d->p->cfg;
    struct app_err err = {0};
    long n = 0;

    while (!atomic_load(&svc_stop_requested) && insert_ensure_indexes(d->p->store, &err) != 0) {
        wait_retry(d, "mongodb indexes", &err);
    }
    if (!atomic_load(&svc_stop_requested)) {
        ttl_reconcile(d->p->store, &c->ret, ttl_mode_parse(c->retention_ttl), &d->stats->ttl);
    }
    while (!atomic_load(&svc_stop_requested) &&
           queue_set_heartbeat(d->qs, d->redis, c->heartbeat_ttl_ms, &err) != 0) {
        wait_retry(d, "redis register", &err);
    }
    while (!atomic_load(&svc_stop_requested) &&
           (n = queue_set_recover(d->qs, d->redis, &err)) < 0) {
        wait_retry(d, "redis recovery", &err);
    }
    if (!atomic_load(&svc_stop_requested) && n > 0) {
        LOG_INFO("recovery: returned %ld events of stopped processors to the queue", n);
        count(&d->stats->recovered, (unsigned long long)n);
    }
    if (!atomic_load(&svc_stop_requested)) {
        queue_set_warn_strays(c->queue_key, d->qs->n, d->redis);
    }
    backoff_reset(&d->bo);
}

int
drain_prepare(struct processor *p, struct app_err *err)
{
    char consumer[256];
    struct processor_stats *s = &p->stats;

    atomic_init(&s->stored, 0);
    atomic_init(&s->duplicates, 0);
    atomic_init(&s->client_duplicates, 0);
    for (int r = 0; r < DEAD_REASONS; r++) {
        atomic_init(&s->dead[r], 0);
    }
    atomic_init(&s->retries, 0);
    atomic_init(&s->mongo_errors, 0);
    atomic_init(&s->batches, 0);
    atomic_init(&s->recovered, 0);
    atomic_init(&s->taken_over, 0);
    atomic_init(&s->users_taken_over, 0);
    for (int c = 0; c < SWEEP_COLLS; c++) {
        atomic_init(&s->retention_deleted[c], 0);
    }
    atomic_init(&s->ttl.events_by_ttl, 0);
    atomic_init(&s->ttl.indexes, 0);
    metrics_histogram_init(&s->batch_size, metrics_size_bounds, metrics_size_n);
    rconn_stats_init(&s->redis);
    make_consumer_id(consumer, sizeof consumer);
    const char *why = qshard_check(p->cfg.queue_key, p->cfg.queue_shards);
    if (why == NULL && p->cfg.redis.cluster[0] != '\0') {
        why = qshard_check_cluster(p->cfg.queue_key, p->cfg.queue_shards);
    }
    if (why != NULL) {
        return err_set(err, ERR_INVALID, "configuration: %s", why);
    }
    if (queue_set_init(&p->queues, p->cfg.queue_key, (unsigned)p->cfg.queue_shards, consumer) !=
        0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    p->queues.visit_timeout_s = p->cfg.visit_timeout_s;
    return 0;
}

int
drain_run(struct svc_program *prog)
{
    struct processor *p = (struct processor *)prog;
    const struct processor_cfg *c = &p->cfg;
    struct drain d = {.p = p, .stats = &p->stats, .qs = &p->queues, .q = p->queues.q[0]};
    struct heartbeat hb = {.d = &d};
    struct queue_batch batch;
    struct sweep sw;
    struct app_err err = {0};
    int resume = 0, hb_started = 0, rc = -1;
    unsigned next_shard = 0, shard = 0;
    int64_t next_recovery;

    atomic_init(&hb.stop, 0);
    queue_batch_init(&batch);
    sweep_init(&sw, &c->ret, c->sweep_s, p->stats.retention_deleted);
    d.redis = rconn_new(&c->redis);
    hb.redis = rconn_new(&c->redis);
    if (d.redis == NULL || hb.redis == NULL) {
        LOG_ERROR("cannot start: out of memory");
        goto done;
    }
    backoff_init(&d.bo, c->retry_base_ms, c->retry_max_ms);
    rollup_batch_init(&d.batch);
#ifdef FAULT_INJECTION
    if (c->fault_kill_in_rollup > 0) {
        d.batch.fault = fault_in_rollup;
        d.batch.fault_seq = c->fault_kill_in_rollup;
    }
    if (c->fault_kill_before_hours > 0) {
        d.batch.fault_hours = fault_before_hours;
        d.batch.fault_hours_seq = c->fault_kill_before_hours;
    }
    d.batch.fault_fail_seq = c->fault_fail_rollup;
    assign_fault_kill_at = c->fault_kill_in_assign;
    assign_fault_stall_at = c->fault_stall_in_assign;
#endif
    LOG_INFO("consumer %s draining %s in %u shard%s (rollup run %s)",
             queue_name(d.q, QUEUE_CONSUMER), c->queue_key, d.qs->n, d.qs->n == 1 ? "" : "s",
             d.batch.run);
    start_up(&d);
    sw.events_by_ttl = atomic_load(&p->stats.ttl.events_by_ttl);
    if (pthread_create(&hb.thread, NULL, heartbeat_main, &hb) != 0) {
        LOG_ERROR("cannot start the heartbeat thread");
        goto done;
    }
    hb_started = 1;
    next_recovery = ts_mono_ms() + c->heartbeat_ttl_ms / 2;
    while (!atomic_load(&svc_stop_requested)) {
        int n;
        if (ts_mono_ms() >= next_recovery) {
            long moved = queue_set_recover(d.qs, d.redis, &err);
            if (moved > 0) {
                LOG_INFO("recovery: returned %ld events of stopped processors to the queue", moved);
                count(&d.stats->recovered, (unsigned long long)moved);
            }
            next_recovery = ts_mono_ms() + c->heartbeat_ttl_ms / 2;
        }
        sweep_tick(&sw, p->store, SWEEP_BUDGET_MS);
        if (resume) {
            /* A claim failed midway: what it moved may be in our list of that shard unseen. */
            n = queue_list(d.q, d.redis, &batch, &err);
        } else {
            n = queue_set_claim(d.qs, d.redis, &next_shard, (size_t)c->batch_size, c->block_ms,
                                &batch, &shard, &err);
            d.q = d.qs->q[shard];
        }
        if (n < 0) {
            queue_batch_clear(&batch);
            resume = 1;
            wait_retry(&d, "redis claim", &err);
            continue;
        }
        resume = 0;
        backoff_reset(&d.bo);
        /* A batch that failed (out of memory, or handed back while Redis was away) may
         * still be in the processing list: the next batch is what that list holds, so
         * that the next acknowledgement cannot delete events never stored. */
        if (n > 0 && process_batch(&d, &batch) != 0) {
            /* Its events may be stored with this batch as their owner, uncounted: a later
             * batch of this run must not apply before it (rollup_batch_new_run()). */
            resume = 1;
            rollup_batch_new_run(&d.batch);
        }
        queue_batch_clear(&batch);
    }
    rc = 0;
done:
    if (hb_started) {
        atomic_store(&hb.stop, 1);
        pthread_join(hb.thread, NULL);
        if (queue_set_unregister(d.qs, d.redis, &err) != 0) {
            LOG_WARN("unregister: %s", err.msg);
        }
    }
    queue_batch_clear(&batch);
    sweep_cleanup(&sw);
    rconn_free(hb.redis);
    rconn_free(d.redis);
    return rc;
}
