/* backoff.h - capped exponential backoff with full jitter, and interruptible sleeps. */
#ifndef PROCESSOR_BACKOFF_H
#define PROCESSOR_BACKOFF_H

#include <stdatomic.h>
#include <stdint.h>

struct backoff {
    long base_ms;     /* the first ceiling, e.g. 100 */
    long cap_ms;      /* the largest ceiling, e.g. 30000 */
    unsigned attempt; /* failures so far */
    uint64_t rng;     /* xorshift state */
};

/* Start at attempt 0 with the given base and cap. */
void backoff_init(struct backoff *b, long base_ms, long cap_ms);

/* The next delay: uniform in [0, min(cap, base * 2^attempt)] ("full jitter"),
 * then count one more attempt. */
long backoff_next(struct backoff *b);

/* Back to attempt 0 after a success. */
void backoff_reset(struct backoff *b);

/* Sleep ms milliseconds in slices of at most 100 ms, returning early when
 * *stop becomes non-zero. Returns 1 when stopped early, else 0. */
int backoff_sleep(long ms, const atomic_int *stop);

#endif
