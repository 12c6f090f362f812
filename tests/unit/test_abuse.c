/* test_abuse.c - unit tests for ingest/abuse.c: SITE_IDS, the token bucket's arithmetic,
 * the client address and the per-client table. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "abuse.h"

static void
test_sites(void **state)
{
    static const struct {
        const char *site;
        int accepted;
    } cases[] = {
        {"site-abc-123", 1},  {"b", 1}, {"with space", 1}, {"zz", 1}, {"site-abc-12", 0},
        {"site-abc-1234", 0}, {"B", 0}, {"", 0},           {" b", 0}, {"with", 0},
    };
    struct app_err err = {0, ""};
    abuse_sites_t *s = abuse_sites_new("zz, site-abc-123,b ,\twith space", &err);

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (abuse_site_accepted(s, cases[i].site) != cases[i].accepted) {
            fail_msg("site \"%s\": expected %s", cases[i].site,
                     cases[i].accepted ? "accepted" : "refused");
        }
    }
    abuse_sites_free(s);
    abuse_sites_free(NULL);

    /* Empty, or blanks only: any site. */
    s = abuse_sites_new("  ", &err);
    assert_non_null(s);
    assert_true(abuse_site_accepted(s, "anything"));
    abuse_sites_free(s);
    assert_true(abuse_site_accepted(NULL, "anything"));
}

static void
test_sites_errors(void **state)
{
    char long_item[300], spec[320], why[256];
    static const struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        {"a,,b", "an empty item (two commas, or a comma at an end)"},
        {"a,", "an empty item (two commas, or a comma at an end)"},
        {",a", "an empty item (two commas, or a comma at an end)"},
        {"a, ,b", "an empty item (two commas, or a comma at an end)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct app_err err = {0, ""};
        assert_null(abuse_sites_new(cases[i].spec, &err));
        assert_int_equal(err.code, ERR_INVALID);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(abuse_check_sites(cases[i].spec, why, sizeof why), -1);
        assert_string_equal(why, cases[i].msg);
    }
    memset(long_item, 's', 256);
    long_item[256] = '\0';
    snprintf(spec, sizeof spec, "a,%s", long_item);
    assert_int_equal(abuse_check_sites(spec, why, sizeof why), 0); /* 256 bytes: the most */
    snprintf(spec, sizeof spec, "a,%ss", long_item);
    assert_int_equal(abuse_check_sites(spec, why, sizeof why), -1);
    assert_string_equal(why, "\"ssssssssssssssssssssssssssssssss...\" is longer than 256 bytes");
    assert_int_equal(abuse_check_sites("", why, sizeof why), 0);
}

/* One step of a bucket's life: at now_ms, take n; expect verdict, Retry-After, and the
 * thousandths of a token left. */
struct step {
    int64_t now_ms;
    long n;
    enum abuse_verdict verdict;
    long retry_after_s;
    int64_t milli_after;
};

