/* http.c - a small HTTP server over civetweb: route table, capped body reads, JSON replies. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "civet_internals.h"
#include "framing.h"
#include "log.h"
#include "text.h"

#define HTTP_MAX_STATUS 600
/* How often the watchdog looks for body reads past their deadline. */
#define HTTP_WATCHDOG_MS 100

/* Requests answered on one path, by status, and how long they took. */
struct path_stats {
    const char *path; /* a route's path, or "other" */
    atomic_ullong by_status[HTTP_MAX_STATUS];
    struct metrics_histogram latency;
};

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

struct http_server {
    struct mg_context *mg, *probe_mg;
    const struct http_route *routes;
    size_t n_routes;
    void *ctx;
    struct http_opts opts;
    int port, probe_port;
    struct path_stats *paths; /* one per distinct route path, then "other" */
    size_t n_paths;
    /* Readers of the main listener's workers, registered on their first body read. */
    struct reader **readers;
    atomic_size_t n_readers;
    size_t readers_cap;
    pthread_t watchdog;
    int watchdog_started, watchdog_stop;
    pthread_mutex_t watchdog_lock;
    pthread_cond_t watchdog_wake;
};

/* Per worker thread (each connection is served by one thread from accept to close):
 * when this thread began waiting for its current request, whether that request is not
 * the connection's first, when its headers had all arrived, its connection's socket,
 * and its reader. */
static _Thread_local int64_t wait_start_ms;
static _Thread_local int wait_reused;
static _Thread_local int64_t body_start_ms;
static _Thread_local int self_fd = -1;
static _Thread_local int answered; /* something was sent for the request being read */
static _Thread_local struct reader self_reader;
static _Thread_local const http_server_t *self_registered;

static int64_t mono_ms(void);

/* The request timeout of conn's listener. */
static long
request_timeout(const struct mg_connection *conn)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    return mg_get_context(conn) == srv->probe_mg ? HTTP_PROBE_TIMEOUT_MS
                                                 : srv->opts.request_timeout_ms;
}

/* When civetweb gives up on the headers of the request on conn (its rules): the request
 * timeout after a new connection began waiting, the keep-alive timeout after the previous
 * request of a kept-alive one, idle time included. */
static int64_t
header_deadline(const struct mg_connection *conn)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    int reused = wait_reused && mg_get_context(conn) != srv->probe_mg;

    return wait_start_ms + (reused ? srv->opts.keep_alive_ms : request_timeout(conn));
}

/* When the body of the request on conn must have arrived whole: the request timeout
 * after its headers had. Counted from there, not from the end of the previous request,
 * so that the idle time of a kept-alive connection is not taken from the request. */
static int64_t
body_deadline(const struct mg_connection *conn)
{
    return body_start_ms + request_timeout(conn);
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set once this request's reply must close the connection (see close_after_reply()). */
static _Thread_local int reply_closes;

/* Whether the connection stays open after this reply: HTTP/1.1 unless the client
 * asked to close, HTTP/1.0 only when it asked to keep it; never after
 * close_after_reply(). civetweb decides the same from the same headers. */
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

/* Close the connection once this request is answered, without reading what is left of
 * its body (civetweb would otherwise read and drop it, with no bound on the time). */
static void
close_after_reply(struct mg_connection *conn)
{
    mg_disable_connection_keep_alive(conn);
    reply_closes = 1;
}

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
 * below cap). A reply without a body (204, 304) has no Content-Type or Content-Length.
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
        head_str(&h, "\r\nContent-Length: ");
        head_num(&h, len);
        head_str(&h, "\r\n");
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
    int head_only = content_type == NULL || (method != NULL && strcmp(method, "HEAD") == 0);

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

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct path_stats *
stats_for(const http_server_t *srv, const char *path)
{
    for (size_t i = 0; i + 1 < srv->n_paths; i++) {
        if (strcmp(srv->paths[i].path, path) == 0) {
            return &srv->paths[i];
        }
    }
    return &srv->paths[srv->n_paths - 1];
}

