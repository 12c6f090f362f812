/* range.c - the pure decisions behind reporting's figures over a range of days. */
#include "range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rollup_doc.h"
#include "ts.h"

/* One date parameter of length len (-1 unreadable): 0 and *ms, or -1. */
static int
date_of(const char *s, int len, int64_t *ms)
{
    return len > 0 && ts_parse_date(s, (size_t)len, ms) == 0 ? 0 : -1;
}

struct day_range
range_make(const struct tz *z, int64_t first_day, int64_t days)
{
    return (struct day_range){tz_day_start(z, first_day),
                              days,
                              tz_day_start(z, first_day + days),
                              first_day,
                              z,
                              INT64_MIN};
}

int64_t
range_raw_from(const struct day_range *r)
{
    return r->raw_from_ms > r->from_ms ? r->raw_from_ms : r->from_ms;
}

int64_t
range_date_ms(const struct day_range *r, int64_t i)
{
    return (r->first_day + i) * TS_DAY_MS;
}

void
range_dates(const struct day_range *r, char first[RANGE_DATE_LEN], char last[RANGE_DATE_LEN])
{
    char t[TS_FORMAT_LEN];

    ts_format(range_date_ms(r, 0), t);
    snprintf(first, RANGE_DATE_LEN, "%.10s", t);
    ts_format(range_date_ms(r, r->days - 1), t);
    snprintf(last, RANGE_DATE_LEN, "%.10s", t);
}

const char *
range_parse(const char *date, int date_len, const char *from, int from_len, const char *to,
            int to_len, const struct tz *z, struct day_range *r)
{
    int64_t a, b;

    if (date_len != 0 && (from_len != 0 || to_len != 0)) {
        return RANGE_ERR_BOTH;
    }
    if (date_len != 0) {
        if (date_of(date, date_len, &a) != 0) {
            return RANGE_ERR_DATE;
        }
        *r = range_make(z, a / TS_DAY_MS, 1);
        return NULL;
    }
    if (from_len == 0 || to_len == 0) {
        return RANGE_ERR_PAIR;
    }
    if (date_of(from, from_len, &a) != 0) {
        return RANGE_ERR_FROM;
    }
    if (date_of(to, to_len, &b) != 0) {
        return RANGE_ERR_TO;
    }
    if (a > b) {
        return RANGE_ERR_ORDER;
    }
    if ((b - a) / TS_DAY_MS + 1 > RANGE_MAX_DAYS) {
        return RANGE_ERR_LONG;
    }
    *r = range_make(z, a / TS_DAY_MS, (b - a) / TS_DAY_MS + 1);
    return NULL;
}

const char *
range_interval(const char *interval, int len, const struct day_range *r, int64_t *step_ms)
{
    if (len == 3 && memcmp(interval, "day", 3) == 0) {
        *step_ms = TS_DAY_MS;
        return NULL;
    }
    if (len != 4 || memcmp(interval, "hour", 4) != 0) {
        return RANGE_ERR_INTERVAL;
    }
    if (r->days > RANGE_MAX_HOUR_DAYS) {
        return RANGE_ERR_HOURS;
    }
    *step_ms = TS_DAY_MS / 24;
    return NULL;
}

int64_t
range_buckets(const struct day_range *r, int64_t step_ms)
{
    return step_ms == TS_DAY_MS ? r->days : (r->end_ms - r->from_ms) / step_ms;
}

int64_t
range_bucket_start(const struct day_range *r, int64_t step_ms, int64_t i)
{
    return step_ms == TS_DAY_MS ? tz_day_start(r->z, r->first_day + i) : r->from_ms + i * step_ms;
}

int64_t
range_bucket_of(const struct day_range *r, int64_t step_ms, int64_t ts_ms)
{
    if (ts_ms < r->from_ms || ts_ms >= r->end_ms) {
        return -1;
    }
    return step_ms == TS_DAY_MS ? tz_day_of(r->z, ts_ms) - r->first_day
                                : (ts_ms - r->from_ms) / step_ms;
}

int64_t
range_bucket_of_id(const struct day_range *r, int64_t step_ms, const char *id)
{
    int64_t ms, day;
    int hour;

    /* The id's format is rollup_doc.h's: one reader, rollup_id_bucket(). */
    if (rollup_id_bucket(id, &ms, &hour) < 0 || hour != (step_ms != TS_DAY_MS)) {
        return -1;
    }
    if (!hour) {
        day = ms / TS_DAY_MS;
        return day >= r->first_day && day < r->first_day + r->days ? day - r->first_day : -1;
    }
    return range_bucket_of(r, step_ms, ms);
}

