/* export_plan.h - GET /export: its parameters, its resume cursor, whether the client takes
 * gzip, its MongoDB query and its file name. Pure functions; the rendering of the events is
 * in export_render.h, the stream itself in export.c.
 *
 * An export lists the raw events of a site in a range of days ordered by (timestamp, _id),
 * ascending (the default) or descending, from the index EVENTS_INDEX_NAME. A cursor is the
 * (timestamp, id) of the last event a client received whole, as the line shows them, and
 * the export resumes strictly after it (keyset paging): no event is sent twice or skipped,
 * however many share a timestamp. */
#ifndef REPORTING_EXPORT_PLAN_H
#define REPORTING_EXPORT_PLAN_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "range.h"
#include "sitetz.h"

#define EXPORT_MISSING "Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"
#define EXPORT_BAD_FORMAT "Parameter 'format' must be ndjson or csv"
#define EXPORT_BAD_ORDER "Parameter 'order' must be asc or desc"
#define EXPORT_BAD_CURSOR                                                                          \
    "Parameter 'cursor' must be the timestamp and id of an exported event joined by ',', e.g. "    \
    "2025-11-15T10:00:00.000Z,<id>"

/* The longest cursor: a timestamp as written (TS_FORMAT_LEN - 1), ',' and an id. */
#define EXPORT_CURSOR_MAX (24 + 1 + EVENT_DOC_ID_MAX)

enum export_format { EXPORT_NDJSON, EXPORT_CSV };

/* One GET /export request. */
struct export_query {
    char site_id[EVENT_SITE_ID_MAX + 1];
    struct day_range days; /* the days asked for: date, or from and to (range_parse()) */
    enum export_format format;
    int desc;      /* 1: newest first; 0: oldest first (the default) */
    int has_after; /* a cursor: list what sorts after (after_ms, after_id) in this order */
    int64_t after_ms;
    char after_id[EVENT_DOC_ID_MAX + 1];
};

/* Parse the query string qs (may be NULL) of GET /export into q: site_id, the days as the
 * other reads take them (date, or from and to; at most RANGE_MAX_DAYS; the site's days of
 * tzs, UTC without a zone or with tzs NULL), format (ndjson, the
 * default, or csv), order (asc, the default, or desc) and cursor (export_cursor_parse()).
 * Returns 0, or -1 with msg filled with the 400 message: EXPORT_MISSING, a RANGE_ERR_*,
 * "Parameter 'site_id' must be ...", EXPORT_BAD_FORMAT, EXPORT_BAD_ORDER or
 * EXPORT_BAD_CURSOR. */
int export_parse(const char *qs, const struct sitetz *tzs, struct export_query *q, char *msg,
                 size_t msglen);

/* Read a cursor s[0..len): `<timestamp>,<id>`, the timestamp an RFC 3339 instant
 * (ts_parse_rfc3339()), the id 1-EVENT_DOC_ID_MAX bytes of UTF-8 (everything after the first
 * ','). Returns 0 with *ms and id (NUL-terminated) set, or -1. */
int export_cursor_parse(const char *s, size_t len, int64_t *ms, char id[EVENT_DOC_ID_MAX + 1]);

/* Whether a request's Accept-Encoding value (NULL: absent) accepts gzip (RFC 9110, 12.5.3):
 * `gzip` or `x-gzip` listed with a q above 0, or else `*` with a q above 0. Codings are
 * compared in any case; a malformed q counts as 0. */
int export_accepts_gzip(const char *accept_encoding);

/* The aggregation of q, {pipeline: [...]}: $match {site_id, timestamp within the days, and
 * after a cursor $or: [{timestamp beyond after}, {timestamp: after, _id beyond after_id}]
 * with the bound on that side moved to after}, then $sort {timestamp, _id} in q's order.
 * Every field of each event is kept. The caller destroys it. */
bson_t *export_pipeline(const struct export_query *q);

/* The file name the reply suggests: events-<first day>-<last day>.ndjson or .csv (days as
 * YYYY-MM-DD; the site id, any bytes, is left out of the header). out holds 48 bytes. */
void export_filename(const struct export_query *q, char out[48]);

#endif
