/* sitetz.h - SITE_TIMEZONES: the time zone of each site that has one ("shop:Europe/Berlin,
 * blog:Asia/Kolkata"; sitelist.h's form, each zone an IANA name of the system's tzdata, tz.h),
 * in which the processor counts a site's days and hours and reporting reads them. A site
 * without one keeps UTC. Read at start by the processor and reporting, which refuse an
 * unknown zone (exit 2). */
#ifndef COMMON_SITETZ_H
#define COMMON_SITETZ_H

#include "err.h"
#include "sitelist.h"
#include "tz.h"

/* The most sites SITE_TIMEZONES may list. */
#define SITETZ_SITES_MAX 10000

struct sitetz {
    struct sitelist sites;
    struct tz **zones; /* [sites.n], each owned */
};

/* The cfg row of SITE_TIMEZONES into *(text), checked by sitetz_check(). */
#define SITETZ_VAR(text)                                                                           \
    {                                                                                              \
        "SITE_TIMEZONES", "", CFG_CHECKED, (text), 0, 0, 0, sitetz_check                           \
    }

/* Read SITE_TIMEZONES (NULL or empty: none) and load each zone. Returns 0 with *out filled
 * (sitetz_free() it), or -1 with err naming the item: `item 2 ("blog:Mars/Base"): time zone
 * is not in the system's tzdata (/usr/share/zoneinfo)`. */
int sitetz_parse(const char *text, struct sitetz *out, struct app_err *err);

/* cfg's check of SITE_TIMEZONES: sitetz_parse() of it, freed. */
int sitetz_check(const char *text, struct app_err *err);

/* The zone of site, or NULL (UTC). O(log n). */
const struct tz *sitetz_find(const struct sitetz *s, const char *site);

/* Free s's zones and zero it. */
void sitetz_free(struct sitetz *s);

#endif
