/* sitelist.c - "site:value,..." settings (sitelist.h). */
#include "sitelist.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"

/* At most this much of an item is quoted in a message. */
#define QUOTE_MAX 64

/* One item, [s, e), at position pos (from 1), into *out. Returns 0, or -1 with err. */
static int
item(const char *s, const char *e, int pos, const char *what, sitelist_check check,
     struct sitelist_item *out, struct app_err *err)
{
    const char *colon = NULL, *why;
    size_t site_len, value_len;

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
        return err_set(err, ERR_INVALID, "item %d (\"%.*s\"): expected site:%s", pos,
                       (int)(e - s > QUOTE_MAX ? QUOTE_MAX : e - s), s, what);
    }
    site_len = (size_t)(colon - s);
    value_len = (size_t)(e - colon - 1);
    if (site_len == 0 || site_len > EVENT_SITE_ID_MAX || memchr(s, ' ', site_len) != NULL ||
        memchr(s, '\t', site_len) != NULL) {
        return err_set(err, ERR_INVALID, "item %d: the site must be 1-%d bytes without blanks", pos,
                       EVENT_SITE_ID_MAX);
    }
    if (value_len > SITELIST_VALUE_MAX) {
        return err_set(err, ERR_INVALID, "item %d (\"%.*s\"): %s must be at most %d bytes", pos,
                       QUOTE_MAX, s, what, SITELIST_VALUE_MAX);
    }
    if ((out->site = strndup(s, site_len)) == NULL ||
        (out->value = strndup(colon + 1, value_len)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if ((why = check(out->value)) != NULL) {
        return err_set(err, ERR_INVALID, "item %d (\"%.*s\"): %s %s", pos,
                       (int)(e - s > QUOTE_MAX ? QUOTE_MAX : e - s), s, what, why);
    }
    return 0;
}

static int
by_site(const void *a, const void *b)
{
    return strcmp(((const struct sitelist_item *)a)->site, ((const struct sitelist_item *)b)->site);
}

int
sitelist_parse(const char *text, size_t max, const char *what, sitelist_check check,
               struct sitelist *out, struct app_err *err)
{
    size_t cap = 1;
    int pos = 1;

    memset(out, 0, sizeof *out);
    if (text == NULL || *text == '\0') {
        return 0;
    }
    for (const char *p = text; *p != '\0'; p++) {
        cap += *p == ',';
    }
    if (cap > max) {
        return err_set(err, ERR_INVALID, "at most %zu sites", max);
    }
    if ((out->items = calloc(cap, sizeof *out->items)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (const char *s = text;; pos++) {
        const char *e = strchr(s, ',');
        e = e != NULL ? e : s + strlen(s);
        out->n++; /* so that sitelist_free() frees a half-made item */
        if (item(s, e, pos, what, check, &out->items[out->n - 1], err) != 0) {
            goto fail;
        }
        for (size_t i = 0; i + 1 < out->n; i++) {
            if (strcmp(out->items[i].site, out->items[out->n - 1].site) == 0) {
                err_set(err, ERR_INVALID, "item %d: site \"%s\" is listed twice", pos,
                        out->items[i].site);
                goto fail;
            }
        }
        if (*e == '\0') {
            break;
        }
        s = e + 1;
    }
    qsort(out->items, out->n, sizeof *out->items, by_site);
    return 0;
fail:
    sitelist_free(out);
    return -1;
}

long
sitelist_index(const struct sitelist *l, const char *site)
{
    struct sitelist_item key = {.site = (char *)site};
    const struct sitelist_item *it =
        l->n == 0 ? NULL : bsearch(&key, l->items, l->n, sizeof *l->items, by_site);

    return it != NULL ? (long)(it - l->items) : -1;
}

const char *
sitelist_find(const struct sitelist *l, const char *site)
{
    long i = sitelist_index(l, site);

    return i >= 0 ? l->items[i].value : NULL;
}

void
sitelist_free(struct sitelist *l)
{
    for (size_t i = 0; l->items != NULL && i < l->n; i++) {
        free(l->items[i].site);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
