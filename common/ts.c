/* ts.c - RFC 3339 timestamps and calendar dates as UTC milliseconds since the epoch. */
#include "ts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian date. */
int64_t
ts_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Read exactly n digits at s[*pos]; returns the value or -1. */
static int
digits(const char *s, size_t len, size_t *pos, int n)
{
    int v = 0;

    if (*pos + (size_t)n > len) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char c = s[*pos + (size_t)i];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *pos += (size_t)n;
    return v;
}

static int
expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c) {
        return -1;
    }
    (*pos)++;
    return 0;
}

/* Parse YYYY-MM-DD at s[*pos] into y/m/d, checking it is a real date. */
static int
parse_ymd(const char *s, size_t len, size_t *pos, int *y, int *m, int *d)
{
    *y = digits(s, len, pos, 4);
    if (*y < 0 || expect(s, len, pos, '-') != 0) {
        return -1;
    }
    *m = digits(s, len, pos, 2);
    if (*m < 1 || *m > 12 || expect(s, len, pos, '-') != 0) {
        return -1;
    }
    *d = digits(s, len, pos, 2);
    if (*d < 1 || *d > days_in_month(*y, *m)) {
        return -1;
    }
    return 0;
}

int
ts_parse_date(const char *s, size_t len, int64_t *ms)
{
    size_t pos = 0;
    int y, m, d;

    if (parse_ymd(s, len, &pos, &y, &m, &d) != 0 || pos != len || y < 1) {
        return -1;
    }
    *ms = ts_days_from_civil(y, m, d) * TS_DAY_MS;
    return 0;
}

int
ts_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    size_t pos = 0;
    int y, mo, d, h, mi, sec, frac_ms = 0, off_min = 0;
    int64_t t;

    if (parse_ymd(s, len, &pos, &y, &mo, &d) != 0) {
        return -1;
    }
    if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) {
        return -1;
    }
    pos++;
    h = digits(s, len, &pos, 2);
    if (h < 0 || h > 23 || expect(s, len, &pos, ':') != 0) {
        return -1;
    }
    mi = digits(s, len, &pos, 2);
    if (mi < 0 || mi > 59 || expect(s, len, &pos, ':') != 0) {
        return -1;
    }
    sec = digits(s, len, &pos, 2);
    if (sec < 0 || sec > 60) {
        return -1;
    }
    if (pos < len && s[pos] == '.') {
        int n = 0;
        pos++;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 3) {
                frac_ms = frac_ms * 10 + (s[pos] - '0');
            }
            n++;
            pos++;
        }
        if (n == 0) {
            return -1;
        }
        for (; n < 3; n++) {
            frac_ms *= 10;
        }
    }
    if (pos >= len) {
        return -1; /* the zone is required */
    }
    if (s[pos] == 'Z' || s[pos] == 'z') {
        pos++;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int sign = s[pos] == '-' ? -1 : 1;
        int oh, om;
        pos++;
        oh = digits(s, len, &pos, 2);
        if (oh < 0 || oh > 23 || expect(s, len, &pos, ':') != 0) {
            return -1;
        }
        om = digits(s, len, &pos, 2);
        if (om < 0 || om > 59) {
            return -1;
        }
        off_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (pos != len) {
        return -1;
    }
    t = ((ts_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off_min * 60LL) *
            1000 +
        frac_ms;
    if (t < TS_MIN_MS || t > TS_MAX_MS) {
        return -1;
    }
    *ms = t;
    return 0;
}

void
ts_format(int64_t ms, char out[TS_FORMAT_LEN])
{
    int64_t days = ts_floor(ms, TS_DAY_MS) / TS_DAY_MS;
    int64_t rem = ms - days * TS_DAY_MS;
    /* civil_from_days (Hinnant) */
    int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)(y % 10000), (int)m,
             (int)d, (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    memcpy(out, buf, TS_FORMAT_LEN - 1);
    out[TS_FORMAT_LEN - 1] = '\0';
}

int64_t
ts_floor(int64_t ms, int64_t unit)
{
    int64_t r = ms % unit; /* C rounds toward zero: r < 0 for an ms < 0 inside its bucket */

    return r < 0 ? ms - r - unit : ms - r;
}

int64_t
ts_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t
ts_mono_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int64_t
ts_mono_ms(void)
{
    return ts_mono_ns() / 1000000;
}
