/* params.h - reading reporting's query parameters. */
#ifndef REPORTING_PARAMS_H
#define REPORTING_PARAMS_H

#include <stddef.h>

/* Find parameter `name` in a query string (`a=1&b=x%20y`, no leading '?'),
 * percent-decoded ('+' is a space). The first occurrence wins. Returns the
 * decoded length written to out (NUL-terminated); -1 when absent; -2 when
 * the value does not fit in outsz or has a bad or %00 escape. */
int params_find(const char *qs, const char *name, char *out, size_t outsz);

/* Whether qs has parameter `name` at all (any value, even a bad one). */
int params_has(const char *qs, const char *name);

/* The same as params_find() for its occurrence nth (0: the first) of a repeated parameter. */
int params_find_nth(const char *qs, const char *name, int nth, char *out, size_t outsz);

/* Read query parameter `name` of the query string qs (may be NULL) into out, which holds
 * max + 1 bytes. Returns its decoded length, 0 when absent or empty, -1 when it is longer
 * than max bytes, badly escaped or not UTF-8. */
int reporting_param(const char *qs, const char *name, char *out, size_t max);

#endif
