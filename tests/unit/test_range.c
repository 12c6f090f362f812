/* test_range.c - unit tests for reporting/range.c: the days of a query's parameters, the
 * buckets of a time series, `limit`, which user documents a site-day counts, the distinct
 * count by hash and its passes, and the size of a batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "range.h"
#include "ts.h"

/* 2025-11-15T00:00:00Z. */
#define NOV15 1763164800000LL
#define HOUR (TS_DAY_MS / 24)

/* The length param() reports: -1 for the rows' "unreadable", else strlen. */
static int
len_of(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    return strcmp(s, "<bad>") == 0 ? -1 : (int)strlen(s);
}

static void
test_parse(void **state)
{
    static const struct {
        const char *date, *from, *to;
        const char *err; /* NULL: ok */
        int64_t from_ms, days;
    } rows[] = {
        {"2025-11-15", NULL, NULL, NULL, NOV15, 1},
        {NULL, "2025-11-15", "2025-11-15", NULL, NOV15, 1},
        {NULL, "2025-11-15", "2025-11-17", NULL, NOV15, 3},
        {NULL, "2024-02-28", "2024-03-01", NULL, NOV15, 3}, /* leap day: from_ms not checked */
        {NULL, "2024-11-20", "2025-11-20", NULL, 0, 366},   /* the longest */
        {NULL, "2024-11-19", "2025-11-20", RANGE_ERR_LONG, 0, 0},
        {NULL, "0001-01-01", "9999-12-31", RANGE_ERR_LONG, 0, 0},
        {NULL, "2025-11-16", "2025-11-15", RANGE_ERR_ORDER, 0, 0},
        {"2025-11-15", "2025-11-15", "2025-11-16", RANGE_ERR_BOTH, 0, 0},
        {"2025-11-15", NULL, "2025-11-16", RANGE_ERR_BOTH, 0, 0},
        {"2025-11-15", "2025-11-15", NULL, RANGE_ERR_BOTH, 0, 0},
        {"<bad>", "2025-11-15", NULL, RANGE_ERR_BOTH, 0, 0},
        {NULL, "2025-11-15", NULL, RANGE_ERR_PAIR, 0, 0},
        {NULL, NULL, "2025-11-15", RANGE_ERR_PAIR, 0, 0},
        {"2025-02-30", NULL, NULL, RANGE_ERR_DATE, 0, 0},
        {"<bad>", NULL, NULL, RANGE_ERR_DATE, 0, 0},
        {NULL, "2025-02-30", "2025-03-01", RANGE_ERR_FROM, 0, 0},
        {NULL, "<bad>", "2025-03-01", RANGE_ERR_FROM, 0, 0},
        {NULL, "2025-11-15T00:00:00Z", "2025-11-16", RANGE_ERR_FROM, 0, 0},
        {NULL, "2025-11-15", "2025-11-31", RANGE_ERR_TO, 0, 0},
        {NULL, "2025-11-15", "<bad>", RANGE_ERR_TO, 0, 0},
        {NULL, "x", "y", RANGE_ERR_FROM, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct day_range r = {-1, -1, -1, -1, NULL, -1};
        const char *e = range_parse(rows[i].date, len_of(rows[i].date), rows[i].from,
                                    len_of(rows[i].from), rows[i].to, len_of(rows[i].to), NULL, &r);
        if (rows[i].err != NULL) {
            assert_non_null(e);
            assert_string_equal(e, rows[i].err);
            continue;
        }
        assert_null(e);
        assert_int_equal(r.days, rows[i].days);
        if (rows[i].from_ms != 0) {
            int64_t want;
            assert_int_equal(ts_parse_date(rows[i].from ? rows[i].from : rows[i].date, 10, &want),
                             0);
            assert_int_equal(r.from_ms, want);
        }
    }
}

static void
test_interval_and_buckets(void **state)
{
    static const struct {
        const char *interval;
        int64_t days;
        const char *err;
        int64_t step, buckets;
    } rows[] = {
        {"day", 1, NULL, TS_DAY_MS, 1},
        {"day", 366, NULL, TS_DAY_MS, 366},
        {"hour", 1, NULL, HOUR, 24},
        {"hour", 31, NULL, HOUR, 744},
        {"hour", 32, RANGE_ERR_HOURS, 0, 0},
        {"Hour", 1, RANGE_ERR_INTERVAL, 0, 0},
        {"minute", 1, RANGE_ERR_INTERVAL, 0, 0},
        {"", 1, RANGE_ERR_INTERVAL, 0, 0},
        {"<bad>", 1, RANGE_ERR_INTERVAL, 0, 0},
        {"days", 1, RANGE_ERR_INTERVAL, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, rows[i].days);
        int64_t step = 0;
        const char *e = range_interval(rows[i].interval, len_of(rows[i].interval), &r, &step);
        if (rows[i].err != NULL) {
            assert_non_null(e);
            assert_string_equal(e, rows[i].err);
            continue;
        }
        assert_null(e);
        assert_int_equal(step, rows[i].step);
        assert_int_equal(range_buckets(&r, step), rows[i].buckets);
    }
}

static void
test_bucket_of(void **state)
{
    static const struct {
        int64_t step, ts, want;
    } rows[] = {
        {HOUR, NOV15, 0},
        {HOUR, NOV15 - 1, -1},
        {HOUR, NOV15 + HOUR - 1, 0},
        {HOUR, NOV15 + HOUR, 1},
        {HOUR, NOV15 + 2 * TS_DAY_MS - 1, 47},
        {HOUR, NOV15 + 2 * TS_DAY_MS, -1},
        {TS_DAY_MS, NOV15 + TS_DAY_MS + 5, 1},
        {TS_DAY_MS, NOV15 + 2 * TS_DAY_MS, -1},
        {TS_DAY_MS, INT64_MIN, -1},
        {TS_DAY_MS, INT64_MAX, -1},
    };
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 2);
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(range_bucket_of(&r, rows[i].step, rows[i].ts), rows[i].want);
    }
}

