/* accept.h - accepting events: POST /event and POST /events. Each reads the body, validates
 * it, checks SITE_IDS and RATE_LIMIT, gives each event its ids and envelope, and queues the
 * envelopes with one atomic push (pusher.h); routes.c maps the paths to them. */
#ifndef INGEST_ACCEPT_H
#define INGEST_ACCEPT_H

struct mg_connection;

/* POST /event: one event, a JSON object (arg is the struct ingest). Answers 202
 * {"status":"accepted","id":...} once the event is in Redis, never before; 400 for a body or
 * an Idempotency-Key that is not valid; 403 for a site SITE_IDS does not list; 413 above
 * MAX_BODY_BYTES; 429 beyond the client's RATE_LIMIT (with Retry-After); 503 when Redis did
 * not take it; 500 when memory ran out. Returns the status sent (civetweb's contract). */
int accept_post_event(struct mg_connection *conn, void *arg);

/* POST /events: 1 to INGEST_BATCH_MAX_EVENTS events, a JSON array or {"sent_at": ...,
 * "events": [...]}, at most INGEST_BATCH_MAX_BYTES; all or nothing (batch.h). Answers as
 * accept_post_event(), with 202 {"status":"accepted","ids":[...]}; a batch with invalid
 * events (400) or events of sites SITE_IDS does not list (403) is answered with "errors",
 * one entry for each such event, by its index. Returns the status sent. */
int accept_post_events(struct mg_connection *conn, void *arg);

#endif
