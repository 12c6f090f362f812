/* test_auth.c - unit tests for common/auth.c: token lists (READ_TOKENS, ADMIN_TOKENS) from
 * the environment or a file, bearer headers, token matching and the sites a token covers. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"

/* A list and what it parses to: the tokens in order, each "TOKEN" or "TOKEN:S1|S2". */
static void
expect_parse(const char *spec, const char *const *want, size_t n)
{
    struct auth a;
    char why[256] = "";

    if (auth_parse(spec, &a, why, sizeof why) != 0) {
        fail_msg("refused %s: %s", spec, why);
    }
    assert_int_equal(a.n, n);
    for (size_t i = 0; i < n; i++) {
        char got[1024];
        size_t o = (size_t)snprintf(got, sizeof got, "%s", a.tokens[i].token);
        assert_int_equal(a.tokens[i].len, strlen(a.tokens[i].token));
        for (size_t j = 0; j < a.tokens[i].n_sites; j++) {
            o += (size_t)snprintf(got + o, sizeof got - o, "%c%s", j == 0 ? ':' : '|',
                                  a.tokens[i].sites[j]);
        }
        assert_string_equal(got, want[i]);
    }
    auth_free(&a);
    assert_int_equal(a.n, 0);
}

static void
test_parse_accepts(void **state)
{
    static const char *one[] = {"abc"};
    static const char *two[] = {"abc", "k2:s1|s2"};
    static const char *b64[] = {"A-Za-z0.9_~+/==", "x"};
    static const char *site_colon[] = {"t:a:b"};

    (void)state;
    expect_parse("abc", one, 1);
    expect_parse("  abc \n", one, 1); /* a file ending with a newline */
    expect_parse("abc,k2:s1|s2", two, 2);
    expect_parse(" abc , k2 : s1 | s2 ,\n", two, 2);
    expect_parse(",,abc,,k2:s1|s2,", two, 2); /* empty items skipped */
    expect_parse("A-Za-z0.9_~+/==,x", b64, 2);
    expect_parse("t:a:b", site_colon, 1); /* a site may hold ':' (the first one ends the token) */
}

static void
test_parse_refuses(void **state)
{
    static const struct {
        const char *spec, *why;
    } rows[] = {
        {"", "no token: list TOKEN or TOKEN:SITE|SITE items, separated by ','"},
        {" , \n", "no token: list TOKEN or TOKEN:SITE|SITE items, separated by ','"},
        {"a b", "item 1: a token must be 1-256 characters of A-Z a-z 0-9 - . _ ~ + / (then any "
                "'=')"},
        {"ok,=abc", "item 2: a token must be 1-256 characters of A-Z a-z 0-9 - . _ ~ + / (then "
                    "any '=')"},
        {"ok,a=b", "item 2: a token must be 1-256 characters of A-Z a-z 0-9 - . _ ~ + / (then "
                   "any '=')"},
        {":s1", "item 1: a token must be 1-256 characters of A-Z a-z 0-9 - . _ ~ + / (then any "
                "'=')"},
        {"t\xc3\xa9", "item 1: a token must be 1-256 characters of A-Z a-z 0-9 - . _ ~ + / "
                      "(then any '=')"},
        {"t:", "item 1: site 1 must be 1-256 bytes without blanks, ',' or '|'"},
        {"t:s1||s2", "item 1: site 2 must be 1-256 bytes without blanks, ',' or '|'"},
        {"t:s1|s 2", "item 1: site 2 must be 1-256 bytes without blanks, ',' or '|'"},
        {"a,b,a:s1", "item 3: the same token as item 1"},
    };
    struct auth a;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        why[0] = '\0';
        if (auth_parse(rows[i].spec, &a, why, sizeof why) != -1) {
            fail_msg("accepted %s", rows[i].spec);
        }
        assert_string_equal(why, rows[i].why);
        assert_int_equal(a.n, 0);
        assert_null(a.tokens);
    }
    /* A token of 256 characters is the longest. */
    {
        char spec[300];
        memset(spec, 'k', 257);
        spec[257] = '\0';
        assert_int_equal(auth_parse(spec, &a, why, sizeof why), -1);
        spec[256] = '\0';
        assert_int_equal(auth_parse(spec, &a, why, sizeof why), 0);
        auth_free(&a);
    }
    /* READ_TOKENS' check: empty is "not set". */
    struct app_err e = {0, ""};
    assert_int_equal(auth_check_spec("", &e), 0);
    assert_int_equal(auth_check_spec("a,b", &e), 0);
    assert_int_equal(auth_check_spec("a,a", &e), -1);
    assert_string_equal(e.msg, "item 2: the same token as item 1");
}

static void
test_match(void **state)
{
    static const struct {
        const char *presented;
        const char *want; /* the matching token, or NULL */
    } rows[] = {
        {"alpha", "alpha"}, {"beta2", "beta2"}, {"gamma", "gamma"},   {"alph", NULL},
        {"alphaa", NULL},   {"Alpha", NULL},    {"", NULL},           {"beta", NULL},
        {"beta22", NULL},   {"b", NULL},        {"alphaalpha", NULL},
    };
    struct auth a;
    char why[256];

    (void)state;
    assert_int_equal(auth_parse("alpha,beta2:s1,gamma:s2|s3", &a, why, sizeof why), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct auth_token *t = auth_match(&a, rows[i].presented, strlen(rows[i].presented));
        if (rows[i].want == NULL) {
            assert_null(t);
        } else {
            assert_non_null(t);
            assert_string_equal(t->token, rows[i].want);
        }
    }
    auth_free(&a);
}

