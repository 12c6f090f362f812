/* test_funnel_plan.c - unit tests for GET /stats/funnel's pure parts (reporting/funnel_plan.h):
 * steps= and its 400s, a step's match, the aggregation as JSON, the walk over visits (the
 * step each reached and each step's distinct visitors), its cap, and the conversion rate. The
 * read itself is checked against real servers in tests/it/it_funnel.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "funnel_plan.h"
#include "goals_plan.h"
#include "ts.h"

#define NOV15 1763164800000LL /* 2025-11-15T00:00:00Z */

/* The steps of f by name, joined by '|'. */
static void
names_of(const struct funnel *f, char *out, size_t outsz)
{
    out[0] = '\0';
    for (size_t i = 0; i < f->n; i++) {
        char name[FUNNEL_VALUE_MAX + 8];
        if (i > 0) {
            strncat(out, "|", outsz - strlen(out) - 1);
        }
        strncat(out, funnel_step_name(&f->steps[i], name, sizeof name), outsz - strlen(out) - 1);
    }
}

/* Parse steps, which must be good, into f. */
static void
parse_ok(const char *steps, struct funnel *f)
{
    char msg[160];

    if (funnel_parse(steps, (int)strlen(steps), f, msg, sizeof msg) != 0) {
        fail_msg("%s: %s", steps, msg);
    }
}

static void
test_parse(void **state)
{
    char v256[FUNNEL_VALUE_MAX + 1], v257[FUNNEL_VALUE_MAX + 2];
    char ok256[300], long257[300], want256[300];
    static const char *const many =
        "path:/1,path:/2,path:/3,path:/4,path:/5,path:/6,path:/7,path:/8,path:/9";
    static const char *const eight =
        "path:/1,path:/2,path:/3,path:/4,path:/5,path:/6,path:/7,event:e8";
    struct {
        const char *steps;
        int len;          /* -2: strlen(steps) */
        const char *want; /* the steps' names joined by '|', or the 400 */
        int rc;
    } rows[] = {
        {"path:/,path:/pricing,event:signup", -2, "path:/|path:/pricing|event:signup", 0},
        {"event:a,event:a", -2, "event:a|event:a", 0},
        {"path:a b,path:/x:y", -2, "path:a b|path:/x:y", 0},
        {"path:event:x,event:path:y", -2, "path:event:x|event:path:y", 0},
        {eight, -2, "path:/1|path:/2|path:/3|path:/4|path:/5|path:/6|path:/7|event:e8", 0},
        {ok256, -2, want256, 0},
        {"", 0, FUNNEL_ERR_MISSING, -1},
        {"", -1, FUNNEL_ERR_PARAM, -1},
        {"path:/", -2, "Parameter 'steps' must list 2 to 8 steps, comma-separated; it has 1", -1},
        {"foo", -2, "Parameter 'steps' must list 2 to 8 steps, comma-separated; it has 1", -1},
        {many, -2, "Parameter 'steps' must list 2 to 8 steps, comma-separated; it has 9", -1},
        {"path:/,pricing", -2,
         "Parameter 'steps': step 2 must be path:<path> or event:<event_type>", -1},
        {"Path:/,path:/x", -2,
         "Parameter 'steps': step 1 must be path:<path> or event:<event_type>", -1},
        {"path:/,,event:x", -2,
         "Parameter 'steps': step 2 must be path:<path> or event:<event_type>", -1},
        {"path:/,event:x,", -2,
         "Parameter 'steps': step 3 must be path:<path> or event:<event_type>", -1},
        {"path /,event:x", -2,
         "Parameter 'steps': step 1 must be path:<path> or event:<event_type>", -1},
        {"path:/,event:", -2, "Parameter 'steps': step 2 has an empty value", -1},
        {"path:,event:x", -2, "Parameter 'steps': step 1 has an empty value", -1},
        {long257, -2, "Parameter 'steps': step 2 is longer than 256 bytes", -1},
    };
    (void)state;
    memset(v256, 'a', FUNNEL_VALUE_MAX);
    v256[FUNNEL_VALUE_MAX] = '\0';
    memset(v257, 'b', FUNNEL_VALUE_MAX + 1);
    v257[FUNNEL_VALUE_MAX + 1] = '\0';
    snprintf(ok256, sizeof ok256, "event:x,path:%s", v256);
    snprintf(want256, sizeof want256, "event:x|path:%s", v256);
    snprintf(long257, sizeof long257, "event:x,event:%s", v257);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct funnel f;
        char msg[160] = "junk", names[2400];
        int len = rows[i].len == -2 ? (int)strlen(rows[i].steps) : rows[i].len;
        int rc = funnel_parse(rows[i].steps, len, &f, msg, sizeof msg);
        assert_int_equal(rc, rows[i].rc);
        if (rc == 0) {
            names_of(&f, names, sizeof names);
            assert_string_equal(names, rows[i].want);
        } else {
            assert_string_equal(msg, rows[i].want);
        }
    }
}

