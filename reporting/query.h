/* query.h - reporting's reads of MongoDB: the figures of /stats, from the rollup documents
 * (common/rollup_doc.h) or from the raw events. */
#ifndef REPORTING_QUERY_H
#define REPORTING_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "range.h"
#include "rollup_doc.h"
#include "store.h"

/* The largest `limit` of a breakdown, and its default. */
#define BREAKDOWN_MAX 100
#define BREAKDOWN_DEFAULT 10

/* Top values with their views (and users where kept), most viewed first, ties by value:
 * the answer of /stats/breakdown, and the top paths of /stats. */
struct breakdown {
    int has_users; /* users are kept for this `by` (event_type) */
    size_t n;
    struct breakdown_row {
        char *value; /* owned */
        int64_t views, users;
    } rows[BREAKDOWN_MAX];
};

/* Free the values of b and zero it. */
void breakdown_clear(struct breakdown *b);

/* The figures of /stats for one site and a range of UTC days. */
struct stats {
    int64_t total_views;
    int64_t unique_users;
    struct breakdown top_paths; /* at most ROLLUP_TOP_PATHS rows, users not kept */
};

/* Free the paths of st and zero it. */
void stats_clear(struct stats *st);

/* A query: the stats of site_id over the UTC days of r, narrowed to event_type unless it
 * is NULL; site_id and event_type are matched as plain strings. unique_users counts a
 * user once over the whole range. Returns 0 and fills out (release it with stats_clear()),
 * or -1 with err filled (out is then empty). Thread-safe. */
typedef int (*query_stats_fn)(store_t *s, const char *site_id, const struct day_range *r,
                              const char *event_type, struct stats *out, struct app_err *err);

/* From the rollup documents: the site-day documents of the range (one read by _id), the
 * top path documents (one day: the top 10 of the index {scope, views, path}; a range: a
 * $group over the range's path documents) and, over more than one day, the range's user
 * documents, whatever the number of events: exact, each user counted once. */
int query_stats_rollups(store_t *s, const char *site_id, const struct day_range *r,
                        const char *event_type, struct stats *out, struct app_err *err);

/* From the raw events, with one aggregation over the {site_id, timestamp} range: the same
 * answer as query_stats_rollups(). */
int query_stats_events(store_t *s, const char *site_id, const struct day_range *r,
                       const char *event_type, struct stats *out, struct app_err *err);

/* The points of /stats/timeseries: views[i] and users[i] of bucket i of n, each a UTC
 * hour or day from the range's start. */
struct series {
    int64_t n;
    int64_t *views, *users; /* owned */
    unsigned char *capped;  /* owned: bucket i's users are a lower bound (a site-hour whose
                             * set of users was full, u_capped) */
};

/* Free a series' arrays and zero it. */
void series_clear(struct series *ts);

/* A query: the series of site_id over r in buckets of step_ms (an hour or a day; r at most
 * RANGE_MAX_HOUR_DAYS days for an hour), narrowed to event_type unless it is NULL. Every
 * bucket is present. Returns 0 and fills out (series_clear()), or -1 with err. */
typedef int (*query_series_fn)(store_t *s, const char *site_id, const struct day_range *r,
                               int64_t step_ms, const char *event_type, struct series *out,
                               struct app_err *err);

/* From the site-day documents (views and users), or the site-hour documents (views, and
 * users as the size of their set u, with u_capped: one read by _id of at most 744
 * documents, whatever the number of events; only a site-hour created before the sets,
 * without u_all, has its users from the raw events of the range). */
int query_series_rollups(store_t *s, const char *site_id, const struct day_range *r,
                         int64_t step_ms, const char *event_type, struct series *out,
                         struct app_err *err);

/* From the raw events of the range (through {site_id, timestamp}): their timestamps,
 * bucketed here, and each bucket's users counted on the server. The yardstick of
 * query_series_rollups(), its cost growing with the events, its memory with the buckets. */
int query_series_events(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                        const char *event_type, struct series *out, struct app_err *err);

/* A query: the top `limit` values of `by` (enum range_by) of site_id over r. Returns 0
 * and fills out (breakdown_clear()), or -1 with err. */
typedef int (*query_breakdown_fn)(store_t *s, const char *site_id, const struct day_range *r,
                                  int by, int limit, struct breakdown *out, struct app_err *err);

/* From the rollups: by event_type, the site-day-type documents of the range (index
 * {site_id, date}), their users exact over the range as /stats's; by path or referrer, the
 * path or referrer documents as /stats's top paths (views only). */
int query_breakdown_rollups(store_t *s, const char *site_id, const struct day_range *r, int by,
                            int limit, struct breakdown *out, struct app_err *err);

/* From the raw events of the range (through {site_id, timestamp}), grouped on the server:
 * by event_type or path, the top values (and each listed type's users); by referrer, the
 * page views grouped by their referrer URL there and by host here, at most 10,000 hosts
 * (more: -1 with ERR_INVALID and the 400's message). The yardstick of
 * query_breakdown_rollups(), its cost growing with the events. */
int query_breakdown_events(store_t *s, const char *site_id, const struct day_range *r, int by,
                           int limit, struct breakdown *out, struct app_err *err);

#endif
