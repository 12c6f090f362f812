/* rcluster.c - the I/O half of common/rcluster.h: the handle, its map and its connections. */
#include "rcluster.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One master's connection; allocated alone, so the host its rconn_t points at stays put. */
struct node_conn {
    struct rcluster_addr addr;
    rconn_t *rc;
};

struct rcluster {
    struct rcluster_addr seeds[RCLUSTER_MAX_SEEDS];
    size_t n_seeds;
    char *password;
    long timeout_ms;
    int max_redirects;
    struct rconn_stats *stats;
    struct rcluster_map maps[2];
    struct rcluster_map *map;  /* the current one: maps[0] or maps[1] */
    struct rcluster_map *next; /* the other, filled by a refresh */
    int have_map;
    int stale; /* an answer was lost: reload the map before the next command */
    unsigned long refreshes;
    struct node_conn **conns;
    size_t n_conns;
    rconn_t *last; /* the connection the last reply came on (rcluster_last_conn()) */
};

rcluster_t *
rcluster_new(const struct rcluster_opts *opts, struct app_err *err)
{
    rcluster_t *c = calloc(1, sizeof *c);

    if (c == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (rcluster_parse_seeds(opts->seeds, c->seeds, RCLUSTER_MAX_SEEDS, &c->n_seeds, err) != 0) {
        free(c);
        return NULL;
    }
    c->password = strdup(opts->password != NULL ? opts->password : "");
    if (c->password == NULL) {
        free(c);
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    c->timeout_ms = opts->timeout_ms;
    c->max_redirects = opts->max_redirects > 0 ? opts->max_redirects : RCLUSTER_MAX_REDIRECTS_DEF;
    c->stats = opts->stats;
    rcluster_map_clear(&c->maps[0]);
    rcluster_map_clear(&c->maps[1]);
    c->map = &c->maps[0];
    c->next = &c->maps[1];
    return c;
}

static void
conn_free(struct node_conn *nc)
{
    rconn_free(nc->rc);
    free(nc);
}

void
rcluster_free(rcluster_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_conns; i++) {
        conn_free(c->conns[i]);
    }
    free(c->conns);
    rcluster_map_clear(&c->maps[0]);
    rcluster_map_clear(&c->maps[1]);
    free(c->password);
    free(c);
}

static int
same_addr(const struct rcluster_addr *a, const struct rcluster_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* The connection to addr, made (not yet connected) when there is none; NULL when out of
 * memory. */
static rconn_t *
conn_for(rcluster_t *c, const struct rcluster_addr *addr)
{
    struct node_conn *nc, **grown;
    struct rconn_opts o;

    for (size_t i = 0; i < c->n_conns; i++) {
        if (same_addr(&c->conns[i]->addr, addr)) {
            return c->conns[i]->rc;
        }
    }
    nc = calloc(1, sizeof *nc);
    grown = realloc(c->conns, (c->n_conns + 1) * sizeof *grown);
    if (grown != NULL) {
        c->conns = grown;
    }
    if (nc == NULL || grown == NULL) {
        free(nc);
        return NULL;
    }
    nc->addr = *addr;
    o = (struct rconn_opts){.host = nc->addr.host,
                            .port = nc->addr.port,
                            .password = c->password,
                            .timeout_ms = c->timeout_ms,
                            .stats = c->stats};
    nc->rc = rconn_new(&o);
    if (nc->rc == NULL) {
        free(nc);
        return NULL;
    }
    c->conns[c->n_conns++] = nc;
    return nc->rc;
}

/* After a refresh: close the connections to nodes that are no masters of the map. */
static void
prune(rcluster_t *c)
{
    size_t kept = 0;

    for (size_t i = 0; i < c->n_conns; i++) {
        int master = 0;
        for (size_t j = 0; j < c->map->n_nodes && !master; j++) {
            master = same_addr(&c->conns[i]->addr, &c->map->nodes[j]);
        }
        if (master) {
            c->conns[kept++] = c->conns[i];
        } else {
            if (c->conns[i]->rc == c->last) {
                c->last = NULL;
            }
            conn_free(c->conns[i]);
        }
    }
    c->n_conns = kept;
}

/* CLUSTER SLOTS from addr into c->next. */
static int
load_from(rcluster_t *c, const struct rcluster_addr *addr, struct app_err *err)
{
    rconn_t *rc = conn_for(c, addr);
    redisReply *r;
    int rv;

    if (rc == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    rconn_drop_if_stale(rc);
    r = rconn_command(rc, err, "CLUSTER SLOTS");
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rv =
            err_set(err, ERR_TRANSIENT, "%s:%d: CLUSTER SLOTS: %s", addr->host, addr->port, r->str);
    } else if (rcluster_map_from_slots(c->next, r, addr->host, err) != 0) {
        rv = -1;
    } else if (c->next->n_nodes == 0) {
        rv = err_set(err, ERR_TRANSIENT, "%s:%d: CLUSTER SLOTS: no slot served", addr->host,
                     addr->port);
    } else {
        rv = 0;
    }
    freeReplyObject(r);
    return rv;
}

int
rcluster_refresh(rcluster_t *c, struct app_err *err)
{
    struct app_err last = {0, "no node to ask"};
    /* The masters of the current map first (the seeds may be long gone), then the seeds:
     * the current map is left as it is until the new one is whole. */
    size_t n_known = c->have_map ? c->map->n_nodes : 0;

    for (size_t i = 0; i < n_known + c->n_seeds; i++) {
        const struct rcluster_addr *a = i < n_known ? &c->map->nodes[i] : &c->seeds[i - n_known];
        if (load_from(c, a, &last) == 0) {
            struct rcluster_map *old = c->map;
            c->map = c->next;
            c->next = old;
            rcluster_map_clear(c->next);
            c->have_map = 1;
            c->stale = 0;
            c->refreshes++;
            prune(c);
            return 0;
        }
        if (last.code == ERR_INTERNAL) {
            break;
        }
    }
    return err_set(err, last.code == ERR_INTERNAL ? ERR_INTERNAL : ERR_TRANSIENT,
                   "redis cluster: no node gave a slot map (last: %s)", last.msg);
}

static struct timeval
ms_to_tv(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Send the formatted command to addr (ASKING first when asking). Returns the reply, or NULL
 * with *sent saying whether the command may have gone out (and err filled). */
static redisReply *
send_to(rcluster_t *c, const struct rcluster_addr *addr, int asking, const char *cmd, size_t len,
        long block_ms, int *sent, struct app_err *err)
{
    rconn_t *rc = conn_for(c, addr);
    redisContext *ctx;
    void *reply = NULL;

    *sent = 0;
    if (rc == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    rconn_drop_if_stale(rc);
    ctx = rconn_context(rc, err);
    if (ctx == NULL) {
        return NULL;
    }
    if (block_ms > 0 && redisSetTimeout(ctx, ms_to_tv(block_ms + c->timeout_ms)) != REDIS_OK) {
        /* With the short timeout the read would give up while the server still blocks. */
        rconn_drop(rc);
        err_set(err, ERR_TRANSIENT, "%s:%d: cannot set timeout", addr->host, addr->port);
        return NULL;
    }
    if ((asking && redisAppendCommand(ctx, "ASKING") != REDIS_OK) ||
        redisAppendFormattedCommand(ctx, cmd, len) != REDIS_OK) {
        rconn_drop(rc);
        err_set(err, ERR_INTERNAL, "%s:%d: out of memory", addr->host, addr->port);
        return NULL;
    }
    *sent = 1;
    if (asking) {
        if (redisGetReply(ctx, &reply) == REDIS_OK) {
            freeReplyObject(reply); /* OK; an error shows in the command's own reply */
            reply = NULL;
        } else {
            goto lost;
        }
    }
    if (redisGetReply(ctx, &reply) == REDIS_OK) {
        c->last = rc;
        if (block_ms > 0 && redisSetTimeout(ctx, ms_to_tv(c->timeout_ms)) != REDIS_OK) {
            rconn_drop(rc); /* it would keep the long timeout: the next command reconnects */
        }
        return reply;
    }
lost:
    err_set(err, ERR_UNKNOWN, "redis %s:%d: %s", addr->host, addr->port,
            ctx->errstr[0] ? ctx->errstr : "connection lost");
    rconn_drop(rc);
    return NULL;
}

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Where to send: the map's master of slot (any master for slot -1); false when none. */
static int
target(const rcluster_t *c, int slot, struct rcluster_addr *out)
{
    const struct rcluster_addr *a = NULL;

    if (c->have_map) {
        a = slot >= 0 ? rcluster_map_node(c->map, (unsigned)slot) : &c->map->nodes[0];
    }
    if (a != NULL) {
        *out = *a;
    }
    return a != NULL;
}

/* The redirect loop (the decisions are rcluster_decide()'s). */
static redisReply *
run(rcluster_t *c, struct app_err *err, int slot, long block_ms, const char *cmd, size_t len)
{
    struct rcluster_redirect to;
    struct rcluster_addr at;
    int direct = 0, asking = 0; /* send to `at` as it is (a redirect's), with ASKING */
    struct app_err last = {0, "no slot map"};

    for (int n = 0;; n++) {
        redisReply *reply = NULL;
        int sent = 0, have = direct;
        enum rcluster_step step;

        if (!direct && (!c->have_map || c->stale)) {
            rcluster_refresh(c, &last);
        }
        if (!direct) {
            have = target(c, slot, &at);
            if (!have && c->have_map) {
                err_set(&last, ERR_TRANSIENT, "slot %d is served by no master", slot);
            }
        }
        if (have) {
            reply = send_to(c, &at, asking, cmd, len, block_ms, &sent, &last);
        }
        if (reply == NULL && (sent || last.code == ERR_INTERNAL)) {
            c->stale = sent; /* a failover, maybe: the next command reloads the map */
            err_set(err, last.code, "%s", last.msg);
            return NULL;
        }
        step = rcluster_decide(reply, n, c->max_redirects, &to);
        direct = asking = 0;
        if (step == RCLUSTER_DONE) {
            return reply;
        }
        if (reply != NULL) {
            err_set(&last, ERR_TRANSIENT, "%s:%d: %s", at.host, at.port, reply->str);
            freeReplyObject(reply);
        }
        switch (step) {
        case RCLUSTER_MOVED:
        case RCLUSTER_ASK:
            if (to.to.host[0] == '\0') {
                memcpy(to.to.host, at.host, sizeof at.host);
            }
            at = to.to;
            direct = 1;
            asking = step == RCLUSTER_ASK;
            if (step == RCLUSTER_MOVED) {
                rcluster_refresh(c, &last); /* and the redirect's node this once */
            }
            break;
        case RCLUSTER_BACKOFF:
            pause_ms(rcluster_backoff_ms(n));
            break;
        case RCLUSTER_RECONNECT:
            pause_ms(rcluster_backoff_ms(n));
            rcluster_refresh(c, &last);
            break;
        default:
            err_set(err, ERR_TRANSIENT, "redis cluster: gave up after %d redirects and retries: %s",
                    n, last.msg);
            return NULL;
        }
    }
}

redisReply *
rcluster_command_argv(rcluster_t *c, struct app_err *err, size_t nkeys, const char *const *keys,
                      const size_t *keylens, int argc, const char **argv, const size_t *argvlen)
{
    int slot = rcluster_keys_slot(nkeys, keys, keylens);

    if (slot == -1) {
        err_set(err, ERR_INVALID, "CROSSSLOT: the %zu keys of %.*s are in different slots", nkeys,
                (int)(argvlen[0] > 32 ? 32 : argvlen[0]), argv[0]);
        return NULL;
    }
    return rcluster_command_at(c, err, slot < 0 ? -1 : slot, 0, argc, argv, argvlen);
}

redisReply *
rcluster_command(rcluster_t *c, struct app_err *err, const char *key, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = rcluster_vcommand_at(c, err, key != NULL ? (int)rcluster_key_slot(key, strlen(key)) : -1, 0,
                             fmt, ap);
    va_end(ap);
    return r;
}

redisReply *
rcluster_command_at(rcluster_t *c, struct app_err *err, int slot, long block_ms, int argc,
                    const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    redisReply *r;

    if (len < 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r = run(c, err, slot, block_ms, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

redisReply *
rcluster_vcommand_at(rcluster_t *c, struct app_err *err, int slot, long block_ms, const char *fmt,
                     va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    redisReply *r;

    if (len < 0) {
        err_set(err, ERR_INTERNAL, "out of memory or a bad format");
        return NULL;
    }
    r = run(c, err, slot, block_ms, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

rconn_t *
rcluster_conn_at(rcluster_t *c, int slot, struct app_err *err)
{
    struct rcluster_addr at;
    rconn_t *rc;

    if ((!c->have_map || c->stale) && rcluster_refresh(c, err) != 0 && !c->have_map) {
        return NULL;
    }
    if (!target(c, slot, &at)) {
        err_set(err, ERR_TRANSIENT, "slot %d is served by no master", slot);
        return NULL;
    }
    rc = conn_for(c, &at);
    if (rc == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    rconn_drop_if_stale(rc);
    return rc;
}

void
rcluster_drop_at(rcluster_t *c, int slot)
{
    struct rcluster_addr at;

    if (target(c, slot, &at)) {
        for (size_t i = 0; i < c->n_conns; i++) {
            if (same_addr(&c->conns[i]->addr, &at)) {
                rconn_drop(c->conns[i]->rc);
            }
        }
    }
    c->stale = 1;
}

rconn_t *
rcluster_last_conn(rcluster_t *c)
{
    return c->last;
}

int
rcluster_ping(rcluster_t *c, struct app_err *err)
{
    if (rcluster_refresh(c, err) != 0) {
        return -1;
    }
    for (size_t i = 0; i < c->map->n_nodes; i++) {
        const struct rcluster_addr *a = &c->map->nodes[i];
        rconn_t *rc = conn_for(c, a);
        struct app_err why = {0};
        if (rc == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        rconn_drop_if_stale(rc);
        if (rconn_ping(rc, &why) != 0) {
            return err_set(err, ERR_TRANSIENT, "redis cluster master %s:%d: %s", a->host, a->port,
                           why.msg);
        }
    }
    return 0;
}

const struct rcluster_addr *
rcluster_node_of(const rcluster_t *c, unsigned slot)
{
    return c->have_map ? rcluster_map_node(c->map, slot) : NULL;
}

unsigned long
rcluster_refreshes(const rcluster_t *c)
{
    return c->refreshes;
}