int
http_send_metrics(struct mg_connection *conn, const struct metrics_buf *b)
{
    if (b->failed) {
        return http_send_error(conn, 500, "Internal error");
    }
    return http_send_text(conn, 200, METRICS_CONTENT_TYPE, b->data, b->len);
}

void
http_metrics_render(const struct mg_connection *conn, struct metrics_buf *b)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    char labels[128];

    metrics_family(b, "analytics_http_requests_total", "counter",
                   "HTTP requests answered, by route and status.");
    for (size_t i = 0; i < srv->n_paths; i++) {
        for (int st = 100; st < HTTP_MAX_STATUS; st++) {
            unsigned long long v = atomic_load(&srv->paths[i].by_status[st]);
            if (v > 0) {
                snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", srv->paths[i].path,
                         st);
                metrics_sample(b, "analytics_http_requests_total", labels, (double)v);
            }
        }
    }
    metrics_family(b, "analytics_http_request_duration_seconds", "histogram",
                   "Time from request to reply, by route.");
    for (size_t i = 0; i < srv->n_paths; i++) {
        snprintf(labels, sizeof labels, "route=\"%s\"", srv->paths[i].path);
        metrics_histogram_render(b, "analytics_http_request_duration_seconds", labels,
                                 &srv->paths[i].latency);
    }
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

