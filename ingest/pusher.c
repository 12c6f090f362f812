/* pusher.c - group commit onto a Redis list: concurrent callers share one LPUSH. */
#include "pusher.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

/* One caller of pusher_push(), on its own stack until it is woken. */
struct waiter {
    const char *const *payloads;
    const size_t *lens;
    size_t n, bytes;
    sem_t done;
    int lead; /* woken to send the next batch rather than with an outcome */
    int rc;
    struct app_err err;
    struct waiter *next;
};

struct pusher {
    pthread_mutex_t lock;
    struct waiter *head, *tail; /* queued, not yet sent */
    int leading;                /* a caller is sending a batch: the others queue */
    rconn_t *conn;              /* used by the leader only */
    char *key;
    struct metrics_histogram *batch_sizes;
    long wait_replicas, wait_timeout_ms; /* pusher_set_wait() */
    atomic_ullong *wait_failures;
    /* The leader's argument vectors, grown as needed. */
    const char **argv;
    size_t *argvlen;
    size_t argcap;
};

/* Take queued waiters, oldest first, while they fit in one command (always at least
 * one). Called with the lock held; returns the list and its payload count in *n. */
static struct waiter *
take_batch(pusher_t *p, size_t *n)
{
    struct waiter *first = p->head, *last = p->head;
    size_t values = last->n, bytes = last->bytes;

    while (last->next != NULL && values + last->next->n <= PUSHER_MAX_VALUES &&
           bytes + last->next->bytes <= PUSHER_MAX_BYTES) {
        last = last->next;
        values += last->n;
        bytes += last->bytes;
    }
    p->head = last->next;
    if (p->head == NULL) {
        p->tail = NULL;
    }
    last->next = NULL;
    *n = values;
    return first;
}

static int
reserve(pusher_t *p, size_t argc)
{
    const char **argv;
    size_t *lens;

    if (argc <= p->argcap) {
        return 0;
    }
    argv = realloc(p->argv, argc * sizeof *argv);
    if (argv == NULL) {
        return -1;
    }
    p->argv = argv;
    lens = realloc(p->argvlen, argc * sizeof *lens);
    if (lens == NULL) {
        return -1;
    }
    p->argvlen = lens;
    p->argcap = argc;
    return 0;
}

int
pusher_wait_outcome(const redisReply *r, long replicas, long timeout_ms, struct app_err *err)
{
    if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= replicas) {
        return 0;
    }
    if (r == NULL) {
        struct app_err why = *err; /* not formatted into itself */
        err_set(err, ERR_UNKNOWN, "redis WAIT: %s", why.msg);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        err_set(err, ERR_UNKNOWN, "redis WAIT: %lld of %ld replicas acknowledged within %ld ms",
                r->integer, replicas, timeout_ms);
    } else {
        err_set(err, ERR_UNKNOWN, "redis WAIT: %s", r->str != NULL ? r->str : "unexpected reply");
    }
    return -1;
}

/* WAIT for the pusher's replicas after an acknowledged LPUSH: 0, or -1 with err (counted). */
static int
wait_replicas(pusher_t *p, struct app_err *err)
{
    /* On the connection the LPUSH was answered on (on a cluster: to the shard's master),
     * as WAIT waits for that connection's writes. */
    rconn_t *same = rconn_last(p->conn);
    redisReply *r = NULL;
    int rc;

    if (same != NULL) {
        r = rconn_command_blocking(same, p->wait_timeout_ms, err, "WAIT %ld %ld", p->wait_replicas,
                                   p->wait_timeout_ms);
    } else {
        err_set(err, ERR_UNKNOWN, "the connection of the push is gone");
    }
    rc = pusher_wait_outcome(r, p->wait_replicas, p->wait_timeout_ms, err);

    freeReplyObject(r);
    if (rc != 0 && p->wait_failures != NULL) {
        atomic_fetch_add(p->wait_failures, 1);
    }
    return rc;
}

/* Send one LPUSH for the waiters of batch, then wake each with the outcome; self (the
 * leader, in the batch) is given its outcome without a wake-up. */
