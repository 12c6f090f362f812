/* explorer.h - GET /events: its parameters, its cursor, its MongoDB query, the JSON of an
 * event and the bounds of a page. Pure functions; the read itself is in events.c.
 *
 * The events of a site are listed newest first, by (timestamp desc, _id desc), from the
 * index EVENTS_INDEX_NAME (common/event_doc.h). A page ends with the (timestamp, _id) of
 * its last event, and the next page starts strictly after it (keyset paging): events that
 * arrive meanwhile sort either before the first page (newer) or into their place among
 * the ones not yet listed, so no event is skipped or listed twice. */
#ifndef REPORTING_EXPLORER_H
#define REPORTING_EXPLORER_H

#include <bson/bson.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "filter.h"
#include "sitetz.h"

#define EXPLORER_LIMIT_DEFAULT 100
#define EXPLORER_LIMIT_MAX 1000

/* A page holds at most EXPLORER_PAGE_BYTES of events' JSON (the events and the commas
 * between them), or one event larger than that: it ends before the event that would take
 * it past them, and its next_cursor continues with that event. */
#define EXPLORER_PAGE_BYTES (1024 * 1024)

/* The most events one batch from MongoDB may hold: with properties (each up to about
 * 1 MiB, ingest's largest body), and without (each at most about 3 KB: the fields' limits
 * of common/event.h). */
#define EXPLORER_BATCH_PROPS 32
#define EXPLORER_BATCH_BARE 256

/* A cursor: base64url without padding of 1 version byte (1), the timestamp (8 bytes, big
 * endian, two's complement ms), the filters' hash (8 bytes, explorer_filters_hash()) and
 * the _id's bytes. */
#define EXPLORER_CURSOR_FIXED 17
#define EXPLORER_CURSOR_MAX (((EXPLORER_CURSOR_FIXED + EVENT_DOC_ID_MAX) * 4 + 2) / 3)

#define EXPLORER_MISSING_SITE "Missing required parameter: site_id"
#define EXPLORER_BAD_CURSOR "Invalid cursor"
#define EXPLORER_OTHER_CURSOR "Invalid cursor: it was issued for other filters"
#define EXPLORER_FROM_AFTER_TO "Parameter 'from' must be before 'to'"
#define EXPLORER_BAD_LIMIT "Parameter 'limit' must be an integer from 1 to 1000"
#define EXPLORER_BAD_PROPERTIES "Parameter 'properties' must be true or false"

/* One GET /events request. */
struct events_query {
    char site_id[EVENT_SITE_ID_MAX + 1];
    char event_type[EVENT_TYPE_MAX + 1]; /* each filter: "" when not given */
    char user_id[EVENT_USER_ID_MAX + 1];
    char path[EVENT_PATH_MAX + 1];
    int64_t from_ms; /* inclusive; TS_MIN_MS when not given */
    int64_t to_ms;   /* exclusive; TS_MAX_MS + 1 when not given */
    long limit;
    int properties; /* 1: each event with its properties (the default); 0: without */
    int has_after;  /* a cursor: list what sorts after (after_ms, after_id) */
    int64_t after_ms;
    char after_id[EVENT_DOC_ID_MAX + 1];
    struct filters filters; /* `filter` parameters (filter.h), checked on each event read */
};

/* Parse the query string qs (may be NULL) of GET /events into q. `from` and `to` are RFC
 * 3339 instants (ts_parse_rfc3339()) or dates YYYY-MM-DD: from is inclusive, an instant
 * `to` exclusive and a date `to` the end of that day, a date's day the site's in tzs (its
 * SITE_TIMEZONES zone; UTC without one, or with tzs NULL); the range they make must not be
 * empty (EXPLORER_FROM_AFTER_TO otherwise). `properties` is true or false (absent or
 * empty: true). Returns 0, or -1 with msg filled with the 400 message:
 * EXPLORER_MISSING_SITE, "Parameter 'X' must be ..." for a bad value,
 * EXPLORER_FROM_AFTER_TO, EXPLORER_BAD_LIMIT, EXPLORER_BAD_PROPERTIES, EXPLORER_BAD_CURSOR
 * or EXPLORER_OTHER_CURSOR. */
int explorer_parse(const char *qs, const struct sitetz *tzs, struct events_query *q, char *msg,
                   size_t msglen);

/* A hash (FNV-1a, 64 bits) of q's filters: site, range and the three fields. A cursor
 * carries it, so that it is refused with other filters (the limit and properties may
 * change). */
uint64_t explorer_filters_hash(const struct events_query *q);

/* The cursor of the page of q whose last event is (ts_ms, id), into out (NUL-terminated). */
void explorer_cursor_encode(const struct events_query *q, int64_t ts_ms, const char *id,
                            char out[EXPLORER_CURSOR_MAX + 1]);

/* Decode the cursor s[0..len) given with q's filters into q->after_ms and q->after_id (and
 * set q->has_after). Strict: only the encoder's exact output is accepted. Returns 0, -1
 * when it is malformed, -2 when it was issued for other filters. */
int explorer_cursor_decode(const char *s, size_t len, struct events_query *q);

/* The find() filter of q: {site_id, timestamp: {$gte: from, $lt: to}, the fields given,
 * and after a cursor $or: [{timestamp: {$lt: after}}, {timestamp: after, _id: {$lt:
 * after_id}}] with the upper bound lowered to after + 1 ms}. The caller destroys it. */
bson_t *explorer_filter(const struct events_query *q);

/* The aggregation of q, {pipeline: [...]}: $match explorer_filter(q), $sort {timestamp: -1,
 * _id: -1}, $limit q->limit + 1 (the extra one says whether there is a next page), and a
 * $project that leaves out the processor's bookkeeping (createdAt, delivery, own) and,
 * without properties, the properties: on the server, so that they never reach reporting
 * (an aggregation rather than a find: the test server ignores a find's projection). The
 * caller destroys it. */
bson_t *explorer_pipeline(const struct events_query *q);

/* Whether an event whose JSON is len bytes joins a page that holds n events in used bytes
 * (their JSON and the commas between them): the first always does, the others while the
 * page stays within EXPLORER_PAGE_BYTES. */
int explorer_page_fits(long n, size_t used, size_t len);

/* How many documents to ask MongoDB for in the next batch of q's page, which holds n
 * events in used bytes, the largest document met so far being largest bytes (0: none
 * yet): as many as fit in the page's room at that size (range_batch()), at most the
 * documents the page may still take (q->limit + 1 - n) and EXPLORER_BATCH_PROPS (or
 * EXPLORER_BATCH_BARE without properties); before any, 8 (or EXPLORER_BATCH_BARE). At
 * least 1. */
uint32_t explorer_batch(const struct events_query *q, long n, size_t used, size_t largest);

/* The JSON text of a stored event (docs/api.md), compact: id, site_id, event_type,
 * path, user_id (null when not sent), timestamp and received_at
 * (YYYY-MM-DDTHH:MM:SS.mmmZ), client_timestamp when present, and properties when present
 * and with_properties, written from the BSON without a tree (jsontext_bson()). Returns
 * the malloc'd text (free()) and sets *len, or NULL when doc has no string _id or no date
 * timestamp, or out of memory. */
char *explorer_render(const bson_t *doc, int with_properties, size_t *len);

#endif
