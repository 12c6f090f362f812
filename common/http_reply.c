/* http_reply.c - HTTP replies in one write: heads, JSON and error replies, assets with ETags. */
#include "http_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "text.h"

/* Set once this request's reply must close the connection (see http_reply_close_after()). */
static _Thread_local int reply_closes;

/* Header lines attached to every reply of this thread's current request (see
 * http_add_reply_headers()); emptied when a request begins and when it ends. */
static _Thread_local char reply_headers[HTTP_REPLY_HEADERS_MAX + 1];
static _Thread_local size_t reply_headers_len;

static void
clear_reply_headers(void)
{
    reply_headers[0] = '\0';
    reply_headers_len = 0;
}

void
http_reply_begin(int closes)
{
    reply_closes = closes;
    clear_reply_headers();
}

void
http_reply_end(void)
{
    clear_reply_headers();
}

int
http_reply_closes(void)
{
    return reply_closes;
}

void
http_reply_close_after(struct mg_connection *conn)
{
    mg_disable_connection_keep_alive(conn);
    reply_closes = 1;
}

/* Whether the connection stays open after this reply: HTTP/1.1 unless the client
 * asked to close, HTTP/1.0 only when it asked to keep it; never after
 * http_reply_close_after(). civetweb decides the same from the same headers. */
static int
keep_alive(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *h = mg_get_header(conn, "Connection");

    if (reply_closes || ri->http_version == NULL) {
        return 0;
    }
    if (strcmp(ri->http_version, "1.1") == 0) {
        return h == NULL || strcasecmp(h, "close") != 0;
    }
    return h != NULL && strcasecmp(h, "keep-alive") == 0;
}

int
http_add_reply_headers(struct mg_connection *conn, const char *lines)
{
    size_t n = strlen(lines);

    (void)conn; /* one request at a time per worker thread: the lines are the thread's */
    if (reply_headers_len + n > HTTP_REPLY_HEADERS_MAX) {
        return -1;
    }
    memcpy(reply_headers + reply_headers_len, lines, n + 1);
    reply_headers_len += n;
    return 0;
}

/* A reply head being written: what fits in dst[0..cap), and the length it needs. */
struct head {
    char *dst;
    size_t cap, len;
};

/* Append n bytes. Once something did not fit, nothing more is written, but the length
 * still counts, so the caller learns how much room the whole head needs. */
static void
head_put(struct head *h, const char *s, size_t n)
{
    if (h->len + n < h->cap) {
        memcpy(h->dst + h->len, s, n);
    } else {
        h->cap = 0;
    }
    h->len += n;
}

static void
head_str(struct head *h, const char *s)
{
    head_put(h, s, strlen(s));
}

static void
head_num(struct head *h, unsigned long long v)
{
    char b[24];
    size_t i = sizeof b;

    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    head_put(h, b + i, sizeof b - i);
}

/* Write the status line and headers of a reply into dst (cap bytes); returns the length
 * they need (snprintf's rule: dst holds them whole, NUL-terminated, only when that is
 * below cap). A reply without a body (204, 304) has no Content-Type or Content-Length; one
 * of length HTTP_CHUNKED has Transfer-Encoding: chunked instead of the length.
 * cache is the Cache-Control value (NULL: no-store). Built with memcpy rather than
 * snprintf: every reply takes this path. */
