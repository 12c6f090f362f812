/* query_aggregated.h - the figures from the raw events (the /aggregated routes: the
 * yardsticks of the rollups), and the users of a series' buckets counted there. */
#ifndef REPORTING_QUERY_AGGREGATED_H
#define REPORTING_QUERY_AGGREGATED_H

#include "query.h"

/* A query_stats_fn from the raw events, with one aggregation over the {site_id, timestamp}
 * range: the same answer as query_stats_rollups(). */
int query_aggregated_stats(store_t *s, const char *site_id, const struct day_range *r,
                           const char *event_type, struct stats *out, struct app_err *err);

/* A query_series_fn from the raw events of the range (through {site_id, timestamp}): their
 * timestamps, bucketed here, and each bucket's users counted on the server. The yardstick of
 * query_series_rollups(), its cost growing with the events, its memory with the buckets. */
int query_aggregated_series(store_t *s, const char *site_id, const struct day_range *r,
                            int64_t step_ms, const char *event_type, struct series *out,
                            struct app_err *err);

/* The users of out's buckets marked -1, each counted on the server from the raw events of
 * its bucket (of event_type unless NULL): one aggregation a bucket that answers one number.
 * Returns 0, or -1 with err. */
int query_aggregated_bucket_users(store_t *s, const char *site_id, const struct day_range *r,
                                  int64_t step_ms, const char *event_type, struct series *out,
                                  struct app_err *err);

/* A query_breakdown_fn from the raw events of the range (through {site_id, timestamp}),
 * grouped on the server: by event_type or path, the top values (and each listed type's
 * users); by referrer, the page views grouped by their referrer URL there and by host here,
 * at most HOSTS_MAX hosts (more: -1 with ERR_INVALID and the 400's message). The yardstick
 * of query_breakdown_rollups(), its cost growing with the events. */
int query_aggregated_breakdown(store_t *s, const char *site_id, const struct day_range *r, int by,
                               int limit, struct breakdown *out, struct app_err *err);

#endif
