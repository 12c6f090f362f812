/* test_ratelimit.c - unit tests for ingest/ratelimit.c: the token bucket's arithmetic and the
 * per-client table. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

/* One step of a bucket's life: at now_ms, take n; expect verdict, Retry-After, and the
 * thousandths of a token left. */
struct step {
    int64_t now_ms;
    long n;
    enum ratelimit_verdict verdict;
    long retry_after_s;
    int64_t milli_after;
};

static void
run_steps(long rate, long burst, const struct step *steps, size_t n_steps)
{
    struct ratelimit_bucket b;

    ratelimit_bucket_init(&b, burst, steps[0].now_ms);
    for (size_t i = 0; i < n_steps; i++) {
        long after = -1;
        enum ratelimit_verdict v =
            ratelimit_bucket_take(&b, steps[i].now_ms, rate, burst, steps[i].n, &after);
        if (v != steps[i].verdict || after != steps[i].retry_after_s ||
            b.milli != steps[i].milli_after) {
            fail_msg("rate %ld burst %ld, step %zu (t=%lld, n=%ld): verdict %d retry %ld "
                     "milli %lld; expected %d %ld %lld",
                     rate, burst, i, (long long)steps[i].now_ms, steps[i].n, (int)v, after,
                     (long long)b.milli, (int)steps[i].verdict, steps[i].retry_after_s,
                     (long long)steps[i].milli_after);
        }
    }
}

static void
test_bucket(void **state)
{
    /* 5 per second, burst 5: 1 token every 200 ms. */
    static const struct step five[] = {
        {1000, 1, RATELIMIT_OK, 0, 4000},    {1000, 4, RATELIMIT_OK, 0, 0},
        {1000, 1, RATELIMIT_WAIT, 1, 0},     /* 200 ms to the next token: 1 s */
        {1199, 1, RATELIMIT_WAIT, 1, 995},   /* 199 ms refilled 995 thousandths */
        {1200, 1, RATELIMIT_OK, 0, 0},       /* one more ms: the whole token */
        {1200, 5, RATELIMIT_WAIT, 1, 0},     /* 1000 ms to 5 tokens: 1 s */
        {1201, 5, RATELIMIT_WAIT, 1, 5},     /* 999.something ms: rounded up, 1 s */
        {1400, 3, RATELIMIT_WAIT, 1, 1000},  /* 400 ms more for 2 more tokens */
        {1400, 6, RATELIMIT_NEVER, 0, 1000}, /* more than the burst: never, nothing taken */
        {1400, 1, RATELIMIT_OK, 0, 0},       /* */
        {99999, 5, RATELIMIT_OK, 0, 0},      /* a long idle: full, not more */
        {99999, 1, RATELIMIT_WAIT, 1, 0},    /* */
        {99000, 1, RATELIMIT_WAIT, 1, 0},    /* a time before the last counts as no time */
        {100198, 1, RATELIMIT_WAIT, 1, 995}, /* 199 ms from 99999 (from 99000: 6 tokens) */
        {100199, 1, RATELIMIT_OK, 0, 0},
    };
    /* 1 per second, burst 10: waits of several seconds. */
    static const struct step one[] = {
        {0, 10, RATELIMIT_OK, 0, 0},        {0, 3, RATELIMIT_WAIT, 3, 0},
        {1, 3, RATELIMIT_WAIT, 3, 1},                                           /* 2999 ms: 3 s */
        {1000, 3, RATELIMIT_WAIT, 2, 1000}, {2001, 3, RATELIMIT_WAIT, 1, 2001}, /* 999 ms: 1 s */
        {3000, 3, RATELIMIT_OK, 0, 0},      {3000, 10, RATELIMIT_WAIT, 10, 0},
        {3000, 11, RATELIMIT_NEVER, 0, 0},
    };
    /* A high rate: 1000 per second refills a whole token each millisecond. */
    static const struct step fast[] = {
        {5, 2, RATELIMIT_OK, 0, 0},       {5, 1, RATELIMIT_WAIT, 1, 0}, {6, 1, RATELIMIT_OK, 0, 0},
        {9, 1, RATELIMIT_OK, 0, 1000}, /* 3 ms refilled 3 tokens, capped at the burst, 2 */
        {1000000, 2, RATELIMIT_OK, 0, 0},
    };
    /* The largest values the configuration allows, idle for centuries: no overflow. */
    static const struct step huge[] = {
        {0, 1000000, RATELIMIT_OK, 0, 0},
        {INT64_MAX / 2, 1000000, RATELIMIT_OK, 0, 0},
        {INT64_MAX / 2, 1, RATELIMIT_WAIT, 1, 0},
    };

    (void)state;
    run_steps(5, 5, five, sizeof five / sizeof five[0]);
    run_steps(1, 10, one, sizeof one / sizeof one[0]);
    run_steps(1000, 2, fast, sizeof fast / sizeof fast[0]);
    run_steps(1000000, 1000000, huge, sizeof huge / sizeof huge[0]);
}

