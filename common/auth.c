/* auth.c - token lists (READ_TOKENS, ADMIN_TOKENS, from the environment or a file) and the
 * sites their tokens cover. */
#include "auth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim blanks off [*s, *e). */
static void
trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s)) {
        (*s)++;
    }
    while (*e > *s && is_blank((*e)[-1])) {
        (*e)--;
    }
}

static int
is_b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~+/", c) != NULL);
}

/* RFC 6750: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int
token_valid(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && is_b64token_char(s[i])) {
        i++;
    }
    if (i == 0) {
        return 0;
    }
    while (i < len && s[i] == '=') {
        i++;
    }
    return i == len && len <= AUTH_TOKEN_MAX;
}

static int
site_valid(const char *s, size_t len)
{
    if (len == 0 || len > EVENT_SITE_ID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (is_blank(s[i]) || s[i] == ',' || s[i] == '|' || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

void
auth_free(struct auth *a)
{
    for (size_t i = 0; i < a->n; i++) {
        struct auth_token *t = &a->tokens[i];
        free(t->token);
        for (size_t j = 0; j < t->n_sites; j++) {
            free(t->sites[j]);
        }
        free(t->sites);
    }
    free(a->tokens);
    memset(a, 0, sizeof *a);
}

/* Parse the sites [s, e) of item `item` (after the ':') into t. Returns 0 or -1 (why). */
static int
parse_sites(struct auth_token *t, const char *s, const char *e, size_t item, char *why,
            size_t whylen)
{
    while (1) {
        const char *bar = memchr(s, '|', (size_t)(e - s));
        const char *end = bar != NULL ? bar : e;
        const char *a = s, *b = end;
        trim(&a, &b);
        if (!site_valid(a, (size_t)(b - a))) {
            snprintf(why, whylen,
                     "item %zu: site %zu must be 1-%d bytes without blanks, ',' or '|'", item,
                     t->n_sites + 1, EVENT_SITE_ID_MAX);
            return -1;
        }
        if (t->n_sites == AUTH_SITES_MAX) {
            snprintf(why, whylen, "item %zu: more than %d sites", item, AUTH_SITES_MAX);
            return -1;
        }
        if (t->n_sites == 0 && (t->sites = calloc(AUTH_SITES_MAX, sizeof *t->sites)) == NULL) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        if ((t->sites[t->n_sites] = strndup(a, (size_t)(b - a))) == NULL) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        t->n_sites++;
        if (bar == NULL) {
            return 0;
        }
        s = bar + 1;
    }
}

/* Parse item number `item`, [s, e) without blanks around it, into a->tokens[a->n]. */
static int
parse_item(struct auth *a, const char *s, const char *e, size_t item, char *why, size_t whylen)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    const char *tok_end = colon != NULL ? colon : e;
    const char *ts = s;
    struct auth_token *t = &a->tokens[a->n];

    trim(&ts, &tok_end);
    if (!token_valid(ts, (size_t)(tok_end - ts))) {
        snprintf(why, whylen,
                 "item %zu: a token must be 1-%d characters of A-Z a-z 0-9 - . _ ~ + / "
                 "(then any '=')",
                 item, AUTH_TOKEN_MAX);
        return -1;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->tokens[i].len == (size_t)(tok_end - ts) &&
            memcmp(a->tokens[i].token, ts, a->tokens[i].len) == 0) {
            snprintf(why, whylen, "item %zu: the same token as item %zu", item, i + 1);
            return -1;
        }
    }
    a->n++; /* from here on, auth_free() frees what t holds */
    t->len = (size_t)(tok_end - ts);
    if ((t->token = strndup(ts, t->len)) == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return colon == NULL ? 0 : parse_sites(t, colon + 1, e, item, why, whylen);
}

