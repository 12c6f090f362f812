/* test_params.c - unit tests for reporting/params.c: query-string parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"

/* Look name up in qs, first filling out with '#' so that a missing NUL or a
 * stray write shows up in the assertions that follow. */
static int
param(const char *qs, const char *name, char *out, size_t outsz)
{
    memset(out, '#', outsz);
    return params_find(qs, name, out, outsz);
}

static void
test_present(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("site_id=site-abc-123&date=2025-11-15", "site_id", out, sizeof out), 12);
    assert_string_equal(out, "site-abc-123");
    assert_int_equal(param("site_id=site-abc-123&date=2025-11-15", "date", out, sizeof out), 10);
    assert_string_equal(out, "2025-11-15");
    assert_int_equal(param("a=1&b=2&c=3", "b", out, sizeof out), 1);
    assert_string_equal(out, "2");
    assert_int_equal(param("only=x", "only", out, sizeof out), 1);
    assert_string_equal(out, "x");
    /* Everything after the first '=' is the value. */
    assert_int_equal(param("k=a=b", "k", out, sizeof out), 3);
    assert_string_equal(out, "a=b");
}

/* A repeated parameter's occurrences, in order; past the last, absent. */
static void
test_nth(void **state)
{
    static const struct {
        const char *qs;
        int nth, want;
        const char *value;
    } rows[] = {
        {"filter=a&x=1&filter=b%3Ac&filter=", 0, 1, "a"},
        {"filter=a&x=1&filter=b%3Ac&filter=", 1, 3, "b:c"},
        {"filter=a&x=1&filter=b%3Ac&filter=", 2, 0, ""},
        {"filter=a&x=1&filter=b%3Ac&filter=", 3, -1, NULL},
        {"filters=a&filter=b", 0, 1, "b"},
        {"filter=%zz&filter=b", 0, -2, NULL},
        {"filter=%zz&filter=b", 1, 1, "b"},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(out, '#', sizeof out);
        assert_int_equal(params_find_nth(rows[i].qs, "filter", rows[i].nth, out, sizeof out),
                         rows[i].want);
        if (rows[i].value != NULL) {
            assert_string_equal(out, rows[i].value);
        }
    }
}

static void
test_has(void **state)
{
    (void)state;
    assert_true(params_has("a=1&filter=x", "filter"));
    assert_true(params_has("filter=", "filter"));
    assert_true(params_has("filter", "filter"));
    assert_true(params_has("filter=%zz", "filter"));
    assert_false(params_has("filters=1&xfilter=2", "filter"));
    assert_false(params_has("", "filter"));
}

static void
test_absent(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("", "date", out, sizeof out), -1);
    assert_int_equal(param("site_id=x", "date", out, sizeof out), -1);
    assert_int_equal(param("dates=1&xdate=2&dat=3&date_x=4", "date", out, sizeof out), -1);
    assert_int_equal(param("&&&", "date", out, sizeof out), -1);
    assert_int_equal(param("x=date&y=date=1", "date", out, sizeof out), -1);
    /* Names are case-sensitive. */
    assert_int_equal(param("DATE=2025-11-15", "date", out, sizeof out), -1);
}

