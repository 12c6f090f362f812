/* test_erase_plan.c - unit tests for reporting/erase_plan.c: the erasure paths, the steps of a
 * job, which rollup ids are a site's or a visitor's, a site-hour's set without a hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "erase_plan.h"
#include "rollup_doc.h"

#define SITE_MSG                                                                                   \
    "The site_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as %2F)"
#define USER_MSG                                                                                   \
    "The user_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as %2F)"
#define PATH_MSG "The path must be /sites/{site_id} or /sites/{site_id}/visitors/{user_id}"

static void
test_parse_path(void **state)
{
    static const struct {
        const char *path;
        const char *bad; /* NULL: parsed */
        enum erase_kind kind;
        const char *site, *visitor;
    } rows[] = {
        {"/sites/shop", NULL, ERASE_SITE, "shop", ""},
        {"/sites/shop/visitors/u1", NULL, ERASE_VISITOR, "shop", "u1"},
        {"/sites/shop/visitors/a%2Fb", NULL, ERASE_VISITOR, "shop", "a/b"},
        {"/sites/a%2fb/visitors/%2F..%2F", NULL, ERASE_VISITOR, "a/b", "/../"},
        {"/sites/a%2Fvisitors%2Fb", NULL, ERASE_SITE, "a/visitors/b", ""},
        {"/sites/caf%C3%A9/visitors/%c3%a9t\xc3\xa9+x", NULL, ERASE_VISITOR, "caf\xc3\xa9",
         "\xc3\xa9t\xc3\xa9+x"}, /* '+' is itself in a path */
        {"/sites/", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites//visitors/u", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/a%00b", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/a%0", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/a%zz", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/%ff", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/\xff", SITE_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/visitors/", USER_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/visitors/a/b", USER_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/visitors/u%00", USER_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/visitors/%c3", USER_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/", PATH_MSG, ERASE_SITE, "", ""},
        {"/sites/shop/users/u1", PATH_MSG, ERASE_SITE, "", ""},
        {"/site/shop", PATH_MSG, ERASE_SITE, "", ""},
        {"/sitesshop", PATH_MSG, ERASE_SITE, "", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct erase_target t;
        const char *bad = erase_parse_path(rows[i].path, &t);
        if (rows[i].bad != NULL) {
            assert_non_null(bad);
            assert_string_equal(bad, rows[i].bad);
            continue;
        }
        assert_null(bad);
        assert_int_equal(t.kind, rows[i].kind);
        assert_string_equal(t.site, rows[i].site);
        assert_string_equal(t.visitor, rows[i].visitor);
    }
}

static void
test_parse_lengths(void **state)
{
    char path[600];
    struct erase_target t;

    (void)state;
    snprintf(path, sizeof path, "/sites/%0256d", 0);
    assert_null(erase_parse_path(path, &t));
    assert_int_equal(strlen(t.site), 256);
    snprintf(path, sizeof path, "/sites/%0257d", 0);
    assert_string_equal(erase_parse_path(path, &t), SITE_MSG);
    snprintf(path, sizeof path, "/sites/s/visitors/%0256d", 0);
    assert_null(erase_parse_path(path, &t));
    assert_int_equal(strlen(t.visitor), 256);
    snprintf(path, sizeof path, "/sites/s/visitors/%0257d", 0);
    assert_string_equal(erase_parse_path(path, &t), USER_MSG);
    /* 256 bytes once decoded: "%41" is one */
    snprintf(path, sizeof path, "/sites/%%41%0255d", 0);
    assert_null(erase_parse_path(path, &t));
    assert_int_equal(strlen(t.site), 256);
}

static void
test_parse_job_path(void **state)
{
    static const struct {
        const char *path;
        int ok;
    } rows[] = {
        {"/jobs/0123456789abcdef0123456789abcdef", 1},
        {"/jobs/0123456789abcdef0123456789abcde", 0},   /* 31 */
        {"/jobs/0123456789abcdef0123456789abcdef0", 0}, /* 33 */
        {"/jobs/0123456789ABCDEF0123456789abcdef", 0},  /* upper case */
        {"/jobs/", 0},
        {"/jobs/../x", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char id[ERASE_JOB_ID_LEN + 1];
        const char *bad = erase_parse_job_path(rows[i].path, id);
        if (rows[i].ok) {
            assert_null(bad);
            assert_string_equal(id, rows[i].path + 6);
        } else {
            assert_string_equal(bad, "The job id in the path must be 32 hex digits");
        }
    }
}

static void
test_steps(void **state)
{
    size_t n;
    const struct erase_step *v = erase_steps(ERASE_VISITOR, &n);

    (void)state;
    /* A visitor: the events, then every stored trace of the id; the counts stay. */
    assert_int_equal(n, 4);
    assert_string_equal(v[0].collection, "events");
    assert_int_equal(v[0].how, ERASE_BY_FILTER);
    assert_string_equal(v[1].collection, ROLLUP_USERS_COLLECTION);
    assert_int_equal(v[1].how, ERASE_BY_ID);
    assert_string_equal(v[2].collection, ROLLUP_HOURS_COLLECTION);
    assert_int_equal(v[2].how, ERASE_HASH_SET);
    assert_string_equal(v[3].collection, ROLLUP_DIMS_COLLECTION);
    assert_int_equal(v[3].how, ERASE_HASH_SET);
    /* A site: every collection the programs write (common/rollup_doc.h), each once. */
    v = erase_steps(ERASE_SITE, &n);
    assert_int_equal(n, 11);
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(v[i].how, ERASE_HASH_SET);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(v[i].collection, v[k].collection);
        }
    }
}