int
auth_parse(const char *spec, struct auth *out, char *why, size_t whylen)
{
    const char *s = spec;
    size_t item = 0;

    memset(out, 0, sizeof *out);
    if ((out->tokens = calloc(AUTH_TOKENS_MAX, sizeof *out->tokens)) == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    while (1) {
        const char *comma = strchr(s, ',');
        const char *e = comma != NULL ? comma : s + strlen(s);
        const char *a = s, *b = e;
        item++;
        trim(&a, &b);
        if (a < b) {
            if (out->n == AUTH_TOKENS_MAX) {
                snprintf(why, whylen, "more than %d tokens", AUTH_TOKENS_MAX);
                auth_free(out);
                return -1;
            }
            if (parse_item(out, a, b, item, why, whylen) != 0) {
                auth_free(out);
                return -1;
            }
        }
        if (comma == NULL) {
            break;
        }
        s = comma + 1;
    }
    if (out->n == 0) {
        snprintf(why, whylen, "no token: list TOKEN or TOKEN:SITE|SITE items, separated by ','");
        auth_free(out);
        return -1;
    }
    return 0;
}

int
auth_check_list(const char *list, struct app_err *err)
{
    struct auth a;

    if (auth_parse(list, &a, err->msg, sizeof err->msg) != 0) {
        err->code = ERR_INVALID;
        return -1;
    }
    auth_free(&a);
    return 0;
}

int
auth_check_spec(const char *spec, struct app_err *err)
{
    return spec[0] == '\0' ? 0 : auth_check_list(spec, err);
}

int
auth_read_file(const char *path, char **out, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    *out = NULL;
    if (f == NULL) {
        snprintf(why, whylen, "cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(AUTH_FILE_MAX + 1)) == NULL) {
        fclose(f);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    n = fread(buf, 1, AUTH_FILE_MAX + 1, f);
    if (ferror(f) || n > AUTH_FILE_MAX) {
        snprintf(why, whylen, "cannot read %.200s: %s", path,
                 ferror(f) ? "read error" : "larger than 1 MiB");
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    if (memchr(buf, '\0', n) != NULL) {
        snprintf(why, whylen, "%.200s holds a NUL byte", path);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int
auth_check_file(const char *path, const char *inline_var, struct app_err *err)
{
    const char *inline_list = getenv(inline_var);
    char *text;
    int rc;

    if (path[0] == '\0') {
        return 0;
    }
    if (inline_list != NULL && inline_list[0] != '\0') {
        return err_set(err, ERR_INVALID, "set together with %s; set only one of them", inline_var);
    }
    if (auth_read_file(path, &text, err->msg, sizeof err->msg) != 0) {
        err->code = ERR_INVALID;
        return -1;
    }
    rc = auth_check_list(text, err);
    free(text);
    return rc;
}

int
auth_load(const char *spec, const char *inline_var, const char *path, const char *file_var,
          struct auth *out, struct app_err *err)
{
    char why[200];
    char *text = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (path[0] != '\0') {
        if (auth_read_file(path, &text, why, sizeof why) != 0) {
            return err_set(err, ERR_INVALID, "%s: %s", file_var, why);
        }
        spec = text;
    }
    if (spec[0] == '\0') {
        free(text);
        return 0;
    }
    rc = auth_parse(spec, out, why, sizeof why);
    free(text);
    return rc != 0
               ? err_set(err, ERR_INVALID, "%s: %s", path[0] != '\0' ? file_var : inline_var, why)
               : 0;
}

const struct auth_token *
auth_match(const struct auth *a, const char *presented, size_t len)
{
    const struct auth_token *found = NULL;

    for (size_t i = 0; i < a->n; i++) {
        const struct auth_token *t = &a->tokens[i];
        /* diff is 0 only when the lengths and every byte are equal; t->token is read at
         * i % t->len, so it is never read out of bounds. */
        volatile unsigned diff = (unsigned)(t->len ^ len);
        for (size_t j = 0; j < len; j++) {
            diff |= (unsigned char)presented[j] ^ (unsigned char)t->token[j % t->len];
        }
        /* Branch-free select: mask is all ones when diff == 0. */
        uintptr_t mask = (uintptr_t)0 - (uintptr_t)(diff == 0);
        found = (const struct auth_token *)(((uintptr_t)t & mask) | ((uintptr_t)found & ~mask));
    }
    return found;
}

size_t
auth_bearer(const char *header, const char **tok)
{
    const char *p;
    size_t n;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        return 0;
    }
    p = header + 7;
    while (*p == ' ') {
        p++;
    }
    n = strlen(p);
    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }
    if (n == 0 || n > AUTH_TOKEN_MAX) {
        return 0;
    }
    *tok = p;
    return n;
}

int
auth_covers(const struct auth_token *t, const char *site_id)
{
    if (t->n_sites == 0) {
        return 1;
    }
    for (size_t i = 0; i < t->n_sites; i++) {
        if (strcmp(t->sites[i], site_id) == 0) {
            return 1;
        }
    }
    return 0;
}
