/* import.h - POST /import: an export's NDJSON (GET /export), streamed, queued again line by
 * line with the events' own ids, so that the processor's dedupe stores each event once. */
#ifndef INGEST_IMPORT_H
#define INGEST_IMPORT_H

#include <civetweb.h>

/* Events queued per push: a batch's lines are held (each at most MAX_BODY_BYTES) until it is
 * full, so this bounds ingest's memory for an import of any size. */
#define IMPORT_BATCH 200
/* The per-line errors the answer lists; the rest are counted. */
#define IMPORT_ERRORS_MAX 100

/* The handler (an admin route: ingest_filter() has checked the token). */
int import_post(struct mg_connection *conn, void *arg);

#endif
