/* insert.h - the processor's writes of events to MongoDB: idempotent, and each stamped with
 * the batch that counts it in the rollups (processor/rollup.h). */
#ifndef PROCESSOR_INSERT_H
#define PROCESSOR_INSERT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "store.h"

/* The longest reason given for a refused document, with its terminating NUL. */
#define INSERT_REASON_LEN 128

/* What became of each event handed to insert_events(). */
enum insert_outcome {
    INSERT_NEW = 0,
    INSERT_DUPLICATE = 1, /* this event was already stored: counts as stored */
    INSERT_REJECTED = 2,  /* the server refused this document; see reasons[i] */
    INSERT_CONFLICT = 3,  /* another event is stored under this _id; see reasons[i] */
};

/* Create the indexes the reads need, idempotently: events {site_id:1, timestamp:1}
 * (reporting's /stats/aggregated), events {site_id:1, visit_start:1} (a site's visits by
 * start, for reporting's breakdowns) and rollup_paths {scope:1, views:-1, path:1} (its top
 * paths); rollup_visits {site_id:1, date:1} (a site's visit days and hours over a range of
 * dates); rollup_entry_pages and rollup_exit_pages {scope:1, visits:-1, path:1} (a day's
 * top pages) and {site_id:1, date:1} (a site's over a range of dates); rollup_dims and
 * rollup_dim_visits {site_id:1, date:1} (a site's visit dimensions over a range of dates). */
int insert_ensure_indexes(store_t *s, struct app_err *err);

/* What the document `stored` under ev's _id is to ev, whose document insert_events() built
 * as `doc`: INSERT_DUPLICATE when it is ev (or the client's first send of ev's event_id),
 * else INSERT_CONFLICT with reason "event <id> is stored for another site_id" or "event <id>
 * is stored with another <field>" (the rules below). Pure. */
enum insert_outcome insert_compare_stored(const struct event *ev, const bson_t *doc,
                                          const bson_t *stored, char reason[INSERT_REASON_LEN]);

/* Write the events as documents {_id: id, site_id, event_type, path, user_id,
 * visitor_source?, country?, source? ... utm_content?, browser? ... device? (the visit's,
 * visit.va, for an event with one: its first event's; else the event's own), visit_id?,
 * visit_seq? (int64), visit_start? (Date; the three only for an event with a visit),
 * timestamp: Date, createdAt: Date(now_ms), received_at: Date, client_timestamp?: Date,
 * delivery, properties?, own} (absent path and user_id are null; client_timestamp only for
 * an event whose timestamp ingest corrected for clock skew; delivery: event_delivery();
 * own: see rollup_append_own()). One unordered insert_many; when the server reports write
 * errors for it, the batch is written again one document at a time, since the test server
 * inserts nothing from a batch with one duplicate while MongoDB inserts the rest.
 * Idempotent: the event id is the _id (the collection's only unique index), so a
 * duplicate-key error means that a document with this _id is stored. That document is then
 * read, and it is this event (INSERT_DUPLICATE) only when its site_id is the event's and,
 * stored from the same envelope (the same delivery: a redelivery), its content is too
 * (event_type, path, user_id, timestamp, properties, visit_id, visit_seq; received_at and
 * client_timestamp when it has received_at, which documents stored before either existed lack;
 * the visit's dimensions, rollup_dim_fields[], when it counts in rollup_dims, own.d);
 * from another envelope of the same site it is the client's second send of one event_id, and the
 * first send wins (INSERT_DUPLICATE too). Anything else is INSERT_CONFLICT, the field that differs
 * in reasons[i]: an envelope that reuses another event's id is not that event, and must not
 * count in the rollups as its redelivery. Returns 0 when every event has an outcome in
 * outcomes[i] (and, for INSERT_REJECTED and INSERT_CONFLICT, a reason in reasons[i]); -1
 * with err->code ERR_TRANSIENT when the server could not be reached or did not acknowledge:
 * then nothing is known, and the whole batch is to be retried. The documents go out in
 * commands of at most store_chunk() each. */
int insert_events(store_t *s, const struct event *evs, size_t n, int64_t now_ms, const char *batch,
                  enum insert_outcome *outcomes, char (*reasons)[INSERT_REASON_LEN],
                  struct app_err *err);

#endif