static void
test_id_matches(void **state)
{
    static const struct {
        const char *id, *site, *visitor;
        int match;
    } rows[] = {
        {"2025-11-15|*|4:shop|u1", "shop", "u1", 1},
        {"2025-11-15|9:page_view|4:shop|u1", "shop", "u1", 1},
        {"2025-11-15T10|*|4:shop|u1", "shop", "u1", 1},
        {"2025-11-15T10:30|*|4:shop|u1", "shop", "u1", 1},
        {"2025-11-15|*|4:shop|a/b|c", "shop", "a/b|c", 1}, /* the leaf is the rest */
        {"2025-11-15|*|4:shop|u1", "shop", NULL, 1},       /* any leaf of the site */
        {"2025-11-15|*|4:shop|/path", "shop", NULL, 1},
        {"2025-11-15|*|4:shop|u10", "shop", "u1", 0},
        {"2025-11-15|*|4:shop|u", "shop", "u1", 0},
        {"2025-11-15|*|5:shops|u1", "shop", "u1", 0},
        {"2025-11-15|*|4:shop|u1", "sho", NULL, 0},
        /* a type that holds what looks like a site: the counted site is the one compared */
        {"2025-11-15|10:x|4:shop|y|5:other|u1", "shop", "u1", 0},
        {"2025-11-15|10:x|4:shop|y|5:other|u1", "other", "u1", 1},
        {"2025-11-15|*|4:shop", "shop", NULL, 0}, /* a site-day itself: no leaf */
        {"2025-11-15|*|9:shop|u1", "shop", NULL, 0},
        {"2025-11-15", "shop", NULL, 0},
        {"", "shop", NULL, 0},
        {"short", "shop", NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(erase_id_matches(rows[i].id, rows[i].site, rows[i].visitor),
                         rows[i].match);
    }
}

static void
test_set_without(void **state)
{
    static const struct {
        int64_t in[4];
        size_t n;
        int64_t h;
        int left;
        int64_t out[4];
        size_t n_out;
    } rows[] = {
        {{1, 2, 3}, 3, 2, 1, {1, 3}, 2}, {{1, 2, 3}, 3, 9, 0, {1, 2, 3}, 3}, {{2}, 1, 2, 1, {0}, 0},
        {{0}, 0, 2, 0, {0}, 0},          {{-5, 7, -5}, 3, -5, 2, {7}, 1}, /* every copy goes */
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bson_t doc = BSON_INITIALIZER, arr, out = BSON_INITIALIZER;
        bson_iter_t it, o;
        size_t k = 0;
        bson_append_array_begin(&doc, "u", -1, &arr);
        for (size_t j = 0; j < rows[i].n; j++) {
            char key[16];
            const char *kk;
            bson_uint32_to_string((uint32_t)j, &kk, key, sizeof key);
            BSON_APPEND_INT64(&arr, kk, rows[i].in[j]);
        }
        bson_append_array_end(&doc, &arr);
        assert_true(bson_iter_init_find(&it, &doc, "u"));
        assert_int_equal(erase_set_without(&it, rows[i].h, &out), rows[i].left);
        assert_true(bson_iter_init(&o, &out));
        while (bson_iter_next(&o)) {
            char key[16];
            const char *kk;
            bson_uint32_to_string((uint32_t)k, &kk, key, sizeof key);
            assert_string_equal(bson_iter_key(&o), kk); /* "0", "1", ...: an array */
            assert_true(k < rows[i].n_out);
            assert_int_equal(bson_iter_int64(&o), rows[i].out[k]);
            k++;
        }
        assert_int_equal(k, rows[i].n_out);
        bson_destroy(&out);
        bson_destroy(&doc);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_path),     cmocka_unit_test(test_parse_lengths),
        cmocka_unit_test(test_parse_job_path), cmocka_unit_test(test_steps),
        cmocka_unit_test(test_id_matches),     cmocka_unit_test(test_set_without),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
