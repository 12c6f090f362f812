/* rconn.h - a Redis connection with connect/command timeouts and reconnect, and a pool of them. */
#ifndef COMMON_RCONN_H
#define COMMON_RCONN_H

#include <hiredis/hiredis.h>
#include <stdatomic.h>

#include "cfg.h"
#include "err.h"

typedef struct rconn rconn_t;

/* Counts for metrics, shared by the connections given the same opts. */
struct rconn_stats {
    atomic_ullong connects; /* connections opened (the first, then reconnects) */
    atomic_ullong errors;   /* failed connects and commands */
};

/* Settings shared by every connection to one server. The strings (and stats) must
 * outlive the connections made with them. */
struct rconn_opts {
    const char *host;
    int port;
    const char *password;      /* empty or NULL: no AUTH */
    long timeout_ms;           /* connect timeout and per-command read/write timeout */
    struct rconn_stats *stats; /* optional */
    const char *cluster;       /* REDIS_CLUSTER: seed nodes; non-empty makes every rconn_t a
                                * cluster handle (host and port are then not used) */
};

/* Rows for REDIS_CLUSTER, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD and REDIS_TIMEOUT_MS
 * writing into the struct rconn_opts *o, with the program's default timeout; the strings
 * then point into the environment (see cfg_load()). REDIS_CLUSTER, when set, wins over
 * REDIS_HOST and REDIS_PORT. */
#define RCONN_VARS(o, timeout_def)                                                                 \
    {"REDIS_CLUSTER", "", CFG_CHECKED, &(o)->cluster, 0, 0, 0, rconn_check_cluster},               \
        {"REDIS_HOST", "127.0.0.1", CFG_NONEMPTY, &(o)->host, 0, 0, 0, NULL},                      \
        {"REDIS_PORT", "6379", CFG_PORT, &(o)->port, 0, 0, 0, NULL},                               \
        {"REDIS_PASSWORD", "", CFG_STRING, &(o)->password, 0, 0, 1, NULL},                         \
    {                                                                                              \
        "REDIS_TIMEOUT_MS", timeout_def, CFG_INT, &(o)->timeout_ms, 1, 60000, 0, NULL              \
    }

/* REDIS_CLUSTER's check: empty, or a seed list rcluster_parse_seeds() accepts. */
int rconn_check_cluster(const char *value, struct app_err *err);

/* Zero a stats block before use. */
void rconn_stats_init(struct rconn_stats *s);

/* A connection that connects lazily on first use. Returns NULL when out of memory.
 *
 * With opts->cluster set it is a Redis Cluster handle (common/rcluster.h) behind the same
 * functions: each command goes to the master of the slot set with rconn_route() (MOVED and
 * ASK followed), rconn_context() is the connection to that master, rconn_ping() pings
 * every master of the slot map. */
rconn_t *rconn_new(const struct rconn_opts *opts);

/* Whether c is a cluster handle. */
int rconn_is_cluster(const rconn_t *c);

/* Route the next commands of c by the slot of key (NULL: any master), until the next call.
 * Every key of one queue shard carries the shard's hash tag, so the caller names any of
 * them. A no-op on a standalone server. */
void rconn_route(rconn_t *c, const char *key);

/* The connection the last reply came on, for a command that must follow it on the same
 * connection (WAIT after a write): c itself on a standalone server, the master's connection
 * on a cluster (NULL when there is none). Valid until the next command on c. */
rconn_t *rconn_last(rconn_t *c);

/* Close and free. NULL is a no-op. */
void rconn_free(rconn_t *c);

/* Run one command (redisCommand format). Connects (and AUTHs) first when not
 * connected. Returns the reply (free with freeReplyObject()); an error reply
 * from the server is returned as a reply. Returns NULL with err->code
 * ERR_TRANSIENT when it could not connect (the command was not sent), or
 * ERR_UNKNOWN on an I/O error or timeout after sending (the command may have
 * run); the connection is then dropped and the next call reconnects. One
 * thread at a time. */
redisReply *rconn_command(rconn_t *c, struct app_err *err, const char *fmt, ...);

/* rconn_command for a command that may block on the server for up to block_ms
 * (BLMOVE): the read timeout is raised by block_ms for this command only. */
redisReply *rconn_command_blocking(rconn_t *c, long block_ms, struct app_err *err, const char *fmt,
                                   ...);

/* The same with an argument vector (binary-safe). */
redisReply *rconn_command_argv(rconn_t *c, struct app_err *err, int argc, const char **argv,
                               const size_t *argvlen);

/* For pipelining: the connected hiredis context (connecting if needed), or
 * NULL with err filled. After any failed redisGetReply() on it, call
 * rconn_drop(). */
redisContext *rconn_context(rconn_t *c, struct app_err *err);

/* Close the underlying connection after an error; the next use reconnects. */
void rconn_drop(rconn_t *c);

/* An idle connection the server has closed (or that holds anything unasked) is dropped,
 * so the next command goes out on a fresh one instead of failing after it was sent. */
void rconn_drop_if_stale(rconn_t *c);

/* PING: returns 0 when the server answers PONG within the timeout, else -1. */
int rconn_ping(rconn_t *c, struct app_err *err);

typedef struct rconn_pool rconn_pool_t;

/* A thread-safe pool of connections; it grows to as many as are in use at
 * once. Returns NULL when out of memory. */
rconn_pool_t *rconn_pool_new(const struct rconn_opts *opts);

/* Free the pool and every connection in it; all must have been pushed back. */
void rconn_pool_free(rconn_pool_t *p);

/* PING on a pooled connection (taken and given back): 0 when Redis answers, else -1
 * with err filled. */
int rconn_pool_ping(rconn_pool_t *p, struct app_err *err);

/* Take a connection (never NULL unless out of memory); give it back with
 * rconn_pool_push(). A pooled connection the server has closed meanwhile is
 * dropped first, so the caller's command goes out on a fresh one. */
rconn_t *rconn_pool_pop(rconn_pool_t *p);
void rconn_pool_push(rconn_pool_t *p, rconn_t *c);

#endif