/* One step of a set's life: client takes n at now_ms; expect verdict and Retry-After. */
struct set_step {
    const char *client;
    int64_t now_ms;
    long n;
    enum ratelimit_verdict verdict;
    long retry_after_s;
};

/* A set of RATELIMIT_WAYS buckets, 1 token a second, bursts of 2: a new client takes an
 * unused bucket full, else the least recently used one as it stands. */
static void
test_set(void **state)
{
    static const struct set_step steps[] = {
        {"a", 0, 2, RATELIMIT_OK, 0}, /* four unused buckets: each starts full */
        {"b", 0, 2, RATELIMIT_OK, 0},
        {"c", 0, 2, RATELIMIT_OK, 0},
        {"d", 0, 2, RATELIMIT_OK, 0},
        {"e", 0, 1, RATELIMIT_WAIT, 1},    /* takes over a's drained bucket, not a full one */
        {"a", 0, 1, RATELIMIT_WAIT, 1},    /* a, evicted, comes back no better off */
        {"d", 500, 1, RATELIMIT_WAIT, 1},  /* d kept its bucket: half a token */
        {"d", 1000, 1, RATELIMIT_OK, 0},   /* */
        {"f", 1000, 1, RATELIMIT_OK, 0},   /* the oldest bucket (last used at 0) refilled 1 */
        {"g", 1000, 2, RATELIMIT_WAIT, 1}, /* the next oldest: 1 token, 2 wanted */
        {"h", 5000, 2, RATELIMIT_OK, 0},   /* idle long enough: full again, and no fuller */
        {"h", 5000, 1, RATELIMIT_WAIT, 1},
        {"d", 5000, 2, RATELIMIT_OK, 0}, /* d, used at 1000, still there */
        {"i", 5000, 3, RATELIMIT_NEVER, 0},
    };
    struct ratelimit_slot set[RATELIMIT_WAYS];

    (void)state;
    memset(set, 0, sizeof set);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        long after = -1;
        enum ratelimit_verdict v =
            ratelimit_set_take(set, steps[i].client, steps[i].now_ms, 1, 2, steps[i].n, &after);
        if (v != steps[i].verdict || after != steps[i].retry_after_s) {
            fail_msg("step %zu (%s at %lld takes %ld): verdict %d retry %ld; expected %d %ld", i,
                     steps[i].client, (long long)steps[i].now_ms, steps[i].n, (int)v, after,
                     (int)steps[i].verdict, steps[i].retry_after_s);
        }
    }
}

/* The table keeps one bucket per client, apart from the others. */
static void
test_table_per_client(void **state)
{
    struct app_err err = {0, ""};
    ratelimit_t *r = ratelimit_new(2, 3, &err);
    long after;

    (void)state;
    assert_non_null(r);
    assert_int_equal(ratelimit_take(r, "10.0.0.1", 0, 3, &after), RATELIMIT_OK);
    assert_int_equal(ratelimit_take(r, "10.0.0.1", 0, 1, &after), RATELIMIT_WAIT);
    assert_int_equal(after, 1);
    assert_int_equal(ratelimit_take(r, "10.0.0.2", 0, 3, &after), RATELIMIT_OK);
    assert_int_equal(ratelimit_take(r, "10.0.0.1", 499, 1, &after), RATELIMIT_WAIT);
    assert_int_equal(ratelimit_take(r, "10.0.0.1", 500, 1, &after), RATELIMIT_OK);
    assert_int_equal(ratelimit_take(r, "10.0.0.2", 500, 2, &after), RATELIMIT_WAIT);
    assert_int_equal(ratelimit_take(r, "10.0.0.3", 500, 4, &after), RATELIMIT_NEVER);
    assert_int_equal(after, 0);
    ratelimit_free(r);
    ratelimit_free(NULL);
}

/* A flood of new clients evicts buckets but never grows the table, and an evicted
 * bucket's allowance is handed on, not renewed: a new client starts with what the bucket
 * it takes over holds (refilled up to now), so a flood drains the table and is drained
 * with it. A client that keeps sending among a few others keeps its bucket. */
