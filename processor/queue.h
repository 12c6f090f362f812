/* queue.h - the processor's side of the Redis list queue (ingest pushes, ingest/pusher.h):
 * reliable claim, ack, hand-back, recovery, dead letters.
 *
 * Keys, for QUEUE_KEY = "events":
 *   events                        pending envelopes: ingest LPUSHes, processors take from
 *                                 the right, so the list is FIFO
 *   events:processing:<consumer>  what one processor has claimed and not yet acknowledged
 *   events:heartbeat:<consumer>   exists while that processor lives (SET with a TTL)
 *   events:consumers              the set of consumer ids that may own a processing list
 *   events:dead                   dead letters (JSON, see queue_dead_entry())
 * A recovery pass returns the processing list of every registered consumer whose
 * heartbeat has expired to the queue. Every key a script touches is passed in its KEYS,
 * and every name is QUEUE_KEY followed by a suffix: a QUEUE_KEY that is a hash tag
 * ("{events}") puts them all in one Redis Cluster slot. With QUEUE_SHARDS > 1 each shard
 * is a queue of its own whose name is the shard's hash tag ("{events:3/4~0}" for shard 3 of
 * 4, common/qshard.h), so "events" above reads "{events:3/4~0}" there (processor/qset.h).
 */
#ifndef PROCESSOR_QUEUE_H
#define PROCESSOR_QUEUE_H

#include <stddef.h>

#include "err.h"
#include "event.h"
#include "rconn.h"

typedef struct queue queue_t;

/* The queue's key names for QUEUE_KEY and one consumer, computed once. The handle
 * holds no connection and does not change after queue_new(): any thread may use it
 * with its own connection (the drain loop, the heartbeat thread and /metrics do).
 * consumer is this processor's id, or NULL for an operator command, which may then
 * use only queue_dead_*(). Returns NULL when out of memory. */
queue_t *queue_new(const char *queue_key, const char *consumer);

/* NULL is a no-op. */
void queue_free(queue_t *q);

/* The names a handle holds, for logs and metrics. */
enum queue_key_kind {
    QUEUE_PENDING,    /* QUEUE_KEY: the pending envelopes */
    QUEUE_PROCESSING, /* <QUEUE_KEY>:processing:<consumer>; NULL without a consumer */
    QUEUE_DEAD,       /* <QUEUE_KEY>:dead */
    QUEUE_CONSUMER,   /* the consumer id itself (not a key); NULL without one */
    QUEUE_HEARTBEAT,  /* <QUEUE_KEY>:heartbeat:<consumer>; NULL without a consumer */
    QUEUE_CONSUMERS,  /* <QUEUE_KEY>:consumers: the registry */
    QUEUE_ASSIGNING,  /* <QUEUE_KEY>:assigning: a claim being assigned its visits (assign.h) */
    QUEUE_LEASE,      /* <QUEUE_KEY>:assign: who assigns the queue's visits now (assign.h) */
    QUEUE_ASSIGNER,   /* <QUEUE_KEY>:assigner: whose claim the assigning list holds (assign.h) */
};
const char *queue_name(const queue_t *q, enum queue_key_kind which);

/* "<QUEUE_KEY>:<kind>:<consumer>" (kind "processing" or "heartbeat") of any consumer,
 * malloc'd (free() it), or NULL when out of memory. */
char *queue_consumer_key(const queue_t *q, const char *kind, const char *consumer);

/* The envelopes claimed by one queue_claim(), oldest first. */
struct queue_batch {
    size_t n;
    redisReply **items; /* owned: string replies; items[i]->str, items[i]->len */
    /* NULL, or (a claim's, assign.h) ev[i] is items[i] decoded as envelope_decode() would, or
     * has src NULL when it was not; owned */
    struct event *ev;
};

void queue_batch_init(struct queue_batch *b);

/* Free the items and empty the batch. */
void queue_batch_clear(struct queue_batch *b);

/* Claim up to max envelopes, oldest first, with their visits assigned (assign.h, visits timing
 * out after timeout_s): under the queue's assignment lease, from the assigning list or the
 * queue, committed into this consumer's processing list with the consumer registered, in one
 * script. When the queue is empty, wait at most block_ms for an envelope (BLMOVE of the queue
 * onto itself, which takes nothing) and try once more; when another consumer holds the lease,
 * wait QUEUE_BUSY_WAIT_MS (at most block_ms) and try once more; block_ms <= 0: no wait.
 * Returns the number claimed (0 when the wait ended empty or busy) with the envelopes appended
 * to out, or -1 with err. After -1, the processing list may hold envelopes that are not in out
 * (a lost connection, or no memory to keep one): read it with queue_list() before claiming
 * more, and never acknowledge out. */
#define QUEUE_BUSY_WAIT_MS 2
int queue_claim(const queue_t *q, rconn_t *c, size_t max, long block_ms, long timeout_s,
                struct queue_batch *out, struct app_err *err);

/* Move the string elements of the array reply r (of command what) into out in its order, and
 * free r. Returns the number moved, or -1 with err (not an array, or out of memory). */
