/* sources.h - a page view's source (its referrer's host, named from Snowplow's list), channel
 * and campaign (utm_*), and the referrer as stored: scheme, host and path only. */
#ifndef INGEST_SOURCES_H
#define INGEST_SOURCES_H

#include <stddef.h>

#include "event.h"

/* One domain of the referrer list (build/gen/referers.c, made by the Makefile from
 * ruby-referer-parser's referers.json, pinned by its sha256): its host (lower-case, without
 * "www."), the path it must contain ("/" for any), the source's name and medium ("search",
 * "social", "email", "unknown"). Sorted by host in byte order, then the longest path first. */
struct sources_known {
    const char *host, *path, *name, *medium;
};
extern const struct sources_known sources_known[];
extern const size_t sources_known_n;

/* The source name of a page view without a referrer, or referred by its own site. */
#define SOURCES_DIRECT "Direct / None"
/* The medium of a referrer the list does not know, and of none. */
#define SOURCES_REFERRAL "referral"
#define SOURCES_NONE "none"

/* The host of referrer s (a URL "scheme://[user@]host[:port]/path...", "//host/path", or
 * "host/path" as an API client may send it): lower-cased, without user info, port, a
 * trailing dot or "www."; into out (EVENT_HOST_MAX + 1 bytes). Returns its length, or 0 when
 * s has none that is a DNS name or an address (letters, digits, '.', '-', '_';
 * at most EVENT_HOST_MAX bytes). */
size_t sources_host(const char *s, char out[EVENT_HOST_MAX + 1]);

/* The list's entry for host (as sources_host() writes it) and path (the referrer's path, ""
 * when none), matched as the list's parser does: the host, then the host without its first
 * label while it has three or more, each with the longest of its paths that the path
 * contains. NULL when the list does not know it. */
const struct sources_known *sources_lookup(const char *host, const char *path);

/* The channel of a page view from its source's medium ("none" without a referrer or from the
 * site itself, "referral" for a host the list does not know, else the list's: "search",
 * "social", "email", "unknown") and its utm_medium (NULL when absent), by the rules of
 * docs/api.md (Sources and channels). Never NULL: a static string. */
const char *sources_channel(const char *medium, const char *utm_medium);

/* Give page view ev its source, medium and channel (ev->attr, ev->source_host) from its
 * properties.referrer and site_host (the page's host, as sources_host() writes it, "" when
 * unknown), and its campaign from properties.utm_*, already checked by event_from_request().
 * Events of other types are left as they are. */
void sources_attribute(struct event *ev, const char *site_host);

/* Check the campaign members of ev's properties (event_from_request() accepted it): each of
 * utm_source, utm_medium, utm_campaign, utm_term, utm_content, when present and not null, a
 * string of at most EVENT_ATTR_MAX bytes. Returns 0, or -1 with err->code ERR_INVALID and
 * err->msg "Field 'properties.utm_source' must be a string of at most 256 bytes" (the first
 * such member, in that order). */
int sources_check(const struct event *ev, struct app_err *err);

/* Rewrite properties.referrer of ev (any event type) to its scheme, host and path: without
 * user info, query or fragment. Returns 0, or -1 when out of memory (jansson). */
int sources_strip_referrer(struct event *ev);

#endif
