/* test_query.c - unit tests for reporting/query.c: the rows of breakdowns and stats, a
 * series' buckets, and the ids, $in and top-values aggregation of a range's rollups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbread.h"
#include "query.h"
#include "ts.h"

#define DAY_2025_01_05 1736035200000LL /* 2025-01-05T00:00:00Z */

/* doc as relaxed extended JSON, for comparing a built document with its text. */
static void
assert_json(const bson_t *doc, const char *want)
{
    char *json = bson_as_relaxed_extended_json(doc, NULL);

    assert_non_null(json);
    assert_string_equal(json, want);
    bson_free(json);
}

static void
test_breakdown_add_keeps_at_most_max(void **state)
{
    struct breakdown b = {0};
    char value[16];

    (void)state;
    for (int i = 0; i < BREAKDOWN_MAX + 5; i++) {
        snprintf(value, sizeof value, "v%d", i);
        assert_int_equal(breakdown_add(&b, value, i, 2 * i), 0);
    }
    assert_int_equal(b.n, BREAKDOWN_MAX);
    assert_string_equal(b.rows[7].value, "v7");
    assert_int_equal(b.rows[7].views, 7);
    assert_int_equal(b.rows[7].users, 14);
    breakdown_clear(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.rows[0].value);
}

static void
test_breakdown_add_doc(void **state)
{
    struct breakdown b = {0};
    struct breakdown_rows rows = {.out = &b, .key = "_id"};
    bson_t *full =
        BCON_NEW("_id", BCON_UTF8("click"), "views", BCON_INT64(5), "users", BCON_INT32(3));
    bson_t *views_only = BCON_NEW("_id", BCON_UTF8("/a"), "views", BCON_INT32(2));
    bson_t *no_value = BCON_NEW("_id", BCON_NULL, "views", BCON_INT32(9));
    struct app_err err = {0};

    (void)state;
    assert_int_equal(breakdown_add_doc(full, &rows, &err), DBREAD_NEXT);
    assert_int_equal(breakdown_add_doc(views_only, &rows, &err), DBREAD_NEXT);
    assert_int_equal(breakdown_add_doc(no_value, &rows, &err), DBREAD_NEXT); /* skipped */
    assert_int_equal(b.n, 2);
    assert_string_equal(b.rows[0].value, "click");
    assert_int_equal(b.rows[0].views, 5);
    assert_int_equal(b.rows[0].users, 3);
    assert_string_equal(b.rows[1].value, "/a");
    assert_int_equal(b.rows[1].views, 2);
    assert_int_equal(b.rows[1].users, 0);
    assert_int_equal(err.code, ERR_NONE);
    breakdown_clear(&b);
    bson_destroy(no_value);
    bson_destroy(views_only);
    bson_destroy(full);
}

static void
test_stats_add_path(void **state)
{
    struct stats st = {0};
    bson_t *no_path = BCON_NEW("views", BCON_INT32(4));
    char path[16];

    (void)state;
    assert_int_equal(stats_add_path(&st, no_path, "path"), 0);
    assert_int_equal(st.top_paths.n, 0);
    for (int i = 0; i < ROLLUP_TOP_PATHS + 2; i++) {
        bson_t *entry;
        snprintf(path, sizeof path, "/p%d", i);
        entry = BCON_NEW("path", BCON_UTF8(path), "views", BCON_INT32(100 - i));
        assert_int_equal(stats_add_path(&st, entry, "path"), 0);
        bson_destroy(entry);
    }
    assert_int_equal(st.top_paths.n, ROLLUP_TOP_PATHS); /* the rest skipped */
    assert_string_equal(st.top_paths.rows[1].value, "/p1");
    assert_int_equal(st.top_paths.rows[1].views, 99);
    stats_clear(&st);
    assert_int_equal(st.top_paths.n, 0);
    bson_destroy(no_path);
}

static void
test_series_init_zeroes_every_bucket(void **state)
{
    const struct day_range r = range_make(NULL, DAY_2025_01_05 / TS_DAY_MS, 2);
    struct series ts;
    struct app_err err = {0};

    (void)state;
    assert_int_equal(series_init(&ts, &r, TS_HOUR_MS, &err), 0);
    assert_int_equal(ts.n, 48);
    for (int64_t i = 0; i < ts.n; i++) {
        assert_int_equal(ts.views[i], 0);
        assert_int_equal(ts.users[i], 0);
        assert_int_equal(ts.capped[i], 0);
    }
    series_clear(&ts);
    assert_int_equal(ts.n, 0);
    assert_null(ts.views);
}