static void
run_steps(long rate, long burst, const struct step *steps, size_t n_steps)
{
    struct abuse_bucket b;

    abuse_bucket_init(&b, burst, steps[0].now_ms);
    for (size_t i = 0; i < n_steps; i++) {
        long after = -1;
        enum abuse_verdict v =
            abuse_bucket_take(&b, steps[i].now_ms, rate, burst, steps[i].n, &after);
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
        {1000, 1, ABUSE_OK, 0, 4000},    {1000, 4, ABUSE_OK, 0, 0},
        {1000, 1, ABUSE_WAIT, 1, 0},     /* 200 ms to the next token: 1 s */
        {1199, 1, ABUSE_WAIT, 1, 995},   /* 199 ms refilled 995 thousandths */
        {1200, 1, ABUSE_OK, 0, 0},       /* one more ms: the whole token */
        {1200, 5, ABUSE_WAIT, 1, 0},     /* 1000 ms to 5 tokens: 1 s */
        {1201, 5, ABUSE_WAIT, 1, 5},     /* 999.something ms: rounded up, 1 s */
        {1400, 3, ABUSE_WAIT, 1, 1000},  /* 400 ms more for 2 more tokens */
        {1400, 6, ABUSE_NEVER, 0, 1000}, /* more than the burst: never, nothing taken */
        {1400, 1, ABUSE_OK, 0, 0},       /* */
        {99999, 5, ABUSE_OK, 0, 0},      /* a long idle: full, not more */
        {99999, 1, ABUSE_WAIT, 1, 0},    /* */
        {99000, 1, ABUSE_WAIT, 1, 0},    /* a time before the last counts as no time */
        {100198, 1, ABUSE_WAIT, 1, 995}, /* 199 ms from 99999 (from 99000: 6 tokens) */
        {100199, 1, ABUSE_OK, 0, 0},
    };
    /* 1 per second, burst 10: waits of several seconds. */
    static const struct step one[] = {
        {0, 10, ABUSE_OK, 0, 0},        {0, 3, ABUSE_WAIT, 3, 0},
        {1, 3, ABUSE_WAIT, 3, 1},                                       /* 2999 ms: 3 s */
        {1000, 3, ABUSE_WAIT, 2, 1000}, {2001, 3, ABUSE_WAIT, 1, 2001}, /* 999 ms: 1 s */
        {3000, 3, ABUSE_OK, 0, 0},      {3000, 10, ABUSE_WAIT, 10, 0},
        {3000, 11, ABUSE_NEVER, 0, 0},
    };
    /* A high rate: 1000 per second refills a whole token each millisecond. */
    static const struct step fast[] = {
        {5, 2, ABUSE_OK, 0, 0},       {5, 1, ABUSE_WAIT, 1, 0}, {6, 1, ABUSE_OK, 0, 0},
        {9, 1, ABUSE_OK, 0, 1000}, /* 3 ms refilled 3 tokens, capped at the burst, 2 */
        {1000000, 2, ABUSE_OK, 0, 0},
    };
    /* The largest values the configuration allows, idle for centuries: no overflow. */
    static const struct step huge[] = {
        {0, 1000000, ABUSE_OK, 0, 0},
        {INT64_MAX / 2, 1000000, ABUSE_OK, 0, 0},
        {INT64_MAX / 2, 1, ABUSE_WAIT, 1, 0},
    };

    (void)state;
    run_steps(5, 5, five, sizeof five / sizeof five[0]);
    run_steps(1, 10, one, sizeof one / sizeof one[0]);
    run_steps(1000, 2, fast, sizeof fast / sizeof fast[0]);
    run_steps(1000000, 1000000, huge, sizeof huge / sizeof huge[0]);
}

/* TRUST_PROXY=N: the client is the Nth X-Forwarded-For address from the right, the one
 * the outermost of the N trusted proxies saw (each appends the address it got the request
 * from); what lies to its left was written by the client. */
