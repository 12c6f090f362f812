/* test_event.c - unit tests for common/event.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>

#include "envelope.h"
#include "event.h"
#include "failalloc.h"
#include "jsonmem.h"
#include "ts.h"

/* 2025-11-15T10:00:00Z. */
#define EXAMPLE_MS 1763200800000LL

#define TS_MSG                                                                                     \
    "Field 'timestamp' must be an RFC 3339 date-time with a time zone, e.g. 2025-11-15T10:00:00Z"

/* A JSON object from text; the test fails if the text is not valid JSON. */
static json_t *
load(const char *text)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);

    if (o == NULL) {
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    }
    return o;
}

/* The three required fields, valid. */
static json_t *
minimal_body(void)
{
    return json_pack("{s:s,s:s,s:s}", "site_id", "site-abc-123", "event_type", "page_view",
                     "timestamp", "2025-11-15T10:00:00Z");
}

/* A string of n copies of c. */
static json_t *
string_of(size_t n, char c)
{
    char *buf = malloc(n + 1);
    json_t *s;

    assert_non_null(buf);
    memset(buf, c, n);
    buf[n] = '\0';
    s = json_string(buf);
    free(buf);
    assert_non_null(s);
    return s;
}

/* Run event_from_request on a request body expected to fail with message msg,
 * and check the failure took no reference to the body. */