/* A site's days in its zone: Berlin's 2026-10-25 of 25 hours (02:00 twice), 2026-03-29 of 23;
 * Kolkata's hours starting at :30 UTC; the buckets' labels in local time with the offset. */
static void
test_zones(void **state)
{
    struct tz *berlin, *kolkata;
    char why[256], t[RANGE_T_LEN];
    struct day_range r;
    int64_t oct25 = ts_days_from_civil(2026, 10, 25), mar29 = ts_days_from_civil(2026, 3, 29);
    int64_t jun1 = ts_days_from_civil(2026, 6, 1);

    (void)state;
    assert_int_equal(tz_load("Europe/Berlin", &berlin, why, sizeof why), 0);
    assert_int_equal(tz_load("Asia/Kolkata", &kolkata, why, sizeof why), 0);
    assert_null(range_parse("2026-10-25", 10, NULL, 0, NULL, 0, berlin, &r));
    assert_int_equal(r.first_day, oct25);
    assert_int_equal(r.from_ms, oct25 * TS_DAY_MS - 2 * HOUR);
    assert_int_equal(r.end_ms, (oct25 + 1) * TS_DAY_MS - HOUR);
    assert_int_equal(range_buckets(&r, HOUR), 25);
    assert_int_equal(range_buckets(&r, TS_DAY_MS), 1);
    range_bucket_time(&r, HOUR, 2, t);
    assert_string_equal(t, "2026-10-25T02:00:00+02:00");
    range_bucket_time(&r, HOUR, 3, t);
    assert_string_equal(t, "2026-10-25T02:00:00+01:00");
    range_bucket_time(&r, TS_DAY_MS, 0, t);
    assert_string_equal(t, "2026-10-25T00:00:00+02:00");
    assert_int_equal(range_bucket_of_id(&r, HOUR, "2026-10-25T01|*|1:s"), 3);
    assert_int_equal(range_bucket_of_id(&r, TS_DAY_MS, "2026-10-25|*|1:s"), 0);
    assert_int_equal(range_bucket_of_id(&r, TS_DAY_MS, "2026-10-24|*|1:s"), -1);
    r = range_make(berlin, mar29, 2);
    assert_int_equal(range_buckets(&r, HOUR), 23 + 24);
    assert_int_equal(range_bucket_of(&r, TS_DAY_MS, (mar29 + 1) * TS_DAY_MS - 2 * HOUR - 1), 0);
    assert_int_equal(range_bucket_of(&r, TS_DAY_MS, (mar29 + 1) * TS_DAY_MS - 2 * HOUR), 1);
    assert_int_equal(range_date_ms(&r, 1), (mar29 + 1) * TS_DAY_MS);
    r = range_make(kolkata, jun1, 1);
    assert_int_equal(r.from_ms, jun1 * TS_DAY_MS - 5 * HOUR - 30 * 60000);
    assert_int_equal(range_bucket_of_id(&r, HOUR, "2026-05-31T18:30|*|1:s"), 0);
    assert_int_equal(range_bucket_of_id(&r, HOUR, "2026-06-01T10:30|*|1:s"), 16);
    assert_int_equal(range_bucket_of_id(&r, HOUR, "2026-06-01T18:30|*|1:s"), -1);
    assert_int_equal(range_bucket_of_id(&r, HOUR, "2026-06-01T10:3|*|1:s"), -1);
    range_bucket_time(&r, HOUR, 16, t);
    assert_string_equal(t, "2026-06-01T16:00:00+05:30");
    tz_free(berlin);
    tz_free(kolkata);
}

