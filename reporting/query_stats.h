/* query_stats.h - /stats from the rollup documents (common/rollup_doc.h): a site's views,
 * distinct users and top paths over one day or a range of days. */
#ifndef REPORTING_QUERY_STATS_H
#define REPORTING_QUERY_STATS_H

#include "query.h"

/* A query_stats_fn from the rollup documents: the site-day documents of the range (one read
 * by _id), the top path documents (one day: the top 10 of the index {scope, views, path}; a
 * range: a $group over the range's path documents) and, over more than one day, the range's
 * user documents, whatever the number of events: exact, each user counted once. */
int query_stats_rollups(store_t *s, const char *site_id, const struct day_range *r,
                        const char *event_type, struct stats *out, struct app_err *err);

/* The views of site site_id over r (added to out->total_views) and its distinct users
 * (out->unique_users), from its site-day documents ids[0..r->days) (query_scope_ids()) and,
 * over more than a day, their user documents (each user counted once, in passes of at most
 * RANGE_USERS_PASS hashes). Returns 0, or -1 with err. */
int query_stats_scopes(store_t *s, const char *site_id, char **ids, const struct day_range *r,
                       struct stats *out, struct app_err *err);

#endif
