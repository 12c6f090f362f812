/* envelope.h - the queue envelope: how an event travels from ingest to the processor.
 *
 * One envelope is one Redis list element: a compact JSON object, version 1:
 *
 *   {"v":1,                       format version; a decoder rejects other values
 *    "id":"0190163d-8694-7...",   event id (UUIDv7 text), the MongoDB _id
 *    "site_id":"site-abc-123",    as validated by ingest (1-256 bytes)
 *    "event_type":"page_view",    1-64 bytes
 *    "ts":1763200800000,          event time, UTC milliseconds since the epoch
 *    "received":1763200800123,    when ingest accepted it, UTC milliseconds
 *    "path":"/pricing",           optional, as sent
 *    "user_id":"u1",              optional, as sent
 *    "properties":{...},          optional JSON object, as sent
 *    "rid":"a1b2..."}             optional request id (ingest's X-Request-Id or the event id),
 *                                 logged by the processor so one event can be followed
 *
 * A later version may add fields; a version-1 decoder ignores fields it does
 * not know, so adding optional fields does not need a new version number. */
#ifndef COMMON_ENVELOPE_H
#define COMMON_ENVELOPE_H

#include <stddef.h>

#include "event.h"

#define ENVELOPE_VERSION 1

/* Serialise a validated event (id and received_ms set). Returns a malloc'd,
 * NUL-terminated string (caller frees with free()) and its length in *len,
 * or NULL when out of memory. */
char *envelope_encode(const struct event *ev, size_t *len);

/* Parse and validate an envelope. On success returns 0 and fills ev (release
 * with event_cleanup()). On failure returns -1 with err->code ERR_INVALID and
 * a reason: nested more than EVENT_BODY_DEPTH_MAX levels, not JSON, wrong version,
 * bad id, or an invalid field. */
int envelope_decode(const char *buf, size_t len, struct event *ev, struct app_err *err);

#endif