static void
test_bearer(void **state)
{
    static const struct {
        const char *header, *token; /* token NULL: no bearer token */
    } rows[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER   abc  ", "abc"},
        {"Bearer", NULL},
        {"Bearer ", NULL},
        {"Bearer    ", NULL},
        {"Basic YWJj", NULL},
        {"Bearerabc", NULL},
        {"abc", NULL},
        {"", NULL},
        {NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *tok = NULL;
        size_t n = auth_bearer(rows[i].header, &tok);
        if (rows[i].token == NULL) {
            assert_int_equal(n, 0);
        } else {
            assert_int_equal(n, strlen(rows[i].token));
            assert_memory_equal(tok, rows[i].token, n);
        }
    }
}

static void
test_covers(void **state)
{
    struct auth a;
    char why[256];

    (void)state;
    assert_int_equal(auth_parse("all,some:s1|s2", &a, why, sizeof why), 0);
    assert_true(auth_covers(&a.tokens[0], "anything"));
    assert_true(auth_covers(&a.tokens[1], "s1"));
    assert_true(auth_covers(&a.tokens[1], "s2"));
    assert_false(auth_covers(&a.tokens[1], "s3"));
    assert_false(auth_covers(&a.tokens[1], "s"));
    assert_false(auth_covers(&a.tokens[1], "s1|s2"));
    auth_free(&a);
}

static void
test_read_file(void **state)
{
    char path[] = "/tmp/test_auth.XXXXXX", why[256];
    char *text = NULL;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "tok:s1\n", 7), 7);
    close(fd);
    assert_int_equal(auth_read_file(path, &text, why, sizeof why), 0);
    assert_string_equal(text, "tok:s1\n");
    free(text);
    unlink(path);
    assert_int_equal(auth_read_file(path, &text, why, sizeof why), -1);
    assert_null(text);
    assert_non_null(strstr(why, path));
}

/* One loader for both lists: the file wins over an inline list, errors name the variable
 * the list came from, and cfg's file check refuses a file set with its inline variable. */
static void
test_load(void **state)
{
    static const struct {
        const char *inline_spec; /* the inline list */
        const char *file;        /* the file's text; NULL: no file variable */
        int rc;
        size_t n;        /* tokens loaded */
        const char *msg; /* err's message when refused */
    } rows[] = {
        {"", NULL, 0, 0, NULL},
        {"a,b:s1", NULL, 0, 2, NULL},
        {"", "a,\nb,\nc:s|t\n", 0, 3, NULL},
        {"a b", NULL, -1, 0,
         "ADMIN_TOKENS: item 1: a token must be 1-256 characters of A-Z a-z "
         "0-9 - . _ ~ + / (then any '=')"},
        {"", "a,a", -1, 0, "ADMIN_TOKENS_FILE: item 2: the same token as item 1"},
        {"", "\n", -1, 0,
         "ADMIN_TOKENS_FILE: no token: list TOKEN or TOKEN:SITE|SITE items, separated by ','"},
    };
    char path[] = "/tmp/test_auth.XXXXXX";
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct auth a;
        struct app_err err = {0};
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(rows[i].file != NULL ? rows[i].file : "", f);
        fclose(f);
        int rc = auth_load(rows[i].inline_spec, "ADMIN_TOKENS", rows[i].file != NULL ? path : "",
                           "ADMIN_TOKENS_FILE", &a, &err);
        if (rc != rows[i].rc) {
            fail_msg("row %zu: %d %s", i, rc, err.msg);
        }
        assert_int_equal(a.n, rows[i].n);
        if (rc != 0) {
            assert_string_equal(err.msg, rows[i].msg);
        }
        auth_free(&a);
    }
    {
        struct auth a;
        struct app_err err = {0};
        unlink(path);
        assert_int_equal(auth_load("", "READ_TOKENS", path, "READ_TOKENS_FILE", &a, &err), -1);
        assert_non_null(strstr(err.msg, "READ_TOKENS_FILE: cannot read "));
        assert_int_equal(a.n, 0);
    }
}

static void
test_check_file(void **state)
{
    char path[] = "/tmp/test_auth.XXXXXX";
    struct app_err err = {0};
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "tok\n", 4), 4);
    close(fd);
    unsetenv("TEST_AUTH_INLINE");
    assert_int_equal(auth_check_file("", "TEST_AUTH_INLINE", &err), 0);
    assert_int_equal(auth_check_file(path, "TEST_AUTH_INLINE", &err), 0);
    setenv("TEST_AUTH_INLINE", "", 1); /* empty is unset */
    assert_int_equal(auth_check_file(path, "TEST_AUTH_INLINE", &err), 0);
    setenv("TEST_AUTH_INLINE", "x", 1);
    assert_int_equal(auth_check_file(path, "TEST_AUTH_INLINE", &err), -1);
    assert_string_equal(err.msg, "set together with TEST_AUTH_INLINE; set only one of them");
    unsetenv("TEST_AUTH_INLINE");
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "a b", 3), 3);
    close(fd);
    assert_int_equal(auth_check_file(path, "TEST_AUTH_INLINE", &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    unlink(path);
    assert_int_equal(auth_check_file(path, "TEST_AUTH_INLINE", &err), -1);
    assert_non_null(strstr(err.msg, "cannot read "));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts), cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_match),         cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_covers),        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_load),          cmocka_unit_test(test_check_file),
    };

    return cmocka_run_group_tests_name("auth: token lists", tests, NULL, NULL);
}