static void
assert_request_rejected(json_t *body, const char *msg)
{
    struct event ev;
    struct app_err err = {0, ""};
    size_t refs = body->refcount;

    assert_int_equal(event_from_request(body, &ev, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg, msg);
    assert_int_equal(body->refcount, refs);
}

/* The same, for a message that must start with prefix (the header fixes only
 * the field and the reason's start for optional fields). */
static void
assert_request_rejected_prefix(json_t *body, const char *prefix)
{
    struct event ev;
    struct app_err err = {0, ""};
    size_t refs = body->refcount;

    assert_int_equal(event_from_request(body, &ev, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0) {
        fail_msg("message \"%s\" does not start with \"%s\"", err.msg, prefix);
    }
    assert_int_equal(body->refcount, refs);
}

/* Assert body is accepted and release the event. */
static void
assert_request_accepted(json_t *body)
{
    struct event ev;
    struct app_err err = {0, ""};

    if (event_from_request(body, &ev, &err) != 0) {
        fail_msg("rejected: %s", err.msg);
    }
    assert_ptr_equal(ev.src, body);
    event_cleanup(&ev);
}

static void
test_request_full_event(void **state)
{
    json_t *body = load("{\"site_id\":\"site-abc-123\",\"event_type\":\"page_view\","
                        "\"timestamp\":\"2025-11-15T15:30:00.250+05:30\",\"path\":\"/pricing\","
                        "\"user_id\":\"user-42\",\"properties\":{\"ref\":\"ad\",\"n\":[1,2]}}");
    struct event ev;
    struct app_err err = {0, ""};

    (void)state;
    assert_int_equal(event_from_request(body, &ev, &err), 0);
    assert_string_equal(ev.site_id, "site-abc-123");
    assert_string_equal(ev.event_type, "page_view");
    assert_string_equal(ev.path, "/pricing");
    assert_string_equal(ev.user_id, "user-42");
    assert_int_equal(ev.ts_ms, EXAMPLE_MS + 250);
    assert_non_null(ev.properties);
    assert_true(json_is_object(ev.properties));
    assert_ptr_equal(ev.properties, json_object_get(body, "properties"));
    assert_ptr_equal(ev.src, body);
    assert_int_equal(body->refcount, 2);
    event_cleanup(&ev);
    assert_int_equal(body->refcount, 1);
    assert_null(ev.src);
    assert_null(ev.site_id);
    assert_null(ev.properties);
    json_decref(body);
}

static void
test_request_minimal_event(void **state)
{
    json_t *body = minimal_body();
    struct event ev;

    (void)state;
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_string_equal(ev.site_id, "site-abc-123");
    assert_string_equal(ev.event_type, "page_view");
    assert_int_equal(ev.ts_ms, EXAMPLE_MS);
    assert_null(ev.path);
    assert_null(ev.user_id);
    assert_null(ev.properties);
    event_cleanup(&ev);
    json_decref(body);
}

static void
test_request_optional_nulls_are_absent(void **state)
{
    json_t *body = minimal_body();
    struct event ev;

    (void)state;
    json_object_set_new(body, "path", json_null());
    json_object_set_new(body, "user_id", json_null());
    json_object_set_new(body, "properties", json_null());
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_null(ev.path);
    assert_null(ev.user_id);
    assert_null(ev.properties);
    event_cleanup(&ev);
    json_decref(body);
}

static void
test_request_missing_fields(void **state)
{
    static const char *const names[] = {"site_id", "event_type", "timestamp"};

    (void)state;
    /* Every non-empty subset of the required fields, removed or set to null. */
    for (int as_null = 0; as_null <= 1; as_null++) {
        for (unsigned mask = 1; mask < 8; mask++) {
            json_t *body = minimal_body();
            char expect[128] = "Missing required fields: ";
            int first = 1;

            json_object_set_new(body, "path", json_string("/x"));
            for (unsigned i = 0; i < 3; i++) {
                if (!(mask & (1u << i))) {
                    continue;
                }
                if (as_null) {
                    json_object_set_new(body, names[i], json_null());
                } else {
                    json_object_del(body, names[i]);
                }
                if (!first) {
                    strcat(expect, ", ");
                }
                strcat(expect, names[i]);
                first = 0;
            }
            assert_request_rejected(body, expect);
            json_decref(body);
        }
    }
}

static void
test_request_missing_comes_before_type_errors(void **state)
{
    json_t *body = load("{\"site_id\":5,\"event_type\":\"x\",\"properties\":[]}");

    (void)state;
    assert_request_rejected(body, "Missing required fields: timestamp");
    json_decref(body);
    body = load("{}");
    assert_request_rejected(body, "Missing required fields: site_id, event_type, timestamp");
    json_decref(body);
}

static void
test_request_wrong_types(void **state)
{
    static const struct {
        const char *field;
        const char *json_value;
        const char *msg;
    } cases[] = {
        {"site_id", "5", "Field 'site_id' must be a string"},
        {"site_id", "true", "Field 'site_id' must be a string"},
        {"site_id", "[\"a\"]", "Field 'site_id' must be a string"},
        {"site_id", "{\"a\":1}", "Field 'site_id' must be a string"},
        {"event_type", "1.5", "Field 'event_type' must be a string"},
        {"event_type", "false", "Field 'event_type' must be a string"},
        {"timestamp", "1763200800000", "Field 'timestamp' must be a string"},
        {"timestamp", "{}", "Field 'timestamp' must be a string"},
        {"path", "42", "Field 'path' must be a string"},
        {"path", "[]", "Field 'path' must be a string"},
        {"user_id", "7", "Field 'user_id' must be a string"},
        {"user_id", "{}", "Field 'user_id' must be a string"},
        {"properties", "\"x\"", "Field 'properties' must be an object"},
        {"properties", "[1,2]", "Field 'properties' must be an object"},
        {"properties", "3", "Field 'properties' must be an object"},
        {"properties", "true", "Field 'properties' must be an object"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = minimal_body();
        json_t *v = json_loads(cases[i].json_value, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        json_object_set_new(body, cases[i].field, v);
        assert_request_rejected(body, cases[i].msg);
        json_decref(body);
    }
}

static void
test_request_check_order(void **state)
{
    /* Several bad fields: the first in the documented order is the one reported. */
    json_t *body = load("{\"site_id\":\"\",\"event_type\":5,\"timestamp\":\"nope\","
                        "\"properties\":[]}");

    (void)state;
    assert_request_rejected(body, "Field 'site_id' must be 1-256 bytes");
    json_object_set_new(body, "site_id", json_string("s"));
    assert_request_rejected(body, "Field 'event_type' must be a string");
    json_object_set_new(body, "event_type", json_string("e"));
    assert_request_rejected(body, TS_MSG);
    json_object_set_new(body, "timestamp", json_string("2025-11-15T10:00:00Z"));
    assert_request_rejected(body, "Field 'properties' must be an object");
    json_decref(body);
}

/* properties nested n levels deep: {"a":{"a":...{}}} with n objects in all. */
static json_t *
nested_properties(int n)
{
    json_t *inner = json_object();

    for (int i = 1; i < n; i++) {
        json_t *outer = json_object();
        json_object_set_new(outer, "a", inner);
        inner = outer;
    }
    return inner;
}

static void
test_request_properties_depth(void **state)
{
    json_t *body = minimal_body();
    struct event ev;
    struct app_err err = {0};

    (void)state;
    json_object_set_new(body, "properties", nested_properties(EVENT_PROPERTIES_DEPTH_MAX));
    assert_int_equal(event_from_request(body, &ev, &err), 0);
    event_cleanup(&ev);
    json_object_set_new(body, "properties", nested_properties(EVENT_PROPERTIES_DEPTH_MAX + 1));
    assert_request_rejected(body, "Field 'properties' is nested more than 32 levels deep");
    /* Arrays count as levels too. */
    json_t *arr = json_array();
    json_array_append_new(arr, nested_properties(EVENT_PROPERTIES_DEPTH_MAX - 1));
    json_object_set_new(body, "properties", json_pack("{s:o}", "list", arr));
    assert_request_rejected(body, "Field 'properties' is nested more than 32 levels deep");
    json_decref(body);
}

/* n opening brackets of kind open, then n closing ones. */
static char *
brackets(size_t n, char open, char close)
{
    char *s = malloc(2 * n + 1);

    assert_non_null(s);
    memset(s, open, n);
    memset(s + n, close, n);
    s[2 * n] = '\0';
    return s;
}

static void
test_json_depth_table(void **state)
{
    static const struct {
        const char *text;
        int depth; /* with max 8 */
    } cases[] = {
        {"", 0},
        {"42", 0},
        {"\"[[[[[[[[[[[\"", 0},
        {"{}", 1},
        {"[]", 1},
        {"[[]]", 2},
        {"[[],[],[[]]]", 3},
        {"{\"a\":{\"b\":[1,{\"c\":2}]}}", 4},
        /* Brackets inside strings, escaped quotes and backslashes do not count. */
        {"{\"a\":\"[{[{\"}", 1},
        {"{\"a\\\"[[\":[\"\\\\\",[]]}", 3},
        {"[\"\\\"\",[\"]]]]\"]]", 2},
        /* Unbalanced text counts what it sees; closers never go below zero. */
        {"]]]]][", 1},
        {"[[[", 3},
        {"}}{{", 2},
        /* Past max the scan stops with max + 1. */
        {"[[[[[[[[[]]]]]]]]]", 9},
        {"[[[[[[[[[[[[[[[[[[[[", 9},
        {"{\"k\":[[[[[[[[\"x\"]]]]]]]]}", 9},
        {"[[[[[[[[]]]]]]]]", 8},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int d = event_json_depth(cases[i].text, strlen(cases[i].text), 8);
        if (d != cases[i].depth) {
            fail_msg("depth of %s: %d, expected %d", cases[i].text, d, cases[i].depth);
        }
    }
    /* The length bounds the scan: a NUL is just a byte, and what follows len is unseen. */
    assert_int_equal(event_json_depth("[\0[[]]]", 7, 8), 3);
    assert_int_equal(event_json_depth("[[[[", 2, 8), 2);
}

static void
test_parse_body_depth(void **state)
{
    static const size_t levels[] = {1, 2, 32, 63, 64, 65, 100, 900, 1000, 2048, 2049, 100000};
    struct app_err err = {0};
    json_t *v;

    (void)state;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char *arr = brackets(levels[i], '[', ']');
        v = event_parse_body(arr, strlen(arr), &err);
        if (levels[i] <= EVENT_BODY_DEPTH_MAX) {
            assert_non_null(v);
        } else {
            assert_null(v);
            assert_int_equal(err.code, ERR_INVALID);
            assert_string_equal(err.msg, "Request body is nested more than 64 levels deep");
        }
        json_decref(v);
        free(arr);
    }
    /* An event whose properties are deep is refused the same way, unparsed. */
    char *deep = brackets(5000, '[', ']');
    size_t n = strlen(deep) + 200;
    char *body = malloc(n);
    assert_non_null(body);
    snprintf(body, n,
             "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\","
             "\"properties\":{\"x\":%s}}",
             deep);
    assert_null(event_parse_body(body, strlen(body), &err));
    assert_string_equal(err.msg, "Request body is nested more than 64 levels deep");
    free(body);
    free(deep);
    /* Within the limit, the parser's own errors come through. */
    assert_null(event_parse_body("{\"a\":", 5, &err));
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg,
                        "Invalid JSON: unexpected token near end of file (line 1, column 5)");
    v = event_parse_body("\"x\"", 3, &err);
    assert_true(json_is_string(v));
    json_decref(v);
}

static void
test_request_site_id_length(void **state)
{
    json_t *body = minimal_body();

    (void)state;
    json_object_set_new(body, "site_id", string_of(256, 's'));
    assert_request_accepted(body);
    json_object_set_new(body, "site_id", string_of(1, 's'));
    assert_request_accepted(body);
    json_object_set_new(body, "site_id", string_of(257, 's'));
    assert_request_rejected(body, "Field 'site_id' must be 1-256 bytes");
    json_object_set_new(body, "site_id", json_string(""));
    assert_request_rejected(body, "Field 'site_id' must be 1-256 bytes");
    json_decref(body);
}

static void
test_request_lengths_are_bytes(void **state)
{
    /* 128 two-byte characters are 256 bytes; 129 are 258. */
    char buf[2 * 129 + 1];
    json_t *body = minimal_body();

    (void)state;
    for (int i = 0; i < 129; i++) {
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    }
    buf[2 * 128] = '\0';
    json_object_set_new(body, "site_id", json_string(buf));
    assert_request_accepted(body);
    memcpy(buf + 2 * 128, "\xc3\xa9", 3);
    assert_int_equal(strlen(buf), 258);
    json_object_set_new(body, "site_id", json_string(buf));
    assert_request_rejected(body, "Field 'site_id' must be 1-256 bytes");
    json_decref(body);
}

static void
test_request_event_type_length(void **state)
{
    json_t *body = minimal_body();

    (void)state;
    json_object_set_new(body, "event_type", string_of(64, 'e'));
    assert_request_accepted(body);
    json_object_set_new(body, "event_type", string_of(65, 'e'));
    assert_request_rejected(body, "Field 'event_type' must be 1-64 bytes");
    json_object_set_new(body, "event_type", json_string(""));
    assert_request_rejected(body, "Field 'event_type' must be 1-64 bytes");
    json_decref(body);
}

static void
test_request_path_length(void **state)
{
    json_t *body = minimal_body();
    struct event ev;

    (void)state;
    json_object_set_new(body, "path", string_of(2048, 'p'));
    assert_request_accepted(body);
    json_object_set_new(body, "path", string_of(2049, 'p'));
    assert_request_rejected_prefix(body, "Field 'path' ");
    json_object_set_new(body, "path", json_string(""));
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_non_null(ev.path);
    assert_string_equal(ev.path, "");
    event_cleanup(&ev);
    json_decref(body);
}

static void
test_request_user_id_length(void **state)
{
    json_t *body = minimal_body();
    struct event ev;

    (void)state;
    json_object_set_new(body, "user_id", string_of(256, 'u'));
    assert_request_accepted(body);
    json_object_set_new(body, "user_id", string_of(257, 'u'));
    assert_request_rejected_prefix(body, "Field 'user_id' ");
    json_object_set_new(body, "user_id", json_string(""));
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_non_null(ev.user_id);
    assert_string_equal(ev.user_id, "");
    event_cleanup(&ev);
    json_decref(body);
}

/* The screen width: an integer 0-100000, absent (or null) -1; anything else refused. (The
 * fast scanner takes string members only: a screen_width always goes to jansson.) */
static void
test_request_screen_width(void **state)
{
    static const struct {
        const char *value; /* screen_width's JSON */
        long width;        /* ev.screen_width, or -2: refused */
    } cases[] = {
        {"null", -1}, {"0", 0},      {"390", 390},    {"100000", 100000}, {"100001", -2},
        {"-1", -2},   {"390.5", -2}, {"\"390\"", -2}, {"true", -2},       {"[390]", -2},
    };
    struct event ev;
    struct app_err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = json_pack("{s:s,s:s,s:s,s:o}", "site_id", "s", "event_type", "e",
                                 "timestamp", "2025-11-15T10:00:00Z", EVENT_SCREEN_WIDTH,
                                 json_loads(cases[i].value, JSON_DECODE_ANY, NULL));

        assert_non_null(body);
        if (cases[i].width == -2) {
            assert_int_equal(event_from_request(body, &ev, &err), -1);
            assert_string_equal(err.msg, EVENT_SCREEN_WIDTH_MSG);
        } else {
            assert_int_equal(event_from_request(body, &ev, &err), 0);
            assert_int_equal(ev.screen_width, cases[i].width);
            event_cleanup(&ev);
        }
        json_decref(body);
    }
}

static void scan_agrees(const char *text);

/* How the visitor was known: user_id sent (client), with user_id_source "device" (the
 * tracker's stored id), or none (left to ingest, which derives one); user_id_source takes
 * "device" only. */
static void
test_request_user_id_source(void **state)
{
    static const struct {
        const char *extra; /* members after the minimal event's */
        int visitor;       /* enum event_visitor, or -1: refused */
    } cases[] = {
        {"", EVENT_VISITOR_UNKNOWN},
        {",\"user_id\":\"u\"", EVENT_VISITOR_CLIENT},
        {",\"user_id\":\"\"", EVENT_VISITOR_UNKNOWN},
        {",\"user_id\":null", EVENT_VISITOR_UNKNOWN},
        {",\"user_id\":\"u\",\"user_id_source\":\"device\"", EVENT_VISITOR_DEVICE},
        {",\"user_id\":\"u\",\"user_id_source\":null", EVENT_VISITOR_CLIENT},
        {",\"user_id_source\":\"device\"", EVENT_VISITOR_UNKNOWN}, /* no id: derived */
        {",\"user_id\":\"u\",\"user_id_source\":\"client\"", -1},
        {",\"user_id\":\"u\",\"user_id_source\":\"hash\"", -1},
        {",\"user_id\":\"u\",\"user_id_source\":\"Device\"", -1},
        {",\"user_id\":\"u\",\"user_id_source\":1", -1},
        {",\"user_id_source\":\"\"", -1},
    };
    char text[256];
    struct event ev;
    struct app_err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                 "\"2025-11-15T10:00:00Z\"%s}",
                 cases[i].extra);
        json_t *body = load(text);
        int rc = event_from_request(body, &ev, &err);
        if (cases[i].visitor < 0) {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, EVENT_USER_ID_SOURCE_MSG);
            assert_string_equal(err.msg, "Field 'user_id_source' must be \"device\" (or absent)");
        } else {
            assert_int_equal(rc, 0);
            if ((int)ev.visitor != cases[i].visitor) {
                fail_msg("case %zu: visitor %d, expected %d", i, ev.visitor, cases[i].visitor);
            }
            event_cleanup(&ev);
        }
        json_decref(body);
        scan_agrees(text);
    }
    assert_string_equal(event_visitor_name(EVENT_VISITOR_CLIENT), "client");
    assert_string_equal(event_visitor_name(EVENT_VISITOR_DEVICE), "device");
    assert_string_equal(event_visitor_name(EVENT_VISITOR_HASH), "hash");
    assert_null(event_visitor_name(EVENT_VISITOR_UNKNOWN));
    assert_int_equal(event_visitor_parse("hash", 4), EVENT_VISITOR_HASH);
    assert_int_equal(event_visitor_parse("hash", 3), EVENT_VISITOR_UNKNOWN);
    assert_int_equal(event_visitor_parse("", 0), EVENT_VISITOR_UNKNOWN);
}

