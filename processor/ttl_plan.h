/* ttl_plan.h - the TTL indexes the events collection should have for the retention settings,
 * and what to change to get them from what it has: pure functions, table-tested in
 * tests/unit/test_ttl_plan.c (docs/design.md#retention; the MongoDB side is ttl.c).
 *
 * One TTL index cannot say "30 days, but 5 for this site and for ever for that one", and a
 * partial filter cannot say "not these sites" ($nin, $ne and $not are not allowed in one), so
 * the plan cuts the site ids, in byte order, into runs that keep the same days: each
 * SITE_RETENTION site is a point, and the stretches between them (below the first, between
 * two, above the last) are RETENTION_DAYS'. Consecutive points and stretches with the same
 * days make one run, and each run with days > 0 one partial TTL index on {timestamp: 1}:
 * {site_id: "shop"} for a lone point, {site_id: {$gt|$gte: a, $lt|$lte: b}} for a range, no
 * filter when one run is every site. Every event falls in exactly one run, so an insert
 * updates one TTL index whatever their number. Only equality and $gt/$gte/$lt/$lte are used:
 * MongoDB 5.0 takes them in a partialFilterExpression ($in and $or need 6.0), and 5.0 is the
 * first to allow several indexes on one key pattern that differ by their partial filter. The
 * order is MongoDB's for strings without a collation (bytes, as strcmp; the events collection
 * has none). */
#ifndef PROCESSOR_TTL_PLAN_H
#define PROCESSOR_TTL_PLAN_H

#include <bson/bson.h>
#include <stddef.h>

#include "cfg.h"
#include "err.h"
#include "retention.h"

/* Every retention TTL index's name starts so; the processors drop such indexes that the
 * settings no longer want, and touch no other index. */
#define TTL_NAME_PREFIX "retention_ttl_"
/* The prefix and 16 hex digits. */
#define TTL_NAME_LEN (sizeof TTL_NAME_PREFIX - 1 + 16 + 1)

/* The most TTL indexes a plan may have (a collection holds 64 indexes at most; the events
 * collection has four others). Settings that need more leave the raw events to the sweep. */
#define TTL_INDEXES_MAX 32

/* The most days a TTL index can keep: expireAfterSeconds is at most 2^31 - 1, and
 * ttl_expire_s(24854) is 2,147,475,600 (68 years). */
#define TTL_DAYS_MAX 24854L

/* RETENTION_TTL: auto (TTL indexes where the server expires documents), on, off. */
enum ttl_mode { TTL_AUTO, TTL_ON, TTL_OFF };

/* The cfg row of RETENTION_TTL (its text: ttl_mode_parse()). */
#define TTL_VAR(dest)                                                                              \
    {                                                                                              \
        "RETENTION_TTL", "auto", CFG_CHECKED, (dest), 0, 0, 0, ttl_mode_check                      \
    }

/* The cfg check of RETENTION_TTL: "auto", "on" or "off". */
int ttl_mode_check(const char *value, struct app_err *err);

/* The mode RETENTION_TTL's (checked) text names. */
enum ttl_mode ttl_mode_parse(const char *value);

/* One wanted index: events of site ids between lo and hi (NULL: unbounded on that side;
 * lo == hi: that one site) expire expire_s after their timestamp. */
struct ttl_index {
    char name[TTL_NAME_LEN]; /* TTL_NAME_PREFIX and the hash of the filter: ttl_index_name() */
    const char *lo, *hi;     /* borrowed from the retention's sites */
    int lo_incl, hi_incl;    /* $gte rather than $gt, $lte rather than $lt */
    long days;
    long long expire_s;
};

struct ttl_plan {
    size_t n;
    struct ttl_index ix[TTL_INDEXES_MAX];
};

/* expireAfterSeconds for `days`: (days + 1) * 86400 + 3600.
 *
 * It keeps "deleted implies refused" (docs/design.md#retention, "Exactly once"): the TTL
 * monitor deletes an event of timestamp t only when the server's clock S is at least
 * t + (days + 1) d + 1 h. A processor whose clock P is less than an hour off S has
 * P > S - 1 h >= t + (days + 1) d, and refuses every event before its cutoff
 * floor_day(P) - days d > (P - 1 d) - days d = P - (days + 1) d > t: it refuses t. So a
 * deleted event is refused by every such processor, as with the sweep, whose clock runs
 * SWEEP_MARGIN_MS behind: the same hour, for clocks apart and for batches in flight. And it
 * deletes no later than a day after the sweep would: the sweep deletes t once
 * floor_day(S - 1 h) - days d > t, at S = floor_day(t) + (days + 1) d + 1 h at the latest.
 * tests/unit/test_ttl_plan.c checks both edges. */
long long ttl_expire_s(long days);

/* The plan for r into *plan. Returns 0, or -1 with err (ERR_INVALID) when no plan can say r:
 * more than TTL_INDEXES_MAX indexes, or a run of more than TTL_DAYS_MAX days; then the
 * raw events are the sweep's. */
int ttl_plan_build(const struct retention *r, struct ttl_plan *plan, struct app_err *err);

/* The partial filter of ix appended to b as "partialFilterExpression"; nothing when ix has
 * no bound. */
void ttl_index_filter(const struct ttl_index *ix, bson_t *b);

/* An index the collection has, as listIndexes says it. */
struct ttl_have {
    const char *name;
    long long expire_s; /* -1: not a TTL index */
};

/* What to do for each wanted index. */
enum ttl_action { TTL_KEEP, TTL_CREATE, TTL_COLLMOD };

/* From what the collection has (have[n_have]) to the plan: act[plan->n] for each wanted
 * index (by name: create it when missing, collMod its age when it differs), drop[n_have]
 * 1 for each TTL_NAME_PREFIX index the plan does not want (others: 0). Returns how many
 * steps that is (0: nothing to do). */
size_t ttl_diff(const struct ttl_plan *plan, const struct ttl_have *have, size_t n_have,
                enum ttl_action *act, int *drop);

#endif
