/* params.h - reading reporting's query parameters. */
#ifndef REPORTING_PARAMS_H
#define REPORTING_PARAMS_H

#include <stddef.h>

/* Read query parameter `name` of the query string qs (may be NULL) into out, which holds
 * max + 1 bytes. Returns its decoded length, 0 when absent or empty, -1 when it is longer
 * than max bytes, badly escaped or not UTF-8. */
int reporting_param(const char *qs, const char *name, char *out, size_t max);

#endif