static void
test_request_bad_timestamp(void **state)
{
    static const char *const bad[] = {
        "",
        "2025-11-15",
        "2025-11-15T10:00:00",
        "2025-02-30T10:00:00Z",
        "yesterday",
        "2025-11-15T10:00:00Z ",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = minimal_body();
        json_object_set_new(body, "timestamp", json_string(bad[i]));
        assert_request_rejected(body, TS_MSG);
        json_decref(body);
    }
}

static void
test_request_non_object_body(void **state)
{
    static const char *const bodies[] = {"[]",  "[{\"site_id\":\"s\"}]", "\"text\"", "42", "null",
                                         "true"};

    (void)state;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *body = json_loads(bodies[i], JSON_DECODE_ANY, NULL);
        assert_non_null(body);
        assert_request_rejected(body, "Request body must be a JSON object");
        json_decref(body);
    }
}

static void
test_request_unknown_fields_ignored(void **state)
{
    json_t *body = load("{\"site_id\":\"s\",\"event_type\":\"click\",\"timestamp\":"
                        "\"2025-11-15T10:00:00Z\",\"extra\":[1,{\"a\":null}],\"ts\":\"no\","
                        "\"id\":5,\"received\":\"x\"}");
    struct event ev;

    (void)state;
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_string_equal(ev.event_type, "click");
    assert_int_equal(ev.ts_ms, EXAMPLE_MS);
    event_cleanup(&ev);
    json_decref(body);
}

