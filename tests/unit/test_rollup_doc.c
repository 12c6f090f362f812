/* test_rollup_doc.c - unit tests for common/rollup_doc.c: the ids of the rollup documents,
 * which the processors write and reporting reads, must be the same and never collide; the
 * user hash the site-hours store must never change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollup_doc.h"

/* 2025-11-15T10:30:00Z, and the start of that day. */
#define T_1030 1763202600000LL
#define DAY_START 1763164800000LL

static void
test_scope_ids(void **state)
{
    static const struct {
        const char *site, *type;
        int64_t ts;
        const char *want;
    } rows[] = {
        {"site-abc-123", NULL, T_1030, "2025-11-15|*|12:site-abc-123"},
        {"site-abc-123", NULL, DAY_START, "2025-11-15|*|12:site-abc-123"},
        {"site-abc-123", "page_view", T_1030, "2025-11-15|9:page_view|12:site-abc-123"},
        {"a|b", "c", T_1030, "2025-11-15|1:c|3:a|b"},
        {"s", "*", T_1030, "2025-11-15|1:*|1:s"},
        {"é", NULL, DAY_START - 1, "2025-11-14|*|2:é"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *id = rollup_scope_id(rows[i].site, rows[i].ts, rows[i].type);
        assert_non_null(id);
        assert_string_equal(id, rows[i].want);
        free(id);
    }
}

/* Site-hour ids: the hour's first instant in UTC, its minutes when it starts at another minute
 * than :00 (a zone half or three quarters of an hour off UTC). */
static void
test_hour_ids(void **state)
{
    static const struct {
        int64_t hour_ms;
        const char *type, *want;
    } rows[] = {
        {DAY_START + 10 * 3600000LL, NULL, "2025-11-15T10|*|1:s"},
        {DAY_START + 10 * 3600000LL, "click", "2025-11-15T10|5:click|1:s"},
        {T_1030, NULL, "2025-11-15T10:30|*|1:s"},
        {DAY_START - 15 * 60000LL, NULL, "2025-11-14T23:45|*|1:s"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *id = rollup_hour_id("s", rows[i].hour_ms, rows[i].type);
        assert_non_null(id);
        assert_string_equal(id, rows[i].want);
        free(id);
    }
}

/* Ids that would collide without the lengths: a site "x|1:y" of all types against the site
 * "y" of type "x"... every pair here must differ. */
static void
test_scope_ids_never_collide(void **state)
{
    static const struct {
        const char *site, *type;
    } rows[] = {
        {"a", NULL}, {"*", NULL}, {"a", "*"}, {"1:a", NULL}, {"a|1:b", NULL}, {"b", "a"},
        {"a", "b"},  {"|", "|"},  {"", ""},   {"a|", NULL},  {"|a", NULL},
    };
    char *ids[sizeof rows / sizeof rows[0]];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ids[i] = rollup_scope_id(rows[i].site, T_1030, rows[i].type);
        assert_non_null(ids[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[i], ids[j]) == 0) {
                fail_msg("rows %zu and %zu share the id %s", j, i, ids[i]);
            }
        }
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        free(ids[i]);
    }
}

static void
test_child_ids(void **state)
{
    char *scope = rollup_scope_id("s", T_1030, NULL);
    char *path = rollup_child_id(scope, "/pricing");

    (void)state;
    assert_string_equal(path, "2025-11-15|*|1:s|/pricing");
    free(path);
    free(scope);
}

static void
test_referrer_hosts(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: no referrer */
    } rows[] = {
        {"https://news.example.com/a?b#c", "news.example.com"},
        {"HTTP://News.Example.COM:8080", "news.example.com"},
        {"https://user:pw@www.search.example/q", "www.search.example"},
        {"http://a.b/", "a.b"},
        {"https://x_y-z.example?q=1", "x_y-z.example"},
        {"https://", NULL},
        {"https:///path", NULL},
        {"https://:443/", NULL},
        {"ftp://example.com", NULL},
        {"example.com", NULL},
        {"/relative", NULL},
        {"", NULL},
        {"https://exa mple.com", NULL},
        {"https://[::1]/", NULL},
        {"https://ex%41mple.com", NULL},
        {"https://\xc3\xa9t\xc3\xa9.example", NULL},
        {NULL, NULL},
    };
    char out[ROLLUP_REFERRER_MAX + 1], longest[ROLLUP_REFERRER_MAX + 10];
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int n = rollup_referrer_host(rows[i].in, out);
        if (rows[i].want == NULL) {
            assert_int_equal(n, -1);
            continue;
        }
        assert_int_equal(n, (int)strlen(rows[i].want));
        assert_string_equal(out, rows[i].want);
    }
    memcpy(longest, "http://", 7);
    memset(longest + 7, 'a', ROLLUP_REFERRER_MAX);
    longest[7 + ROLLUP_REFERRER_MAX] = '\0';
    assert_int_equal(rollup_referrer_host(longest, out), ROLLUP_REFERRER_MAX);
    memcpy(longest + 7 + ROLLUP_REFERRER_MAX, "a", 2);
    assert_int_equal(rollup_referrer_host(longest, out), -1);
}

