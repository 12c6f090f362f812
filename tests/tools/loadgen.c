/* loadgen.c - sustained POST /event load for the fault tests, recording every 202.
 *
 *   loadgen --port P [--host 127.0.0.1] [--connections 4] [--seconds 10] [--max N]
 *           [--rate R] [--tag T] [--site S] [--random SEED | --users U] --out FILE
 *
 * Each connection is a thread with one keep-alive HTTP/1.1 socket. Every event is
 * unique: properties.seq = "<tag>-<thread>-<n>". For each 202 a line "<id> <seq>" goes
 * to FILE; a request whose answer never came (connection lost, 5 s timeout) is written
 * as "? <seq>" since it may or may not have been queued. At the end one line on stdout:
 * "sent=N accepted=N rejected=N unknown=N" (rejected: answered, not 202). Stops after
 * --seconds, after --max events in all, or on SIGTERM/SIGINT. --rate caps events per
 * second over all connections.
 *
 * With --retries R each event carries "event_id":"<seq>" and is sent again, the same bytes,
 * 100 ms later, when it was answered 503 or its answer never came (or ingest could not be
 * reached), up to R more times, as a client that wants it stored once would. An event whose
 * last try was not a 202 is written as "? <seq>" when any try may have queued it (a 503, or
 * no answer; counted as unknown), else not at all (rejected); the summary line then ends
 * with " retries=N", the tries beyond each event's first.
 *
 * Without --random the events cycle through fixed patterns (2025-11-15, 7 paths, 50
 * users, page_view and click); --users U gives each connection U users of its own instead
 * ("u<connection>-<n % U>": with U at least the events per connection, every event has a
 * visitor of its own, so they spread over the queue shards as evenly as visitors can). With
 * --random SEED they are drawn from a PRNG seeded with
 * SEED and the thread number: event_type page_view, click or signup; path one of 20, or
 * absent, or empty; user_id one of 100, or absent, or empty; timestamp any second of
 * 2025-11-15 or 2025-11-16 (UTC), written with a +02:00 or Z zone; properties.referrer one
 * of four URLs of three hosts, not a URL, or absent.
 *
 *   loadgen --port P --fresh N --stats-port R [--site S] [--tag T] [--seconds S] --out FILE
 *
 * Freshness probes instead of load (make bench): N events, one after another, each with a
 * user_id of its own ("fresh-<tag>-<k>", on 2025-11-15), and after each 202 GET /stats of
 * that site and day from reporting on port R, again and again (1 ms apart) until its
 * unique_users has grown by one: the time from the 202 to that answer is the event's
 * freshness. Each probe waits at most --seconds (default 10); a probe that times out fails
 * the run (exit 1). FILE gets one line per probe, its freshness in ms; stdout one line
 * "probes=N p50_ms=X p99_ms=Y max_ms=Z". Nothing else may add users to that site-day
 * meanwhile. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 0, connections = 4;
static double seconds = 10, rate = 0;
static long max_events = -1;
static long seed = -1;          /* --random: < 0 means fixed patterns */
static long users_per_conn = 0; /* --users: > 0 means U users per connection (fixed patterns) */
static const char *tag = "t", *site = "load-site";
static long fresh = 0;   /* --fresh: probes to run (0: load instead) */
static int retries = -1; /* --retries: < 0 means no event_id and no retry */
static int stats_port;   /* --stats-port: reporting */
static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long issued, sent, accepted, rejected, unknown, retried;
static volatile sig_atomic_t stop;
static struct timespec started;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double
elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

static int
connect_to_port(int to_port)
{
    struct sockaddr_in addr;
    struct timeval tv = {5, 0};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)to_port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int
connect_to(void)
{
    return connect_to_port(port);
}

static int
send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Read one response; returns the status and copies the body into body. -1 on error. */
static int
read_response(int fd, char *body, size_t bodysz)
{
    char buf[8192];
    size_t have = 0;
    char *hdr_end = NULL;
    long clen = 0;
    int status;

    while (hdr_end == NULL) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
        if (hdr_end == NULL && have >= sizeof buf - 1) {
            return -1;
        }
    }
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        return -1;
    }
    char *cl = strstr(buf, "\r\nContent-Length:");
    if (cl != NULL && cl < hdr_end) {
        clen = strtol(cl + 17, NULL, 10);
    }
    size_t body_have = have - (size_t)(hdr_end + 4 - buf);
    if (clen < 0 || (size_t)clen >= sizeof buf) {
        return -1;
    }
    while (body_have < (size_t)clen) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
        body_have += (size_t)r;
    }
    size_t n = (size_t)clen < bodysz - 1 ? (size_t)clen : bodysz - 1;
    memcpy(body, hdr_end + 4, n);
    body[n] = '\0';
    return status;
}

