/* test_cors.c - unit tests for ingest/cors.c: CORS_ORIGINS, origins, the headers sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cors.h"

static void
test_normalize(void **state)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: not an origin */
    } cases[] = {
        {"https://example.com", "https://example.com"},
        {"HTTPS://Example.COM", "https://example.com"},
        {"http://example.com:80", "http://example.com"},
        {"https://example.com:443", "https://example.com"},
        {"http://example.com:443", "http://example.com:443"},
        {"https://example.com:80", "https://example.com:80"},
        {"http://localhost:8080", "http://localhost:8080"},
        {"http://localhost:08080", "http://localhost:8080"},
        {"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
        {"http://[::1]:3000", "http://[::1]:3000"},
        {"http://[2001:DB8::1]", "http://[2001:db8::1]"},
        {"chrome-extension://abcdef", "chrome-extension://abcdef"},
        {"app+x.y-z://h_1", "app+x.y-z://h_1"},
        {"https://example.com/", NULL},
        {"https://example.com/path", NULL},
        {"https://example.com?q", NULL},
        {"https://user@example.com", NULL},
        {"https://example.com:", NULL},
        {"https://example.com:0", NULL},
        {"https://example.com:65536", NULL},
        {"https://example.com:123456", NULL},
        {"https://example.com:80x", NULL},
        {"https://example.com:+80", NULL},
        {"https://", NULL},
        {"https:/example.com", NULL},
        {"example.com", NULL},
        {"://example.com", NULL},
        {"1http://example.com", NULL},
        {"null", NULL},
        {"*", NULL},
        {"", NULL},
        {"http://[]", NULL},
        {"http://[::1", NULL},
        {"http://[::1]x", NULL},
        {"http://exa mple.com", NULL},
        {"http://example.com ", NULL},
        {"http://ex\xc3\xa4mple.com", NULL},
        {"http://example.com\r\nX-Evil: 1", NULL},
    };
    char out[CORS_ORIGIN_MAX + 1];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cors_origin_normalize(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (cases[i].out == NULL) {
            if (rc != -1) {
                fail_msg("\"%s\" taken as the origin \"%s\"", cases[i].in, out);
            }
            continue;
        }
        if (rc != 0) {
            fail_msg("\"%s\" refused", cases[i].in);
        }
        assert_string_equal(out, cases[i].out);
    }
}

/* Only len bytes are read, and an origin longer than CORS_ORIGIN_MAX, or whose normal form
 * does not fit in out, is refused. */
static void
test_normalize_bounds(void **state)
{
    char big[CORS_ORIGIN_MAX + 8], out[CORS_ORIGIN_MAX + 1], small[20];

    (void)state;
    assert_int_equal(cors_origin_normalize("http://a.example/more", 16, out, sizeof out), 0);
    assert_string_equal(out, "http://a.example");
    memset(big, 'a', sizeof big);
    memcpy(big, "http://", 7);
    assert_int_equal(cors_origin_normalize(big, CORS_ORIGIN_MAX, out, sizeof out), 0);
    assert_int_equal(strlen(out), CORS_ORIGIN_MAX);
    assert_int_equal(cors_origin_normalize(big, CORS_ORIGIN_MAX + 1, out, sizeof out), -1);
    assert_int_equal(cors_origin_normalize("https://example.com", 19, small, sizeof small), 0);
    assert_int_equal(cors_origin_normalize("https://example.com1", 20, small, sizeof small), -1);
}

static void
test_policy_errors(void **state)
{
    static const struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        {"https://a.example/",
         "\"https://a.example/\" is not an origin: scheme://host[:port], without a path or a "
         "trailing slash"},
        {"https://a.example,,https://b.example",
         "an empty item (two commas, or a comma at an end)"},
        {"https://a.example,", "an empty item (two commas, or a comma at an end)"},
        {",https://a.example", "an empty item (two commas, or a comma at an end)"},
        {"https://a.example, ", "an empty item (two commas, or a comma at an end)"},
        {"*,https://a.example", "\"*\" must be the only item"},
        {"https://a.example,*", "\"*\" must be the only item"},
        {"*,*", "\"*\" must be the only item"},
        {"  ", "no origin listed (\"*\" allows any)"},
        {"https://a.example, example.com",
         "\"example.com\" is not an origin: scheme://host[:port], without a path or a trailing "
         "slash"},
        {"null", "\"null\" is not an origin: scheme://host[:port], without a path or a trailing "
                 "slash"},
    };
    struct app_err e;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct app_err err = {0, ""};
        assert_null(cors_policy_new(cases[i].spec, &err));
        assert_int_equal(err.code, ERR_INVALID);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(cors_check_origins(cases[i].spec, &e), -1);
        assert_string_equal(e.msg, cases[i].msg);
    }
    assert_int_equal(cors_check_origins("*", &e), 0);
    assert_int_equal(cors_check_origins(" https://a.example ,\thttp://b:1", &e), 0);
}

static void
test_policy_size(void **state)
{
    char spec[CORS_MAX_ORIGINS * 32 + 64] = "";
    struct app_err e;
    size_t o = 0;

    (void)state;
    for (int i = 0; i < CORS_MAX_ORIGINS; i++) {
        o += (size_t)snprintf(spec + o, sizeof spec - o, "%shttps://h%d.example", i ? "," : "", i);
    }
    assert_int_equal(cors_check_origins(spec, &e), 0);
    snprintf(spec + o, sizeof spec - o, ",https://one-more.example");
    assert_int_equal(cors_check_origins(spec, &e), -1);
    assert_string_equal(e.msg, "more than 64 origins");
}

