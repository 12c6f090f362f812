/* sources.c - a page view's source, medium, channel and campaign; referrers stripped. */
#include "sources.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "event_doc.h"

static const char *const attr_names[EVENT_N_ATTRS] = EVDOC_ATTR_NAMES;

/* Where the host of referrer s starts: after "scheme://" or "//", else at s. */
static const char *
host_start(const char *s)
{
    const char *p = s;

    if (s[0] == '/' && s[1] == '/') {
        return s + 2;
    }
    if (isalpha((unsigned char)*p)) {
        while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') {
            p++;
        }
        if (strncmp(p, "://", 3) == 0) {
            return p + 3;
        }
    }
    return s;
}

size_t
sources_host(const char *s, char out[EVENT_HOST_MAX + 1])
{
    const char *p = host_start(s), *end = p + strcspn(p, "/?#\\"), *at;
    size_t n = 0;

    for (at = p; at < end; at++) {
        if (*at == '@') {
            p = at + 1; /* user info */
        }
    }
    for (; p < end && *p != ':'; p++) {
        unsigned char c = (unsigned char)*p;
        if ((!isalnum(c) && c != '.' && c != '-' && c != '_') || n == EVENT_HOST_MAX) {
            return 0;
        }
        out[n++] = (char)tolower(c);
    }
    while (n > 0 && out[n - 1] == '.') {
        n--;
    }
    out[n] = '\0';
    if (n > 4 && memcmp(out, "www.", 4) == 0) {
        memmove(out, out + 4, n - 4 + 1);
        n -= 4;
    }
    return n;
}

/* The first entry of the list for host, or sources_known_n when none (the list is sorted by
 * host, byte order). */
static size_t
first_of(const char *host)
{
    size_t lo = 0, hi = sources_known_n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sources_known[mid].host, host) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < sources_known_n && strcmp(sources_known[lo].host, host) == 0 ? lo : sources_known_n;
}

const struct sources_known *
sources_lookup(const char *host, const char *path)
{
    const char *h = host;

    if (path == NULL || path[0] == '\0') {
        path = "/";
    }
    for (;;) {
        for (size_t i = first_of(h); i < sources_known_n && strcmp(sources_known[i].host, h) == 0;
             i++) {
            if (strstr(path, sources_known[i].path) != NULL) { /* as the list's parser: contains */
                return &sources_known[i];
            }
        }
        /* Without its first label while it has three or more. */
        const char *dot = strchr(h, '.');
        if (dot == NULL || strchr(dot + 1, '.') == NULL) {
            return NULL;
        }
        h = dot + 1;
    }
}

/* utm_medium values (compared without case) and the channel each gives. */
static const struct {
    const char *utm_medium, *channel;
} by_utm[] = {
    {"cpc", "Paid"},
    {"ppc", "Paid"},
    {"cpm", "Paid"},
    {"cpv", "Paid"},
    {"cpa", "Paid"},
    {"paid", "Paid"},
    {"paidsearch", "Paid"},
    {"paid_search", "Paid"},
    {"paid-search", "Paid"},
    {"paidsocial", "Paid"},
    {"paid_social", "Paid"},
    {"paid-social", "Paid"},
    {"display", "Paid"},
    {"banner", "Paid"},
    {"retargeting", "Paid"},
    {"email", "Email"},
    {"e-mail", "Email"},
    {"e_mail", "Email"},
    {"newsletter", "Email"},
    {"social", "Organic Social"},
    {"social-network", "Organic Social"},
    {"social_network", "Organic Social"},
    {"social-media", "Organic Social"},
    {"social_media", "Organic Social"},
    {"organic", "Organic Search"},
    {"referral", "Referral"},
};

/* The list's media and the channel each gives, then ours. */
static const struct {
    const char *medium, *channel;
} by_medium[] = {
    {"search", "Organic Search"}, {"social", "Organic Social"},
    {"email", "Email"},           {"paid", "Paid"},
    {SOURCES_NONE, "Direct"},
};

