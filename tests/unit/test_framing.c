/* test_framing.c - unit tests for common/framing.c: the header rules, chunk-size lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "framing.h"

/* One row of the framing table: the version, up to four "Name: value" headers, and the
 * message expected (NULL: the request is framed well). */
struct framing_row {
    const char *version;
    const char *headers[4];
    const char *want;
};

static const char *const CL_TE = "Content-Length and Transfer-Encoding may not be sent together";
static const char *const NOT_DECIMAL = "Content-Length must be a decimal number";

static const struct framing_row framing_rows[] = {
    {"1.1", {"Host: x"}, NULL},
    {"1.1", {"host: x", "Content-Length: 5"}, NULL},
    {"1.1", {"Host: x", "Content-Length: 0"}, NULL},
    {"1.1", {"Host: x", "Transfer-Encoding: chunked"}, NULL},
    {"1.1", {"Host: x", "transfer-encoding: Chunked"}, NULL},
    {"1.0", {NULL}, NULL}, /* HTTP/1.0 needs no Host */
    {"1.0", {"Content-Length: 5"}, NULL},
    {"1.0", {"Host: a", "Host: b"}, NULL},
    /* Host: exactly one in HTTP/1.1. */
    {"1.1", {NULL}, "Missing Host header"},
    {"1.1", {"Content-Length: 5"}, "Missing Host header"},
    {"1.1", {"Host: a", "Host: a"}, "More than one Host header"},
    {"1.1", {"Host: a", "HOST: b"}, "More than one Host header"},
    /* Content-Length: digits, then optional whitespace (civetweb drops what precedes). */
    {"1.1", {"Host: x", "Content-Length: 5 "}, NULL},
    {"1.1", {"Host: x", "Content-Length: 5\t \t"}, NULL},
    {"1.1", {"Host: x", "Content-Length: 123456789012345678"}, NULL},
    {"1.1", {"Host: x", "Content-Length: 1234567890123456789"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: "}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: +5"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: -1"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: 5 5"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: 5,5"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: 0x5"}, NOT_DECIMAL},
    {"1.1", {"Host: x", "Content-Length: 5;"}, NOT_DECIMAL},
    /* Two framings, or one twice. */
    {"1.1",
     {"Host: x", "Content-Length: 5", "Content-Length: 5"},
     "More than one Content-Length header"},
    {"1.1",
     {"Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"},
     "More than one Transfer-Encoding header"},
    {"1.1", {"Host: x", "Content-Length: 5", "Transfer-Encoding: chunked"}, CL_TE},
    {"1.1", {"Transfer-Encoding: chunked", "Host: x", "content-length: 0"}, CL_TE},
    {"1.1", {"Host: x", "Transfer-Encoding: gzip"}, "Transfer-Encoding must be chunked"},
    {"1.1", {"Host: x", "Transfer-Encoding: identity"}, "Transfer-Encoding must be chunked"},
    /* HTTP/1.0 with Transfer-Encoding: faulty framing (RFC 9112, 6.1). */
    {"1.0", {"Transfer-Encoding: chunked"}, "Transfer-Encoding is not allowed in HTTP/1.0"},
    {"1.0",
     {"Host: x", "Transfer-Encoding: chunked"},
     "Transfer-Encoding is not allowed in HTTP/1.0"},
    {"1.0", {"Content-Length: 5", "Transfer-Encoding: chunked"}, CL_TE},
};

/* Every row of framing_rows, with its headers split as civetweb gives them. */
static void
test_framing_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof framing_rows / sizeof framing_rows[0]; r++) {
        const struct framing_row *row = &framing_rows[r];
        char text[4][64];
        struct mg_header h[4];
        int n = 0;
        const char *got;

        for (; n < 4 && row->headers[n] != NULL; n++) {
            char *colon;
            snprintf(text[n], sizeof text[n], "%s", row->headers[n]);
            colon = strchr(text[n], ':');
            assert_non_null(colon);
            *colon = '\0';
            h[n].name = text[n];
            h[n].value = colon + 1 + strspn(colon + 1, " \t");
        }
        got = framing_error(row->version, h, n);
        if ((got == NULL) != (row->want == NULL) || (got != NULL && strcmp(got, row->want) != 0)) {
            fail_msg("row %zu (HTTP/%s, %s...): got \"%s\", want \"%s\"", r, row->version,
                     n > 0 ? row->headers[0] : "no headers", got ? got : "(none)",
                     row->want ? row->want : "(none)");
        }
    }
}

/* Chunk-size lines (CRLF excluded): the size, or -1 for a line that is not one. */
static void
test_chunk_size(void **state)
{
    static const struct {
        const char *line;
        long long want;
    } rows[] = {
        {"0", 0},
        {"5", 5},
        {"4f", 0x4f},
        {"4F", 0x4f},
        {"00010", 16},
        {"fffffffffffffff", 0xfffffffffffffffLL}, /* 15 digits */
        {"4f;foo=bar", 0x4f},
        {"4f;foo", 0x4f},
        {"4f ; foo = bar ; baz", 0x4f},
        {"4f;foo=\"a;b \\\" c\"", 0x4f},
        {"4f\t;\tfoo", 0x4f},
        {"4f ", 0x4f},
        {"", -1},
        {";foo", -1},
        {"x", -1},
        {"-5", -1},
        {"+5", -1},
        {"0x5", -1},
        {"5 5", -1},
        {"1000000000000000", -1}, /* 16 digits */
        {"4f;", -1},
        {"4f;=bar", -1},
        {"4f;foo=", -1},
        {"4f;foo=\"open", -1},
        {"4f;foo=\"a\x01\"", -1},
        {"4f;fo o", -1},
        {"4f;foo@bar", -1},
        {"4f,5", -1},
        {"4f\r", -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t size = 12345;
        int rc = framing_chunk_size(rows[i].line, strlen(rows[i].line), &size);
        if (rows[i].want < 0 ? rc != -1 : rc != 0 || size != (uint64_t)rows[i].want) {
            fail_msg("\"%s\": rc %d, size %llu; want %lld", rows[i].line, rc,
                     (unsigned long long)size, rows[i].want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_table),
        cmocka_unit_test(test_chunk_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
