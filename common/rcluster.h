/* rcluster.h - the minimum of a Redis Cluster client over hiredis 0.14 (which has none): key
 * slots, the slot map from CLUSTER SLOTS, MOVED and ASK redirects, a refreshed map after a
 * failover, a bounded number of redirects.
 *
 * Two halves. The pure functions (common/rcluster_map.c) decide everything from their
 * arguments alone and are table-tested (tests/unit/test_rcluster.c). The handle
 * (common/rcluster.c) does the I/O: one hiredis connection per master (an rconn_t, made
 * lazily), the map loaded with CLUSTER SLOTS, each command sent to the master of its keys'
 * slot. A handle is used by one thread at a time, as an rconn_t is: a program with several
 * threads gives each its own handle (each then holds its own map and connections). */
#ifndef COMMON_RCLUSTER_H
#define COMMON_RCLUSTER_H

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rconn.h"

#define RCLUSTER_SLOTS 16384
#define RCLUSTER_NO_NODE 0xFFFFu /* a slot no master serves (in struct rcluster_map) */
#define RCLUSTER_HOST_MAX 256    /* a host name or address and its NUL */
#define RCLUSTER_MAX_SEEDS 64
#define RCLUSTER_MAX_NODES 1024 /* masters in one map: the spec's advised maximum */
#define RCLUSTER_MAX_REDIRECTS_DEF 5

/* One node's address. An empty host in a redirect means "the node that answered". */
struct rcluster_addr {
    char host[RCLUSTER_HOST_MAX];
    int port;
};

/* --- pure functions (rcluster_map.c) ------------------------------------------------------ */

/* CRC16-XMODEM (poly 0x1021, init 0), the cluster specification's: "123456789" -> 0x31C3. */
uint16_t rcluster_crc16(const char *buf, size_t len);

/* The slot of a key: CRC16 mod 16384 of the key, or of its hash tag, the bytes between the
 * first '{' and the first '}' after it when there is at least one. */
unsigned rcluster_key_slot(const char *key, size_t len);

/* "host:port" (the port after the last ':', so "::1:6381" is host "::1"; "[::1]:6381" is
 * accepted too) into *out. The host may be empty when allow_empty_host is set (a
 * redirect's "the same host"). Returns 0, or -1 when malformed (the port must be 1-65535,
 * in decimal, with nothing after it). */
int rcluster_parse_addr(const char *s, size_t len, int allow_empty_host, struct rcluster_addr *out);

/* REDIS_CLUSTER=host:port,host:port,... : the seed nodes, into seeds[0..*n) (at most
 * max). Returns 0, or -1 with err (ERR_INVALID) naming the bad entry: empty list, empty
 * entry, blanks, bad address, too many. */
int rcluster_parse_seeds(const char *spec, struct rcluster_addr *seeds, size_t max, size_t *n,
                         struct app_err *err);

enum rcluster_redirect_kind { RCLUSTER_REDIRECT_MOVED = 1, RCLUSTER_REDIRECT_ASK = 2 };

struct rcluster_redirect {
    int kind; /* enum rcluster_redirect_kind */
    unsigned slot;
    struct rcluster_addr to;
};

/* An error reply's text "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" into
 * *out. Returns 0, or -1 when it is neither or malformed (slot past 16383, bad address,
 * anything after the address). */
int rcluster_parse_redirect(const char *msg, size_t len, struct rcluster_redirect *out);

/* Which master serves each slot. */
struct rcluster_map {
    struct rcluster_addr *nodes; /* the masters, each once; owned (rcluster_map_clear()) */
    size_t n_nodes;
    uint16_t slot_node[RCLUSTER_SLOTS]; /* index into nodes, or RCLUSTER_NO_NODE */
};

/* Fill *m (which must hold no nodes: zeroed, or cleared) from a CLUSTER SLOTS reply:
 * [[start, end, [host, port, ...], replicas...], ...]. A master whose host is empty is
 * `answered_by` (the node that sent the reply), one whose host is "?" (unknown endpoint)
 * serves nothing. Returns 0, or -1 with err (ERR_INVALID: malformed or overlapping
 * ranges; ERR_INTERNAL: out of memory) and *m holding no nodes. */
int rcluster_map_from_slots(struct rcluster_map *m, const redisReply *r, const char *answered_by,
                            struct app_err *err);

/* Free the nodes; every slot is then served by no one. */
void rcluster_map_clear(struct rcluster_map *m);

/* The master of a slot, or NULL. */
const struct rcluster_addr *rcluster_map_node(const struct rcluster_map *m, unsigned slot);

/* The slot all n keys share, or -1 when they do not (CROSSSLOT), or -2 when n is 0. */
int rcluster_keys_slot(size_t n, const char *const *keys, const size_t *lens);

/* What to do with the answer to a command sent to the node the map named. */
enum rcluster_step {
    RCLUSTER_DONE,      /* the reply is the command's answer (an error reply included) */
    RCLUSTER_MOVED,     /* the slot moved: refresh the map, send again to *to */
    RCLUSTER_ASK,       /* the slot is migrating: send ASKING and the command to *to, once */
    RCLUSTER_BACKOFF,   /* TRYAGAIN or CLUSTERDOWN: wait, send again */
    RCLUSTER_RECONNECT, /* reply NULL: the node could not be reached, nothing was sent; refresh
                         * the map, send again */
    RCLUSTER_GIVE_UP,   /* a redirect past max_redirects, or a malformed MOVED or ASK */
};