void
range_bucket_time(const struct day_range *r, int64_t step_ms, int64_t i, char out[RANGE_T_LEN])
{
    int64_t at = range_bucket_start(r, step_ms, i), off = tz_offset_ms(r->z, at);
    char t[TS_FORMAT_LEN];

    ts_format(at + off, t);
    if (r->z == NULL) {
        snprintf(out, RANGE_T_LEN, "%.19sZ", t);
    } else {
        int64_t a = off < 0 ? -off : off;
        snprintf(out, RANGE_T_LEN, "%.19s%c%02d:%02d", t, off < 0 ? '-' : '+',
                 (int)(a / TS_HOUR_MS), (int)(a % TS_HOUR_MS / 60000));
    }
}

const char *const range_by_names[RANGE_BY_N] = {"event_type", "path", "referrer", "entry_page",
                                                "exit_page"};

const char *
range_by(const char *s, int len, int *by)
{
    for (int i = 0; len > 0 && i < RANGE_BY_N; i++) {
        if ((size_t)len == strlen(range_by_names[i]) && memcmp(s, range_by_names[i], len) == 0) {
            *by = i;
            return NULL;
        }
    }
    return RANGE_ERR_BY;
}

const char *
range_limit(const char *s, int len, int def, int max, int *limit)
{
    long v = 0;

    if (len == 0) {
        *limit = def;
        return NULL;
    }
    if (len < 0 || len > 4) {
        return RANGE_ERR_LIMIT;
    }
    for (int i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return RANGE_ERR_LIMIT;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > max) {
        return RANGE_ERR_LIMIT;
    }
    *limit = (int)v;
    return NULL;
}

int
range_user_counted(const bson_t *scope, const char *b)
{
    char run[ROLLUP_RUN_LEN + 1], key[ROLLUP_RUN_LEN + 8];
    int64_t seq;
    bson_iter_t it, arr;

    if (rollup_batch_parse(b, run, &seq) != 0) {
        return 0;
    }
    snprintf(key, sizeof key, "runs.%s", run);
    if (!bson_iter_init(&it, scope) || !bson_iter_find_descendant(&it, key, &arr) ||
        !BSON_ITER_HOLDS_NUMBER(&arr) || bson_iter_as_int64(&arr) < seq) {
        return 0; /* not applied there (yet, or ever) */
    }
    if (bson_iter_init_find(&it, scope, "voided") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            if (BSON_ITER_HOLDS_UTF8(&arr) && strcmp(bson_iter_utf8(&arr, NULL), b) == 0) {
                return 0; /* voided before it could apply: a later batch of its run applied */
            }
        }
    }
    return 1;
}

uint32_t
range_batch(size_t room, size_t largest, uint32_t most)
{
    size_t n;

    if (most < 1) {
        most = 1;
    }
    if (largest == 0) {
        return most;
    }
    n = room / largest;
    return n < 1 ? 1 : n > most ? most : (uint32_t)n;
}

uint64_t
range_user_hash(const char *s, size_t len)
{
    return hash_fnv1a(HASH_FNV1A_BASIS, s, len);
}

int64_t
range_passes(int64_t entries)
{
    return entries <= RANGE_USERS_PASS ? 1 : (entries + RANGE_USERS_PASS - 1) / RANGE_USERS_PASS;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

size_t
range_unique(uint64_t *h, size_t n)
{
    size_t out = 0;

    if (n == 0) {
        return 0;
    }
    qsort(h, n, sizeof *h, cmp_u64);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || h[i] != h[out - 1]) {
            h[out++] = h[i];
        }
    }
    return out;
}

int
range_hold(uint64_t **h, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        *n = range_unique(*h, *n);
        if (*n > *cap / 2 && *cap < RANGE_USERS_PASS) {
            size_t grown = *cap * 2 < RANGE_USERS_PASS ? *cap * 2 : RANGE_USERS_PASS;
            uint64_t *v = realloc(*h, grown * sizeof *v);
            if (v == NULL) {
                return -1;
            }
            *h = v;
            *cap = grown;
        } else if (*n == *cap) {
            return 1;
        }
    }
    (*h)[(*n)++] = x;
    return 0;
}
