/* test_err.c - unit tests for common/err.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

static void
test_fills_code_and_message(void **state)
{
    struct app_err err = {0, ""};

    (void)state;
    assert_int_equal(err_set(&err, ERR_TRANSIENT, "redis %s: %d", "down", 3), -1);
    assert_int_equal(err.code, ERR_TRANSIENT);
    assert_string_equal(err.msg, "redis down: 3");
}

static void
test_long_messages_are_cut_and_terminated(void **state)
{
    struct app_err err = {0, ""};
    char long_text[1000];

    (void)state;
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    assert_int_equal(err_set(&err, ERR_INVALID, "%s", long_text), -1);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

static void
test_null_is_allowed(void **state)
{
    (void)state;
    assert_int_equal(err_set(NULL, ERR_INTERNAL, "out of memory"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_code_and_message),
        cmocka_unit_test(test_long_messages_are_cut_and_terminated),
        cmocka_unit_test(test_null_is_allowed),
    };

    return cmocka_run_group_tests_name("err: the error struct", tests, NULL, NULL);
}
