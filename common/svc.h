/* svc.h - what every service's main() shares: configuration at start, and the stop flag. */
#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <signal.h>
#include <stddef.h>

#include "cfg.h"
#include "log.h"

/* Exit status for a bad configuration value (SPEC.md). */
#define SVC_EXIT_CONFIG 2

/* Set by SIGTERM or SIGINT; the only mutable global besides the logger's state. */
extern volatile sig_atomic_t svc_stop_requested;

/* Start the logger for `service`, load the configuration table (which must
 * contain a CFG_LOG_LEVEL row pointing at *level) and log it. On a bad value
 * prints one line naming the variable and returns -1: main() then exits with
 * SVC_EXIT_CONFIG. */
int svc_configure(const char *service, const struct cfg_var *vars, size_t n,
                  const enum log_level *level);

/* Install the SIGTERM/SIGINT handler (sets svc_stop_requested) and ignore SIGPIPE. */
void svc_install_signals(void);

/* Sleep in 100 ms slices until a stop is requested. */
void svc_wait_for_stop(void);

#endif
