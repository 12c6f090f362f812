/* tabs.c - many browser-like clients on one epoll loop: keep-alive, a request every period.
 *
 *   tabs --port P [--host 127.0.0.1] [--clients 1000] [--seconds 10] [--period-ms 2000]
 *        [--site S] [--events 1] [--get "PATH PATH..."] [--timeout-ms 10000]
 *
 * Each client behaves as an open browser tab: it keeps one HTTP/1.1 connection alive and,
 * every period, sends one small batch (POST /events, --events events of site S) or, with
 * --get, each of the given paths in turn (a dashboard's poll). The clients start spread
 * evenly over the first period. A connection the server closed while idle is reopened only
 * when the next request is due (as a browser does); a request that fails on a reused
 * connection before any byte of its answer arrives is sent again on a new connection (as
 * browsers do: the server closed the idle connection as the request left), at most 3 times.
 * A request's latency runs from when it was due to the end of its answer, a reconnection
 * included. After --seconds no request is started, and those in flight are waited for (at
 * most --timeout-ms, after which they count as failed).
 *
 * One line on stdout: "clients=N requests=N answered=N ok=N failed=N retried=N
 * closed_idle=N connects=N ok_events=N p50_ms=X p99_ms=Y max_ms=Z" (ok: a 2xx answer;
 * ok_events: the events of the POSTs answered 2xx; answered: any status; failed: no answer).
 * Exit status 0, or 2 for bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TABS_MAX_RETRIES 3
#define TABS_MAX_ANSWER (1 << 20)

enum state { DOWN, CONNECTING, SENDING, WAITING, IDLE };

struct client {
    int fd;
    enum state st;
    int reused;    /* the connection has carried an answer */
    int pending;   /* a tick came while a request was in flight */
    int path_i;    /* --get: the path being asked */
    int retries;   /* of the request in flight */
    double due_ms; /* when the request in flight was due */
    size_t sent;   /* bytes of the request sent */
    char *in;      /* the answer so far */
    size_t in_len, in_cap;
};

static const char *host = "127.0.0.1", *site = "tabs-site";
static int port, n_clients = 1000, n_events = 1, n_paths;
static double seconds = 10, period_ms = 2000, timeout_ms = 10000;
static char *paths[16];
static char post_req[8192];
static size_t post_len;
static struct client *clients;
static int ep;
static double *lat;
static size_t n_lat, cap_lat;
static long requests, answered, ok, failed, retried, closed_idle, connects, ok_events;
static struct timespec t0;

static double
now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static void
watch(struct client *c, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
drop(struct client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->st = DOWN;
    c->reused = 0;
    c->in_len = 0;
}

/* The bytes of the request in flight (a GET's are built into buf). */
static const char *
request_bytes(const struct client *c, char *buf, size_t cap, size_t *len)
{
    if (n_paths == 0) {
        *len = post_len;
        return post_req;
    }
    int n = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n",
                     paths[c->path_i], host);
    *len = (size_t)n < cap ? (size_t)n : cap - 1;
    return buf;
}

static void
record(double ms)
{
    if (n_lat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 4096;
        double *nl = realloc(lat, cap_lat * sizeof *lat);
        if (nl == NULL) {
            perror("tabs: realloc");
            exit(1);
        }
        lat = nl;
    }
    lat[n_lat++] = ms;
}

static void fail_request(struct client *c);

/* Send what is left of the request; on a connection not yet open, open it. */
static void
push(struct client *c)
{
    char buf[512];
    size_t len;
    const char *req;

    if (c->st == DOWN) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        int one = 1;
        inet_pton(AF_INET, host, &sa.sin_addr);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            perror("tabs: socket");
            exit(1);
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connects++;
        c->st = CONNECTING;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
            fail_request(c);
        }
        return;
    }
    c->st = SENDING;
    req = request_bytes(c, buf, sizeof buf, &len);
    while (c->sent < len) {
        ssize_t w = send(c->fd, req + c->sent, len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            watch(c, EPOLLOUT | EPOLLIN | EPOLLRDHUP);
            return;
        }
        if (w <= 0) {
            fail_request(c);
            return;
        }
        c->sent += (size_t)w;
    }
    c->st = WAITING;
    watch(c, EPOLLIN | EPOLLRDHUP);
}