/* A policy the test expects to be valid. */
static cors_policy_t *
policy(const char *spec)
{
    struct app_err err = {0, ""};
    cors_policy_t *p = cors_policy_new(spec, &err);

    if (p == NULL) {
        fail_msg("CORS_ORIGINS=\"%s\" refused: %s", spec, err.msg);
    }
    return p;
}

#define VARY "Vary: Origin\r\n"
#define ACAO "Access-Control-Allow-Origin: "
#define EXPOSE "Access-Control-Expose-Headers: Retry-After\r\n"

static void
test_check(void **state)
{
    static const struct {
        const char *spec;
        const char *origin; /* NULL: no Origin header */
        enum cors_verdict verdict;
        const char *headers;
    } cases[] = {
        /* "*": any Origin, echoed when it is one, else "*". */
        {"*", NULL, CORS_NONE, VARY},
        {"*", "https://a.example", CORS_ALLOWED, VARY ACAO "https://a.example\r\n" EXPOSE},
        {"*", "HTTPS://A.example:443", CORS_ALLOWED, VARY ACAO "HTTPS://A.example:443\r\n" EXPOSE},
        {"*", "null", CORS_ALLOWED, VARY ACAO "*\r\n" EXPOSE},
        {"*", "", CORS_ALLOWED, VARY ACAO "*\r\n" EXPOSE},
        {"*", "https://a.example/path", CORS_ALLOWED, VARY ACAO "*\r\n" EXPOSE},
        /* A list: the normal forms are compared; the reply echoes what the browser sent. */
        {"https://a.example, http://b.example:8080", NULL, CORS_NONE, VARY},
        {"https://a.example, http://b.example:8080", "https://a.example", CORS_ALLOWED,
         VARY ACAO "https://a.example\r\n" EXPOSE},
        {"https://a.example, http://b.example:8080", "https://A.EXAMPLE", CORS_ALLOWED,
         VARY ACAO "https://A.EXAMPLE\r\n" EXPOSE},
        {"https://a.example, http://b.example:8080", "https://a.example:443", CORS_ALLOWED,
         VARY ACAO "https://a.example:443\r\n" EXPOSE},
        {"https://a.example, http://b.example:8080", "http://b.example:8080", CORS_ALLOWED,
         VARY ACAO "http://b.example:8080\r\n" EXPOSE},
        {"HTTPS://A.Example:443", "https://a.example", CORS_ALLOWED,
         VARY ACAO "https://a.example\r\n" EXPOSE},
        {"https://a.example, http://b.example:8080", "http://a.example", CORS_FORBIDDEN, VARY},
        {"https://a.example, http://b.example:8080", "https://a.example:8443", CORS_FORBIDDEN,
         VARY},
        {"https://a.example, http://b.example:8080", "http://b.example", CORS_FORBIDDEN, VARY},
        {"https://a.example, http://b.example:8080", "https://evil.a.example", CORS_FORBIDDEN,
         VARY},
        {"https://a.example, http://b.example:8080", "https://a.example.evil", CORS_FORBIDDEN,
         VARY},
        {"https://a.example, http://b.example:8080", "https://a.example/", CORS_FORBIDDEN, VARY},
        {"https://a.example, http://b.example:8080", "null", CORS_FORBIDDEN, VARY},
        {"https://a.example, http://b.example:8080", "", CORS_FORBIDDEN, VARY},
    };
    char out[CORS_HEADERS_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cors_policy_t *p = policy(cases[i].spec);
        memset(out, '#', sizeof out);
        enum cors_verdict v = cors_check(p, cases[i].origin, out, sizeof out);
        if (v != cases[i].verdict || strcmp(out, cases[i].headers) != 0) {
            fail_msg("case %zu (%s, Origin %s): verdict %d, headers \"%s\"", i, cases[i].spec,
                     cases[i].origin ? cases[i].origin : "(none)", (int)v, out);
        }
        cors_policy_free(p);
    }
    cors_policy_free(NULL);
}

#define PREFLIGHT                                                                                  \
    "Access-Control-Allow-Methods: POST, OPTIONS\r\n"                                              \
    "Access-Control-Allow-Headers: Content-Type, X-Request-Id, Idempotency-Key\r\n"                \
    "Access-Control-Max-Age: 86400\r\n"

static void
test_preflight_headers(void **state)
{
    static const struct {
        const char *spec;
        enum cors_verdict verdict;
        const char *headers;
    } cases[] = {
        {"*", CORS_NONE, ACAO "*\r\n" PREFLIGHT},
        {"*", CORS_ALLOWED, PREFLIGHT},
        {"https://a.example", CORS_NONE, PREFLIGHT},
        {"https://a.example", CORS_ALLOWED, PREFLIGHT},
    };
    char out[CORS_HEADERS_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cors_policy_t *p = policy(cases[i].spec);
        cors_preflight_headers(p, cases[i].verdict, out, sizeof out);
        assert_string_equal(out, cases[i].headers);
        cors_policy_free(p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),     cmocka_unit_test(test_normalize_bounds),
        cmocka_unit_test(test_policy_errors), cmocka_unit_test(test_policy_size),
        cmocka_unit_test(test_check),         cmocka_unit_test(test_preflight_headers),
    };

    return cmocka_run_group_tests_name("cors: CORS_ORIGINS and the headers", tests, NULL, NULL);
}
