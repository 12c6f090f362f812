/* tz.c - time zones from the system's TZif files (RFC 8536). */
#include "tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

/* When a footer rule's transition falls: Jn (n 1-365, February 29 never counted), n (0-365,
 * counted) or Mm.w.d (weekday d of week w, 5 the last, of month m); at time_s local seconds
 * (RFC 8536: -167 to 167 hours). */
struct tz_when {
    char kind; /* 'J', 'D' or 'M' */
    int n, m, w, d;
    int32_t time_s;
};

/* The footer's rule: standard time's UTC offset, and with DST its offset and when it starts
 * (in standard time) and ends (in DST). Offsets are local - UTC, in seconds. */
struct tz_rule {
    int32_t std_off, dst_off;
    int has_dst;
    struct tz_when start, end;
};

struct tz {
    char name[TZ_NAME_MAX + 1];
    int32_t first_off; /* before the first transition (time type 0) */
    int has_rule;      /* the footer's rule gives every instant from the last transition on */
    struct tz_rule rule;
    size_t n;     /* transitions */
    int64_t *at;  /* their instants, in seconds, increasing */
    int32_t *off; /* the offset in effect from at[i] on */
};

#define TZDIR_DEFAULT "/usr/share/zoneinfo"
#define HEADER_LEN 44

int
tz_name_ok(const char *name)
{
    size_t len = strlen(name), i = 0;

    if (len == 0 || len > TZ_NAME_MAX) {
        return 0;
    }
    while (i < len) {
        size_t start = i;
        if (name[i] == '.' || name[i] == '-' || name[i] == '/') {
            return 0; /* a component starting with '.' or '-', or an empty one */
        }
        for (; i < len && name[i] != '/'; i++) {
            char c = name[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.')) {
                return 0;
            }
        }
        if (i == start || (i < len && i + 1 == len)) {
            return 0; /* empty component, or a trailing '/' */
        }
        i += i < len; /* the '/' */
    }
    return 1;
}

/* -- the footer's POSIX TZ rule ------------------------------------------------------------ */

/* A number of at most max_digits digits at *p, advancing it; -1 when none. */
static long
number(const char **p, int max_digits)
{
    long v = 0;
    int n = 0;

    while (**p >= '0' && **p <= '9' && n < max_digits) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n == 0 ? -1 : v;
}

/* [+-]hh[:mm[:ss]] at *p, hours at most max_h, into *secs. Returns 0, or -1. */
static int
hms(const char **p, long max_h, int32_t *secs)
{
    int sign = 1;
    long h, m = 0, s = 0;

    if (**p == '+' || **p == '-') {
        sign = **p == '-' ? -1 : 1;
        (*p)++;
    }
    if ((h = number(p, 3)) < 0 || h > max_h) {
        return -1;
    }
    if (**p == ':') {
        (*p)++;
        if ((m = number(p, 2)) < 0 || m > 59) {
            return -1;
        }
        if (**p == ':') {
            (*p)++;
            if ((s = number(p, 2)) < 0 || s > 59) {
                return -1;
            }
        }
    }
    *secs = (int32_t)(sign * (h * 3600 + m * 60 + s));
    return 0;
}

/* A zone abbreviation at *p: <...> or at least three letters. Returns 0, or -1. */
static int
abbreviation(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        const char *end = strchr(s, '>');
        if (end == NULL || end - s < 4) {
            return -1;
        }
        *p = end + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        s++;
    }
    if (s - *p < 3) {
        return -1;
    }
    *p = s;
    return 0;
}

/* ",start[/time]" or ",end[/time]" at *p into w. Returns 0, or -1. */
static int
when(const char **p, struct tz_when *w)
{
    long v;

    if (**p != ',') {
        return -1;
    }
    (*p)++;
    memset(w, 0, sizeof *w);
    if (**p == 'M') {
        (*p)++;
        w->kind = 'M';
        if ((v = number(p, 2)) < 1 || v > 12 || *(*p)++ != '.') {
            return -1;
        }
        w->m = (int)v;
        if ((v = number(p, 1)) < 1 || v > 5 || *(*p)++ != '.') {
            return -1;
        }
        w->w = (int)v;
        if ((v = number(p, 1)) < 0 || v > 6) {
            return -1;
        }
        w->d = (int)v;
    } else {
        w->kind = **p == 'J' ? 'J' : 'D';
        *p += w->kind == 'J';
        if ((v = number(p, 3)) < (w->kind == 'J' ? 1 : 0) || v > 365) {
            return -1;
        }
        w->n = (int)v;
    }
    w->time_s = 2 * 3600;
    if (**p == '/') {
        (*p)++;
        return hms(p, 167, &w->time_s);
    }
    return 0;
}

/* Parse footer rule s (NUL-terminated) into r. Returns 0, or -1. POSIX offsets count west
 * of Greenwich ("CET-1" is UTC+1); r's are local - UTC. */
