/* rconn.c - a Redis connection with connect/command timeouts and reconnect, and a pool of them. */
#include "rconn.h"

#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rcluster.h"

struct rconn {
    struct rconn_opts opts;
    redisContext *ctx;
    rcluster_t *cl;     /* on a cluster (opts.cluster): the handle; ctx is then unused */
    int slot;           /* on a cluster: where commands go (rconn_route()), -1 any master */
    struct rconn *next; /* free-list link inside a pool */
};

struct rconn_pool {
    struct rconn_opts opts;
    pthread_mutex_t lock;
    rconn_t *free_list;
};

void
rconn_stats_init(struct rconn_stats *s)
{
    atomic_init(&s->connects, 0);
    atomic_init(&s->errors, 0);
}

static void
count(atomic_ullong *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

int
rconn_check_cluster(const char *value, struct app_err *err)
{
    struct rcluster_addr seeds[RCLUSTER_MAX_SEEDS];
    size_t n;

    return value[0] == '\0' ? 0 : rcluster_parse_seeds(value, seeds, RCLUSTER_MAX_SEEDS, &n, err);
}

rconn_t *
rconn_new(const struct rconn_opts *opts)
{
    rconn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->opts = *opts;
    c->slot = -1;
    if (opts->cluster != NULL && opts->cluster[0] != '\0') {
        struct rcluster_opts co = {opts->cluster, opts->password, opts->timeout_ms, 0, opts->stats};
        struct app_err err = {0};
        c->cl = rcluster_new(&co, &err); /* the seeds were checked by cfg: out of memory */
        if (c->cl == NULL) {
            free(c);
            return NULL;
        }
    }
    return c;
}

int
rconn_is_cluster(const rconn_t *c)
{
    return c->cl != NULL;
}

void
rconn_route(rconn_t *c, const char *key)
{
    c->slot = key != NULL ? (int)rcluster_key_slot(key, strlen(key)) : -1;
}

rconn_t *
rconn_last(rconn_t *c)
{
    return c->cl != NULL ? rcluster_last_conn(c->cl) : c;
}

void
rconn_drop(rconn_t *c)
{
    if (c->cl != NULL) {
        rcluster_drop_at(c->cl, c->slot);
        return;
    }
    if (c->ctx != NULL && c->ctx->err != 0 && c->opts.stats != NULL) {
        count(&c->opts.stats->errors); /* a pipelined read failed */
    }
    if (c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

void
rconn_free(rconn_t *c)
{
    if (c == NULL) {
        return;
    }
    rconn_drop(c);
    rcluster_free(c->cl);
    free(c);
}

redisContext *
rconn_context(rconn_t *c, struct app_err *err)
{
    struct timeval tv = {c->opts.timeout_ms / 1000, (c->opts.timeout_ms % 1000) * 1000};
    redisContext *ctx;

    if (c->cl != NULL) {
        rconn_t *node = rcluster_conn_at(c->cl, c->slot, err);
        return node != NULL ? rconn_context(node, err) : NULL;
    }
    if (c->ctx != NULL) {
        return c->ctx;
    }
    ctx = redisConnectWithTimeout(c->opts.host, c->opts.port, tv);
    if (c->opts.stats != NULL && (ctx == NULL || ctx->err != 0)) {
        count(&c->opts.stats->errors);
    }
    if (ctx == NULL) {
        err_set(err, ERR_TRANSIENT, "redis %s:%d: out of memory", c->opts.host, c->opts.port);
        return NULL;
    }
    if (ctx->err != 0) {
        err_set(err, ERR_TRANSIENT, "redis %s:%d: %s", c->opts.host, c->opts.port, ctx->errstr);
        redisFree(ctx);
        return NULL;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        err_set(err, ERR_TRANSIENT, "redis %s:%d: cannot set timeout", c->opts.host, c->opts.port);
        redisFree(ctx);
        return NULL;
    }
    if (c->opts.password != NULL && c->opts.password[0] != '\0') {
        redisReply *r = redisCommand(ctx, "AUTH %s", c->opts.password);
        int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (!ok) {
            err_set(err, ERR_TRANSIENT, "redis %s:%d: AUTH failed: %s", c->opts.host, c->opts.port,
                    r ? (r->str ? r->str : "unexpected reply") : ctx->errstr);
        }
        if (r != NULL) {
            freeReplyObject(r);
        }
        if (!ok) {
            redisFree(ctx);
            return NULL;
        }
    }
    c->ctx = ctx;
    if (c->opts.stats != NULL) {
        count(&c->opts.stats->connects);
    }
    return ctx;
}

static redisReply *
finish(rconn_t *c, void *reply, struct app_err *err)
{
    if (reply == NULL) {
        /* (Counted as an error by rconn_drop.) The command may have reached the server before the
         * connection failed or the answer timed out. */
        err_set(err, ERR_UNKNOWN, "redis %s:%d: %s", c->opts.host, c->opts.port,
                c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
        rconn_drop(c);
    }
    return reply;
}

redisReply *
rconn_command(rconn_t *c, struct app_err *err, const char *fmt, ...)
{
    va_list ap;
    void *reply;

    if (c->cl != NULL) {
        va_start(ap, fmt);
        reply = rcluster_vcommand_at(c->cl, err, c->slot, 0, fmt, ap);
        va_end(ap);
        return reply;
    }
    if (rconn_context(c, err) == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    reply = redisvCommand(c->ctx, fmt, ap);
    va_end(ap);
    return finish(c, reply, err);
}

static struct timeval
ms_to_tv(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

redisReply *
rconn_command_blocking(rconn_t *c, long block_ms, struct app_err *err, const char *fmt, ...)
{
    va_list ap;
    void *reply;

    if (c->cl != NULL) {
        va_start(ap, fmt);
        reply = rcluster_vcommand_at(c->cl, err, c->slot, block_ms, fmt, ap);
        va_end(ap);
        return reply;
    }
    if (rconn_context(c, err) == NULL) {
        return NULL;
    }
    if (redisSetTimeout(c->ctx, ms_to_tv(block_ms + c->opts.timeout_ms)) != REDIS_OK) {
        /* With the short timeout the read would give up while the server still blocks:
         * send nothing. */
        err_set(err, ERR_TRANSIENT, "redis %s:%d: cannot set timeout", c->opts.host, c->opts.port);
        rconn_drop(c);
        return NULL;
    }
    va_start(ap, fmt);
    reply = redisvCommand(c->ctx, fmt, ap);
    va_end(ap);
    if (reply != NULL && redisSetTimeout(c->ctx, ms_to_tv(c->opts.timeout_ms)) != REDIS_OK) {
        /* The reply is good, but the connection would keep the long timeout for every
         * command after it: close it, the next command reconnects. */
        LOG_WARN("redis %s:%d: cannot restore the timeout; reconnecting", c->opts.host,
                 c->opts.port);
        rconn_drop(c);
        return reply;
    }
    return finish(c, reply, err);
}

redisReply *
rconn_command_argv(rconn_t *c, struct app_err *err, int argc, const char **argv,
                   const size_t *argvlen)
{
    if (c->cl != NULL) {
        return rcluster_command_at(c->cl, err, c->slot, 0, argc, argv, argvlen);
    }
    if (rconn_context(c, err) == NULL) {
        return NULL;
    }
    return finish(c, redisCommandArgv(c->ctx, argc, argv, argvlen), err);
}

int
rconn_ping(rconn_t *c, struct app_err *err)
{
    redisReply *r;
    int rc = -1;

    if (c->cl != NULL) {
        return rcluster_ping(c->cl, err);
    }
    r = rconn_command(c, err, "PING");
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
        rc = 0;
    } else {
        err_set(err, ERR_TRANSIENT, "redis PING: %s", r->str ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

rconn_pool_t *
rconn_pool_new(const struct rconn_opts *opts)
{
    rconn_pool_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    p->opts = *opts;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void
rconn_pool_free(rconn_pool_t *p)
{
    if (p == NULL) {
        return;
    }
    while (p->free_list != NULL) {
        rconn_t *c = p->free_list;
        p->free_list = c->next;
        rconn_free(c);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* An idle connection has nothing to read: readable means the server closed it
 * (restart, idle timeout) or sent something unasked. Drop it before use, so the
 * next command goes to a fresh connection instead of failing. */
void
rconn_drop_if_stale(rconn_t *c)
{
    struct pollfd pfd;

    if (c->ctx == NULL) { /* (on a cluster too: the handle checks before each send) */
        return;
    }
    pfd.fd = c->ctx->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) != 0) {
        rconn_drop(c);
    }
}

rconn_t *
rconn_pool_pop(rconn_pool_t *p)
{
    rconn_t *c;

    pthread_mutex_lock(&p->lock);
    c = p->free_list;
    if (c != NULL) {
        p->free_list = c->next;
    }
    pthread_mutex_unlock(&p->lock);
    if (c == NULL) {
        return rconn_new(&p->opts);
    }
    rconn_drop_if_stale(c);
    return c;
}

void
rconn_pool_push(rconn_pool_t *p, rconn_t *c)
{
    pthread_mutex_lock(&p->lock);
    c->next = p->free_list;
    p->free_list = c;
    pthread_mutex_unlock(&p->lock);
}

int
rconn_pool_ping(rconn_pool_t *p, struct app_err *err)
{
    rconn_t *c = rconn_pool_pop(p);
    int rc;

    if (c == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    rc = rconn_ping(c, err);
    rconn_pool_push(p, c);
    return rc;
}
