/* test_goals_plan.c - unit tests for GET /stats/goals's pure parts (reporting/goals_plan.h):
 * the built-in types, goal= and by=, the aggregation as JSON, the rows read from its
 * document, their order and limit, and the conversion rate. The read itself is checked
 * against real servers in tests/it/it_goals.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "goals_plan.h"
#include "ts.h"

#define NOV15 1763164800000LL /* 2025-11-15T00:00:00Z */

static void
test_builtin(void **state)
{
    static const struct {
        const char *t;
        int want;
    } rows[] = {
        {"page_view", 1}, {"click", 1},    {"scroll", 1},    {"mousemove", 1},
        {"form", 1},      {"signup", 0},   {"Page_view", 0}, {"page_view ", 0},
        {"forms", 0},     {"purchase", 0}, {"", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(goals_builtin(rows[i].t), rows[i].want);
    }
}

static void
test_params(void **state)
{
    static const struct {
        const char *goal;
        int goal_len; /* as reporting_param() gives it */
        const char *by;
        int by_len;
        const char *want; /* NULL: accepted */
        const char *key;
    } rows[] = {
        {"", 0, "", 0, NULL, ""},
        {"signup", 6, "", 0, NULL, ""},
        {"signup", 6, "prop.plan", 9, NULL, "plan"},
        {"signup", 6, "prop.Plan_2-x", 13, NULL, "Plan_2-x"},
        {"signup", 6, "prop.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 69,
         NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        /* goal */
        {"", -1, "", 0, GOALS_ERR_GOAL, ""},
        {"page_view", 9, "", 0, GOALS_ERR_BUILTIN, ""},
        {"click", 5, "prop.plan", 9, GOALS_ERR_BUILTIN, ""},
        {"form", 4, "", 0, GOALS_ERR_BUILTIN, ""},
        /* by: only prop.<key>, the key 1-64 of [A-Za-z0-9_-] */
        {"signup", 6, "", -1, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.", 5, GOALS_ERR_BY, ""},
        {"signup", 6, "prop", 4, GOALS_ERR_BY, ""},
        {"signup", 6, "path", 4, GOALS_ERR_BY, ""},
        {"signup", 6, "props.plan", 10, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.a.b", 8, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.$where", 11, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.a$b", 8, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.a b", 8, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.\xc3\xa9", 7, GOALS_ERR_BY, ""},
        {"signup", 6, "prop.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 70,
         GOALS_ERR_BY, ""},
        /* by without goal */
        {"", 0, "prop.plan", 9, GOALS_ERR_BY_GOAL, ""},
        {"", 0, "prop.", 5, GOALS_ERR_BY, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char key[GOALS_KEY_MAX + 1] = "junk";
        const char *got =
            goals_params(rows[i].goal, rows[i].goal_len, rows[i].by, rows[i].by_len, key);
        if (rows[i].want == NULL) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, rows[i].want);
        }
        assert_string_equal(key, rows[i].key);
    }
}

/* The pipeline's canonical JSON, without spaces. */
static char *
pipeline_json(const char *goal, const char *key)
{
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 2);
    bson_t *p = goals_pipeline("site-1", &r, goal, key);
    char *j = bson_as_relaxed_extended_json(p, NULL), *o = j;

    for (const char *c = j; *c != '\0'; c++) {
        if (*c != ' ') {
            *o++ = *c;
        }
    }
    *o = '\0';
    bson_destroy(p);
    return j;
}

static void
test_pipeline(void **state)
{
#define MATCH(types)                                                                               \
    "{\"$match\":{\"site_id\":\"site-1\",\"timestamp\":{\"$gte\":{\"$date\":\"2025-11-15T00:00:"   \
    "00Z\"},\"$lt\":{\"$date\":\"2025-11-17T00:00:00Z\"}},\"event_type\":" types "}}"
#define CAP ",{\"$sort\":{\"_id\":1}},{\"$limit\":1001}]"
#define FACETS(f, ref)                                                                             \
    "\"events\":[{\"$match\":{\"" f "\":{\"$gt\":\"\"}}},{\"$group\":{\"_id\":\"" ref              \
    "\",\"n\":{\"$sum\":1}}}" CAP ",\"visitors\":[{\"$match\":{\"user_id\":{\"$gt\":\"\"},\"" f    \
    "\":{\"$gt\":\"\"}}},{\"$group\":{\"_id\":\"$user_id\",\"v\":{\"$addToSet\":\"" ref            \
    "\"}}},{\"$unwind\":\"$v\"},{\"$group\":{\"_id\":\"$v\",\"n\":{\"$sum\":1}}}" CAP
    static const struct {
        const char *goal, *key, *want;
    } rows[] = {
        {NULL, "",
         "{\"pipeline\":[" MATCH("{\"$nin\":[\"page_view\",\"click\",\"scroll\",\"mousemove\","
                                 "\"form\"]}") ",{\"$"
                                               "facet\":"
                                               "{" FACETS("event_"
                                                          "type",
                                                          "$event_"
                                                          "type") "}}]}"},
        {"sign\"up", "",
         "{\"pipeline\":[" MATCH("\"sign\\\"up\"") ",{\"$facet\":{" FACETS("event_type",
                                                                           "$event_type") "}}]}"},
        {"signup", "plan",
         "{\"pipeline\":[" MATCH("\"signup\"") ",{\"$facet\":{" FACETS(
             "properties.plan",
             "$properties.plan") ",\"none_events\":[{\"$match\":{\"properties.plan\":{\"$not\":{"
                                 "\"$gt\":\"\"}}}},{\"$count\":\"n\"}],\"none_visitors\":[{\"$"
                                 "match\":{\"user_id\":{\"$gt\":\"\"},\"properties.plan\":{\"$not\""
                                 ":{\"$gt\":\"\"}}}},{\"$group\":{\"_id\":\"$user_id\"}},{\"$"
                                 "count\":\"n\"}]}}]}"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *got = pipeline_json(rows[i].goal, rows[i].key);
        assert_string_equal(got, rows[i].want);
        bson_free(got);
    }
}

static void
test_rows(void **state)
{
    static const struct {
        int none;
        const char *doc;
        int want_rc;
        const char *want; /* "name:visitors:events,..." after ranking, limit 10 */
    } rows[] = {
        {0, "{\"events\":[],\"visitors\":[]}", 0, ""},
        {0, "{}", 0, ""},
        /* Visitors join events by name; a type with no visitor has 0. */
        {0,
         "{\"events\":[{\"_id\":\"b\",\"n\":5},{\"_id\":\"a\",\"n\":2},{\"_id\":\"c\",\"n\":5}],"
         "\"visitors\":[{\"_id\":\"a\",\"n\":2},{\"_id\":\"c\",\"n\":1}]}",
         0, "a:2:2,c:1:5,b:0:5"},
        /* Ties: visitors, then events, then the name's bytes. */
        {0,
         "{\"events\":[{\"_id\":\"b\",\"n\":3},{\"_id\":\"a\",\"n\":3},{\"_id\":\"B\",\"n\":3},{"
         "\"_id\":\"d\",\"n\":4}],\"visitors\":[{\"_id\":\"a\",\"n\":1},{\"_id\":\"b\",\"n\":1},{"
         "\"_id\":\"B\",\"n\":1},{\"_id\":\"d\",\"n\":1}]}",
         0, "d:1:4,B:1:3,a:1:3,b:1:3"},
        /* Rows without a string _id are skipped; a visitor row without events is dropped. */
        {0,
         "{\"events\":[{\"_id\":null,\"n\":9},{\"_id\":\"x\",\"n\":{\"$numberLong\":\"7\"}}],"
         "\"visitors\":[{\"_id\":\"y\",\"n\":4},{\"_id\":\"x\",\"n\":3.0}]}",
         0, "x:3:7"},
        /* (none): with a key, when it has events. */
        {1,
         "{\"events\":[{\"_id\":\"pro\",\"n\":2}],\"visitors\":[{\"_id\":\"pro\",\"n\":1}],"
         "\"none_events\":[{\"n\":3}],\"none_visitors\":[{\"n\":2}]}",
         0, "(none):2:3,pro:1:2"},
        {1,
         "{\"events\":[{\"_id\":\"pro\",\"n\":2}],\"visitors\":[],\"none_events\":[],"
         "\"none_visitors\":[]}",
         0, "pro:0:2"},
        {1, "{\"events\":[],\"visitors\":[],\"none_events\":[{\"n\":1}],\"none_visitors\":[]}", 0,
         "(none):0:1"},
        {0, "{\"events\":[],\"visitors\":[],\"none_events\":[{\"n\":1}]}", 0, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bson_error_t e;
        bson_t *doc = bson_new_from_json((const uint8_t *)rows[i].doc, -1, &e);
        struct goal_rows g;
        char got[512] = "";
        assert_non_null(doc);
        assert_int_equal(goal_rows_of(doc, rows[i].none, &g), rows[i].want_rc);
        goal_rows_rank(&g, 10);
        for (size_t k = 0; k < g.n; k++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s:%lld:%lld", k > 0 ? "," : "",
                     g.rows[k].name, (long long)g.rows[k].visitors, (long long)g.rows[k].events);
        }
        assert_string_equal(got, rows[i].want);
        goal_rows_clear(&g);
        bson_destroy(doc);
    }
}

/* A facet of n rows {_id: "v<i>", n: 1}. */
static bson_t *
doc_of(const char *facet, int n)
{
    bson_t *doc = bson_new(), arr, row;

    bson_append_array_begin(doc, facet, -1, &arr);
    for (int i = 0; i < n; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "%d", i);
        snprintf(v, sizeof v, "v%05d", i);
        bson_append_document_begin(&arr, k, -1, &row);
        BSON_APPEND_UTF8(&row, "_id", v);
        BSON_APPEND_INT32(&row, "n", 1);
        bson_append_document_end(&arr, &row);
    }
    bson_append_array_end(doc, &arr);
    return doc;
}

static void
test_too_many(void **state)
{
    static const struct {
        const char *facet;
        int n, none, want_rc;
        size_t want_n;
    } rows[] = {
        {"events", GOALS_VALUES_MAX, 0, 0, GOALS_VALUES_MAX},
        {"events", GOALS_VALUES_MAX + 1, 0, 1, 0},
        {"visitors", GOALS_VALUES_MAX, 0, 0, 0},
        {"visitors", GOALS_VALUES_MAX + 1, 0, 1, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bson_t *doc = doc_of(rows[i].facet, rows[i].n);
        struct goal_rows g;
        assert_int_equal(goal_rows_of(doc, rows[i].none, &g), rows[i].want_rc);
        assert_int_equal(g.n, rows[i].want_n);
        goal_rows_rank(&g, 100);
        assert_int_equal(g.n, rows[i].want_n < 100 ? rows[i].want_n : 100);
        goal_rows_clear(&g);
        bson_destroy(doc);
    }
    {
        /* The most values, and (none) beside them. */
        bson_t *doc = doc_of("events", GOALS_VALUES_MAX);
        struct goal_rows g;
        BCON_APPEND(doc, "none_events", "[", "{", "n", BCON_INT32(2), "}", "]");
        assert_int_equal(goal_rows_of(doc, 1, &g), 0);
        assert_int_equal(g.n, GOALS_VALUES_MAX + 1);
        goal_rows_rank(&g, 1);
        assert_int_equal(g.n, 1);
        assert_string_equal(g.rows[0].name, GOALS_NONE);
        goal_rows_clear(&g);
        bson_destroy(doc);
    }
}

static void
test_rate(void **state)
{
    static const struct {
        int64_t converted, visitors;
        double want;
    } rows[] = {
        {0, 0, 0}, {3, 0, 0}, {0, 5, 0}, {1, 4, 25}, {2, 3, 200.0 / 3}, {5, 5, 100}, {7, 2, 350},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_true(goals_rate(rows[i].converted, rows[i].visitors) == rows[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),  cmocka_unit_test(test_params),
        cmocka_unit_test(test_pipeline), cmocka_unit_test(test_rows),
        cmocka_unit_test(test_too_many), cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
