/* processor.h - the processor's configuration, shared state and drain loop. */
#ifndef PROCESSOR_PROCESSOR_H
#define PROCESSOR_PROCESSOR_H

#include <stdatomic.h>
#include <stddef.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "qset.h"
#include "queue.h"
#include "rconn.h"
#include "retention.h"
#include "sitetz.h"
#include "store.h"
#include "svc.h"
#include "sweep.h"
#include "ttl.h"

/* The processor's own settings; its listener's and logger's are in its struct svc_program. */
struct processor_cfg {
    struct rconn_opts redis;
    const char *mongo_uri;
    const char *write_concern;
    const char *queue_key;
    long queue_shards; /* QUEUE_SHARDS: qset.h */
    long batch_size;
    long block_ms;
    long retry_base_ms;
    long retry_max_ms;
    long max_attempts;
    long heartbeat_ttl_ms;
    long visit_timeout_s;       /* VISIT_TIMEOUT_S: a visit ends after this gap (assign.h) */
    struct retention ret;       /* RETENTION_DAYS, ROLLUP_RETENTION_DAYS; sites: start() */
    const char *site_retention; /* SITE_RETENTION as given, parsed into ret by start() */
    long sweep_s;               /* RETENTION_SWEEP_S (sweep.h) */
    const char *retention_ttl;  /* RETENTION_TTL: auto|on|off (ttl_plan.h) */
    const char *site_timezones; /* SITE_TIMEZONES as given, parsed into tzs by start() */
    struct sitetz tzs;          /* each site's time zone: its rollups' days and hours */
#ifdef FAULT_INJECTION
    long fault_kill_before_rollup; /* SIGKILL itself before batch N's rollup */
    long fault_stop_before_rollup; /* SIGSTOP itself before batch N's rollup */
    long fault_kill_in_rollup;     /* SIGKILL itself half-way through it */
    long fault_kill_before_hours;  /* SIGKILL itself between its site-days and site-hours */
    long fault_fail_rollup;        /* every rollup of batch N fails (an internal error) */
    long fault_kill_in_assign;     /* SIGKILL itself between claim N and its commit (assign.h) */
    long fault_stall_in_assign;    /* sleep past the lease between claim N and its commit */
#endif
};

/* Why an envelope went to the dead-letter list: the entry's "reason", and the label of
 * analytics_events_dead_lettered_total (processor_dead_reasons[]). */
enum processor_dead {
    DEAD_INVALID_ENVELOPE, /* it does not decode */
    DEAD_REJECTED,         /* MongoDB refused its document MAX_ATTEMPTS times */
    DEAD_ROLLUP_FAILED,    /* stored, but its batch's rollup failed MAX_ATTEMPTS times */
    DEAD_ID_CONFLICT,      /* its id is another event's (INSERT_CONFLICT) */
    DEAD_EXPIRED,          /* older than its site's retention (sweep_store_cutoff_ms()) */
    DEAD_REASONS
};
extern const char *const processor_dead_reasons[DEAD_REASONS];

/* Counters for /metrics, updated by the drain loop. */
struct processor_stats {
    atomic_ullong stored;             /* documents inserted */
    atomic_ullong duplicates;         /* events found already stored (redeliveries) */
    atomic_ullong client_duplicates;  /* of those, stored from another envelope (rollup.h) */
    atomic_ullong dead[DEAD_REASONS]; /* dead letters, by reason */
    atomic_ullong retries;            /* waits before trying again after a failure */
    atomic_ullong mongo_errors;       /* failed MongoDB writes (transient) */
    atomic_ullong batches;            /* batches acknowledged */
    atomic_ullong recovered;          /* events returned to the queue by recovery passes */
    atomic_ullong taken_over;         /* rollup counts taken over from batches that never will */
    atomic_ullong users_taken_over;   /* rollup user documents taken over likewise */
    atomic_ullong retention_deleted[SWEEP_COLLS]; /* deleted by the sweep, by collection */
    struct ttl_stats ttl;                         /* the TTL indexes at start (ttl.h) */
    struct metrics_histogram batch_size;
    struct rconn_stats redis;
};

/* The threads:
 *   - main() runs svc_main, whose work is drain_run(): the drain loop claims, stores and
 *     acknowledges batches on its own Redis connection (drain.c);
 *   - the heartbeat thread, started by drain_run(), refreshes this consumer's heartbeat
 *     in every shard every HEARTBEAT_TTL_MS / 3 on a second connection, so a batch waiting on
 * MongoDB does not look like a dead processor;
 *   - HTTP_PROBE_THREADS HTTP workers serve the probes and /metrics (the processor's
 *     listener serves probes only, see svc_probe_only_cfg());
 *   - the MongoDB driver's pools each run a monitor thread per server (common/store.h).
 * Across them: svc_stop_requested (an atomic, set by the signal handler), the stats
 * (atomics), the queue handles (immutable) and the pools (thread-safe). */
struct processor {
    struct svc_program svc; /* first: the routes' ctx is a struct processor */
    struct processor_cfg cfg;
    store_t *store;
    rconn_pool_t *redis;     /* for /health and /metrics; the drain loop has its own */
    struct queue_set queues; /* each shard's keys for this process's consumer id */
    struct processor_stats stats;
};

_Static_assert(offsetof(struct processor, svc) == 0, "struct svc_program must come first");

/* The route table: GET /health, /readyz, /livez and /metrics. */
extern const struct http_route processor_routes[];
extern const size_t processor_n_routes;

/* The dependencies /health and /readyz check: Redis, then MongoDB. */
int processor_deps(void *ctx, struct app_err *err);

/* Set up the stats, and the queue handles with a new consumer id. Returns 0, or -1
 * with err when out of memory or QUEUE_KEY cannot be sharded. */
int drain_prepare(struct processor *p, struct app_err *err);

/* Claim batches from the queue and store them until svc_stop_requested is
 * set; then hand back or finish the batch in hand. Returns 0 on a clean stop,
 * -1 when it could not start (out of memory). The processor's svc work. */
int drain_run(struct svc_program *prog);

/* `processor --dead list [N] | requeue | purge` (argv after "--dead"): the operator
 * command for dead letters. Returns the exit status: 0, 1 on a Redis failure, 2 on a
 * usage error. */
int dead_command(const struct processor_cfg *c, int argc, char **argv);

/* `processor --recover-orphans`: queue_adopt_orphans(), once, after an upgrade from a
 * version that claimed outside a script. Returns the exit status: 0, or 1 on a Redis
 * failure. */
int orphans_command(const struct processor_cfg *c);

#endif
