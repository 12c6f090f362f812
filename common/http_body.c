/* http_body.c - request bodies read within their deadline; the watchdog that ends a late read. */
#include "http_body.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "civet_internals.h"
#include "framing.h"
#include "http_reply.h"
#include "log.h"
#include "ts.h"

/* How often the watchdog looks for body reads past their deadline. */
#define HTTP_WATCHDOG_MS 100

/* A worker thread as the watchdog sees it. Past the deadline of the body read in
 * progress, the watchdog shuts down the read side of the connection's socket: every
 * read of it, civetweb's poll() and recv() whatever their version, then ends at once
 * (end of file) instead of waiting for the client. It does so only while holding lock
 * with deadline set, and the thread clears deadline under the same lock before its
 * connection can close, so fd is always the socket of the read it was meant for. */
struct reader {
    pthread_mutex_t lock;
    int64_t deadline_ms; /* monotonic; 0 while not reading a body */
    int fd;              /* the connection's socket, -1 when unknown */
    int cut;             /* the watchdog shut its read side down */
};

struct http_watchdog {
    /* Readers of the server's workers, registered on their first body read. */
    struct reader **readers;
    atomic_size_t n_readers;
    size_t readers_cap;
    pthread_t thread;
    int started, stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

/* Per worker thread (each connection is served by one thread from accept to close):
 * when this thread began waiting for its current request, whether that request is not
 * the connection's first, when its body must have arrived and the timeout that deadline
 * was counted with, its connection's socket, and its reader. */
static _Thread_local int64_t wait_start_ms;
static _Thread_local int wait_reused;
static _Thread_local int64_t body_deadline_ms;
static _Thread_local long body_timeout_ms;
static _Thread_local int self_fd = -1;
static _Thread_local http_watchdog_t *self_watchdog; /* the current request's */
static _Thread_local struct reader self_reader;
static _Thread_local const http_watchdog_t *self_registered;

/* This thread's reader, registered with w on first use; NULL when w's table is full
 * (then reads are bounded by civetweb's per-read timeout only). */
static struct reader *
my_reader(http_watchdog_t *w)
{
    size_t i;

    if (self_registered == w) {
        return &self_reader;
    }
    pthread_mutex_lock(&w->lock);
    i = atomic_load(&w->n_readers);
    if (i < w->readers_cap) {
        pthread_mutex_init(&self_reader.lock, NULL);
        self_reader.deadline_ms = 0;
        self_reader.fd = -1;
        self_reader.cut = 0;
        w->readers[i] = &self_reader;
        atomic_store(&w->n_readers, i + 1);
        self_registered = w;
    }
    pthread_mutex_unlock(&w->lock);
    return self_registered == w ? &self_reader : NULL;
}

/* Arm r for a read of this thread's connection until deadline_ms. */
static void
reader_arm(struct reader *r, int64_t deadline_ms)
{
    if (r != NULL) {
        pthread_mutex_lock(&r->lock);
        r->deadline_ms = deadline_ms;
        r->fd = self_fd;
        r->cut = 0;
        pthread_mutex_unlock(&r->lock);
    }
}

/* Disarm r; returns whether the watchdog shut the connection's read side down. */
static int
reader_disarm(struct reader *r)
{
    int cut = 0;

    if (r != NULL) {
        pthread_mutex_lock(&r->lock);
        r->deadline_ms = 0;
        r->fd = -1;
        cut = r->cut;
        pthread_mutex_unlock(&r->lock);
    }
    return cut;
}

/* End every body read past its deadline, until the watchdog stops: shut down the read
 * side of its connection (see struct reader). */
static void *
watchdog_main(void *arg)
{
    http_watchdog_t *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HTTP_WATCHDOG_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
        int64_t now = ts_mono_ms();
        size_t n = atomic_load(&w->n_readers);
        for (size_t i = 0; i < n && !w->stop; i++) {
            struct reader *r = w->readers[i];
            pthread_mutex_lock(&r->lock);
            if (r->deadline_ms != 0 && now >= r->deadline_ms && r->fd >= 0 && !r->cut) {
                shutdown(r->fd, SHUT_RD);
                r->cut = 1;
            }
            pthread_mutex_unlock(&r->lock);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

http_watchdog_t *
http_watchdog_new(size_t max_readers, struct app_err *err)
{
    http_watchdog_t *w = calloc(1, sizeof *w);

    if (w == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    atomic_init(&w->n_readers, 0);
    w->readers_cap = max_readers;
    w->readers = calloc(max_readers, sizeof *w->readers);
    if (w->readers == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        http_watchdog_free(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the HTTP watchdog thread");
        http_watchdog_free(w);
        return NULL;
    }
    w->started = 1;
    return w;
}

void
http_watchdog_stop(http_watchdog_t *w)
{
    if (w == NULL || !w->started) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->started = 0;
}

void
http_watchdog_free(http_watchdog_t *w)
{
    if (w == NULL) {
        return;
    }
    http_watchdog_stop(w);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->readers);
    free(w);
}

int
http_body_connection(const struct mg_connection *conn, int *peer_port)
{
    static atomic_int warned;

    wait_start_ms = ts_mono_ms();
    wait_reused = 0;
    *peer_port = -1;
    self_fd = civet_internals_socket(conn, peer_port);
    if (self_fd < 0 && !atomic_exchange(&warned, 1)) {
        LOG_ERROR("http: civetweb's connection is not as checked (civet_internals.c): bodies "
                  "are bounded by civetweb's per-read timeout only, and idle connections "
                  "are not closed early when the workers run low");
    }
    return self_fd;
}

void
http_body_request_end(void)
{
    wait_start_ms = ts_mono_ms();
    wait_reused = 1;
}

int
http_body_headers_late(long first_ms, long next_ms)
{
    return ts_mono_ms() >= wait_start_ms + (wait_reused ? next_ms : first_ms);
}

void
http_body_begin(http_watchdog_t *w, long timeout_ms)
{
    self_watchdog = w;
    body_timeout_ms = timeout_ms;
    body_deadline_ms = ts_mono_ms() + timeout_ms;
}

/* Bytes of an oversized body read and thrown away before answering 413: a server that
 * closes with unread data makes the kernel reset the connection, and the client then
 * sees a failed send instead of the 413. Beyond this, the reset is the lesser evil. */
#define HTTP_DISCARD_MAX (4 * 1024 * 1024)

/* Read the body into b (cap bytes; NULL: read and drop), at most limit bytes, until it
 * ends or the deadline passes. Returns the bytes read, or -1 with *why 400 (read
 * failed), 408 (deadline) or 413 (more than limit). */
static long
read_until(struct mg_connection *conn, struct reader *rd, int64_t deadline, char **b, size_t *cap,
           size_t limit, int *why)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char sink[16384];
    size_t n = 0;

    for (;;) {
        char *dst = *b ? *b + n : sink;
        size_t room = *b ? *cap - n : sizeof sink;
        int r;

        if (ri->content_length >= 0 && n >= (size_t)ri->content_length) {
            return (long)n; /* all of it: no read that could block */
        }
        if (ts_mono_ms() >= deadline) {
            *why = 408;
            return -1;
        }
        reader_arm(rd, deadline);
        r = framing_read(conn, dst, room);
        if (reader_disarm(rd)) {
            http_reply_close_after(conn); /* its socket reads nothing more */
        }
        if (r == 0) {
            /* The end of the body, or civetweb's own read timeout, which returns 0 too
             * and only ever ends past the deadline. */
            if (ts_mono_ms() >= deadline) {
                *why = 408;
                return -1;
            }
            return (long)n;
        }
        if (r < 0) {
            *why = ts_mono_ms() >= deadline ? 408 : 400;
            return -1;
        }
        n += (size_t)r;
        if (n > limit) {
            *why = 413;
            return -1;
        }
        if (*b != NULL && n == *cap) {
            /* Only reached for a body of unknown length: grow up to limit + 1. */
            size_t ncap = *cap * 2 > limit + 1 ? limit + 1 : *cap * 2;
            char *nb = realloc(*b, ncap + 1);
            if (nb == NULL) {
                *why = 400;
                return -1;
            }
            *b = nb;
            *cap = ncap;
        }
    }
}

int
http_read_body(struct mg_connection *conn, size_t max, char **buf, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *expect = mg_get_header(conn, "Expect");
    int64_t deadline = body_deadline_ms;
    struct reader *rd = my_reader(self_watchdog);
    size_t cap = max + 1;
    char *b = NULL, *none = NULL;
    int why = 0;
    long n;

    *buf = NULL;
    *len = 0;
    if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
        return http_reply_refuse(conn, 417, "Unsupported Expect header: only 100-continue is");
    }
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max) {
        if (expect != NULL) {
            /* The client waits for our word before it sends: refuse now, send nothing. */
            return http_reply_refuse(conn, 413, "Request body exceeds %zu bytes", max);
        }
        why = 413;
        goto drain;
    }
    if (expect != NULL && ri->http_version != NULL && strcmp(ri->http_version, "1.1") == 0) {
        static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
        mg_write(conn, go_on, sizeof go_on - 1);
    }
    if (ri->content_length >= 0 && (size_t)ri->content_length < max) {
        cap = (size_t)ri->content_length + 1;
    }
    if ((b = malloc(cap + 1)) == NULL) {
        return http_reply_refuse(conn, 500, "Internal error");
    }
    n = read_until(conn, rd, deadline, &b, &cap, max, &why);
    if (n >= 0) {
        b[n] = '\0';
        *buf = b;
        *len = (size_t)n;
        return 0;
    }
    free(b);
drain:
    if (why == 413) {
        int drained = 0;
        if (read_until(conn, rd, deadline, &none, &cap, HTTP_DISCARD_MAX, &drained) < 0) {
            http_reply_close_after(conn);
        }
        return http_send_error(conn, 413, "Request body exceeds %zu bytes", max);
    }
    if (why == 408) {
        return http_reply_refuse(conn, 408, "Request not received within %ld ms", body_timeout_ms);
    }
    return http_reply_refuse(conn, 400, "Could not read the request body");
}

void
http_body_finish(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    size_t cap = 0;
    char *none = NULL;
    int why = 0;

    if (ri->content_length == 0) {
        return;
    }
    if (read_until(conn, my_reader(self_watchdog), body_deadline_ms, &none, &cap, HTTP_DISCARD_MAX,
                   &why) < 0) {
        http_reply_close_after(conn);
    }
}
