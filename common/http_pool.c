/* http_pool.c - a listener's worker pool: idle keep-alive connections give way when it runs low. */
#include "http_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "ts.h"

/* How often the pool's thread looks for a shortfall no worker saw. */
#define HTTP_POOL_TICK_MS 50

enum slot_state {
    SLOT_FREE,    /* no connection */
    SLOT_IDLE,    /* a connection waiting for its next (or first) request */
    SLOT_REQUEST, /* a request being served */
    SLOT_CUT,     /* closed early: the worker will see the end of the stream */
};

/* One worker as the pool sees it. The worker changes state under lock whenever it leaves
 * SLOT_IDLE or gives its connection up, and a reaper shuts fd down only under lock with
 * state SLOT_IDLE, so fd is always the socket of the idle connection it was meant for. */
struct slot {
    pthread_mutex_t lock;
    atomic_int state;
    atomic_llong since_ms; /* SLOT_IDLE: monotonic start of the wait */
    atomic_int reused;     /* SLOT_IDLE: the connection has answered a request */
    int fd, peer_port;     /* under lock */
};

struct http_pool {
    int threads, reserve;
    struct slot *slots;
    atomic_int n_slots;
    pthread_mutex_t claim_lock, reap_lock;
    atomic_int open;    /* connections held by a worker */
    atomic_int cutting; /* of them, closed early and not yet given up */
    atomic_ullong closed, exhausted;
    pthread_t ticker;
    int ticking, stop; /* stop: under tick_lock */
    pthread_mutex_t tick_lock;
    pthread_cond_t tick;
};

static void *ticker_main(void *arg);

/* Per worker thread: its slot, and its pool's. */
static _Thread_local struct slot *self;
static _Thread_local http_pool_t *self_pool;

http_pool_t *
http_pool_new(int threads, struct app_err *err)
{
    http_pool_t *p = calloc(1, sizeof *p);

    if (p == NULL || (p->slots = calloc((size_t)threads, sizeof *p->slots)) == NULL) {
        free(p);
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    p->threads = threads;
    p->reserve = HTTP_POOL_RESERVE(threads);
    for (int i = 0; i < threads; i++) {
        pthread_mutex_init(&p->slots[i].lock, NULL);
        atomic_init(&p->slots[i].state, SLOT_FREE);
        atomic_init(&p->slots[i].since_ms, 0);
        atomic_init(&p->slots[i].reused, 0);
        p->slots[i].fd = -1;
    }
    atomic_init(&p->n_slots, 0);
    pthread_mutex_init(&p->claim_lock, NULL);
    pthread_mutex_init(&p->reap_lock, NULL);
    atomic_init(&p->open, 0);
    atomic_init(&p->cutting, 0);
    atomic_init(&p->closed, 0);
    atomic_init(&p->exhausted, 0);
    pthread_mutex_init(&p->tick_lock, NULL);
    pthread_cond_init(&p->tick, NULL);
    if (pthread_create(&p->ticker, NULL, ticker_main, p) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the HTTP pool's thread");
        http_pool_free(p);
        return NULL;
    }
    p->ticking = 1;
    return p;
}

void
http_pool_free(http_pool_t *p)
{
    if (p == NULL) {
        return;
    }
    if (p->ticking) {
        pthread_mutex_lock(&p->tick_lock);
        p->stop = 1;
        pthread_cond_signal(&p->tick);
        pthread_mutex_unlock(&p->tick_lock);
        pthread_join(p->ticker, NULL);
    }
    pthread_cond_destroy(&p->tick);
    pthread_mutex_destroy(&p->tick_lock);
    for (int i = 0; i < p->threads; i++) {
        pthread_mutex_destroy(&p->slots[i].lock);
    }
    pthread_mutex_destroy(&p->claim_lock);
    pthread_mutex_destroy(&p->reap_lock);
    free(p->slots);
    free(p);
}

/* This thread's slot in p, claimed on first use; NULL when p has none left (a thread
 * more than p was made for: not tracked). */
static struct slot *
my_slot(http_pool_t *p)
{
    if (self_pool != p) {
        pthread_mutex_lock(&p->claim_lock);
        int i = atomic_load(&p->n_slots);
        self = i < p->threads ? &p->slots[i] : NULL;
        atomic_store(&p->n_slots, i + (self != NULL));
        self_pool = p;
        pthread_mutex_unlock(&p->claim_lock);
    }
    return self;
}

static int
port_of_peer(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;

    if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0) {
        return -2;
    }
    if (sa.ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)&sa)->sin_port);
    }
    if (sa.ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)&sa)->sin6_port);
    }
    return -1;
}

/* Close s's connection if it is still the idle one seen at since with nothing to read;
 * returns whether it did. */
