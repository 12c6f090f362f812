/* test_http_pool.c - unit tests for common/http_pool.c: which idle connection gives way, when. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_pool.h"

/* One connection over loopback: the server's end (the pool's) and the client's. */
struct conn {
    int server, client, peer_port;
};

static void
open_conn(struct conn *c)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(lfd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    c->client = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c->client, (struct sockaddr *)&sa, sizeof sa), 0);
    c->server = accept(lfd, NULL, NULL);
    assert_true(c->server >= 0);
    len = sizeof sa;
    assert_int_equal(getsockname(c->client, (struct sockaddr *)&sa, &len), 0);
    c->peer_port = ntohs(sa.sin_port);
    close(lfd);
}

static void
close_conn(struct conn *c)
{
    close(c->server);
    close(c->client);
}

/* Whether the pool shut the server's end down for reading: a read there ends at once. */
static int
was_cut(const struct conn *c)
{
    char b;
    return recv(c->server, &b, 1, MSG_DONTWAIT) == 0;
}

/* A worker thread of the pool: it takes c, and when served (1), answers one request on it.
 * The thread ends there, leaving its slot as it was (idle), as a worker waiting would; served
 * 2: it then ends the connection too. */
struct worker {
    http_pool_t *p;
    struct conn *c;
    int served;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    http_pool_connection(w->p, w->c->server, w->c->peer_port);
    if (w->served) {
        http_pool_request();
        http_pool_request_end();
    }
    if (w->served == 2) {
        http_pool_connection_end();
    }
    return NULL;
}

static void
take(http_pool_t *p, struct conn *c, int served)
{
    struct worker w = {p, c, served};
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* (Apart by more than the clock's millisecond, so that "longest idle" is decided.) */
static void
next_ms(void)
{
    const struct timespec d = {0, 5 * 1000000L};
    nanosleep(&d, NULL);
}

/* With no worker free, the kept-alive connection gives way to the new one. */
static void
test_full_pool_closes_idle(void **state)
{
    struct conn a, b;
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(2, NULL);

    (void)state;
    assert_non_null(p);
    open_conn(&a);
    open_conn(&b);
    take(p, &a, 1);
    assert_false(was_cut(&a));
    take(p, &b, 0);
    assert_true(was_cut(&a));
    assert_false(was_cut(&b));
    http_pool_stats(p, &st);
    assert_int_equal(st.threads, 2);
    assert_int_equal(st.idle, 2);
    assert_int_equal(st.in_request, 0);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.exhausted, 0);
    http_pool_free(p);
    close_conn(&a);
    close_conn(&b);
}

/* The longest-idle goes first, and only as many as the reserve needs. */
static void
test_longest_idle_first(void **state)
{
    struct conn c[3];
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(3, NULL);

    (void)state;
    assert_non_null(p);
    for (int i = 0; i < 3; i++) {
        open_conn(&c[i]);
    }
    take(p, &c[0], 1);
    next_ms();
    take(p, &c[1], 1);
    next_ms();
    take(p, &c[2], 0);
    assert_true(was_cut(&c[0]));
    assert_false(was_cut(&c[1]));
    assert_false(was_cut(&c[2]));
    http_pool_stats(p, &st);
    assert_int_equal(st.closed, 1);
    http_pool_free(p);
    for (int i = 0; i < 3; i++) {
        close_conn(&c[i]);
    }
}

/* A connection whose next request is already there is served, not closed; nothing else to
 * free leaves the pool exhausted. */
static void
test_request_waiting_is_kept(void **state)
{
    struct conn a, b;
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(2, NULL);

    (void)state;
    assert_non_null(p);
    open_conn(&a);
    open_conn(&b);
    take(p, &a, 1);
    assert_int_equal(send(a.client, "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
    take(p, &b, 0);
    http_pool_stats(p, &st);
    assert_int_equal(st.closed, 0);
    assert_int_equal(st.exhausted, 1);
    http_pool_free(p);
    close_conn(&a);
    close_conn(&b);
}

/* A connection still waiting for its first request (sent as it connected, perhaps on its
 * way) is not closed at once, even with no worker free. */
static void
test_new_connection_kept(void **state)
{
    struct conn a, b;
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(2, NULL);

    (void)state;
    assert_non_null(p);
    open_conn(&a);
    open_conn(&b);
    take(p, &a, 0);
    take(p, &b, 0);
    assert_false(was_cut(&a));
    http_pool_stats(p, &st);
    assert_int_equal(st.closed, 0);
    assert_int_equal(st.exhausted, 1);
    http_pool_free(p);
    close_conn(&a);
    close_conn(&b);
}

/* While the pool has room, idle connections stay. */
static void
test_room_keeps_idle(void **state)
{
    struct conn c[4];
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(16, NULL);

    (void)state;
    assert_non_null(p);
    for (int i = 0; i < 4; i++) {
        open_conn(&c[i]);
        take(p, &c[i], 1);
    }
    for (int i = 0; i < 4; i++) {
        assert_false(was_cut(&c[i]));
    }
    http_pool_stats(p, &st);
    assert_int_equal(st.idle, 4);
    assert_int_equal(st.closed, 0);
    http_pool_free(p);
    for (int i = 0; i < 4; i++) {
        close_conn(&c[i]);
    }
}

/* A lone worker closes its connection once it has answered (the reserve is 1 of 1), and a
 * connection that ended frees its slot. */
static void
test_lone_worker_and_end(void **state)
{
    struct conn a;
    struct http_pool_stats st;
    http_pool_t *p = http_pool_new(1, NULL);

    (void)state;
    assert_non_null(p);
    open_conn(&a);
    take(p, &a, 1);
    assert_true(was_cut(&a));
    http_pool_stats(p, &st);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.idle, 1);
    http_pool_free(p);
    close_conn(&a);

    p = http_pool_new(8, NULL);
    assert_non_null(p);
    open_conn(&a);
    take(p, &a, 2);
    http_pool_stats(p, &st);
    assert_int_equal(st.idle + st.in_request, 0);
    assert_int_equal(st.closed, 0);
    http_pool_free(p);
    close_conn(&a);
    assert_int_equal(HTTP_POOL_RESERVE(1), 1);
    assert_int_equal(HTTP_POOL_RESERVE(256), 32);
    assert_int_equal(HTTP_POOL_RESERVE(4096), 64);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_pool_closes_idle),   cmocka_unit_test(test_longest_idle_first),
        cmocka_unit_test(test_request_waiting_is_kept), cmocka_unit_test(test_new_connection_kept),
        cmocka_unit_test(test_room_keeps_idle),         cmocka_unit_test(test_lone_worker_and_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
