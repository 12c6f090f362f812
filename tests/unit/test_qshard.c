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
#include "rcluster.h"
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

/* Names: K = 1 keeps QUEUE_KEY; K > 1 gives "{<QUEUE_KEY>:<i>/<K>~<n>}" with the first n
 * whose tag's slot lies in the middle half of the i-th of K equal slot ranges. The table's
 * names were computed once and must never change (a change would strand queued events); the
 * slots are CRC16 of the tag (common/rcluster.h's, which CLUSTER KEYSLOT agrees with:
 * tests/it/it_rcluster.sh). */
static void
test_names(void **state)
{
    static const struct {
        const char *key;
        unsigned k, i;
        const char *name;
        unsigned slot, lo, hi;
    } t[] = {
        {"events", 1, 0, "events", 0, 0, 0},
        {"events", 2, 0, "{events:0/2~3}", 5875, 2048, 6144},
        {"events", 2, 1, "{events:1/2~2}", 11395, 10240, 14336},
        {"events", 3, 0, "{events:0/3~13}", 3677, 1365, 4095},
        {"events", 3, 1, "{events:1/3~2}", 7091, 6827, 9557},
        {"events", 3, 2, "{events:2/3~2}", 13665, 12288, 15018},
        {"events", 4, 0, "{events:0/4~1}", 1041, 1024, 3072},
        {"events", 4, 1, "{events:1/4~13}", 6864, 5120, 7168},
        {"events", 4, 2, "{events:2/4~10}", 9299, 9216, 11264},
        {"events", 4, 3, "{events:3/4~0}", 15074, 13312, 15360},
        {"events", 8, 0, "{events:0/8~23}", 1297, 512, 1536},
        {"events", 8, 1, "{events:1/8~0}", 2816, 2560, 3584},
        {"events", 8, 5, "{events:5/8~43}", 11446, 10752, 11776},
        {"events", 8, 7, "{events:7/8~20}", 15667, 14848, 15872},
        {"events", 256, 0, "{events:0/256~742}", 39, 16, 48},
        {"events", 256, 253, "{events:253/256~396}", 16228, 16208, 16240},
        {"events", 256, 255, "{events:255/256~435}", 16340, 16336, 16368},
        {"q", 256, 255, "{q:255/256~169}", 16349, 16336, 16368},
    };
    char *n;

    (void)state;
    for (size_t j = 0; j < sizeof t / sizeof t[0]; j++) {
        unsigned lo, hi;
        n = qshard_name(t[j].key, t[j].k, t[j].i);
        assert_non_null(n);
        assert_string_equal(n, t[j].name);
        if (t[j].k > 1) {
            /* the tag is the name without its braces */
            assert_int_equal(rcluster_crc16(n + 1, strlen(n) - 2) % RCLUSTER_SLOTS, t[j].slot);
            assert_int_equal(rcluster_key_slot(n, strlen(n)), t[j].slot);
            qshard_window(t[j].k, t[j].i, &lo, &hi);
            assert_int_equal(lo, t[j].lo);
            assert_int_equal(hi, t[j].hi);
            assert_in_range(t[j].slot, lo, hi - 1);
        }
        free(n);
    }
    assert_null(qshard_check("events", 4));
    assert_null(qshard_check("{events}", 1));
    assert_non_null(qshard_check("{events}", 2));
    assert_non_null(qshard_check("ev}nts", 2));
    /* On a cluster one shard keeps QUEUE_KEY's names: it needs a hash tag of its own. */
    assert_null(qshard_check_cluster("{events}", 1));
    assert_null(qshard_check_cluster("app:{events}:q", 1));
    assert_null(qshard_check_cluster("events", 4)); /* {events:i/4~n} */
    assert_non_null(qshard_check_cluster("events", 1));
    assert_non_null(qshard_check_cluster("{}events", 1)); /* empty: the whole key is hashed */
    assert_non_null(qshard_check_cluster("ev}{ents", 1));
}

/* For K = 2, 3, 4, 8 and 256 (and a few other queue keys): every name of K has its slot in
 * its own window (the windows are disjoint, so the names are distinct and the K shards
 * spread evenly over the slot space), names of different K differ, and a second call gives
 * the same name. */
static void
test_names_spread(void **state)
{
    static const unsigned ks[] = {2, 3, 4, 6, 8, 256};
    static const char *const keys[] = {"events", "q", "app:events:v2"};
    char *seen[2 + 3 + 4 + 6 + 8 + 256];

    (void)state;
    for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++) {
        size_t m = 0;
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            unsigned k = ks[j], prev_hi = 0;
            for (unsigned i = 0; i < k; i++) {
                unsigned lo, hi, slot;
                char *n = qshard_name(keys[q], k, i), *again = qshard_name(keys[q], k, i);
                assert_non_null(n);
                assert_non_null(again);
                assert_string_equal(n, again);
                free(again);
                qshard_window(k, i, &lo, &hi);
                assert_true(lo >= prev_hi && lo < hi && hi <= RCLUSTER_SLOTS);
                /* the middle half of [i * 16384 / k, (i + 1) * 16384 / k) */
                assert_true(lo * k >= i * RCLUSTER_SLOTS && hi * k <= (i + 1) * RCLUSTER_SLOTS);
                assert_in_range(hi - lo, RCLUSTER_SLOTS / (2 * k) - 1, RCLUSTER_SLOTS / (2 * k));
                prev_hi = hi;
                slot = rcluster_key_slot(n, strlen(n));
                assert_in_range(slot, lo, hi - 1);
                for (size_t s = 0; s < m; s++) {
                    assert_string_not_equal(seen[s], n);
                }
                seen[m++] = n;
            }
        }
        for (size_t s = 0; s < m; s++) {
            free(seen[s]);
        }
    }
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
    assert_string_equal(queue_name(four.q[3], QUEUE_PENDING), "{events:3/4~0}");
    assert_string_equal(queue_name(four.q[3], QUEUE_PROCESSING), "{events:3/4~0}:processing:h:1:a");
    assert_string_equal(queue_name(four.q[3], QUEUE_HEARTBEAT), "{events:3/4~0}:heartbeat:h:1:a");
    assert_string_equal(queue_name(four.q[3], QUEUE_CONSUMERS), "{events:3/4~0}:consumers");
    assert_string_equal(queue_name(four.q[0], QUEUE_DEAD), "{events:0/4~1}:dead");
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
        cmocka_unit_test(test_names_spread),
        cmocka_unit_test(test_queue_set_keys),
        cmocka_unit_test(test_visitor_of_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
