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
 * A recovery pass returns the processing list of every consumer whose heartbeat has
 * expired to the queue. The scripts touch keys derived from QUEUE_KEY, so all of them
 * must live on one Redis node (standalone or Sentinel, not spread over a Redis Cluster).
 */
#ifndef PROCESSOR_QUEUE_H
#define PROCESSOR_QUEUE_H

#include <stddef.h>

#include "err.h"
#include "rconn.h"

/* The envelopes claimed by one queue_claim(), oldest first. */
struct queue_batch {
    size_t n;
    redisReply **items; /* owned: string replies; items[i]->str, items[i]->len */
};

void queue_batch_init(struct queue_batch *b);

/* Free the items and empty the batch. */
void queue_batch_clear(struct queue_batch *b);

/* Move up to max envelopes atomically, one by one, from the right of `key` to
 * `processing`: BLMOVE waiting at most block_ms for the first, then LMOVE for
 * the rest in one pipeline. Returns the number claimed (0 when the wait ended
 * empty) with the envelopes appended to out, or -1 with err. After -1, `processing`
 * may hold envelopes that are not in out (a lost connection, or no memory to keep
 * one): read it with queue_list() before claiming more, and never acknowledge out. */
int queue_claim(rconn_t *c, const char *key, const char *processing, size_t max, long block_ms,
                struct queue_batch *out, struct app_err *err);

/* Read a processing list, oldest first (to resume after a restart). Returns
 * the number read or -1. */
int queue_list(rconn_t *c, const char *processing, struct queue_batch *out, struct app_err *err);

/* Acknowledge: in one MULTI/EXEC, LPUSH the n dead-letter entries (may be 0)
 * onto dead_key and delete the processing list. Returns 0 or -1 with err. */
int queue_ack(rconn_t *c, const char *processing, const char *dead_key, char **dead, size_t n_dead,
              struct app_err *err);

/* Hand everything in `processing` back to the consuming end of `key`, in its
 * original order, atomically (one Lua script). Returns the number moved or -1. */
long queue_requeue(rconn_t *c, const char *processing, const char *key, struct app_err *err);

/* Write "<queue_key>:<kind>" or "<queue_key>:<kind>:<consumer>" (consumer may be
 * NULL) into out. Returns 0, or -1 when it does not fit. */
int queue_key(char *out, size_t outlen, const char *queue_key, const char *kind,
              const char *consumer);

/* Mark consumer alive for ttl_ms and register it: SET heartbeat PX ttl, SADD consumers. */
int queue_heartbeat(rconn_t *c, const char *queue_key, const char *consumer, long ttl_ms,
                    struct app_err *err);

/* At a clean stop: delete consumer's heartbeat, and unregister it when its processing
 * list is empty; a list left behind is then returned by the next recovery pass. */
int queue_unregister(rconn_t *c, const char *queue_key, const char *consumer, struct app_err *err);

/* The recovery pass, one atomic script: for each registered consumer whose heartbeat
 * has expired, move its processing list back to the consuming end of the queue (in
 * order) and unregister it. With scan set it also SCANs for processing lists of
 * consumers that are not registered (a processor frozen past its TTL, recovered, then
 * killed before it registered again): use it at start, as it walks the keyspace.
 * Safe to run from every processor at once. Returns the number of envelopes returned
 * to the queue, or -1. */
long queue_recover(rconn_t *c, const char *queue_key, int scan, struct app_err *err);

/* Dead-letter operations for operators. Each returns the number of entries concerned,
 * or -1. queue_dead_list() appends up to max entries, newest first, to out. */
int queue_dead_list(rconn_t *c, const char *queue_key, size_t max, struct queue_batch *out,
                    struct app_err *err);
/* Push every dead letter's payload back onto the queue (as new arrivals) and remove
 * the entries, atomically; entries whose JSON has no payload string stay. */
long queue_dead_requeue(rconn_t *c, const char *queue_key, struct app_err *err);
/* Delete every dead letter. */
long queue_dead_purge(rconn_t *c, const char *queue_key, struct app_err *err);

/* Build a dead-letter entry: {"reason","error","attempts","failed_at","payload"}
 * with the original envelope text as payload. Bytes that are not UTF-8 (in any of
 * the three texts) are kept as '?'. Returns a malloc'd string (free() it) or NULL
 * when out of memory. */
char *queue_dead_entry(const char *reason, const char *error, int attempts, long long failed_at_ms,
                       const char *payload, size_t payload_len);

#endif
