/* test_http_reply.c - unit tests for common/http_reply.c: If-None-Match against an ETag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_reply.h"

/* If-None-Match against the strong tag "abc": a table of header values. */
static void
test_etag_match(void **state)
{
    static const struct {
        const char *header;
        int match;
    } cases[] = {
        {"\"abc\"", 1},
        {"*", 1},
        {"W/\"abc\"", 1},        /* If-None-Match compares weakly */
        {"\"x\", \"abc\"", 1},   /* any tag of the list */
        {"\"x\",\"abc\"", 1},    /* no space after the comma */
        {" \t\"abc\" ", 1},      /* optional white space around */
        {"\"a,b\", \"abc\"", 1}, /* a comma inside a tag is not a separator */
        {"\"x\", *", 1},
        {"", 0},
        {"\"ab\"", 0},
        {"\"abcd\"", 0},
        {"abc", 0},     /* not quoted: not an entity tag */
        {"\"abc", 0},   /* unterminated */
        {"\"ABC\"", 0}, /* tags are case-sensitive */
        {"W/abc", 0},
        {"\"x\", abc, \"abc\"", 0}, /* malformed from the second item on */
        {",,,", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (http_etag_match(cases[i].header, "\"abc\"") != cases[i].match) {
            fail_msg("If-None-Match: %s: expected %d", cases[i].header, cases[i].match);
        }
    }
    assert_int_equal(http_etag_match(NULL, "\"abc\""), 0);
    assert_int_equal(http_etag_match("*", NULL), 0);
    assert_int_equal(http_etag_match("\"abc\"", "abc"), 0); /* an unquoted tag matches nothing */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_match),
    };

    return cmocka_run_group_tests_name("http_reply: If-None-Match", tests, NULL, NULL);
}
