/* http.c - a small HTTP server over civetweb: start and stop, routing, per-route metrics. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "civet_internals.h"
#include "framing.h"
#include "http_pool.h"
#include "log.h"
#include "ts.h"

#define HTTP_MAX_STATUS 600

/* Requests answered on one path, by status, and how long they took. */
struct path_stats {
    const char *path; /* a route's path, or "other" */
    atomic_ullong by_status[HTTP_MAX_STATUS];
    struct metrics_histogram latency;
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
    http_watchdog_t *watchdog;      /* ends the body reads of both listeners past their deadline */
    http_pool_t *pool, *probe_pool; /* each listener's workers (http_pool.h) */
};

/* Per worker thread (each connection is served by one thread from accept to close):
 * whether something was sent for the request being read. */
static _Thread_local int answered;

/* The request timeout of conn's listener. */
static long
request_timeout(const struct mg_connection *conn)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    return mg_get_context(conn) == srv->probe_mg ? HTTP_PROBE_TIMEOUT_MS
                                                 : srv->opts.request_timeout_ms;
}

/* Whether a route's path is uri: the same, or for a path ending in '*' (a prefix route) one
 * that starts with what comes before the '*'. */
static int
path_is(const char *path, const char *uri)
{
    size_t n = strlen(path);

    return n > 0 && path[n - 1] == '*' ? strncmp(path, uri, n - 1) == 0 : strcmp(path, uri) == 0;
}

static struct path_stats *
stats_for(const http_server_t *srv, const char *path)
{
    for (size_t i = 0; i + 1 < srv->n_paths; i++) {
        if (path_is(srv->paths[i].path, path)) {
            return &srv->paths[i];
        }
    }
    return &srv->paths[srv->n_paths - 1];
}

/* One sample of a worker pool's: listener and, for analytics_http_connections, state. */
static struct metrics_row
pool_row(const char *name, const char *type, const char *help, const char *listener, double value,
         const char *state)
{
    return (struct metrics_row){
        name, type, help, "listener", listener, value, NULL, state != NULL ? "state" : NULL, state};
}

/* The worker pools' samples, family by family, a row per listener (and state):
 * analytics_http_workers{listener}, analytics_http_connections{listener,state},
 * analytics_http_idle_closed_total{listener} and analytics_http_pool_exhausted_total{listener}. */
