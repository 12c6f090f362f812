/* backoff.c - capped exponential backoff with full jitter, and interruptible sleeps. */
#include "backoff.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"

void
backoff_init(struct backoff *b, long base_ms, long cap_ms)
{
    b->base_ms = base_ms > 0 ? base_ms : 1;
    b->cap_ms = cap_ms >= b->base_ms ? cap_ms : b->base_ms;
    b->attempt = 0;
    b->rng = ((uint64_t)ts_mono_ns() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)b;
    if (b->rng == 0) {
        b->rng = 0x9e3779b97f4a7c15ULL;
    }
}

void
backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}

long
backoff_next(struct backoff *b)
{
    long ceiling = b->base_ms;

    for (unsigned i = 0; i < b->attempt && ceiling < b->cap_ms; i++) {
        ceiling = ceiling > b->cap_ms / 2 ? b->cap_ms : ceiling * 2;
    }
    if (ceiling > b->cap_ms) {
        ceiling = b->cap_ms;
    }
    b->attempt++;
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return (long)(b->rng % ((uint64_t)ceiling + 1));
}

int
backoff_sleep(long ms, const atomic_int *stop)
{
    while (ms > 0) {
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        if (stop != NULL && atomic_load(stop)) {
            return 1;
        }
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return stop != NULL && atomic_load(stop) ? 1 : 0;
}
