/* test_chunked.c - unit tests for processor/chunked.c that need no server: the sorted set of
 * ids a chunked_find() asks for (each distinct id once), the matching of a document read to
 * its keys, and the sites a read of events adds (chunked_sites_in()); the commands themselves
 * run against servers in it_rollup.sh and the fault tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chunked.h"

/* Keys in, distinct ids out (in order), each with its keys' `at`s. */
static void
test_sort_lists_each_id_once(void **state)
{
    static const struct {
        const char *ids[8];
        size_t n;
        const char *distinct[8];
        size_t d;
        size_t at[8]; /* the keys' at, sorted by id then at */
    } cases[] = {
        {{NULL}, 0, {NULL}, 0, {0}},
        {{"a"}, 1, {"a"}, 1, {0}},
        {{"c", "a", "b"}, 3, {"a", "b", "c"}, 3, {1, 2, 0}},
        /* The same id twice (a client's two sends of one event_id, or two questions on one
         * site-day): asked once, both keys kept, in the order of at. */
        {{"x", "y", "x", "x"}, 4, {"x", "y"}, 2, {0, 2, 3, 1}},
        {{"b", "b", "b"}, 3, {"b"}, 1, {0, 1, 2}},
        {{"e2", "e10", "e1", "e10", "e2"}, 5, {"e1", "e10", "e2"}, 3, {2, 1, 3, 0, 4}},
    };

    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct chunked_keys ks;
        assert_int_equal(chunked_keys_new(&ks, cases[c].n), 0);
        for (size_t i = 0; i < cases[c].n; i++) {
            chunked_keys_add(&ks, cases[c].ids[i], i);
        }
        chunked_keys_add(&ks, "past-cap", 99); /* beyond cap: ignored */
        chunked_keys_sort(&ks);
        assert_int_equal(ks.n, cases[c].n);
        assert_int_equal(ks.d, cases[c].d);
        for (size_t r = 0; r < ks.d; r++) {
            assert_string_equal(ks.k[ks.first[r]].id, cases[c].distinct[r]);
        }
        for (size_t i = 0; i < ks.n; i++) {
            assert_int_equal(ks.k[i].at, cases[c].at[i]);
        }
        chunked_keys_free(&ks);
    }
}

/* A document read by the query of distinct ids [from, from + m) is matched to its keys, and
 * only among those. */
static void
test_find_matches_within_the_chunk(void **state)
{
    static const char *const ids[] = {"d", "a", "c", "a", "b", "e", "c"};
    static const struct {
        size_t from, m;
        const char *id;
        int found;
        size_t lo, hi; /* into k: a a b c c d e */
    } cases[] = {
        {0, 5, "a", 1, 0, 2}, {0, 5, "b", 1, 2, 3}, {0, 5, "c", 1, 3, 5}, {0, 5, "d", 1, 5, 6},
        {0, 5, "e", 1, 6, 7}, {0, 5, "f", 0, 0, 0}, {0, 5, "", 0, 0, 0},  {1, 2, "a", 0, 0, 0},
        {1, 2, "b", 1, 2, 3}, {1, 2, "c", 1, 3, 5}, {1, 2, "d", 0, 0, 0}, {4, 1, "e", 1, 6, 7},
        {4, 9, "e", 1, 6, 7}, {0, 0, "a", 0, 0, 0},
    };
    struct chunked_keys ks;

    (void)state;
    assert_int_equal(chunked_keys_new(&ks, 7), 0);
    for (size_t i = 0; i < 7; i++) {
        chunked_keys_add(&ks, ids[i], i);
    }
    chunked_keys_sort(&ks);
    assert_int_equal(ks.d, 5);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t lo = 99, hi = 99;
        int found = chunked_keys_find(&ks, cases[c].from, cases[c].m, cases[c].id, &lo, &hi);
        assert_int_equal(found, cases[c].found);
        if (found) {
            assert_int_equal(lo, cases[c].lo);
            assert_int_equal(hi, cases[c].hi);
            for (size_t j = lo; j < hi; j++) {
                assert_string_equal(ks.k[j].id, cases[c].id);
            }
        }
    }
    chunked_keys_free(&ks);
}

/* Many keys: every distinct id is found from every chunking, with all its keys. */
static void
test_find_every_id_in_any_chunking(void **state)
{
    enum { N = 600 };
    static char ids[N][8];
    struct chunked_keys ks;

    (void)state;
    assert_int_equal(chunked_keys_new(&ks, N), 0);
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "u%zu", (i * 7919) % 200); /* each id 3 times */
        chunked_keys_add(&ks, ids[i], i);
    }
    chunked_keys_sort(&ks);
    assert_int_equal(ks.d, 200);
    for (size_t m = 1; m <= 200; m += 37) {
        for (size_t from = 0; from < ks.d; from += m) {
            for (size_t r = from; r < from + m && r < ks.d; r++) {
                size_t lo, hi;
                assert_true(chunked_keys_find(&ks, from, m, ks.k[ks.first[r]].id, &lo, &hi));
                assert_int_equal(hi - lo, 3);
                assert_int_equal(lo, ks.first[r]);
            }
        }
    }
    chunked_keys_free(&ks);
}

/* The {site_id: {$in: [...]}} of events evs[at[j]] (at NULL: evs[j]): every site there, in
 * their order, a site next to itself once. */
static void
test_sites_in(void **state)
{
    static const struct event evs[] = {
        {.site_id = "s1"}, {.site_id = "s1"},  {.site_id = "s2"},
        {.site_id = "s1"}, {.site_id = "a|b"}, {.site_id = "s\"q"},
    };
    static const size_t at_some[] = {2, 2, 0, 1, 5}, at_one[] = {4};
    static const struct {
        const size_t *at;
        size_t n;
        const char *json;
    } cases[] = {
        {NULL, 0, "{ \"site_id\" : { \"$in\" : [  ] } }"}, /* libbson's spacing */
        {NULL, 2, "{ \"site_id\" : { \"$in\" : [ \"s1\" ] } }"},
        /* Not sorted: a site away from its neighbour is listed again (a $in repeats it). */
        {NULL, 4, "{ \"site_id\" : { \"$in\" : [ \"s1\", \"s2\", \"s1\" ] } }"},
        {at_some, 5, "{ \"site_id\" : { \"$in\" : [ \"s2\", \"s1\", \"s\\\"q\" ] } }"},
        {at_one, 1, "{ \"site_id\" : { \"$in\" : [ \"a|b\" ] } }"},
    };

    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct app_err err = {0};
        bson_t *f = chunked_sites_in(evs, cases[c].at, cases[c].n, &err);
        char *json;
        assert_non_null(f);
        json = bson_as_relaxed_extended_json(f, NULL);
        assert_string_equal(json, cases[c].json);
        bson_free(json);
        bson_destroy(f);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_lists_each_id_once),
        cmocka_unit_test(test_find_matches_within_the_chunk),
        cmocka_unit_test(test_find_every_id_in_any_chunking),
        cmocka_unit_test(test_sites_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
