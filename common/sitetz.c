/* sitetz.c - each site's time zone (sitetz.h). */
#include "sitetz.h"

#include <stdlib.h>
#include <string.h>

/* A zone name the system's tzdata holds: NULL, or why not. */
static const char *
zone_check(const char *value)
{
    struct tz *z;
    char why[256];

    if (!tz_name_ok(value)) {
        return "is not a time zone name such as Europe/Berlin";
    }
    if (tz_load(value, &z, why, sizeof why) != 0) {
        return "is not a zone of the system's tzdata (TZDIR, or /usr/share/zoneinfo)";
    }
    tz_free(z);
    return NULL;
}

int
sitetz_parse(const char *text, struct sitetz *out, struct app_err *err)
{
    char why[256];

    memset(out, 0, sizeof *out);
    if (sitelist_parse(text, SITETZ_SITES_MAX, "time zone", zone_check, &out->sites, err) != 0) {
        return -1;
    }
    if (out->sites.n > 0 && (out->zones = calloc(out->sites.n, sizeof *out->zones)) == NULL) {
        sitetz_free(out);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < out->sites.n; i++) {
        if (tz_load(out->sites.items[i].value, &out->zones[i], why, sizeof why) != 0) {
            /* zone_check() loaded it a moment ago: the files changed, or memory ran out. */
            sitetz_free(out);
            return err_set(err, ERR_INVALID, "%s", why);
        }
    }
    return 0;
}

int
sitetz_check(const char *text, struct app_err *err)
{
    struct sitetz s;
    int rc = sitetz_parse(text, &s, err);

    sitetz_free(&s);
    return rc;
}

const struct tz *
sitetz_find(const struct sitetz *s, const char *site)
{
    long i = s->sites.n > 0 ? sitelist_index(&s->sites, site) : -1;

    return i >= 0 ? s->zones[i] : NULL;
}

void
sitetz_free(struct sitetz *s)
{
    for (size_t i = 0; s->zones != NULL && i < s->sites.n; i++) {
        tz_free(s->zones[i]);
    }
    free(s->zones);
    sitelist_free(&s->sites);
    s->zones = NULL;
}
