/* http.h - a small HTTP server over civetweb: route table, capped body reads, JSON replies. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <civetweb.h>
#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "metrics.h"

/* A handler sends a complete reply and returns its HTTP status (civetweb's
 * contract). ctx is the pointer given to http_start(). */
typedef int (*http_handler_fn)(struct mg_connection *conn, void *ctx);

/* A route's flags. HTTP_ROUTE_PROBE: served on the probe listener too (see http_opts).
 * HTTP_ROUTE_PUBLIC: open to every client; http.c does not look at it, a program's
 * filter does (http_route_flags()), e.g. to serve it without credentials. */
#define HTTP_ROUTE_PROBE 1
#define HTTP_ROUTE_PUBLIC 2

/* One row of a route table: exact path and method. A path with routes for
 * other methods only answers 405 (with Allow); an unknown path answers 404. */
struct http_route {
    const char *method;
    const char *path;
    http_handler_fn handler;
    int flags; /* HTTP_ROUTE_* */
};

/* A filter runs for each request of the main listener (not the probe listener) after
 * the framing checks and before the request is routed, with the ctx given to
 * http_start(). It returns 0 to let the request be routed, or the status of a reply it
 * sent itself (the request goes no further). It may attach headers to every reply of
 * the request with http_add_reply_headers(), whatever route or error answers it. */
typedef int (*http_filter_fn)(struct mg_connection *conn, void *ctx);

/* The flags of the route that serves the request on conn (HEAD is served by GET's), or 0
 * when no route does (the request gets 404 or 405). */
int http_route_flags(const struct mg_connection *conn);

/* How a server listens and how long it waits for its clients.
 *
 * civetweb gives each open connection one worker thread for as long as it stays
 * open, so a client that sends slowly, or keeps an idle connection, holds a worker.
 * The bounds here keep that short: a request's headers must arrive within
 * request_timeout_ms of the connection's start (keep_alive_ms of the previous reply on
 * a kept-alive connection, idle time included: civetweb's bounds), and its body within
 * request_timeout_ms of the end of its headers (else 408, or a closed connection if
 * nothing came); an idle keep-alive connection is closed after keep_alive_ms. The probe listener,
 * when there is one, is a second listener with its own HTTP_PROBE_THREADS workers serving only the
 * probe routes, with HTTP_PROBE_TIMEOUT_MS and no keep-alive, so probes and /metrics are answered
 * however many clients hold the main workers. */
struct http_opts {
    const char *bind_addr;
    int port;                /* 0: any free port (see http_port()) */
    int threads;             /* worker threads of the main listener */
    long request_timeout_ms; /* the headers, then the body, must arrive within this */
    long keep_alive_ms;      /* idle keep-alive limit; 0: one request per connection */
    int probe_port;          /* the probe listener's port, 0: any free port, -1: none */
    http_filter_fn filter;   /* NULL: every request is routed */
};

#define HTTP_PROBE_THREADS 32
#define HTTP_PROBE_TIMEOUT_MS 2000

typedef struct http_server http_server_t;

/* Start listening as opts says, serving the route table (which must outlive the
 * server). Returns NULL with err filled when a port cannot be bound. */
http_server_t *http_start(const struct http_opts *opts, const struct http_route *routes,
                          size_t n_routes, void *ctx, struct app_err *err);

/* The ports actually listened on; http_probe_port() is -1 without a probe listener. */
int http_port(const http_server_t *srv);
int http_probe_port(const http_server_t *srv);

/* Stop accepting, wait for handlers in progress, free everything. NULL is a no-op. */
void http_stop(http_server_t *srv);

/* The most bytes of header lines http_add_reply_headers() keeps for one request. */
#define HTTP_REPLY_HEADERS_MAX 1024

/* Attach header lines (each ending in CRLF, e.g. "Vary: Origin\r\n") to every reply
 * sent for the request on conn from now on: the handler's, and any error reply (413,
 * 408, 500...) sent for it. They add to those attached before, and are dropped when the
 * request is done. Returns 0, or -1 (nothing attached) when the request's lines would
 * exceed HTTP_REPLY_HEADERS_MAX bytes. */
int http_add_reply_headers(struct mg_connection *conn, const char *lines);

/* Send a reply without a body (for 204 and 304, which may have none), with more header
 * lines (each ending in CRLF) or NULL. Returns status. */
int http_send_empty(struct mg_connection *conn, int status, const char *headers);

/* Send body as a JSON reply with the given status; takes ownership of body
 * (which may be NULL after a failed json_pack: that sends a 500). Returns status. */
int http_send_json(struct mg_connection *conn, int status, json_t *body);

/* Send {"status":"error","message":"..."} with the given status; bytes of the
 * message that are not UTF-8 are sent as '?'. Returns status. A reply to HEAD
 * carries the headers only. */
int http_send_error(struct mg_connection *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As http_send_error(), with more header lines (each ending in CRLF), e.g.
 * "Retry-After: 1\r\n". Returns status. */
int http_send_error_headers(struct mg_connection *conn, int status, const char *headers,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Send a non-JSON body (e.g. METRICS_CONTENT_TYPE) with the given status. Returns status. */
int http_send_text(struct mg_connection *conn, int status, const char *content_type,
                   const char *body, size_t len);

/* A fixed body served with a validator and a cache lifetime (ingest's /tracker.js). */
struct http_asset {
    const char *content_type;
    const char *body;
    size_t len;
    const char *etag;          /* a strong entity tag, quoted: "\"3f2a9c\"" */
    const char *cache_control; /* e.g. "public, max-age=3600" */
};

/* Send the asset: 304 Not Modified, with no body, when the request's If-None-Match
 * matches its ETag (http_etag_match()), else 200 with the body (the head only for
 * HEAD). Both carry ETag and Cache-Control. Returns the status sent. */
int http_send_asset(struct mg_connection *conn, const struct http_asset *a);

/* Whether an If-None-Match value matches etag (a quoted strong tag): the value is "*"
 * or a comma-separated list of entity tags, compared weakly (W/"x" matches "x") as RFC
 * 9110, 13.1.2 says. NULL, an empty list or a malformed one matches nothing past the
 * tags read before the fault. */
int http_etag_match(const char *if_none_match, const char *etag);

/* Send a finished metrics text (METRICS_CONTENT_TYPE), or 500 when building it ran out
 * of memory. The caller still frees b. Returns the status sent. */
int http_send_metrics(struct mg_connection *conn, const struct metrics_buf *b);

/* Append the server's own metrics for the server conn belongs to:
 * analytics_http_requests_total{route,status} and
 * analytics_http_request_duration_seconds{route} (route is the table's path, or
 * "other" for unknown paths). */
void http_metrics_render(const struct mg_connection *conn, struct metrics_buf *b);

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

/* Find parameter `name` in a query string (`a=1&b=x%20y`, no leading '?'),
 * percent-decoded ('+' is a space). The first occurrence wins. Returns the
 * decoded length written to out (NUL-terminated); -1 when absent; -2 when
 * the value does not fit in outsz or has a bad or %00 escape. */
int http_query_param(const char *qs, const char *name, char *out, size_t outsz);

#endif