static size_t
format_head(char *dst, size_t cap, struct mg_connection *conn, const char *date, int status,
            const char *content_type, size_t len, const char *extra, const char *cache)
{
    struct head h = {dst, cap, 0};

    head_str(&h, "HTTP/1.1 ");
    head_num(&h, (unsigned long long)status);
    head_str(&h, " ");
    head_str(&h, mg_get_response_code_text(conn, status));
    head_str(&h, "\r\nDate: ");
    head_str(&h, date);
    head_str(&h, "\r\n");
    if (content_type != NULL) {
        head_str(&h, "Content-Type: ");
        head_str(&h, content_type);
        if (len == HTTP_CHUNKED) {
            head_str(&h, "\r\nTransfer-Encoding: chunked\r\n");
        } else {
            head_str(&h, "\r\nContent-Length: ");
            head_num(&h, len);
            head_str(&h, "\r\n");
        }
        if (strcmp(content_type, "application/json") == 0) {
            /* JSON replies quote client strings: never let a browser sniff them as HTML. */
            head_str(&h, "X-Content-Type-Options: nosniff\r\n");
        }
    }
    head_str(&h, "Cache-Control: ");
    head_str(&h, cache ? cache : "no-store");
    head_str(&h, keep_alive(conn) ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
    head_str(&h, extra ? extra : "");
    head_put(&h, reply_headers, reply_headers_len);
    head_str(&h, "\r\n");
    if (h.len < cap) {
        dst[h.len] = '\0';
    }
    return h.len;
}

/* The Date header's value for now, formatted once a second per thread. */
static const char *
http_date(void)
{
    static _Thread_local time_t last = -1;
    static _Thread_local char date[64];
    time_t now = time(NULL);
    struct tm tm;

    if (now != last) {
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return date;
}

/* Send a whole reply, status line, headers and body, in one write: civetweb's header
 * functions send the head and the body in two, which costs a second segment (and
 * syscall) per request. extra, when not NULL, holds more header lines, each ending in
 * CRLF; the request's attached lines follow them. content_type NULL: no body at all
 * (204, 304). HEAD gets the head only. cache: as format_head()'s. */
static int
send_reply_cached(struct mg_connection *conn, int status, const char *content_type,
                  const char *body, size_t len, const char *extra, const char *cache)
{
    char stack[2048], *buf = stack;
    const char *date = http_date();
    size_t head_len, total;
    const char *method = mg_get_request_info(conn)->request_method;
    int head_only = content_type == NULL || len == HTTP_CHUNKED ||
                    (method != NULL && strcmp(method, "HEAD") == 0);

    head_len =
        format_head(stack, sizeof stack, conn, date, status, content_type, len, extra, cache);
    total = head_len + (head_only ? 0 : len);
    if (total >= sizeof stack) {
        buf = malloc(total + 1);
        if (buf == NULL) {
            /* The body is lost; its length tells (or the head is, for huge headers). */
            mg_write(conn, stack, head_len < sizeof stack ? head_len : 0);
            return status;
        }
        if (head_len >= sizeof stack) {
            format_head(buf, head_len + 1, conn, date, status, content_type, len, extra, cache);
        } else {
            memcpy(buf, stack, head_len);
        }
    }
    if (!head_only) {
        memcpy(buf + head_len, body, len);
    }
    mg_write(conn, buf, total);
    if (buf != stack) {
        free(buf);
    }
    return status;
}

static int
send_reply(struct mg_connection *conn, int status, const char *content_type, const char *body,
           size_t len, const char *extra)
{
    return send_reply_cached(conn, status, content_type, body, len, extra, NULL);
}

int
http_send_chunked_head(struct mg_connection *conn, int status, const char *content_type,
                       const char *headers)
{
    return send_reply(conn, status, content_type, NULL, HTTP_CHUNKED, headers);
}

int
http_send_empty(struct mg_connection *conn, int status, const char *headers)
{
    return send_reply(conn, status, NULL, NULL, 0, headers);
}

static int
send_json(struct mg_connection *conn, int status, json_t *body, const char *extra)
{
    static const char oom[] = "{\"status\":\"error\",\"message\":\"Internal error\"}";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL) {
        return send_reply(conn, 500, "application/json", oom, sizeof oom - 1, NULL);
    }
    send_reply(conn, status, "application/json", text, strlen(text), extra);
    free(text);
    return status;
}

int
http_send_json(struct mg_connection *conn, int status, json_t *body)
{
    return send_json(conn, status, body, NULL);
}

int
http_send_text(struct mg_connection *conn, int status, const char *content_type, const char *body,
               size_t len)
{
    return send_reply(conn, status, content_type, body, len, NULL);
}

/* An error reply in the one shape, with extra header lines (or NULL). */
static int send_error_v(struct mg_connection *conn, int status, const char *extra, const char *fmt,
                        va_list ap) __attribute__((format(printf, 4, 0)));

static int
send_error_v(struct mg_connection *conn, int status, const char *extra, const char *fmt, va_list ap)
{
    char raw[512], msg[512];

    vsnprintf(raw, sizeof raw, fmt, ap);
    /* The message may quote client bytes, or be cut inside a character. */
    text_sanitize(msg, sizeof msg, raw, strlen(raw));
    return send_json(conn, status, json_pack("{s:s,s:s}", "status", "error", "message", msg),
                     extra);
}

int
http_send_error(struct mg_connection *conn, int status, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_error_v(conn, status, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int
http_send_error_headers(struct mg_connection *conn, int status, const char *headers,
                        const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_error_v(conn, status, headers, fmt, ap);
    va_end(ap);
    return rc;
}

int
http_reply_refuse(struct mg_connection *conn, int status, const char *fmt, ...)
{
    va_list ap;
    int rc;

    http_reply_close_after(conn);
    va_start(ap, fmt);
    rc = send_error_v(conn, status, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int
http_etag_match(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t n = etag ? strlen(etag) : 0;

    if (etag == NULL || p == NULL || n < 2 || etag[0] != '"' || etag[n - 1] != '"') {
        return 0;
    }
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            return 0;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL) {
            return 0; /* not an entity tag: the header means nothing */
        }
        if ((size_t)(end + 1 - p) == n && memcmp(p, etag, n) == 0) {
            return 1;
        }
        p = end + 1;
    }
}

int
http_send_asset(struct mg_connection *conn, const struct http_asset *a)
{
    char extra[128];

    snprintf(extra, sizeof extra, "ETag: %s\r\n", a->etag);
    if (http_etag_match(mg_get_header(conn, "If-None-Match"), a->etag)) {
        return send_reply_cached(conn, 304, NULL, NULL, 0, extra, a->cache_control);
    }
    return send_reply_cached(conn, 200, a->content_type, a->body, a->len, extra, a->cache_control);
}

int
http_send_metrics(struct mg_connection *conn, const struct metrics_buf *b)
{
    if (b->failed) {
        return http_send_error(conn, 500, "Internal error");
    }
    return http_send_text(conn, 200, METRICS_CONTENT_TYPE, b->data, b->len);
}
