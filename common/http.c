/* http.c - a small HTTP server over civetweb: route table, capped body reads, JSON replies. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "text.h"

#define HTTP_MAX_STATUS 600

/* Requests answered on one path, by status, and how long they took. */
struct path_stats {
    const char *path; /* a route's path, or "other" */
    atomic_ullong by_status[HTTP_MAX_STATUS];
    struct metrics_histogram latency;
};

struct http_server {
    struct mg_context *mg;
    const struct http_route *routes;
    size_t n_routes;
    void *ctx;
    int port;
    struct path_stats *paths; /* one per distinct route path, then "other" */
    size_t n_paths;
};

/* Whether the connection stays open after this reply: HTTP/1.1 unless the client
 * asked to close, HTTP/1.0 only when it asked to keep it. */
static int
keep_alive(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *h = mg_get_header(conn, "Connection");

    if (strcmp(ri->http_version, "1.1") == 0) {
        return h == NULL || strcasecmp(h, "close") != 0;
    }
    return h != NULL && strcasecmp(h, "keep-alive") == 0;
}

/* Send a whole reply, status line, headers and body, in one write: civetweb's header
 * functions send the head and the body in two, which costs a second segment (and
 * syscall) per request. allow, when not NULL, is sent as the Allow header. HEAD gets
 * the head only. */
