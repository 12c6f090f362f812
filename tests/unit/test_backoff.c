/* test_backoff.c - unit tests for processor/backoff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <signal.h>

#include "backoff.h"

#define DRAWS 2000
#define MAX_ATTEMPT 20

/* min(cap, base * 2^attempt) without overflow. */
static long
ceiling_for(long base, long cap, unsigned attempt)
{
    long c = base;

    for (unsigned i = 0; i < attempt && c < cap; i++) {
        c = c > cap / 2 ? cap : c * 2;
    }
    return c < cap ? c : cap;
}

/* Draw attempts 0..MAX_ATTEMPT DRAWS times (resetting in between) and check
 * every delay is within [0, ceiling]; also check the top half of each range
 * is reached, so the ceiling really grows (a miss has odds below 2^-1000). */
static void
check_ranges(long base, long cap)
{
    struct backoff b;
    long max_seen[MAX_ATTEMPT + 1] = {0};

    backoff_init(&b, base, cap);
    for (int round = 0; round < DRAWS; round++) {
        for (unsigned a = 0; a <= MAX_ATTEMPT; a++) {
            long ceiling = ceiling_for(base, cap, a);
            long d = backoff_next(&b);
            if (d < 0 || d > ceiling) {
                fail_msg("base %ld cap %ld attempt %u: delay %ld outside [0, %ld]", base, cap, a, d,
                         ceiling);
            }
            if (d > max_seen[a]) {
                max_seen[a] = d;
            }
        }
        backoff_reset(&b);
    }
    for (unsigned a = 0; a <= MAX_ATTEMPT; a++) {
        long ceiling = ceiling_for(base, cap, a);
        if (ceiling >= 2 && max_seen[a] <= ceiling / 2) {
            fail_msg("base %ld cap %ld attempt %u: largest of %d delays is %ld, ceiling %ld", base,
                     cap, a, DRAWS, max_seen[a], ceiling);
        }
    }
}

static void
test_next_within_ceiling(void **state)
{
    (void)state;
    check_ranges(100, 30000);
    check_ranges(100, 1000); /* a cap that is not base * 2^k */
    check_ranges(1, 1L << 20);
    check_ranges(250, 250); /* cap == base: flat */
    check_ranges(1, 1);
}

static void
test_first_delay_at_most_base(void **state)
{
    struct backoff b;

    (void)state;
    for (int i = 0; i < DRAWS; i++) {
        backoff_init(&b, 100, 30000);
        assert_in_range(backoff_next(&b), 0, 100);
    }
}

static void
test_never_exceeds_cap(void **state)
{
    struct backoff b;
    long max_seen = 0;

    (void)state;
    backoff_init(&b, 100, 30000);
    for (int i = 0; i < 100000; i++) {
        long d = backoff_next(&b);
        if (d < 0 || d > 30000) {
            fail_msg("draw %d: delay %ld outside [0, 30000]", i, d);
        }
        if (d > max_seen) {
            max_seen = d;
        }
    }
    assert_true(max_seen > 15000);
}

static void
test_large_cap_does_not_overflow(void **state)
{
    /* base * 2^attempt passes LONG_MAX long before the attempts run out; the
     * ceiling must saturate at cap, not wrap. */
    struct backoff b;

    (void)state;
    backoff_init(&b, 1, LONG_MAX);
    for (unsigned a = 0; a < 80; a++) {
        long d = backoff_next(&b);
        if (d < 0) {
            fail_msg("attempt %u: negative delay %ld", a, d);
        }
    }
    backoff_init(&b, LONG_MAX, LONG_MAX);
    for (int i = 0; i < 10; i++) {
        assert_true(backoff_next(&b) >= 0);
    }
}

static void
test_reset_returns_to_base(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 100, 30000);
    for (int round = 0; round < DRAWS; round++) {
        /* Climb to the cap, then a success. */
        for (int i = 0; i < 12; i++) {
            backoff_next(&b);
        }
        backoff_reset(&b);
        assert_in_range(backoff_next(&b), 0, 100);
        assert_in_range(backoff_next(&b), 0, 200);
        backoff_reset(&b);
    }
}

static void
test_init_clamps_bad_parameters(void **state)
{
    struct backoff b;

    (void)state;
    /* A cap below the base cannot make a negative or out-of-range delay. */
    backoff_init(&b, 100, 10);
    for (int i = 0; i < DRAWS; i++) {
        assert_in_range(backoff_next(&b), 0, 100);
    }
    backoff_init(&b, 0, 0);
    for (int i = 0; i < DRAWS; i++) {
        long d = backoff_next(&b);
        assert_true(d >= 0 && d <= 1);
    }
}

static void
test_sleep_returns_1_when_already_stopped(void **state)
{
    atomic_int stop = 1;

    (void)state;
    /* An hour: if the flag were not checked first, this would hang. */
    assert_int_equal(backoff_sleep(3600L * 1000, &stop), 1);
    assert_int_equal(backoff_sleep(1, &stop), 1);
    assert_int_equal(backoff_sleep(0, &stop), 1);
}

static void
test_sleep_nothing_to_do(void **state)
{
    atomic_int stop = 0;

    (void)state;
    assert_int_equal(backoff_sleep(0, &stop), 0);
    assert_int_equal(backoff_sleep(-5, &stop), 0);
    assert_int_equal(backoff_sleep(0, NULL), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_within_ceiling),
        cmocka_unit_test(test_first_delay_at_most_base),
        cmocka_unit_test(test_never_exceeds_cap),
        cmocka_unit_test(test_reset_returns_to_base),
        cmocka_unit_test(test_init_clamps_bad_parameters),
        cmocka_unit_test(test_sleep_returns_1_when_already_stopped),
        cmocka_unit_test(test_sleep_nothing_to_do),
        /* Last: under UBSan an overflow here ends the process. */
        cmocka_unit_test(test_large_cap_does_not_overflow),
    };

    return cmocka_run_group_tests_name("backoff: capped exponential backoff with jitter", tests,
                                       NULL, NULL);
}