/* Send an error reply and close the connection after it. */
static int refuse(struct mg_connection *conn, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct mg_connection *conn, int status, const char *fmt, ...)
{
    va_list ap;
    int rc;

    close_after_reply(conn);
    va_start(ap, fmt);
    rc = send_error_v(conn, status, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

/* --- body reads with a deadline ------------------------------------------------------ */

/* This thread's reader, registered with srv on first use; NULL when srv's table is
 * full (then reads are bounded by civetweb's per-read timeout only). */
static struct reader *
my_reader(http_server_t *srv)
{
    size_t i;

    if (self_registered == srv) {
        return &self_reader;
    }
    pthread_mutex_lock(&srv->watchdog_lock);
    i = atomic_load(&srv->n_readers);
    if (i < srv->readers_cap) {
        pthread_mutex_init(&self_reader.lock, NULL);
        self_reader.deadline_ms = 0;
        self_reader.fd = -1;
        self_reader.cut = 0;
        srv->readers[i] = &self_reader;
        atomic_store(&srv->n_readers, i + 1);
        self_registered = srv;
    }
    pthread_mutex_unlock(&srv->watchdog_lock);
    return self_registered == srv ? &self_reader : NULL;
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

/* End every body read past its deadline, until the server stops: shut down the read
 * side of its connection (see struct reader). */
static void *
watchdog_main(void *arg)
{
    http_server_t *srv = arg;

    pthread_mutex_lock(&srv->watchdog_lock);
    while (!srv->watchdog_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HTTP_WATCHDOG_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->watchdog_wake, &srv->watchdog_lock, &until);
        int64_t now = mono_ms();
        size_t n = atomic_load(&srv->n_readers);
        for (size_t i = 0; i < n && !srv->watchdog_stop; i++) {
            struct reader *r = srv->readers[i];
            pthread_mutex_lock(&r->lock);
            if (r->deadline_ms != 0 && now >= r->deadline_ms && r->fd >= 0 && !r->cut) {
                shutdown(r->fd, SHUT_RD);
                r->cut = 1;
            }
            pthread_mutex_unlock(&r->lock);
        }
    }
    pthread_mutex_unlock(&srv->watchdog_lock);
    return NULL;
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
        if (mono_ms() >= deadline) {
            *why = 408;
            return -1;
        }
        reader_arm(rd, deadline);
        r = framing_read(conn, dst, room);
        if (reader_disarm(rd)) {
            close_after_reply(conn); /* its socket reads nothing more */
        }
        if (r == 0) {
            /* The end of the body, or civetweb's own read timeout, which returns 0 too
             * and only ever ends past the deadline. */
            if (mono_ms() >= deadline) {
                *why = 408;
                return -1;
            }
            return (long)n;
        }
        if (r < 0) {
            *why = mono_ms() >= deadline ? 408 : 400;
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
    http_server_t *srv = ri->user_data;
    const char *expect = mg_get_header(conn, "Expect");
    int64_t deadline = body_deadline(conn);
    struct reader *rd = my_reader(srv);
    size_t cap = max + 1;
    char *b = NULL, *none = NULL;
    int why = 0;
    long n;

    *buf = NULL;
    *len = 0;
    if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
        return refuse(conn, 417, "Unsupported Expect header: only 100-continue is");
    }
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max) {
        if (expect != NULL) {
            /* The client waits for our word before it sends: refuse now, send nothing. */
            return refuse(conn, 413, "Request body exceeds %zu bytes", max);
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
        return refuse(conn, 500, "Internal error");
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
            close_after_reply(conn);
        }
        return http_send_error(conn, 413, "Request body exceeds %zu bytes", max);
    }
    if (why == 408) {
        return refuse(conn, 408, "Request not received within %ld ms",
                      srv->opts.request_timeout_ms);
    }
    return refuse(conn, 400, "Could not read the request body");
}

/* Read and drop what the handler left of the body (nothing, usually: one call that
 * returns at once), within the request's deadline; close the connection when that
 * fails, rather than let civetweb read it with no bound on the time. */
static void
finish_body(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    http_server_t *srv = ri->user_data;
    size_t cap = 0;
    char *none = NULL;
    int why = 0;

    if (ri->content_length == 0) {
        return;
    }
    if (read_until(conn, my_reader(srv), body_deadline(conn), &none, &cap, HTTP_DISCARD_MAX, &why) <
        0) {
        close_after_reply(conn);
    }
}

int
http_query_param(const char *qs, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    const char *p = qs;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        const char *stop = end ? end : p + strlen(p);
        if ((size_t)(stop - p) >= nlen && strncmp(p, name, nlen) == 0 &&
            (p + nlen == stop || p[nlen] == '=')) {
            const char *v = p + nlen + (p + nlen < stop ? 1 : 0);
            size_t o = 0;
            while (v < stop) {
                char c = *v++;
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = v < stop ? framing_hex_digit(v[0]) : -1;
                    int lo = v + 1 < stop ? framing_hex_digit(v[1]) : -1;
                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        return -2;
                    }
                    c = (char)(hi * 16 + lo);
                    v += 2;
                }
                if (o + 1 >= outsz) {
                    return -2;
                }
                out[o++] = c;
            }
            if (o >= outsz) {
                return -2;
            }
            out[o] = '\0';
            return (int)o;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

/* Why the request's framing cannot be trusted, or NULL: a header block civetweb did not
 * take whole, or headers that frame the message ambiguously. */
static const char *
request_framing_error(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *why = civet_internals_headers_error(conn);

    return why != NULL ? why : framing_error(ri->http_version, ri->http_headers, ri->num_headers);
}

/* Whether route r serves a request with method m. */
static int
serves(const struct http_route *r, const char *m)
{
    return strcmp(r->method, m) == 0 || (strcmp(m, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

int
http_route_flags(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const http_server_t *srv = ri->user_data;

    for (size_t i = 0; i < srv->n_routes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (strcmp(r->path, ri->local_uri) == 0 && serves(r, ri->request_method)) {
            return r->flags;
        }
    }
    return 0;
}

/* Route one request to its handler (or 404/405); returns the status sent. Requests on
 * the probe listener reach only the probe routes. */
static int
route(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const http_server_t *srv = ri->user_data;
    int on_probe = mg_get_context(conn) == srv->probe_mg;
    char allow[128] = "", extra[160];
    int path_known = 0;

    for (size_t i = 0; i < srv->n_routes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (strcmp(r->path, ri->local_uri) != 0 || (on_probe && !(r->flags & HTTP_ROUTE_PROBE))) {
            continue;
        }
        if (serves(r, ri->request_method)) {
            return r->handler(conn, srv->ctx);
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", path_known ? ", " : "", r->method);
        path_known = 1;
    }
    if (path_known) {
        char raw[256], msg[256];
        snprintf(raw, sizeof raw, "Method %.16s not allowed on %.64s; use %s", ri->request_method,
                 ri->local_uri, allow);
        text_sanitize(msg, sizeof msg, raw, strlen(raw));
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        return send_json(conn, 405, json_pack("{s:s,s:s}", "status", "error", "message", msg),
                         extra);
    }
    return http_send_error(conn, 404, "Not found: %.128s", ri->local_uri);
}

static void
count(struct path_stats *ps, int status, double seconds)
{
    if (status > 0 && status < HTTP_MAX_STATUS) {
        atomic_fetch_add_explicit(&ps->by_status[status], 1, memory_order_relaxed);
    }
    if (seconds >= 0) {
        metrics_observe(&ps->latency, seconds);
    }
}

/* civetweb's begin_request callback: the whole routing happens here, so one
 * table decides every answer, 404 and 405 included; each answer is counted. A request
 * whose framing could hide another is refused and its connection closed. On the main
 * listener the server's filter sees the request first. */
static int
dispatch(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const http_server_t *srv = ri->user_data;
    double start = now_seconds();
    const char *bad;
    int status = 0;

    reply_closes = 0;
    answered = 1;
    body_start_ms = mono_ms();
    clear_reply_headers();
    bad = request_framing_error(conn);
    /* (Framed well, a Transfer-Encoding is "chunked".) */
    framing_start(conn, bad == NULL && mg_get_header(conn, "Transfer-Encoding") != NULL);
    if (bad != NULL) {
        status = refuse(conn, 400, "%s", bad);
    } else if (srv->opts.filter != NULL && mg_get_context(conn) != srv->probe_mg) {
        status = srv->opts.filter(conn, srv->ctx);
    }
    if (status == 0) {
        status = route(conn);
    }
    if (!reply_closes) {
        finish_body(conn);
    }
    clear_reply_headers();
    count(stats_for(srv, ri->local_uri), status, now_seconds() - start);
    return status;
}

/* civetweb's own error replies (a request it could not read or parse), in our shape
 * and counted as route "other"; civetweb closes the connection after them. */
static int
on_http_error(struct mg_connection *conn, int status, const char *civetweb_msg)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    const char *msg;
    int sent = status;

    msg = civet_internals_error_message(&sent, civetweb_msg);
    if (status == 400 && mono_ms() >= header_deadline(conn)) {
        /* civetweb gave up on headers that did not arrive in time. */
        sent = 408;
        msg = "Request not received in time"; /* worded as http_read_body()'s */
    }
    reply_closes = 1; /* civetweb closes the connection after its errors */
    answered = 1;
    clear_reply_headers();
    http_send_error(conn, sent, "%s", msg);
    count(&srv->paths[srv->n_paths - 1], sent, -1);
    return 0; /* handled */
}

/* A connection is closing: a request civetweb read but dropped without a word (a target
 * that is not a path) gets its 400 here, counted as route "other", rather than silence. */
static void
on_connection_close(const struct mg_connection *cconn)
{
    /* (civetweb's connection, writable: the callback's const is its API's caution.) */
    struct mg_connection *conn = (struct mg_connection *)(uintptr_t)cconn;
    const http_server_t *srv;

    if (answered || !civet_internals_request_dropped(conn)) {
        return;
    }
    srv = mg_get_request_info(conn)->user_data;
    answered = 1;
    reply_closes = 1;
    clear_reply_headers();
    http_send_error(conn, 400, "Request target must be a path, such as /event");
    count(&srv->paths[srv->n_paths - 1], 400, -1);
}

/* The start of the wait for a request: a new connection, or the end of the last one.
 * A new connection's socket is looked up once, for the watchdog. */
static int
on_init_connection(const struct mg_connection *conn, void **conn_data)
{
    static atomic_int warned;

    (void)conn_data;
    wait_start_ms = mono_ms();
    wait_reused = 0;
    answered = 0;
    self_fd = civet_internals_socket(conn);
    if (self_fd < 0 && !atomic_exchange(&warned, 1)) {
        LOG_ERROR("http: civetweb's connection is not as checked (civet_internals.c): bodies "
                  "are bounded by civetweb's per-read timeout only");
    }
    return 0;
}

static void
on_end_request(const struct mg_connection *conn, int status)
{
    (void)conn;
    (void)status;
    wait_start_ms = mono_ms();
    wait_reused = 1;
    answered = 0;
}

/* Start one civetweb listener on srv; returns its context and sets *port. */
static struct mg_context *
listen_on(http_server_t *srv, int port, int threads, long timeout_ms, long keep_alive_ms,
          int *bound, struct app_err *err)
{
    char listen[320], nthreads[16], timeout[24], keep[24];
    struct mg_callbacks cb;
    struct mg_server_port ports[4];
    struct mg_context *mg;

    snprintf(listen, sizeof listen, "%s:%d", srv->opts.bind_addr, port);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    snprintf(timeout, sizeof timeout, "%ld", timeout_ms);
    snprintf(keep, sizeof keep, "%ld", keep_alive_ms);
    const char *options[] = {"listening_ports", listen, "num_threads", nthreads,
                             "enable_keep_alive", keep_alive_ms > 0 ? "yes" : "no",
                             /* civetweb bounds the headers of a request as a whole by this
                              * (the first on a connection) or keep_alive_timeout_ms (the
                              * next ones, idle time included); http_read_body() bounds
                              * the body from the same start. */
                             "request_timeout_ms", timeout, "keep_alive_timeout_ms",
                             keep_alive_ms > 0 ? keep : "0",
                             /* Accepted connections wait here for a worker, and in the
                              * kernel's backlog behind it. */
                             "connection_queue", "256", "listen_backlog", "1024",
                             /* Each reply is one write; without TCP_NODELAY Nagle would
                              * hold it back behind an unacknowledged 100 Continue or
                              * previous reply. */
                             "tcp_nodelay", "1", NULL};
    memset(&cb, 0, sizeof cb);
    cb.begin_request = dispatch;
    cb.end_request = on_end_request;
    cb.init_connection = on_init_connection;
    cb.http_error = on_http_error;
    cb.connection_close = on_connection_close;
    cb.log_message = log_civetweb;
    mg = mg_start(&cb, srv, options);
    if (mg == NULL) {
        err_set(err, ERR_INVALID, "cannot listen on %s", listen);
        return NULL;
    }
    if (mg_get_server_ports(mg, 4, ports) < 1) {
        err_set(err, ERR_INTERNAL, "cannot read the listening port of %s", listen);
        mg_stop(mg);
        return NULL;
    }
    *bound = ports[0].port;
    return mg;
}

http_server_t *
http_start(const struct http_opts *opts, const struct http_route *routes, size_t n_routes,
           void *ctx, struct app_err *err)
{
    http_server_t *srv;

    if (civet_internals_check(err) != 0) {
        return NULL;
    }
    if ((srv = calloc(1, sizeof *srv)) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    srv->routes = routes;
    srv->n_routes = n_routes;
    srv->ctx = ctx;
    srv->opts = *opts;
    srv->probe_port = -1;
    pthread_mutex_init(&srv->watchdog_lock, NULL);
    pthread_cond_init(&srv->watchdog_wake, NULL);
    atomic_init(&srv->n_readers, 0);
    srv->readers_cap = (size_t)opts->threads + HTTP_PROBE_THREADS;
    srv->readers = calloc(srv->readers_cap, sizeof *srv->readers);
    srv->paths = calloc(n_routes + 1, sizeof *srv->paths);
    if (srv->paths == NULL || srv->readers == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        http_stop(srv);
        return NULL;
    }
    for (size_t i = 0; i < n_routes; i++) {
        int seen = 0;
        for (size_t k = 0; k < srv->n_paths; k++) {
            seen |= strcmp(srv->paths[k].path, routes[i].path) == 0;
        }
        if (!seen) {
            srv->paths[srv->n_paths++].path = routes[i].path;
        }
    }
    srv->paths[srv->n_paths++].path = "other";
    for (size_t i = 0; i < srv->n_paths; i++) {
        for (int st = 0; st < HTTP_MAX_STATUS; st++) {
            atomic_init(&srv->paths[i].by_status[st], 0);
        }
        metrics_histogram_init(&srv->paths[i].latency, metrics_latency_bounds, metrics_latency_n);
    }
    if (pthread_create(&srv->watchdog, NULL, watchdog_main, srv) != 0) {
        err_set(err, ERR_INTERNAL, "cannot start the HTTP watchdog thread");
        http_stop(srv);
        return NULL;
    }
    srv->watchdog_started = 1;
    srv->mg = listen_on(srv, opts->port, opts->threads, opts->request_timeout_ms,
                        opts->keep_alive_ms, &srv->port, err);
    if (srv->mg == NULL) {
        http_stop(srv);
        return NULL;
    }
    if (opts->probe_port >= 0) {
        srv->probe_mg = listen_on(srv, opts->probe_port, HTTP_PROBE_THREADS, HTTP_PROBE_TIMEOUT_MS,
                                  0, &srv->probe_port, err);
        if (srv->probe_mg == NULL) {
            http_stop(srv);
            return NULL;
        }
    }
    return srv;
}

int
http_port(const http_server_t *srv)
{
    return srv->port;
}

int
http_probe_port(const http_server_t *srv)
{
    return srv->probe_port;
}

/* civetweb's accept thread waits in poll() for up to 2 s at a time and looks at its stop
 * flag only in between, so mg_stop() takes up to 2 s per listener. A connection to the
 * listening port wakes it: poke both ports every 20 ms until the stops are done. */
struct poker {
    const http_server_t *srv;
    atomic_int done;
};

static void
poke(const char *bind_addr, int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (strcmp(bind_addr, "0.0.0.0") == 0 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    connect(fd, (struct sockaddr *)&sa, sizeof sa); /* in progress is enough */
    close(fd);
}

static void *
poker_main(void *arg)
{
    struct poker *pk = arg;
    const struct timespec pause = {0, 20 * 1000000L};

    while (!atomic_load(&pk->done)) {
        poke(pk->srv->opts.bind_addr, pk->srv->port);
        if (pk->srv->probe_mg != NULL) {
            poke(pk->srv->opts.bind_addr, pk->srv->probe_port);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

void
http_stop(http_server_t *srv)
{
    struct poker pk;
    pthread_t poker;
    int poking;

    if (srv == NULL) {
        return;
    }
    /* The watchdog first: the readers live in the workers' thread-local storage, which
     * mg_stop() frees as it joins them. */
    if (srv->watchdog_started) {
        pthread_mutex_lock(&srv->watchdog_lock);
        srv->watchdog_stop = 1;
        pthread_cond_signal(&srv->watchdog_wake);
        pthread_mutex_unlock(&srv->watchdog_lock);
        pthread_join(srv->watchdog, NULL);
    }
    pk.srv = srv;
    atomic_init(&pk.done, 0);
    poking = srv->mg != NULL && pthread_create(&poker, NULL, poker_main, &pk) == 0;
    if (srv->probe_mg != NULL) {
        mg_stop(srv->probe_mg);
    }
    if (srv->mg != NULL) {
        mg_stop(srv->mg);
    }
    if (poking) {
        atomic_store(&pk.done, 1);
        pthread_join(poker, NULL);
    }
    pthread_cond_destroy(&srv->watchdog_wake);
    pthread_mutex_destroy(&srv->watchdog_lock);
    free(srv->readers);
    free(srv->paths);
    free(srv);
}
