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

/* One row of a route table: exact path and method. A path with routes for
 * other methods only answers 405 (with Allow); an unknown path answers 404. */
struct http_route {
    const char *method;
    const char *path;
    http_handler_fn handler;
};

typedef struct http_server http_server_t;

/* Start listening on bind_addr:port (port 0 picks a free port; see
 * http_port()) with `threads` worker threads, serving the route table (which
 * must outlive the server). Returns NULL with err filled when the port cannot
 * be bound. */
http_server_t *http_start(const char *bind_addr, int port, int threads,
                          const struct http_route *routes, size_t n_routes, void *ctx,
                          struct app_err *err);

/* The port actually listened on. */
int http_port(const http_server_t *srv);

/* Stop accepting, wait for handlers in progress, free everything. NULL is a no-op. */
void http_stop(http_server_t *srv);

/* Send body as a JSON reply with the given status; takes ownership of body
 * (which may be NULL after a failed json_pack: that sends a 500). Returns status. */
int http_send_json(struct mg_connection *conn, int status, json_t *body);

/* Send {"status":"error","message":"..."} with the given status; bytes of the
 * message that are not UTF-8 are sent as '?'. Returns status. A reply to HEAD
 * carries the headers only. */
int http_send_error(struct mg_connection *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send a non-JSON body (e.g. METRICS_CONTENT_TYPE) with the given status. Returns status. */
int http_send_text(struct mg_connection *conn, int status, const char *content_type,
                   const char *body, size_t len);

/* Send a finished metrics text (METRICS_CONTENT_TYPE), or 500 when building it ran out
 * of memory. The caller still frees b. Returns the status sent. */
int http_send_metrics(struct mg_connection *conn, const struct metrics_buf *b);

/* Append the server's own metrics for the server conn belongs to:
 * analytics_http_requests_total{route,status} and
 * analytics_http_request_duration_seconds{route} (route is the table's path, or
 * "other" for unknown paths). */
void http_metrics_render(const struct mg_connection *conn, struct metrics_buf *b);

/* Read the whole request body, at most max bytes. Returns 0 and sets *buf
 * (malloc'd, NUL-terminated, caller frees) and *len; 413 when the body is
 * larger than max (the rest of it, up to 4 MiB, is read and dropped so that the
 * client gets the answer rather than a reset connection); 400 when the body could not be read
 * (client gone). */
int http_read_body(struct mg_connection *conn, size_t max, char **buf, size_t *len);

/* Find parameter `name` in a query string (`a=1&b=x%20y`, no leading '?'),
 * percent-decoded ('+' is a space). The first occurrence wins. Returns the
 * decoded length written to out (NUL-terminated); -1 when absent; -2 when
 * the value does not fit in outsz or has a bad or %00 escape. */
int http_query_param(const char *qs, const char *name, char *out, size_t outsz);

#endif
