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
    INSERT_DUPLICATE = 1, /* an event with this _id was already stored: counts as stored */
    INSERT_REJECTED = 2,  /* the server refused this document; see reasons[i] */
};

/* Create the indexes the reads need, idempotently: events {site_id:1, timestamp:1}
 * (reporting's /stats/aggregated) and rollup_paths {scope:1, views:-1, path:1} (its top
 * paths). */
int insert_ensure_indexes(store_t *s, struct app_err *err);

/* Write the events as documents {_id: id, site_id, event_type, path, user_id,
 * timestamp: Date, createdAt: Date(now_ms), received_at: Date, client_timestamp?: Date,
 * delivery, properties?, own} (absent path and user_id are null; client_timestamp only for
 * an event whose timestamp ingest corrected for clock skew; delivery: event_delivery();
 * own: see rollup_append_own()). Idempotent: the event id is the _id and a
 * duplicate-key error means "already stored". One unordered insert_many; when the server
 * reports write errors for it, the batch is written again one document at a time, since the
 * test server inserts nothing from a batch with one duplicate while MongoDB inserts the rest
 * (see MONGO.md). Returns 0 when every event has an outcome in outcomes[i] (and, for
 * INSERT_REJECTED, a reason in reasons[i]); -1 with err->code ERR_TRANSIENT when the server
 * could not be reached or did not acknowledge: then nothing is known, and the whole batch is
 * to be retried. The documents go out in commands of at most store_chunk() each. */
int insert_events(store_t *s, const struct event *evs, size_t n, int64_t now_ms, const char *batch,
                  enum insert_outcome *outcomes, char (*reasons)[INSERT_REASON_LEN],
                  struct app_err *err);

#endif
