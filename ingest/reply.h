/* reply.h - ingest's 202 texts, written without jansson. */
#ifndef INGEST_REPLY_H
#define INGEST_REPLY_H

#include <stddef.h>

#include "event.h"

/* The 202's text for n_evs sealed events (their ids set), byte for byte as
 * json_dumps(JSON_COMPACT) writes it: {"status":"accepted","ids":[...]} for POST /events,
 * or with single set POST /event's {"status":"accepted","id":"..."} of evs[0]. Written
 * directly only when every id is printable ASCII without '"' or '\\': returns it
 * malloc'd (the caller frees it), or NULL for an id that needs escaping (or out of
 * memory), which the caller then has jansson write. */
char *reply_accepted(const struct event *evs, size_t n_evs, int single);

#endif
