/* test_qshard.c - unit tests for common/qshard.c (the shard of a visitor, the names of a
 * shard) and ingest/shards.c's choice of visitor, and processor/qset.c's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "hash.h"
#include "qset.h"
#include "qshard.h"
#include "shards.h"

/* The function is fixed (qshard.h): FNV-1a 64 of site, NUL, visitor, mod k. These values
 * were computed independently (Python) and must never change: a change would move
 * visitors between shards under a running system. */
static void
test_pick_vectors(void **state)
{
    static const struct {
        const char *site, *visitor;
        uint64_t hash;
        unsigned k1, k2, k3, k4, k8, k256;
    } t[] = {
        {"site-a", "user-1", 0x3083e8f348a723e9ULL, 0, 1, 0, 1, 1, 233},
        {"site-a", "user-2", 0x3083e5f348a71ed0ULL, 0, 0, 0, 0, 0, 208},
        {"demo", "0195a3b0-7c1e-7000-8000-000000000000", 0x621bffa56c5266eaULL, 0, 0, 0, 2, 2, 234},
        {"s", "", 0x08d90e07b578eac6ULL, 0, 0, 1, 2, 6, 198},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *s = t[i].site, *v = t[i].visitor;
        uint64_t h =
            hash_fnv1a(hash_fnv1a(hash_fnv1a(HASH_FNV1A_BASIS, s, strlen(s)), "", 1), v, strlen(v));
        assert_true(h == t[i].hash);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 1), t[i].k1);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 2), t[i].k2);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 3), t[i].k3);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 4), t[i].k4);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 8), t[i].k8);
        assert_int_equal(qshard_pick(s, strlen(s), v, strlen(v), 256), t[i].k256);
    }
}

/* The NUL separates site and visitor: "ab"+"c" and "a"+"bc" are different visitors. */
static void
test_pick_separates_site_and_visitor(void **state)
{
    int differ = 0;

    (void)state;
    for (unsigned k = 2; k <= 64; k++) {
        differ |= qshard_pick("ab", 2, "c", 1, k) != qshard_pick("a", 1, "bc", 2, k);
    }
    assert_true(differ);
}

/* 4,000 visitors of one site spread over 4 shards within 10 % of a quarter each. */
static void
test_pick_spreads(void **state)
{
    unsigned n[4] = {0, 0, 0, 0};
    char v[32];

    (void)state;
    for (int i = 0; i < 4000; i++) {
        snprintf(v, sizeof v, "user-%d", i);
        n[qshard_pick("site", 4, v, strlen(v), 4)]++;
    }
    for (int i = 0; i < 4; i++) {
        assert_in_range(n[i], 900, 1100);
    }
}

static void
test_names(void **state)
{
    char *n;

    (void)state;
    n = qshard_name("events", 1, 0); /* one shard: today's name */
    assert_string_equal(n, "events");
    free(n);
    n = qshard_name("events", 4, 3);
    assert_string_equal(n, "{events:3}");
    free(n);
    n = qshard_name("q", 256, 255);
    assert_string_equal(n, "{q:255}");
    free(n);
    assert_null(qshard_check("events", 4));
    assert_null(qshard_check("{events}", 1));
    assert_non_null(qshard_check("{events}", 2));
    assert_non_null(qshard_check("ev}nts", 2));
    /* On a cluster one shard keeps QUEUE_KEY's names: it needs a hash tag of its own. */
    assert_null(qshard_check_cluster("{events}", 1));
    assert_null(qshard_check_cluster("app:{events}:q", 1));
    assert_null(qshard_check_cluster("events", 4)); /* {events:i} */
    assert_non_null(qshard_check_cluster("events", 1));
    assert_non_null(qshard_check_cluster("{}events", 1)); /* empty: the whole key is hashed */
    assert_non_null(qshard_check_cluster("ev}{ents", 1));
}

/* Every key of shard i carries the shard's hash tag; one shard keeps today's names. */
static void
test_queue_set_keys(void **state)
{
    struct queue_set one, four;

    (void)state;
    assert_int_equal(queue_set_init(&one, "events", 1, "h:1:a"), 0);
    assert_int_equal(one.n, 1);
    assert_string_equal(queue_name(one.q[0], QUEUE_PENDING), "events");
    assert_string_equal(queue_name(one.q[0], QUEUE_PROCESSING), "events:processing:h:1:a");
    assert_string_equal(queue_name(one.q[0], QUEUE_HEARTBEAT), "events:heartbeat:h:1:a");
    assert_string_equal(queue_name(one.q[0], QUEUE_CONSUMERS), "events:consumers");
    assert_string_equal(queue_name(one.q[0], QUEUE_DEAD), "events:dead");
    queue_set_free(&one);
    assert_int_equal(queue_set_init(&four, "events", 4, "h:1:a"), 0);
    assert_int_equal(four.n, 4);
    assert_string_equal(queue_name(four.q[3], QUEUE_PENDING), "{events:3}");
    assert_string_equal(queue_name(four.q[3], QUEUE_PROCESSING), "{events:3}:processing:h:1:a");
    assert_string_equal(queue_name(four.q[3], QUEUE_HEARTBEAT), "{events:3}:heartbeat:h:1:a");
    assert_string_equal(queue_name(four.q[3], QUEUE_CONSUMERS), "{events:3}:consumers");
    assert_string_equal(queue_name(four.q[0], QUEUE_DEAD), "{events:0}:dead");
    queue_set_free(&four);
    queue_set_free(&four); /* emptied: a second free is a no-op */
}

/* The visitor is the user_id when not empty, else the event's _id. */
static void
test_visitor_of_event(void **state)
{
    struct event ev;

    (void)state;
    memset(&ev, 0, sizeof ev);
    ev.site_id = "site-a";
    snprintf(ev.id, sizeof ev.id, "%s", "0195a3b0-7c1e-7000-8000-000000000000");
    ev.user_id = "user-1";
    assert_int_equal(shards_of_event(&ev, 256), 233);
    ev.user_id = "";
    assert_int_equal(shards_of_event(&ev, 256),
                     qshard_pick("site-a", 6, ev.id, strlen(ev.id), 256));
    ev.user_id = NULL;
    assert_int_equal(shards_of_event(&ev, 256),
                     qshard_pick("site-a", 6, ev.id, strlen(ev.id), 256));
    assert_int_equal(shards_of_event(&ev, 1), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_vectors),
        cmocka_unit_test(test_pick_separates_site_and_visitor),
        cmocka_unit_test(test_pick_spreads),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_queue_set_keys),
        cmocka_unit_test(test_visitor_of_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
