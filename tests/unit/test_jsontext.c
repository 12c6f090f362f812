/* test_jsontext.c - unit tests for reporting/jsontext.c: the growing buffer, and a BSON
 * document written as the compact JSON jansson writes for the same value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsontext.h"

static void
test_append(void **state)
{
    struct jsontext t = {0};
    char big[1000];

    (void)state;
    assert_int_equal(jsontext_append(&t, "ab", 2), 0);
    assert_string_equal(t.s, "ab");
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(jsontext_append(&t, big, sizeof big), 0);
    }
    assert_int_equal(t.len, 2 + 100 * sizeof big);
    assert_true(t.cap > t.len);
    assert_int_equal(t.s[t.len], '\0');
    assert_int_equal(jsontext_append(&t, "", 0), 0);
    jsontext_free(&t);
    assert_null(t.s);
    assert_int_equal(t.len, 0);
    jsontext_free(&t); /* twice: nothing */
}

/* The JSON object json as libbson stores it, written by jsontext_bson(), is exactly what
 * jansson writes for json parsed (and what /events showed when it built a tree). */
static void
test_matches_jansson(void **state)
{
    static const char *const rows[] = {
        "{}",
        "{\"a\":1}",
        "{\"s\":\"plain\",\"e\":\"\\u00e9\\u4e2d\\ud83d\\ude00\",\"c\":\"\\u0000\\u001f\\\"\\\\/"
        "\\b\\f\\n\\r\\t\\u007f\"}",
        "{\"i\":-2147483648,\"j\":2147483648,\"k\":9007199254740993,\"m\":-9223372036854775808}",
        "{\"d\":0.1,\"e\":1.5,\"f\":100.0,\"g\":1e300,\"h\":-2.5e-7,\"z\":-0.0}",
        "{\"t\":true,\"f\":false,\"n\":null}",
        "{\"a\":[],\"o\":{},\"n\":[1,[2,[3,{\"k\":[\"v\",null]}]]],\"x\":{\"y\":{\"z\":{}}}}",
        "{\"key \\\" \\\\ \\u00e9\":1,\"\":2}",
        "{\"referrer\":\"https://news.example.com/a?b=1\",\"seq\":7}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bson_error_t berr;
        bson_t *doc = bson_new_from_json((const uint8_t *)rows[i], -1, &berr);
        json_t *v = json_loads(rows[i], JSON_ALLOW_NUL, NULL);
        char *want;
        struct jsontext t = {0};
        assert_non_null(doc);
        assert_non_null(v);
        want = json_dumps(v, JSON_COMPACT);
        assert_int_equal(jsontext_bson(&t, doc), 0);
        assert_int_equal(t.len, strlen(want));
        assert_string_equal(t.s, want);
        jsontext_free(&t);
        free(want);
        json_decref(v);
        bson_destroy(doc);
    }
}

/* A type JSON has no word for is written as its relaxed extended JSON; text already in the
 * buffer stays in front. */
static void
test_other_types(void **state)
{
    bson_t *doc = BCON_NEW("when", BCON_DATE_TIME(0), "n", BCON_INT32(1));
    struct jsontext t = {0};

    (void)state;
    assert_int_equal(jsontext_append(&t, "[", 1), 0);
    assert_int_equal(jsontext_bson(&t, doc), 0);
    assert_string_equal(t.s, "[{\"when\":{\"$date\":\"1970-01-01T00:00:00Z\"},\"n\":1}");
    jsontext_free(&t);
    bson_destroy(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_matches_jansson),
        cmocka_unit_test(test_other_types),
    };
    return cmocka_run_group_tests_name("jsontext: BSON as compact JSON, as jansson writes it",
                                       tests, NULL, NULL);
}