static int
send_reply(struct mg_connection *conn, int status, const char *content_type, const char *body,
           size_t len, const char *allow)
{
    char stack[2048], date[64], *buf = stack;
    struct tm tm;
    time_t now = time(NULL);
    size_t head_len, total;
    int n, head_only = strcmp(mg_get_request_info(conn)->request_method, "HEAD") == 0;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    n = snprintf(stack, sizeof stack,
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nConnection: %s\r\n%s%s%s\r\n",
                 status, mg_get_response_code_text(conn, status), date, content_type, len,
                 keep_alive(conn) ? "keep-alive" : "close", allow ? "Allow: " : "",
                 allow ? allow : "", allow ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof stack) {
        return status; /* cannot happen: every header is short */
    }
    head_len = (size_t)n;
    total = head_len + (head_only ? 0 : len);
    if (total > sizeof stack) {
        buf = malloc(total);
        if (buf == NULL) {
            mg_write(conn, stack, head_len); /* the body is lost; its length tells */
            return status;
        }
        memcpy(buf, stack, head_len);
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
send_json(struct mg_connection *conn, int status, json_t *body, const char *allow)
{
    static const char oom[] = "{\"status\":\"error\",\"message\":\"Internal error\"}";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL) {
        return send_reply(conn, 500, "application/json", oom, sizeof oom - 1, NULL);
    }
    send_reply(conn, status, "application/json", text, strlen(text), allow);
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

int
http_send_error(struct mg_connection *conn, int status, const char *fmt, ...)
{
    char raw[512], msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* The message may quote client bytes, or be cut inside a character. */
    text_sanitize(msg, sizeof msg, raw, strlen(raw));
    return http_send_json(conn, status, json_pack("{s:s,s:s}", "status", "error", "message", msg));
}

/* Bytes of an oversized body read and thrown away before answering 413: a server that
 * closes with unread data makes the kernel reset the connection, and the client then
 * sees a failed send instead of the 413. Beyond this, the reset is the lesser evil. */
#define HTTP_DISCARD_MAX (4 * 1024 * 1024)

/* Read and drop up to HTTP_DISCARD_MAX bytes of what is left of the body. */
static void
discard_body(struct mg_connection *conn)
{
    char sink[16384];
    size_t total = 0;
    int r;

    while (total < HTTP_DISCARD_MAX && (r = mg_read(conn, sink, sizeof sink)) > 0) {
        total += (size_t)r;
    }
}

int
http_read_body(struct mg_connection *conn, size_t max, char **buf, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    size_t cap = max + 1, n = 0;
    char *b;

    *buf = NULL;
    *len = 0;
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max) {
        discard_body(conn);
        return 413;
    }
    if (ri->content_length >= 0 && (size_t)ri->content_length < max) {
        cap = (size_t)ri->content_length + 1;
    }
    b = malloc(cap + 1);
    if (b == NULL) {
        return 400;
    }
    for (;;) {
        int r = mg_read(conn, b + n, cap - n);
        if (r < 0) {
            free(b);
            return 400;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > max) {
            free(b);
            discard_body(conn);
            return 413;
        }
        if (n == cap) {
            /* Only reached for a body of unknown length: grow up to max + 1. */
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb;
            if (ncap == cap) {
                continue;
            }
            nb = realloc(b, ncap + 1);
            if (nb == NULL) {
                free(b);
                return 400;
            }
            b = nb;
            cap = ncap;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
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
                    int hi = v < stop ? hexval(v[0]) : -1;
                    int lo = v + 1 < stop ? hexval(v[1]) : -1;
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

/* Route one request to its handler (or 404/405); returns the status sent. */
static int
route(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const http_server_t *srv = ri->user_data;
    char allow[128] = "";
    int path_known = 0;

    for (size_t i = 0; i < srv->n_routes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (strcmp(r->path, ri->local_uri) != 0) {
            continue;
        }
        if (strcmp(r->method, ri->request_method) == 0 ||
            (strcmp(ri->request_method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
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
        return send_json(conn, 405, json_pack("{s:s,s:s}", "status", "error", "message", msg),
                         allow);
    }
    return http_send_error(conn, 404, "Not found: %.128s", ri->local_uri);
}

/* civetweb's begin_request callback: the whole routing happens here, so one
 * table decides every answer, 404 and 405 included; each answer is counted. */
static int
dispatch(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const http_server_t *srv = ri->user_data;
    double start = now_seconds();
    int status = route(conn);
    struct path_stats *ps = stats_for(srv, ri->local_uri);

    if (status > 0 && status < HTTP_MAX_STATUS) {
        atomic_fetch_add_explicit(&ps->by_status[status], 1, memory_order_relaxed);
    }
    metrics_observe(&ps->latency, now_seconds() - start);
    return status;
}

http_server_t *
http_start(const char *bind_addr, int port, int threads, const struct http_route *routes,
           size_t n_routes, void *ctx, struct app_err *err)
{
    char listen[320], nthreads[16];
    struct mg_callbacks cb;
    struct mg_server_port ports[4];
    http_server_t *srv = calloc(1, sizeof *srv);

    if (srv == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    srv->routes = routes;
    srv->n_routes = n_routes;
    srv->ctx = ctx;
    srv->paths = calloc(n_routes + 1, sizeof *srv->paths);
    if (srv->paths == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        free(srv);
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
    snprintf(listen, sizeof listen, "%s:%d", bind_addr, port);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    const char *options[] = {"listening_ports", listen, "num_threads", nthreads,
                             "enable_keep_alive", "yes", "request_timeout_ms", "10000",
                             "keep_alive_timeout_ms", "60000",
                             /* Headers and body go out in two writes: without this, Nagle
                              * and delayed ACKs hold the body back ~40 ms. */
                             "tcp_nodelay", "1", NULL};
    memset(&cb, 0, sizeof cb);
    cb.begin_request = dispatch;
    cb.log_message = log_civetweb;
    srv->mg = mg_start(&cb, srv, options);
    if (srv->mg == NULL) {
        err_set(err, ERR_INVALID, "cannot listen on %s", listen);
        free(srv->paths);
        free(srv);
        return NULL;
    }
    if (mg_get_server_ports(srv->mg, 4, ports) < 1) {
        err_set(err, ERR_INTERNAL, "cannot read the listening port");
        http_stop(srv);
        return NULL;
    }
    srv->port = ports[0].port;
    return srv;
}

int
http_port(const http_server_t *srv)
{
    return srv->port;
}

void
http_stop(http_server_t *srv)
{
    if (srv == NULL) {
        return;
    }
    mg_stop(srv->mg);
    free(srv->paths);
    free(srv);
}
