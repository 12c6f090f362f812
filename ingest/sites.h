/* sites.h - the sites ingest accepts events for (SITE_IDS): parsing the list, and the
 * check of one site id. Pure functions; accept.c applies them after a request's body is
 * parsed. */
#ifndef INGEST_SITES_H
#define INGEST_SITES_H

#include <stddef.h>

#include "err.h"

typedef struct sites sites_t;

/* Parse SITE_IDS: a comma-separated list of site ids (blanks around an item are
 * ignored), each 1-256 bytes; empty (or only blanks) accepts any site. Returns the set
 * (free with sites_free()), or NULL with err filled: ERR_INVALID, "an empty item
 * (two commas, or a comma at an end)" or "\"<item>\" is longer than 256 bytes", or
 * ERR_INTERNAL when out of memory. */
sites_t *sites_new(const char *spec, struct app_err *err);

/* NULL is a no-op. */
void sites_free(sites_t *s);

/* SITE_IDS's check (a CFG_CHECKED row): 0 when sites_new() takes value, else -1 with its
 * error in err. */
int sites_check_ids(const char *value, struct app_err *err);

/* True when site_id is accepted: the set is NULL or empty, or lists it exactly. */
int sites_accepts(const sites_t *s, const char *site_id);

#endif
