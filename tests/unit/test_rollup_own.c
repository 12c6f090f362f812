/* test_rollup_own.c - unit tests for processor/rollup_own.c: the `own` stamp an event's document
 * carries (a stored format) and the batch ids; the rollup writes run against real servers in
 * it_rollup.sh and the fault tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rollup_own.h"

static int
is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

/* A run id is 16 lower-case hex digits, and no batch id before the first batch. */
static void
test_init_makes_a_run_id(void **state)
{
    struct rollup_batch b;

    (void)state;
    rollup_batch_init(&b);
    assert_int_equal(strlen(b.run), ROLLUP_RUN_LEN);
    assert_true(is_hex(b.run, ROLLUP_RUN_LEN));
    assert_int_equal(b.seq, 0);
    assert_string_equal(b.id, "");
}

/* Batches of one run are numbered 1, 2, ... and their ids are "<run>:<seq>". */
static void
test_next_numbers_batches(void **state)
{
    struct rollup_batch b;
    char want[ROLLUP_BATCH_ID_MAX];

    (void)state;
    rollup_batch_init(&b);
    for (int64_t i = 1; i <= 1000; i++) {
        rollup_batch_next(&b);
        assert_int_equal(b.seq, i);
        snprintf(want, sizeof want, "%s:%lld", b.run, (long long)i);
        assert_string_equal(b.id, want);
    }
}

/* Two runs (two processes, or one restarted) never share a run id: 62 random bits. */
static void
test_runs_differ(void **state)
{
    struct rollup_batch a, b;

    (void)state;
    for (int i = 0; i < 100; i++) {
        rollup_batch_init(&a);
        rollup_batch_init(&b);
        assert_string_not_equal(a.run, b.run);
    }
}

/* The keys of doc's sub-document `own`, in order, separated by spaces, into out; each value
 * must be the batch id B. */
static void
own_keys(const bson_t *doc, char *out, size_t n)
{
    bson_iter_t it, own;
    size_t at = 0;

    out[0] = '\0';
    assert_true(bson_iter_init_find(&it, doc, "own") && bson_iter_recurse(&it, &own));
    while (bson_iter_next(&own)) {
        assert_true(BSON_ITER_HOLDS_UTF8(&own));
        assert_string_equal(bson_iter_utf8(&own, NULL), "B");
        at += (size_t)snprintf(out + at, n - at, "%s%s", at > 0 ? " " : "", bson_iter_key(&own));
    }
}

/* The own stamp of an event of each shape, as stored: a field per kind it counts in, in the
 * order of the kinds, each the batch id; and the referrer a page view counts under. Each
 * shape's stamp is built once: the second round takes the stamps built by the first. */
static void
test_own_stamps(void **state)
{
    static const struct {
        const char *type, *path, *referrer;
        const char *want_own, *want_ref;
    } rows[] = {
        {"click", NULL, NULL, "a t h ht d", NULL},
        {"click", "", "https://x.example/", "a t h ht d", NULL},
        {"page_view", "/a", NULL, "a t pa pt h ht d", NULL},
        {"page_view", NULL, "https://News.Example.com:8443/a?b", "a t h ht r d",
         "news.example.com"},
        {"page_view", "/a", "http://ref.example", "a t pa pt h ht r d", "ref.example"},
        {"page_view", "/a", "ftp://ref.example", "a t pa pt h ht d", NULL},
    };
    struct rollup_own own;

    (void)state;
    rollup_own_init(&own, "B");
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            struct event ev;
            char host[ROLLUP_REFERRER_MAX + 1], keys[64];
            bson_t doc = BSON_INITIALIZER;

            event_init(&ev);
            ev.event_type = rows[i].type;
            ev.path = rows[i].path;
            ev.properties =
                rows[i].referrer != NULL ? json_pack("{s:s}", "referrer", rows[i].referrer) : NULL;
            if (rows[i].want_ref != NULL) {
                assert_int_equal(rollup_event_referrer(&ev, host), (int)strlen(rows[i].want_ref));
                assert_string_equal(host, rows[i].want_ref);
            } else {
                assert_int_equal(rollup_event_referrer(&ev, host), -1);
            }
            assert_int_equal(rollup_append_own(&doc, &ev, &own), 0);
            own_keys(&doc, keys, sizeof keys);
            assert_string_equal(keys, rows[i].want_own);
            bson_destroy(&doc);
            json_decref(ev.properties);
        }
    }
    rollup_own_cleanup(&own);
}

/* A visit member without va (has_va 0): va is not part of the stamps. */
#define NO_VA                                                                                      \
    0,                                                                                             \
    {                                                                                              \
        {NULL}, {"", "", "", "", ""}, ""                                                           \
    }

/* The visit kinds of an event's own stamp (after the others): v, vh and vd when any of n, b, d is
 * not 0, ve with e, vx with x, vo with xo; and what each kind adds (vo subtracts). */
