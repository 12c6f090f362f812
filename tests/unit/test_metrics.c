/* test_metrics.c - unit tests for common/metrics.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void
test_family_and_samples(void **state)
{
    struct metrics_buf b;

    (void)state;
    metrics_buf_init(&b);
    metrics_family(&b, "x_total", "counter", "Things.");
    metrics_sample(&b, "x_total", "a=\"1\"", 3);
    metrics_sample(&b, "x_total", NULL, 0.5);
    metrics_sample(&b, "x_total", "", 12345678901.0);
    assert_false(b.failed);
    assert_string_equal(b.data, "# HELP x_total Things.\n# TYPE x_total counter\n"
                                "x_total{a=\"1\"} 3\nx_total 0.5\nx_total 12345678901\n");
    assert_int_equal(b.len, strlen(b.data));
    metrics_buf_free(&b);
    assert_null(b.data);
}

static void
test_buffer_grows(void **state)
{
    struct metrics_buf b;
    size_t expect = 0;

    (void)state;
    metrics_buf_init(&b);
    for (int i = 0; i < 5000; i++) {
        metrics_printf(&b, "line %d\n", i);
        expect += (size_t)snprintf(NULL, 0, "line %d\n", i);
    }
    assert_false(b.failed);
    assert_int_equal(b.len, expect);
    assert_int_equal(strlen(b.data), expect);
    assert_memory_equal(b.data, "line 0\nline 1\n", 14);
    assert_non_null(strstr(b.data, "line 4999\n"));
    metrics_buf_free(&b);
}

static void
test_table(void **state)
{
    struct metrics_histogram h;
    static const double bounds[] = {1};
    struct metrics_buf b;

    (void)state;
    metrics_histogram_init(&h, bounds, 1);
    metrics_observe(&h, 0.5);
    const struct metrics_row rows[] = {
        {"depth", "gauge", "Queue depth.", NULL, NULL, 7, NULL, NULL, NULL},
        {"x_total", "counter", "Things, by reason.", "reason", "a", 1, NULL, NULL, NULL},
        {"x_total", "gauge", "(not read)", "reason", "b", 2, NULL, NULL, NULL},
        {"size", "histogram", "Sizes.", NULL, NULL, 0, &h, NULL, NULL},
        {"depth", "gauge", "Again.", NULL, NULL, 8, NULL, NULL, NULL},
        {"conns", "gauge", "Two labels.", "listener", "public", 3, NULL, "state", "idle"},
    };
    metrics_buf_init(&b);
    METRICS_TABLE(&b, rows);
    assert_string_equal(b.data, "# HELP depth Queue depth.\n# TYPE depth gauge\ndepth 7\n"
                                "# HELP x_total Things, by reason.\n# TYPE x_total counter\n"
                                "x_total{reason=\"a\"} 1\nx_total{reason=\"b\"} 2\n"
                                "# HELP size Sizes.\n# TYPE size histogram\n"
                                "size_bucket{le=\"1\"} 1\nsize_bucket{le=\"+Inf\"} 1\n"
                                "size_sum 0.500000\nsize_count 1\n"
                                "# HELP depth Again.\n# TYPE depth gauge\ndepth 8\n"
                                "# HELP conns Two labels.\n# TYPE conns gauge\n"
                                "conns{listener=\"public\",state=\"idle\"} 3\n");
    metrics_buf_free(&b);
}

static void
test_label_escape(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(metrics_label_escape("host:42:ab", out, sizeof out), 0);
    assert_string_equal(out, "host:42:ab");
    /* Backslash, double quote and newline are escaped; nothing else is. */
    assert_int_equal(metrics_label_escape("a\\b\"c\nd\te", out, sizeof out), 0);
    assert_string_equal(out, "a\\\\b\\\"c\\nd\te");
    assert_int_equal(metrics_label_escape("", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void
test_label_escape_too_long(void **state)
{
    char out[8];

    (void)state;
    /* Seven characters and the NUL fit exactly; the escaped pair counts as two. */
    assert_int_equal(metrics_label_escape("abcdefg", out, sizeof out), 0);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(metrics_label_escape("abcdefgh", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(metrics_label_escape("abcdef\"", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(metrics_label_escape("abcde\"", out, sizeof out), 0);
    assert_string_equal(out, "abcde\\\"");
    assert_int_equal(metrics_label_escape("x", out, 0), -1);
}

static void
test_histogram_buckets_are_cumulative(void **state)
{
    static const double bounds[] = {1, 5, 10};
    struct metrics_histogram h;
    struct metrics_buf b;

    (void)state;
    metrics_histogram_init(&h, bounds, 3);
    metrics_observe(&h, 0.5); /* le 1 */
    metrics_observe(&h, 1);   /* a value equal to a bound belongs to that bucket */
    metrics_observe(&h, 3);   /* le 5 */
    metrics_observe(&h, 50);  /* +Inf only */
    metrics_buf_init(&b);
    metrics_histogram_render(&b, "h", "r=\"x\"", &h);
    assert_false(b.failed);
    assert_string_equal(b.data, "h_bucket{r=\"x\",le=\"1\"} 2\n"
                                "h_bucket{r=\"x\",le=\"5\"} 3\n"
                                "h_bucket{r=\"x\",le=\"10\"} 3\n"
                                "h_bucket{r=\"x\",le=\"+Inf\"} 4\n"
                                "h_sum{r=\"x\"} 54.500000\n"
                                "h_count{r=\"x\"} 4\n");
    metrics_buf_free(&b);
}

static void
test_histogram_without_labels(void **state)
{
    struct metrics_histogram h;
    struct metrics_buf b;

    (void)state;
    metrics_histogram_init(&h, metrics_latency_bounds, metrics_latency_n);
    metrics_observe(&h, 0.0002);
    metrics_buf_init(&b);
    metrics_histogram_render(&b, "lat", NULL, &h);
    assert_non_null(strstr(b.data, "lat_bucket{le=\"0.0001\"} 0\n"));
    assert_non_null(strstr(b.data, "lat_bucket{le=\"0.00025\"} 1\n"));
    assert_non_null(strstr(b.data, "lat_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(b.data, "lat_sum 0.000200\n"));
    assert_non_null(strstr(b.data, "lat_count 1\n"));
    metrics_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples),
        cmocka_unit_test(test_buffer_grows),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_label_escape_too_long),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_histogram_without_labels),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
