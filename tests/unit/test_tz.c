/* test_tz.c - unit tests for common/tz.c against the system's tzdata (Debian's tzdata
 * package). The expected instants and offsets were computed with Python's zoneinfo, an
 * independent reader of the same files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ts.h"
#include "tz.h"

#define H TS_HOUR_MS
#define M (60 * 1000LL)

static int64_t
at(const char *rfc3339)
{
    int64_t ms;

    assert_int_equal(ts_parse_rfc3339(rfc3339, strlen(rfc3339), &ms), 0);
    return ms;
}

static int64_t
day(const char *date)
{
    int64_t ms;

    assert_int_equal(ts_parse_date(date, strlen(date), &ms), 0);
    return ms / TS_DAY_MS;
}

static struct tz *
load(const char *name)
{
    struct tz *z;
    char why[256];

    if (tz_load(name, &z, why, sizeof why) != 0) {
        fail_msg("%s", why);
    }
    assert_string_equal(tz_name(z), name);
    return z;
}

static void
test_names(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } rows[] = {
        {"Europe/Berlin", 1},
        {"UTC", 1},
        {"Etc/GMT-14", 1},
        {"America/Port-au-Prince", 1},
        {"America/Argentina/Buenos_Aires", 1},
        {"", 0},
        {"/etc/passwd", 0},
        {"../etc/passwd", 0},
        {"Europe/../../etc", 0},
        {"Europe/", 0},
        {"Europe//Berlin", 0},
        {"-v", 0},
        {"Europe/.hidden", 0},
        {"Europe/Berlin ", 0},
        {"Europe\\Berlin", 0},
        {"Europe/Berlin\n", 0},
        {"A234567890123456789012345678901234567890123456789012345678901234", 1},
        {"A2345678901234567890123456789012345678901234567890123456789012345", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (tz_name_ok(rows[i].name) != rows[i].ok) {
            fail_msg("tz_name_ok(\"%s\") is not %d", rows[i].name, rows[i].ok);
        }
    }
}

static void
test_load_errors(void **state)
{
    struct tz *z = (struct tz *)1;
    char why[256];

    (void)state;
    assert_int_equal(tz_load("Mars/Olympus_Mons", &z, why, sizeof why), -1);
    assert_null(z);
    assert_non_null(strstr(why, "unknown time zone Mars/Olympus_Mons"));
    assert_int_equal(tz_load("../etc/passwd", &z, why, sizeof why), -1);
    assert_non_null(strstr(why, "is not a time zone name"));
    /* A folder of zones, not a zone. */
    assert_int_equal(tz_load("Europe", &z, why, sizeof why), -1);
    assert_null(z);
    assert_int_equal(tz_parse("x", (const unsigned char *)"junk", 4, &z, why, sizeof why), -1);
    assert_string_equal(why, "time zone x: not a TZif file");
}

/* Every prefix of a real file is read or refused, never read past (ASan). */
static void
test_truncated(void **state)
{
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    unsigned char buf[8192];
    size_t len;
    char why[256];

    (void)state;
    assert_non_null(f);
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(len > 100 && len < sizeof buf);
    for (size_t n = 0; n <= len; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        struct tz *z;
        assert_non_null(copy);
        memcpy(copy, buf, n);
        if (tz_parse("Europe/Berlin", copy, n, &z, why, sizeof why) == 0) {
            tz_free(z);
        } else {
            assert_true(n < len);
        }
        free(copy);
    }
}

/* Offsets at instants either side of the changes, within the file's table, before it and
 * after it (the footer's rule). */
