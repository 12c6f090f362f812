/* retention.c - the retention settings and the cutoffs they give (retention.h). */
#include "retention.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "ts.h"

/* One item of SITE_RETENTION, [s, e) with blanks trimmed, into *out (site malloc'd). */
static int
parse_item(const char *s, const char *e, int pos, struct retention_site *out, struct app_err *err)
{
    const char *colon = NULL;
    char num[16];
    size_t site_len;

    while (s < e && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    if (s == e) {
        return err_set(err, ERR_INVALID, "item %d is empty", pos);
    }
    for (const char *p = s; p < e; p++) {
        colon = *p == ':' ? p : colon;
    }
    if (colon == NULL) {
        return err_set(err, ERR_INVALID, "item %d (\"%.*s\"): expected site:days", pos,
                       (int)(e - s > 64 ? 64 : e - s), s);
    }
    site_len = (size_t)(colon - s);
    if (site_len == 0 || site_len > EVENT_SITE_ID_MAX || memchr(s, ' ', site_len) != NULL ||
        memchr(s, '\t', site_len) != NULL) {
        return err_set(err, ERR_INVALID, "item %d: the site must be 1-%d bytes without blanks", pos,
                       EVENT_SITE_ID_MAX);
    }
    if ((size_t)(e - colon - 1) >= sizeof num) {
        return err_set(err, ERR_INVALID, "item %d: days must be a number 0-%ld", pos,
                       RETENTION_DAYS_MAX);
    }
    memcpy(num, colon + 1, (size_t)(e - colon - 1));
    num[e - colon - 1] = '\0';
    if (cfg_parse_long(num, 0, RETENTION_DAYS_MAX, &out->days) != 0 || num[0] == '-') {
        return err_set(err, ERR_INVALID, "item %d (\"%.*s\"): days must be a number 0-%ld", pos,
                       (int)(e - s > 64 ? 64 : e - s), s, RETENTION_DAYS_MAX);
    }
    if ((out->site = strndup(s, site_len)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

int
retention_parse_sites(const char *text, struct retention *r, struct app_err *err)
{
    size_t cap = 1;
    int pos = 0;

    r->sites = NULL;
    r->n = 0;
    if (text == NULL || *text == '\0') {
        return 0;
    }
    for (const char *p = text; *p != '\0'; p++) {
        cap += *p == ',';
    }
    if (cap > RETENTION_SITES_MAX) {
        return err_set(err, ERR_INVALID, "at most %d sites", RETENTION_SITES_MAX);
    }
    if ((r->sites = calloc(cap, sizeof *r->sites)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (const char *s = text;; pos++) {
        const char *e = strchr(s, ',');
        e = e != NULL ? e : s + strlen(s);
        if (parse_item(s, e, pos + 1, &r->sites[r->n], err) != 0) {
            goto fail;
        }
        r->n++;
        for (size_t i = 0; i + 1 < r->n; i++) {
            if (strcmp(r->sites[i].site, r->sites[r->n - 1].site) == 0) {
                err_set(err, ERR_INVALID, "item %d: site \"%s\" is listed twice", pos + 1,
                        r->sites[i].site);
                goto fail;
            }
        }
        if (*e == '\0') {
            return 0;
        }
        s = e + 1;
    }
fail:
    retention_cleanup(r);
    return -1;
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
    for (size_t i = 0; r->sites != NULL && i < r->n; i++) {
        free(r->sites[i].site);
    }
    free(r->sites);
    r->sites = NULL;
    r->n = 0;
}

long
retention_site_days(const struct retention *r, const char *site)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->sites[i].site, site) == 0) {
            return r->sites[i].days;
        }
    }
    return r->days;
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
