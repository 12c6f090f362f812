/* qset.c - the processor's queue shards: one queue handle per shard, claims round them,
 * and the check for shards another QUEUE_SHARDS left behind (qset.h). */
#include "qset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qshard.h"

int
queue_set_init(struct queue_set *s, const char *queue_key, unsigned k, const char *consumer)
{
    s->n = 0;
    s->q = calloc(k, sizeof *s->q);
    if (s->q == NULL) {
        return -1;
    }
    s->n = k;
    for (unsigned i = 0; i < k; i++) {
        char *name = qshard_name(queue_key, k, i);
        s->q[i] = name != NULL ? queue_new(name, consumer) : NULL;
        free(name);
        if (s->q[i] == NULL) {
            queue_set_free(s);
            return -1;
        }
    }
    return 0;
}

void
queue_set_free(struct queue_set *s)
{
    for (unsigned i = 0; s->q != NULL && i < s->n; i++) {
        queue_free(s->q[i]);
    }
    free(s->q);
    s->q = NULL;
    s->n = 0;
}

int
queue_set_claim(const struct queue_set *s, rconn_t *c, unsigned *next, size_t max, long block_ms,
                struct queue_batch *out, unsigned *shard, struct app_err *err)
{
    unsigned from = *next % s->n;
    long wait = s->n > 1 && block_ms > QSET_POLL_MS ? QSET_POLL_MS : block_ms;
    int n = 0;

    /* Each shard once without waiting; the last one tried (the one before from) waits
     * when all were empty. The next claim starts after the shard that gave this one. */
    for (unsigned t = 0; t < s->n; t++) {
        *shard = (from + t) % s->n;
        n = queue_claim(s->q[*shard], c, max, t + 1 == s->n ? wait : 0, out, err);
        if (n != 0) {
            break;
        }
    }
    *next = (*shard + 1) % s->n;
    return n;
}

int
queue_set_heartbeat(const struct queue_set *s, rconn_t *c, long ttl_ms, struct app_err *err)
{
    int rc = 0;

    for (unsigned i = 0; i < s->n; i++) {
        if (queue_heartbeat(s->q[i], c, ttl_ms, err) != 0) {
            rc = -1;
        }
    }
    return rc;
}

long
queue_set_recover(const struct queue_set *s, rconn_t *c, struct app_err *err)
{
    long moved = 0;
    int failed = 0;

    for (unsigned i = 0; i < s->n; i++) {
        long n = queue_recover(s->q[i], c, err);
        if (n < 0) {
            failed = 1;
        } else {
            moved += n;
        }
    }
    return failed ? -1 : moved;
}

int
queue_set_unregister(const struct queue_set *s, rconn_t *c, struct app_err *err)
{
    int rc = 0;

    for (unsigned i = 0; i < s->n; i++) {
        if (queue_unregister(s->q[i], c, err) != 0) {
            rc = -1;
        }
    }
    return rc;
}

/* The name of the i-th shard name this configuration does not use (see qset.h), i from 0;
 * malloc'd, or NULL when out of memory. */
static char *
stray_name(const char *queue_key, unsigned k, unsigned i)
{
    if (k > 1) {
        return i == 0 ? strdup(queue_key) : qshard_name(queue_key, QSHARD_MAX, k + i - 1);
    }
    return qshard_name(queue_key, QSHARD_MAX, i); /* any k > 1 names them so */
}

/* On a cluster the shards' keys are in different slots, so no pipeline: LLEN and SCARD of
 * each, in turn, routed by its name. Same contract as queue_set_strays(). */
static int
strays_one_by_one(const char *queue_key, unsigned k, unsigned n, rconn_t *c, long long *pending,
                  long long *consumers, char **first, struct app_err *err)
{
    for (unsigned i = 0; i < 2 * n; i++) {
        char *name = stray_name(queue_key, k, i / 2);
        redisReply *r = NULL;
        if (name == NULL) {
            free(*first);
            *first = NULL;
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        rconn_route(c, name);
        r = i % 2 == 0 ? rconn_command(c, err, "LLEN %s", name)
                       : rconn_command(c, err, "SCARD %s:consumers", name);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            if (r != NULL) {
                err_set(err, ERR_TRANSIENT, "redis LLEN: %s", r->str ? r->str : "unexpected reply");
            }
            freeReplyObject(r);
            free(name);
            free(*first);
            *first = NULL;
            return -1;
        }
        if (r->integer > 0) {
            *(i % 2 == 0 ? pending : consumers) += r->integer;
            if (*first == NULL) {
                *first = name;
                name = NULL;
            }
        }
        freeReplyObject(r);
        free(name);
    }
    return 0;
}

