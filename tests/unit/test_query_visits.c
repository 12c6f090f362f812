/* test_query_visits.c - unit tests for the first row's pure parts (reporting/query_visits.h):
 * each figure of a summary, the names metric= takes, and the change against the period
 * before. The reads are checked against real servers in tests/it/it_figures.sh. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query_visits.h"

static void
test_figures(void **state)
{
    static const struct {
        struct summary s;
        double want[SUMMARY_FIGURES];
    } rows[] = {
        /* visitors, visits, pageviews, events, bounces, duration_ms */
        {{7, 4, 6, 20, 1, 90000}, {7, 4, 6, 20, 1.5, 25, 22.5}},
        {{3, 3, 3, 3, 3, 0}, {3, 3, 3, 3, 1, 100, 0}},
        /* No visits: the ratios are 0, whatever else there is. */
        {{2, 0, 5, 9, 0, 0}, {2, 0, 5, 9, 0, 0, 0}},
        {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0}},
        /* Visits without page views (clicks only). */
        {{1, 2, 0, 4, 0, 1500}, {1, 2, 0, 4, 0, 0, 0.75}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (int f = 0; f < SUMMARY_FIGURES; f++) {
            assert_true(summary_figure(&rows[i].s, f) == rows[i].want[f]);
        }
    }
}

static void
test_names(void **state)
{
    static const struct {
        const char *s;
        int len; /* -1: unreadable, as reporting_param() says it */
        int want;
    } rows[] = {
        {"visitors", 8, SUMMARY_VISITORS},
        {"visits", 6, SUMMARY_VISITS},
        {"pageviews", 9, SUMMARY_PAGEVIEWS},
        {"events", 6, SUMMARY_EVENTS},
        {"views_per_visit", 15, SUMMARY_VIEWS_PER_VISIT},
        {"bounce_rate", 11, SUMMARY_BOUNCE_RATE},
        {"visit_duration", 14, SUMMARY_VISIT_DURATION},
        {"visit", 5, -1},
        {"Visits", 6, -1},
        {"visitsx", 7, -1},
        {"", 0, -1},
        {"visits", -1, -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(summary_figure_of(rows[i].s, rows[i].len), rows[i].want);
        if (rows[i].want >= 0) {
            assert_string_equal(summary_figure_names[rows[i].want], rows[i].s);
        }
    }
}

static void
test_change(void **state)
{
    (void)state;
    assert_true(summary_change(150, 100) == 50);
    assert_true(summary_change(50, 100) == -50);
    assert_true(summary_change(100, 100) == 0);
    assert_true(summary_change(0, 4) == -100);
    /* Nothing before: no percent (the answer's null). */
    assert_true(isnan(summary_change(5, 0)));
    assert_true(isnan(summary_change(0, 0)));
    /* The same expression as the docs' and the checker's: (now - before) * 100 / before. */
    assert_true(summary_change(1, 3) == (1.0 - 3.0) * 100.0 / 3.0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
