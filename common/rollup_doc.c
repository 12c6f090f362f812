/* rollup_doc.c - the ids of the rollup documents, and the user hash their site-hour sets keep. */
#include "rollup_doc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event_doc.h"
#include "hash.h"
#include "ts.h"

/* The id of site's bucket of `prefix` characters of ts_ms's timestamp: 10 a day, 13 an hour,
 * 16 an hour starting at a minute other than :00. */
static char *
bucket_id(const char *site, int64_t ts_ms, const char *type, int prefix)
{
    char t[TS_FORMAT_LEN];
    size_t n = strlen(site) + (type ? strlen(type) : 0) + 64;
    char *id = malloc(n);

    if (id == NULL) {
        return NULL;
    }
    ts_format(ts_ms, t);
    if (type != NULL) {
        snprintf(id, n, "%.*s|%zu:%s|%zu:%s", prefix, t, strlen(type), type, strlen(site), site);
    } else {
        snprintf(id, n, "%.*s|*|%zu:%s", prefix, t, strlen(site), site);
    }
    return id;
}

/* The attribution's names are EVDOC_ATTR_NAMES' (common/event_doc.h), the others its constants. */
const char *const rollup_dim_fields[ROLLUP_DIMS] = {
    "source",      "channel",    "utm_source",  "utm_medium", "utm_campaign", "utm_term",
    "utm_content", EVDOC_DEVICE, EVDOC_BROWSER, EVDOC_OS,     EVDOC_COUNTRY};

int
rollup_dims_key(const char *const vals[ROLLUP_DIMS], char out[ROLLUP_DIMS_KEY_MAX])
{
    size_t at = 0;

    for (int i = 0; i < ROLLUP_DIMS; i++) {
        size_t len = vals[i] != NULL ? strlen(vals[i]) : 0;
        if (len == 0) {
            out[at++] = '-';
            continue;
        }
        if (len > ROLLUP_DIM_VALUE_MAX) {
            return -1;
        }
        /* "<len>:" by hand: snprintf() was most of the processor's cost of a key. */
        char digits[4];
        size_t nd = 0;
        for (size_t v = len; v > 0 || nd == 0; v /= 10) {
            digits[nd++] = (char)('0' + v % 10);
        }
        while (nd > 0) {
            out[at++] = digits[--nd];
        }
        out[at++] = ':';
        memcpy(out + at, vals[i], len);
        at += len;
    }
    out[at] = '\0';
    return (int)at;
}

char *
rollup_scope_id(const char *site, int64_t ts_ms, const char *type)
{
    return bucket_id(site, ts_ms, type, 10);
}

char *
rollup_hour_id(const char *site, int64_t hour_ms, const char *type)
{
    /* "YYYY-MM-DDTHH", or "YYYY-MM-DDTHH:MM" for an hour of a zone a half or three quarters of
     * an hour off UTC. */
    return bucket_id(site, hour_ms, type, ts_floor(hour_ms, 60000) % TS_HOUR_MS != 0 ? 16 : 13);
}

/* Read "<n>:" then n bytes at *p (before end); sets [*s, *s + *len) and moves *p past. */
static int
counted(const char **p, const char *end, const char **s, size_t *len)
{
    size_t n = 0;
    const char *q = *p;

    for (; q < end && *q >= '0' && *q <= '9' && n < 100000; q++) {
        n = n * 10 + (size_t)(*q - '0');
    }
    if (q == *p || q >= end || *q != ':' || (size_t)(end - q - 1) < n) {
        return -1;
    }
    *s = q + 1;
    *len = n;
    *p = q + 1 + n;
    return 0;
}

/* The number of two digits at s, at most max; -1 when they are not. */
static int
two_digits(const char *s, int max)
{
    int v;

    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
        return -1;
    }
    v = (s[0] - '0') * 10 + (s[1] - '0');
    return v <= max ? v : -1;
}

int
rollup_id_bucket(const char *id, int64_t *start_ms, int *hour)
{
    size_t len = strnlen(id, 17);
    int h, m = 0, n = 10;

    if (len < 11 || ts_parse_date(id, 10, start_ms) != 0) {
        return -1;
    }
    *hour = id[10] == 'T';
    if (*hour) { /* "THH|", or "THH:MM|" (rollup_hour_id()) */
        if (len < 14 || (h = two_digits(id + 11, 23)) < 0) {
            return -1;
        }
        n = 13;
        if (id[13] == ':') {
            if (len < 17 || (m = two_digits(id + 14, 59)) < 0) {
                return -1;
            }
            n = 16;
        }
        *start_ms += h * TS_HOUR_MS + m * 60000;
    }
    return id[n] == '|' ? n : -1;
}

int
rollup_id_parse(const char *id, int64_t *day_ms, const char **site, size_t *site_len,
                const char **rest)
{
    const char *end = id + strlen(id), *p, *type;
    size_t type_len;
    int hour, n = rollup_id_bucket(id, day_ms, &hour);

    if (n < 0) {
        return -1;
    }
    *day_ms = ts_floor(*day_ms, TS_DAY_MS); /* a site-hour's date */
    p = id + n + 1;
    if (p < end && *p == '*') {
        p++;
    } else if (counted(&p, end, &type, &type_len) != 0) {
        return -1;
    }
    if (p >= end || *p++ != '|' || counted(&p, end, site, site_len) != 0 ||
        (p != end && *p != ROLLUP_CHILD_SEP)) {
        return -1;
    }
    *rest = p;
    return 0;
}

char *
rollup_child_id(const char *parent, const char *leaf)
{
    size_t n = strlen(parent) + strlen(leaf) + 2;
    char *id = malloc(n);

    if (id != NULL) {
        snprintf(id, n, "%s%c%s", parent, ROLLUP_CHILD_SEP, leaf);
    }
    return id;
}

int64_t
rollup_user_hash(const char *user)
{
    return (int64_t)hash_fnv1a(HASH_FNV1A_BASIS, user, strlen(user));
}

int
rollup_batch_parse(const char *id, char run[ROLLUP_RUN_LEN + 1], int64_t *seq)
{
    const char *colon = strchr(id, ':');
    char *end;
    long long v;

    if (colon == NULL || colon - id != ROLLUP_RUN_LEN) {
        return -1;
    }
    v = strtoll(colon + 1, &end, 10);
    if (*end != '\0' || v < 1) {
        return -1;
    }
    memcpy(run, id, ROLLUP_RUN_LEN);
    run[ROLLUP_RUN_LEN] = '\0';
    *seq = v;
    return 0;
}

int
rollup_referrer_host(const char *referrer, char out[ROLLUP_REFERRER_MAX + 1])
{
    const char *p, *end, *at;
    size_t n = 0;

    if (referrer == NULL) {
        return -1;
    }
    if (strncasecmp(referrer, "https://", 8) == 0) {
        p = referrer + 8;
    } else if (strncasecmp(referrer, "http://", 7) == 0) {
        p = referrer + 7;
    } else {
        return -1;
    }
    end = p + strcspn(p, "/?#");
    for (at = p; at < end; at++) {
        if (*at == '@') {
            p = at + 1; /* user info */
        }
    }
    for (; p < end && *p != ':'; p++) {
        unsigned char c = (unsigned char)*p;
        if (!isalnum(c) && c != '.' && c != '-' && c != '_') {
            return -1;
        }
        if (n == ROLLUP_REFERRER_MAX) {
            return -1;
        }
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    return n > 0 ? (int)n : -1;
}
