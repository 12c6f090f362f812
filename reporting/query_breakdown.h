/* query_breakdown.h - /stats/breakdown from the rollup documents (common/rollup_doc.h): a
 * site's top event types, paths or referrer hosts over a range. */
#ifndef REPORTING_QUERY_BREAKDOWN_H
#define REPORTING_QUERY_BREAKDOWN_H

#include "query.h"

/* A query_breakdown_fn from the rollups: by event_type, the site-day-type documents of the
 * range (index {site_id, date}), their users exact over the range as /stats's; by path or
 * referrer, the path or referrer documents as /stats's top paths (views only). */
int query_breakdown_rollups(store_t *s, const char *site_id, const struct day_range *r, int by,
                            int limit, struct breakdown *out, struct app_err *err);

#endif