static void
test_request_event_outlives_callers_reference(void **state)
{
    json_t *body = load("{\"site_id\":\"site-1\",\"event_type\":\"signup\",\"timestamp\":"
                        "\"2025-11-15T10:00:00Z\",\"path\":\"/a\",\"user_id\":\"u\","
                        "\"properties\":{\"k\":\"v\"}}");
    struct event ev;

    (void)state;
    assert_int_equal(event_from_request(body, &ev, NULL), 0);
    assert_int_equal(body->refcount, 2);
    json_decref(body); /* the caller's reference; the event's keeps it alive */
    assert_int_equal(ev.src->refcount, 1);
    assert_string_equal(ev.site_id, "site-1");
    assert_string_equal(ev.event_type, "signup");
    assert_string_equal(ev.path, "/a");
    assert_string_equal(ev.user_id, "u");
    assert_string_equal(json_string_value(json_object_get(ev.properties, "k")), "v");
    event_cleanup(&ev);
    assert_null(ev.src);
}

/* A time reader for event_take_fields() that counts its calls, reads the member "when"
 * (an integer) into ts_ms, and fails with "when is bad" for anything else. */
static int when_calls;

static int
read_when(json_t *obj, struct event *ev, struct app_err *err)
{
    json_t *v = json_object_get(obj, "when");

    when_calls++;
    if (!json_is_integer(v)) {
        return err_set(err, ERR_INVALID, "when is bad");
    }
    ev->ts_ms = json_integer_value(v);
    return 0;
}

/* event_take_fields() on the JSON text, with time member "when": its message
 * (NULL: expect success, then release nothing, as the event holds no reference) and
 * how many times it called the reader. */
static void
assert_take_fields(const char *text, const char *msg, int calls)
{
    json_t *o = load(text);
    struct event ev;
    struct app_err err = {0, ""};

    when_calls = 0;
    memset(&ev, 0x55, sizeof ev); /* event_take_fields zeroes it first */
    if (msg == NULL) {
        if (event_take_fields(o, "when", read_when, &ev, &err) != 0) {
            fail_msg("rejected %s: %s", text, err.msg);
        }
        assert_null(ev.src);
    } else {
        assert_int_equal(event_take_fields(o, "when", read_when, &ev, &err), -1);
        assert_int_equal(err.code, ERR_INVALID);
        assert_string_equal(err.msg, msg);
        /* Left zeroed, so event_cleanup() is safe and nothing points into o. */
        assert_null(ev.site_id);
        assert_null(ev.event_type);
        assert_null(ev.path);
        assert_int_equal(ev.ts_ms, 0);
    }
    assert_int_equal(when_calls, calls);
    assert_int_equal(o->refcount, 1);
    json_decref(o);
}

static void
test_take_fields_table(void **state)
{
    static const struct {
        const char *text;
        const char *msg; /* NULL: accepted */
        int calls;       /* of the time reader */
    } cases[] = {
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":7}", NULL, 1},
        /* The time member is required in third place, by the caller's name. */
        {"{}", "Missing required fields: site_id, event_type, when", 0},
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"x\"}",
         "Missing required fields: when", 0},
        {"{\"event_type\":\"e\",\"when\":null}", "Missing required fields: site_id, when", 0},
        {"{\"site_id\":5,\"event_type\":5}", "Missing required fields: when", 0},
        /* The reader runs after site_id and event_type, before path, user_id, properties. */
        {"{\"site_id\":5,\"event_type\":\"e\",\"when\":\"x\"}", "Field 'site_id' must be a string",
         0},
        {"{\"site_id\":\"s\",\"event_type\":\"\",\"when\":\"x\"}",
         "Field 'event_type' must be 1-64 bytes", 0},
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":\"x\",\"path\":1,\"properties\":2}",
         "when is bad", 1},
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":7,\"path\":1,\"user_id\":2}",
         "Field 'path' must be a string", 1},
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":7,\"user_id\":2,\"properties\":2}",
         "Field 'user_id' must be a string", 1},
        {"{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":7,\"path\":\"/\",\"properties\":[]}",
         "Field 'properties' must be an object", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_take_fields(cases[i].text, cases[i].msg, cases[i].calls);
    }
}

static void
test_take_fields_fills_event(void **state)
{
    json_t *o = load("{\"site_id\":\"s\",\"event_type\":\"e\",\"when\":-1000,\"path\":\"/p\","
                     "\"user_id\":\"u\",\"properties\":{\"k\":1},\"id\":\"x\",\"rid\":\"r\"}");
    struct event ev;

    (void)state;
    assert_int_equal(event_take_fields(o, "when", read_when, &ev, NULL), 0);
    assert_ptr_equal(ev.site_id, json_string_value(json_object_get(o, "site_id")));
    assert_string_equal(ev.event_type, "e");
    assert_string_equal(ev.path, "/p");
    assert_string_equal(ev.user_id, "u");
    assert_ptr_equal(ev.properties, json_object_get(o, "properties"));
    assert_int_equal(ev.ts_ms, -1000);
    /* What belongs to a format (ids, receive time, request id, the reference) is left
     * to its caller. */
    assert_string_equal(ev.id, "");
    assert_int_equal(ev.received_ms, 0);
    assert_null(ev.request_id);
    assert_null(ev.src);
    assert_int_equal(o->refcount, 1);
    json_decref(o);
}

/* Check id is in the form event_new_id() writes and return its time prefix. */
static int64_t
check_id_form(const char *id)
{
    int64_t t = 0;

    assert_int_equal(strlen(id), EVENT_ID_LEN);
    for (int i = 0; i < EVENT_ID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(id[i], '-');
        } else {
            assert_non_null(strchr("0123456789abcdef", id[i]));
            assert_true(id[i] != '\0');
        }
    }
    assert_int_equal(id[14], '7');           /* version 7 */
    assert_non_null(strchr("89ab", id[19])); /* RFC 4122 variant */
    assert_true(id[19] != '\0');
    for (int i = 0; i < 13; i++) {
        if (i != 8) {
            char c = id[i];
            t = t * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
        }
    }
    return t;
}

static void
test_new_id_format(void **state)
{
    static const int64_t times[] = {0, 1, 0x0123456789abLL, EXAMPLE_MS, 0xffffffffffffLL};
    char id[EVENT_ID_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        memset(id, 'X', sizeof id);
        event_new_id(times[i], id);
        assert_int_equal(check_id_form(id), times[i]);
        assert_true(event_id_valid(id));
    }
    event_new_id(0x0123456789abLL, id);
    assert_memory_equal(id, "01234567-89ab-7", 15);
    event_new_id(ts_now_ms(), id);
    check_id_form(id);
    assert_true(event_id_valid(id));
}

