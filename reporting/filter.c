/* filter.c - the dimensions of reporting's figures and the filters on them. */
#include "filter.h"

#include <stdio.h>
#include <string.h>

#include "event_doc.h"
#include "params.h"
#include "text.h"

const char *const filter_dim_names[FILTER_N_DIMS] = {
    "source",      "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "device",  "browser",    "os",         "country",      "entry_page",
    "exit_page",   "path",    "event_type", "referrer",   "prop"};

const char *const filter_op_names[3] = {"is", "is_not", "contains"};

/* The stored field of each dimension, in enum filter_dim's order (NULL: computed). */
static const char *const dim_fields[FILTER_N_DIMS] = {
    "source",      "channel",    "utm_source",     "utm_medium", "utm_campaign",  "utm_term",
    "utm_content", EVDOC_DEVICE, EVDOC_BROWSER,    EVDOC_OS,     EVDOC_COUNTRY,   NULL,
    NULL,          EVDOC_PATH,   EVDOC_EVENT_TYPE, NULL,         EVDOC_PROPERTIES};

enum filter_kind
filter_dim_kind(int d)
{
    return d <= FILTER_EXIT_PAGE ? FILTER_KIND_VISIT : FILTER_KIND_EVENT;
}

const char *
filter_dim_field(int d)
{
    return d >= 0 && d < FILTER_N_DIMS ? dim_fields[d] : NULL;
}

/* A property key: 1-64 of [A-Za-z0-9_-] (so that it can name no field path or operator). */
static int
key_ok(const char *s, size_t len)
{
    if (len == 0 || len > FILTER_KEY_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

int
filter_dimension_parse(const char *s, size_t len, struct filter_dimension *out)
{
    memset(out, 0, sizeof *out);
    if (len > 5 && strncmp(s, "prop.", 5) == 0) {
        if (!key_ok(s + 5, len - 5)) {
            return -1;
        }
        out->dim = FILTER_PROP;
        memcpy(out->key, s + 5, len - 5);
        return 0;
    }
    for (int d = 0; d < FILTER_PROP; d++) {
        if (strlen(filter_dim_names[d]) == len && strncmp(s, filter_dim_names[d], len) == 0) {
            out->dim = d;
            return 0;
        }
    }
    return -1;
}

int
filter_parse(const char *s, struct filter *out, char *msg, size_t msgsz)
{
    const char *c1 = strchr(s, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    size_t op_len, value_len;

    memset(out, 0, sizeof *out);
    if (c2 == NULL || c2[1] == '\0') {
        snprintf(msg, msgsz,
                 "Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, "
                 "not '%.64s'",
                 s);
        return -1;
    }
    if (filter_dimension_parse(s, (size_t)(c1 - s), &out->d) != 0) {
        snprintf(msg, msgsz,
                 "Unknown filter dimension '%.*s': see docs/api.md (Filters) for the list",
                 (int)((c1 - s) > 70 ? 70 : c1 - s), s);
        return -1;
    }
    op_len = (size_t)(c2 - c1 - 1);
    out->op = -1;
    for (int o = 0; o < 3; o++) {
        if (strlen(filter_op_names[o]) == op_len &&
            strncmp(c1 + 1, filter_op_names[o], op_len) == 0) {
            out->op = o;
        }
    }
    if (out->op < 0) {
        snprintf(msg, msgsz, "Unknown filter operator '%.*s': use is, is_not or contains",
                 (int)(op_len > 20 ? 20 : op_len), c1 + 1);
        return -1;
    }
    value_len = strlen(c2 + 1);
    if (value_len > FILTER_VALUE_MAX) {
        snprintf(msg, msgsz, "A filter's value may be at most %d bytes", FILTER_VALUE_MAX);
        return -1;
    }
    memcpy(out->value, c2 + 1, value_len + 1);
    out->none = out->op != FILTER_CONTAINS && strcmp(out->value, FILTER_NONE) == 0;
    return 0;
}

int
filters_read(const char *qs, struct filters *fs, char *msg, size_t msgsz)
{
    char s[FILTER_KEY_MAX + FILTER_VALUE_MAX + 32];
    int n;

    fs->n = 0;
    for (int i = 0; qs != NULL && (n = params_find_nth(qs, "filter", i, s, sizeof s)) != -1; i++) {
        if (n == -2 || !text_is_utf8(s, (size_t)n)) {
            snprintf(msg, msgsz,
                     "Parameter 'filter' must be UTF-8 of at most %d bytes, percent-encoded",
                     (int)sizeof s - 1);
            return -1;
        }
        if (fs->n == FILTER_MAX) {
            snprintf(msg, msgsz, "At most %d filters may be given", FILTER_MAX);
            return -1;
        }
        if (filter_parse(s, &fs->f[fs->n], msg, msgsz) != 0) {
            return -1;
        }
        fs->n++;
    }
    return 0;
}

int
filter_pass(const struct filter *f, const char *value)
{
    int absent = value == NULL || value[0] == '\0';

    switch (f->op) {
    case FILTER_IS:
        return f->none ? absent : !absent && strcmp(value, f->value) == 0;
    case FILTER_IS_NOT:
        return f->none ? !absent : absent || strcmp(value, f->value) != 0;
    default:
        return !absent && strstr(value, f->value) != NULL;
    }
}

int
filters_have(const struct filters *fs, enum filter_kind k)
{
    for (int i = 0; i < fs->n; i++) {
        if (filter_dim_kind(fs->f[i].d.dim) == k) {
            return 1;
        }
    }
    return 0;
}

void
filter_dimension_name(const struct filter_dimension *d, char *out, size_t outsz)
{
    if (d->dim == FILTER_PROP) {
        snprintf(out, outsz, "prop.%s", d->key);
    } else {
        snprintf(out, outsz, "%s", filter_dim_names[d->dim]);
    }
}