static void
start_request(struct client *c, double due)
{
    requests++;
    c->due_ms = due;
    c->retries = 0;
    c->sent = 0;
    c->in_len = 0;
    push(c);
}

/* The request in flight got no answer: send it again on a new connection when the old
 * one had carried answers (the server closed it as the request left), else give it up. */
static void
fail_request(struct client *c)
{
    int again = c->reused && c->in_len == 0 && c->retries < TABS_MAX_RETRIES;

    drop(c);
    if (again) {
        retried++;
        c->retries++;
        c->sent = 0;
        push(c);
        return;
    }
    failed++;
    c->path_i = 0;
    if (c->pending) {
        c->pending = 0;
        start_request(c, now_ms());
    }
}

/* The answer in c->in is complete when it returns its length; 0 while it is not. */
static size_t
answer_length(const struct client *c, int *status, int *closes)
{
    char *end, *p;
    long clen = 0;

    if (c->in_len < 12 || (end = strstr(c->in, "\r\n\r\n")) == NULL) {
        return 0;
    }
    *status = atoi(c->in + 9);
    *closes = 0;
    for (p = strstr(c->in, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0) {
            clen = strtol(p + 17, NULL, 10);
        } else if (strncasecmp(p + 2, "Connection: close", 17) == 0) {
            *closes = 1;
        }
    }
    size_t total = (size_t)(end + 4 - c->in) + (size_t)clen;
    return c->in_len >= total ? total : 0;
}

static void
on_answer(struct client *c, int status, int closes)
{
    double t = now_ms();

    answered++;
    record(t - c->due_ms);
    if (status >= 200 && status < 300) {
        ok++;
        ok_events += n_paths == 0 ? n_events : 0;
    }
    c->reused = 1;
    c->in_len = 0;
    c->st = IDLE;
    if (closes) {
        drop(c);
    }
    if (n_paths > 0 && ++c->path_i < n_paths) {
        c->sent = 0;
        requests++;
        c->due_ms = t;
        c->retries = 0;
        push(c);
        return;
    }
    c->path_i = 0;
    if (c->pending) {
        c->pending = 0;
        start_request(c, t);
    }
}

static void
on_readable(struct client *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : 8192;
            char *ni = ncap <= TABS_MAX_ANSWER ? realloc(c->in, ncap + 1) : NULL;
            if (ni == NULL) {
                fail_request(c);
                return;
            }
            c->in = ni;
            c->in_cap = ncap;
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r < 0 && errno == EAGAIN) {
            return;
        }
        if (r <= 0) {
            if (c->st == IDLE) {
                closed_idle++;
                drop(c);
            } else {
                fail_request(c);
            }
            return;
        }
        c->in_len += (size_t)r;
        c->in[c->in_len] = '\0';
        int status, closes;
        size_t len = c->st == WAITING ? answer_length(c, &status, &closes) : 0;
        if (len > 0) {
            on_answer(c, status, closes);
            if (c->st != WAITING && c->st != SENDING) {
                return;
            }
        }
    }
}

static void
on_event(struct client *c, unsigned events)
{
    if (c->st == CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            fail_request(c);
            return;
        }
        if (events & EPOLLOUT) {
            push(c);
        }
        return;
    }
    if (c->st == SENDING && (events & EPOLLOUT)) {
        push(c);
    }
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        on_readable(c);
    }
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
pct(double p)
{
    size_t i = (size_t)(p * (double)n_lat);
    return n_lat == 0 ? 0 : lat[i < n_lat ? i : n_lat - 1];
}