static void
test_own_visit_stamps(void **state)
{
    static const struct {
        struct event_visit v;
        const char *want_own;
    } rows[] = {
        {{"id", 1, 0, 1, 1, 0, "/a", 1, 1, "/a", 1, 1, NULL, 0, NO_VA},
         "a t pa pt h ht d v vh vd ve vx"},
        {{"id", 2, 0, 0, -1, 5, "/a", 0, -1, "/b", 1, 0, "/a", 1, NO_VA},
         "a t pa pt h ht d v vh vd ve vx vo"},
        {{"id", 3, 0, 0, 0, 7, NULL, 0, 0, NULL, 0, 0, NULL, 0, NO_VA}, "a t pa pt h ht d v vh vd"},
        {{"id", 4, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, 0, NO_VA}, "a t pa pt h ht d"},
        {{"id", 5, 0, 0, 0, 0, NULL, 0, 0, "/c", 0, 1, NULL, 0, NO_VA}, "a t pa pt h ht d vx"},
        /* the entry set after a page view without a path: b -1, eb 0 */
        {{"id", 2, 0, 0, -1, 5, "/c", 1, 0, "/c", 1, 0, NULL, 0, NO_VA},
         "a t pa pt h ht d v vh vd ve vx"},
    };
    struct rollup_own own;
    int64_t visits, bounces, duration;

    (void)state;
    rollup_own_init(&own, "B");
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            struct event ev;
            char keys[64];
            bson_t doc = BSON_INITIALIZER;

            event_init(&ev);
            ev.event_type = "page_view";
            ev.path = "/a";
            ev.has_visit = 1;
            ev.visit = rows[i].v;
            assert_int_equal(rollup_append_own(&doc, &ev, &own), 0);
            own_keys(&doc, keys, sizeof keys);
            assert_string_equal(keys, rows[i].want_own);
            bson_destroy(&doc);
        }
    }
    rollup_own_cleanup(&own);

    struct event ev;
    event_init(&ev);
    ev.has_visit = 1;
    ev.visit = rows[1].v;
    rollup_visit_contribution(&ev, ROLLUP_KIND_VISIT, &visits, &bounces, &duration);
    assert_true(visits == 0 && bounces == -1 && duration == 5);
    rollup_visit_contribution(&ev, ROLLUP_KIND_ENTRY, &visits, &bounces, &duration);
    assert_true(visits == 0 && bounces == -1 && duration == 0);
    rollup_visit_contribution(&ev, ROLLUP_KIND_EXIT, &visits, &bounces, &duration);
    assert_true(visits == 1 && bounces == 0 && duration == 0);
    rollup_visit_contribution(&ev, ROLLUP_KIND_EXIT_OLD, &visits, &bounces, &duration);
    assert_true(visits == -1 && bounces == -1 && duration == 0);
    /* The entry adds eb, not b. */
    ev.visit = rows[5].v;
    rollup_visit_contribution(&ev, ROLLUP_KIND_VISIT, &visits, &bounces, &duration);
    assert_true(visits == 0 && bounces == -1 && duration == 5);
    rollup_visit_contribution(&ev, ROLLUP_KIND_ENTRY, &visits, &bounces, &duration);
    assert_true(visits == 1 && bounces == 0 && duration == 0);
    rollup_visit_contribution(&ev, ROLLUP_KIND_VISIT_DIMS, &visits, &bounces, &duration);
    assert_true(visits == 0 && bounces == -1 && duration == 5);
    ev.has_visit = 0;
    assert_int_equal(rollup_event_visit_kinds(&ev), 0);
}

/* An event's dimensions are its visit's (va) when the envelope carries them, else its own: as
 * the processor stores them. */
static void
test_event_dims(void **state)
{
    struct event ev;
    const char *vals[ROLLUP_DIMS];

    (void)state;
    event_init(&ev);
    ev.attr[EVENT_ATTR_SOURCE] = "Google";
    ev.attr[EVENT_ATTR_MEDIUM] = "search"; /* not a dimension */
    ev.attr[EVENT_ATTR_UTM_CONTENT] = "c";
    snprintf(ev.device.device, sizeof ev.device.device, "mobile");
    snprintf(ev.device.browser, sizeof ev.device.browser, "Safari");
    snprintf(ev.device.browser_version, sizeof ev.device.browser_version, "17");
    snprintf(ev.country, sizeof ev.country, "FR");
    rollup_event_dims(&ev, vals);
    assert_string_equal(vals[0], "Google");
    assert_null(vals[1]);
    assert_string_equal(vals[6], "c");
    assert_string_equal(vals[7], "mobile");
    assert_string_equal(vals[8], "Safari");
    assert_string_equal(vals[9], "");
    assert_string_equal(vals[10], "FR");
    /* A visit without va: still its own. */
    ev.has_visit = 1;
    rollup_event_dims(&ev, vals);
    assert_string_equal(vals[0], "Google");
    /* With va: the visit's, every one (absent ones absent). */
    ev.visit.has_va = 1;
    ev.visit.va.attr[EVENT_ATTR_CHANNEL] = "Direct";
    snprintf(ev.visit.va.device.os, sizeof ev.visit.va.device.os, "iOS");
    rollup_event_dims(&ev, vals);
    assert_null(vals[0]);
    assert_string_equal(vals[1], "Direct");
    assert_null(vals[6]);
    assert_string_equal(vals[7], "");
    assert_string_equal(vals[9], "iOS");
    assert_string_equal(vals[10], "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_makes_a_run_id), cmocka_unit_test(test_next_numbers_batches),
        cmocka_unit_test(test_runs_differ),         cmocka_unit_test(test_own_stamps),
        cmocka_unit_test(test_own_visit_stamps),    cmocka_unit_test(test_event_dims),
    };

    return cmocka_run_group_tests_name("rollup_own: own stamps and batch ids", tests, NULL, NULL);
}