static int
cut(http_pool_t *p, struct slot *s, long long since)
{
    int done = 0, unread = 1;

    pthread_mutex_lock(&s->lock);
    if (atomic_load(&s->state) == SLOT_IDLE && atomic_load(&s->since_ms) == since && s->fd >= 0 &&
        ioctl(s->fd, FIONREAD, &unread) == 0 && unread == 0 &&
        port_of_peer(s->fd) == s->peer_port) {
        shutdown(s->fd, SHUT_RD);
        atomic_store(&s->state, SLOT_CUT);
        atomic_fetch_add(&p->cutting, 1);
        atomic_fetch_add_explicit(&p->closed, 1, memory_order_relaxed);
        done = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return done;
}

static int
free_workers(http_pool_t *p)
{
    return p->threads - (atomic_load(&p->open) - atomic_load(&p->cutting));
}

/* Bring the free workers back to the reserve, closing the longest-idle connections first.
 * fresh: this call follows a connection taken, which counts as exhausted when none is free
 * nor freed. A connection may be chosen once it is old enough: a keep-alive one after
 * HTTP_POOL_IDLE_MIN_MS, one waiting for its first request after HTTP_POOL_FIRST_MIN_MS;
 * with no worker free, any keep-alive one, and one waiting for its first request after
 * HTTP_POOL_URGENT_FIRST_MS (its request, sent as it connected, may be on its way: a browser
 * does not send it again on a new connection). */
static void
rebalance(http_pool_t *p, int fresh)
{
    if (free_workers(p) >= p->reserve) {
        return;
    }
    /* (Waiting for the lock, not skipping it: a reaper that has just finished would
     * otherwise leave the shortfall this thread saw to the next event, which may be the
     * keep-alive timeout.) */
    pthread_mutex_lock(&p->reap_lock);
    for (int tries = 0; tries < 8 && free_workers(p) < p->reserve; tries++) {
        long long now = ts_mono_ms(), best_since = 0;
        struct slot *best = NULL;
        int n = atomic_load(&p->n_slots), urgent = free_workers(p) <= 0;
        for (int i = 0; i < n; i++) {
            struct slot *s = &p->slots[i];
            long long since = atomic_load(&s->since_ms), min;
            if (atomic_load(&s->reused)) {
                min = urgent ? 0 : HTTP_POOL_IDLE_MIN_MS;
            } else {
                min = urgent ? HTTP_POOL_URGENT_FIRST_MS : HTTP_POOL_FIRST_MIN_MS;
            }
            if (atomic_load(&s->state) == SLOT_IDLE && now - since >= min &&
                (best == NULL || since < best_since)) {
                best = s;
                best_since = since;
            }
        }
        if (best == NULL) {
            break;
        }
        cut(p, best, best_since); /* (when it changed meanwhile, the next try looks again) */
    }
    if (fresh && free_workers(p) <= 0) {
        atomic_fetch_add_explicit(&p->exhausted, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->reap_lock);
}

/* The pool's own thread: every HTTP_POOL_TICK_MS, the shortfall that no worker's event
 * would see (idle connections that have aged past their bound since the last event). */
static void *
ticker_main(void *arg)
{
    http_pool_t *p = arg;

    pthread_mutex_lock(&p->tick_lock);
    while (!p->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HTTP_POOL_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->tick, &p->tick_lock, &until);
        if (!p->stop) {
            rebalance(p, 0);
        }
    }
    pthread_mutex_unlock(&p->tick_lock);
    return NULL;
}

void
http_pool_connection(http_pool_t *p, int fd, int peer_port)
{
    struct slot *s = my_slot(p);

    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->fd = fd;
    s->peer_port = peer_port;
    atomic_store(&s->reused, 0);
    atomic_store(&s->since_ms, ts_mono_ms());
    atomic_store(&s->state, SLOT_IDLE);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&p->open, 1);
    rebalance(p, 1);
}

void
http_pool_request(void)
{
    struct slot *s = self;

    if (s != NULL && atomic_load(&s->state) == SLOT_IDLE) {
        pthread_mutex_lock(&s->lock);
        if (atomic_load(&s->state) == SLOT_IDLE) {
            atomic_store(&s->state, SLOT_REQUEST);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

void
http_pool_request_end(void)
{
    struct slot *s = self;

    if (s != NULL && atomic_load(&s->state) == SLOT_REQUEST) {
        /* (From SLOT_REQUEST nothing but this thread changes the state.) */
        atomic_store(&s->reused, 1);
        atomic_store(&s->since_ms, ts_mono_ms());
        atomic_store(&s->state, SLOT_IDLE);
        rebalance(self_pool, 0);
    }
}

void
http_pool_connection_end(void)
{
    struct slot *s = self;
    int state;

    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    state = atomic_load(&s->state);
    atomic_store(&s->state, SLOT_FREE);
    s->fd = -1;
    pthread_mutex_unlock(&s->lock);
    if (state != SLOT_FREE) {
        atomic_fetch_sub(&self_pool->open, 1);
    }
    if (state == SLOT_CUT) {
        atomic_fetch_sub(&self_pool->cutting, 1);
    }
}

void
http_pool_stats(http_pool_t *p, struct http_pool_stats *st)
{
    int n = atomic_load(&p->n_slots);

    st->threads = p->threads;
    st->in_request = 0;
    st->idle = 0;
    for (int i = 0; i < n; i++) {
        int state = atomic_load(&p->slots[i].state);
        st->in_request += state == SLOT_REQUEST;
        st->idle += state == SLOT_IDLE || state == SLOT_CUT;
    }
    st->closed = atomic_load(&p->closed);
    st->exhausted = atomic_load(&p->exhausted);
}
