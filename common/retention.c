/* retention.c - the retention settings and the cutoffs they give (retention.h). */
#include "retention.h"

#include <stdlib.h>
#include <string.h>

#include "sitelist.h"
#include "ts.h"

/* SITE_RETENTION's days: 0 to RETENTION_DAYS_MAX, digits only. */
static const char *
days_check(const char *value)
{
    long days;

    return value[0] >= '0' && value[0] <= '9' &&
                   cfg_parse_long(value, 0, RETENTION_DAYS_MAX, &days) == 0
               ? NULL
               : "must be a number 0-" RETENTION_DAYS_MAX_TEXT;
}

int
retention_parse_sites(const char *text, struct retention *r, struct app_err *err)
{
    r->site_days = NULL;
    if (sitelist_parse(text, RETENTION_SITES_MAX, "days", days_check, &r->sites, err) != 0) {
        return -1;
    }
    if (r->sites.n > 0 && (r->site_days = calloc(r->sites.n, sizeof *r->site_days)) == NULL) {
        sitelist_free(&r->sites);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < r->sites.n; i++) {
        (void)cfg_parse_long(r->sites.items[i].value, 0, RETENTION_DAYS_MAX, &r->site_days[i]);
    }
    return 0;
}

int
retention_check_sites(const char *value, struct app_err *err)
{
    struct retention r = {0};
    int rc = retention_parse_sites(value, &r, err);

    retention_cleanup(&r);
    return rc;
}

void
retention_cleanup(struct retention *r)
{
    sitelist_free(&r->sites);
    free(r->site_days);
    r->site_days = NULL;
}

long
retention_site_days(const struct retention *r, const char *site)
{
    long i = sitelist_index(&r->sites, site);

    return i >= 0 ? r->site_days[i] : r->days;
}

int64_t
retention_cutoff_ms(int64_t now_ms, long days)
{
    return days <= 0 ? INT64_MIN : ts_floor(now_ms, TS_DAY_MS) - (int64_t)days * TS_DAY_MS;
}

int64_t
retention_site_cutoff_ms(const struct retention *r, const char *site, int64_t now_ms)
{
    return retention_cutoff_ms(now_ms, retention_site_days(r, site));
}