static void
test_new_id_time_prefix_orders(void **state)
{
    static const int64_t starts[] = {0, 250, 65530, 16777210, EXAMPLE_MS, 0xfffffffffff0LL};
    char prev[EVENT_ID_LEN + 1], cur[EVENT_ID_LEN + 1];

    (void)state;
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        event_new_id(starts[s], prev);
        for (int64_t t = starts[s] + 1; t < starts[s] + 12; t++) {
            event_new_id(t, cur);
            if (strcmp(prev, cur) >= 0) {
                fail_msg("id for %lld (%s) does not sort after the previous ms (%s)", (long long)t,
                         cur, prev);
            }
            memcpy(prev, cur, sizeof prev);
        }
    }
}

static void
test_id_valid_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "0190163d-8694-7abc-8def-0123456789a",   /* 35 chars */
        "0190163d-8694-7abc-8def-0123456789abc", /* 37 chars */
        "0190163D-8694-7ABC-8DEF-0123456789AB",  /* upper case */
        "0190163d-8694-7abc-8def-0123456789aG",
        "0190163d 8694-7abc-8def-0123456789ab",
        "0190163d8694-7abc-8def-0123456789ab-",
        "0190163d-86947-abc-8def-0123456789ab",
        "0190163d-8694-7abc-8def0-123456789ab",
        "{0190163d-8694-7abc-8def-0123456789ab}",
        "0190163d-8694-7abc-8def-0123456789ab\n",
        "0190163d-8694-7abc-8def-0123456789a\xc3\xa9",
        "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
        "------------------------------------",
    };

    (void)state;
    assert_true(event_id_valid("0190163d-8694-7abc-8def-0123456789ab"));
    assert_true(event_id_valid("0190163d-8694-7abc-bdef-0123456789ab"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (event_id_valid(bad[i])) {
            fail_msg("event_id_valid accepted \"%s\"", bad[i]);
        }
    }
}

static void
test_id_valid_rejects_other_uuid_versions(void **state)
{
    /* event_new_id() always writes version 7 and variant 10xx, so "of the form
     * event_new_id() writes" excludes other versions and variants. */
    static const char *const bad[] = {
        "0190163d-8694-4abc-8def-0123456789ab", /* version 4 */
        "00000000-0000-0000-0000-000000000000", /* the nil UUID */
        "0190163d-8694-7abc-0def-0123456789ab", /* variant 0xxx */
        "0190163d-8694-7abc-cdef-0123456789ab", /* variant 110x */
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (event_id_valid(bad[i])) {
            fail_msg("event_id_valid accepted \"%s\"", bad[i]);
        }
    }
}

#define ID_THREADS 4
#define IDS_PER_THREAD 25000

struct id_batch {
    char (*ids)[EVENT_ID_LEN + 1];
    int64_t now_ms;
};

static void *
make_ids(void *arg)
{
    struct id_batch *b = arg;

    for (int i = 0; i < IDS_PER_THREAD; i++) {
        event_new_id(b->now_ms, b->ids[i]);
    }
    return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, EVENT_ID_LEN);
}

static void
test_new_id_unique_across_threads(void **state)
{
    /* Every thread uses the same millisecond, so only the random bits can
     * tell the ids apart. */
    char(*ids)[EVENT_ID_LEN + 1] = calloc(ID_THREADS * IDS_PER_THREAD, sizeof *ids);
    pthread_t th[ID_THREADS];
    struct id_batch batch[ID_THREADS];
    size_t n = ID_THREADS * IDS_PER_THREAD;

    (void)state;
    assert_non_null(ids);
    for (int i = 0; i < ID_THREADS; i++) {
        batch[i].ids = ids + i * IDS_PER_THREAD;
        batch[i].now_ms = EXAMPLE_MS;
        assert_int_equal(pthread_create(&th[i], NULL, make_ids, &batch[i]), 0);
    }
    for (int i = 0; i < ID_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (size_t i = 0; i < n; i++) {
        if (!event_id_valid(ids[i])) {
            fail_msg("invalid id \"%.36s\"", ids[i]);
        }
        assert_int_equal(check_id_form(ids[i]), EXAMPLE_MS);
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 1; i < n; i++) {
        if (memcmp(ids[i - 1], ids[i], EVENT_ID_LEN) == 0) {
            fail_msg("duplicate id %s", ids[i]);
        }
    }
    free(ids);
}

/* event_id: 1-64 characters of [A-Za-z0-9_-]; null is absent; anything else is refused
 * with the one message that names the field. */
static void
test_request_event_id(void **state)
{
    static const struct {
        const char *json; /* the event_id member's value */
        int ok;
    } cases[] = {
        {"\"a\"", 1},
        {"\"click-42_A\"", 1},
        {"\"0123456789012345678901234567890123456789012345678901234567890123\"", 1},
        {"\"01234567890123456789012345678901234567890123456789012345678901234\"", 0},
        {"\"\"", 0},
        {"\"a:b\"", 0},
        {"\"a b\"", 0},
        {"\"a.b\"", 0},
        {"\"\u00e9\"", 0},
        {"5", 0},
        {"true", 0},
        {"{}", 0},
        {"null", 1},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event ev;
        struct app_err err = {0, ""};
        json_t *body;
        snprintf(text, sizeof text,
                 "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\","
                 "\"event_id\":%s}",
                 cases[i].json);
        body = load(text);
        if (!cases[i].ok) {
            assert_request_rejected(body, EVENT_CLIENT_ID_MSG);
            json_decref(body);
            continue;
        }
        if (event_from_request(body, &ev, &err) != 0) {
            fail_msg("rejected %s: %s", text, err.msg);
        }
        if (strcmp(cases[i].json, "null") == 0) {
            assert_null(ev.client_id);
        } else {
            assert_non_null(ev.client_id);
            assert_int_equal(strlen(ev.client_id) + 2, strlen(cases[i].json));
        }
        event_cleanup(&ev);
        json_decref(body);
    }
    /* The required fields' reasons come first. */
    json_t *body = load("{\"site_id\":\"s\",\"event_id\":5}");
    assert_request_rejected(body, "Missing required fields: event_type, timestamp");
    json_decref(body);
}

static void
test_client_id_valid_table(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int ok;
    } cases[] = {
        {"a", 1, 1},  {"Z9_-", 4, 1}, {"", 0, 0},   {"a:", 2, 0},
        {"a/", 2, 0}, {"a\0b", 3, 0}, {"ab", 1, 1}, /* only len characters are read */
    };
    char big[66];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (event_client_id_valid(cases[i].s, cases[i].len) != cases[i].ok) {
            fail_msg("event_client_id_valid(\"%s\", %zu) != %d", cases[i].s, cases[i].len,
                     cases[i].ok);
        }
    }
    memset(big, '-', sizeof big);
    assert_true(event_client_id_valid(big, 64));
    assert_false(event_client_id_valid(big, 65));
}

