/* queue.h - the Redis list queue: push, reliable claim into a processing list, ack, hand-back, dead
 * letters.
 *
 * Keys, for QUEUE_KEY = "events":
 *   events                       pending envelopes; ingest LPUSHes, processors take from the right
 * (FIFO) events:processing:<consumer> what one processor has claimed and not yet acknowledged
 *   events:dead                  dead letters (JSON, see queue_dead_entry())
 */
#ifndef COMMON_QUEUE_H
#define COMMON_QUEUE_H

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

/* LPUSH one envelope. Returns 0 once Redis has acknowledged it; -1 with err
 * (ERR_TRANSIENT) when Redis is unreachable, timed out or refused the write.
 * After -1 the event may or may not be queued. */
int queue_push(rconn_t *c, const char *key, const char *payload, size_t len, struct app_err *err);

/* Move up to max envelopes atomically, one by one, from the right of `key` to
 * `processing`: BLMOVE waiting at most block_ms for the first, then LMOVE for
 * the rest in one pipeline. Returns the number claimed (0 when the wait ended
 * empty) with the envelopes appended to out, or -1 with err. */
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

/* Build a dead-letter entry: {"reason","error","attempts","failed_at","payload"}
 * with the original envelope text as payload. Returns a malloc'd string
 * (free() it) or NULL when out of memory. */
char *queue_dead_entry(const char *reason, const char *error, int attempts, long long failed_at_ms,
                       const char *payload, size_t payload_len);

#endif