static void
test_scope_ids_are_the_days(void **state)
{
    const struct day_range r = range_make(NULL, DAY_2025_01_05 / TS_DAY_MS, 3);
    char **ids = query_scope_ids("site", &r, "click");

    (void)state;
    assert_non_null(ids);
    for (int64_t i = 0; i < r.days; i++) {
        char *want = rollup_scope_id("site", r.from_ms + i * TS_DAY_MS, "click");
        assert_string_equal(ids[i], want);
        assert_int_equal(query_day_of_id(ids[i], &r), i);
        free(want);
    }
    query_free_ids(ids, r.days);
    query_free_ids(NULL, 3); /* nothing */
}

static void
test_day_of_id(void **state)
{
    const struct day_range r = range_make(NULL, DAY_2025_01_05 / TS_DAY_MS, 2);

    (void)state;
    assert_int_equal(query_day_of_id("2025-01-05|s", &r), 0);
    assert_int_equal(query_day_of_id("2025-01-06T07|s", &r), 1);
    assert_int_equal(query_day_of_id("2025-01-07|s", &r), -1); /* after the range */
    assert_int_equal(query_day_of_id("2025-01-04|s", &r), -1); /* before it */
    assert_int_equal(query_day_of_id("2025-01-0", &r), -1);    /* too short */
    assert_int_equal(query_day_of_id("2025-13-01|s", &r), -1); /* not a date */
}

static void
test_append_in(void **state)
{
    char a[] = "x", b[] = "y";
    char *ids[] = {a, b};
    bson_t *doc = bson_new();

    (void)state;
    assert_int_equal(store_append_in(doc, "_id", ids, 2, NULL), 0);
    assert_json(doc, "{ \"_id\" : { \"$in\" : [ \"x\", \"y\" ] } }");
    bson_destroy(doc);
}

static void
test_top_pipeline_one_day(void **state)
{
    const struct day_range r = range_make(NULL, DAY_2025_01_05 / TS_DAY_MS, 1);
    char a[] = "2025-01-05|s";
    char *ids[] = {a};
    const char *key = NULL;
    bson_t *p = query_top_pipeline(ids, &r, "path", 10, &key, NULL);

    (void)state;
    assert_string_equal(key, "path"); /* the documents themselves */
    assert_json(p, "{ \"pipeline\" : [ { \"$match\" : { \"scope\" : \"2025-01-05|s\", \"views\" : "
                   "{ \"$gt\" : 0 } } }, { \"$sort\" : { \"views\" : -1, \"path\" : 1 } }, { "
                   "\"$limit\" : 10 } ] }");
    bson_destroy(p);
}

static void
test_top_pipeline_range(void **state)
{
    const struct day_range r = range_make(NULL, DAY_2025_01_05 / TS_DAY_MS, 2);
    char a[] = "2025-01-05|s", b[] = "2025-01-06|s";
    char *ids[] = {a, b};
    const char *key = NULL;
    bson_t *p = query_top_pipeline(ids, &r, "referrer", 5, &key, NULL);

    (void)state;
    assert_string_equal(key, "_id"); /* the groups */
    assert_json(p, "{ \"pipeline\" : [ { \"$match\" : { \"scope\" : { \"$in\" : [ "
                   "\"2025-01-05|s\", \"2025-01-06|s\" ] }, \"views\" : { \"$gt\" : 0 } } }, { "
                   "\"$group\" : { \"_id\" : \"$referrer\", \"views\" : { \"$sum\" : \"$views\" } "
                   "} }, { \"$sort\" : { \"views\" : -1, \"_id\" : 1 } }, { \"$limit\" : 5 } ] }");
    bson_destroy(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breakdown_add_keeps_at_most_max),
        cmocka_unit_test(test_breakdown_add_doc),
        cmocka_unit_test(test_stats_add_path),
        cmocka_unit_test(test_series_init_zeroes_every_bucket),
        cmocka_unit_test(test_scope_ids_are_the_days),
        cmocka_unit_test(test_day_of_id),
        cmocka_unit_test(test_append_in),
        cmocka_unit_test(test_top_pipeline_one_day),
        cmocka_unit_test(test_top_pipeline_range),
    };

    return cmocka_run_group_tests_name("query: the figures' rows and a range's rollups", tests,
                                       NULL, NULL);
}
