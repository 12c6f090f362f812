/* processor.h - the processor's configuration, shared state and drain loop. */
#ifndef PROCESSOR_PROCESSOR_H
#define PROCESSOR_PROCESSOR_H

#include "http.h"
#include "log.h"
#include "rconn.h"
#include "store.h"

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
    enum log_level log_level;
};

struct processor {
    struct processor_cfg cfg;
    store_t *store;
    rconn_pool_t *redis; /* for /health; the drain loop has its own connection */
};

/* The route table: GET /health. */
extern const struct http_route processor_routes[];
extern const size_t processor_n_routes;

/* Claim batches from the queue and store them until svc_stop_requested is
 * set; then hand back or finish the batch in hand. Returns 0 on a clean stop,
 * -1 when it could not start (out of memory). */
int drain_run(struct processor *p);

/* `processor --dead list [N] | requeue | purge` (argv after "--dead"): the operator
 * command for dead letters. Returns the exit status: 0, 1 on a Redis failure, 2 on a
 * usage error. */
int dead_command(const struct processor_cfg *c, int argc, char **argv);

#endif
