/* http.c - a small HTTP server over civetweb: route table, capped body reads, JSON replies. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

struct http_server {
    struct mg_context *mg;
    const struct http_route *routes;
    size_t n_routes;
    void *ctx;
    int port;
};

/* Send a JSON reply; allow, when not NULL, is sent as the Allow header. */
static int
send_json(struct mg_connection *conn, int status, json_t *body, const char *allow)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char clen[32];
    size_t len;

    json_decref(body);
    if (text == NULL) {
        static const char oom[] = "{\"status\":\"error\",\"message\":\"Internal error\"}";
        status = 500;
        text = strdup(oom);
        if (text == NULL) {
            return status;
        }
    }
    len = strlen(text);
    snprintf(clen, sizeof clen, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", "application/json", -1);
    mg_response_header_add(conn, "Content-Length", clen, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    if (allow != NULL) {
        mg_response_header_add(conn, "Allow", allow, -1);
    }
    mg_response_header_send(conn);
    if (strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0) {
        mg_write(conn, text, len);
    }
    free(text);
    return status;
}

int
http_send_json(struct mg_connection *conn, int status, json_t *body)
{
    return send_json(conn, status, body, NULL);
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

int
http_read_body(struct mg_connection *conn, size_t max, char **buf, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    size_t cap = max + 1, n = 0;
    char *b;

    *buf = NULL;
    *len = 0;
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max) {
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

/* civetweb's begin_request callback: the whole routing happens here, so one
 * table decides every answer, 404 and 405 included. */
static int
dispatch(struct mg_connection *conn)
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
    free(srv);
}
