/* http_body.h - a request's body, read within its deadline; the watchdog that ends a late read. */
#ifndef COMMON_HTTP_BODY_H
#define COMMON_HTTP_BODY_H

#include <civetweb.h>
#include <stddef.h>

#include "err.h"

/* Read the whole request body, at most max bytes. Returns 0 and sets *buf
 * (malloc'd, NUL-terminated, caller frees) and *len. Otherwise it has sent the error
 * reply and returns its status: 413 "Request body exceeds <max> bytes" (the body is
 * read and dropped, up to 4 MiB, so that the client gets the answer rather than a reset
 * connection; with `Expect: 100-continue` it is refused before it is sent); 408 when
 * the body did not arrive within the request timeout of the headers' end; 417 for an
 * Expect other than 100-continue; 400 when the body could not be read (client gone, bad
 * chunking). After any of them but a drained 413 the connection is closed. A client
 * that sent `Expect: 100-continue` is told to go on before the body is read. */
int http_read_body(struct mg_connection *conn, size_t max, char **buf, size_t *len);

/* --- for the server (http.c) only ---------------------------------------------------- */

/* The deadlines are kept per worker thread (civetweb serves each connection with one
 * thread from accept to close, one request at a time): when the thread began waiting for
 * the request's headers, and when they had all arrived. A body read past its deadline is
 * ended by the watchdog, which shuts the read side of the connection's socket down. */

/* The watchdog of one server: a thread, and a table of the workers that read bodies. */
typedef struct http_watchdog http_watchdog_t;

/* Start a watchdog for up to max_readers worker threads (those past it read bodies
 * bounded by civetweb's per-read timeout only). Returns NULL with err filled when out of
 * memory or when its thread cannot start. */
http_watchdog_t *http_watchdog_new(size_t max_readers, struct app_err *err);

/* Stop the watchdog's thread. Call it before stopping the workers: their readers live in
 * their thread-local storage, which goes with them. w stays usable by body reads (which
 * nothing ends past their deadline any more) until http_watchdog_free(). NULL is a no-op. */
void http_watchdog_stop(http_watchdog_t *w);

/* Free a stopped watchdog, once no worker can read a body. NULL is a no-op. */
void http_watchdog_free(http_watchdog_t *w);

/* A new connection is served by this thread: the wait for its first request's headers
 * begins, and its socket is looked up for the watchdog. Returns the socket (-1 when it
 * cannot be found) and sets *peer_port to its peer's port. */
int http_body_connection(const struct mg_connection *conn, int *peer_port);

/* The request on this thread is done: the wait for the next one's headers begins (on a
 * kept-alive connection). */
void http_body_request_end(void);

/* Whether the headers of the request this thread waits for are late: first_ms after its
 * connection began, or next_ms after the previous request of a kept-alive connection
 * (idle time included), as civetweb bounds them. */
int http_body_headers_late(long first_ms, long next_ms);

/* The headers of the request on this thread have all arrived: its body must arrive
 * within timeout_ms from now (counted from here, not from the end of the previous
 * request, so that the idle time of a kept-alive connection is not taken from the
 * request), its reads watched by w. */
void http_body_begin(http_watchdog_t *w, long timeout_ms);

/* Read and drop what the handler left of the body (nothing, usually: one call that
 * returns at once), within the request's deadline; close the connection when that
 * fails, rather than let civetweb read it with no bound on the time. */
void http_body_finish(struct mg_connection *conn);

#endif
