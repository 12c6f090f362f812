/* csv.h - the comma-separated lists of ingest's configuration (CORS_ORIGINS, SITE_IDS). */
#ifndef INGEST_CSV_H
#define INGEST_CSV_H

#include <stddef.h>

/* Called with one item of a list: item[0..len) with the blanks (spaces, tabs) around it
 * trimmed, so len may be 0 (an empty item: ",," or a comma at an end). Returns 0 to go
 * on, or -1 to stop. */
typedef int (*csv_item_fn)(const char *item, size_t len, void *arg);

/* Call fn on each comma-separated item of list, in order; an empty list is no items at
 * all (not one empty item). Returns 0, or -1 as soon as fn does. */
int csv_each(const char *list, csv_item_fn fn, void *arg);

#endif
