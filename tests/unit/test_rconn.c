/* test_rconn.c - unit tests for common/rconn.c: what a failed timeout change leaves behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rconn.h"

/* The fake server: redisConnectWithTimeout() (wrapped, see the Makefile) connects to one
 * end of a socket pair; the test plays Redis on the other. redisSetTimeout() (wrapped)
 * fails on the call numbered fail_timeout_call (1: the first), and records the timeouts
 * it was asked for. */
static int server_fd = -1;
static int connects;
static int timeout_calls;
static int fail_timeout_call;
static long last_timeout_ms;
static const char *greeting; /* written to the server's end of each new connection */

redisContext *__real_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
int __real_redisSetTimeout(redisContext *c, const struct timeval tv);
int __wrap_redisSetTimeout(redisContext *c, const struct timeval tv);

redisContext *
__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv)
{
    int sv[2];

    (void)ip;
    (void)port;
    (void)tv;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if (server_fd >= 0) {
        close(server_fd);
    }
    server_fd = sv[1];
    connects++;
    if (greeting != NULL) {
        assert_int_equal(write(server_fd, greeting, strlen(greeting)), (ssize_t)strlen(greeting));
    }
    return redisConnectFd(sv[0]);
}

int
__wrap_redisSetTimeout(redisContext *c, const struct timeval tv)
{
    timeout_calls++;
    if (timeout_calls == fail_timeout_call) {
        return REDIS_ERR;
    }
    last_timeout_ms = (long)tv.tv_sec * 1000 + (long)tv.tv_usec / 1000;
    return __real_redisSetTimeout(c, tv);
}

static const struct rconn_opts opts = {"127.0.0.1", 6379, NULL, 500, NULL, NULL};

static int
setup(void **state)
{
    (void)state;
    connects = timeout_calls = fail_timeout_call = 0;
    last_timeout_ms = 0;
    greeting = NULL;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    if (server_fd >= 0) {
        close(server_fd);
        server_fd = -1;
    }
    return 0;
}

/* The server's answer to the next command, queued before it is sent. */
static void
answer(const char *resp)
{
    assert_int_equal(write(server_fd, resp, strlen(resp)), (ssize_t)strlen(resp));
}

/* The bytes the client sent that the server has not read yet (read now). */
static ssize_t
received(void)
{
    char buf[256];
    ssize_t n, total = 0;

    while ((n = recv(server_fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        total += n;
    }
    return total;
}

/* A new connection, connected (a PING answered PONG), so that the next calls find it so. */
static rconn_t *
connected(void)
{
    rconn_t *c = rconn_new(&opts);
    struct app_err err = {0};

    assert_non_null(c);
    assert_non_null(rconn_context(c, &err));
    answer("+PONG\r\n");
    assert_int_equal(rconn_ping(c, &err), 0);
    assert_true(received() > 0);
    assert_int_equal(connects, 1);
    assert_int_equal(timeout_calls, 1);
    return c;
}

/* A blocking command on c whose reply (RESP) is queued first; the reply, non-NULL. */
static void
blmove(rconn_t *c, const char *resp)
{
    struct app_err err = {0};
    redisReply *r;

    answer(resp);
    r = rconn_command_blocking(c, 5000, &err, "BLMOVE a b RIGHT LEFT 5");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(timeout_calls, 3); /* 1: at connect, 2: raised, 3: put back */
}

/* The blocking command's reply arrives, but the short timeout cannot be put back: the
 * connection, which would keep the long one, is dropped, and the next command goes out on
 * a fresh connection (with the short timeout). */
static void
test_failed_reset_drops_the_connection(void **state)
{
    rconn_t *c = connected();
    struct app_err err = {0};

    (void)state;
    fail_timeout_call = 3;
    blmove(c, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    /* What the old connection would read, if it were still open (it is not: EPIPE). */
    (void)!send(server_fd, "-ERR old\r\n", 10, MSG_NOSIGNAL);
    greeting = "+PONG\r\n"; /* what a new one reads */
    assert_int_equal(rconn_ping(c, &err), 0);
    assert_int_equal(connects, 2);
    assert_int_equal(last_timeout_ms, 500);
    rconn_free(c);
}

/* The long timeout cannot be set: the blocking command is not sent (it would time out
 * on the short one, the server still blocking on it), and the caller learns it. */
static void
test_failed_raise_sends_nothing(void **state)
{
    rconn_t *c = connected();
    struct app_err err = {0};

    (void)state;
    fail_timeout_call = 2;
    assert_null(rconn_command_blocking(c, 5000, &err, "BLMOVE a b RIGHT LEFT 5"));
    assert_int_equal(err.code, ERR_TRANSIENT);
    assert_int_equal(received(), 0); /* nothing reached the server */
    rconn_free(c);
}

/* A successful blocking command puts the short timeout back and keeps the connection. */
static void
test_blocking_restores_the_timeout(void **state)
{
    rconn_t *c = connected();
    struct app_err err = {0};

    (void)state;
    blmove(c, "*-1\r\n");
    assert_int_equal(last_timeout_ms, 500);
    answer("+PONG\r\n");
    assert_int_equal(rconn_ping(c, &err), 0);
    assert_int_equal(connects, 1);
    rconn_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_reset_drops_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_raise_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_restores_the_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