static void
test_match(void **state)
{
    static const struct {
        const char *step, *type, *path;
        int want;
    } rows[] = {
        {"path:/pricing", "page_view", "/pricing", 1},
        {"path:/pricing", "page_view", "/pricing/", 0},
        {"path:/pricing", "page_view", "/Pricing", 0},
        {"path:/pricing", "click", "/pricing", 0},
        {"path:/pricing", "page_view", NULL, 0},
        {"path:/pricing", NULL, "/pricing", 0},
        {"event:signup", "signup", "/anything", 1},
        {"event:signup", "signup", NULL, 1},
        {"event:signup", "Signup", NULL, 0},
        {"event:signup", "signups", NULL, 0},
        {"event:page_view", "page_view", "/x", 1},
        {"event:signup", NULL, NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct funnel f;
        char steps[64];
        snprintf(steps, sizeof steps, "%s,event:x", rows[i].step);
        parse_ok(steps, &f);
        assert_int_equal(funnel_step_match(&f.steps[0], rows[i].type, rows[i].path), rows[i].want);
    }
}

/* The pipeline's canonical JSON, without spaces. */
static char *
pipeline_json(const char *steps)
{
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 2);
    struct funnel f;
    bson_t *p;
    char *j, *o;

    parse_ok(steps, &f);
    p = funnel_pipeline("site-1", &r, &f);
    j = bson_as_relaxed_extended_json(p, NULL);
    o = j;
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
#define HEAD                                                                                       \
    "{\"pipeline\":[{\"$match\":{\"site_id\":\"site-1\",\"visit_start\":{\"$gte\":{\"$date\":"     \
    "\"2025-11-15T00:00:00Z\"},\"$lt\":{\"$date\":\"2025-11-17T00:00:00Z\"}},\"$or\":[{\"event_"   \
    "type\":{\"$in\":"
#define TAIL                                                                                       \
    "}}]}},{\"$sort\":{\"visit_id\":1,\"visit_seq\":1}},{\"$project\":{\"_id\":0,\"visit_id\":1,"  \
    "\"visit_seq\":1,\"user_id\":1,\"event_type\":1,\"path\":1}}]}"
    static const struct {
        const char *steps, *want;
    } rows[] = {
        {"path:/,path:/pricing,event:signup,path:/,event:pay",
         HEAD "[\"signup\",\"pay\"]}},{\"event_type\":\"page_view\",\"path\":{\"$in\":[\"/\","
              "\"/pricing\",\"/\"]" TAIL},
        {"path:/a,path:/b",
         HEAD "[]}},{\"event_type\":\"page_view\",\"path\":{\"$in\":[\"/a\",\"/b\"]" TAIL},
        {"event:a\"b,event:$x",
         HEAD "[\"a\\\"b\",\"$x\"]}},{\"event_type\":\"page_view\",\"path\":{\"$in\":[]" TAIL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *j = pipeline_json(rows[i].steps);
        assert_string_equal(j, rows[i].want);
        bson_free(j);
    }
    {
        bson_t *o = funnel_opts();
        char *j = bson_as_relaxed_extended_json(o, NULL);
        assert_string_equal(j, "{ \"allowDiskUse\" : true, \"batchSize\" : 512 }");
        bson_free(j);
        bson_destroy(o);
    }
}

/* Walk events "VISIT USER TYPE [PATH]" ("-": NULL) over steps; check the counts. */
static void
walk_case(const char *steps, const char *const *events, size_t n, const int64_t *want)
{
    struct funnel f;
    struct funnel_walk w;
    int64_t got[FUNNEL_STEPS_MAX];

    parse_ok(steps, &f);
    funnel_walk_init(&w, &f);
    for (size_t i = 0; i < n; i++) {
        char v[32], u[32], t[32], p[32] = "-";
        int k = sscanf(events[i], "%31s %31s %31s %31s", v, u, t, p);
        assert_true(k >= 3);
        assert_int_equal(funnel_walk_event(&w, strcmp(v, "-") ? v : NULL, strcmp(u, "-") ? u : NULL,
                                           strcmp(t, "-") ? t : NULL, strcmp(p, "-") ? p : NULL),
                         0);
    }
    assert_int_equal(funnel_walk_end(&w), 0);
    funnel_walk_counts(&w, got);
    for (size_t i = 0; i < f.n; i++) {
        if (got[i] != want[i]) {
            fail_msg("%s: step %zu: %lld visitors, want %lld", steps, i + 1, (long long)got[i],
                     (long long)want[i]);
        }
    }
    for (size_t i = f.n; i < FUNNEL_STEPS_MAX; i++) {
        assert_int_equal(got[i], 0);
    }
    funnel_walk_cleanup(&w);
}

#define WALK(steps, want, ...)                                                                     \
    do {                                                                                           \
        static const char *const ev[] = {__VA_ARGS__};                                             \
        static const int64_t w[] = want;                                                           \
        walk_case(steps, ev, sizeof ev / sizeof ev[0], w);                                         \
    } while (0)
#define W(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static void
test_walk(void **state)
{
    const char *s3 = "path:/,path:/pricing,event:signup";
    (void)state;
    /* In order; out of order; a visit with only step 1. */
    WALK(s3, W(4, 2, 1), "v1 u1 page_view /", "v1 u1 page_view /pricing", "v1 u1 signup /pricing",
         "v2 u2 page_view /pricing", "v2 u2 page_view /", "v2 u2 signup /", "v3 u3 page_view /",
         "v4 u4 page_view /", "v4 u4 page_view /pricing");
    /* Repeated steps and noise in between still count once; a later step before an earlier one
     * does not count until it comes again after it. */
    WALK(s3, W(2, 2, 1), "v1 u1 signup /", "v1 u1 page_view /", "v1 u1 page_view /",
         "v1 u1 click /pricing", "v1 u1 page_view /pricing", "v1 u1 page_view /pricing",
         "v1 u1 signup /x", "v1 u1 signup /x", "v2 u2 page_view /pricing", "v2 u2 page_view /",
         "v2 u2 page_view /pricing");
    /* Steps split over two visits of one visitor do not count; the visitor's best visit does;
     * two visits of one visitor count them once. */
    WALK(s3, W(2, 1, 0), "v1 u1 page_view /", "v2 u1 page_view /pricing", "v2 u1 signup /",
         "v3 u2 page_view /", "v3 u2 page_view /pricing", "v4 u2 page_view /", "v5 u2 page_view /");
    WALK(s3, W(1, 1, 1), "v1 u1 page_view /", "v1 u1 page_view /pricing", "v1 u1 signup /",
         "v2 u1 page_view /");
    /* The visitor is the user of the event that reached step 1; none: not counted. */
    WALK("event:a,event:b", W(3, 1), "v1 x1 b", "v1 u1 a", "v1 u9 b", "v2 - a", "v2 - b", "v3 u2 a",
         "v4 u9 a", "v5 u1 a", "v6 u1 b");
    /* Events without a visit are skipped; a step of the same event twice needs two events. */
    WALK("event:a,event:a,event:a", W(2, 2, 1), "- u7 a", "v1 u1 a", "v1 u1 a", "v1 u1 a",
         "v2 u2 a", "v2 u2 a", "- u2 a");
    /* A path step needs a page_view with exactly the path. */
    WALK("path:/a,path:/b", W(1, 0), "v1 u1 page_view /a", "v1 u1 click /b", "v1 u1 page_view /b/",
         "v1 u1 page_view", "v2 u2 click /a", "v2 u2 page_view /b");
    /* Eight steps. */
    WALK("path:/1,path:/2,path:/3,path:/4,event:e5,event:e6,path:/7,event:e8",
         W(2, 2, 2, 2, 2, 1, 1, 1), "v1 u1 page_view /1", "v1 u1 page_view /2",
         "v1 u1 page_view /3", "v1 u1 page_view /4", "v1 u1 e5", "v1 u1 e6", "v1 u1 page_view /7",
         "v1 u1 e8", "v2 u2 page_view /1", "v2 u2 page_view /2", "v2 u2 page_view /3",
         "v2 u2 page_view /4", "v2 u2 e5", "v2 u2 page_view /7", "v2 u2 e8");
    /* Nothing. */
    {
        static const int64_t none[FUNNEL_STEPS_MAX] = {0};
        walk_case(s3, NULL, 0, none);
    }
}

static void
test_cap(void **state)
{
    const char *steps = "event:a,event:b";
    struct funnel f;
    struct funnel_walk w;
    int64_t got[FUNNEL_STEPS_MAX];
    char v[32], u[32];

    (void)state;
    parse_ok(steps, &f);
    funnel_walk_init(&w, &f);
    for (int i = 0; i < FUNNEL_VISITORS_MAX; i++) {
        snprintf(v, sizeof v, "v%d", i);
        snprintf(u, sizeof u, "u%d", i);
        assert_int_equal(funnel_walk_event(&w, v, u, "a", NULL), 0);
        assert_int_equal(funnel_walk_event(&w, v, u, i % 2 ? "b" : "c", NULL), 0);
    }
    /* At the cap: a known visitor's new visit still counts, a visit reaching no step too. */
    assert_int_equal(funnel_walk_event(&w, "w1", "u0", "a", NULL), 0);
    assert_int_equal(funnel_walk_event(&w, "w1", "u0", "b", NULL), 0);
    assert_int_equal(funnel_walk_event(&w, "w2", "new", "b", NULL), 0);
    assert_int_equal(funnel_walk_event(&w, "w3", "new", "c", NULL), 0);
    funnel_walk_counts(&w, got);
    assert_int_equal(got[0], FUNNEL_VISITORS_MAX);
    assert_int_equal(got[1], FUNNEL_VISITORS_MAX / 2 + 1);
    /* One more visitor: when its visit ends, by the next one (then the caller stops: the end
     * says the same). */
    assert_int_equal(funnel_walk_event(&w, "w4", "new", "a", NULL), 0);
    assert_int_equal(funnel_walk_event(&w, "w5", "new2", "c", NULL), 1);
    assert_int_equal(funnel_walk_end(&w), 1);
    funnel_walk_cleanup(&w);
}

static void
test_rate(void **state)
{
    static const struct {
        int64_t visitors, first;
        double want;
    } rows[] = {
        {0, 0, 0}, {3, 0, 0}, {0, 5, 0}, {1, 4, 25}, {2, 3, 200.0 / 3}, {5, 5, 100},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_true(goals_rate(rows[i].visitors, rows[i].first) == rows[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse), cmocka_unit_test(test_match), cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_walk),  cmocka_unit_test(test_cap),   cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
