/* processor.h - the processor's configuration, shared state and drain loop. */
#ifndef PROCESSOR_PROCESSOR_H
#define PROCESSOR_PROCESSOR_H

#include <stdatomic.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "rconn.h"
#include "store.h"
#include "svc.h"

struct processor_cfg {
    int port;
    const char *bind_address;
    const char *redis_host;
    int redis_port;
    const char *redis_password;
    long redis_timeout_ms;
    const char *mongo_uri;
    const char *write_concern;
    const char *queue_key;
    long batch_size;
    long block_ms;
    long retry_base_ms;
    long retry_max_ms;
    long max_attempts;
    long heartbeat_ttl_ms;
#ifdef FAULT_INJECTION
    long fault_kill_before_rollup; /* SIGKILL itself before batch N's rollup */
    long fault_stop_before_rollup; /* SIGSTOP itself before batch N's rollup */
    long fault_kill_in_rollup;     /* SIGKILL itself half-way through it */
#endif
    struct svc_log_cfg log;
};

/* Counters for /metrics, updated by the drain loop. */
struct processor_stats {
    atomic_ullong stored;           /* documents inserted */
    atomic_ullong duplicates;       /* events found already stored (redeliveries) */
    atomic_ullong dead_invalid;     /* dead letters: envelopes that do not decode */
    atomic_ullong dead_rejected;    /* dead letters: documents refused MAX_ATTEMPTS times */
    atomic_ullong retries;          /* waits before trying again after a failure */
    atomic_ullong mongo_errors;     /* failed MongoDB writes (transient) */
    atomic_ullong batches;          /* batches acknowledged */
    atomic_ullong recovered;        /* events returned to the queue by recovery passes */
    atomic_ullong taken_over;       /* rollup counts taken over from batches that never will */
    atomic_ullong users_taken_over; /* rollup user documents taken over likewise */
    struct metrics_histogram batch_size;
    struct rconn_stats redis;
};

struct processor {
    struct processor_cfg cfg;
    store_t *store;
    rconn_pool_t *redis; /* for /health and /metrics; the drain loop has its own */
    struct processor_stats stats;
    char consumer[200];   /* this process's consumer id: host:pid:tag */
    char processing[512]; /* <QUEUE_KEY>:processing:<consumer> */
    char dead_key[512];   /* <QUEUE_KEY>:dead */
};

/* The route table: GET /health, /readyz, /livez and /metrics. */
extern const struct http_route processor_routes[];
extern const size_t processor_n_routes;

/* Set up the stats, the consumer id and the key names. Returns 0, or -1 when
 * QUEUE_KEY is too long for them. */
int drain_prepare(struct processor *p);

/* Claim batches from the queue and store them until svc_stop_requested is
 * set; then hand back or finish the batch in hand. Returns 0 on a clean stop,
 * -1 when it could not start (out of memory). */
int drain_run(struct processor *p);

/* `processor --dead list [N] | requeue | purge` (argv after "--dead"): the operator
 * command for dead letters. Returns the exit status: 0, 1 on a Redis failure, 2 on a
 * usage error. */
int dead_command(const struct processor_cfg *c, int argc, char **argv);

#endif