/* The derived _id, and which ids an envelope of a site may carry. */
static void
test_derive_and_doc_id_valid(void **state)
{
    char out[EVENT_DOC_ID_MAX + 1], site[EVENT_SITE_ID_MAX + 1], eid[EVENT_CLIENT_ID_MAX + 1];

    (void)state;
    event_derive_id("site-abc-123", "click-1", out);
    assert_string_equal(out, "site-abc-123:click-1");
    assert_true(event_doc_id_valid(out, "site-abc-123"));
    assert_false(event_doc_id_valid(out, "site-abc-12"));
    assert_false(event_doc_id_valid(out, "site-abc-1234"));
    assert_true(event_doc_id_valid("0190163d-8694-7abc-8def-0123456789ab", "any"));
    assert_false(event_doc_id_valid("s:", "s"));
    assert_false(event_doc_id_valid("s:a:b", "s"));
    assert_true(event_doc_id_valid("a:b:c", "a:b")); /* site ids may hold ':' */
    /* The longest: a 256-byte site and a 64-character id fill the buffer exactly. */
    memset(site, 's', EVENT_SITE_ID_MAX);
    site[EVENT_SITE_ID_MAX] = '\0';
    memset(eid, 'e', EVENT_CLIENT_ID_MAX);
    eid[EVENT_CLIENT_ID_MAX] = '\0';
    event_derive_id(site, eid, out);
    assert_int_equal(strlen(out), EVENT_DOC_ID_MAX);
    assert_true(event_doc_id_valid(out, site));
}

/* The skew correction: ts + (received - sent), refused outside years 0001-9999 or 64 bits. */
static void
test_correct_ts_table(void **state)
{
    static const struct {
        int64_t ts, sent, received;
        int ok;
        int64_t want;
    } cases[] = {
        /* A clock a day ahead: its times move back a day. */
        {1763200800000LL + TS_DAY_MS, 1763200900000LL + TS_DAY_MS, 1763200900000LL, 1,
         1763200800000LL},
        /* A clock an hour behind. */
        {1763197200000LL, 1763200800000LL - 3600000LL, 1763200800000LL, 1, 1763200800000LL},
        {5, 7, 7, 1, 5}, /* no skew */
        {TS_MAX_MS, 0, 0, 1, TS_MAX_MS},
        {TS_MAX_MS, 0, 1, 0, 0},
        {TS_MIN_MS, 1, 0, 0, 0},
        {TS_MIN_MS, TS_MIN_MS, TS_MAX_MS, 1, TS_MAX_MS}, /* the widest skew there is */
        {TS_MIN_MS + 1, TS_MIN_MS, TS_MAX_MS, 0, 0},
        {0, INT64_MIN, INT64_MAX, 0, 0}, /* received - sent overflows */
        {INT64_MAX, 0, 1, 0, 0},         /* ts + skew overflows */
        {INT64_MIN, 1, 0, 0, 0},
        {INT64_MAX, 5, 5, 0, 0}, /* in 64 bits but no date */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t out = -42;
        int rc = event_correct_ts(cases[i].ts, cases[i].sent, cases[i].received, &out);
        if (rc != (cases[i].ok ? 0 : -1) || (cases[i].ok && out != cases[i].want) ||
            (!cases[i].ok && out != -42)) {
            fail_msg("case %zu: rc %d out %lld", i, rc, (long long)out);
        }
    }
}

/* A named RFC 3339 member, as /events reads sent_at. */
static void
test_take_time(void **state)
{
    json_t *o = load("{\"a\":\"2025-11-15T10:00:00Z\",\"b\":5,\"c\":\"2025-11-15\"}");
    struct app_err err = {0, ""};
    int64_t ms = 0;

    (void)state;
    assert_int_equal(event_take_time(o, "a", &ms, &err), 0);
    assert_int_equal(ms, 1763200800000LL);
    assert_int_equal(event_take_time(o, "b", &ms, &err), -1);
    assert_string_equal(err.msg, "Field 'b' must be a string");
    assert_int_equal(event_take_time(o, "c", &ms, &err), -1);
    assert_string_equal(err.msg, "Field 'c' must be an RFC 3339 date-time with a time zone, "
                                 "e.g. 2025-11-15T10:00:00Z");
    assert_int_equal(event_take_time(o, "missing", &ms, &err), -1);
    json_decref(o);
}

/* event_scan() accepts exactly what the jansson path accepts, with the same fields, for
 * a plain body; anything else is left to jansson, with the buffer untouched. */
static void
scan_agrees(const char *text)
{
    size_t len = strlen(text);
    char *buf = strdup(text);
    struct event s, j;
    struct app_err err = {0};
    json_t *body = event_parse_body(text, len, NULL);
    int slow = body != NULL && event_from_request(body, &j, &err) == 0;

    assert_non_null(buf);
    if (event_scan(buf, len, &s)) {
        assert_true(slow);
        assert_string_equal(s.site_id, j.site_id);
        assert_string_equal(s.event_type, j.event_type);
        assert_int_equal(s.ts_ms, j.ts_ms);
        assert_true((s.path == NULL) == (j.path == NULL));
        assert_true(s.path == NULL || strcmp(s.path, j.path) == 0);
        assert_true((s.user_id == NULL) == (j.user_id == NULL));
        assert_true(s.user_id == NULL || strcmp(s.user_id, j.user_id) == 0);
        assert_true((s.client_id == NULL) == (j.client_id == NULL));
        assert_true(s.client_id == NULL || strcmp(s.client_id, j.client_id) == 0);
        assert_int_equal(s.visitor, j.visitor);
        assert_null(j.properties);
        assert_null(s.src);
    } else {
        assert_memory_equal(buf, text, len + 1);
    }
    if (slow) {
        event_cleanup(&j);
    }
    json_decref(body);
    free(buf);
}

static void
test_scan_plain(void **state)
{
    char buf[] = " {\"site_id\":\"s1\", \"event_type\" : \"page_view\",\n\"path\":\"\","
                 "\"timestamp\":\"2025-11-15T10:00:00Z\",\"user_id\":\"u1\"} ";
    char other[] =
        "{\"site_id\":\"s1\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\","
        "\"x\":\"y\"}";
    struct event ev;

    (void)state;
    assert_int_equal(event_scan(buf, strlen(buf), &ev), 1);
    assert_string_equal(ev.site_id, "s1");
    assert_string_equal(ev.event_type, "page_view");
    assert_string_equal(ev.path, "");
    assert_string_equal(ev.user_id, "u1");
    assert_null(ev.client_id);
    assert_int_equal(ev.ts_ms, EXAMPLE_MS);
    event_cleanup(&ev);
    /* A member off the scanner's list, even one the jansson path ignores, is jansson's. */
    assert_int_equal(event_scan(other, strlen(other), &ev), 0);
}

static void
test_scan_agrees_with_jansson(void **state)
{
    static const char *const bodies[] = {
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00+05:30\","
        "\"event_id\":\"abc-1\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\","
        "\"event_id\":\"a:b\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15\"}",
        "{\"site_id\":\"\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"} x",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\",}",
        "{\"site_id\":\"s\",\"site_id\":\"r\",\"event_type\":\"t\","
        "\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\\u0041\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\xc3\xa9\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\xc3\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\","
        "\"path\":null}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\","
        "\"properties\":{\"a\":1}}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\","
        "\"n\":1}",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"",
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z",
        "[{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}]",
        "{}",
        "",
        "{\"site_id\":\"s\"\"event_type\":\"t\"}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        scan_agrees(bodies[i]);
    }
}

