/* envelope.h - the queue envelope: how an event travels from ingest to the processor.
 *
 * One envelope is one Redis list element: a compact JSON object, version 1:
 *
 *   {"v":1,                       format version; a decoder rejects other values
 *    "id":"0190163d-8694-7...",   the MongoDB _id: a UUIDv7 made by ingest, or, for an
 *                                 event with a client event_id, "<site_id>:<event_id>"
 *                                 (event_derive_id(); checked against site_id)
 *    "dlv":"0190163d-8695-7...",  optional delivery id: ingest's UUIDv7 for this envelope,
 *                                 present when it is not "id" (absent: delivery = id, as
 *                                 in every envelope written before it existed). The
 *                                 processor tells a redelivery (same delivery as the
 *                                 stored document) from a client's duplicate (another)
 *    "site_id":"site-abc-123",    as validated by ingest (1-256 bytes)
 *    "event_type":"page_view",    1-64 bytes
 *    "ts":1763200800000,          event time, UTC milliseconds since the epoch (corrected
 *                                 for the client's clock skew when it sent sent_at); like
 *                                 every time here, within years 0001-9999
 *    "received":1763200800123,    when ingest accepted it, UTC milliseconds
 *    "cts":1763287200000,         optional: the client's own timestamp, present only
 *                                 when ts was corrected (POST /events with sent_at)
 *    "path":"/pricing",           optional, as sent
 *    "user_id":"u1",              optional, as sent, or derived by ingest (visitor.h)
 *    "vsrc":"client",             optional: how the visitor was known (enum event_visitor):
 *                                 "client" (user_id sent by the client), "device" (the
 *                                 tracker's stored id), "hash" (derived by ingest); absent
 *                                 without a user_id and in envelopes written before it
 *    "vy":"3f2a...",              optional: a hashed visitor's id under yesterday's salt
 *                                 (32 characters of [0-9a-f], ingest/visitor.h; struct event
 *                                 prev_visitor), so that the processor can continue a visit
 *                                 across UTC midnight (processor/assign.c); absent when
 *                                 there is no yesterday's salt, for other visitor sources and
 *                                 in envelopes written before it. Never stored in MongoDB,
 *                                 never shown by the API
 *    "cc":"DE",                   optional: the client's country, ISO 3166-1 alpha-2, two
 *                                 letters A-Z (ingest/geo.h, GEOIP_DB); absent when unknown
 *                                 and in envelopes written before it
 *    "att":{"s":"Google",         optional: a page view's attribution (ingest/sources.h):
 *      "m":"search","ch":"Paid",  source, medium, channel, and its campaign's utm_source,
 *      "us":"g","um":"cpc",       utm_medium, utm_campaign, utm_term, utm_content (enum
 *      "uc":"spring","ut":"x",    event_attr's order), each optional, 1-256 bytes; absent
 *      "ux":"y"}                  for other event types and in envelopes written before it
 *    "br":"Chrome","brv":"120",   optional, each: the client's browser and its major version,
 *    "os":"Android","osv":"14",   its operating system and major version, and its device
 *    "dev":"mobile",              class "mobile", "tablet" or "desktop" (ingest/ua.h, from
 *                                 the User-Agent and screen_width); names and versions 1-48
 *                                 and 1-16 printable ASCII characters but '"' and '\\' (common/
 *                                 device.h); each absent when unknown and in envelopes
 *                                 written before them
 *    "visit":{...},               optional: the event's visit (below); envelope_encode()
 *                                 writes it here; envelopes queued by ingest's former push
 *                                 script have it last
 *    "properties":{...},          optional JSON object, as sent
 *    "rid":"a1b2...",             optional request id (ingest's X-Request-Id or the event id:
 *                                 1-64 of [A-Za-z0-9._:-]), logged by the processor so one
 *                                 event can be followed
 *    "visit":{"id":"...","s":2,   optional: the event's visit, assigned by the processor
 *      "start":1763200800000,     (processor/assign.c, docs/design.md "Visits"; struct
 *      "n":0,"b":-1,"d":5000,     event_visit): the visit id (its first event's id), this
 *      "e":"/a","en":0,"eb":-1,   event's seq (>= 1), the visit's start (its first ts), and
 *      "x":"/b","xn":1,"xb":0,    this event's change to the visit's figures: n, en, xn in
 *      "xo":"/a","xob":1,         {0,1}; b, eb, xb in {-1,0,1}; d >= 0 ms; e, x, xo paths,
 *      "va":{"s":"Google",        optional (eb exactly with e, xob only with xo), members in
 *        "br":"Chrome",           this order. eb is the bounce change on the entry page:
 *        "cc":"DE"}}}             bounce(after) when en is 1, else b (a visit whose first
 *                                 page view has no path bounces before it has an entry).
 *                                 va, optional: the visit's attribution, device and country
 *                                 (its first event's; struct event_visit_attr), on each event
 *                                 but the first: the members of "att", then "br" ... "dev",
 *                                 then "cc", each optional, by their top-level rules ({} when
 *                                 the first event had none; absent: the event's own are its
 *                                 visit's). Absent before visits existed and without a user_id
 *
 * A later version may add fields; a version-1 decoder ignores fields it does
 * not know, so adding optional fields does not need a new version number.
 *
 * On its way an event is client text -> jansson tree -> struct event -> envelope text
 * -> Redis -> jansson tree -> struct event -> BSON, and each form is there for a reason:
 * - jansson in ingest: the body is text, parsed once and validated on the tree
 *   (event_from_request()).
 * - struct event: the validated fields, typed, pointing into that tree (nothing is
 *   copied); what envelope_encode() and the processor's insert and rollup code take.
 * - The envelope is JSON text: Redis stores bytes, ingest does not link libbson (it has
 *   civetweb, hiredis and jansson), and text stays readable in redis-cli and in dead
 *   letters, whose payload is the envelope as it was queued.
 * - envelope_encode() writes that text by hand from struct event into one buffer, and
 *   has jansson dump only properties (the client's own JSON) into the same buffer: it
 *   runs once per accepted event, and building a jansson object only to serialise it
 *   cost ingest a measurable share of its throughput.
 * - jansson in the processor: what it pops must be checked again (anything may have
 *   written to the list, and a bad element must become a dead letter, not a crash), and
 *   on a jansson tree the processor checks it with ingest's own code
 *   (event_take_fields()). libbson's JSON reader would need a second validator, and its
 *   document would be rebuilt anyway (ts becomes a Date, id the _id).
 * - BSON: what MongoDB stores. processor/insert.c builds it from struct event, and
 *   properties value by value from the tree, with no text in between.
 * So properties are serialised once (here) and parsed once (envelope_decode()). */
