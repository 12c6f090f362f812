/* query_scan.h - the read behind scan.h: a site's raw events of a range, visit by visit, into
 * a scan (filtered summaries, series and breakdowns, and the breakdowns by a visit's values). */
#ifndef REPORTING_QUERY_SCAN_H
#define REPORTING_QUERY_SCAN_H

#include <stdatomic.h>

#include "err.h"
#include "scan.h"
#include "store.h"

/* The most events one visit may have in a scan, and the most visits that began outside the
 * range a scan with entry or exit pages reads whole: past them, ERR_INVALID SCAN_TOO_MANY. */
#define QUERY_SCAN_VISIT_EVENTS_MAX 100000
#define QUERY_SCAN_OUTSIDE_MAX 10000

/* The scans answered from the dimension rollups (query_dims.h), and from the raw events, since
 * start: analytics_scan_reads_total{from="rollups"|"raw"} on /metrics. */
extern atomic_ullong query_scan_from_rollups, query_scan_from_raw;

/* Count site_id's events of the scan's range into s (scan_init()ed): one aggregation over the
 * events of the range and of the visits that began in it, sorted by visit (index {site_id: 1,
 * visit_start: 1} and {site_id: 1, timestamp: 1}), each visit handed to scan_visit() when
 * its last event is read; with entry or exit pages among the dimensions, first the ids of
 * the visits with events in the range that began outside it, whose events are read too.
 * Returns 0, or -1 with err (ERR_INVALID with SCAN_TOO_MANY past a bound). Thread-safe. */
int query_scan(store_t *st, const char *site_id, struct scan *s, struct app_err *err);
/* (With a visit's source, channel, campaign, device, browser, OS or country only, scan_by_dims(),
 * it reads the rollups of those dimensions instead when they hold the range: query_dims().) */

/* Whether one stored event passes the filters fs by its own values: a visit's (its first
 * event's, which it stores) and its own; never a visit's entry or exit page (absent here), so
 * that a caller refuses those dimensions first (GET /events). */
int query_scan_doc_passes(const struct filters *fs, const bson_t *doc);

/* /stats/summary's figures of site_id over r with filters fs (query_scan() of one row).
 * Returns 0 and fills out, or -1 with err. */
int query_scan_summary(store_t *st, const char *site_id, const struct day_range *r,
                       const struct filters *fs, struct summary *out, struct app_err *err);

/* /stats/timeseries's with filters fs, in buckets of step_ms: each bucket's events and
 * visitors into ts (views, users; never capped) and its page views and visits into vs, as
 * the rollups' reads fill them. Returns 0 (series_clear(), visit_series_clear()), or -1 with
 * err (both empty). */
int query_scan_series(store_t *st, const char *site_id, const struct day_range *r, int64_t step_ms,
                      const struct filters *fs, struct series *ts, struct visit_series *vs,
                      struct app_err *err);

#endif
