/* test_pusher.c - unit tests for the parts of ingest/pusher.c that need no Redis server:
 * the outcome of the WAIT that follows a group commit under REDIS_WAIT_REPLICAS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pusher.h"

static redisReply
integer(long long n)
{
    return (redisReply){.type = REDIS_REPLY_INTEGER, .integer = n};
}

/* Enough replicas: 0, err untouched. */
static void
test_wait_enough(void **state)
{
    struct app_err err = {0};
    redisReply one = integer(1), three = integer(3);

    (void)state;
    assert_int_equal(pusher_wait_outcome(&one, 1, 300, &err), 0);
    assert_int_equal(pusher_wait_outcome(&three, 2, 300, &err), 0);
    assert_int_equal(err.code, ERR_NONE);
}

/* Fewer than asked: the push is on the master only, so the outcome is unknown. */
static void
test_wait_too_few(void **state)
{
    struct app_err err = {0};
    redisReply zero = integer(0), one = integer(1);

    (void)state;
    assert_int_equal(pusher_wait_outcome(&zero, 1, 300, &err), -1);
    assert_int_equal(err.code, ERR_UNKNOWN);
    assert_string_equal(err.msg, "redis WAIT: 0 of 1 replicas acknowledged within 300 ms");
    assert_int_equal(pusher_wait_outcome(&one, 2, 50, &err), -1);
    assert_string_equal(err.msg, "redis WAIT: 1 of 2 replicas acknowledged within 50 ms");
}

/* An error reply (WAIT refused, e.g. on a replica), another reply type, or no reply at all
 * (err already set by the connection: kept in the message). */
static void
test_wait_failed(void **state)
{
    struct app_err err = {0};
    redisReply e = {.type = REDIS_REPLY_ERROR, .str = "ERR WAIT cannot be used with replica"};
    redisReply nil = {.type = REDIS_REPLY_NIL};

    (void)state;
    assert_int_equal(pusher_wait_outcome(&e, 1, 300, &err), -1);
    assert_int_equal(err.code, ERR_UNKNOWN);
    assert_string_equal(err.msg, "redis WAIT: ERR WAIT cannot be used with replica");
    assert_int_equal(pusher_wait_outcome(&nil, 1, 300, &err), -1);
    assert_string_equal(err.msg, "redis WAIT: unexpected reply");
    err_set(&err, ERR_UNKNOWN, "redis 127.0.0.1:6379: Resource temporarily unavailable");
    assert_int_equal(pusher_wait_outcome(NULL, 1, 300, &err), -1);
    assert_int_equal(err.code, ERR_UNKNOWN);
    assert_string_equal(err.msg,
                        "redis WAIT: redis 127.0.0.1:6379: Resource temporarily unavailable");
    err_set(&err, ERR_TRANSIENT, "redis: connection refused");
    assert_int_equal(pusher_wait_outcome(NULL, 1, 300, &err), -1);
    assert_int_equal(err.code, ERR_UNKNOWN); /* the LPUSH went through all the same */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_enough),
        cmocka_unit_test(test_wait_too_few),
        cmocka_unit_test(test_wait_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
