/* breakdown_scan.h - GET /stats/breakdown from the raw events (scan.h): by a visit's source,
 * channel, campaign, device, browser, operating system or country, by a property, by any
 * dimension with filters, or past the rollups' 100 rows (docs/api.md). */
#ifndef REPORTING_BREAKDOWN_SCAN_H
#define REPORTING_BREAKDOWN_SCAN_H

#include "request.h"

/* The largest `limit` of a breakdown from the scan. */
#define BREAKDOWN_SCAN_MAX 1000

/* The 400 of an unknown `by`. */
#define BREAKDOWN_ERR_BY                                                                           \
    "Parameter 'by' must be event_type, path, referrer, entry_page, exit_page, source, "           \
    "channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, device, browser, os, "  \
    "country or prop.<key>"

/* Answer q (read, its filters included) with the top `limit` values of `by`: each row's
 * visitors, visits, pageviews and bounce_rate (and, by path, event_type and referrer, its
 * events as "views"; by event_type its visitors as "unique_users"), in scan_rank()'s order.
 * Returns the status sent. */
int breakdown_scan_answer(struct mg_connection *conn, struct reporting *r, struct req *q,
                          const struct filter_dimension *by, int limit);

#endif