static void
record(const char *id, const char *seq)
{
    pthread_mutex_lock(&out_lock);
    fprintf(out, "%s %s\n", id, seq);
    fflush(out); /* a test may count the lines while the load runs */
    pthread_mutex_unlock(&out_lock);
}

/* Wait until sending event number k keeps within --rate. */
static void
pace(long k)
{
    if (rate <= 0) {
        return;
    }
    double due = (double)k / rate;
    double now = elapsed();
    if (due > now) {
        struct timespec ts = {(time_t)(due - now),
                              (long)((due - now - (double)(time_t)(due - now)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* The JSON body of event n of thread t (see the header comment); returns its length. */
static int
random_body(char *body, size_t size, long t, long n, const char *seq, unsigned int *rnd)
{
    static const char *const types[] = {"page_view", "click", "signup"};
    /* properties.referrer: four URLs of three hosts, something else, or none (""). */
    static const char *const refs[] = {",\"referrer\":\"https://ref0.example/a\"",
                                       ",\"referrer\":\"http://REF1.example:8080/\"",
                                       ",\"referrer\":\"https://u@ref2.example/x?y\"",
                                       ",\"referrer\":\"https://ref0.example/b\"",
                                       ",\"referrer\":\"not a url\"",
                                       ""};
    char path[32] = "", user[32] = "", eid[160] = "";
    long secs, p, u;

    if (retries >= 0) {
        snprintf(eid, sizeof eid, ",\"event_id\":\"%s\"", seq);
    }
    if (seed < 0 && users_per_conn > 0) {
        return snprintf(body, size,
                        "{\"site_id\":\"%s\",\"event_type\":\"%s\",\"path\":\"/p%ld\","
                        "\"user_id\":\"u%ld-%ld\",\"timestamp\":\"2025-11-15T%02ld:%02ld:00Z\"%s,"
                        "\"properties\":{\"seq\":\"%s\"}}",
                        site, n % 5 ? "page_view" : "click", n % 7, t, n % users_per_conn, n % 24,
                        n % 60, eid, seq);
    }
    if (seed < 0) {
        return snprintf(body, size,
                        "{\"site_id\":\"%s\",\"event_type\":\"%s\",\"path\":\"/p%ld\","
                        "\"user_id\":\"u%ld\",\"timestamp\":\"2025-11-15T%02ld:%02ld:00Z\"%s,"
                        "\"properties\":{\"seq\":\"%s\"}}",
                        site, n % 5 ? "page_view" : "click", n % 7, n % 50, n % 24, n % 60, eid,
                        seq);
    }
    p = rand_r(rnd) % 24;  /* 0-19 a path, 20-21 none, 22-23 empty */
    u = rand_r(rnd) % 110; /* 0-99 a user, 100-104 none, 105-109 empty */
    secs = rand_r(rnd) % (2 * 86400);
    if (p < 20) {
        snprintf(path, sizeof path, ",\"path\":\"/r%ld\"", p);
    } else if (p >= 22) {
        snprintf(path, sizeof path, ",\"path\":\"\"");
    }
    if (u < 100) {
        snprintf(user, sizeof user, ",\"user_id\":\"ru%ld\"", u);
    } else if (u >= 105) {
        snprintf(user, sizeof user, ",\"user_id\":\"\"");
    }
    /* Half of them the same instant written in +02:00. */
    long offset = rand_r(rnd) % 2 ? 2 * 3600 : 0, local = secs + offset;
    /* The referrer from the time, not another draw: the other fields stay as they were. */
    const char *type = types[rand_r(rnd) % 3], *ref = refs[secs / 7 % 6];
    return snprintf(body, size,
                    "{\"site_id\":\"%s\",\"event_type\":\"%s\"%s%s%s,"
                    "\"timestamp\":\"2025-11-%02ldT%02ld:%02ld:%02ld%s\","
                    "\"properties\":{\"seq\":\"%s\"%s}}",
                    site, type, path, user, eid, 15 + local / 86400, local % 86400 / 3600,
                    local % 3600 / 60, local % 60, offset ? "+02:00" : "Z", seq, ref);
}

/* One try of request req on *fd (connecting first when it is -1): the status, with the
 * body in resp; -1 when the answer never came (the socket is closed, *fd -1); -2 when
 * ingest could not be reached (nothing sent). */
static int
try_once(int *fd, const char *req, size_t len, char *resp, size_t respsz)
{
    if (*fd < 0 && (*fd = connect_to()) < 0) {
        return -2;
    }
    int status = send_all(*fd, req, len) != 0 ? -1 : read_response(*fd, resp, respsz);
    if (status < 0) {
        close(*fd);
        *fd = -1;
    }
    return status;
}

static void *
worker(void *arg)
{
    const struct timespec pause = {0, 20 * 1000000L}, backoff = {0, 100 * 1000000L};
    long t = (long)(intptr_t)arg;
    char req[2048], body[512], resp[512], seq[128];
    unsigned int rnd = (unsigned int)(seed * 1000003 + t);
    int fd = -1;

    for (long n = 0; !stop && elapsed() < seconds; n++) {
        long k = atomic_fetch_add(&issued, 1);
        if (max_events >= 0 && k >= max_events) {
            break;
        }
        pace(k);
        snprintf(seq, sizeof seq, "%s-%ld-%ld", tag, t, n);
        int blen = random_body(body, sizeof body, t, n, seq, &rnd);
        int rlen = snprintf(req, sizeof req,
                            "POST /event HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            host, blen, body);
        int status = try_once(&fd, req, (size_t)rlen, resp, sizeof resp);
        /* maybe: a try may have queued the event (its answer was lost, or a 503). */
        int maybe = status == -1 || status == 503;
        for (int r = 0; r < retries && !stop && (status < 0 || status == 503); r++) {
            nanosleep(&backoff, NULL);
            atomic_fetch_add(&retried, 1);
            status = try_once(&fd, req, (size_t)rlen, resp, sizeof resp);
            maybe = maybe || status == -1 || status == 503;
        }
        atomic_fetch_add(&sent, 1);
        char *id = status == 202 ? strstr(resp, "\"id\":\"") : NULL;
        if (id != NULL) {
            id += 6;
            char *end = strchr(id, '"');
            if (end != NULL) {
                *end = '\0';
            }
            record(id, seq);
            atomic_fetch_add(&accepted, 1);
        } else if (status == -1 || (retries >= 0 && maybe)) {
            atomic_fetch_add(&unknown, 1);
            record("?", seq);
        } else {
            if (status == -2) {
                /* Not sent at all: the server is down. Try again shortly. */
                nanosleep(&pause, NULL);
            }
            atomic_fetch_add(&rejected, 1);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

/* unique_users of GET /stats for the site on 2025-11-15, or -1 on any error. */
static long
stats_users(int fd)
{
    char req[512], resp[4096];
    int len =
        snprintf(req, sizeof req,
                 "GET /stats?site_id=%s&date=2025-11-15 HTTP/1.1\r\nHost: %s\r\n\r\n", site, host);
    const char *u;

    if (send_all(fd, req, (size_t)len) != 0 || read_response(fd, resp, sizeof resp) != 200 ||
        (u = strstr(resp, "\"unique_users\":")) == NULL) {
        return -1;
    }
    return strtol(u + 15, NULL, 10);
}

static int
cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return (a > b) - (a < b);
}

/* The --fresh mode (see the header comment). Returns the exit status. */
static int
fresh_probes(void)
{
    const struct timespec gap = {0, 1000000L};
    char req[1024], body[512], resp[512];
    double *ms = calloc((size_t)fresh, sizeof *ms);
    int in = connect_to(), rep = connect_to_port(stats_port), rc = 1;
    long base;

    if (ms == NULL || in < 0 || rep < 0 || (base = stats_users(rep)) < 0) {
        fprintf(stderr, "loadgen: cannot reach ingest or reporting's /stats\n");
        goto done;
    }
    for (long k = 0; k < fresh; k++) {
        int blen = snprintf(body, sizeof body,
                            "{\"site_id\":\"%s\",\"event_type\":\"page_view\",\"path\":\"/fresh\","
                            "\"user_id\":\"fresh-%s-%ld\",\"timestamp\":\"2025-11-15T12:00:00Z\"}",
                            site, tag, k);
        int rlen = snprintf(req, sizeof req,
                            "POST /event HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            host, blen, body);
        double t0, now;
        long users;
        /* A connection of its own: the last one may have idled past the keep-alive timeout
         * while the previous probe polled. */
        close(in);
        resp[0] = '\0';
        if ((in = connect_to()) < 0 || send_all(in, req, (size_t)rlen) != 0 ||
            read_response(in, resp, sizeof resp) != 202) {
            fprintf(stderr, "loadgen: probe %ld was not accepted: %s\n", k, resp);
            goto done;
        }
        t0 = elapsed();
        while ((users = stats_users(rep)) < base + k + 1 && (now = elapsed()) - t0 < seconds) {
            if (users < 0) { /* the connection closed: another, and ask again */
                close(rep);
                if ((rep = connect_to_port(stats_port)) < 0) {
                    break;
                }
                continue;
            }
            nanosleep(&gap, NULL);
        }
        now = elapsed();
        if (users != base + k + 1) {
            fprintf(stderr,
                    "loadgen: probe %ld: /stats has %ld users, not %ld, %.1f s after the 202\n", k,
                    users, base + k + 1, now - t0);
            goto done;
        }
        ms[k] = (now - t0) * 1000;
        fprintf(out, "%.1f\n", ms[k]);
    }
    qsort(ms, (size_t)fresh, sizeof *ms, cmp_double);
    printf("probes=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", fresh, ms[(fresh - 1) / 2],
           ms[(fresh * 99 + 99) / 100 - 1], ms[fresh - 1]);
    rc = 0;
done:
    if (in >= 0) {
        close(in);
    }
    if (rep >= 0) {
        close(rep);
    }
    free(ms);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *out_path = NULL;
    pthread_t threads[256];
    struct sigaction sa;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(k, "--host") == 0) {
            host = v;
        } else if (strcmp(k, "--connections") == 0) {
            connections = atoi(v);
        } else if (strcmp(k, "--seconds") == 0) {
            seconds = atof(v);
        } else if (strcmp(k, "--max") == 0) {
            max_events = atol(v);
        } else if (strcmp(k, "--rate") == 0) {
            rate = atof(v);
        } else if (strcmp(k, "--tag") == 0) {
            tag = v;
        } else if (strcmp(k, "--site") == 0) {
            site = v;
        } else if (strcmp(k, "--users") == 0) {
            users_per_conn = atol(v);
        } else if (strcmp(k, "--random") == 0) {
            seed = atol(v);
        } else if (strcmp(k, "--out") == 0) {
            out_path = v;
        } else if (strcmp(k, "--fresh") == 0) {
            fresh = atol(v);
        } else if (strcmp(k, "--retries") == 0) {
            retries = atoi(v);
        } else if (strcmp(k, "--stats-port") == 0) {
            stats_port = atoi(v);
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", k);
            return 2;
        }
    }
    if (port <= 0 || out_path == NULL || connections < 1 || connections > 256 || fresh < 0 ||
        (fresh > 0 && stats_port <= 0)) {
        fprintf(stderr, "usage: loadgen --port P --out FILE [--connections C] [--seconds S] "
                        "[--max N] [--rate R] [--tag T] [--site S] [--random SEED | --users U] "
                        "[--retries R]\n"
                        "       loadgen --port P --out FILE --fresh N --stats-port R [--site S] "
                        "[--tag T] [--seconds S]\n");
        return 2;
    }
    out = fopen(out_path, "w");
    if (out == NULL) {
        perror(out_path);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (fresh > 0) {
        int rc = fresh_probes();
        fclose(out);
        return rc;
    }
    for (long t = 0; t < connections; t++) {
        pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
    }
    for (int t = 0; t < connections; t++) {
        pthread_join(threads[t], NULL);
    }
    fclose(out);
    printf("sent=%ld accepted=%ld rejected=%ld unknown=%ld", atomic_load(&sent),
           atomic_load(&accepted), atomic_load(&rejected), atomic_load(&unknown));
    if (retries >= 0) {
        printf(" retries=%ld", atomic_load(&retried));
    }
    printf("\n");
    return 0;
}