static void
test_first_occurrence_wins(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("date=first&date=second", "date", out, sizeof out), 5);
    assert_string_equal(out, "first");
    assert_int_equal(param("date=&date=second", "date", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void
test_name_prefix_of_another(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("date_x=1&date=2", "date", out, sizeof out), 1);
    assert_string_equal(out, "2");
    assert_int_equal(param("datex=1&date=2", "date", out, sizeof out), 1);
    assert_string_equal(out, "2");
    assert_int_equal(param("site=a&site_id=b", "site_id", out, sizeof out), 1);
    assert_string_equal(out, "b");
    assert_int_equal(param("site_id=b&site=a", "site", out, sizeof out), 1);
    assert_string_equal(out, "a");
    assert_int_equal(param("event_type_x=a&event_type=b", "event_type", out, sizeof out), 1);
    assert_string_equal(out, "b");
}

static void
test_empty_value(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("date=&site_id=s", "date", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(param("site_id=s&date=", "date", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void
test_name_without_equals(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("debug&date=1", "debug", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(param("date=1&debug", "debug", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(param("debugger&date=1", "debug", out, sizeof out), -1);
}

static void
test_percent_decoding(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("q=a%20b", "q", out, sizeof out), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(param("path=%2Fblog%2fpost-1", "path", out, sizeof out), 12);
    assert_string_equal(out, "/blog/post-1");
    assert_int_equal(param("q=a+b+c", "q", out, sizeof out), 5);
    assert_string_equal(out, "a b c");
    assert_int_equal(param("q=1%2B1%3D2", "q", out, sizeof out), 5);
    assert_string_equal(out, "1+1=2");
    assert_int_equal(param("q=%26%25", "q", out, sizeof out), 2);
    assert_string_equal(out, "&%");
    /* UTF-8 bytes come through as bytes. */
    assert_int_equal(param("site_id=caf%C3%A9", "site_id", out, sizeof out), 5);
    assert_string_equal(out, "caf\xc3\xa9");
    assert_int_equal(param("q=%41%42%43", "q", out, sizeof out), 3);
    assert_string_equal(out, "ABC");
}

static void
test_bad_escapes(void **state)
{
    static const char *const bad[] = {
        "q=%zz", "q=%",   "q=%4",     "q=abc%",  "q=abc%4", "q=%4g", "q=%g4",
        "q=%%",  "q=% 1", "q=%4&x=1", "q=%&x=1", "q=%-1",   "q=%+1", "q=1%2",
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = param(bad[i], "q", out, sizeof out);
        if (rc != -2) {
            fail_msg("\"%s\" gave %d, not -2", bad[i], rc);
        }
    }
}

static void
test_nul_escape_rejected(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("site_id=%00", "site_id", out, sizeof out), -2);
    assert_int_equal(param("site_id=abc%00def", "site_id", out, sizeof out), -2);
    assert_int_equal(param("site_id=abc%00", "site_id", out, sizeof out), -2);
}

static void
test_bad_escape_in_other_param_ignored(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(param("x=%zz&date=2025-11-15&y=%00", "date", out, sizeof out), 10);
    assert_string_equal(out, "2025-11-15");
}

static void
test_value_fits_exactly(void **state)
{
    char out[8];

    (void)state;
    /* 7 bytes and the NUL fill 8 exactly. */
    assert_int_equal(param("q=1234567", "q", out, sizeof out), 7);
    assert_string_equal(out, "1234567");
    /* A decoded escape counts as one byte. */
    assert_int_equal(param("q=%41%42%43%44%45%46%47", "q", out, sizeof out), 7);
    assert_string_equal(out, "ABCDEFG");
    assert_int_equal(param("q=", "q", out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(param("q=a", "q", out, 2), 1);
    assert_string_equal(out, "a");
}

static void
test_value_does_not_fit(void **state)
{
    char out[16];

    (void)state;
    memset(out, '#', sizeof out);
    assert_int_equal(params_find("q=12345678", "q", out, 8), -2);
    /* Nothing is written past outsz. */
    for (size_t i = 8; i < sizeof out; i++) {
        assert_int_equal(out[i], '#');
    }
    assert_int_equal(params_find("q=%41%42%43%44%45%46%47%48", "q", out, 8), -2);
    memset(out, '#', sizeof out);
    assert_int_equal(params_find("q=a", "q", out, 1), -2);
    assert_int_equal(out[1], '#');
}

static void
test_zero_size_buffer(void **state)
{
    /* With outsz 0 not even the NUL fits, so nothing may be written. */
    char out[2] = {'#', '#'};

    (void)state;
    assert_int_equal(params_find("q=a", "q", out, 0), -2);
    assert_int_equal(out[0], '#');
    assert_int_equal(params_find("q=", "q", out, 0), -2);
    assert_int_equal(out[0], '#');
    assert_int_equal(params_find("q", "q", out, 0), -2);
    assert_int_equal(out[0], '#');
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_present),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_first_occurrence_wins),
        cmocka_unit_test(test_name_prefix_of_another),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_name_without_equals),
        cmocka_unit_test(test_nth),
        cmocka_unit_test(test_has),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_nul_escape_rejected),
        cmocka_unit_test(test_bad_escape_in_other_param_ignored),
        cmocka_unit_test(test_value_fits_exactly),
        cmocka_unit_test(test_value_does_not_fit),
        cmocka_unit_test(test_zero_size_buffer),
    };

    return cmocka_run_group_tests_name("params: query-string parameters", tests, NULL, NULL);
}
