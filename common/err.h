/* err.h - the error struct every fallible common/ function may fill. */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#include <stdarg.h>
#include <stdio.h>

/* Error kinds carried in app_err.code, so callers can tell a retry from a give-up. */
enum {
    ERR_NONE = 0,
    ERR_INVALID = 1,   /* bad input: retrying the same thing fails the same way */
    ERR_TRANSIENT = 2, /* a dependency is unreachable or timed out: retry later */
    ERR_INTERNAL = 3,  /* out of memory or a bug */
    ERR_UNKNOWN = 4,   /* sent, but no answer came: it may or may not have taken effect */
};

/* Optional out-parameter (may be NULL), in the manner of bson_error_t. */
struct app_err {
    int code;
    char msg[256];
};

/* Fill err (if not NULL) with code and a printf-formatted message. Returns -1 so
 * callers can write `return err_set(err, ...);`. */
int err_set(struct app_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
