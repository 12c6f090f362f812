/* test_ttl_plan.c - unit tests for processor/ttl_plan.c: the retention settings -> the TTL
 * indexes of events (their partial filters, ages and names), the steps from what the
 * collection has, and the age's proof that a TTL-deleted event is one every processor
 * refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "retention.h"
#include "sweep.h"
#include "ts.h"
#include "ttl_plan.h"

/* r from RETENTION_DAYS and SITE_RETENTION. */
static void
settings(struct retention *r, long days, const char *sites)
{
    struct app_err err = {0};

    memset(r, 0, sizeof *r);
    r->days = days;
    assert_int_equal(retention_parse_sites(sites, r, &err), 0);
}

/* ix's partial filter as relaxed extended JSON ("" when none); malloc'd. */
static char *
filter_json(const struct ttl_index *ix)
{
    bson_t b = BSON_INITIALIZER;
    bson_iter_t it;
    char *json;

    ttl_index_filter(ix, &b);
    if (!bson_iter_init_find(&it, &b, "partialFilterExpression")) {
        bson_destroy(&b);
        return bson_strdup("");
    }
    bson_t sub;
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&it, &len, &data);
    assert_true(bson_init_static(&sub, data, len));
    json = bson_as_relaxed_extended_json(&sub, NULL);
    bson_destroy(&b);
    return json;
}

/* Whether site falls in ix's filter: an independent reading of the bounds. */
static int
matches(const struct ttl_index *ix, const char *site)
{
    return (ix->lo == NULL ||
            (ix->lo_incl ? strcmp(site, ix->lo) >= 0 : strcmp(site, ix->lo) > 0)) &&
           (ix->hi == NULL || (ix->hi_incl ? strcmp(site, ix->hi) <= 0 : strcmp(site, ix->hi) < 0));
}

/* Every site of probes (and every listed site) is in exactly one index, whose days are its
 * retention, when its retention deletes; in none when it keeps for ever. */
static void
check_partition(const struct retention *r, const struct ttl_plan *plan)
{
    static const char *const probes[] = {
        "",      "0", "A",    "Shop",  "Z",       "a",        "a0",      "b",   "keep",
        "keep!", "m", "shop", "shop-", "shop-eu", "shop-eu0", "shop.eu", "zzz", "\xc3\xa9t\xc3\xa9",
        "\xff"};
    size_t n_probes = sizeof probes / sizeof probes[0];

    for (size_t k = 0; k < n_probes + r->sites.n; k++) {
        const char *site = k < n_probes ? probes[k] : r->sites.items[k - n_probes].site;
        long want = retention_site_days(r, site), got = 0;
        int in = 0;
        for (size_t i = 0; i < plan->n; i++) {
            if (matches(&plan->ix[i], site)) {
                in++;
                got = plan->ix[i].days;
            }
        }
        assert_int_equal(in, want > 0 ? 1 : 0);
        assert_int_equal(got, want);
    }
}