static void
test_client(void **state)
{
    static const struct {
        const char *remote;
        const char *xff; /* NULL: no header */
        int trust;
        int from_xff;
        const char *key;
    } cases[] = {
        {"127.0.0.1", NULL, 0, 0, "127.0.0.1"},
        {"127.0.0.1", NULL, 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7", 0, 0, "127.0.0.1"}, /* not trusted: ignored */
        {"127.0.0.1", "203.0.113.7", 1, 1, "203.0.113.7"},
        /* One proxy that appends: the client wrote what is left of the last address. */
        {"127.0.0.1", "1.2.3.4, 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "spoofed, 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 1, 1, "10.0.0.2"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 2, 1, "10.0.0.1"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 3, 1, "203.0.113.7"},
        /* Fewer addresses than trusted proxies: the request did not come through them
         * all, so any of its addresses may be the client's own: the connection's. */
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 4, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", " \t203.0.113.7 ,10.0.0.1", 2, 1, "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7,10.0.0.1 \t", 1, 1, "10.0.0.1"},
        {"127.0.0.1", "203.0.113.7:51234", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "2001:db8:1:2:3:4:5:6", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "2001:db8:1:2:ffff::1", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "[2001:db8:1:2::9]", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "[2001:db8:1:2::9]:443, 10.0.0.1", 2, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "10.0.0.1, [2001:db8:1:2::9]:443", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "::ffff:198.51.100.4", 1, 1, "198.51.100.4"},
        {"127.0.0.1", "2001:DB8::1", 1, 1, "2001:db8::/64"},
        /* The chosen item is not an address: the connection's, never another item. */
        {"127.0.0.1", "203.0.113.7, unknown", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7, unknown", 2, 1, "203.0.113.7"},
        {"127.0.0.1", "unknown, 203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", "", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7,", 1, 0, "127.0.0.1"},
        {"127.0.0.1", ", 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", ", 203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.300", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "[2001:db8::1", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "[2001:db8::1]x", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "2001:db8::1:80:x", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7 10.0.0.1", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "_hidden", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff",
         1, 0, "127.0.0.1"},
        /* The connection's own address, IPv6 and mapped. */
        {"::1", NULL, 0, 0, "::/64"},
        {"2001:db8:5:6::7", NULL, 0, 0, "2001:db8:5:6::/64"},
        {"::ffff:192.0.2.1", NULL, 0, 0, "192.0.2.1"},
        {"not-an-address", NULL, 0, 0, "not-an-address"},
        {"not-an-address", "203.0.113.7", 2, 0, "not-an-address"},
    };

    /* Several X-Forwarded-For headers are one list, in their order. */
    static const struct {
        const char *xff[3]; /* NULL-terminated */
        int trust;
        int from_xff;
        const char *key;
    } multi[] = {
        {{"1.2.3.4", "203.0.113.7", NULL}, 1, 1, "203.0.113.7"},
        {{"1.2.3.4", "203.0.113.7", NULL}, 2, 1, "1.2.3.4"},
        {{"1.2.3.4", "203.0.113.7", NULL}, 3, 0, "127.0.0.1"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 1, 1, "10.0.0.2"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 2, 1, "10.0.0.1"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 3, 1, "198.51.100.1"},
        {{"198.51.100.1", "", "10.0.0.2"}, 2, 0, "127.0.0.1"}, /* an empty header: an item */
        {{"198.51.100.1", "", "10.0.0.2"}, 3, 1, "198.51.100.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 4, 1, "198.51.100.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 6, 0, "127.0.0.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 16, 0, "127.0.0.1"},
    };
    char out[ABUSE_CLIENT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *xff[1] = {cases[i].xff};
        memset(out, '#', sizeof out);
        int from = abuse_client(cases[i].remote, xff, cases[i].xff != NULL, cases[i].trust, out,
                                sizeof out);
        if (from != cases[i].from_xff || strcmp(out, cases[i].key) != 0) {
            fail_msg("remote %s, X-Forwarded-For \"%s\", trust %d: %s (from xff %d)",
                     cases[i].remote, cases[i].xff ? cases[i].xff : "(none)", cases[i].trust, out,
                     from);
        }
    }
    for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
        size_t n = 0;
        while (n < 3 && multi[i].xff[n] != NULL) {
            n++;
        }
        memset(out, '#', sizeof out);
        int from = abuse_client("127.0.0.1", multi[i].xff, n, multi[i].trust, out, sizeof out);
        if (from != multi[i].from_xff || strcmp(out, multi[i].key) != 0) {
            fail_msg("headers case %zu, trust %d: %s (from xff %d), expected %s", i, multi[i].trust,
                     out, from, multi[i].key);
        }
    }
    /* An empty remote address still names one bucket, never an unused slot's "". */
    assert_int_equal(abuse_client("", NULL, 0, 0, out, sizeof out), 0);
    assert_string_equal(out, "?");
}

/* One step of a set's life: client takes n at now_ms; expect verdict and Retry-After. */
struct set_step {
    const char *client;
    int64_t now_ms;
    long n;
    enum abuse_verdict verdict;
    long retry_after_s;
};

/* A set of ABUSE_WAYS buckets, 1 token a second, bursts of 2: a new client takes an
 * unused bucket full, else the least recently used one as it stands. */
static void
test_set(void **state)
{
    static const struct set_step steps[] = {
        {"a", 0, 2, ABUSE_OK, 0}, /* four unused buckets: each starts full */
        {"b", 0, 2, ABUSE_OK, 0},       {"c", 0, 2, ABUSE_OK, 0},    {"d", 0, 2, ABUSE_OK, 0},
        {"e", 0, 1, ABUSE_WAIT, 1},    /* takes over a's drained bucket, not a full one */
        {"a", 0, 1, ABUSE_WAIT, 1},    /* a, evicted, comes back no better off */
        {"d", 500, 1, ABUSE_WAIT, 1},  /* d kept its bucket: half a token */
        {"d", 1000, 1, ABUSE_OK, 0},   /* */
        {"f", 1000, 1, ABUSE_OK, 0},   /* the oldest bucket (last used at 0) refilled 1 */
        {"g", 1000, 2, ABUSE_WAIT, 1}, /* the next oldest: 1 token, 2 wanted */
        {"h", 5000, 2, ABUSE_OK, 0},   /* idle long enough: full again, and no fuller */
        {"h", 5000, 1, ABUSE_WAIT, 1},  {"d", 5000, 2, ABUSE_OK, 0}, /* d, used at 1000, still there
                                                                      */
        {"i", 5000, 3, ABUSE_NEVER, 0},
    };
    struct abuse_slot set[ABUSE_WAYS];

    (void)state;
    memset(set, 0, sizeof set);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        long after = -1;
        enum abuse_verdict v =
            abuse_set_take(set, steps[i].client, steps[i].now_ms, 1, 2, steps[i].n, &after);
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
    abuse_rate_t *r = abuse_rate_new(2, 3, &err);
    long after;

    (void)state;
    assert_non_null(r);
    assert_int_equal(abuse_rate_take(r, "10.0.0.1", 0, 3, &after), ABUSE_OK);
    assert_int_equal(abuse_rate_take(r, "10.0.0.1", 0, 1, &after), ABUSE_WAIT);
    assert_int_equal(after, 1);
    assert_int_equal(abuse_rate_take(r, "10.0.0.2", 0, 3, &after), ABUSE_OK);
    assert_int_equal(abuse_rate_take(r, "10.0.0.1", 499, 1, &after), ABUSE_WAIT);
    assert_int_equal(abuse_rate_take(r, "10.0.0.1", 500, 1, &after), ABUSE_OK);
    assert_int_equal(abuse_rate_take(r, "10.0.0.2", 500, 2, &after), ABUSE_WAIT);
    assert_int_equal(abuse_rate_take(r, "10.0.0.3", 500, 4, &after), ABUSE_NEVER);
    assert_int_equal(after, 0);
    abuse_rate_free(r);
    abuse_rate_free(NULL);
}

/* A flood of new clients evicts buckets but never grows the table, and an evicted
 * bucket's allowance is handed on, not renewed: a new client starts with what the bucket
 * it takes over holds (refilled up to now), so a flood drains the table and is drained
 * with it. A client that keeps sending among a few others keeps its bucket. */
static void
test_table_flood(void **state)
{
    struct app_err err = {0, ""};
    abuse_rate_t *r = abuse_rate_new(1, 1, &err);
    size_t slots = (size_t)ABUSE_STRIPES * ABUSE_SETS * ABUSE_WAYS, ok = 0;
    long after;
    char key[ABUSE_CLIENT_MAX];

    (void)state;
    assert_non_null(r);
    assert_int_equal(abuse_rate_take(r, "victim", 0, 1, &after), ABUSE_OK);
    assert_int_equal(abuse_rate_take(r, "victim", 1, 1, &after), ABUSE_WAIT);
    /* Ten times the table's size of one-time clients, all at the same instant: only the
     * buckets never used before were full. */
    for (size_t i = 0; i < 10 * slots; i++) {
        snprintf(key, sizeof key, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ok += abuse_rate_take(r, key, 2, 1, &after) == ABUSE_OK;
    }
    if (ok > slots - 1) {
        fail_msg("%zu of %zu one-time clients passed at one instant: more than the %zu "
                 "buckets never used before (the victim's was drained)",
                 ok, 10 * slots, slots - 1);
    }
    /* The victim's bucket was evicted; it comes back to a drained one. */
    assert_int_equal(abuse_rate_take(r, "victim", 3, 1, &after), ABUSE_WAIT);
    assert_int_equal(after, 1);
    /* A few clients fit: each keeps its own state. */
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < 8; c++) {
            snprintf(key, sizeof key, "192.0.2.%d", c);
            assert_int_equal(abuse_rate_take(r, key, 10000 + round, 1, &after),
                             round == 0 ? ABUSE_OK : ABUSE_WAIT);
        }
    }
    abuse_rate_free(r);
}

/* The bound: a client rotating over any number of addresses gets at most what the table's
 * buckets hold and refill: ABUSE_STRIPES * ABUSE_SETS * ABUSE_WAYS * (burst + rate * t)
 * events in t seconds, however many addresses it uses. */
static void
test_table_rotation_bound(void **state)
{
    const long rate = 2, burst = 3;
    struct app_err err = {0, ""};
    abuse_rate_t *r = abuse_rate_new(rate, burst, &err);
    size_t slots = (size_t)ABUSE_STRIPES * ABUSE_SETS * ABUSE_WAYS, ok = 0, sent = 0;
    long after;
    char key[ABUSE_CLIENT_MAX];

    (void)state;
    assert_non_null(r);
    /* 20 seconds, 4 * slots new addresses a second, each sending one event. */
    for (int64_t t = 0; t < 20000; t += 1000) {
        for (size_t i = 0; i < 4 * slots; i++, sent++) {
            snprintf(key, sizeof key, "%zu.%zu.%zu.%zu", (sent >> 24) & 255, (sent >> 16) & 255,
                     (sent >> 8) & 255, sent & 255);
            ok += abuse_rate_take(r, key, t + (int64_t)(i % 1000), 1, &after) == ABUSE_OK;
        }
        size_t bound = slots * (size_t)(burst + rate * (t / 1000 + 1));
        if (ok > bound) {
            fail_msg("after %lld s, %zu of %zu events from rotating addresses passed: more "
                     "than the bound %zu",
                     (long long)(t / 1000 + 1), ok, sent, bound);
        }
    }
    abuse_rate_free(r);
}

struct taker {
    abuse_rate_t *r;
    int ok;
};

static void *
take_many(void *arg)
{
    struct taker *t = arg;
    char key[ABUSE_CLIENT_MAX];
    long after;

    for (int i = 0; i < 2000; i++) {
        /* One shared client, and 64 others spread over the stripes: few enough that the
         * shared client's set (4 slots) all but never holds 4 others. With 2,000 others, a
         * random seed that put 4 of them in its set had them evict it (the clock stands
         * still here, so "least recently used" cannot tell the slots apart), and its bucket
         * started again full: the count came out 15,349 once. */
        t->ok += abuse_rate_take(t->r, "shared", 0, 1, &after) == ABUSE_OK;
        snprintf(key, sizeof key, "10.0.0.%d", i % 64);
        abuse_rate_take(t->r, key, 0, 1, &after);
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
    t[0].r = abuse_rate_new(1, 3000, &err);
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
    abuse_rate_free(t[0].r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sites),         cmocka_unit_test(test_sites_errors),
        cmocka_unit_test(test_bucket),        cmocka_unit_test(test_client),
        cmocka_unit_test(test_set),           cmocka_unit_test(test_table_per_client),
        cmocka_unit_test(test_table_flood),   cmocka_unit_test(test_table_rotation_bound),
        cmocka_unit_test(test_table_threads),
    };

    return cmocka_run_group_tests_name("abuse: SITE_IDS, RATE_LIMIT, client addresses", tests, NULL,
                                       NULL);
}
