/* http_pool.h - a listener's worker pool: idle keep-alive connections give way when it runs low. */
#ifndef COMMON_HTTP_POOL_H
#define COMMON_HTTP_POOL_H

#include <stdint.h>

#include "err.h"

/* civetweb gives each open connection a worker thread until it closes, an idle keep-alive
 * connection included, so a few hundred open browser tabs would hold every worker and
 * leave new connections waiting in the accept queue for seconds. The pool keeps a reserve
 * of free workers instead: whenever fewer than HTTP_POOL_RESERVE(threads) are free, the
 * worker that sees it closes the longest-idle connections first until the reserve is back,
 * and counts each one (the bounds on a connection's idle time: rebalance() in http_pool.c).
 * It looks whenever a worker takes a connection or answers a request, and every 50 ms on a
 * thread of its own (a connection idle for long enough since). A closed idle
 * connection costs a browser one reconnection; a wait in the queue cost it seconds. While
 * the pool has room, idle connections live out their keep-alive timeout as before.
 *
 * A connection is closed by shutting down the read side of its socket, as the body
 * watchdog does (http_body.c): civetweb's wait for the next request then ends at once, and
 * it closes the connection. A request already in the socket's buffer is still read and
 * answered; only one that arrives after the worker read the end of the stream meets a
 * closed connection, which browsers send again on a new one (they do so for any request
 * that fails on a reused connection before its answer begins). A connection with bytes
 * waiting to be read is never chosen. */

/* The free workers the pool keeps, of threads: an eighth, at least 1 and at most 64. */
#define HTTP_POOL_RESERVE(threads) ((threads) / 8 < 1 ? 1 : (threads) / 8 > 64 ? 64 : (threads) / 8)
#define HTTP_POOL_IDLE_MIN_MS 20
#define HTTP_POOL_FIRST_MIN_MS 1000
#define HTTP_POOL_URGENT_FIRST_MS 100

typedef struct http_pool http_pool_t;

/* What a pool holds now, and what it did since it started. */
struct http_pool_stats {
    int threads;        /* its workers */
    int in_request;     /* workers serving a request */
    int idle;           /* workers holding a connection that waits for its next request */
    uint64_t closed;    /* idle connections closed early to free a worker */
    uint64_t exhausted; /* connections taken that left no worker free nor any to free */
};

/* A pool for a listener of threads workers, and its thread. Returns NULL with err filled
 * when out of memory or when its thread cannot start. Free it with http_pool_free() (which
 * stops its thread) once its workers are stopped; NULL is a no-op. */
http_pool_t *http_pool_new(int threads, struct app_err *err);
void http_pool_free(http_pool_t *p);

/* Called on each worker thread, which serves one connection at a time, of one pool only:
 * it took a new connection (fd: its socket, or -1 when unknown, which is then never closed
 * early; peer_port: its peer's port); a request's headers arrived; the request was answered
 * and the connection waits for the next; the connection is closing (before its socket is
 * closed). */
void http_pool_connection(http_pool_t *p, int fd, int peer_port);
void http_pool_request(void);
void http_pool_request_end(void);
void http_pool_connection_end(void);

/* A consistent enough view for /metrics: each worker's state is read once. */
void http_pool_stats(http_pool_t *p, struct http_pool_stats *s);

#endif