static void
test_scan_lengths(void **state)
{
    char site[EVENT_SITE_ID_MAX + 2], text[1024];

    (void)state;
    memset(site, 'a', sizeof site - 1);
    site[sizeof site - 1] = '\0';
    snprintf(text, sizeof text,
             "{\"site_id\":\"%s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
             site);
    scan_agrees(text); /* 257 bytes: jansson's 400 */
    site[EVENT_SITE_ID_MAX] = '\0';
    snprintf(text, sizeof text,
             "{\"site_id\":\"%s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}",
             site);
    scan_agrees(text);
}

static void
test_scan_batch(void **state)
{
    static const char one[] =
        "{\"site_id\":\"s\",\"event_type\":\"t\",\"timestamp\":\"2025-11-15T10:00:00Z\"}";
    char text[4096], copy[4096];
    struct event *evs;
    size_t n = 99;

    (void)state;
    snprintf(text, sizeof text, " [ %s ,%s,\n%s ] ", one, one, one);
    memcpy(copy, text, sizeof text);
    evs = event_scan_batch(text, strlen(text), 500, &n);
    assert_non_null(evs);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(evs[i].site_id, "s");
        assert_int_equal(evs[i].ts_ms, EXAMPLE_MS);
    }
    free(evs);
    /* Too many, a bad last event, an empty array, an object: left whole to jansson. */
    memcpy(text, copy, sizeof text);
    assert_null(event_scan_batch(text, strlen(text), 2, &n));
    assert_int_equal(n, 0);
    assert_string_equal(text, copy);
    snprintf(text, sizeof text, "[%s,%s,{\"site_id\":\"s\"}]", one, one);
    memcpy(copy, text, sizeof text);
    assert_null(event_scan_batch(text, strlen(text), 500, &n));
    assert_string_equal(text, copy);
    snprintf(text, sizeof text, "[%s,%s] x", one, one);
    memcpy(copy, text, sizeof text);
    assert_null(event_scan_batch(text, strlen(text), 500, &n));
    assert_string_equal(text, copy);
    snprintf(text, sizeof text, "[]");
    assert_null(event_scan_batch(text, strlen(text), 500, &n));
    snprintf(text, sizeof text, "{\"events\":[%s]}", one);
    assert_null(event_scan_batch(text, strlen(text), 500, &n));
}

/* --- one input, one answer: the scanner against jansson, member by member ------------ */

#define ANSWER_MAX 8192
static size_t fast_answers; /* answers the scanner gave (so the table is not vacuous) */

/* Append to out the envelope of ev as ingest queues it (seal() in ingest/accept.c), with a
 * fixed delivery id, receive time and request id, so that two paths' envelopes compare as
 * text. */
static void
append_envelope(struct event *ev, char *out)
{
    size_t at = strlen(out);
    char *text;

    snprintf(ev->delivery, sizeof ev->delivery, "0190163d-8694-7abc-8def-0123456789ab");
    if (ev->client_id != NULL) {
        event_derive_id(ev->site_id, ev->client_id, ev->id);
    } else {
        memcpy(ev->id, ev->delivery, sizeof ev->delivery);
        ev->delivery[0] = '\0';
    }
    ev->received_ms = EXAMPLE_MS;
    ev->request_id = "rid";
    text = envelope_encode(ev, NULL);
    assert_non_null(text);
    snprintf(out + at, ANSWER_MAX - at, " %s", text);
    free(text);
}

/* What POST /event answers for the body text by one path, into out: "202 <envelope>" or
 * "400 <message>". fast: event_scan() first, as the handler does; else jansson alone. */
static void
answer_event(const char *text, int fast, char *out)
{
    size_t len = strlen(text);
    char *buf = strdup(text);
    struct event ev;
    struct app_err err = {0, ""};
    json_t *body = NULL;

    assert_non_null(buf);
    if (fast && event_scan(buf, len, &ev)) {
        fast_answers++;
        snprintf(out, ANSWER_MAX, "202");
        append_envelope(&ev, out);
    } else {
        assert_memory_equal(buf, text, len + 1); /* handed over as it came */
        body = event_parse_body(text, len, &err);
        if (body == NULL || event_from_request(body, &ev, &err) != 0) {
            snprintf(out, ANSWER_MAX, "400 %s", err.msg);
        } else {
            snprintf(out, ANSWER_MAX, "202");
            append_envelope(&ev, out);
        }
    }
    event_cleanup(&ev);
    json_decref(body);
    free(buf);
}

/* The same for a POST /events body that is an array: "202 <envelopes>", or "400" and each
 * invalid event's index and message. */
static void
answer_batch(const char *text, int fast, char *out)
{
    size_t len = strlen(text), n = 0, i;
    char *buf = strdup(text), refused[ANSWER_MAX] = "400";
    struct event *evs, ev;
    struct app_err err = {0, ""};
    json_t *body = NULL, *item;

    assert_non_null(buf);
    snprintf(out, ANSWER_MAX, "202");
    if (fast && (evs = event_scan_batch(buf, len, 500, &n)) != NULL) {
        fast_answers++;
        for (i = 0; i < n; i++) {
            append_envelope(&evs[i], out);
            event_cleanup(&evs[i]);
        }
        free(evs);
    } else {
        assert_memory_equal(buf, text, len + 1);
        body = event_parse_body(text, len, &err);
        assert_true(json_is_array(body)); /* the table's batches are arrays */
        json_array_foreach(body, i, item)
        {
            if (event_from_request(item, &ev, &err) != 0) {
                size_t at = strlen(refused);
                snprintf(refused + at, sizeof refused - at, " [%zu] %s", i, err.msg);
                continue;
            }
            append_envelope(&ev, out);
            event_cleanup(&ev);
        }
        if (strcmp(refused, "400") != 0) {
            snprintf(out, ANSWER_MAX, "%s", refused);
        }
    }
    json_decref(body);
    free(buf);
}

/* Every member the jansson path reads, and one it ignores; a valid value of each. */
static const char *const members[] = {"site_id",  "event_type", "timestamp",
                                      "path",     "user_id",    "properties",
                                      "event_id", "other",      "user_id_source"};
static const char *const valid_values[] = {"\"s1\"",  "\"page_view\"", "\"2025-11-15T10:00:00Z\"",
                                           "\"/p\"",  "\"u1\"",        "{\"k\":\"v\"}",
                                           "\"e-1\"", "\"y\"",         "\"device\""};
#define N_REQUIRED 3 /* the first three members */
/* Every JSON type, strings of several kinds among them. */
static const char *const any_values[] = {"\"x\"",
                                         "\"\"",
                                         "\"caf\\u00e9\"",
                                         "\"caf\xc3\xa9\"",
                                         "\"2025-11-16T10:00:00+01:00\"",
                                         "\"a:b\"",
                                         "1",
                                         "-0.5",
                                         "true",
                                         "false",
                                         "null",
                                         "{}",
                                         "{\"a\":1}",
                                         "[]",
                                         "[\"x\"]"};

/* An event object: the required members valid, and member m with value v (mode 0), or
 * twice: its valid value then v (mode 1), or v then its valid value (mode 2). */
