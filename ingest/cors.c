/* cors.c - CORS for ingest: which web pages may send events from a browser, and the
 * headers that tell the browser so. */
#include "cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

struct cors_policy {
    int any; /* "*" */
    size_t n;
    char origins[CORS_MAX_ORIGINS][CORS_ORIGIN_MAX + 1]; /* normal forms */
};

static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The end of the run of characters from p (before end) that ok accepts. */
static const char *
span(const char *p, const char *end, int (*ok)(char))
{
    while (p < end && ok(*p)) {
        p++;
    }
    return p;
}

static int
scheme_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

static int
host_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
}

static int
ipv6_char(char c)
{
    return is_hex(c) || c == ':' || c == '.';
}

/* Append s[0..n) to out (o bytes used of CORS_ORIGIN_MAX), in lower case. */
static void
append_lower(char *out, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[(*o)++] = lower(s[i]);
    }
}

int
cors_origin_normalize(const char *s, size_t len, char *out, size_t outsz)
{
    const char *end = s + len, *p, *host, *host_end;
    char buf[CORS_ORIGIN_MAX + 16];
    size_t o = 0, scheme_len;
    long port = -1;

    if (len == 0 || len > CORS_ORIGIN_MAX || !is_alpha(s[0])) {
        return -1;
    }
    p = span(s, end, scheme_char);
    scheme_len = (size_t)(p - s);
    if (end - p < 3 || memcmp(p, "://", 3) != 0) {
        return -1;
    }
    host = p + 3;
    if (host < end && *host == '[') {
        p = span(host + 1, end, ipv6_char);
        if (p == host + 1 || p == end || *p != ']') {
            return -1;
        }
        p++;
    } else {
        p = span(host, end, host_char);
        if (p == host) {
            return -1;
        }
    }
    host_end = p;
    if (p < end && *p == ':') {
        const char *digits = p + 1;
        p = span(digits, end, is_digit);
        if (p == digits || p - digits > 5) {
            return -1;
        }
        port = 0;
        for (const char *d = digits; d < p; d++) {
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535) {
            return -1;
        }
    }
    if (p != end) {
        return -1;
    }
    append_lower(buf, &o, s, scheme_len);
    if ((scheme_len == 4 && memcmp(buf, "http", 4) == 0 && port == 80) ||
        (scheme_len == 5 && memcmp(buf, "https", 5) == 0 && port == 443)) {
        port = -1;
    }
    memcpy(buf + o, "://", 3);
    o += 3;
    append_lower(buf, &o, host, (size_t)(host_end - host));
    if (port > 0) {
        o += (size_t)snprintf(buf + o, sizeof buf - o, ":%ld", port);
    }
    if (o > CORS_ORIGIN_MAX || o >= outsz) {
        return -1;
    }
    memcpy(out, buf, o);
    out[o] = '\0';
    return 0;
}

struct parse {
    cors_policy_t *p;
    struct app_err *err;
};

static int
take_item(const char *item, size_t len, void *arg)
{
    struct parse *ps = arg;
    cors_policy_t *p = ps->p;

    if (len == 0) {
        return err_set(ps->err, ERR_INVALID, "an empty item (two commas, or a comma at an end)");
    }
    if ((len == 1 && item[0] == '*') || p->any) {
        if (p->any || p->n > 0) {
            return err_set(ps->err, ERR_INVALID, "\"*\" must be the only item");
        }
        p->any = 1;
        return 0;
    }
    if (p->n == CORS_MAX_ORIGINS) {
        return err_set(ps->err, ERR_INVALID, "more than %d origins", CORS_MAX_ORIGINS);
    }
    if (cors_origin_normalize(item, len, p->origins[p->n], sizeof p->origins[p->n]) != 0) {
        return err_set(ps->err, ERR_INVALID,
                       "\"%.*s\" is not an origin: scheme://host[:port], without a path or a "
                       "trailing slash",
                       len > 64 ? 64 : (int)len, item);
    }
    p->n++;
    return 0;
}

cors_policy_t *
cors_policy_new(const char *spec, struct app_err *err)
{
    cors_policy_t *p = calloc(1, sizeof *p);
    struct parse ps = {p, err};

    if (p == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (csv_each(spec, take_item, &ps) != 0) {
        free(p);
        return NULL;
    }
    if (!p->any && p->n == 0) {
        free(p);
        err_set(err, ERR_INVALID, "no origin listed (\"*\" allows any)");
        return NULL;
    }
    return p;
}

void
cors_policy_free(cors_policy_t *p)
{
    free(p);
}

int
cors_check_origins(const char *value, struct app_err *err)
{
    cors_policy_t *p = cors_policy_new(value, err);

    cors_policy_free(p);
    return p != NULL ? 0 : -1;
}

/* out = "Vary: Origin\r\n" (snprintf's truncation; not snprintf: once per request). */
static void
vary_only(char *out, size_t outsz)
{
    static const char vary[] = "Vary: Origin\r\n";
    size_t n = outsz == 0 ? 0 : sizeof vary - 1 < outsz - 1 ? sizeof vary - 1 : outsz - 1;

    if (outsz > 0) {
        memcpy(out, vary, n);
        out[n] = '\0';
    }
}

enum cors_verdict
cors_check(const cors_policy_t *p, const char *origin, char *out, size_t outsz)
{
    char norm[CORS_ORIGIN_MAX + 1];
    const char *allow = NULL;
    int valid;

    if (origin == NULL) {
        vary_only(out, outsz);
        return CORS_NONE;
    }
    valid = cors_origin_normalize(origin, strlen(origin), norm, sizeof norm) == 0;
    if (p->any) {
        allow = valid ? origin : "*";
    }
    for (size_t i = 0; allow == NULL && valid && i < p->n; i++) {
        if (strcmp(norm, p->origins[i]) == 0) {
            allow = origin;
        }
    }
    if (allow == NULL) {
        snprintf(out, outsz, "Vary: Origin\r\n");
        return CORS_FORBIDDEN;
    }
    snprintf(out, outsz,
             "Vary: Origin\r\nAccess-Control-Allow-Origin: %s\r\n"
             "Access-Control-Expose-Headers: Retry-After\r\n",
             allow);
    return CORS_ALLOWED;
}

void
cors_preflight_headers(const cors_policy_t *p, enum cors_verdict v, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "%sAccess-Control-Allow-Methods: POST, OPTIONS\r\n"
             "Access-Control-Allow-Headers: Content-Type, X-Request-Id, Idempotency-Key\r\n"
             "Access-Control-Max-Age: %d\r\n",
             p->any && v == CORS_NONE ? "Access-Control-Allow-Origin: *\r\n" : "", CORS_MAX_AGE);
}
