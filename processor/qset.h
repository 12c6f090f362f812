/* qset.h - the processor's queue shards (QUEUE_SHARDS, common/qshard.h): one queue handle
 * (queue.h) per shard, all with this processor's consumer id, and how the drain loop goes
 * round them.
 *
 * Every processor drains every shard: a claim tries the shards in turn, from the one after
 * the shard of its previous claim, without blocking, and takes from the first that holds
 * anything; only when all are empty does it wait (BLMOVE, which takes nothing) on one shard,
 * for at most QSET_POLL_MS with several shards (BATCH_WAIT_MS with one), the shard waited on
 * turning with each claim. No shard belongs to a processor: claims are atomic (a script of
 * LMOVEs) and counting is exactly-once by the rollup protocol, so any number of processors
 * may claim from one shard, and a processor that dies owns nothing but its processing lists,
 * which the recovery pass of each shard returns once its heartbeat there has expired
 * (docs/design.md#queue-shards). */
#ifndef PROCESSOR_QSET_H
#define PROCESSOR_QSET_H

#include <stddef.h>

#include "err.h"
#include "queue.h"
#include "rconn.h"

/* With several shards, an idle processor waits at most this long on one shard before
 * trying them all again: an event on another shard waits about this long at most. */
#define QSET_POLL_MS 100

struct queue_set {
    unsigned n;           /* QUEUE_SHARDS */
    queue_t **q;          /* q[i]: shard i's keys for this consumer (or none: an operator's) */
    long visit_timeout_s; /* VISIT_TIMEOUT_S, for queue_claim() (0 until the drain sets it) */
};

/* The handles of the k shards of queue_key for consumer (NULL: operator commands, which
 * use only the queue_dead_*() and the names). Returns 0, or -1 when out of memory (s is
 * then empty, and queue_set_free() is still fine). */
int queue_set_init(struct queue_set *s, const char *queue_key, unsigned k, const char *consumer);

void queue_set_free(struct queue_set *s);

/* Claim up to max envelopes from one shard, trying them in turn from *next (see above);
 * block_ms is BATCH_WAIT_MS. Sets *shard to the shard the claim concerns (after -1: the
 * shard whose processing list may hold envelopes not in out, to read with queue_list()) and
 * *next to the shard after it. Returns what queue_claim() returns. */
int queue_set_claim(const struct queue_set *s, rconn_t *c, unsigned *next, size_t max,
                    long block_ms, struct queue_batch *out, unsigned *shard, struct app_err *err);

/* queue_heartbeat() on every shard. Returns 0 or -1 (after trying them all). */
int queue_set_heartbeat(const struct queue_set *s, rconn_t *c, long ttl_ms, struct app_err *err);

/* queue_recover() on every shard. Returns the envelopes returned in all, or -1 (after trying
 * them all). */
long queue_set_recover(const struct queue_set *s, rconn_t *c, struct app_err *err);

/* queue_unregister() on every shard. Returns 0 or -1 (after trying them all). */
int queue_set_unregister(const struct queue_set *s, rconn_t *c, struct app_err *err);

/* What another QUEUE_SHARDS left behind. The set "<queue_key>:shards" records every
 * QUEUE_SHARDS an ingest or a processor has started with (common/qrecord.h; k added here, nothing
 * ever removed; no record counts as 1, a version before shards). The shard names of each recorded
 * count other than k (queue_key itself for 1, qshard_name() of its shards for more: names depend on
 * the count) are read with LLEN and SCARD in one pipeline (never a keyspace walk; nothing at all
 * with k = 1 where no other count was ever used). Returns 0 with *pending, *consumers and *first
 * (the first such name holding anything, malloc'd, or NULL when none does), or -1 with err. */
int queue_set_strays(const char *queue_key, unsigned k, rconn_t *c, long long *pending,
                     long long *consumers, char **first, struct app_err *err);

/* The same at scrape time (analytics_queue_stray_events), adding nothing to the record: the
 * events waiting in the shards of every recorded value but k (an ingest records its value
 * too, so one started with another QUEUE_SHARDS shows here). Returns 0 or -1 with err. */
int queue_set_stray_events(const char *queue_key, unsigned k, rconn_t *c, long long *pending,
                           struct app_err *err);

/* At start-up: queue_set_strays(), and a warning in the log when they hold anything
 * (docs/operations.md#changing-queue_shards). */
void queue_set_warn_strays(const char *queue_key, unsigned k, rconn_t *c);

#endif
