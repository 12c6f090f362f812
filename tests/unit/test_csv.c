/* test_csv.c - unit tests for ingest/csv.c: splitting the configuration's lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

/* Joins the items it is given as "[item]" into a buffer; stops at an item "stop". */
static int
collect(const char *item, size_t len, void *arg)
{
    char *out = arg;
    size_t o = strlen(out);

    snprintf(out + o, 256 - o, "[%.*s]", (int)len, item);
    return len == 4 && memcmp(item, "stop", 4) == 0 ? -1 : 0;
}

static void
test_split(void **state)
{
    static const struct {
        const char *list;
        int rc;
        const char *items;
    } cases[] = {
        {"", 0, ""},
        {"  \t ", 0, ""},
        {"a", 0, "[a]"},
        {"a,b,c", 0, "[a][b][c]"},
        {" a , b\t,\tc ", 0, "[a][b][c]"},
        {"a b, c", 0, "[a b][c]"},
        {"a,,b", 0, "[a][][b]"},
        {"a,", 0, "[a][]"},
        {",a", 0, "[][a]"},
        {",", 0, "[][]"},
        {"a, ,b", 0, "[a][][b]"},
        {"a,stop,b", -1, "[a][stop]"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256] = "";
        assert_int_equal(csv_each(cases[i].list, collect, out), cases[i].rc);
        assert_string_equal(out, cases[i].items);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
    };

    return cmocka_run_group_tests_name("csv: the configuration's lists", tests, NULL, NULL);
}
