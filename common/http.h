/* http.h - a small HTTP server over civetweb: start and stop, routing, per-route metrics. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

/* The one header the programs include: the server (http.c), and with it what a handler
 * does, its replies (http_reply.h) and its body reads (http_body.h). */

#include <civetweb.h>
#include <stddef.h>

#include "err.h"
#include "http_body.h"
#include "http_reply.h"
#include "metrics.h"

/* A handler sends a complete reply and returns its HTTP status (civetweb's
 * contract). ctx is the pointer given to http_start(). */
typedef int (*http_handler_fn)(struct mg_connection *conn, void *ctx);

/* A route's flags. HTTP_ROUTE_PROBE: served on the probe listener too (see http_opts).
 * HTTP_ROUTE_PUBLIC: open to every client; HTTP_ROUTE_ADMIN: for the holders of admin
 * tokens only. http.c does not look at these two, a program's filter does
 * (http_route_flags()), e.g. to serve a route without credentials or with other ones. */
#define HTTP_ROUTE_PROBE 1
#define HTTP_ROUTE_PUBLIC 2
#define HTTP_ROUTE_ADMIN 4

/* One row of a route table: exact path (or, ending in '*', a prefix) and method. A path with routes
 * for other methods only answers 405 (with Allow); an unknown path answers 404. */
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
    int raw_paths;           /* 1: the path is routed and handed over as sent (civetweb's
                              * decode_url off: a %2F stays "%2F", a %00 cannot cut it
                              * short), for routes that name ids in their paths */
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

/* Append the server's own metrics for the server conn belongs to:
 * analytics_http_requests_total{route,status} and
 * analytics_http_request_duration_seconds{route} (route is the table's path, or
 * "other" for unknown paths). */
void http_metrics_render(const struct mg_connection *conn, struct metrics_buf *b);

#endif