static void
make_body(size_t m, const char *v, int mode, char *out, size_t outlen)
{
    size_t at = 0;

    out[at++] = '{';
    for (size_t k = 0; k < sizeof members / sizeof members[0]; k++) {
        const char *vals[2] = {k < N_REQUIRED ? valid_values[k] : NULL, NULL};
        if (k == m) {
            vals[0] = mode == 1 ? valid_values[k] : v;
            vals[1] = mode == 0 ? NULL : mode == 1 ? v : valid_values[k];
        }
        for (int j = 0; j < 2 && vals[j] != NULL; j++) {
            at += (size_t)snprintf(out + at, outlen - at, "\"%s\":%s,", members[k], vals[j]);
        }
    }
    out[at - 1] = '}';
}

static void
test_scan_member_type_table(void **state)
{
    char body[1024], batch[2048], a[ANSWER_MAX], b[ANSWER_MAX], base[1024];

    (void)state;
    fast_answers = 0;
    make_body(0, valid_values[0], 0, base, sizeof base);
    for (size_t m = 0; m < sizeof members / sizeof members[0]; m++) {
        for (size_t v = 0; v < sizeof any_values / sizeof any_values[0]; v++) {
            for (int mode = 0; mode < 3; mode++) {
                make_body(m, any_values[v], mode, body, sizeof body);
                answer_event(body, 1, a);
                answer_event(body, 0, b);
                if (strcmp(a, b) != 0) {
                    fail_msg("POST /event %s: scanner \"%s\", jansson \"%s\"", body, a, b);
                }
                for (int shape = 0; shape < 2; shape++) {
                    snprintf(batch, sizeof batch, shape ? "[%s,%s]" : "[%s]", shape ? base : body,
                             body);
                    answer_batch(batch, 1, a);
                    answer_batch(batch, 0, b);
                    if (strcmp(a, b) != 0) {
                        fail_msg("POST /events %s: scanner \"%s\", jansson \"%s\"", batch, a, b);
                    }
                }
            }
        }
    }
    assert_true(fast_answers >= 40); /* the scanner answered many of them (48) */
}

/* Out of memory while reading a body: each allocation of a parse fails in turn. The parse
 * then gives the very tree it gives with memory to spare, or NULL with ERR_INTERNAL (ingest
 * answers 500, which a client retries, never a 400 it would not), and leaks nothing; the
 * scanner hands a batch it has no room for to jansson, untouched. */
static void
test_parse_body_out_of_memory(void **state)
{
    static const char *const bodies[] = {
        "{\"site_id\":\"site-abcdefghijklmnopqrstuvwxyz\",\"event_type\":\"page_view_0123456789\","
        "\"timestamp\":\"2025-11-15T10:00:00.123456789+05:30\",\"path\":\"/a/b/c/d/e/f/g/h/i\","
        "\"properties\":{\"referrer\":\"https://example.com/0123456789\",\"n\":[1,2.5,true,null,"
        "{\"deep\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}],\"big\":12345678901234}}",
        "[{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\"},"
        "{\"site_id\":\"s0123456789abcdef0123\",\"event_type\":\"e\",\"timestamp\":\"x\"}]",
    };
    char batch[4096], copy[4096];
    struct app_err err = {0, ""};
    size_t at = 1, n = 0;

    (void)state;
    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
        long live = failalloc_live(), made = 0;
        json_t *want = event_parse_body(bodies[b], strlen(bodies[b]), &err), *got;

        assert_non_null(want);
        for (long k = 1; made >= k - 1; k++) {
            failalloc_arm(k);
            got = event_parse_body(bodies[b], strlen(bodies[b]), &err);
            made = failalloc_count();
            failalloc_arm(0);
            if (got != NULL) {
                assert_true(json_equal(got, want));
            } else if (err.code != ERR_INTERNAL) {
                fail_msg("allocation %ld of %ld failed: \"%s\" for %s", k, made, err.msg,
                         bodies[b]);
            }
            json_decref(got);
        }
        json_decref(want);
        assert_int_equal(failalloc_live(), live);
    }
    /* 20 plain events: the scanner's array grows past 16, and cannot. */
    batch[0] = '[';
    for (int i = 0; i < 20; i++) {
        at += (size_t)snprintf(batch + at, sizeof batch - at,
                               "%s{\"site_id\":\"s\",\"event_type\":\"e\","
                               "\"timestamp\":\"2025-11-15T10:00:00Z\"}",
                               i ? "," : "");
    }
    snprintf(batch + at, sizeof batch - at, "]");
    memcpy(copy, batch, sizeof batch);
    failalloc_arm(2);
    assert_null(event_scan_batch(batch, strlen(batch), 500, &n));
    assert_int_equal(failalloc_count(), 2);
    failalloc_arm(0);
    assert_int_equal(n, 0);
    assert_string_equal(batch, copy);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_full_event),
        cmocka_unit_test(test_request_event_id),
        cmocka_unit_test(test_client_id_valid_table),
        cmocka_unit_test(test_derive_and_doc_id_valid),
        cmocka_unit_test(test_correct_ts_table),
        cmocka_unit_test(test_take_time),
        cmocka_unit_test(test_request_minimal_event),
        cmocka_unit_test(test_request_optional_nulls_are_absent),
        cmocka_unit_test(test_request_missing_fields),
        cmocka_unit_test(test_request_missing_comes_before_type_errors),
        cmocka_unit_test(test_request_wrong_types),
        cmocka_unit_test(test_request_check_order),
        cmocka_unit_test(test_request_site_id_length),
        cmocka_unit_test(test_request_lengths_are_bytes),
        cmocka_unit_test(test_request_event_type_length),
        cmocka_unit_test(test_request_path_length),
        cmocka_unit_test(test_request_user_id_length),
        cmocka_unit_test(test_request_user_id_source),
        cmocka_unit_test(test_request_screen_width),
        cmocka_unit_test(test_request_bad_timestamp),
        cmocka_unit_test(test_request_non_object_body),
        cmocka_unit_test(test_request_unknown_fields_ignored),
        cmocka_unit_test(test_request_event_outlives_callers_reference),
        cmocka_unit_test(test_take_fields_table),
        cmocka_unit_test(test_take_fields_fills_event),
        cmocka_unit_test(test_request_properties_depth),
        cmocka_unit_test(test_json_depth_table),
        cmocka_unit_test(test_parse_body_depth),
        cmocka_unit_test(test_new_id_format),
        cmocka_unit_test(test_new_id_time_prefix_orders),
        cmocka_unit_test(test_id_valid_rejects_malformed),
        cmocka_unit_test(test_id_valid_rejects_other_uuid_versions),
        cmocka_unit_test(test_new_id_unique_across_threads),
        cmocka_unit_test(test_scan_plain),
        cmocka_unit_test(test_scan_agrees_with_jansson),
        cmocka_unit_test(test_scan_lengths),
        cmocka_unit_test(test_scan_batch),
        cmocka_unit_test(test_scan_member_type_table),
        cmocka_unit_test(test_parse_body_out_of_memory),
    };

    jsonmem_install(); /* jansson's allocations through failalloc's counters */

    return cmocka_run_group_tests_name("event: validation and ids", tests, NULL, NULL);
}