const char *
sources_channel(const char *medium, const char *utm_medium)
{
    for (size_t i = 0; utm_medium != NULL && i < sizeof by_utm / sizeof by_utm[0]; i++) {
        if (strcasecmp(utm_medium, by_utm[i].utm_medium) == 0) {
            return by_utm[i].channel;
        }
    }
    for (size_t i = 0; medium != NULL && i < sizeof by_medium / sizeof by_medium[0]; i++) {
        if (strcmp(medium, by_medium[i].medium) == 0) {
            return by_medium[i].channel;
        }
    }
    return "Referral"; /* "referral" (a host the list does not know), "unknown" */
}

/* properties.<name> of ev when a string, else NULL. */
static const char *
prop_string(const struct event *ev, const char *name)
{
    return json_string_value(json_object_get(ev->properties, name)); /* NULL-safe both */
}

void
sources_attribute(struct event *ev, const char *site_host)
{
    const char *ref, *path = "", *medium = SOURCES_NONE;
    const struct sources_known *k;
    char host[EVENT_HOST_MAX + 1];

    if (strcmp(ev->event_type, "page_view") != 0) {
        return;
    }
    for (int a = EVENT_ATTR_UTM_SOURCE; a <= EVENT_ATTR_UTM_CONTENT; a++) {
        const char *v = prop_string(ev, attr_names[a]);
        ev->attr[a] = v != NULL && v[0] != '\0' ? v : NULL;
    }
    ev->attr[EVENT_ATTR_SOURCE] = SOURCES_DIRECT;
    ref = prop_string(ev, "referrer");
    if (ref != NULL && sources_host(ref, host) > 0 && strcmp(host, site_host) != 0) {
        const char *p = host_start(ref);
        p += strcspn(p, "/?#");
        if (*p == '/') {
            path = p; /* stripped already (sources_strip_referrer()) */
        }
        if ((k = sources_lookup(host, path)) != NULL) {
            ev->attr[EVENT_ATTR_SOURCE] = k->name;
            medium = k->medium;
        } else {
            memcpy(ev->source_host, host, sizeof host);
            ev->attr[EVENT_ATTR_SOURCE] = ev->source_host;
            medium = SOURCES_REFERRAL;
        }
    }
    ev->attr[EVENT_ATTR_MEDIUM] = medium;
    ev->attr[EVENT_ATTR_CHANNEL] = sources_channel(medium, ev->attr[EVENT_ATTR_UTM_MEDIUM]);
}

int
sources_check(const struct event *ev, struct app_err *err)
{
    for (int a = EVENT_ATTR_UTM_SOURCE; a <= EVENT_ATTR_UTM_CONTENT; a++) {
        json_t *v = json_object_get(ev->properties, attr_names[a]);
        if (v != NULL && !json_is_null(v) &&
            (!json_is_string(v) || json_string_length(v) > EVENT_ATTR_MAX)) {
            return err_set(err, ERR_INVALID,
                           "Field 'properties.%s' must be a string of at most %d bytes",
                           attr_names[a], EVENT_ATTR_MAX);
        }
    }
    return 0;
}

int
sources_strip_referrer(struct event *ev)
{
    json_t *r = json_object_get(ev->properties, "referrer");
    const char *s = json_string_value(r), *host, *auth_end, *at = NULL, *cut;
    char buf[EVENT_PATH_MAX];
    size_t n;

    if (s == NULL) {
        return 0;
    }
    host = host_start(s);
    auth_end = host + strcspn(host, "/?#");
    for (const char *p = host; p < auth_end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    cut = s + strcspn(s, "?#");
    if (at == NULL && *cut == '\0') {
        return 0; /* as it is */
    }
    if (at != NULL && at < cut) {
        /* scheme and "//", then what follows the user info, up to the query */
        n = (size_t)(host - s);
        if (n + (size_t)(cut - (at + 1)) > sizeof buf) {
            return json_object_set_new(ev->properties, "referrer", json_string("")) != 0 ? -1 : 0;
        }
        memcpy(buf, s, n);
        memcpy(buf + n, at + 1, (size_t)(cut - (at + 1)));
        n += (size_t)(cut - (at + 1));
        return json_object_set_new(ev->properties, "referrer", json_stringn(buf, n)) != 0 ? -1 : 0;
    }
    return json_object_set_new(ev->properties, "referrer", json_stringn(s, (size_t)(cut - s))) != 0
               ? -1
               : 0;
}