static void
test_offsets(void **state)
{
    static const struct {
        const char *zone, *at;
        int64_t off;
    } rows[] = {
        {"Europe/Berlin", "2026-03-29T00:59:59.999Z", 1 * H},
        {"Europe/Berlin", "2026-03-29T01:00:00Z", 2 * H},
        {"Europe/Berlin", "2026-10-25T00:59:59.999Z", 2 * H},
        {"Europe/Berlin", "2026-10-25T01:00:00Z", 1 * H},
        {"Europe/Berlin", "2050-07-01T00:00:00Z", 2 * H},
        {"Europe/Berlin", "1900-01-01T00:00:00Z", 1 * H},
        {"Asia/Kolkata", "2026-06-01T00:00:00Z", 5 * H + 30 * M},
        {"Pacific/Chatham", "2026-04-04T13:59:59.999Z", 13 * H + 45 * M},
        {"Pacific/Chatham", "2026-04-04T14:00:00Z", 12 * H + 45 * M},
        {"Pacific/Chatham", "2026-09-26T13:59:59.999Z", 12 * H + 45 * M},
        {"Pacific/Chatham", "2026-09-26T14:00:00Z", 13 * H + 45 * M},
        {"Australia/Lord_Howe", "2026-04-04T14:59:59.999Z", 11 * H},
        {"Australia/Lord_Howe", "2026-04-04T15:00:00Z", 10 * H + 30 * M},
        {"America/New_York", "2100-12-01T00:00:00Z", -5 * H},
        {"Australia/Sydney", "2060-01-01T00:00:00Z", 11 * H},
        {"Etc/UTC", "2026-06-01T12:00:00Z", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tz *z = load(rows[i].zone);
        int64_t got = tz_offset_ms(z, at(rows[i].at));
        if (got != rows[i].off) {
            fail_msg("%s at %s: offset %lld, not %lld", rows[i].zone, rows[i].at, (long long)got,
                     (long long)rows[i].off);
        }
        tz_free(z);
    }
}

/* Where local days start: days of 23 and 25 hours, zones a half and three quarters of an
 * hour off, a midnight that does not exist (Santiago), a day that does not exist (Apia's
 * 2011-12-30: it starts where the next one does, so it is empty). */
static void
test_day_starts(void **state)
{
    static const struct {
        const char *zone, *date, *start;
        int64_t hours; /* the day's length */
    } rows[] = {
        {"Europe/Berlin", "2026-03-29", "2026-03-28T23:00:00Z", 23},
        {"Europe/Berlin", "2026-10-25", "2026-10-24T22:00:00Z", 25},
        {"Europe/Berlin", "2026-10-26", "2026-10-25T23:00:00Z", 24},
        {"Europe/Berlin", "2045-03-26", "2045-03-25T23:00:00Z", 23},
        {"Europe/Berlin", "2045-10-29", "2045-10-28T22:00:00Z", 25},
        {"Asia/Kolkata", "2026-06-01", "2026-05-31T18:30:00Z", 24},
        {"Pacific/Chatham", "2026-04-05", "2026-04-04T10:15:00Z", 25},
        {"Pacific/Chatham", "2026-09-27", "2026-09-26T11:15:00Z", 23},
        {"Pacific/Chatham", "2026-06-01", "2026-05-31T11:15:00Z", 24},
        {"America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z", 23},
        {"America/Santiago", "2026-04-05", "2026-04-05T04:00:00Z", 24},
        {"Pacific/Apia", "2011-12-30", "2011-12-30T10:00:00Z", 0},
        {"America/New_York", "2026-03-08", "2026-03-08T05:00:00Z", 23},
        {"America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", 25},
        {"Etc/UTC", "2026-01-01", "2026-01-01T00:00:00Z", 24},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tz *z = load(rows[i].zone);
        int64_t d = day(rows[i].date), start = tz_day_start(z, d);
        int64_t len = tz_day_start(z, d + 1) - start;
        if (start != at(rows[i].start) || len != rows[i].hours * H) {
            char got[TS_FORMAT_LEN];
            ts_format(start, got);
            fail_msg("%s %s: starts %s and lasts %lld ms, not %s and %lld h", rows[i].zone,
                     rows[i].date, got, (long long)len, rows[i].start, (long long)rows[i].hours);
        }
        if (len > 0) {
            assert_int_equal(tz_day_of(z, start), d);
            assert_int_equal(tz_day_of(z, start + len - 1), d);
        }
        assert_true(tz_day_of(z, start - 1) < d);
        tz_free(z);
    }
}

/* Local hours: whole hours of UTC in Berlin, :30 in Kolkata, :15 in Chatham; the hour Berlin
 * repeats in autumn is two hours. */
static void
test_hour_starts(void **state)
{
    static const struct {
        const char *zone, *at, *start;
    } rows[] = {
        {"Europe/Berlin", "2026-06-01T10:10:00Z", "2026-06-01T10:00:00Z"},
        {"Asia/Kolkata", "2026-06-01T10:10:00Z", "2026-06-01T09:30:00Z"},
        {"Asia/Kolkata", "2026-06-01T10:30:00Z", "2026-06-01T10:30:00Z"},
        {"Pacific/Chatham", "2026-06-01T10:10:00Z", "2026-06-01T09:15:00Z"},
        {"Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T00:00:00Z"},
        {"Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T01:00:00Z"},
        {"Etc/UTC", "1969-12-31T23:30:00Z", "1969-12-31T23:00:00Z"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tz *z = load(rows[i].zone);
        assert_int_equal(tz_hour_start(z, at(rows[i].at)), at(rows[i].start));
        tz_free(z);
    }
}

/* Write into buf (512 bytes) a TZif file of no transitions whose footer is rule, its one
 * local time type UTC+0; returns its length. */
static size_t
footer_file(const char *rule, unsigned char buf[512])
{
    size_t n = 0;

    memset(buf, 0, 512);
    for (int part = 0; part < 2; part++) { /* the version 1 part, then the version 2 one */
        memcpy(buf + n, "TZif2", 5);
        buf[n + 20 + 4 * 4 + 3] = 1; /* typecnt */
        buf[n + 20 + 5 * 4 + 3] = 4; /* charcnt */
        n += 44 + 6;                 /* the header, the type: offset 0, not DST */
        memcpy(buf + n, "UTC", 4);
        n += 4;
    }
    return n + (size_t)snprintf((char *)buf + n, 512 - n, "\n%s\n", rule);
}

/* The zone of footer_file(rule). */
static struct tz *
footer_only(const char *rule)
{
    unsigned char buf[512];
    size_t n = footer_file(rule, buf);
    struct tz *z;
    char why[256];

    if (tz_parse("footer", buf, n, &z, why, sizeof why) != 0) {
        fail_msg("%s: %s", rule, why);
    }
    return z;
}

/* The footer's rule alone gives every hour of 2008-2037 the offset the file's table gives
 * (each of these zones has kept its rule since 2008). */
static void
test_rule_matches_table(void **state)
{
    static const struct {
        const char *zone, *rule;
    } rows[] = {
        {"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
        {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
        {"Pacific/Chatham", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45"},
        {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
        {"Asia/Kolkata", "IST-5:30"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tz *z = load(rows[i].zone), *r = footer_only(rows[i].rule);
        for (int64_t t = at("2008-01-01T00:00:00Z"); t < at("2038-01-01T00:00:00Z"); t += H) {
            if (tz_offset_ms(z, t) != tz_offset_ms(r, t)) {
                char when[TS_FORMAT_LEN];
                ts_format(t, when);
                fail_msg("%s at %s: the table's %lld, the rule's %lld", rows[i].zone, when,
                         (long long)tz_offset_ms(z, t), (long long)tz_offset_ms(r, t));
            }
        }
        tz_free(z);
        tz_free(r);
    }
}

/* Rules of every form: Jn, n, negative and past-24 h times, DST all year. */
static void
test_rule_forms(void **state)
{
    static const struct {
        const char *rule, *at;
        int64_t off;
    } rows[] = {
        /* Jn: day n of 365 whatever the year (J60 is March 1 in 2024, a leap year). */
        {"XXX3YYY,J60/0,J300/0", "2024-03-01T02:59:59Z", -3 * H},
        {"XXX3YYY,J60/0,J300/0", "2024-03-01T03:00:00Z", -2 * H},
        /* n: day n from 0, February 29 counted (59 is February 29 in 2024). */
        {"XXX3YYY,59/0,300/0", "2024-02-29T03:00:00Z", -2 * H},
        {"XXX3YYY,59/0,300/0", "2024-02-29T02:59:59Z", -3 * H},
        /* DST all year (RFC 8536's example). */
        {"EST5EDT,0/0,J365/25", "2024-07-01T00:00:00Z", -4 * H},
        {"EST5EDT,0/0,J365/25", "2024-01-01T00:00:00Z", -4 * H},
        {"EST5EDT,0/0,J365/25", "2023-12-31T23:00:00Z", -4 * H},
        /* A negative time: the change at 22:00 of the day before. */
        {"AAA-2BBB,M3.5.0/-2,M10.5.0/3", "2026-03-28T19:59:59Z", 2 * H},
        {"AAA-2BBB,M3.5.0/-2,M10.5.0/3", "2026-03-28T20:00:00Z", 3 * H},
        /* Southern hemisphere: DST over the new year. */
        {"AAA-10BBB,M10.1.0,M4.1.0/3", "2026-01-15T00:00:00Z", 11 * H},
        {"AAA-10BBB,M10.1.0,M4.1.0/3", "2026-07-15T00:00:00Z", 10 * H},
        /* No DST; a name in <>; a signed offset with seconds. */
        {"<-03>3", "2026-07-15T00:00:00Z", -3 * H},
        {"LMT-0:30:15", "2026-07-15T00:00:00Z", 30 * M + 15000},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tz *z = footer_only(rows[i].rule);
        if (tz_offset_ms(z, at(rows[i].at)) != rows[i].off) {
            fail_msg("%s at %s: %lld, not %lld", rows[i].rule, rows[i].at,
                     (long long)tz_offset_ms(z, at(rows[i].at)), (long long)rows[i].off);
        }
        tz_free(z);
    }
}

static void
test_bad_rules(void **state)
{
    static const char *const rules[] = {"C",
                                        "CET",
                                        "CET-1CEST",
                                        "CET-1CEST,M3.5.0",
                                        "CET-1CEST,M13.5.0,M10.5.0",
                                        "CET-1CEST,M3.6.0,M10.5.0",
                                        "CET-1CEST,J0,J10",
                                        "CET-1CEST,M3.5.0,M10.5.0/200",
                                        "CET-1CEST,M3.5.0,M10.5.0 ",
                                        "<A>1",
                                        "CET-25"};
    (void)state;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        unsigned char buf[512];
        size_t n = footer_file(rules[i], buf);
        struct tz *z;
        char why[256];
        if (tz_parse("bad", buf, n, &z, why, sizeof why) == 0) {
            fail_msg("the rule \"%s\" was taken", rules[i]);
        }
        assert_string_equal(why, "time zone bad: a TZ rule in its footer that cannot be read");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_day_starts),
        cmocka_unit_test(test_hour_starts),
        cmocka_unit_test(test_rule_matches_table),
        cmocka_unit_test(test_rule_forms),
        cmocka_unit_test(test_bad_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
