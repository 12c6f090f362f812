/* batch.h - the events of a POST /events body, validated together: all or nothing. */
#ifndef INGEST_BATCH_H
#define INGEST_BATCH_H

#include <jansson.h>
#include <stdint.h>

#include "event.h"

/* Validate each item of events (a JSON array) into evs[i] with event_from_request(), and
 * when has_sent correct its timestamp for the client's clock skew: sent_ms is the client's
 * clock when it sent the batch, now ingest's (event_correct_ts(); the client's own time is
 * kept as client_ts_ms). evs holds json_array_size(events) zeroed events; each is filled or
 * left zeroed, and the caller cleans them all up. Returns 0 when every event is valid; 1
 * when some are not, with *errors a new JSON array (the caller's reference) holding for
 * each, in order, {"index": i, "message": why}; or -1 when out of memory, with *errors NULL:
 * then an invalid event may have no entry, so nothing of the batch may be accepted. */
int batch_validate(json_t *events, int has_sent, int64_t sent_ms, int64_t now, struct event *evs,
                   json_t **errors);

#endif
