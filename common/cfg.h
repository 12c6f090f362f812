/* cfg.h - configuration from environment variables, one table per service. */
#ifndef COMMON_CFG_H
#define COMMON_CFG_H

#include <stddef.h>

#include "err.h"

enum cfg_kind {
    CFG_STRING,        /* const char * (may be empty); dest: const char ** */
    CFG_NONEMPTY,      /* const char *, must not be empty; dest: const char ** */
    CFG_PORT,          /* a port to connect to, 1-65535; dest: int * */
    CFG_LISTEN,        /* a port to listen on, 1-65535, or 0 for "any free port"; dest: int * */
    CFG_INT,           /* decimal integer within [min, max]; dest: long * */
    CFG_URI,           /* a URI that the row's check accepts, logged with its password
                        * masked; dest: const char ** */
    CFG_LOG_LEVEL,     /* debug|info|warn|error; dest: enum log_level * */
    CFG_LOG_FORMAT,    /* text|json; dest: enum log_format * */
    CFG_WRITE_CONCERN, /* "majority" or a number of nodes 1-50; dest: const char ** */
    CFG_CHECKED,       /* a string (may be empty) that the row's check accepts, e.g. a list
                        * the program parses again when it starts; dest: const char ** */
    CFG_CHECKED_OFF,   /* CFG_CHECKED, but set and empty is kept as "" (given to the check),
                        * not replaced by the default: empty means "off", unset the default
                        * (GEOIP_DB); dest: const char ** */
    CFG_BIND_ADDRESS,  /* an IPv4 address to listen on, in dotted form (four numbers 0-255,
                        * no leading zeros); an IPv6 address is refused with a message of its
                        * own, as Debian's civetweb 1.15 is built without IPv6;
                        * dest: const char ** */
};

/* One row of a service's configuration table. */
struct cfg_var {
    const char *name; /* environment variable, e.g. "PORT" */
    const char *def;  /* default when unset; NULL means "unset is an error" */
    enum cfg_kind kind;
    void *dest;
    long min, max; /* CFG_INT bounds */
    int secret;    /* mask the value in cfg_log() */
    /* CFG_URI, CFG_CHECKED: 0 when the value is acceptable, else -1 with err's message (one
     * line) saying why. It is the code that will use the value that knows: the check builds
     * what the program would build from the value and frees it (e.g. store_check_uri(),
     * sites_check_ids()); cfg names the variable. */
    int (*check)(const char *value, struct app_err *err);
};

/* Read every variable of the table from the environment (unset or empty ->
 * default, but for CFG_CHECKED_OFF's empty) and store the parsed values. String values point into
 * the environment or at the default, so nothing needs freeing, as long as the environment is not
 * changed afterwards. Returns 0, or -1 with err->msg one line naming the first bad variable, e.g.
 * `PORT: "abc" is not a port number (1-65535)`. */
int cfg_load(const struct cfg_var *vars, size_t n, struct app_err *err);

/* Log the configuration in effect at INFO, secrets masked. */
void cfg_log(const struct cfg_var *vars, size_t n);

/* Parse a decimal integer in [min, max] with strtol, checking the end pointer,
 * errno and the range. Returns 0 or -1. */
int cfg_parse_long(const char *s, long min, long max, long *out);

#endif
