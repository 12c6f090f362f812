/* http_reply.h - HTTP replies: each in one write, JSON and error replies, assets with ETags. */
#ifndef COMMON_HTTP_REPLY_H
#define COMMON_HTTP_REPLY_H

#include <civetweb.h>
#include <jansson.h>
#include <stddef.h>

#include "metrics.h"

/* Every reply carries Date, Cache-Control (no-store unless said), Connection (keep-alive
 * or close, as the request asked and the server decided) and the header lines attached
 * to its request; JSON replies also carry X-Content-Type-Options: nosniff. A reply to
 * HEAD carries the headers only. One request at a time per worker thread: the state of
 * a request's replies is its thread's. */

/* The most bytes of header lines http_add_reply_headers() keeps for one request. */
#define HTTP_REPLY_HEADERS_MAX 1024

/* Attach header lines (each ending in CRLF, e.g. "Vary: Origin\r\n") to every reply
 * sent for the request on conn from now on: the handler's, and any error reply (413,
 * 408, 500...) sent for it. They add to those attached before, and are dropped when the
 * request is done. Returns 0, or -1 (nothing attached) when the request's lines would
 * exceed HTTP_REPLY_HEADERS_MAX bytes. */
int http_add_reply_headers(struct mg_connection *conn, const char *lines);

/* The length of a reply whose body follows in chunks (format_head()). */
#define HTTP_CHUNKED ((size_t)-1)

/* Send the head of a reply whose body the caller then sends with mg_send_chunk() (ending
 * with an empty chunk): Transfer-Encoding: chunked instead of a Content-Length, and the
 * other headers of every reply, with more header lines (each ending in CRLF) or NULL. A
 * reply to HEAD is this head alone: the caller sends no chunk then. Returns status. */
int http_send_chunked_head(struct mg_connection *conn, int status, const char *content_type,
                           const char *headers);

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

/* --- for the server (http.c) and body reads (http_body.c) only ----------------------- */

/* The replies of a request begin (the server calls it before anything is sent for the
 * request): no header lines attached yet; closes: the connection is closed after the
 * reply (civetweb's own errors), else it stays open as the request asked until
 * http_reply_close_after(). */
void http_reply_begin(int closes);

/* The request is done: its attached header lines are dropped. */
void http_reply_end(void);

/* Whether the connection is closed after this request's reply. */
int http_reply_closes(void);

/* Close the connection once this request is answered, without reading what is left of
 * its body (civetweb would otherwise read and drop it, with no bound on the time). */
void http_reply_close_after(struct mg_connection *conn);

/* Send an error reply, as http_send_error(), and close the connection after it.
 * Returns status. */
int http_reply_refuse(struct mg_connection *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
