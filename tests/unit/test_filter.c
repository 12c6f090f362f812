/* test_filter.c - unit tests for reporting/filter.c: the dimensions, a filter parameter's
 * parsing and its 400s, and which values pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "filter.h"
#include "rollup_doc.h"

/* The dimensions the processors' rollup_dims keep are the first ROLLUP_DIMS of enum filter_dim,
 * stored under the same fields in the same order: reporting's read of them (query_dims.c)
 * indexes one by the other. */
static void
test_dims_rollup_fields(void **state)
{
    (void)state;
    for (int d = 0; d < ROLLUP_DIMS; d++) {
        assert_int_equal(filter_dim_kind(d), FILTER_KIND_VISIT);
        assert_string_equal(filter_dim_field(d), rollup_dim_fields[d]);
    }
    assert_int_equal(ROLLUP_DIMS, FILTER_COUNTRY + 1);
}

static void
test_dimensions(void **state)
{
    static const struct {
        const char *s;
        int dim; /* -1: none */
        const char *key;
    } rows[] = {
        {"source", FILTER_SOURCE, ""},
        {"channel", FILTER_CHANNEL, ""},
        {"utm_campaign", FILTER_UTM_CAMPAIGN, ""},
        {"country", FILTER_COUNTRY, ""},
        {"entry_page", FILTER_ENTRY_PAGE, ""},
        {"exit_page", FILTER_EXIT_PAGE, ""},
        {"path", FILTER_PATH, ""},
        {"event_type", FILTER_EVENT_TYPE, ""},
        {"referrer", FILTER_REFERRER, ""},
        {"prop.plan", FILTER_PROP, "plan"},
        {"prop.A-b_9", FILTER_PROP, "A-b_9"},
        {"prop.", -1, NULL},
        {"prop", -1, NULL},
        {"prop.a.b", -1, NULL},
        {"prop.$gt", -1, NULL},
        {"prop.a b", -1, NULL},
        {"prop.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, NULL},
        {"Source", -1, NULL},
        {"sources", -1, NULL},
        {"", -1, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filter_dimension d;
        int rc = filter_dimension_parse(rows[i].s, strlen(rows[i].s), &d);
        assert_int_equal(rc, rows[i].dim < 0 ? -1 : 0);
        if (rows[i].dim >= 0) {
            char name[80];
            assert_int_equal(d.dim, rows[i].dim);
            assert_string_equal(d.key, rows[i].key);
            filter_dimension_name(&d, name, sizeof name);
            assert_string_equal(name, rows[i].s);
        }
    }
    /* The visit's dimensions and the events'. */
    assert_int_equal(filter_dim_kind(FILTER_SOURCE), FILTER_KIND_VISIT);
    assert_int_equal(filter_dim_kind(FILTER_EXIT_PAGE), FILTER_KIND_VISIT);
    assert_int_equal(filter_dim_kind(FILTER_PATH), FILTER_KIND_EVENT);
    assert_int_equal(filter_dim_kind(FILTER_PROP), FILTER_KIND_EVENT);
    assert_string_equal(filter_dim_field(FILTER_UTM_TERM), "utm_term");
    assert_null(filter_dim_field(FILTER_ENTRY_PAGE));
    assert_null(filter_dim_field(FILTER_REFERRER));
}

static void
test_parse(void **state)
{
    static const struct {
        const char *s;
        int dim, op, none;
        const char *value; /* or the 400's message */
    } rows[] = {
        {"source:is:Google", FILTER_SOURCE, FILTER_IS, 0, "Google"},
        {"path:is_not:/a:b", FILTER_PATH, FILTER_IS_NOT, 0, "/a:b"},
        {"prop.plan:contains:pr", FILTER_PROP, FILTER_CONTAINS, 0, "pr"},
        {"country:is:(none)", FILTER_COUNTRY, FILTER_IS, 1, "(none)"},
        {"country:is_not:(none)", FILTER_COUNTRY, FILTER_IS_NOT, 1, "(none)"},
        {"country:contains:(none)", FILTER_COUNTRY, FILTER_CONTAINS, 0, "(none)"},
        {"path", -1, 0, 0,
         "Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path'"},
        {"path:is", -1, 0, 0,
         "Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path:is'"},
        {"path:is:", -1, 0, 0,
         "Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path:is:'"},
        {"colour:is:red", -1, 0, 0,
         "Unknown filter dimension 'colour': see docs/api.md (Filters) for the list"},
        {"prop.a.b:is:x", -1, 0, 0,
         "Unknown filter dimension 'prop.a.b': see docs/api.md (Filters) for the list"},
        {"path:like:/x", -1, 0, 0, "Unknown filter operator 'like': use is, is_not or contains"},
        {"path::/x", -1, 0, 0, "Unknown filter operator '': use is, is_not or contains"},
        {"path:IS:/x", -1, 0, 0, "Unknown filter operator 'IS': use is, is_not or contains"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filter f;
        char msg[160] = "";
        int rc = filter_parse(rows[i].s, &f, msg, sizeof msg);
        if (rows[i].dim < 0) {
            assert_int_equal(rc, -1);
            assert_string_equal(msg, rows[i].value);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(f.d.dim, rows[i].dim);
        assert_int_equal(f.op, rows[i].op);
        assert_int_equal(f.none, rows[i].none);
        assert_string_equal(f.value, rows[i].value);
    }
}

/* A value of FILTER_VALUE_MAX bytes is taken, one more refused. */
static void
test_value_length(void **state)
{
    char s[FILTER_VALUE_MAX + 16], msg[160];
    struct filter f;

    (void)state;
    memcpy(s, "path:is:", 8);
    memset(s + 8, 'x', FILTER_VALUE_MAX);
    s[8 + FILTER_VALUE_MAX] = '\0';
    assert_int_equal(filter_parse(s, &f, msg, sizeof msg), 0);
    assert_int_equal(strlen(f.value), FILTER_VALUE_MAX);
    s[8 + FILTER_VALUE_MAX] = 'x';
    s[9 + FILTER_VALUE_MAX] = '\0';
    assert_int_equal(filter_parse(s, &f, msg, sizeof msg), -1);
    assert_string_equal(msg, "A filter's value may be at most 256 bytes");
}

static void
test_pass(void **state)
{
    static const struct {
        const char *filter, *value; /* value NULL: absent */
        int want;
    } rows[] = {
        {"source:is:Google", "Google", 1},
        {"source:is:Google", "google", 0},
        {"source:is:Google", "Google ", 0},
        {"source:is:Google", NULL, 0},
        {"source:is:Google", "", 0},
        {"source:is_not:Google", "Google", 0},
        {"source:is_not:Google", "Bing", 1},
        {"source:is_not:Google", NULL, 1},
        {"source:is:(none)", NULL, 1},
        {"source:is:(none)", "", 1},
        {"source:is:(none)", "Google", 0},
        {"source:is_not:(none)", NULL, 0},
        {"source:is_not:(none)", "Google", 1},
        {"path:contains:/blog", "/blog/a", 1},
        {"path:contains:/blog", "/en/blog", 1},
        {"path:contains:/blog", "/Blog", 0},
        {"path:contains:/blog", NULL, 0},
        {"path:contains:(none)", NULL, 0},
        {"path:contains:(none)", "a(none)b", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filter f;
        char msg[160];
        assert_int_equal(filter_parse(rows[i].filter, &f, msg, sizeof msg), 0);
        assert_int_equal(filter_pass(&f, rows[i].value), rows[i].want);
    }
}

static void
test_have(void **state)
{
    struct filters fs = {0};
    char msg[160];

    (void)state;
    assert_false(filters_have(&fs, FILTER_KIND_VISIT));
    assert_int_equal(filter_parse("path:is:/", &fs.f[fs.n++], msg, sizeof msg), 0);
    assert_false(filters_have(&fs, FILTER_KIND_VISIT));
    assert_true(filters_have(&fs, FILTER_KIND_EVENT));
    assert_int_equal(filter_parse("exit_page:is:/", &fs.f[fs.n++], msg, sizeof msg), 0);
    assert_true(filters_have(&fs, FILTER_KIND_VISIT));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dimensions),   cmocka_unit_test(test_parse),
        cmocka_unit_test(test_value_length), cmocka_unit_test(test_pass),
        cmocka_unit_test(test_have),         cmocka_unit_test(test_dims_rollup_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
