/* ua.h - an event's device from its request's User-Agent and its screen_width: browser and
 * major version, operating system and major version by uap-core's regexes.yaml (Debian's
 * uap-core, compiled into ingest by the Makefile: ingest/uap_gen.py, its sha256 pinned),
 * matched with PCRE2 (JIT when the library has it); the device class by the width.
 *
 * The device class: screen_width < 576 is "mobile", < 992 "tablet", else "desktop". Without a
 * width it is guessed from the User-Agent: iOS is "tablet" with "iPad" in the User-Agent,
 * else "mobile"; Android is "mobile" with "Mobile" in it (Google's advice to tablet makers),
 * else "tablet"; Windows, Mac OS X, Linux, Ubuntu, Fedora, Chrome OS and FreeBSD are
 * "desktop"; anything else (bots, libraries, unknown systems) is unknown ("").
 *
 * Parsing is thread-safe: the regexes are compiled once by ua_new() and only read after.
 * Recent User-Agents are kept with their result in a direct-mapped cache of UA_CACHE_SLOTS
 * (each slot under one of UA_CACHE_LOCKS mutexes), so a repeated User-Agent costs a hash,
 * a lock and a comparison. The User-Agent is held in that memory only: never stored or
 * logged. */
#ifndef INGEST_UA_H
#define INGEST_UA_H

#include <stddef.h>

#include "err.h"
#include "event.h"

#define UA_CACHE_SLOTS 4096
#define UA_CACHE_LOCKS 64
/* Longer User-Agents are matched on their first UA_INPUT_MAX bytes. */
#define UA_INPUT_MAX 1024

/* One rule of regexes.yaml (the generated tables ua_rules_browser and ua_rules_os): its
 * regex, whether regex_flag is 'i', and its family and major version replacements
 * (family_replacement and v1_replacement, or os_replacement and os_v1_replacement; NULL
 * when absent), in which $1-$9 stand for the regex's groups. */
struct ua_rule {
    const char *regex;
    int icase;
    const char *family;
    const char *major;
};
extern const struct ua_rule ua_rules_browser[];
extern const size_t ua_rules_browser_n;
extern const struct ua_rule ua_rules_os[];
extern const size_t ua_rules_os_n;

typedef struct ua ua_t;

/* Compile every rule and make an empty cache. Returns the parser (free with ua_free()), or
 * NULL with err: ERR_INTERNAL "out of memory", or ERR_INVALID "uap-core regex <n> of
 * <table>: <PCRE2's message>" when one does not compile. */
ua_t *ua_new(struct app_err *err);

/* Free the compiled rules and the cache. ua_free(NULL) does nothing. */
void ua_free(ua_t *u);

/* The device of User-Agent s[0..n) into *out: browser and os the family of the first rule
 * that matches ("Other" when none does, as uap-core says), with its major version ("" when
 * it has none), each cut to its maximum and kept to printable ASCII without '"' and '\\';
 * device the User-Agent's guess (above). From the cache when s was seen recently. An empty
 * User-Agent gives an empty *out. Thread-safe. */
void ua_parse(ua_t *u, const char *s, size_t n, struct event_device *out);

/* The device class of a screen width in CSS pixels (>= 0): "mobile", "tablet" or
 * "desktop". */
const char *ua_device_of_width(long width);

/* The cache's counters since ua_new(): lookups that found their User-Agent, and those that
 * parsed it. For the tests and benchmarks. */
void ua_cache_stats(ua_t *u, unsigned long *hits, unsigned long *misses);

#endif
