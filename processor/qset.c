/* qset.c - the processor's queue shards: one queue handle per shard, claims round them,
 * and the check for shards another QUEUE_SHARDS left behind (qset.h). */
#include "qset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qrecord.h"
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
        n = queue_claim(s->q[*shard], c, max, t + 1 == s->n ? wait : 0, s->visit_timeout_s, out,
                        err);
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

/* The names another QUEUE_SHARDS would use (see qset.h): for each k' recorded other than
 * k, in increasing order, queue_key itself when k' is 1, else the k' names of k' shards. */
struct strays {
    char **name;
    unsigned n;
};

static void
strays_free(struct strays *st)
{
    for (unsigned i = 0; i < st->n; i++) {
        free(st->name[i]);
    }
    free(st->name);
    st->name = NULL;
    st->n = 0;
}

/* Adds the names of the layouts in used[] (used[k'] set for each k' recorded) but k. */
static int
strays_of(const char *queue_key, unsigned k, const unsigned char *used, struct strays *st,
          struct app_err *err)
{
    unsigned total = 0;

    for (unsigned j = 1; j <= QSHARD_MAX; j++) {
        total += used[j] && j != k ? j : 0;
    }
    st->n = 0;
    st->name = total > 0 ? calloc(total, sizeof *st->name) : NULL;
    if (total > 0 && st->name == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (unsigned j = 1; j <= QSHARD_MAX; j++) {
        for (unsigned i = 0; used[j] && j != k && i < j; i++) {
            st->name[st->n] = qshard_name(queue_key, j, i);
            if (st->name[st->n] == NULL) {
                strays_free(st);
                return err_set(err, ERR_INTERNAL, "out of memory");
            }
            st->n++;
        }
    }
    return 0;
}

/* On a cluster the shards' keys are in different slots, so no pipeline: LLEN and SCARD of
 * each, in turn, routed by its name. Same contract as queue_set_strays(). */
static int
strays_one_by_one(const struct strays *st, rconn_t *c, long long *pending, long long *consumers,
                  char **first, struct app_err *err)
{
    for (unsigned i = 0; i < 2 * st->n; i++) {
        const char *name = st->name[i / 2];
        redisReply *r;
        rconn_route(c, name);
        r = i % 2 == 0 ? rconn_command(c, err, "LLEN %s", name)
                       : rconn_command(c, err, "SCARD %s:consumers", name);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            if (r != NULL) {
                err_set(err, ERR_TRANSIENT, "redis LLEN: %s", r->str ? r->str : "unexpected reply");
            }
            freeReplyObject(r);
            free(*first);
            *first = NULL;
            return -1;
        }
        if (r->integer > 0) {
            *(i % 2 == 0 ? pending : consumers) += r->integer;
            if (*first == NULL) {
                *first = strdup(name); /* NULL if out of memory: no name */
            }
        }
        freeReplyObject(r);
    }
    return 0;
}

/* What the layouts in used[] other than k hold (queue_set_strays()'s contract). */
static int
strays_read(const char *queue_key, unsigned k, const unsigned char *used, rconn_t *c,
            long long *pending, long long *consumers, char **first, struct app_err *err)
{
    struct strays st = {NULL, 0};
    redisContext *ctx;
    int rc = 0;

    if (strays_of(queue_key, k, used, &st, err) != 0) {
        return -1;
    }
    if (st.n == 0) {
        return 0;
    }
    if (rconn_is_cluster(c)) {
        rc = strays_one_by_one(&st, c, pending, consumers, first, err);
        strays_free(&st);
        return rc;
    }
    ctx = rconn_context(c, err);
    if (ctx == NULL) {
        strays_free(&st);
        return -1;
    }
    for (unsigned i = 0; i < st.n; i++) {
        if (redisAppendCommand(ctx, "LLEN %s", st.name[i]) != REDIS_OK ||
            redisAppendCommand(ctx, "SCARD %s:consumers", st.name[i]) != REDIS_OK) {
            rconn_drop(c); /* out of memory: the context is unusable */
            strays_free(&st);
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    for (unsigned i = 0; i < 2 * st.n; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            free(*first);
            *first = NULL;
            strays_free(&st);
            return err_set(err, ERR_TRANSIENT, "redis LLEN: connection lost");
        }
        redisReply *r = reply;
        if (r->type != REDIS_REPLY_INTEGER) {
            rc =
                err_set(err, ERR_TRANSIENT, "redis LLEN: %s", r->str ? r->str : "unexpected reply");
        } else if (r->integer > 0) {
            *(i % 2 == 0 ? pending : consumers) += r->integer;
            if (*first == NULL) {
                *first = strdup(st.name[i / 2]); /* NULL if out of memory: no name */
            }
        }
        freeReplyObject(r);
    }
    strays_free(&st);
    return rc;
}

int
queue_set_strays(const char *queue_key, unsigned k, rconn_t *c, long long *pending,
                 long long *consumers, char **first, struct app_err *err)
{
    unsigned char used[QSHARD_MAX + 1];

    *pending = *consumers = 0;
    *first = NULL;
    if (qrecord_add(queue_key, k, c, used, err) != 0) {
        return -1;
    }
    return strays_read(queue_key, k, used, c, pending, consumers, first, err);
}

int
queue_set_stray_events(const char *queue_key, unsigned k, rconn_t *c, long long *pending,
                       struct app_err *err)
{
    unsigned char used[QSHARD_MAX + 1];
    long long consumers = 0;
    char *first = NULL;
    int rc;

    *pending = 0;
    if (qrecord_read(queue_key, c, used, err) != 0) {
        return -1;
    }
    rc = strays_read(queue_key, k, used, c, pending, &consumers, &first, err);
    free(first);
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
