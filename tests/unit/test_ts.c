/* test_ts.c - unit tests for common/ts.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ts.h"

/* 2025-11-15T10:00:00Z, the contract's example instant (docs/api.md). */
#define EXAMPLE_MS 1763200800000LL

/* Parse s from a heap copy of exactly strlen(s) bytes with no NUL after it, so
 * that a parser reading past len trips AddressSanitizer. */
static int
parse(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, s, len);
    rc = ts_parse_rfc3339(copy, len, ms);
    free(copy);
    return rc;
}

/* The same for ts_parse_date. */
static int
parse_date(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, s, len);
    rc = ts_parse_date(copy, len, ms);
    free(copy);
    return rc;
}

/* Assert that every string in list is rejected by the RFC 3339 parser and
 * leaves *ms alone. */
static void
assert_all_rejected(const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t ms = 12345;
        if (parse(list[i], &ms) != -1) {
            fail_msg("ts_parse_rfc3339 accepted \"%s\"", list[i]);
        }
        assert_int_equal(ms, 12345);
    }
}

static void
test_parse_utc_z(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(parse("2025-11-15T10:00:00Z", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    ms = 0;
    assert_int_equal(parse("2025-11-15T10:00:00z", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    assert_int_equal(parse("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
}

static void
test_parse_offsets_shift_to_utc(void **state)
{
    int64_t ms = 0;

    (void)state;
    /* 10:00 at +05:30 is 04:30 UTC. */
    assert_int_equal(parse("2025-11-15T10:00:00+05:30", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS - (5 * 3600 + 30 * 60) * 1000LL);
    /* 10:00 at -08:00 is 18:00 UTC. */
    assert_int_equal(parse("2025-11-15T10:00:00-08:00", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS + 8 * 3600 * 1000LL);
    assert_int_equal(parse("2025-11-15T10:00:00+00:00", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    assert_int_equal(parse("2025-11-15T10:00:00-00:00", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    /* An offset that moves the instant into the previous day and year. */
    assert_int_equal(parse("2025-01-01T01:00:00+02:00", &ms), 0);
    assert_int_equal(ms, (ts_days_from_civil(2024, 12, 31) * 86400 + 23 * 3600) * 1000LL);
}

static void
test_parse_offset_malformed(void **state)
{
    static const char *const bad[] = {
        "2025-11-15T10:00:00+0530",   "2025-11-15T10:00:00+05",    "2025-11-15T10:00:00+5:30",
        "2025-11-15T10:00:00+24:00",  "2025-11-15T10:00:00+05:60", "2025-11-15T10:00:00+05:3",
        "2025-11-15T10:00:00 +05:30", "2025-11-15T10:00:00UTC",    "2025-11-15T10:00:00GMT",
        "2025-11-15T10:00:00+",       "2025-11-15T10:00:00ZZ",
    };

    (void)state;
    assert_all_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void
test_parse_fractions_truncated_to_ms(void **state)
{
    static const struct {
        const char *s;
        int64_t frac_ms;
    } cases[] = {
        {"2025-11-15T10:00:00.5Z", 500},         {"2025-11-15T10:00:00.12Z", 120},
        {"2025-11-15T10:00:00.123Z", 123},       {"2025-11-15T10:00:00.1239Z", 123},
        {"2025-11-15T10:00:00.99999Z", 999},     {"2025-11-15T10:00:00.000001Z", 0},
        {"2025-11-15T10:00:00.9876543Z", 987},   {"2025-11-15T10:00:00.12345678Z", 123},
        {"2025-11-15T10:00:00.999999999Z", 999}, {"2025-11-15T10:00:00.000000000Z", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 0;
        if (parse(cases[i].s, &ms) != 0) {
            fail_msg("rejected \"%s\"", cases[i].s);
        }
        assert_int_equal(ms, EXAMPLE_MS + cases[i].frac_ms);
    }
}

static void
test_parse_fraction_with_offset(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(parse("2025-11-15T10:00:00.5+05:30", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS - (5 * 3600 + 30 * 60) * 1000LL + 500);
}

static void
test_parse_fraction_malformed(void **state)
{
    static const char *const bad[] = {
        "2025-11-15T10:00:00.Z",   "2025-11-15T10:00:00,5Z", "2025-11-15T10:00:00.5.5Z",
        "2025-11-15T10:00:00.-5Z", "2025-11-15T10:00:00.",   "2025-11-15T10:00:00.5",
    };

    (void)state;
    assert_all_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void
test_parse_leap_years(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(parse("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 1709164800000LL);
    assert_int_equal(parse("2000-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 951782400000LL);
    assert_int_equal(parse("2024-12-31T23:59:59Z", &ms), 0);
    assert_int_equal(ms, (ts_days_from_civil(2025, 1, 1) * 86400 - 1) * 1000LL);
}

static void
test_parse_impossible_dates(void **state)
{
    static const char *const bad[] = {
        "2025-02-29T00:00:00Z", "2025-02-30T00:00:00Z", "1900-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-06-31T00:00:00Z",
        "2025-09-31T00:00:00Z", "2025-11-31T00:00:00Z", "2025-01-32T00:00:00Z",
        "2025-01-00T00:00:00Z", "2025-00-10T00:00:00Z", "2025-13-01T00:00:00Z",
    };

    (void)state;
    assert_all_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void
test_parse_impossible_times(void **state)
{
    static const char *const bad[] = {
        "2025-11-15T24:00:00Z", "2025-11-15T25:00:00Z", "2025-11-15T10:60:00Z",
        "2025-11-15T10:00:61Z", "2025-11-15T99:99:99Z",
    };

    (void)state;
    assert_all_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void
test_parse_wrong_shapes(void **state)
{
    static const char *const bad[] = {
        "",
        "2025-11-15",
        "2025-11-15T10:00:00",
        "2025-11-15T10:00:00.123",
        "2025-11-15T10:00Z",
        "2025-11-15T10Z",
        "2025-11-15T10:00:00Zjunk",
        "2025-11-15T10:00:00Z ",
        "2025-11-15T10:00:00+05:30x",
        " 2025-11-15T10:00:00Z",
        "2025-11-15X10:00:00Z",
        "2025-11-15_10:00:00Z",
        "2025-11-15  10:00:00Z",
        "2025-11-15T1:00:00Z",
        "2025-11-15T10:0:00Z",
        "2025-11-15T10:00:0Z",
        "2025-1-15T10:00:00Z",
        "2025-11-5T10:00:00Z",
        "25-11-15T10:00:00Z",
        "+2025-11-15T10:00:00Z",
        "20251115T100000Z",
        "2025/11/15T10:00:00Z",
        "2025-11-15T10.00.00Z",
        "abcd-ef-ghTij:kl:mnZ",
    };

    (void)state;
    assert_all_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void
test_parse_separators(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(parse("2025-11-15t10:00:00Z", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    ms = 0;
    assert_int_equal(parse("2025-11-15 10:00:00Z", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    ms = 0;
    assert_int_equal(parse("2025-11-15 10:00:00.25+01:00", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS - 3600 * 1000LL + 250);
}

static void
test_parse_leap_second(void **state)
{
    int64_t ms = 0;

    (void)state;
    /* :60 is the first millisecond of the next minute, here of the next year. */
    assert_int_equal(parse("2016-12-31T23:59:60Z", &ms), 0);
    assert_int_equal(ms, ts_days_from_civil(2017, 1, 1) * TS_DAY_MS);
    assert_int_equal(parse("2025-11-15T09:59:60Z", &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
}

static void
test_parse_year_range(void **state)
{
    /* Instants whose UTC date is outside 0001-01-01..9999-12-31, however written. */
    static const char *const outside[] = {
        "0000-01-01T00:00:00Z",      "0000-02-29T00:00:00Z",      "0000-12-31T23:59:59.999Z",
        "0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:60Z",
        "9999-12-31T23:00:00-01:00", "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:60.999Z",
        "9999-12-31T22:00:00-23:59", "0001-01-01T01:00:00+23:59",
    };
    int64_t ms = 0;
    char out[TS_FORMAT_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        if (parse(outside[i], &ms) != -1) {
            fail_msg("accepted \"%s\", outside years 0001-9999 in UTC", outside[i]);
        }
    }
    /* The first and the last millisecond, written in UTC or with an offset. */
    assert_int_equal(parse("0001-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, TS_MIN_MS);
    ts_format(ms, out);
    assert_string_equal(out, "0001-01-01T00:00:00.000Z");
    assert_int_equal(parse("0001-01-01T01:00:00+01:00", &ms), 0);
    assert_int_equal(ms, TS_MIN_MS);
    assert_int_equal(parse("0001-01-01T00:00:00-00:01", &ms), 0);
    assert_int_equal(ms, TS_MIN_MS + 60000);
    assert_int_equal(parse("9999-12-31T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, TS_MAX_MS);
    ts_format(ms, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    assert_int_equal(parse("9999-12-31T22:59:59.999-01:00", &ms), 0);
    assert_int_equal(ms, TS_MAX_MS);
    assert_int_equal(parse("9999-12-31T23:59:59Z", &ms), 0);
    assert_int_equal(ms, 253402300799000LL);
    /* A leap second just before the end is still inside: 23:58:60 is 23:59:00. */
    assert_int_equal(parse("9999-12-31T23:58:60Z", &ms), 0);
    assert_int_equal(ms, 253402300740000LL);
    assert_int_equal(TS_MIN_MS, ts_days_from_civil(1, 1, 1) * TS_DAY_MS);
    assert_int_equal(TS_MAX_MS, ts_days_from_civil(10000, 1, 1) * TS_DAY_MS - 1);
}

static void
test_parse_respects_length(void **state)
{
    const char *buf = "2025-11-15T10:00:00Z trailing bytes that are not part of it";
    const char *frac = "2025-11-15T10:00:00.123456Zmore";
    const char *off = "2025-11-15T10:00:00+05:30:00";
    int64_t ms = 0;

    (void)state;
    assert_int_equal(ts_parse_rfc3339(buf, 20, &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS);
    assert_int_equal(ts_parse_rfc3339(buf, strlen(buf), &ms), -1);
    ms = 0;
    assert_int_equal(ts_parse_rfc3339(frac, 27, &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS + 123);
    assert_int_equal(ts_parse_rfc3339(off, 25, &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS - (5 * 3600 + 30 * 60) * 1000LL);
    /* Every proper prefix of a valid timestamp lacks its zone or more. */
    for (size_t n = 0; n < 20; n++) {
        if (ts_parse_rfc3339(buf, n, &ms) != -1) {
            fail_msg("accepted a %zu-byte prefix", n);
        }
    }
    for (size_t n = 19; n < 25; n++) {
        if (ts_parse_rfc3339(off, n, &ms) != -1) {
            fail_msg("accepted the %zu-byte prefix of an offset timestamp", n);
        }
    }
    /* A NUL inside the range is just a bad byte, not an end of string. */
    assert_int_equal(ts_parse_rfc3339("2025-11-15T10:00:00Z\0", 21, &ms), -1);
}

static void
test_parse_date_valid(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_int_equal(parse_date("2025-11-15", &ms), 0);
    assert_int_equal(ms, ts_days_from_civil(2025, 11, 15) * TS_DAY_MS);
    assert_int_equal(ms, EXAMPLE_MS - 10 * 3600 * 1000LL);
    assert_int_equal(parse_date("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(parse_date("1969-12-31", &ms), 0);
    assert_int_equal(ms, -TS_DAY_MS);
    assert_int_equal(parse_date("2024-02-29", &ms), 0);
    assert_int_equal(ms, 1709164800000LL);
    assert_int_equal(parse_date("2000-02-29", &ms), 0);
    assert_int_equal(parse_date("0001-01-01", &ms), 0);
    assert_int_equal(ms, TS_MIN_MS);
    assert_int_equal(parse_date("9999-12-31", &ms), 0);
    assert_int_equal(ms, 2932896LL * TS_DAY_MS);
    /* The length argument bounds the parse. */
    assert_int_equal(ts_parse_date("2025-11-15junk", 10, &ms), 0);
    assert_int_equal(ms, EXAMPLE_MS - 10 * 3600 * 1000LL);
}

static void
test_parse_date_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2025-02-30",
        "2025-02-29",
        "1900-02-29",
        "2025-04-31",
        "2025-13-01",
        "2025-00-01",
        "2025-01-00",
        "2025-01-32",
        "2025-1-5",
        "2025-01-5",
        "2025-1-05",
        "25-01-05",
        "20250105",
        "2025/01/05",
        "2025-11-15T00",
        "2025-11-15T00:00:00Z",
        "2025-11-15 ",
        " 2025-11-15",
        "2025-11-15x",
        "2025-11-1",
        "+2025-11-15",
        "-2025-11-15",
        "2025-11-15\n",
        "yyyy-mm-dd",
        "0000-01-01",
        "0000-02-29",
        "0000-12-31",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 12345;
        if (parse_date(bad[i], &ms) != -1) {
            fail_msg("ts_parse_date accepted \"%s\"", bad[i]);
        }
        assert_int_equal(ms, 12345);
    }
}

static void
test_format_known_values(void **state)
{
    char out[TS_FORMAT_LEN];

    (void)state;
    ts_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    ts_format(EXAMPLE_MS + 7, out);
    assert_string_equal(out, "2025-11-15T10:00:00.007Z");
    ts_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    ts_format(-TS_DAY_MS, out);
    assert_string_equal(out, "1969-12-31T00:00:00.000Z");
    ts_format(-TS_DAY_MS - 1, out);
    assert_string_equal(out, "1969-12-30T23:59:59.999Z");
    ts_format(-301231504000LL, out);
    assert_string_equal(out, "1960-06-15T12:34:56.000Z");
    ts_format(253402300799999LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    ts_format(1709164800000LL + 123, out);
    assert_string_equal(out, "2024-02-29T00:00:00.123Z");
    assert_int_equal(strlen(out), TS_FORMAT_LEN - 1);
}

static void
test_format_round_trips(void **state)
{
    static const char *const texts[] = {
        "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "1900-01-01T00:00:00.000Z",
        "1600-03-01T12:00:00.001Z", "0001-01-01T00:00:00.000Z", "0001-03-01T00:00:00.000Z",
        "2000-02-29T23:59:59.999Z", "2024-02-29T12:34:56.789Z", "2025-11-15T10:00:00.000Z",
        "2038-01-19T03:14:08.000Z", "9999-12-31T23:59:59.999Z",
    };
    static const int64_t instants[] = {
        0,
        1,
        -1,
        999,
        -999,
        1000,
        -1000,
        TS_DAY_MS - 1,
        -TS_DAY_MS,
        EXAMPLE_MS,
        TS_MAX_MS,
        TS_MIN_MS,
        951782400000LL,
        4102444800000LL,
        -2208988800000LL,
    };

    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int64_t ms = 0;
        char out[TS_FORMAT_LEN];
        if (parse(texts[i], &ms) != 0) {
            fail_msg("rejected \"%s\"", texts[i]);
        }
        ts_format(ms, out);
        assert_string_equal(out, texts[i]);
    }
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        int64_t ms = 0;
        char out[TS_FORMAT_LEN];
        ts_format(instants[i], out);
        assert_int_equal(parse(out, &ms), 0);
        assert_int_equal(ms, instants[i]);
    }
    /* A sweep across the 1970 boundary and a leap day, every 37 minutes and 1 ms. */
    for (int64_t t = -3 * TS_DAY_MS; t < 3 * TS_DAY_MS; t += 37 * 60000 + 1) {
        int64_t ms = 0;
        char out[TS_FORMAT_LEN];
        ts_format(t, out);
        assert_int_equal(parse(out, &ms), 0);
        assert_int_equal(ms, t);
        ts_format(1709078400000LL + t, out);
        assert_int_equal(parse(out, &ms), 0);
        assert_int_equal(ms, 1709078400000LL + t);
    }
}

/* Buckets start at the instant at or before ms, on either side of 1970. */
static void
test_floor(void **state)
{
    static const struct {
        int64_t ms, unit, want;
    } cases[] = {
        {0, TS_HOUR_MS, 0},
        {1, TS_HOUR_MS, 0},
        {TS_HOUR_MS - 1, TS_HOUR_MS, 0},
        {TS_HOUR_MS, TS_HOUR_MS, TS_HOUR_MS},
        {-1, TS_HOUR_MS, -TS_HOUR_MS},              /* 1969-12-31T23:59:59.999Z: 23:00 */
        {-TS_HOUR_MS / 2, TS_HOUR_MS, -TS_HOUR_MS}, /* 23:30 */
        {-TS_HOUR_MS, TS_HOUR_MS, -TS_HOUR_MS},
        {-TS_HOUR_MS - 1, TS_HOUR_MS, -2 * TS_HOUR_MS},
        {EXAMPLE_MS + 123, TS_HOUR_MS, EXAMPLE_MS},
        {-1, TS_DAY_MS, -TS_DAY_MS},
        {-TS_DAY_MS, TS_DAY_MS, -TS_DAY_MS},
        {-TS_DAY_MS - 1, TS_DAY_MS, -2 * TS_DAY_MS},
        {TS_DAY_MS - 1, TS_DAY_MS, 0},
        {-301231504000LL, TS_DAY_MS, -301276800000LL}, /* 1960-06-15T12:34:56Z: its day */
        {TS_MIN_MS, TS_DAY_MS, TS_MIN_MS},
        {TS_MIN_MS + 1, TS_HOUR_MS, TS_MIN_MS},
        {TS_MAX_MS, TS_DAY_MS, TS_MAX_MS + 1 - TS_DAY_MS},
        {TS_MAX_MS, TS_HOUR_MS, TS_MAX_MS + 1 - TS_HOUR_MS},
        {INT64_MAX, TS_HOUR_MS, INT64_MAX - INT64_MAX % TS_HOUR_MS},
        {INT64_MIN + TS_HOUR_MS, TS_HOUR_MS,
         INT64_MIN + TS_HOUR_MS - (INT64_MIN % TS_HOUR_MS + TS_HOUR_MS)},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = ts_floor(cases[i].ms, cases[i].unit);
        if (got != cases[i].want) {
            fail_msg("ts_floor(%lld, %lld) = %lld, want %lld", (long long)cases[i].ms,
                     (long long)cases[i].unit, (long long)got, (long long)cases[i].want);
        }
    }
    /* Every instant of three days around 1970 is at most a bucket past its start. */
    for (int64_t t = -3 * TS_DAY_MS; t < 3 * TS_DAY_MS; t += 37 * 60000 + 1) {
        int64_t h = ts_floor(t, TS_HOUR_MS);
        assert_true(h <= t && t - h < TS_HOUR_MS && h % TS_HOUR_MS == 0);
    }
}

static void
test_days_from_civil_known_values(void **state)
{
    (void)state;
    assert_int_equal(ts_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(ts_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(ts_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(ts_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(ts_days_from_civil(2024, 2, 29), 19782);
    assert_int_equal(ts_days_from_civil(2025, 11, 15), 20407);
    assert_int_equal(ts_days_from_civil(1900, 3, 1), -25508);
    assert_int_equal(ts_days_from_civil(1600, 1, 1), -135140);
    assert_int_equal(ts_days_from_civil(1, 1, 1), -719162);
    assert_int_equal(ts_days_from_civil(0, 1, 1), -719528);
    assert_int_equal(ts_days_from_civil(0, 3, 1), -719468);
    assert_int_equal(ts_days_from_civil(9999, 12, 31), 2932896);
    /* Consecutive days differ by one across month, year and leap boundaries. */
    assert_int_equal(ts_days_from_civil(2024, 3, 1) - ts_days_from_civil(2024, 2, 29), 1);
    assert_int_equal(ts_days_from_civil(2025, 3, 1) - ts_days_from_civil(2025, 2, 28), 1);
    assert_int_equal(ts_days_from_civil(2025, 1, 1) - ts_days_from_civil(2024, 1, 1), 366);
    assert_int_equal(ts_days_from_civil(2101, 1, 1) - ts_days_from_civil(2100, 1, 1), 365);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_utc_z),
        cmocka_unit_test(test_parse_offsets_shift_to_utc),
        cmocka_unit_test(test_parse_offset_malformed),
        cmocka_unit_test(test_parse_fractions_truncated_to_ms),
        cmocka_unit_test(test_parse_fraction_with_offset),
        cmocka_unit_test(test_parse_fraction_malformed),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_impossible_dates),
        cmocka_unit_test(test_parse_impossible_times),
        cmocka_unit_test(test_parse_wrong_shapes),
        cmocka_unit_test(test_parse_separators),
        cmocka_unit_test(test_parse_leap_second),
        cmocka_unit_test(test_parse_year_range),
        cmocka_unit_test(test_parse_respects_length),
        cmocka_unit_test(test_parse_date_valid),
        cmocka_unit_test(test_parse_date_rejects),
        cmocka_unit_test(test_format_known_values),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_days_from_civil_known_values),
        cmocka_unit_test(test_floor),
    };

    return cmocka_run_group_tests_name("ts: RFC 3339 timestamps and calendar dates", tests, NULL,
                                       NULL);
}