static void
test_limit(void **state)
{
    static const struct {
        const char *s;
        const char *err;
        int want;
    } rows[] = {
        {NULL, NULL, 10},
        {"1", NULL, 1},
        {"100", NULL, 100},
        {"010", NULL, 10},
        {"0", RANGE_ERR_LIMIT, 0},
        {"101", RANGE_ERR_LIMIT, 0},
        {"1000", RANGE_ERR_LIMIT, 0},
        {"-1", RANGE_ERR_LIMIT, 0},
        {"1.5", RANGE_ERR_LIMIT, 0},
        {"x", RANGE_ERR_LIMIT, 0},
        {" 5", RANGE_ERR_LIMIT, 0},
        {"<bad>", RANGE_ERR_LIMIT, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int limit = -7;
        const char *e = range_limit(rows[i].s, len_of(rows[i].s), 10, 100, &limit);
        if (rows[i].err != NULL) {
            assert_non_null(e);
            assert_string_equal(e, rows[i].err);
            assert_int_equal(limit, -7);
            continue;
        }
        assert_null(e);
        assert_int_equal(limit, rows[i].want);
    }
}

#define RUN_A "aaaaaaaaaaaaaaaa"
#define RUN_B "bbbbbbbbbbbbbbbb"

static void
test_user_counted(void **state)
{
    /* runs: A applied up to 5, B up to 2; A:3 voided (A:4 and A:5 applied after it). */
    bson_t *scope = BCON_NEW("runs", "{", RUN_A, BCON_INT64(5), RUN_B, BCON_INT32(2), "}", "voided",
                             "[", BCON_UTF8(RUN_A ":3"), BCON_UTF8("x:1"), "]");
    bson_t *bare = BCON_NEW("views", BCON_INT64(3));
    static const struct {
        const char *b;
        int want;
    } rows[] = {
        {RUN_A ":1", 1},  {RUN_A ":5", 1}, {RUN_A ":3", 0},           /* voided */
        {RUN_A ":6", 0},                                              /* not applied yet */
        {RUN_B ":2", 1},  {RUN_B ":3", 0}, {"cccccccccccccccc:1", 0}, /* no such run */
        {"x:1", 0},                                                   /* no batch id */
        {"", 0},          {RUN_A ":0", 0}, {RUN_A ":", 0},
        {RUN_A ":1x", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(range_user_counted(scope, rows[i].b), rows[i].want);
        assert_int_equal(range_user_counted(bare, rows[i].b), 0);
    }
    bson_destroy(scope);
    bson_destroy(bare);
}

static void
test_unique(void **state)
{
    static const struct {
        uint64_t in[6];
        size_t n, want;
        uint64_t out[6];
    } rows[] = {
        {{0}, 0, 0, {0}},       {{7}, 1, 1, {7}},
        {{7, 7}, 2, 1, {7}},    {{3, 1, 3, UINT64_MAX, 1, 2}, 6, 4, {1, 2, 3, UINT64_MAX}},
        {{0, 0, 0}, 3, 1, {0}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t v[6];
        memcpy(v, rows[i].in, sizeof v);
        assert_int_equal(range_unique(v, rows[i].n), rows[i].want);
        assert_memory_equal(v, rows[i].out, rows[i].want * sizeof v[0]);
    }
}

static void
test_user_hash_and_passes(void **state)
{
    static const struct {
        int64_t entries, passes;
    } rows[] = {
        {0, 1},
        {1, 1},
        {RANGE_USERS_PASS, 1},
        {RANGE_USERS_PASS + 1, 2},
        {2 * RANGE_USERS_PASS, 2},
        {2 * RANGE_USERS_PASS + 1, 3},
        {100 * RANGE_USERS_PASS, 100},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(range_passes(rows[i].entries), rows[i].passes);
    }
    /* FNV-1a 64: the offset basis for no bytes, and its published vectors. */
    assert_true(range_user_hash("", 0) == 0xcbf29ce484222325ULL);
    assert_true(range_user_hash("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(range_user_hash("foobar", 6) == 0x85944171f73967e8ULL);
    /* Every byte counts, also a unit separator or a NUL. */
    assert_true(range_user_hash("a\x1f", 2) != range_user_hash("a", 1));
    assert_true(range_user_hash("a\0b", 3) != range_user_hash("a\0c", 3));
}

/* The bounded set: compacted when full, doubled while that leaves it more than half full, and
 * full (1) with RANGE_USERS_PASS distinct hashes. */
static void
test_hold(void **state)
{
    size_t n = 0, cap = 4;
    uint64_t *h = malloc(cap * sizeof *h);

    (void)state;
    assert_non_null(h);
    /* Duplicates make room: 4, 4, 4, 4 then 5 compacts to {4} and adds. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(range_hold(&h, &n, &cap, 4), 0);
    }
    assert_int_equal(range_hold(&h, &n, &cap, 5), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cap, 4);
    /* Distinct ones make it grow. */
    for (uint64_t x = 10; x < 20; x++) {
        assert_int_equal(range_hold(&h, &n, &cap, x), 0);
    }
    assert_int_equal(range_unique(h, n), 12);
    assert_int_equal(cap, 16);
    /* Up to RANGE_USERS_PASS distinct, then full; a duplicate while full compacts first. */
    n = range_unique(h, n);
    for (uint64_t x = 100; n < RANGE_USERS_PASS; x++) {
        assert_int_equal(range_hold(&h, &n, &cap, x), 0);
    }
    assert_int_equal(cap, RANGE_USERS_PASS);
    assert_int_equal(range_hold(&h, &n, &cap, 1), 1);
    assert_int_equal(n, RANGE_USERS_PASS);
    free(h);
}

static void
test_batch(void **state)
{
    static const struct {
        size_t room, largest;
        uint32_t most, want;
    } rows[] = {
        {1 << 20, 0, 8, 8},          /* none met yet: the most */
        {1 << 20, 1024, 2000, 1024}, /* as many as fit */
        {1 << 20, 1024, 32, 32},     /* at most the most */
        {1 << 20, 60000, 32, 17},    /* 60 KB events */
        {1000, 60000, 32, 1},        /* no room: still one */
        {0, 1, 32, 1},               /* page full: one, to see whether another follows */
        {1 << 20, 2 << 20, 32, 1},   /* a document larger than the room */
        {100, 10, 0, 1},             /* at least one */
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(range_batch(rows[i].room, rows[i].largest, rows[i].most), rows[i].want);
    }
}

static void
test_bucket_of_id(void **state)
{
    static const struct {
        int64_t step;
        const char *id;
        int64_t want;
    } rows[] = {
        {TS_DAY_MS, "2025-11-15|*|1:s", 0},
        {TS_DAY_MS, "2025-11-16|4:view|1:s", 1},
        {TS_DAY_MS, "2025-11-17|*|1:s", -1}, /* after the range */
        {TS_DAY_MS, "2025-11-14|*|1:s", -1},
        {TS_DAY_MS, "2025-11-15T10|*|1:s", -1}, /* a site-hour */
        {TS_DAY_MS, "2025-11-15", -1},
        {TS_DAY_MS, "2025-02-30|*|1:s", -1},
        {HOUR, "2025-11-15T00|*|1:s", 0},
        {HOUR, "2025-11-15T23|*|1:s", 23},
        {HOUR, "2025-11-16T23|4:view|1:s", 47},
        {HOUR, "2025-11-15T24|*|1:s", -1},
        {HOUR, "2025-11-15T3|*|1:s", -1},
        {HOUR, "2025-11-15|*|1:s", -1}, /* a site-day */
        {HOUR, "2025-11-17T00|*|1:s", -1},
        {HOUR, "2025-11-15T1x|*|1:s", -1},
        {HOUR, "", -1},
    };
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 2);
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (range_bucket_of_id(&r, rows[i].step, rows[i].id) != rows[i].want) {
            fail_msg("%s: %lld, want %lld", rows[i].id,
                     (long long)range_bucket_of_id(&r, rows[i].step, rows[i].id),
                     (long long)rows[i].want);
        }
    }
}

static void
test_bucket_time(void **state)
{
    static const struct {
        int64_t step, i;
        const char *want;
    } rows[] = {
        {HOUR, 0, "2025-11-15T00:00:00Z"},
        {HOUR, 13, "2025-11-15T13:00:00Z"},
        {HOUR, 24 * 17, "2025-12-02T00:00:00Z"},
        {TS_DAY_MS, 47, "2026-01-01T00:00:00Z"},
    };
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 366);
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char t[RANGE_T_LEN];
        range_bucket_time(&r, rows[i].step, rows[i].i, t);
        assert_string_equal(t, rows[i].want);
    }
}

static void
test_by(void **state)
{
    static const struct {
        const char *s;
        int want; /* -1: RANGE_ERR_BY */
    } rows[] = {
        {"event_type", RANGE_BY_EVENT_TYPE},
        {"path", RANGE_BY_PATH},
        {"referrer", RANGE_BY_REFERRER},
        {"entry_page", RANGE_BY_ENTRY_PAGE},
        {"exit_page", RANGE_BY_EXIT_PAGE},
        {"Path", -1},
        {"paths", -1},
        {"pat", -1},
        {"", -1},
        {NULL, -1},
        {"<bad>", -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int by = -7;
        const char *e = range_by(rows[i].s, len_of(rows[i].s), &by);
        if (rows[i].want < 0) {
            assert_non_null(e);
            assert_string_equal(e, RANGE_ERR_BY);
            assert_int_equal(by, -7);
        } else {
            assert_null(e);
            assert_int_equal(by, rows[i].want);
            assert_string_equal(range_by_names[by], rows[i].s);
        }
    }
}

/* Raw reads start at the range's start, or at the retention's first instant when later. */
static void
test_raw_from(void **state)
{
    struct day_range r = range_make(NULL, 20000, 3); /* 2024-10-04 to 2024-10-06 */

    (void)state;
    assert_true(r.raw_from_ms == INT64_MIN);
    assert_true(range_raw_from(&r) == r.from_ms);
    r.raw_from_ms = r.from_ms - TS_DAY_MS; /* all kept */
    assert_true(range_raw_from(&r) == r.from_ms);
    r.raw_from_ms = r.from_ms + TS_DAY_MS; /* the first day gone */
    assert_true(range_raw_from(&r) == r.from_ms + TS_DAY_MS);
    r.raw_from_ms = r.end_ms + TS_DAY_MS; /* every day gone: an empty span */
    assert_true(range_raw_from(&r) >= r.end_ms);
}

/* A range's first and last dates, as its rollups and answers name them. */
static void
test_dates(void **state)
{
    char first[RANGE_DATE_LEN], last[RANGE_DATE_LEN];
    struct day_range r = range_make(NULL, 20000, 3);

    (void)state;
    range_dates(&r, first, last);
    assert_string_equal(first, "2024-10-04");
    assert_string_equal(last, "2024-10-06");
    r = range_make(NULL, 20000, 1);
    range_dates(&r, first, last);
    assert_string_equal(first, "2024-10-04");
    assert_string_equal(last, "2024-10-04");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_raw_from),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_interval_and_buckets),
        cmocka_unit_test(test_bucket_of),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_user_counted),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_bucket_of_id),
        cmocka_unit_test(test_bucket_time),
        cmocka_unit_test(test_by),
        cmocka_unit_test(test_user_hash_and_passes),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
