/* query.h - what reporting's reads of MongoDB answer: the figures of /stats, /stats/timeseries
 * and /stats/breakdown, and the signatures routes.c calls the reads through; and the pieces
 * the reads of the rollup documents (common/rollup_doc.h) share. The reads themselves, one
 * file a family, each through dbread.h: query_stats.h, query_series.h and query_breakdown.h
 * from the rollups, query_aggregated.h from the raw events. */
#ifndef REPORTING_QUERY_H
#define REPORTING_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "range.h"
#include "rollup_doc.h"
#include "store.h"

/* The largest `limit` of a breakdown, and its default. */
#define BREAKDOWN_MAX 100
#define BREAKDOWN_DEFAULT 10

/* The documents a read of user documents asks for in one batch: each at most about 800 bytes
 * (a site-day id, a user_id of at most 256 bytes and a batch id), so a batch holds at most
 * about 200 KB. The read of the raw events' referrer URLs asks for as many. */
#define QUERY_USERS_BATCH 256

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

/* Add a row (none past BREAKDOWN_MAX). Returns 0, or -1 out of memory. */
int breakdown_add(struct breakdown *b, const char *value, int64_t views, int64_t users);

/* A read's callback (dbread_each_fn) that adds each document {<key>: value, views, users}
 * (views and users 0 when missing) to a breakdown; arg is a struct breakdown_rows. A
 * document without a string value is skipped. Returns DBREAD_NEXT, or -1 out of memory. */
struct breakdown_rows {
    struct breakdown *out;
    const char *key;
};
int breakdown_add_doc(const bson_t *doc, void *arg, struct app_err *err);

/* The figures of /stats for one site and a range of UTC days. */
struct stats {
    int64_t total_views;
    int64_t unique_users;
    struct breakdown top_paths; /* at most ROLLUP_TOP_PATHS rows, users not kept */
};

/* Free the paths of st and zero it. */
void stats_clear(struct stats *st);

/* Add the entry {<path_key>: path, views: n} of a top-paths answer to st. Returns 0 (also
 * for an entry without a path, or beyond ROLLUP_TOP_PATHS: skipped), or -1 out of memory. */
int stats_add_path(struct stats *st, const bson_t *entry, const char *path_key);

/* A query: the stats of site_id over the UTC days of r, narrowed to event_type unless it
 * is NULL; site_id and event_type are matched as plain strings. unique_users counts a
 * user once over the whole range. Returns 0 and fills out (release it with stats_clear()),
 * or -1 with err filled (out is then empty). Thread-safe. */
typedef int (*query_stats_fn)(store_t *s, const char *site_id, const struct day_range *r,
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

/* Allocate the zeroed buckets of step_ms over r into out. Returns 0, or -1 with err (out is
 * then empty). */
int series_init(struct series *out, const struct day_range *r, int64_t step_ms,
                struct app_err *err);

/* A query: the series of site_id over r in buckets of step_ms (an hour or a day; r at most
 * RANGE_MAX_HOUR_DAYS days for an hour), narrowed to event_type unless it is NULL. Every
 * bucket is present. Returns 0 and fills out (series_clear()), or -1 with err. */
typedef int (*query_series_fn)(store_t *s, const char *site_id, const struct day_range *r,
                               int64_t step_ms, const char *event_type, struct series *out,
                               struct app_err *err);

/* A query: the top `limit` values of `by` (enum range_by) of site_id over r. Returns 0
 * and fills out (breakdown_clear()), or -1 with err. */
typedef int (*query_breakdown_fn)(store_t *s, const char *site_id, const struct day_range *r,
                                  int by, int limit, struct breakdown *out, struct app_err *err);

/* --- the rollup documents of a range ----------------------------------------------------- */

/* Free ids[0..n) and ids (NULL: nothing). */
void query_free_ids(char **ids, int64_t n);

/* The site-day ids of the days of r (of event_type unless NULL), in order (query_free_ids()),
 * or NULL out of memory. */
char **query_scope_ids(const char *site_id, const struct day_range *r, const char *event_type);

/* The site-day or site-hour ids (step_ms a day or an hour; of event_type unless NULL) of each
 * bucket of r (range_buckets() of them), in order (query_free_ids()), or NULL out of memory. */
char **query_bucket_ids(const char *site_id, const struct day_range *r, int64_t step_ms,
                        const char *event_type);

/* The day in r of a rollup document's id (its leading date), or -1. */
int64_t query_day_of_id(const char *id, const struct day_range *r);

/* The aggregation of the top `limit` values of `field` (path or referrer) of the range's
 * child documents (path or referrer documents: {scope, <field>, views}) whose scopes are
 * ids[0..r->days), with the name of their value's field in its answers in *key: one day,
 * the top of the index {scope: 1, views: -1, <field>: 1}; more, each value's views summed
 * over the days. Free with bson_destroy(). NULL (err set) when the filter could not be
 * built. */
bson_t *query_top_pipeline(char **ids, const struct day_range *r, const char *field, int limit,
                           const char **key, struct app_err *err);

#endif