static void
pools_render(const http_server_t *srv, struct metrics_buf *b)
{
    static const char *const listener[2] = {"public", "probe"};
    static const char workers[] = "Worker threads of a listener: each open connection holds one.";
    static const char conns[] = "Open connections of a listener, each holding a worker: serving "
                                "a request or idle (waiting for the next).";
    static const char closed[] = "Idle connections closed before their keep-alive timeout to "
                                 "keep workers free.";
    static const char exhausted[] = "Connections that took a listener's last free worker with "
                                    "none idle to free: the next ones wait in the accept queue.";
    struct http_pool_stats st[2];
    struct metrics_row rows[10];
    size_t n = srv->probe_pool != NULL ? 2 : 1, r = 0, i;

    http_pool_stats(srv->pool, &st[0]);
    if (n == 2) {
        http_pool_stats(srv->probe_pool, &st[1]);
    }
    for (i = 0; i < n; i++) {
        rows[r++] =
            pool_row("analytics_http_workers", "gauge", workers, listener[i], st[i].threads, NULL);
    }
    for (i = 0; i < n; i++) {
        rows[r++] = pool_row("analytics_http_connections", "gauge", conns, listener[i],
                             st[i].in_request, "request");
        rows[r++] =
            pool_row("analytics_http_connections", "gauge", conns, listener[i], st[i].idle, "idle");
    }
    for (i = 0; i < n; i++) {
        rows[r++] = pool_row("analytics_http_idle_closed_total", "counter", closed, listener[i],
                             (double)st[i].closed, NULL);
    }
    for (i = 0; i < n; i++) {
        rows[r++] = pool_row("analytics_http_pool_exhausted_total", "counter", exhausted,
                             listener[i], (double)st[i].exhausted, NULL);
    }
    metrics_table(b, rows, r);
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
    pools_render(srv, b);
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
        if (path_is(r->path, ri->local_uri) && serves(r, ri->request_method)) {
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
        if (!path_is(r->path, ri->local_uri) || (on_probe && !(r->flags & HTTP_ROUTE_PROBE))) {
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
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        return http_send_error_headers(conn, 405, extra,
                                       "Method %.16s not allowed on %.64s; use %s",
                                       ri->request_method, ri->local_uri, allow);
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
    int64_t start = ts_mono_ns();
    const char *bad;
    int status = 0;

    http_reply_begin(0);
    answered = 1;
    http_pool_request();
    http_body_begin(srv->watchdog, request_timeout(conn));
    bad = request_framing_error(conn);
    /* (Framed well, a Transfer-Encoding is "chunked".) */
    framing_start(conn, bad == NULL && mg_get_header(conn, "Transfer-Encoding") != NULL);
    if (bad != NULL) {
        status = http_reply_refuse(conn, 400, "%s", bad);
    } else if (srv->opts.filter != NULL && mg_get_context(conn) != srv->probe_mg) {
        status = srv->opts.filter(conn, srv->ctx);
    }
    if (status == 0) {
        status = route(conn);
    }
    if (!http_reply_closes()) {
        http_body_finish(conn);
    }
    http_reply_end();
    count(stats_for(srv, ri->local_uri), status, (double)(ts_mono_ns() - start) / 1e9);
    return status;
}

/* civetweb's own error replies (a request it could not read or parse), in our shape
 * and counted as route "other"; civetweb closes the connection after them. */
static int
on_http_error(struct mg_connection *conn, int status, const char *civetweb_msg)
{
    const http_server_t *srv = mg_get_request_info(conn)->user_data;
    long timeout = request_timeout(conn);
    /* (The probe listener keeps no connection alive: its headers have the request timeout.) */
    long keep = mg_get_context(conn) == srv->probe_mg ? timeout : srv->opts.keep_alive_ms;
    const char *msg;
    int sent = status;

    msg = civet_internals_error_message(&sent, civetweb_msg);
    if (status == 400 && http_body_headers_late(timeout, keep)) {
        /* civetweb gave up on headers that did not arrive in time. */
        sent = 408;
        msg = "Request not received in time"; /* worded as http_read_body()'s */
    }
    http_reply_begin(1); /* civetweb closes the connection after its errors */
    answered = 1;
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

    if (!answered && civet_internals_request_dropped(conn)) {
        srv = mg_get_request_info(conn)->user_data;
        answered = 1;
        http_reply_begin(1);
        http_send_error(conn, 400, "Request target must be a path, such as /event");
        count(&srv->paths[srv->n_paths - 1], 400, -1);
    }
    http_pool_connection_end();
}

/* The start of the wait for a request: a new connection, or the end of the last one. */
static int
on_init_connection(const struct mg_connection *conn, void **conn_data)
{
    const http_server_t *srv = mg_get_user_data(mg_get_context(conn));
    int peer_port, fd = http_body_connection(conn, &peer_port);

    (void)conn_data;
    answered = 0;
    http_pool_connection(mg_get_context(conn) == srv->probe_mg ? srv->probe_pool : srv->pool, fd,
                         peer_port);
    return 0;
}

static void
on_end_request(const struct mg_connection *conn, int status)
{
    (void)conn;
    (void)status;
    http_body_request_end();
    answered = 0;
    http_pool_request_end();
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
    const char *options[] = {
        "listening_ports", listen, "num_threads", nthreads, "enable_keep_alive",
        keep_alive_ms > 0 ? "yes" : "no",
        /* civetweb bounds the headers of a request as a whole by this
         * (the first on a connection) or keep_alive_timeout_ms (the
         * next ones, idle time included); http_read_body() bounds
         * the body from the same start. */
        "request_timeout_ms", timeout, "keep_alive_timeout_ms", keep_alive_ms > 0 ? keep : "0",
        /* Accepted connections wait here for a worker, and in the
         * kernel's backlog behind it. */
        "connection_queue", "256", "listen_backlog", "1024",
        /* Each reply is one write; without TCP_NODELAY Nagle would
         * hold it back behind an unacknowledged 100 Continue or
         * previous reply. */
        "tcp_nodelay", "1", "decode_url", srv->opts.raw_paths ? "no" : "yes", NULL};
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
    srv->paths = calloc(n_routes + 1, sizeof *srv->paths);
    if (srv->paths == NULL) {
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
    srv->watchdog = http_watchdog_new((size_t)opts->threads + HTTP_PROBE_THREADS, err);
    if (srv->watchdog == NULL) {
        http_stop(srv);
        return NULL;
    }
    srv->pool = http_pool_new(opts->threads, err);
    srv->probe_pool = opts->probe_port >= 0 ? http_pool_new(HTTP_PROBE_THREADS, err) : NULL;
    if (srv->pool == NULL || (opts->probe_port >= 0 && srv->probe_pool == NULL)) {
        http_stop(srv);
        return NULL;
    }
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
    http_watchdog_stop(srv->watchdog);
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
    http_watchdog_free(srv->watchdog);
    http_pool_free(srv->probe_pool);
    http_pool_free(srv->pool);
    free(srv->paths);
    free(srv);
}
