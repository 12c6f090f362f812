/* test_rollup.c - unit tests for processor/rollup.c's batch ids; the rollup writes and the
 * query run against real servers in it_rollup.sh and the fault tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rollup.h"

static int
is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

/* A run id is 16 lower-case hex digits, and no batch id before the first batch. */
static void
test_init_makes_a_run_id(void **state)
{
    struct rollup_batch b;

    (void)state;
    rollup_batch_init(&b);
    assert_int_equal(strlen(b.run), ROLLUP_RUN_LEN);
    assert_true(is_hex(b.run, ROLLUP_RUN_LEN));
    assert_int_equal(b.seq, 0);
    assert_string_equal(b.id, "");
}

/* Batches of one run are numbered 1, 2, ... and their ids are "<run>:<seq>". */
static void
test_next_numbers_batches(void **state)
{
    struct rollup_batch b;
    char want[ROLLUP_BATCH_ID_MAX];

    (void)state;
    rollup_batch_init(&b);
    for (int64_t i = 1; i <= 1000; i++) {
        rollup_batch_next(&b);
        assert_int_equal(b.seq, i);
        snprintf(want, sizeof want, "%s:%lld", b.run, (long long)i);
        assert_string_equal(b.id, want);
    }
}

/* Two runs (two processes, or one restarted) never share a run id: 62 random bits. */
static void
test_runs_differ(void **state)
{
    struct rollup_batch a, b;

    (void)state;
    for (int i = 0; i < 100; i++) {
        rollup_batch_init(&a);
        rollup_batch_init(&b);
        assert_string_not_equal(a.run, b.run);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_makes_a_run_id),
        cmocka_unit_test(test_next_numbers_batches),
        cmocka_unit_test(test_runs_differ),
    };

    return cmocka_run_group_tests_name("rollup: batch ids", tests, NULL, NULL);
}