static void
test_table_flood(void **state)
{
    struct app_err err = {0, ""};
    ratelimit_t *r = ratelimit_new(1, 1, &err);
    size_t slots = (size_t)RATELIMIT_STRIPES * RATELIMIT_SETS * RATELIMIT_WAYS, ok = 0;
    long after;
    char key[CLIENT_KEY_MAX];

    (void)state;
    assert_non_null(r);
    assert_int_equal(ratelimit_take(r, "victim", 0, 1, &after), RATELIMIT_OK);
    assert_int_equal(ratelimit_take(r, "victim", 1, 1, &after), RATELIMIT_WAIT);
    /* Ten times the table's size of one-time clients, all at the same instant: only the
     * buckets never used before were full. */
    for (size_t i = 0; i < 10 * slots; i++) {
        snprintf(key, sizeof key, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ok += ratelimit_take(r, key, 2, 1, &after) == RATELIMIT_OK;
    }
    if (ok > slots - 1) {
        fail_msg("%zu of %zu one-time clients passed at one instant: more than the %zu "
                 "buckets never used before (the victim's was drained)",
                 ok, 10 * slots, slots - 1);
    }
    /* The victim's bucket was evicted; it comes back to a drained one. */
    assert_int_equal(ratelimit_take(r, "victim", 3, 1, &after), RATELIMIT_WAIT);
    assert_int_equal(after, 1);
    /* A few clients fit: each keeps its own state. */
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < 8; c++) {
            snprintf(key, sizeof key, "192.0.2.%d", c);
            assert_int_equal(ratelimit_take(r, key, 10000 + round, 1, &after),
                             round == 0 ? RATELIMIT_OK : RATELIMIT_WAIT);
        }
    }
    ratelimit_free(r);
}

/* The bound: a client rotating over any number of addresses gets at most what the table's
 * buckets hold and refill: RATELIMIT_STRIPES * RATELIMIT_SETS * RATELIMIT_WAYS * (burst + rate * t)
 * events in t seconds, however many addresses it uses. */
static void
test_table_rotation_bound(void **state)
{
    const long rate = 2, burst = 3;
    struct app_err err = {0, ""};
    ratelimit_t *r = ratelimit_new(rate, burst, &err);
    size_t slots = (size_t)RATELIMIT_STRIPES * RATELIMIT_SETS * RATELIMIT_WAYS, ok = 0, sent = 0;
    long after;
    char key[CLIENT_KEY_MAX];

    (void)state;
    assert_non_null(r);
    /* 20 seconds, 4 * slots new addresses a second, each sending one event. */
    for (int64_t t = 0; t < 20000; t += 1000) {
        for (size_t i = 0; i < 4 * slots; i++, sent++) {
            snprintf(key, sizeof key, "%zu.%zu.%zu.%zu", (sent >> 24) & 255, (sent >> 16) & 255,
                     (sent >> 8) & 255, sent & 255);
            ok += ratelimit_take(r, key, t + (int64_t)(i % 1000), 1, &after) == RATELIMIT_OK;
        }
        size_t bound = slots * (size_t)(burst + rate * (t / 1000 + 1));
        if (ok > bound) {
            fail_msg("after %lld s, %zu of %zu events from rotating addresses passed: more "
                     "than the bound %zu",
                     (long long)(t / 1000 + 1), ok, sent, bound);
        }
    }
    ratelimit_free(r);
}

struct taker {
    ratelimit_t *r;
    int ok;
};

static void *
take_many(void *arg)
{
    struct taker *t = arg;
    char key[CLIENT_KEY_MAX];
    long after;

    for (int i = 0; i < 2000; i++) {
        /* One shared client, and 64 others spread over the stripes: few enough that the
         * shared client's set (4 slots) all but never holds 4 others. With 2,000 others, a
         * random seed that put 4 of them in its set had them evict it (the clock stands
         * still here, so "least recently used" cannot tell the slots apart), and its bucket
         * started again full: the count came out 15,349 once. */
        t->ok += ratelimit_take(t->r, "shared", 0, 1, &after) == RATELIMIT_OK;
        snprintf(key, sizeof key, "10.0.0.%d", i % 64);
        ratelimit_take(t->r, key, 0, 1, &after);
    }
    return NULL;
}

/* Threads taking at once from one bucket take exactly what it holds: no update lost. */
static void
test_table_threads(void **state)
{
    struct app_err err = {0, ""};
    struct taker t[8];
    pthread_t th[8];
    int total = 0;

    (void)state;
    t[0].r = ratelimit_new(1, 3000, &err);
    assert_non_null(t[0].r);
    for (int i = 0; i < 8; i++) {
        t[i].r = t[0].r;
        t[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += t[i].ok;
    }
    assert_int_equal(total, 3000);
    ratelimit_free(t[0].r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_table_per_client),
        cmocka_unit_test(test_table_flood),
        cmocka_unit_test(test_table_rotation_bound),
        cmocka_unit_test(test_table_threads),
    };

    return cmocka_run_group_tests_name("ratelimit: RATE_LIMIT's buckets and table", tests, NULL,
                                       NULL);
}
