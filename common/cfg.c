/* cfg.c - configuration from environment variables, one table per service. */
#include "cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int
cfg_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-')) {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* True when s is an IPv4 address in dotted form: four decimal numbers 0-255 joined by
 * dots, without leading zeros (octal to some parsers), signs or blanks. */
static int
is_ipv4(const char *s)
{
    for (int field = 0; field < 4; field++) {
        int v = 0, digits = 0;
        if (field > 0 && *s++ != '.') {
            return 0;
        }
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++) {
            v = v * 10 + (*s - '0');
        }
        if (digits == 0 || v > 255 || (digits > 1 && s[-digits] == '0')) {
            return 0;
        }
    }
    return *s == '\0';
}

/* True when s is an IPv6 address, bare or in brackets. */
static int
is_ipv6(const char *s)
{
    char bare[64];
    struct in6_addr a;
    size_t n = strlen(s);

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof bare) {
        memcpy(bare, s + 1, n - 2);
        bare[n - 2] = '\0';
        s = bare;
    }
    return inet_pton(AF_INET6, s, &a) == 1;
}

static int
parse_one(const struct cfg_var *v, const char *value, struct app_err *err)
{
    long num;

    switch (v->kind) {
    case CFG_STRING:
        *(const char **)v->dest = value;
        return 0;
    case CFG_NONEMPTY:
        if (*value == '\0') {
            return err_set(err, ERR_INVALID, "%s: must not be empty", v->name);
        }
        *(const char **)v->dest = value;
        return 0;
    case CFG_PORT:
        if (cfg_parse_long(value, 1, 65535, &num) != 0) {
            return err_set(err, ERR_INVALID, "%s: \"%.64s\" is not a port number (1-65535)",
                           v->name, value);
        }
        *(int *)v->dest = (int)num;
        return 0;
    case CFG_LISTEN:
        if (cfg_parse_long(value, 0, 65535, &num) != 0) {
            return err_set(err, ERR_INVALID,
                           "%s: \"%.64s\" is not a port number (1-65535, or 0 for any free port)",
                           v->name, value);
        }
        *(int *)v->dest = (int)num;
        return 0;
    case CFG_INT:
        if (cfg_parse_long(value, v->min, v->max, &num) != 0) {
            return err_set(err, ERR_INVALID, "%s: \"%.64s\" is not an integer from %ld to %ld",
                           v->name, value, v->min, v->max);
        }
        *(long *)v->dest = num;
        return 0;
    case CFG_URI:
    case CFG_CHECKED:
    case CFG_CHECKED_OFF: {
        struct app_err why = {0};
        if (v->check != NULL && v->check(value, &why) != 0) {
            return err_set(err, ERR_INVALID, "%s: %s%s", v->name,
                           v->kind == CFG_URI ? "not a valid URI: " : "", why.msg);
        }
        *(const char **)v->dest = value;
        return 0;
    }
    case CFG_BIND_ADDRESS:
        if (is_ipv6(value)) {
            return err_set(err, ERR_INVALID,
                           "%s: \"%.64s\" is an IPv6 address, and civetweb as built here listens "
                           "on IPv4 only: use an IPv4 address (0.0.0.0: every interface)",
                           v->name, value);
        }
        if (!is_ipv4(value)) {
            return err_set(err, ERR_INVALID,
                           "%s: \"%.64s\" is not an IPv4 address: four numbers 0-255, e.g. "
                           "0.0.0.0 (every interface) or 127.0.0.1 (this host only)",
                           v->name, value);
        }
        *(const char **)v->dest = value;
        return 0;
    case CFG_LOG_FORMAT:
        if (log_format_parse(value, (enum log_format *)v->dest) != 0) {
            return err_set(err, ERR_INVALID, "%s: \"%.64s\" is not a log format (text, json)",
                           v->name, value);
        }
        return 0;
    case CFG_WRITE_CONCERN:
        if (strcmp(value, "majority") != 0 && cfg_parse_long(value, 1, 50, &num) != 0) {
            return err_set(err, ERR_INVALID,
                           "%s: \"%.64s\" is not \"majority\" or a number from 1 to 50", v->name,
                           value);
        }
        *(const char **)v->dest = value;
        return 0;
    case CFG_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)v->dest) != 0) {
            return err_set(err, ERR_INVALID,
                           "%s: \"%.64s\" is not a log level (debug, info, warn, error)", v->name,
                           value);
        }
        return 0;
    }
    return err_set(err, ERR_INTERNAL, "%s: unknown kind", v->name);
}

int
cfg_load(const struct cfg_var *vars, size_t n, struct app_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *value = getenv(vars[i].name);
        if (value == NULL || (*value == '\0' && vars[i].kind != CFG_CHECKED_OFF)) {
            value = vars[i].def;
        }
        if (value == NULL) {
            return err_set(err, ERR_INVALID, "%s: must be set", vars[i].name);
        }
        if (parse_one(&vars[i], value, err) != 0) {
            /* The messages quote the value: keep them one line whatever it holds. */
            for (char *p = err != NULL ? err->msg : ""; *p != '\0'; p++) {
                *p = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
            }
            return -1;
        }
    }
    return 0;
}

/* Mask the password part of a URI (user:secret@host). */
static void
mask_uri(const char *uri, char *out, size_t outlen)
{
    const char *scheme = strstr(uri, "://");
    const char *at = strchr(uri, '@');
    const char *colon;

    snprintf(out, outlen, "%s", uri);
    if (scheme == NULL || at == NULL || at < scheme) {
        return;
    }
    colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    if (colon == NULL) {
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - uri), uri, at);
}

void
cfg_log(const struct cfg_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        char buf[512];

        switch (v->kind) {
        case CFG_PORT:
        case CFG_LISTEN:
            snprintf(buf, sizeof buf, "%d", *(int *)v->dest);
            break;
        case CFG_INT:
            snprintf(buf, sizeof buf, "%ld", *(long *)v->dest);
            break;
        case CFG_LOG_LEVEL:
            snprintf(buf, sizeof buf, "%s", log_level_name(*(enum log_level *)v->dest));
            break;
        case CFG_LOG_FORMAT:
            snprintf(buf, sizeof buf, "%s",
                     *(enum log_format *)v->dest == LOG_FORMAT_JSON ? "json" : "text");
            break;
        case CFG_URI:
            mask_uri(*(const char **)v->dest, buf, sizeof buf);
            break;
        default:
            snprintf(buf, sizeof buf, "%s", *(const char **)v->dest);
            break;
        }
        if (v->secret && buf[0] != '\0') {
            snprintf(buf, sizeof buf, "***");
        }
        LOG_INFO("config %s=%s", v->name, buf);
    }
}
