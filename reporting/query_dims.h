/* query_dims.h - a scan's figures (scan.h) from the rollups of the visits' dimensions,
 * rollup_dims and rollup_dim_visits (common/rollup_doc.h), when they hold them: a summary or
 * a time series by day filtered, or a breakdown by and filtered, on a visit's source, channel,
 * campaign, device, browser, OS or country only (scan_by_dims()). A few documents a day per
 * combination of those dimensions instead of every raw event of the range (docs/design.md). */
#ifndef REPORTING_QUERY_DIMS_H
#define REPORTING_QUERY_DIMS_H

#include "err.h"
#include "scan.h"
#include "store.h"

/* Fill scan s (scan_init()ed, scan_by_dims()) with site_id's figures over its range from the
 * dimension rollups. They hold a day when its site-day (rollups, all types) and visit site-day
 * (rollup_visits) were created by processors that keep them (dims: true, or no such document:
 * nothing that day), and no document of the range has a capped set of users. Returns 1 when s
 * holds the figures; 0 when the rollups do not hold the whole range, s as it was given (read
 * the raw events); -1 with err (ERR_INVALID with SCAN_TOO_MANY past the scan's bounds). */
int query_dims(store_t *st, const char *site_id, struct scan *s, struct app_err *err);

#endif
