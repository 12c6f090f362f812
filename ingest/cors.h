/* cors.h - CORS for ingest: which web pages may send events from a browser, and the
 * headers that tell the browser so. The decisions are pure functions; ingest's request
 * filter (routes.c) applies them to every request of its main listener. */
#ifndef INGEST_CORS_H
#define INGEST_CORS_H

#include <stddef.h>

#include "err.h"

/* The longest origin ("scheme://host[:port]") compared or echoed, in bytes, and the most
 * origins CORS_ORIGINS may list. */
#define CORS_ORIGIN_MAX 256
#define CORS_MAX_ORIGINS 64
/* How long a browser may cache a preflight's answer, in seconds. */
#define CORS_MAX_AGE 86400
/* Room for the header lines cors_check() and cors_preflight_headers() write. */
#define CORS_HEADERS_MAX (CORS_ORIGIN_MAX + 256)

/* The allowed origins (CORS_ORIGINS): any ("*"), or a list. */
typedef struct cors_policy cors_policy_t;

/* Parse CORS_ORIGINS: "*" (alone), or a comma-separated list of origins
 * "scheme://host[:port]" (blanks around an item are ignored), compared as
 * cors_origin_normalize() writes them. Returns a policy (free with cors_policy_free()),
 * or NULL with err filled: ERR_INVALID and a message naming the first bad item
 * ("\"https://a.example/\" is not an origin: scheme://host[:port], without a path or a
 * trailing slash", "an empty item (two commas, or a comma at an end)", "\"*\" must be
 * the only item", "more than 64 origins"), or ERR_INTERNAL when out of memory. */
cors_policy_t *cors_policy_new(const char *spec, struct app_err *err);

/* NULL is a no-op. */
void cors_policy_free(cors_policy_t *p);

/* CORS_ORIGINS's check (a CFG_CHECKED row): 0 when cors_policy_new() takes value,
 * else -1 with its error in err. */
int cors_check_origins(const char *value, struct app_err *err);

/* Write the normal form of the origin s[0..len) to out (outsz bytes): scheme and host in
 * lower case, a port without leading zeros, and the scheme's default port (http 80,
 * https 443) dropped. The origin is a scheme (a letter, then letters, digits, "+", "-",
 * "."), "://", a host (letters, digits, ".", "-", "_", or an IPv6 address in brackets)
 * and optionally ":" and a port 1-65535; nothing else (no path, no "/" at the end, no
 * user, no query). Returns 0, or -1 when s is not one, or its normal form does not fit
 * in outsz or in CORS_ORIGIN_MAX bytes. */
int cors_origin_normalize(const char *s, size_t len, char *out, size_t outsz);

enum cors_verdict {
    CORS_NONE,      /* no Origin header: not a browser's cross-origin request */
    CORS_ALLOWED,   /* an allowed origin */
    CORS_FORBIDDEN, /* an Origin the policy does not list: answer 403 */
};

/* Decide about a request whose Origin header is origin (NULL when it has none), and
 * write to out (outsz >= CORS_HEADERS_MAX) the header lines every reply to the request
 * carries: "Vary: Origin" always (the replies differ by Origin, which caches must know),
 * and for CORS_ALLOWED "Access-Control-Allow-Origin: <origin>" as the request sent it and
 * "Access-Control-Expose-Headers: Retry-After" (so that a page's script may read a 429's
 * Retry-After, which browsers otherwise hide from it).
 * Under "*" every Origin is allowed: one that is not an origin ("null", from a sandboxed
 * frame or a file) is answered "Access-Control-Allow-Origin: *". Under a list, an Origin
 * is allowed when its normal form is one of the list's. */
enum cors_verdict cors_check(const cors_policy_t *p, const char *origin, char *out, size_t outsz);

/* Write to out (outsz >= CORS_HEADERS_MAX) the header lines a preflight (OPTIONS) is
 * answered with besides cors_check()'s, given its verdict: Access-Control-Allow-Methods
 * (POST, OPTIONS), -Allow-Headers (Content-Type, X-Request-Id, Idempotency-Key) and
 * -Max-Age (CORS_MAX_AGE); and, for a request without Origin under "*",
 * "Access-Control-Allow-Origin: *". */
void cors_preflight_headers(const cors_policy_t *p, enum cors_verdict v, char *out, size_t outsz);

#endif