static void
flush(pusher_t *p, struct waiter *batch, size_t n, struct waiter *self)
{
    struct app_err err = {0};
    size_t argc = 2;
    redisReply *r = NULL;
    int rc = -1;

    if (reserve(p, n + 2) != 0) {
        err_set(&err, ERR_TRANSIENT, "out of memory");
        goto done;
    }
    p->argv[0] = "LPUSH";
    p->argvlen[0] = 5;
    p->argv[1] = p->key;
    p->argvlen[1] = strlen(p->key);
    for (struct waiter *w = batch; w != NULL; w = w->next) {
        memcpy(p->argv + argc, w->payloads, w->n * sizeof *p->argv);
        memcpy(p->argvlen + argc, w->lens, w->n * sizeof *p->argvlen);
        argc += w->n;
    }
    if (p->batch_sizes != NULL) {
        metrics_observe(p->batch_sizes, (double)n);
    }
    r = rconn_command_argv(p->conn, &err, (int)argc, p->argv, p->argvlen);
    if (r == NULL) {
        goto done; /* err filled: ERR_TRANSIENT or ERR_UNKNOWN */
    }
    if (r->type == REDIS_REPLY_ERROR) {
        err_set(&err, ERR_TRANSIENT, "redis LPUSH: %s", r->str);
    } else {
        rc = 0;
    }
    freeReplyObject(r);
    if (rc == 0 && p->wait_replicas > 0) {
        rc = wait_replicas(p, &err);
    }
done:
    while (batch != NULL) {
        struct waiter *next = batch->next; /* the waiter's memory is gone once woken */
        batch->rc = rc;
        batch->err = err;
        if (batch != self) {
            sem_post(&batch->done);
        }
        batch = next;
    }
}

pusher_t *
pusher_new(const struct rconn_opts *opts, const char *key, struct metrics_histogram *batch_sizes,
           struct app_err *err)
{
    pusher_t *p = calloc(1, sizeof *p);

    if (p == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->batch_sizes = batch_sizes;
    p->conn = rconn_new(opts);
    p->key = strdup(key);
    if (p->conn == NULL || p->key == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    rconn_route(p->conn, p->key); /* on a cluster: the master of the shard's slot */
    return p;
fail:
    rconn_free(p->conn);
    free(p->key);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

void
pusher_set_wait(pusher_t *p, long replicas, long timeout_ms, atomic_ullong *failures)
{
    p->wait_replicas = replicas;
    p->wait_timeout_ms = timeout_ms;
    p->wait_failures = failures;
}

void
pusher_free(pusher_t *p)
{
    if (p == NULL) {
        return;
    }
    rconn_free(p->conn);
    free(p->argv);
    free(p->argvlen);
    free(p->key);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int
pusher_push(pusher_t *p, const char *const *payloads, const size_t *lens, size_t n,
            struct app_err *err)
{
    struct waiter w = {.payloads = payloads, .lens = lens, .n = n};
    struct waiter *batch, *next;
    size_t values;

    for (size_t i = 0; i < n; i++) {
        w.bytes += lens[i];
    }
    sem_init(&w.done, 0, 0);
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL) {
        p->tail->next = &w;
    } else {
        p->head = &w;
    }
    p->tail = &w;
    w.lead = !p->leading;
    p->leading = 1;
    pthread_mutex_unlock(&p->lock);
    if (!w.lead) {
        while (sem_wait(&w.done) != 0) {
            /* EINTR: a signal arrived; keep waiting, the leader always posts. */
        }
        if (!w.lead) {
            goto done; /* our payloads went out in a leader's batch */
        }
    }
    /* Lead: send everything queued (our own payloads first), then pass the lead to
     * the oldest caller that queued meanwhile, who sends the next batch. */
    pthread_mutex_lock(&p->lock);
    batch = take_batch(p, &values);
    pthread_mutex_unlock(&p->lock);
    flush(p, batch, values, &w);
    pthread_mutex_lock(&p->lock);
    next = p->head;
    if (next != NULL) {
        next->lead = 1;
    } else {
        p->leading = 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (next != NULL) {
        sem_post(&next->done);
    }
done:
    sem_destroy(&w.done);
    if (w.rc != 0 && err != NULL) {
        *err = w.err;
    }
    return w.rc;
}
