/* auth.h - who may read and who may administer: the bearer tokens of a token list
 * (READ_TOKENS / READ_TOKENS_FILE, ADMIN_TOKENS / ADMIN_TOKENS_FILE) and the sites each one
 * covers. Pure functions, but for auth_read_file(), auth_check_file() and auth_load(). */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include <stddef.h>

#include "err.h"

/* The longest token, and the most tokens and sites a list may hold. */
#define AUTH_TOKEN_MAX 256
#define AUTH_TOKENS_MAX 1024
#define AUTH_SITES_MAX 1024
/* The largest READ_TOKENS_FILE read. */
#define AUTH_FILE_MAX (1024 * 1024)

/* One token: every site (n_sites == 0), or sites[0..n_sites) only. Owns its strings. */
struct auth_token {
    char *token;
    size_t len;
    char **sites;
    size_t n_sites;
};

/* A parsed token list; owns its tokens. */
struct auth {
    struct auth_token *tokens;
    size_t n;
};

/* Parse a token list: items separated by commas, each `TOKEN` (every site) or
 * `TOKEN:SITE|SITE|...` (those sites only). Blanks (space, tab, CR, LF) around items,
 * tokens and sites are ignored, so a file may end with a newline; empty items are
 * skipped. A token is 1-AUTH_TOKEN_MAX characters of RFC 6750's b64token
 * (A-Z a-z 0-9 - . _ ~ + /, then any '='); a site is 1-256 bytes without blanks, ',' or
 * '|'. Returns 0 with *out filled (release it with auth_free()), or -1 with why (one line,
 * naming the item by its position, never quoting a token) filled and *out empty: a bad
 * token or site, the same token twice, or no token at all. */
int auth_parse(const char *spec, struct auth *out, char *why, size_t whylen);

/* Free the tokens of a and zero it. */
void auth_free(struct auth *a);

/* Whether auth_parse() accepts list: 0, or -1 with its reason in err. */
int auth_check_list(const char *list, struct app_err *err);

/* cfg's check of READ_TOKENS: empty (not set), or a list auth_parse() accepts. */
int auth_check_spec(const char *spec, struct app_err *err);

/* Read a token file (READ_TOKENS_FILE, ADMIN_TOKENS_FILE) (at most AUTH_FILE_MAX bytes) into *out
 * (malloc'd, NUL-terminated; the caller frees). Returns 0, or -1 with why filled, naming path. */
int auth_read_file(const char *path, char **out, char *why, size_t whylen);

/* cfg's check of a token file variable (e.g. READ_TOKENS_FILE): empty (not set), or, with
 * the inline list variable inline_var (e.g. "READ_TOKENS") not set too, a readable file
 * holding a list auth_parse() accepts. Returns 0, or -1 with err filled. */
int auth_check_file(const char *path, const char *inline_var, struct app_err *err);

/* Load one token list into *out (empty when neither is set): the file at path when it is
 * not "" (the variable file_var), else the inline list spec (the variable inline_var). Both
 * were checked by cfg_load(), so a failure here is a file changed since, or out of memory.
 * Returns 0, or -1 with err filled, naming the variable. Release *out with auth_free(). */
int auth_load(const char *spec, const char *inline_var, const char *path, const char *file_var,
              struct auth *out, struct app_err *err);

/* The token of a equal to presented[0..len), or NULL. Constant time: every token is
 * compared, each over all of presented's bytes without stopping at a difference, so the
 * time depends on len and on the number of tokens only, not on which bytes differ or
 * which token matches. */
const struct auth_token *auth_match(const struct auth *a, const char *presented, size_t len);

/* The token of an Authorization header value: "Bearer <token>" (the scheme in any case,
 * then one or more spaces). Returns its length and sets *tok to it in header, or 0 when
 * header is NULL or not of that form. */
size_t auth_bearer(const char *header, const char **tok);

/* Whether token t may read site_id. */
int auth_covers(const struct auth_token *t, const char *site_id);

#endif
