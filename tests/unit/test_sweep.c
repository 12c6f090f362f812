/* test_sweep.c - unit tests for processor/sweep.c's pure parts: which events the processor
 * no longer stores (expired) and the day and site of a rollup _id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rollup_doc.h"
#include "sweep.h"
#include "ts.h"

/* 2026-12-07T15:30:00Z and its midnight. */
#define DAY0 (20794LL * TS_DAY_MS)
#define NOW (DAY0 + 15 * TS_HOUR_MS + 30 * 60000)

static void
test_expired(void **state)
{
    /* SITE_RETENTION=shop:2,blog:0, as parsed: sorted by site. */
    struct sitelist_item items[] = {{"blog", "0"}, {"shop", "2"}};
    long days[] = {0, 2};
    const struct sitelist sites = {items, 2};
    struct retention r = {.days = 30, .rollup_days = 0, .sites = sites, .site_days = days};
    static const struct {
        const char *site;
        int64_t ts;
        long rollup_days;
        int want;
    } rows[] = {
        {"shop", DAY0 - 2 * TS_DAY_MS, 0, 0},     /* the first day kept */
        {"shop", DAY0 - 2 * TS_DAY_MS - 1, 0, 1}, /* the last instant before it */
        {"blog", 0, 0, 0},                        /* kept for ever */
        {"blog", DAY0 - 10 * TS_DAY_MS, 5, 1},    /* ... but its rollups are not */
        {"other", DAY0 - 30 * TS_DAY_MS, 0, 0},   /* RETENTION_DAYS */
        {"other", DAY0 - 31 * TS_DAY_MS, 0, 1},   /* the day before */
        {"other", DAY0 - 29 * TS_DAY_MS, 40, 0},  /* the later cutoff wins */
        {"shop", DAY0 + 5 * TS_DAY_MS, 1, 0},     /* the future is kept */
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct event ev;
        char msg[128] = "";
        memset(&ev, 0, sizeof ev);
        ev.site_id = rows[i].site;
        ev.ts_ms = rows[i].ts;
        r.rollup_days = rows[i].rollup_days;
        assert_int_equal(sweep_expired(&r, &ev, NOW, msg, sizeof msg), rows[i].want);
        assert_int_equal(msg[0] != '\0', rows[i].want);
    }
    struct event ev;
    char msg[128];
    memset(&ev, 0, sizeof ev);
    ev.site_id = "shop";
    ev.ts_ms = DAY0 - 10 * TS_DAY_MS;
    r.rollup_days = 0;
    assert_int_equal(sweep_expired(&r, &ev, NOW, msg, sizeof msg), 1);
    assert_string_equal(msg, "its day 2026-11-27 is before 2026-12-05, the first its site keeps");
}

/* The ids rollup_doc.c makes, parsed back; and ids of no rollup. */
static void
test_parse_id(void **state)
{
    const char *sites[] = {"s", "a|b:c", "site-abc-123"};
    static const char *const bad[] = {
        "",
        "2026-12-07",
        "2026-13-01|*|1:s",
        "2026-12-07|*|2:s",
        "x|*|1:s",
        "2026-12-07T1|*|1:s",
        "2026-12-07|3:ab|1:s",
        "2026-12-07|*|1:sx",
        "2026-12-07|*|:s",
    };
    int64_t day;
    const char *site;
    size_t len;

    (void)state;
    assert_int_equal(DAY0, ts_days_from_civil(2026, 12, 7) * TS_DAY_MS);
    for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
        /* A site-hour of a zone half an hour off UTC: "<date>T<HH>:30|...". */
        char *ids[5] = {
            rollup_scope_id(sites[i], NOW, NULL), rollup_scope_id(sites[i], NOW, "page_view"),
            rollup_hour_id(sites[i], ts_floor(NOW, TS_HOUR_MS), "a|b"),
            rollup_hour_id(sites[i], ts_floor(NOW, TS_HOUR_MS) + 30 * 60000, NULL), NULL};
        assert_non_null(ids[0]);
        assert_non_null(ids[1]);
        assert_non_null(ids[2]);
        assert_non_null(ids[3]);
        assert_memory_equal(ids[3], "2026-12-07T15:30|*|", 19);
        ids[4] = rollup_child_id(ids[1], "u|1");
        assert_non_null(ids[4]);
        for (int k = 0; k < 5; k++) {
            assert_int_equal(sweep_parse_id(ids[k], &day, &site, &len), 0);
            assert_int_equal(day, DAY0);
            assert_int_equal(len, strlen(sites[i]));
            assert_memory_equal(site, sites[i], len);
            free(ids[k]);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sweep_parse_id(bad[i], &day, &site, &len), -1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_parse_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
