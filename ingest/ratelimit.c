/* ratelimit.c - RATE_LIMIT: a token bucket per client, in a striped table of fixed size. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hash.h"

/* --- the token bucket ------------------------------------------------------------------ */

void
ratelimit_bucket_init(struct ratelimit_bucket *b, long burst, int64_t now_ms)
{
    b->milli = (int64_t)burst * 1000;
    b->last_ms = now_ms;
}

enum ratelimit_verdict
ratelimit_bucket_take(struct ratelimit_bucket *b, int64_t now_ms, long rate, long burst, long n,
                      long *retry_after_s)
{
    int64_t cap = (int64_t)burst * 1000, need = (int64_t)n * 1000;

    if (b->milli > cap) {
        b->milli = cap;
    }
    if (now_ms > b->last_ms) {
        int64_t elapsed = now_ms - b->last_ms, room = cap - b->milli;
        /* Compared before multiplying: a bucket idle for years must not overflow. */
        b->milli = elapsed >= (room + rate - 1) / rate ? cap : b->milli + elapsed * rate;
        b->last_ms = now_ms;
    }
    *retry_after_s = 0;
    if (n > burst) {
        return RATELIMIT_NEVER;
    }
    if (b->milli >= need) {
        b->milli -= need;
        return RATELIMIT_OK;
    }
    int64_t wait_ms = (need - b->milli + rate - 1) / rate;
    *retry_after_s = (long)((wait_ms + 999) / 1000);
    return RATELIMIT_WAIT;
}

/* --- the per-client table ---------------------------------------------------------------- */

struct stripe {
    pthread_mutex_t lock;
    struct ratelimit_slot sets[RATELIMIT_SETS][RATELIMIT_WAYS];
};

struct ratelimit {
    long rate, burst;
    uint64_t seed;
    struct stripe stripes[RATELIMIT_STRIPES];
};

ratelimit_t *
ratelimit_new(long rate, long burst, struct app_err *err)
{
    ratelimit_t *r = calloc(1, sizeof *r);

    if (r == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r->rate = rate;
    r->burst = burst;
    /* A seed the clients cannot guess, so that they cannot pick addresses that share a
     * set; without randomness the hash still spreads, only predictably. */
    if (getrandom(&r->seed, sizeof r->seed, GRND_NONBLOCK) != (ssize_t)sizeof r->seed) {
        r->seed = (uint64_t)time(NULL);
    }
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
        pthread_mutex_init(&r->stripes[i].lock, NULL);
    }
    return r;
}

void
ratelimit_free(ratelimit_t *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < RATELIMIT_STRIPES; i++) {
        pthread_mutex_destroy(&r->stripes[i].lock);
    }
    free(r);
}

/* FNV-1a, started from the seed. */
static uint64_t
hash(uint64_t seed, const char *s)
{
    return hash_fnv1a(HASH_FNV1A_BASIS ^ seed, s, strlen(s));
}

enum ratelimit_verdict
ratelimit_set_take(struct ratelimit_slot *set, const char *client, int64_t now_ms, long rate,
                   long burst, long n, long *retry_after_s)
{
    struct ratelimit_slot *s = NULL;

    for (size_t i = 0; i < RATELIMIT_WAYS && s == NULL; i++) {
        if (set[i].key[0] != '\0' && strcmp(set[i].key, client) == 0) {
            s = &set[i];
        }
    }
    if (s == NULL) {
        s = &set[0]; /* an unused slot, else the one used least recently */
        for (size_t i = 1; i < RATELIMIT_WAYS && s->key[0] != '\0'; i++) {
            if (set[i].key[0] == '\0' || set[i].b.last_ms < s->b.last_ms) {
                s = &set[i];
            }
        }
        if (s->key[0] == '\0') {
            ratelimit_bucket_init(&s->b, burst, now_ms);
        }
        /* else the bucket is handed on as it stands: ratelimit_bucket_take() refills it for
         * the time since it was last used, up to burst, and no further. */
        snprintf(s->key, sizeof s->key, "%s", client);
    }
    return ratelimit_bucket_take(&s->b, now_ms, rate, burst, n, retry_after_s);
}

enum ratelimit_verdict
ratelimit_take(ratelimit_t *r, const char *client, int64_t now_ms, long n, long *retry_after_s)
{
    uint64_t h = hash(r->seed, client);
    struct stripe *st = &r->stripes[h % RATELIMIT_STRIPES];
    enum ratelimit_verdict v;

    pthread_mutex_lock(&st->lock);
    v = ratelimit_set_take(st->sets[(h / RATELIMIT_STRIPES) % RATELIMIT_SETS], client, now_ms,
                           r->rate, r->burst, n, retry_after_s);
    pthread_mutex_unlock(&st->lock);
    return v;
}
