/* range.c - the pure decisions behind reporting's figures over a range of days. */
#include "range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup_doc.h"
#include "ts.h"

/* One date parameter of length len (-1 unreadable): 0 and *ms, or -1. */
static int
date_of(const char *s, int len, int64_t *ms)
{
    return len > 0 && ts_parse_date(s, (size_t)len, ms) == 0 ? 0 : -1;
}

const char *
range_parse(const char *date, int date_len, const char *from, int from_len, const char *to,
            int to_len, struct day_range *r)
{
    int64_t a, b;

    if (date_len != 0 && (from_len != 0 || to_len != 0)) {
        return RANGE_ERR_BOTH;
    }
    if (date_len != 0) {
        if (date_of(date, date_len, &a) != 0) {
            return RANGE_ERR_DATE;
        }
        *r = (struct day_range){a, 1};
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
    *r = (struct day_range){a, (b - a) / TS_DAY_MS + 1};
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
    return r->days * (TS_DAY_MS / step_ms);
}

int64_t
range_bucket_of(const struct day_range *r, int64_t step_ms, int64_t ts_ms)
{
    if (ts_ms < r->from_ms || ts_ms >= r->from_ms + r->days * TS_DAY_MS) {
        return -1;
    }
    return (ts_ms - r->from_ms) / step_ms;
}

int64_t
range_bucket_of_id(const struct day_range *r, int64_t step_ms, const char *id)
{
    size_t len = strnlen(id, 14);
    int64_t ms;
    int h;

    if (len < 11 || ts_parse_date(id, 10, &ms) != 0) {
        return -1;
    }
    if (step_ms == TS_DAY_MS) {
        return id[10] == '|' ? range_bucket_of(r, step_ms, ms) : -1;
    }
    if (len < 14 || id[10] != 'T' || id[11] < '0' || id[11] > '2' || id[12] < '0' || id[12] > '9' ||
        id[13] != '|' || (h = (id[11] - '0') * 10 + (id[12] - '0')) > 23) {
        return -1;
    }
    return range_bucket_of(r, step_ms, ms + h * step_ms);
}

void
range_bucket_time(const struct day_range *r, int64_t step_ms, int64_t i, char out[RANGE_T_LEN])
{
    char t[TS_FORMAT_LEN];

    ts_format(r->from_ms + i * step_ms, t);
    snprintf(out, RANGE_T_LEN, "%.19sZ", t);
}

const char *const range_by_names[3] = {"event_type", "path", "referrer"};

const char *
range_by(const char *s, int len, int *by)
{
    for (int i = 0; len > 0 && i < 3; i++) {
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
    if (len < 0 || len > 3) {
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

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
range_distinct(char **ids, size_t n)
{
    size_t distinct = 0;

    if (n == 0) {
        return 0;
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 0; i < n; i++) {
        distinct += i == 0 || strcmp(ids[i - 1], ids[i]) != 0;
    }
    return distinct;
}

static int
cmp_rows(const void *a, const void *b)
{
    const struct top_row *x = a, *y = b;

    if (x->views != y->views) {
        return x->views > y->views ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

long
range_top(char **keys, size_t n, struct top_row *rows, size_t limit)
{
    struct top_row *all = malloc((n ? n : 1) * sizeof *all);
    const char *prev_user = "";
    size_t n_all = 0;

    if (all == NULL) {
        return -1;
    }
    if (n > 0) {
        qsort(keys, n, sizeof *keys, cmp_str);
    }
    for (size_t i = 0; i < n; i++) {
        char *sep = strchr(keys[i], '\x1f');
        const char *user = sep != NULL ? sep + 1 : "";
        int same_value = n_all > 0 && sep != NULL &&
                         strncmp(all[n_all - 1].value, keys[i], (size_t)(sep - keys[i])) == 0 &&
                         all[n_all - 1].value[sep - keys[i]] == '\0';
        if (sep == NULL) {
            continue;
        }
        *sep = '\0';
        if (!same_value) {
            all[n_all++] = (struct top_row){keys[i], 0, 0};
        }
        all[n_all - 1].views++;
        /* A new user: the first key of the value, or another user than the key before. */
        if (user[0] != '\0' && (!same_value || strcmp(prev_user, user) != 0)) {
            all[n_all - 1].users++;
        }
        prev_user = user;
    }
    qsort(all, n_all, sizeof *all, cmp_rows);
    if (n_all > limit) {
        n_all = limit;
    }
    memcpy(rows, all, n_all * sizeof *rows);
    free(all);
    return (long)n_all;
}
