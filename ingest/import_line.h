/* import_line.h - one line of an export (GET /export's NDJSON) as an event to queue again
 * (POST /import, import.c). Pure. */
#ifndef INGEST_IMPORT_LINE_H
#define INGEST_IMPORT_LINE_H

#include <stddef.h>

#include "event.h"

/* Validate line[0..len) (one exported event, without its '\n') and fill ev as ingest would
 * have queued it, but for its delivery id, which seal time gives:
 * - by POST /events' own rules (event_parse_body(), event_from_request(), sources_check()):
 *   site_id, event_type, timestamp, path, user_id, properties, with their messages
 *   ("Missing required fields: timestamp", "Field 'site_id' must be 1-256 bytes", ...);
 * - "id" (required): the stored _id, kept as the envelope id, so that the processor's dedupe
 *   stores each event once however often it is imported: a UUIDv7, or "<site_id>:<event_id>"
 *   of the line's site_id ("Field 'id' must be the event's _id: a UUIDv7 or
 *   '<site_id>:<event_id>' of its site_id");
 * - "received_at", "client_timestamp" (optional RFC 3339 times): kept (received_ms is -1
 *   without received_at: the caller gives the time of the import);
 * - "visitor_source" (optional, with a user_id only): "client", "device" or "hash";
 * - "country" (optional): two letters A-Z;
 * - "source" ... "utm_content" (optional): strings of 1-256 bytes;
 * - "browser" ... "device" (optional): by common/device.h's rules.
 * A null member is an absent one. Other members (the processor's createdAt, delivery, own,
 * and the visit's visit_id, visit_seq, visit_start) are ignored: the processor that stores
 * the event writes its own. Returns 0 (release ev with event_cleanup()); -2 with err
 * ERR_INVALID when the line is not a JSON object ("Invalid JSON: <reason> (line 1, column C)",
 * "Request body is nested more than 64 levels deep", "Line is not a JSON object"); or -1 with
 * err: ERR_INVALID and the reason, or ERR_INTERNAL when out of memory. */
int import_line(const char *line, size_t len, struct event *ev, struct app_err *err);

#endif