#ifndef COMMON_ENVELOPE_H
#define COMMON_ENVELOPE_H

#include <stddef.h>

#include "event.h"

#define ENVELOPE_VERSION 1

/* Serialise a validated event (id, delivery and received_ms set). Returns a malloc'd,
 * NUL-terminated string (caller frees with free()) and its length in *len,
 * or NULL when out of memory. */
char *envelope_encode(const struct event *ev, size_t *len);

/* The first n bytes of s (valid UTF-8) as the text of a JSON string in an envelope, without
 * its quotes, into out, which has room for ENVELOPE_ESCAPED_MAX(n) bytes: '"' and '\\' get a
 * backslash, control characters are written \u00XX, every other byte is copied. Returns the
 * length written (no NUL). The one escaper of strings in envelopes (envelope_encode()). Pure. */
#define ENVELOPE_ESCAPED_MAX(n) (6 * (n))
size_t envelope_escape(const char *s, size_t n, char *out);

/* The JSON object of visit member v ({"id":...,"s":...}, with "va" when v->has_va: its attr
 * NULL or non-empty), exactly as envelope_encode() writes it after "visit":, malloc'd and
 * NUL-terminated with its length in *len; NULL when out of memory. */
char *envelope_visit_encode(const struct event_visit *v, size_t *len);

/* The envelope env[0..len) (a JSON object ending in '}') with ,"visit":<member> added as its
 * last member, malloc'd and NUL-terminated with its length in *out_len; NULL when env does not
 * end in '}' or out of memory. The processor's visit assignment (processor/assign.h) writes
 * each event's member this way. */
char *envelope_with_visit(const char *env, size_t len, const char *member, size_t member_len,
                          size_t *out_len);