static int
parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(k, "--host") == 0) {
            host = v;
        } else if (strcmp(k, "--clients") == 0) {
            n_clients = atoi(v);
        } else if (strcmp(k, "--seconds") == 0) {
            seconds = atof(v);
        } else if (strcmp(k, "--period-ms") == 0) {
            period_ms = atof(v);
        } else if (strcmp(k, "--site") == 0) {
            site = v;
        } else if (strcmp(k, "--events") == 0) {
            n_events = atoi(v);
        } else if (strcmp(k, "--timeout-ms") == 0) {
            timeout_ms = atof(v);
        } else if (strcmp(k, "--get") == 0) {
            for (char *s = strtok(argv[i + 1], " "); s && n_paths < 16; s = strtok(NULL, " ")) {
                paths[n_paths++] = s;
            }
        } else {
            return -1;
        }
    }
    return port > 0 && n_clients > 0 && period_ms > 0 && n_events > 0 && n_events <= 50 ? 0 : -1;
}

/* The POST /events request, --events events of --site. */
static void
build_post(void)
{
    char body[6144];
    size_t n = 0;

    body[n++] = '[';
    for (int i = 0; i < n_events; i++) {
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"site_id\":\"%s\",\"event_type\":\"page_view\",\"path\":\"/p\","
                              "\"timestamp\":\"2025-11-15T10:00:00Z\"}",
                              i ? "," : "", site);
    }
    body[n++] = ']';
    post_len = (size_t)snprintf(post_req, sizeof post_req,
                                "POST /events HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                                "application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
                                host, n, (int)n, body);
}

int
main(int argc, char **argv)
{
    struct epoll_event evs[256];
    long tick = 0;
    double next_sweep = 100;

    if (parse_args(argc, argv) != 0 || strlen(site) > 64) {
        fprintf(stderr, "usage: tabs --port P [--clients N] [--seconds S] [--period-ms MS] "
                        "[--site S] [--events 1-50] [--get \"PATH...\"] [--timeout-ms MS]\n");
        return 2;
    }
    build_post();
    clients = calloc((size_t)n_clients, sizeof *clients);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (clients == NULL || ep < 0) {
        perror("tabs");
        return 1;
    }
    for (int i = 0; i < n_clients; i++) {
        clients[i].fd = -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        double t = now_ms(), step = period_ms / n_clients;
        int busy = 0;
        /* Tick k is client k mod N's, due at k * period / N. */
        while (t < seconds * 1e3 && (double)tick * step <= t) {
            struct client *c = &clients[tick % n_clients];
            if (c->st == DOWN || c->st == IDLE) {
                start_request(c, (double)tick * step);
            } else {
                c->pending = 1;
            }
            tick++;
        }
        if (t >= next_sweep) {
            next_sweep = t + 100;
            for (int i = 0; i < n_clients; i++) {
                struct client *c = &clients[i];
                if (c->st != DOWN && c->st != IDLE && t - c->due_ms > timeout_ms) {
                    c->retries = TABS_MAX_RETRIES;
                    fail_request(c);
                }
                busy |= c->st != DOWN && c->st != IDLE;
            }
            if (t >= seconds * 1e3 && !busy) {
                break;
            }
        }
        int wait = t < seconds * 1e3 ? (int)((double)tick * step - t) + 1 : 100;
        int n = epoll_wait(ep, evs, 256, wait < 100 ? wait : 100);
        for (int i = 0; i < n; i++) {
            on_event(evs[i].data.ptr, evs[i].events);
        }
    }
    qsort(lat, n_lat, sizeof *lat, cmp);
    printf("clients=%d requests=%ld answered=%ld ok=%ld failed=%ld retried=%ld closed_idle=%ld "
           "connects=%ld ok_events=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           n_clients, requests, answered, ok, failed, retried, closed_idle, connects, ok_events,
           pct(0.50), pct(0.99), n_lat ? lat[n_lat - 1] : 0);
    for (int i = 0; i < n_clients; i++) {
        drop(&clients[i]);
        free(clients[i].in);
    }
    free(clients);
    free(lat);
    close(ep);
    return 0;
}