static int
parse_rule(const char *s, struct tz_rule *r)
{
    int32_t posix;

    memset(r, 0, sizeof *r);
    if (abbreviation(&s) != 0 || hms(&s, 24, &posix) != 0) {
        return -1;
    }
    r->std_off = -posix;
    if (*s == '\0') {
        return 0;
    }
    if (abbreviation(&s) != 0) {
        return -1;
    }
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (hms(&s, 24, &posix) != 0) {
            return -1;
        }
        r->dst_off = -posix;
    }
    /* RFC 8536 footers always give the rules with a DST name (POSIX's default is the US's). */
    if (when(&s, &r->start) != 0 || when(&s, &r->end) != 0 || *s != '\0') {
        return -1;
    }
    return 0;
}

static int
leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local instant (seconds since the epoch, local clock) at which w falls in year y. */
static int64_t
when_local(const struct tz_when *w, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;

    if (w->kind == 'M') {
        int64_t first = ts_days_from_civil(y, w->m, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int len = mdays[w->m - 1] + (w->m == 2 && leap(y));
        int dom = 1 + (w->d - wd + 7) % 7 + (w->w - 1) * 7;
        if (dom > len) {
            dom -= 7;
        }
        day = first + dom - 1;
    } else if (w->kind == 'J') {
        day = ts_days_from_civil(y, 1, 1) + w->n - 1 + (leap(y) && w->n >= 60);
    } else {
        day = ts_days_from_civil(y, 1, 1) + w->n;
    }
    return day * 86400 + w->time_s;
}

/* The offset rule r gives instant t (seconds): the latest of the changes of the years
 * around t's that is not after t (a start before an end at the same instant). */
static int32_t
rule_offset(const struct tz_rule *r, int64_t t)
{
    int64_t y, days = (t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0);
    int64_t best = INT64_MIN;
    int32_t off = r->std_off;

    if (!r->has_dst) {
        return r->std_off;
    }
    /* The year of t's local standard time: from days since 1970 (civil_from_days). */
    {
        int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        y = yoe + era * 400 + (mp >= 10);
    }
    for (int64_t k = y - 1; k <= y + 1; k++) {
        int64_t start = when_local(&r->start, k) - r->std_off;
        int64_t end = when_local(&r->end, k) - r->dst_off;
        /* At one instant an end and a start (DST all year): the start is the later. */
        if (end <= t && end >= best) {
            best = end;
            off = r->std_off;
        }
        if (start <= t && start >= best) {
            best = start;
            off = r->dst_off;
        }
    }
    return off;
}

/* -- TZif ------------------------------------------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of the header at p: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt. */
static void
counts(const unsigned char *p, uint32_t c[6])
{
    for (int i = 0; i < 6; i++) {
        c[i] = be32(p + 20 + 4 * i);
    }
}

static int
fail(char *why, size_t whylen, const char *name, const char *what)
{
    snprintf(why, whylen, "time zone %s: %s", name, what);
    return -1;
}

int
tz_parse(const char *name, const unsigned char *data, size_t len, struct tz **out, char *why,
         size_t whylen)
{
    uint32_t c[6];
    size_t v1, at2, body, pos;
    const unsigned char *p, *types, *idx;
    struct tz *z;

    *out = NULL;
    if (len < HEADER_LEN || memcmp(data, "TZif", 4) != 0) {
        return fail(why, whylen, name, "not a TZif file");
    }
    if (data[4] < '2') {
        return fail(why, whylen, name, "a TZif file of version 1 (2 or later needed)");
    }
    counts(data, c);
    if (c[3] > len || c[4] > len || c[5] > len || c[0] > len || c[1] > len || c[2] > len) {
        return fail(why, whylen, name, "a truncated TZif file");
    }
    v1 = (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
    at2 = HEADER_LEN + v1;
    if (at2 + HEADER_LEN > len || memcmp(data + at2, "TZif", 4) != 0) {
        return fail(why, whylen, name, "a truncated TZif file");
    }
    counts(data + at2, c);
    if (c[3] > len || c[4] > len || c[5] > len || c[0] > len || c[1] > len || c[2] > len) {
        return fail(why, whylen, name, "a truncated TZif file");
    }
    if (c[2] != 0) {
        return fail(why, whylen, name, "a zone with leap seconds (a right/ zone)");
    }
    if (c[4] == 0) {
        return fail(why, whylen, name, "a TZif file without local time types");
    }
    p = data + at2 + HEADER_LEN;
    body = (size_t)c[3] * 9 + (size_t)c[4] * 6 + c[5] + c[1] + c[0];
    if ((size_t)(p - data) + body > len) {
        return fail(why, whylen, name, "a truncated TZif file");
    }
    idx = p + (size_t)c[3] * 8;
    types = idx + c[3];
    if ((z = calloc(1, sizeof *z + (size_t)c[3] * (sizeof *z->at + sizeof *z->off))) == NULL) {
        return fail(why, whylen, name, "out of memory");
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    z->at = (int64_t *)(z + 1);
    z->off = (int32_t *)(z->at + c[3]);
    z->n = c[3];
    for (size_t i = 0; i < z->n; i++) {
        z->at[i] = be64(p + 8 * i);
        if (idx[i] >= c[4] || (i > 0 && z->at[i] <= z->at[i - 1])) {
            tz_free(z);
            return fail(why, whylen, name, "bad transitions in its TZif file");
        }
        z->off[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    z->first_off = (int32_t)be32(types);
    for (size_t i = 0; i < c[4]; i++) {
        int32_t o = (int32_t)be32(types + 6 * i);
        if (o < -25 * 3600 || o > 26 * 3600) {
            tz_free(z);
            return fail(why, whylen, name, "a UTC offset out of range in its TZif file");
        }
    }
    /* The footer: "\n<rule>\n", the rule possibly empty. */
    pos = (size_t)(p - data) + body;
    if (pos < len) {
        const unsigned char *nl;
        char rule[128];
        size_t rlen;
        if (data[pos] != '\n' || (nl = memchr(data + pos + 1, '\n', len - pos - 1)) == NULL ||
            (rlen = (size_t)(nl - data - pos - 1)) >= sizeof rule) {
            tz_free(z);
            return fail(why, whylen, name, "a bad footer in its TZif file");
        }
        memcpy(rule, data + pos + 1, rlen);
        rule[rlen] = '\0';
        if (rlen > 0) {
            if (parse_rule(rule, &z->rule) != 0) {
                tz_free(z);
                return fail(why, whylen, name, "a TZ rule in its footer that cannot be read");
            }
            z->has_rule = 1;
        }
    }
    *out = z;
    return 0;
}

int
tz_load(const char *name, struct tz **out, char *why, size_t whylen)
{
    const char *dir = getenv("TZDIR");
    char path[4096];
    unsigned char *buf;
    size_t len;
    FILE *f;
    int rc;

    *out = NULL;
    if (!tz_name_ok(name)) {
        snprintf(why, whylen, "'%.*s' is not a time zone name (e.g. Europe/Berlin)", TZ_NAME_MAX,
                 name);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir != NULL && dir[0] != '\0' ? dir : TZDIR_DEFAULT, name);
    if ((f = fopen(path, "rb")) == NULL) {
        snprintf(why, whylen, "unknown time zone %s (no %s: %s)", name, path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(TZ_FILE_MAX + 1)) == NULL) {
        fclose(f);
        return fail(why, whylen, name, "out of memory");
    }
    len = fread(buf, 1, TZ_FILE_MAX + 1, f);
    rc = ferror(f) ? -1 : 0;
    fclose(f);
    if (rc != 0 || len > TZ_FILE_MAX) {
        free(buf);
        snprintf(why, whylen, "time zone %s: cannot read %s", name, path);
        return -1;
    }
    rc = tz_parse(name, buf, len, out, why, whylen);
    free(buf);
    return rc;
}

void
tz_free(struct tz *z)
{
    free(z);
}

const char *
tz_name(const struct tz *z)
{
    return z != NULL ? z->name : "UTC";
}

/* The offset at instant t, in seconds. */
static int32_t
offset_s(const struct tz *z, int64_t t)
{
    size_t lo = 0, hi = z->n;

    if (z->n == 0 || t < z->at[0]) {
        return z->n == 0 && z->has_rule ? rule_offset(&z->rule, t) : z->first_off;
    }
    if (t >= z->at[z->n - 1] && z->has_rule) {
        return rule_offset(&z->rule, t);
    }
    while (hi - lo > 1) { /* the last at[i] <= t: at[lo] <= t < at[hi] */
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return z->off[lo];
}

int64_t
tz_offset_ms(const struct tz *z, int64_t utc_ms)
{
    return z == NULL ? 0 : (int64_t)offset_s(z, ts_floor(utc_ms, 1000) / 1000) * 1000;
}

int64_t
tz_day_of(const struct tz *z, int64_t utc_ms)
{
    return ts_floor(utc_ms + tz_offset_ms(z, utc_ms), TS_DAY_MS) / TS_DAY_MS;
}

int64_t
tz_day_start(const struct tz *z, int64_t day)
{
    /* Every offset is within 26 hours of UTC: the day starts within a day and a quarter of its
     * UTC midnight. The first instant whose local day is not before it, by bisection (local
     * days only go back where the clocks go back over midnight, after the start). */
    int64_t lo = day * TS_DAY_MS - 27 * TS_HOUR_MS, hi = day * TS_DAY_MS + 27 * TS_HOUR_MS;

    if (z == NULL) {
        return day * TS_DAY_MS;
    }
    while (hi - lo > 1) { /* day_of(lo) < day <= day_of(hi) */
        int64_t mid = lo + (hi - lo) / 2;
        if (tz_day_of(z, mid) >= day) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

int64_t
tz_hour_start(const struct tz *z, int64_t utc_ms)
{
    int64_t local = utc_ms + tz_offset_ms(z, utc_ms);

    return utc_ms - (local - ts_floor(local, TS_HOUR_MS));
}
