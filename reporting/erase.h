/* erase.h - erasure jobs (docs/design.md#erasure): the admin routes that queue them and say
 * how they go (erase.c), and the runner that does them (erase_run.c), a thread of each
 * reporting instance that claims one job at a time with a lease on its document. */
#ifndef REPORTING_ERASE_H
#define REPORTING_ERASE_H

#include <pthread.h>

#include "erase_plan.h"
#include "err.h"
#include "http.h"

struct reporting;

/* JOBS_POLL_MS, JOBS_LEASE_MS, JOBS_BATCH and the runner's thread. */
struct erase_runner {
    long poll_ms;  /* how often an idle runner looks for a job */
    long lease_ms; /* a claimed job is the runner's for this long after its last step */
    long batch;    /* the most documents one step reads or deletes */
    pthread_t thread;
    int started;
};

/* The configuration rows, into the runner's fields. */
#define ERASE_VARS(e)                                                                              \
    {"JOBS_POLL_MS", "1000", CFG_INT, &(e)->poll_ms, 10, 600000, 0, NULL},                         \
        {"JOBS_LEASE_MS", "30000", CFG_INT, &(e)->lease_ms, 100, 3600000, 0, NULL},                \
    {                                                                                              \
        "JOBS_BATCH", "1000", CFG_INT, &(e)->batch, 1, 10000, 0, NULL                              \
    }

/* DELETE /sites/{site} and /sites/{site}/visitors/{id} (one prefix route), GET /jobs/{id}. */
int erase_handle_delete(struct mg_connection *conn, void *arg);
int erase_handle_job(struct mg_connection *conn, void *arg);

/* Start r's runner thread (once r->store is open). Returns 0, or -1 with err. */
int erase_start(struct reporting *r, struct app_err *err);

/* Wait for the runner to stop (svc_stop_requested is set: it ends its step and gives its job's
 * lease back). No-op when not started. */
void erase_join(struct reporting *r);

/* Write n random bytes as 2n hex digits and a NUL into out. Returns 0, or -1. */
int erase_random_hex(char *out, size_t n);

#endif
