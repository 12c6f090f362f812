/* query_realtime.h - GET /stats/realtime from the raw events of the last minutes: who is on a
 * site now and the pages they are on (docs/api.md), with or without filters. */
#ifndef REPORTING_QUERY_REALTIME_H
#define REPORTING_QUERY_REALTIME_H

#include "filter.h"
#include "query.h"

/* The most visitors a filtered read of the window holds (about 60 bytes each): more is a 400
 * (ERR_INVALID). */
#define QUERY_REALTIME_VISITORS_MAX 100000

/* GET /stats/realtime: the visitors with an event whose time is at most window_ms before now_ms
 * (distinct user_ids), and the pages they are on (the path of each one's latest page view in
 * the window), most visitors first, ties by path, at most limit; rows' views are visitors.
 * Without filters (fs NULL or empty), two aggregations over the window's events (index
 * {site_id, timestamp}); with filters, one read of the window's events, each kept when it
 * passes them by its stored values (query_scan_doc_passes(): not the entry or exit page, which
 * the caller refuses), counted in reporting. Returns 0, or -1 with err. */
int query_realtime(store_t *s, const char *site_id, const struct filters *fs, int64_t now_ms,
                   int64_t window_ms, int limit, int64_t *visitors, struct breakdown *pages,
                   struct app_err *err);

#endif
