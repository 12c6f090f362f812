/* retention.h - how long raw events and rollups are kept: RETENTION_DAYS, SITE_RETENTION and
 * ROLLUP_RETENTION_DAYS, parsed once and shared by the processor (which deletes) and reporting
 * (which says from which day raw events exist). Pure functions, table-tested in
 * tests/unit/test_retention.c; docs/design.md#retention. */
#ifndef COMMON_RETENTION_H
#define COMMON_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "sitelist.h"

/* The most days a setting may name (100 years); 0 means "keep". */
#define RETENTION_DAYS_MAX 36500L
#define RETENTION_DAYS_MAX_TEXT "36500"
/* The most sites SITE_RETENTION may list. */
#define RETENTION_SITES_MAX 1000

/* The settings in effect. Plain data: retention_cleanup() frees the sites. */
struct retention {
    long days;             /* RETENTION_DAYS: every site not in sites */
    long rollup_days;      /* ROLLUP_RETENTION_DAYS */
    struct sitelist sites; /* SITE_RETENTION (sitelist.h) */
    long *site_days;       /* [sites.n]: each site's days, 0: kept */
};

/* The rows of a service's cfg table: RETENTION_DAYS, SITE_RETENTION (checked by
 * retention_check_sites()) and ROLLUP_RETENTION_DAYS into (r)'s days and rollup_days and
 * *(sites_text); the text is parsed afterwards with retention_parse_sites(). */
#define RETENTION_VARS(r, sites_text)                                                              \
    {"RETENTION_DAYS", "0", CFG_INT, &(r)->days, 0, RETENTION_DAYS_MAX, 0, NULL},                  \
        {"SITE_RETENTION", "", CFG_CHECKED, (sites_text), 0, 0, 0, retention_check_sites},         \
    {                                                                                              \
        "ROLLUP_RETENTION_DAYS", "0", CFG_INT, &(r)->rollup_days, 0, RETENTION_DAYS_MAX, 0, NULL   \
    }

/* Parse SITE_RETENTION, "site:days,site:days,..." (blanks around items ignored; the site is
 * what comes before an item's last ':', 1-256 bytes without ',' or blanks; days 0 to
 * RETENTION_DAYS_MAX, 0 keeping that site's events; each site once; empty: none) into
 * r->sites and r->n (r->days and rollup_days untouched). Returns 0, or -1 with err naming
 * the item by its position, e.g. `item 2 ("shop:x"): days must be a number 0-36500`;
 * ERR_INTERNAL when out of memory. On failure r->sites is NULL. */
int retention_parse_sites(const char *text, struct retention *r, struct app_err *err);

/* The cfg check of SITE_RETENTION: parses it and frees the result. */
int retention_check_sites(const char *value, struct app_err *err);

/* Free r's sites; r may be zeroed. */
void retention_cleanup(struct retention *r);

/* The days site's raw events are kept: its SITE_RETENTION entry, else RETENTION_DAYS;
 * 0: for ever. */
long retention_site_days(const struct retention *r, const char *site);

/* The first instant kept under `days` at now_ms: 00:00 UTC of the day `days` days before
 * now's UTC day (so whole UTC days are kept: today and the `days` days before it); INT64_MIN
 * when days is 0 (everything kept). An event is expired when its timestamp is before it. */
int64_t retention_cutoff_ms(int64_t now_ms, long days);

/* retention_cutoff_ms() for site's raw events. */
int64_t retention_site_cutoff_ms(const struct retention *r, const char *site, int64_t now_ms);

#endif
