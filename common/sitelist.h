/* sitelist.h - a setting given per site as "site:value,site:value,..." (SITE_RETENTION,
 * SITE_TIMEZONES): the one reader of that form, so that every such setting takes the same
 * text and refuses the same mistakes with the same words. Pure; table-tested in
 * tests/unit/test_sitelist.c. */
#ifndef COMMON_SITELIST_H
#define COMMON_SITELIST_H

#include <stddef.h>

#include "err.h"

/* The longest value an item may carry. */
#define SITELIST_VALUE_MAX 128

struct sitelist_item {
    char *site;  /* malloc'd */
    char *value; /* malloc'd, 1-SITELIST_VALUE_MAX bytes */
};

/* The items, sorted by site (strcmp), each site once. */
struct sitelist {
    struct sitelist_item *items;
    size_t n;
};

/* Whether a value is one the setting takes: NULL, or why not ("must be a number 0-36500"). */
typedef const char *(*sitelist_check)(const char *value);

/* Read text (NULL or empty: no item): items separated by ',', blanks (space, tab) around an
 * item ignored; an item is site ':' value, split at its last ':'; the site 1-256 bytes
 * without blanks or ',', the value at most SITELIST_VALUE_MAX bytes and taken by check. At
 * most max items. Returns 0 with *out filled (sitelist_free() it), or -1 with err naming the
 * item by its position and *out empty: `item 2 ("shop:x"): days must be a number 0-36500`
 * (`what` names the value: "days", "time zone"), `item 1 ("shop"): expected site:days`,
 * `item 2 is empty`, `item 3: site "shop" is listed twice`; ERR_INTERNAL out of memory. */
int sitelist_parse(const char *text, size_t max, const char *what, sitelist_check check,
                   struct sitelist *out, struct app_err *err);

/* The value given for site, or NULL. O(log n). */
const char *sitelist_find(const struct sitelist *l, const char *site);

/* The index of site's item, or -1. */
long sitelist_index(const struct sitelist *l, const char *site);

/* Free l's items and zero it. */
void sitelist_free(struct sitelist *l);

#endif