int queue_batch_take(redisReply *r, const char *what, struct queue_batch *out, struct app_err *err);

/* Read this consumer's processing list, oldest first (to resume after a failed claim).
 * Returns the number read or -1. */
int queue_list(const queue_t *q, rconn_t *c, struct queue_batch *out, struct app_err *err);

/* Acknowledge: in one atomic script, LPUSH the n dead-letter entries (may be 0) onto the
 * dead-letter list and delete the processing list, only while the processing list exists.
 * So it may be retried after any failure, a lost reply included (the script ran, the answer
 * never came): the retry pushes nothing twice. Returns 1 when it acknowledged the list now,
 * 0 when there was none (acknowledged by an earlier try, or returned to the queue by a
 * recovery pass, whose processing of the envelopes pushes their dead letters again), or -1
 * with err. */
int queue_ack(const queue_t *q, rconn_t *c, char **dead, size_t n_dead, struct app_err *err);

/* Hand everything in the processing list back to the consuming end of the queue, in
 * its original order, atomically (one Lua script). Returns the number moved or -1. */
long queue_requeue(const queue_t *q, rconn_t *c, struct app_err *err);

/* Mark this consumer alive for ttl_ms and register it: SET heartbeat PX ttl, SADD
 * consumers (a claim registers too). Returns 0 or -1. */
int queue_heartbeat(const queue_t *q, rconn_t *c, long ttl_ms, struct app_err *err);

/* At a clean stop: delete this consumer's heartbeat, and unregister it when its
 * processing list is empty; a list left behind is then returned by the next recovery
 * pass. Returns 0 or -1. */
int queue_unregister(const queue_t *q, rconn_t *c, struct app_err *err);

/* The recovery pass (recovery.c): SMEMBERS of the registry, then, for each registered
 * consumer, one atomic script whose KEYS are that consumer's heartbeat and processing
 * list, the queue and the registry (all of them in one pipeline): when its heartbeat has
 * expired, it moves the processing list back to the consuming end of the queue (in order)
 * and unregisters the consumer. Its cost grows with the number of consumers, never with
 * the keys in Redis; no script walks the keyspace. A processing list is only created by
 * queue_claim()'s script, which registers the consumer in the same atomic step, and only
 * unregistered with its list empty, so every processing list is found this way (but one
 * left by a version that claimed outside a script: see queue_adopt_orphans()). Safe to
 * run from every processor at once. Returns the number of envelopes returned to the
 * queue, or -1. */
long queue_recover(const queue_t *q, rconn_t *c, struct app_err *err);

/* Keys per SCAN step of queue_adopt_orphans(): each step costs Redis well under a
 * millisecond, whatever the keyspace holds. */
#define QUEUE_ADOPT_STEP 100

/* The operator's one-off after an upgrade from a version that claimed outside a script
 * (processor --recover-orphans): walk the keyspace in SCAN steps of QUEUE_ADOPT_STEP keys,
 * from this client, never inside a script, and register the consumer of every processing
 * list that has no registry entry, so that the next recovery pass of any processor returns
 * the list if that consumer's heartbeat is gone. Sets *lists to the processing lists seen;
 * returns the number of consumers registered, or -1. Standalone or Sentinel only (a
 * cluster's SCAN is per node). */
long queue_adopt_orphans(const queue_t *q, rconn_t *c, long *lists, struct app_err *err);

/* s with the characters Redis's glob patterns treat specially (* ? [ ] \) escaped with a
 * backslash, malloc'd, or NULL when out of memory. */
char *queue_glob_escape(const char *s);

/* The lengths of the queue (with its assigning list: a claim's batch being assigned its
 * visits, assign.h), this consumer's processing list (0 without a consumer) and the
 * dead-letter list, in one round trip. Returns 0 or -1. */
struct queue_depths {
    long long pending, processing, dead;
};
int queue_depths(const queue_t *q, rconn_t *c, struct queue_depths *out, struct app_err *err);

/* Dead-letter operations for operators. Each returns the number of entries concerned,
 * or -1. queue_dead_list() appends up to max entries, newest first, to out. */
int queue_dead_list(const queue_t *q, rconn_t *c, size_t max, struct queue_batch *out,
                    struct app_err *err);
/* Push every dead letter's payload back onto the queue (as new arrivals) and remove
 * the entries, atomically; entries whose JSON has no payload string stay. */
long queue_dead_requeue(const queue_t *q, rconn_t *c, struct app_err *err);
/* Delete every dead letter. */
long queue_dead_purge(const queue_t *q, rconn_t *c, struct app_err *err);

/* Build a dead-letter entry: {"reason","error","attempts","failed_at","payload"}
 * with the original envelope text as payload. Bytes that are not UTF-8 (in any of
 * the three texts) are kept as '?'. Returns a malloc'd string (free() it) or NULL
 * when out of memory. */
char *queue_dead_entry(const char *reason, const char *error, int attempts, long long failed_at_ms,
                       const char *payload, size_t payload_len);

#endif