static void
test_plans(void **state)
{
    static const struct {
        long days;
        const char *sites;
        size_t n;
        const char *filters[8]; /* each index's filter, "" for none, then " <days>" */
    } rows[] = {
        {0, "", 0, {NULL}},                                 /* no retention: no index */
        {0, "a:0, b:0", 0, {NULL}},                         /* all kept for ever */
        {30, "", 1, {" 30"}},                               /* only the default: every site */
        {30, "a:30", 1, {" 30"}},                           /* a listed site as the default */
        {0, "shop:5", 1, {"{ \"site_id\" : \"shop\" } 5"}}, /* only a listed one */
        {30,
         "a:5, keep:0",
         4,
         {"{ \"site_id\" : { \"$lt\" : \"a\" } } 30", "{ \"site_id\" : \"a\" } 5",
          "{ \"site_id\" : { \"$gt\" : \"a\", \"$lt\" : \"keep\" } } 30",
          "{ \"site_id\" : { \"$gt\" : \"keep\" } } 30"}},
        /* listed sites as the default merge with the stretches around them */
        {10,
         "a:10, b:7",
         3,
         {"{ \"site_id\" : { \"$lt\" : \"b\" } } 10", "{ \"site_id\" : \"b\" } 7",
          "{ \"site_id\" : { \"$gt\" : \"b\" } } 10"}},
        {10,
         "b:7, c:10",
         3,
         {"{ \"site_id\" : { \"$lt\" : \"b\" } } 10", "{ \"site_id\" : \"b\" } 7",
          "{ \"site_id\" : { \"$gt\" : \"b\" } } 10"}},
        /* listed sites apart from each other by the default's stretches */
        {0, "a:5, b:5", 2, {"{ \"site_id\" : \"a\" } 5", "{ \"site_id\" : \"b\" } 5"}},
        {5,
         "a:9, b:9",
         5,
         {"{ \"site_id\" : { \"$lt\" : \"a\" } } 5", "{ \"site_id\" : \"a\" } 9",
          "{ \"site_id\" : { \"$gt\" : \"a\", \"$lt\" : \"b\" } } 5", "{ \"site_id\" : \"b\" } 9",
          "{ \"site_id\" : { \"$gt\" : \"b\" } } 5"}},
        /* names that sort around each other, in bytes: "Shop" < "shop" < "shop-eu" */
        {30,
         "shop-eu:3, shop:0, Shop:3",
         6,
         {"{ \"site_id\" : { \"$lt\" : \"Shop\" } } 30", "{ \"site_id\" : \"Shop\" } 3",
          "{ \"site_id\" : { \"$gt\" : \"Shop\", \"$lt\" : \"shop\" } } 30",
          "{ \"site_id\" : { \"$gt\" : \"shop\", \"$lt\" : \"shop-eu\" } } 30",
          "{ \"site_id\" : \"shop-eu\" } 3", "{ \"site_id\" : { \"$gt\" : \"shop-eu\" } } 30"}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct retention r;
        struct ttl_plan plan;
        struct app_err err = {0};
        settings(&r, rows[i].days, rows[i].sites);
        assert_int_equal(ttl_plan_build(&r, &plan, &err), 0);
        assert_int_equal(plan.n, rows[i].n);
        for (size_t k = 0; k < plan.n; k++) {
            char *json = filter_json(&plan.ix[k]), got[512];
            snprintf(got, sizeof got, "%s %ld", json, plan.ix[k].days);
            bson_free(json);
            assert_string_equal(got, rows[i].filters[k]);
            assert_int_equal(plan.ix[k].expire_s, ttl_expire_s(plan.ix[k].days));
            assert_int_equal(strncmp(plan.ix[k].name, TTL_NAME_PREFIX, strlen(TTL_NAME_PREFIX)), 0);
            assert_int_equal(strlen(plan.ix[k].name), TTL_NAME_LEN - 1);
            for (size_t m = 0; m < k; m++) {
                assert_string_not_equal(plan.ix[m].name, plan.ix[k].name);
            }
        }
        check_partition(&r, &plan);
        retention_cleanup(&r);
    }
}

/* The name is the filter's: the same filter with other days keeps it (collMod changes the age),
 * and it is pinned (a new name would make every processor drop and rebuild the index). */
static void
test_names(void **state)
{
    struct retention a, b;
    struct ttl_plan pa, pb;
    struct app_err err = {0};

    (void)state;
    settings(&a, 30, "shop:5");
    settings(&b, 60, "shop:7");
    assert_int_equal(ttl_plan_build(&a, &pa, &err), 0);
    assert_int_equal(ttl_plan_build(&b, &pb, &err), 0);
    assert_int_equal(pa.n, 3);
    assert_int_equal(pb.n, 3);
    for (size_t k = 0; k < 3; k++) {
        assert_string_equal(pa.ix[k].name, pb.ix[k].name);
        assert_int_not_equal(pa.ix[k].expire_s, pb.ix[k].expire_s);
    }
    retention_cleanup(&a);
    retention_cleanup(&b);
    settings(&a, 30, "");
    assert_int_equal(ttl_plan_build(&a, &pa, &err), 0);
    assert_string_equal(pa.ix[0].name, "retention_ttl_08b35a07b5589cad");
    retention_cleanup(&a);
}

static void
test_unplannable(void **state)
{
    static const struct {
        long days;
        const char *sites, *msg;
    } rows[] = {
        {24855, "", "24855 days are more than a TTL index can keep (24854)"},
        {30, "shop:36500", "36500 days are more than a TTL index can keep (24854)"},
        /* 16 sites of their own days between stretches of the default: 33 indexes */
        {1, "a:2,b:3,c:4,d:5,e:6,f:7,g:8,h:9,i:10,j:11,k:12,l:13,m:14,n:15,o:16,p:17",
         "the settings need more than 32 TTL indexes"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct retention r;
        struct ttl_plan plan;
        struct app_err err = {0};
        settings(&r, rows[i].days, rows[i].sites);
        assert_int_equal(ttl_plan_build(&r, &plan, &err), -1);
        assert_string_equal(err.msg, rows[i].msg);
        assert_int_equal(plan.n, 0);
        retention_cleanup(&r);
    }
    /* 15 such sites: 31 indexes, as many as allowed plus one to spare. */
    struct retention r;
    struct ttl_plan plan;
    struct app_err err = {0};
    settings(&r, 1, "a:2,b:3,c:4,d:5,e:6,f:7,g:8,h:9,i:10,j:11,k:12,l:13,m:14,n:15,o:16");
    assert_int_equal(ttl_plan_build(&r, &plan, &err), 0);
    assert_int_equal(plan.n, 31);
    check_partition(&r, &plan);
    retention_cleanup(&r);
}

/* The age: (N + 1) days and an hour; within what expireAfterSeconds takes. */
static void
test_expire_s(void **state)
{
    (void)state;
    assert_int_equal(ttl_expire_s(1), 2 * 86400 + 3600);
    assert_int_equal(ttl_expire_s(30), 31 * 86400 + 3600);
    assert_true(ttl_expire_s(TTL_DAYS_MAX) <= INT32_MAX);
    assert_true(ttl_expire_s(TTL_DAYS_MAX + 1) > INT32_MAX);
}

/* Deleted implies refused: an event of any time of its day, deleted by the TTL monitor at the
 * first instant it may be (server clock D), is refused by a processor whose clock is anywhere
 * from an hour behind D on; and the TTL deletes it no sooner than the sweep and less than a day
 * after it. */
static void
test_age_keeps_invariant(void **state)
{
    static const long days[] = {1, 5, 30, 400};
    static const int64_t in_day[] = {0, 1, 6 * TS_HOUR_MS, 23 * TS_HOUR_MS + 59 * 60000,
                                     TS_DAY_MS - 1};
    int64_t day0 = ts_days_from_civil(2026, 3, 1) * TS_DAY_MS;

    (void)state;
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        for (size_t k = 0; k < sizeof in_day / sizeof in_day[0]; k++) {
            int64_t t = day0 + in_day[k];
            int64_t d = t + ttl_expire_s(days[i]) * 1000; /* the earliest TTL delete */
            int64_t clocks[] = {d - SWEEP_MARGIN_MS + 1, d, d + TS_DAY_MS};
            for (size_t c = 0; c < 3; c++) {
                assert_true(retention_cutoff_ms(clocks[c], days[i]) > t);
            }
            /* The sweep's first delete of t: its clock (an hour behind) past t's cutoff. */
            int64_t s = ts_floor(t, TS_DAY_MS) + (days[i] + 1) * TS_DAY_MS + SWEEP_MARGIN_MS;
            assert_true(retention_cutoff_ms(s - SWEEP_MARGIN_MS, days[i]) > t);
            assert_true(retention_cutoff_ms(s - SWEEP_MARGIN_MS - 1, days[i]) <= t);
            assert_true(d >= s);
            assert_true(d - s < TS_DAY_MS);
        }
    }
}

static void
test_diff(void **state)
{
    struct retention r;
    struct ttl_plan plan;
    struct app_err err = {0};
    enum ttl_action act[TTL_INDEXES_MAX];
    int drop[8];

    (void)state;
    settings(&r, 30, "shop:0"); /* two indexes: below and above shop */
    assert_int_equal(ttl_plan_build(&r, &plan, &err), 0);
    assert_int_equal(plan.n, 2);
    /* Nothing yet: create both. */
    assert_int_equal(ttl_diff(&plan, NULL, 0, act, drop), 2);
    assert_int_equal(act[0], TTL_CREATE);
    assert_int_equal(act[1], TTL_CREATE);
    /* One as wanted, one of another age, an old one and others not ours. */
    struct ttl_have have[] = {
        {"_id_", -1},
        {plan.ix[1].name, plan.ix[1].expire_s + 86400},
        {"retention_ttl_0123456789abcdef", 999},
        {plan.ix[0].name, plan.ix[0].expire_s},
        {"site_id_1_timestamp_1", -1},
        {"made_by_hand_ttl", 60},
    };
    assert_int_equal(ttl_diff(&plan, have, 6, act, drop), 2);
    assert_int_equal(act[0], TTL_KEEP);
    assert_int_equal(act[1], TTL_COLLMOD);
    int want_drop[] = {0, 0, 1, 0, 0, 0};
    assert_memory_equal(drop, want_drop, sizeof want_drop);
    /* All as wanted: nothing to do. An empty plan drops every one of ours. */
    have[1].expire_s = plan.ix[1].expire_s;
    have[2].name = "x";
    assert_int_equal(ttl_diff(&plan, have, 6, act, drop), 0);
    plan.n = 0;
    have[2].name = "retention_ttl_0123456789abcdef";
    assert_int_equal(ttl_diff(&plan, have, 6, act, drop), 3);
    int want_all[] = {0, 1, 1, 1, 0, 0};
    assert_memory_equal(drop, want_all, sizeof want_all);
    retention_cleanup(&r);
}

static void
test_mode(void **state)
{
    struct app_err err = {0};

    (void)state;
    assert_int_equal(ttl_mode_check("auto", &err), 0);
    assert_int_equal(ttl_mode_check("on", &err), 0);
    assert_int_equal(ttl_mode_check("off", &err), 0);
    assert_int_equal(ttl_mode_check("yes", &err), -1);
    assert_string_equal(err.msg, "must be auto, on or off");
    assert_int_equal(ttl_mode_parse("auto"), TTL_AUTO);
    assert_int_equal(ttl_mode_parse("on"), TTL_ON);
    assert_int_equal(ttl_mode_parse("off"), TTL_OFF);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unplannable),
        cmocka_unit_test(test_expire_s),
        cmocka_unit_test(test_age_keeps_invariant),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_mode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
