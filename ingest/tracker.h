/* tracker.h - the browser tracker, ingest/tracker.js minified, built into ingest. */
#ifndef INGEST_TRACKER_H
#define INGEST_TRACKER_H

#include <stddef.h>

/* Defined in $(BUILD)/gen/tracker_js.c, which the Makefile writes from ingest/tracker.js:
 * the minified script's bytes (not NUL-terminated), their number, and the script's
 * strong ETag (quoted: the first 16 hex digits of the bytes' sha256). */
extern const char tracker_js[];
extern const size_t tracker_js_len;
extern const char tracker_js_etag[];

#endif
