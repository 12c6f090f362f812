/* ratelimit.h - how many events per second one client may send (RATE_LIMIT, RATE_BURST):
 * a token bucket per client key (client.h), in a table of fixed size. The arithmetic is
 * pure functions; accept.c takes a request's events from its client's bucket after the
 * body is parsed. */
#ifndef INGEST_RATELIMIT_H
#define INGEST_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "err.h"

/* --- the token bucket ------------------------------------------------------------------ */

/* A client's allowance: up to burst tokens, refilled at rate tokens per second, one token
 * per event. Kept in thousandths of a token, so that a refill of rate per second adds
 * exactly rate thousandths per millisecond (integer arithmetic, no rounding drift). */
struct ratelimit_bucket {
    int64_t milli;   /* tokens * 1000, 0..burst * 1000 */
    int64_t last_ms; /* when milli was last brought up to date (a monotonic clock) */
};

enum ratelimit_verdict {
    RATELIMIT_OK,    /* the tokens were taken */
    RATELIMIT_WAIT,  /* not enough tokens yet: retry after *retry_after_s */
    RATELIMIT_NEVER, /* n > burst: the bucket can never hold that many */
};

/* A full bucket at now_ms. */
void ratelimit_bucket_init(struct ratelimit_bucket *b, long burst, int64_t now_ms);

/* Take n tokens (n >= 1) from b at now_ms, after refilling it for the time since
 * b->last_ms (a now_ms before it counts as no time). rate and burst are >= 1.
 * RATELIMIT_OK: taken. RATELIMIT_WAIT: nothing taken; *retry_after_s is the whole seconds
 * (at least 1) until n tokens will be there. RATELIMIT_NEVER: n > burst, nothing taken,
 * *retry_after_s 0. A pure function of (*b, now_ms, rate, burst, n): b is brought up to
 * date in every case. */
enum ratelimit_verdict ratelimit_bucket_take(struct ratelimit_bucket *b, int64_t now_ms, long rate,
                                             long burst, long n, long *retry_after_s);

/* --- the per-client table ---------------------------------------------------------------- */

/* How many clients' buckets are kept: RATELIMIT_STRIPES stripes (a lock each), of
 * RATELIMIT_SETS sets of RATELIMIT_WAYS buckets, 8,192 in all. A client's key hashes (with
 * a random seed) to one set. A flood of addresses never grows memory, and never earns
 * more than the table holds (ratelimit_set_take()). */
#define RATELIMIT_STRIPES 32
#define RATELIMIT_SETS 64
#define RATELIMIT_WAYS 4

/* One bucket of the table and the client it belongs to. */
struct ratelimit_slot {
    char key[CLIENT_KEY_MAX]; /* "" while unused */
    struct ratelimit_bucket b;
};

/* Take n tokens for client from the set (RATELIMIT_WAYS slots) its key hashes to, as
 * ratelimit_bucket_take(). A client not in the set takes an unused slot with a full bucket,
 * else the slot used least recently with the bucket as it stands (refilled up to now_ms):
 * a new or returning client is never more generous than the bucket it replaces, so
 * addresses that evict one another hand on one drained allowance instead of each starting
 * full. Hence the bound: a client rotating over any number of addresses gets at most
 * 8,192 * (burst + rate * t) events in t seconds, what the whole table holds and refills
 * (with M < 8,192 addresses, M buckets' worth, as M clients would). The price: a client
 * whose bucket a flood evicted comes back to what its set's oldest bucket holds, empty at
 * worst (then it may wait burst / rate seconds, longer while the flood evicts it again).
 * A pure function of the set and its arguments; the caller holds the set's lock. */
enum ratelimit_verdict ratelimit_set_take(struct ratelimit_slot *set, const char *client,
                                          int64_t now_ms, long rate, long burst, long n,
                                          long *retry_after_s);

typedef struct ratelimit ratelimit_t;

/* A table for rate tokens per second, bursts of burst (both >= 1). Returns NULL with err
 * filled when out of memory. */
ratelimit_t *ratelimit_new(long rate, long burst, struct app_err *err);

/* NULL is a no-op. */
void ratelimit_free(ratelimit_t *r);

/* Take n tokens from client's bucket, as ratelimit_set_take() on its set. Thread-safe;
 * callers contend only within a stripe. */
enum ratelimit_verdict ratelimit_take(ratelimit_t *r, const char *client, int64_t now_ms, long n,
                                      long *retry_after_s);

#endif