/* Give ev, decoded from an envelope without a visit, the visit v (as from visit_step()), its
 * strings copied into memory ev owns (held by ev->src): the event envelope_decode() makes of
 * envelope_with_visit() of that envelope and envelope_visit_encode(v), without parsing it
 * again (the processor's claim hands its decoded events to the drain this way). Returns 0, or
 * -1 when out of memory (ev unchanged). */
int envelope_event_with_visit(struct event *ev, const struct event_visit *v);

/* Parse and validate an envelope, every field by the rule ingest applies to it (an
 * envelope is accepted only as ingest could have written it). On success returns 0 and
 * fills ev, id, received_ms and request_id included (release with event_cleanup()). On
 * failure returns -1 with err->code ERR_INVALID and a reason for the dead letter, the
 * first of: "envelope is nested more than 64 levels deep"; "envelope is not JSON:
 * <parser's reason>"; "envelope is not a JSON object"; "envelope version is not 1";
 * "envelope has no valid event id" (id not a string of at most EVENT_DOC_ID_MAX bytes);
 * "envelope field 'dlv' is not a valid delivery id"; then those of event_take_fields()
 * with time_name "ts" (for example "Missing required fields: ts" or "Field 'site_id' must
 * be 1-256 bytes"), whose own are "envelope field 'ts' is not an integer", "envelope field
 * 'received' is missing or not an integer", "envelope field 'cts' is not an integer", then
 * "envelope field 'ts' is outside years 0001-9999" (the same for received and cts); then
 * "envelope has no valid event id" when id is neither a UUIDv7 nor "<site_id>:<event_id>"
 * of its site_id; then "envelope field 'rid' is not a valid request id" (rid is optional;
 * when present it is 1-64 characters of [A-Za-z0-9._:-], event_request_id_valid()). Or -1
 * with ERR_INTERNAL when an allocation failed (jansson's included, jsonmem.h): the
 * envelope may be fine, and the caller tries again later. The last reason checked is
 * "envelope field 'vsrc' is not client, device or hash", then "envelope field 'vy' is not a
 * visitor id" (vy is optional; when present it is exactly 32 characters of [0-9a-f], copied
 * into ev->prev_visitor), then "envelope field 'cc' is not a
 * country code (two letters A-Z)", then "envelope field 'att' is not an object" or "envelope
 * field 'att.<m>' is not a string of 1-256 bytes", then "envelope field '<br, brv, os, osv or
 * dev>' is not <its rule>" (common/device.h), then those of the optional visit member:
 * "envelope field 'visit' is not an object"; then member by member, in the order id,
 * s, start, n, b, d, e, en, eb, x, xn, xb, xo, xob, "envelope field 'visit.<m>' is missing"
 * (any but e, eb, x and xo; xob only with xo, and ignored without it) or "envelope field
 * 'visit.<m>' <rule>" with <rule> "is not a valid event id" (id: an event id of the
 * envelope's site_id), "is not an integer of at least 1" (s), "is not an integer time within
 * years 0001-9999" (start), "is not 0 or 1" (n, en, xn, xob), "is not -1, 0 or 1" (b, eb,
 * xb; eb when present, with e or not), "is not an integer of at least 0" (d), "is not a
 * string of at most 2048 bytes" (e, x, xo); then "envelope field 'visit.e' is missing with
 * en 1", "envelope field 'visit.eb' is missing with e", "envelope field 'visit.eb' is present
 * without e", "envelope field 'visit.x' is missing with xn 1 or xb not 0", "envelope field
 * 'visit.xo' is present without a move of x" (xo needs x and xn 1); then those of the optional
 * "visit.va": "envelope field 'visit.va' is not an object", "envelope field 'visit.va.<m>' is
 * not a string of 1-256 bytes" (an "att" member), "envelope field 'visit.va.<br, brv, os, osv
 * or dev>' is not <its rule>", "envelope field 'visit.va.cc' is not a country code (two
 * letters A-Z)". Unknown members of visit and of va are ignored. */
int envelope_decode(const char *buf, size_t len, struct event *ev, struct app_err *err);

/* envelope_decode() by jansson alone. envelope_decode() first tries a scan of the exact form
 * envelope_encode() writes, which decodes what ingest queues at a tenth of the cost, and
 * leaves anything else to this; the tests and the fuzz target check that both agree. */
int envelope_decode_json(const char *buf, size_t len, struct event *ev, struct app_err *err);

#endif