/* The hashes a site-hour's set u keeps (rollup_user_hash()): a stored format, so its values are
 * fixed here, as the int64s stored. FNV-1a 64's published vectors, and user ids of the shapes
 * clients send. Any change to the hash fails this: the sets already stored would no longer match
 * the hashes of the same users. */
static void
test_user_hash(void **state)
{
    static const struct {
        const char *user;
        int64_t want;
    } rows[] = {
        {"", -3750763034362895579LL},       /* 0xcbf29ce484222325: the offset basis */
        {"a", -5808556873153909620LL},      /* 0xaf63dc4c8601ec8c */
        {"foobar", -8821353812377114648LL}, /* 0x85944171f73967e8 */
        {"u1", 631765120777144307LL},
        {"user-42", 3658848852250057419LL},
        {"0190a3b2-7c4e-7d3a-9f21-5b6c7d8e9f00", 4536462865373106002LL},
        {"\xc3\xa9t\xc3\xa9", 43504438999324759LL}, /* "été": its UTF-8 bytes */
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_true(rollup_user_hash(rows[i].user) == rows[i].want);
    }
}

/* A dimensions key: "-" for an absent value, "<n>:<value>" for a present one, so that values
 * holding the key's own characters never make two combinations one; a value too long: -1. */
static void
test_dims_keys(void **state)
{
    static const struct {
        const char *vals[ROLLUP_DIMS];
        const char *want;
    } rows[] = {
        {{NULL}, "-----------"},
        {{"Google", "Organic Search", NULL, NULL, NULL, NULL, NULL, "mobile", "Chrome", "Android",
          "DE"},
         "6:Google14:Organic Search-----6:mobile6:Chrome7:Android2:DE"},
        {{"", "", "", "", "", "", "", "", "", "", ""}, "-----------"},
        /* a value that looks like the next one's start */
        {{"1:-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "3:1:-----------"},
        {{"-", "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "1:-1:----------"},
        {{"a|b", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "é"}, "3:a|b---------2:é"},
    };
    char key[ROLLUP_DIMS_KEY_MAX], other[ROLLUP_DIMS_KEY_MAX], long_value[ROLLUP_DIM_VALUE_MAX + 2];
    const char *vals[ROLLUP_DIMS] = {NULL};

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(rollup_dims_key(rows[i].vals, key), (int)strlen(rows[i].want));
        assert_string_equal(key, rows[i].want);
    }
    /* The longest values fit; one byte more does not. */
    memset(long_value, 'x', ROLLUP_DIM_VALUE_MAX);
    long_value[ROLLUP_DIM_VALUE_MAX] = '\0';
    for (int i = 0; i < ROLLUP_DIMS; i++) {
        vals[i] = long_value;
    }
    assert_int_equal(rollup_dims_key(vals, key), ROLLUP_DIMS * (ROLLUP_DIM_VALUE_MAX + 4));
    long_value[ROLLUP_DIM_VALUE_MAX] = 'x';
    long_value[ROLLUP_DIM_VALUE_MAX + 1] = '\0';
    assert_int_equal(rollup_dims_key(vals, key), -1);
    /* A value moved to the next dimension is another key. */
    const char *a[ROLLUP_DIMS] = {"x", NULL}, *b[ROLLUP_DIMS] = {NULL, "x"};
    rollup_dims_key(a, key);
    rollup_dims_key(b, other);
    assert_string_not_equal(key, other);
}

/* The bucket at the start of an id: a day's midnight, an hour's (or half hour's) instant. */
static void
test_id_buckets(void **state)
{
    static const struct {
        const char *id;
        int want_n, want_hour;
        int64_t want_ms;
    } rows[] = {
        {"2025-11-15|*|1:s", 10, 0, T_1030 - 10 * 3600000LL - 30 * 60000LL},
        {"2025-11-15T10|*|1:s", 13, 1, T_1030 - 30 * 60000LL},
        {"2025-11-15T10:30|4:view|1:s|/a", 16, 1, T_1030},
        {"2025-11-15T24|*|1:s", -1, 0, 0},
        {"2025-11-15T10:60|*|1:s", -1, 0, 0},
        {"2025-11-15T1|*|1:s", -1, 0, 0},
        {"2025-11-15T10:3|*|1:s", -1, 0, 0},
        {"2025-11-15X", -1, 0, 0},
        {"2025-11-31|*|1:s", -1, 0, 0},
        {"2025-11-15", -1, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t ms = 0;
        int hour = -1, n = rollup_id_bucket(rows[i].id, &ms, &hour);
        assert_int_equal(n, rows[i].want_n);
        if (n >= 0) {
            assert_int_equal(hour, rows[i].want_hour);
            assert_true(ms == rows[i].want_ms);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_buckets),
        cmocka_unit_test(test_dims_keys),
        cmocka_unit_test(test_scope_ids),
        cmocka_unit_test(test_hour_ids),
        cmocka_unit_test(test_scope_ids_never_collide),
        cmocka_unit_test(test_child_ids),
        cmocka_unit_test(test_referrer_hosts),
        cmocka_unit_test(test_user_hash),
    };

    return cmocka_run_group_tests_name("rollup_doc: document ids", tests, NULL, NULL);
}
