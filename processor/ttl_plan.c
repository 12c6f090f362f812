/* ttl_plan.c - the retention TTL indexes wanted, and the steps to them (ttl_plan.h). */
#include "ttl_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "event_doc.h"
#include "hash.h"
#include "sweep.h"
#include "ts.h"

int
ttl_mode_check(const char *value, struct app_err *err)
{
    return strcmp(value, "auto") == 0 || strcmp(value, "on") == 0 || strcmp(value, "off") == 0
               ? 0
               : err_set(err, ERR_INVALID, "must be auto, on or off");
}

enum ttl_mode
ttl_mode_parse(const char *value)
{
    return strcmp(value, "on") == 0 ? TTL_ON : strcmp(value, "off") == 0 ? TTL_OFF : TTL_AUTO;
}

long long
ttl_expire_s(long days)
{
    return ((long long)days + 1) * (TS_DAY_MS / 1000) + SWEEP_MARGIN_MS / 1000;
}

/* The days of element i of the runs: even i the stretch i / 2 (RETENTION_DAYS), odd i the
 * listed site (i - 1) / 2. */
static long
element_days(const struct retention *r, size_t i)
{
    return i % 2 == 0 ? r->days : r->site_days[(i - 1) / 2];
}

/* The name of ix: the prefix and the FNV-1a of its bounds, each a tag byte and the site with
 * its NUL (a site holds no NUL), so that every processor names the same filter alike. */
static void
index_name(struct ttl_index *ix)
{
    uint64_t h = HASH_FNV1A_BASIS;
    char tag;

    tag = ix->lo == NULL ? 'n' : ix->lo_incl ? 'G' : 'g';
    h = hash_fnv1a(h, &tag, 1);
    if (ix->lo != NULL) {
        h = hash_fnv1a(h, ix->lo, strlen(ix->lo) + 1);
    }
    tag = ix->hi == NULL ? 'n' : ix->hi_incl ? 'L' : 'l';
    h = hash_fnv1a(h, &tag, 1);
    if (ix->hi != NULL) {
        h = hash_fnv1a(h, ix->hi, strlen(ix->hi) + 1);
    }
    snprintf(ix->name, sizeof ix->name, TTL_NAME_PREFIX "%016" PRIx64, h);
}

int
ttl_plan_build(const struct retention *r, struct ttl_plan *plan, struct app_err *err)
{
    size_t n = r->sites.n, last = 2 * n; /* elements 0..last */

    plan->n = 0;
    for (size_t i = 0, j; i <= last; i = j + 1) {
        long days = element_days(r, i);
        for (j = i; j < last && element_days(r, j + 1) == days; j++) {
        }
        if (days == 0) {
            continue;
        }
        if (days > TTL_DAYS_MAX) {
            plan->n = 0;
            return err_set(err, ERR_INVALID, "%ld days are more than a TTL index can keep (%ld)",
                           days, TTL_DAYS_MAX);
        }
        if (plan->n == TTL_INDEXES_MAX) {
            plan->n = 0;
            return err_set(err, ERR_INVALID, "the settings need more than %d TTL indexes",
                           TTL_INDEXES_MAX);
        }
        struct ttl_index *ix = &plan->ix[plan->n++];
        memset(ix, 0, sizeof *ix);
        /* A run from a listed site includes it; from a stretch, starts past the site before. */
        if (i > 0) {
            ix->lo = r->sites.items[i % 2 == 1 ? (i - 1) / 2 : i / 2 - 1].site;
            ix->lo_incl = i % 2 == 1;
        }
        if (j < last) {
            ix->hi = r->sites.items[j % 2 == 1 ? (j - 1) / 2 : j / 2].site;
            ix->hi_incl = j % 2 == 1;
        }
        ix->days = days;
        ix->expire_s = ttl_expire_s(days);
        index_name(ix);
    }
    return 0;
}

void
ttl_index_filter(const struct ttl_index *ix, bson_t *b)
{
    bson_t f, range;

    if (ix->lo == NULL && ix->hi == NULL) {
        return;
    }
    bson_append_document_begin(b, "partialFilterExpression", -1, &f);
    if (ix->lo == ix->hi) { /* one site */
        bson_append_utf8(&f, EVDOC_SITE_ID, -1, ix->lo, -1);
    } else {
        bson_append_document_begin(&f, EVDOC_SITE_ID, -1, &range);
        if (ix->lo != NULL) {
            bson_append_utf8(&range, ix->lo_incl ? "$gte" : "$gt", -1, ix->lo, -1);
        }
        if (ix->hi != NULL) {
            bson_append_utf8(&range, ix->hi_incl ? "$lte" : "$lt", -1, ix->hi, -1);
        }
        bson_append_document_end(&f, &range);
    }
    bson_append_document_end(b, &f);
}

size_t
ttl_diff(const struct ttl_plan *plan, const struct ttl_have *have, size_t n_have,
         enum ttl_action *act, int *drop)
{
    size_t steps = 0;

    for (size_t w = 0; w < plan->n; w++) {
        act[w] = TTL_CREATE;
        for (size_t h = 0; h < n_have; h++) {
            if (strcmp(have[h].name, plan->ix[w].name) == 0) {
                act[w] = have[h].expire_s == plan->ix[w].expire_s ? TTL_KEEP : TTL_COLLMOD;
            }
        }
        steps += act[w] != TTL_KEEP;
    }
    for (size_t h = 0; h < n_have; h++) {
        drop[h] = strncmp(have[h].name, TTL_NAME_PREFIX, sizeof TTL_NAME_PREFIX - 1) == 0;
        for (size_t w = 0; drop[h] && w < plan->n; w++) {
            drop[h] = strcmp(have[h].name, plan->ix[w].name) != 0;
        }
        steps += (size_t)drop[h];
    }
    return steps;
}
