/* sites.c - the sites ingest accepts events for (SITE_IDS): a sorted list, searched. */
#include "sites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "event.h"

struct sites {
    size_t n;
    char *buf;  /* a copy of the list, each item NUL-terminated in place */
    char **ids; /* into buf, sorted */
};

struct sites_parse {
    sites_t *s;
    const char *spec;
    struct app_err *err;
};

static int
take_site(const char *item, size_t len, void *arg)
{
    struct sites_parse *ps = arg;
    sites_t *s = ps->s;
    size_t at = (size_t)(item - ps->spec);

    if (len == 0) {
        return err_set(ps->err, ERR_INVALID, "an empty item (two commas, or a comma at an end)");
    }
    if (len > EVENT_SITE_ID_MAX) {
        return err_set(ps->err, ERR_INVALID, "\"%.32s...\" is longer than %d bytes", item,
                       EVENT_SITE_ID_MAX);
    }
    /* The byte after the item is a comma, a blank or the end: never part of another. */
    s->buf[at + len] = '\0';
    s->ids[s->n++] = s->buf + at;
    return 0;
}

static int
compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sites_t *
sites_new(const char *spec, struct app_err *err)
{
    sites_t *s = calloc(1, sizeof *s);
    struct sites_parse ps = {s, spec, err};
    size_t items = 1;

    for (const char *p = spec; *p != '\0'; p++) {
        items += *p == ',';
    }
    if (s == NULL || (s->buf = strdup(spec)) == NULL ||
        (s->ids = calloc(items, sizeof *s->ids)) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        sites_free(s);
        return NULL;
    }
    if (csv_each(spec, take_site, &ps) != 0) {
        sites_free(s);
        return NULL;
    }
    qsort(s->ids, s->n, sizeof *s->ids, compare_ids);
    return s;
}

void
sites_free(sites_t *s)
{
    if (s != NULL) {
        free(s->ids);
        free(s->buf);
        free(s);
    }
}

int
sites_check_ids(const char *value, struct app_err *err)
{
    sites_t *s = sites_new(value, err);

    sites_free(s);
    return s != NULL ? 0 : -1;
}

int
sites_accepts(const sites_t *s, const char *site_id)
{
    return s == NULL || s->n == 0 ||
           bsearch(&site_id, s->ids, s->n, sizeof *s->ids, compare_ids) != NULL;
}
