/* tracker.h - the browser tracker, ingest/tracker.js minified, built into ingest. */
#ifndef INGEST_TRACKER_H
#define INGEST_TRACKER_H

#include "http.h"

/* Defined in $(BUILD)/gen/tracker_js.c, which the Makefile writes from ingest/tracker.js:
 * the minified script's bytes (not NUL-terminated), its Content-Type and strong ETag
 * (quoted: the first 16 hex digits of the bytes' sha256); no Cache-Control (NULL). */
extern const struct http_asset tracker_js;

#endif
