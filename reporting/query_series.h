/* query_series.h - /stats/timeseries from the rollup documents (common/rollup_doc.h): a site's
 * views and distinct users per UTC day or hour of a range. */
#ifndef REPORTING_QUERY_SERIES_H
#define REPORTING_QUERY_SERIES_H

#include "query.h"

/* A query_series_fn from the site-day documents (views and users), or the site-hour
 * documents (views, and users as the size of their set u, with u_capped: one read by _id of
 * at most 744 documents, whatever the number of events; only a site-hour created before the
 * sets, without u_all, has its users from the raw events of the range). */
int query_series_rollups(store_t *s, const char *site_id, const struct day_range *r,
                         int64_t step_ms, const char *event_type, struct series *out,
                         struct app_err *err);

#endif
