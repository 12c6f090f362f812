/* pusher.h - group commit onto a Redis list: concurrent callers share one LPUSH.
 *
 * Callers queue their payloads. When no command is in flight, the caller becomes the
 * leader: it takes everything queued (its own payloads first), sends it as a single
 * multi-value LPUSH on the pusher's one connection, and gives every other caller in
 * the batch that command's outcome. The others sleep on a semaphore each, meanwhile;
 * when the leader is done, it hands the lead to the oldest caller that queued during
 * its command. So a lone caller sends its own command with no thread hand-off, and
 * under load each command carries what arrived during the previous one. A broadcast
 * condition variable would wake every waiter for each batch (the herd costs more than
 * the batching saves); a semaphore per waiter wakes exactly the callers concerned.
 *
 * LPUSH of several values is atomic, so one caller's payloads are queued all or none,
 * in order (the first payload is the first a consumer taking from the right receives),
 * and no caller is told "queued" before Redis has acknowledged the command carrying
 * its payloads. With pusher_set_wait(), each LPUSH is followed by one WAIT (per command,
 * not per payload), and its callers are told "queued" only once N replicas have it.
 */
#ifndef INGEST_PUSHER_H
#define INGEST_PUSHER_H

#include <stdatomic.h>
#include <stddef.h>

#include "err.h"
#include "metrics.h"
#include "rconn.h"

/* At most this many payloads, and about this many bytes, go in one LPUSH; a single
 * caller's payloads are never split, whatever their size. */
#define PUSHER_MAX_VALUES 4096
#define PUSHER_MAX_BYTES (4 * 1024 * 1024)

typedef struct pusher pusher_t;

/* A pusher onto `key` (copied) over a connection made with opts (whose strings must
 * outlive the pusher); it connects on first use. batch_sizes, when not NULL, observes
 * the number of payloads of each LPUSH sent. Returns NULL with err filled when out of
 * memory. */
pusher_t *pusher_new(const struct rconn_opts *opts, const char *key,
                     struct metrics_histogram *batch_sizes, struct app_err *err);

/* Close the connection and free everything. Call once no pusher_push() is running.
 * NULL is a no-op. */
void pusher_free(pusher_t *p);

/* Confirm every LPUSH on replicas replicas with WAIT replicas timeout_ms (replicas 0: no
 * WAIT, the default); a WAIT that confirms fewer, fails or gets no answer fails the
 * command's callers with ERR_UNKNOWN (the push is on the master, and may be lost if it
 * fails over) and counts one in *failures (atomic, may be NULL). Call before any
 * pusher_push(). */
void pusher_set_wait(pusher_t *p, long replicas, long timeout_ms, atomic_ullong *failures);

/* The outcome of a WAIT for replicas replicas whose reply is r (NULL: none came, err
 * already says why): 0 when r is an integer of at least replicas, else -1 with err
 * filled, its code ERR_UNKNOWN. */
int pusher_wait_outcome(const redisReply *r, long replicas, long timeout_ms, struct app_err *err);

/* Queue the n payloads (n >= 1; the pointers must stay valid until the call returns)
 * and wait for the LPUSH that carries them. Returns 0 once Redis has acknowledged it;
 * -1 with err->code ERR_TRANSIENT when Redis was unreachable or refused the command
 * (nothing queued), or ERR_UNKNOWN when it was sent but no answer came (it may be
 * queued) or, with pusher_set_wait(), its WAIT failed (queued on the master only). Thread-safe. */
int pusher_push(pusher_t *p, const char *const *payloads, const size_t *lens, size_t n,
                struct app_err *err);

#endif