/* The step for `reply` (NULL: the connection failed before the command was sent) after
 * `redirects` redirects and retries already made for this command. *to is set for MOVED
 * and ASK (its host empty when the reply named none: the node that answered). */
enum rcluster_step rcluster_decide(const redisReply *reply, int redirects, int max_redirects,
                                   struct rcluster_redirect *to);

/* The wait before retry number `redirects` (0, 1, ...) after BACKOFF or RECONNECT:
 * 25 ms doubled each time, at most 800 ms. */
long rcluster_backoff_ms(int redirects);

/* --- the handle (rcluster.c) -------------------------------------------------------------- */

typedef struct rcluster rcluster_t;

struct rcluster_opts {
    const char *seeds;         /* REDIS_CLUSTER: host:port,host:port,... */
    const char *password;      /* empty or NULL: no AUTH */
    long timeout_ms;           /* per connect and per command */
    int max_redirects;         /* 0: RCLUSTER_MAX_REDIRECTS_DEF */
    struct rconn_stats *stats; /* optional, given to every connection */
};

/* A handle on the cluster. Parses the seeds (ERR_INVALID) and connects to nothing yet: the
 * map is loaded by the first command. Returns NULL with err on a bad seed list or out of
 * memory. The strings of opts are copied. */
rcluster_t *rcluster_new(const struct rcluster_opts *opts, struct app_err *err);

/* Close every connection and free. NULL is a no-op. */
void rcluster_free(rcluster_t *c);

/* Load the slot map with CLUSTER SLOTS from the first node that answers: the masters of the
 * current map, then the seeds. Returns 0, or -1 with err (ERR_TRANSIENT: none answered). */
int rcluster_refresh(rcluster_t *c, struct app_err *err);

/* Run one command whose keys are keys[0..nkeys) (nkeys 0: any master) at the master of
 * their slot, following MOVED (the map refreshed) and ASK (ASKING first), backing off on
 * TRYAGAIN and CLUSTERDOWN, refreshing the map when a node cannot be reached, at most
 * max_redirects times. Returns the reply (freeReplyObject()), an error reply from the
 * server included. Returns NULL with err: ERR_INVALID when the keys do not share one slot
 * (nothing is sent); ERR_TRANSIENT when the command was never run (no node reached, no map,
 * redirects exhausted); ERR_UNKNOWN when it was sent and no answer came (it may have run:
 * it is not sent again; the map is refreshed for the next command). */
redisReply *rcluster_command_argv(rcluster_t *c, struct app_err *err, size_t nkeys,
                                  const char *const *keys, const size_t *keylens, int argc,
                                  const char **argv, const size_t *argvlen);

/* The same for a command with one key (NULL: any master), in redisCommand's format. */
redisReply *rcluster_command(rcluster_t *c, struct app_err *err, const char *key, const char *fmt,
                             ...);

/* --- for rconn_t's cluster mode (common/rconn.h): commands routed by a slot given ---------- */

/* rcluster_command_argv() sent to the master of `slot` (-1: any master), whatever keys the
 * command names (the server's MOVED corrects a wrong slot). block_ms > 0: a command that may
 * block on the server that long (BLMOVE); the read timeout is raised by block_ms for it
 * only, as rconn_command_blocking() does. */
redisReply *rcluster_command_at(rcluster_t *c, struct app_err *err, int slot, long block_ms,
                                int argc, const char **argv, const size_t *argvlen);

/* The same in redisCommand's format. */
redisReply *rcluster_vcommand_at(rcluster_t *c, struct app_err *err, int slot, long block_ms,
                                 const char *fmt, va_list ap);

/* For pipelining: the connection to the master of `slot` (the map loaded or reloaded first
 * when needed), or NULL with err. Owned by the handle, valid until its next command; after
 * a failed read on it call rcluster_drop_at() (not rconn_drop()). */
rconn_t *rcluster_conn_at(rcluster_t *c, int slot, struct app_err *err);

/* Close the connection to the master of `slot` and reload the map before the next command. */
void rcluster_drop_at(rcluster_t *c, int slot);

/* The connection the last reply came on (NULL when none, or when it was closed since): a
 * command that must follow another on the same connection (WAIT after LPUSH) is sent on it.
 * Owned by the handle, valid until its next command. */
rconn_t *rcluster_last_conn(rcluster_t *c);

/* Reload the map and PING every master of it: 0 when all answer, else -1 with err naming
 * the first that did not. */
int rcluster_ping(rcluster_t *c, struct app_err *err);

/* The master a slot is sent to now (map loaded, else NULL): for tests and logs. */
const struct rcluster_addr *rcluster_node_of(const rcluster_t *c, unsigned slot);

/* Map loads so far (the first, then each refresh): for tests and metrics. */
unsigned long rcluster_refreshes(const rcluster_t *c);

#endif