/* Raise the record of the most shards used (<queue_key>:shards) to k, in one script on its
 * one key. Returns the most recorded before, 1 when there was no record (a version before
 * shards, or none ever ran), QSHARD_MAX when the record is not a number from 1 to
 * QSHARD_MAX; or -1 with err. */
static long
raise_record(const char *queue_key, unsigned k, rconn_t *c, struct app_err *err)
{
    static const char script[] =
        "local v = redis.call('GET', KEYS[1])\n"
        "local n = tonumber(v)\n"
        "if v == false then n = 1\n"
        "elseif n == nil or n < 1 or n > tonumber(ARGV[2]) or n % 1 ~= 0 then n = "
        "tonumber(ARGV[2]) end\n"
        "if tonumber(ARGV[1]) > n then redis.call('SET', KEYS[1], ARGV[1]) end\n"
        "return n\n";
    size_t len = strlen(queue_key) + sizeof ":shards";
    char *key = malloc(len);
    redisReply *r;
    long most;

    if (key == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    snprintf(key, len, "%s:shards", queue_key);
    rconn_route(c, key);
    r = rconn_command(c, err, "EVAL %s 1 %s %u %d", script, key, k, QSHARD_MAX);
    free(key);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        if (r != NULL) {
            err_set(err, ERR_TRANSIENT, "redis EVAL: %s", r->str ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
        return -1;
    }
    most = (long)r->integer;
    freeReplyObject(r);
    return most;
}

int
queue_set_strays(const char *queue_key, unsigned k, rconn_t *c, long long *pending,
                 long long *consumers, char **first, struct app_err *err)
{
    long most = raise_record(queue_key, k, c, err);
    unsigned n;
    redisContext *ctx;
    int rc = 0;

    *pending = *consumers = 0;
    *first = NULL;
    if (most < 0) {
        return -1;
    }
    /* The names stray_name() gives: QUEUE_KEY itself and shards k to most - 1 when k > 1;
     * shards 0 to most - 1 when k is 1 and more were used. */
    n = k > 1 ? 1 + (most > (long)k ? (unsigned)most - k : 0) : most > 1 ? (unsigned)most : 0;
    if (n == 0) {
        return 0;
    }
    if (rconn_is_cluster(c)) {
        return strays_one_by_one(queue_key, k, n, c, pending, consumers, first, err);
    }
    ctx = rconn_context(c, err);
    if (ctx == NULL) {
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        char *name = stray_name(queue_key, k, i);
        int ok = name != NULL && redisAppendCommand(ctx, "LLEN %s", name) == REDIS_OK &&
                 redisAppendCommand(ctx, "SCARD %s:consumers", name) == REDIS_OK;
        free(name);
        if (!ok) {
            rconn_drop(c); /* out of memory: the context is unusable */
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    for (unsigned i = 0; i < 2 * n; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            free(*first);
            *first = NULL;
            return err_set(err, ERR_TRANSIENT, "redis LLEN: connection lost");
        }
        redisReply *r = reply;
        if (r->type != REDIS_REPLY_INTEGER) {
            rc =
                err_set(err, ERR_TRANSIENT, "redis LLEN: %s", r->str ? r->str : "unexpected reply");
        } else if (r->integer > 0) {
            *(i % 2 == 0 ? pending : consumers) += r->integer;
            if (*first == NULL) {
                *first = stray_name(queue_key, k, i / 2); /* NULL if out of memory: no name */
            }
        }
        freeReplyObject(r);
    }
    return rc;
}

void
queue_set_warn_strays(const char *queue_key, unsigned k, rconn_t *c)
{
    struct app_err err = {0};
    long long pending, consumers;
    char *first = NULL;

    if (queue_set_strays(queue_key, k, c, &pending, &consumers, &first, &err) != 0) {
        LOG_WARN("checking for shards of another QUEUE_SHARDS: %s", err.msg);
    } else if (pending > 0 || consumers > 0) {
        LOG_WARN("queue shards that QUEUE_SHARDS=%u does not drain hold %lld events and %lld "
                 "registered consumers (first: %s): they stay there until processors with the "
                 "QUEUE_SHARDS that wrote them drain them (docs/operations.md)",
                 k, pending, consumers, first != NULL ? first : "?");
    }
    free(first);
}
