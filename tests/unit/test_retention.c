/* test_retention.c - unit tests for common/retention.c: SITE_RETENTION's parse and the
 * cutoffs (now, settings, site -> first instant kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "retention.h"
#include "ts.h"

/* 2026-12-07T15:30:00Z */
#define NOW (ts_days_from_civil(2026, 12, 7) * TS_DAY_MS + 15 * TS_HOUR_MS + 30 * 60000)

static void
test_parse_good(void **state)
{
    static const struct {
        const char *text;
        size_t n;
        const char *site0;
        long days0;
        const char *site1;
        long days1;
    } rows[] = {
        {"", 0, NULL, 0, NULL, 0},
        {"shop:30", 1, "shop", 30, NULL, 0},
        {" shop:30 , blog:0", 2, "blog", 0, "shop", 30}, /* sorted by site */
        {"a:b:7,x:36500", 2, "a:b", 7, "x", 36500},      /* the last ':' separates */
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct retention r = {0};
        struct app_err err = {0};
        assert_int_equal(retention_parse_sites(rows[i].text, &r, &err), 0);
        assert_int_equal(r.sites.n, rows[i].n);
        if (rows[i].n > 0) {
            assert_string_equal(r.sites.items[0].site, rows[i].site0);
            assert_int_equal(r.site_days[0], rows[i].days0);
        }
        if (rows[i].n > 1) {
            assert_string_equal(r.sites.items[1].site, rows[i].site1);
            assert_int_equal(r.site_days[1], rows[i].days1);
        }
        retention_cleanup(&r);
    }
}

static void
test_parse_bad(void **state)
{
    static const struct {
        const char *text, *msg;
    } rows[] = {
        {"shop", "item 1 (\"shop\"): expected site:days"},
        {"shop:30,", "item 2 is empty"},
        {",shop:30", "item 1 is empty"},
        {"shop:x", "item 1 (\"shop:x\"): days must be a number 0-36500"},
        {"shop:-1", "item 1 (\"shop:-1\"): days must be a number 0-36500"},
        {"shop:36501", "item 1 (\"shop:36501\"): days must be a number 0-36500"},
        {"shop:", "item 1 (\"shop:\"): days must be a number 0-36500"},
        {":5", "item 1: the site must be 1-256 bytes without blanks"},
        {"my shop:5", "item 1: the site must be 1-256 bytes without blanks"},
        {"shop:1,blog:2,shop:3", "item 3: site \"shop\" is listed twice"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct retention r = {0};
        struct app_err err = {0};
        assert_int_equal(retention_parse_sites(rows[i].text, &r, &err), -1);
        assert_string_equal(err.msg, rows[i].msg);
        assert_null(r.sites.items);
        assert_null(r.site_days);
        assert_int_equal(retention_check_sites(rows[i].text, &err), -1);
    }
}

static void
test_cutoff(void **state)
{
    /* SITE_RETENTION=shop:2,blog:0, as parsed: sorted by site. */
    struct sitelist_item items[] = {{"blog", "0"}, {"shop", "2"}};
    long days[] = {0, 2};
    const struct sitelist sites = {items, 2};
    const struct retention r = {.days = 30, .rollup_days = 0, .sites = sites, .site_days = days};
    const struct retention keep = {.days = 0, .rollup_days = 0, .sites = sites, .site_days = days};
    const int64_t day = ts_days_from_civil(2026, 12, 7) * TS_DAY_MS;
    static const struct {
        int64_t now;
        long days;
        int64_t want;
    } rows[] = {
        {0, 0, INT64_MIN}, /* 0 keeps everything */
        {1, 1, -TS_DAY_MS},
        {TS_DAY_MS - 1, 1, -TS_DAY_MS},
        {TS_DAY_MS, 1, 0}, /* at midnight the day before today is the first one kept */
        {TS_DAY_MS, 3, -2 * TS_DAY_MS},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(retention_cutoff_ms(rows[i].now, rows[i].days), rows[i].want);
    }
    /* Today and the N days before it: 2026-12-05 for shop (2 days). */
    assert_int_equal(retention_site_cutoff_ms(&r, "shop", NOW), day - 2 * TS_DAY_MS);
    assert_int_equal(retention_site_cutoff_ms(&r, "blog", NOW), INT64_MIN);
    assert_int_equal(retention_site_cutoff_ms(&r, "other", NOW), day - 30 * TS_DAY_MS);
    assert_int_equal(retention_site_cutoff_ms(&keep, "other", NOW), INT64_MIN);
    assert_int_equal(retention_site_cutoff_ms(&keep, "shop", NOW), day - 2 * TS_DAY_MS);
    assert_int_equal(retention_site_days(&r, "shop"), 2);
    assert_int_equal(retention_site_days(&r, "sho"), 30);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
