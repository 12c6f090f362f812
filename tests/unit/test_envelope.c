/* test_envelope.c - unit tests for common/envelope.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "envelope.h"
#include "event.h"
#include "failalloc.h"
#include "jsonmem.h"
#include "same_event.h"
#include "ts.h"

/* 2025-11-15T10:00:00Z. */
#define EXAMPLE_MS 1763200800000LL

#define VALID_ID "0190163d-8694-7abc-8def-0123456789ab"
/* A derived visitor id, as "vy" carries one. */
#define PREV_ID "0123456789abcdef0123456789abcdef"

/* Validate a request body into ev and give it an id and a receive time, as
 * ingest does. Drops the caller's reference to body. */
static void
request_event(json_t *body, struct event *ev)
{
    struct app_err err = {0, ""};

    assert_non_null(body);
    if (event_from_request(body, ev, &err) != 0) {
        fail_msg("test body rejected: %s", err.msg);
    }
    json_decref(body);
    event_new_id(ev->ts_ms, ev->id);
    ev->received_ms = EXAMPLE_MS + 123;
}

#define NOT_JSON "envelope is not JSON: "
#define VERSION_MSG "envelope version is not 1"
#define ID_MSG "envelope has no valid event id"
#define RID_MSG "envelope field 'rid' is not a valid request id"

/* Decode text (its strlen) and expect a rejection with ERR_INVALID and message msg;
 * a msg ending in ": " need only start the message (the parser's reason follows).
 * A rejected envelope leaves ev zeroed. */
static void
assert_decode_rejects(const char *text, const char *msg)
{
    struct event ev;
    struct app_err err = {0, ""};
    size_t n = strlen(msg);

    if (envelope_decode(text, strlen(text), &ev, &err) != -1) {
        fail_msg("envelope_decode accepted %s", text);
    }
    assert_int_equal(err.code, ERR_INVALID);
    if (n >= 2 && strcmp(msg + n - 2, ": ") == 0 ? strncmp(err.msg, msg, n) != 0
                                                 : strcmp(err.msg, msg) != 0) {
        fail_msg("envelope %s: message \"%s\", expected \"%s\"", text, err.msg, msg);
    }
    assert_null(ev.src);
    assert_null(ev.site_id);
    assert_string_equal(ev.id, "");
}

/* Fail unless a and b are the same event, field by field. */
static void
assert_same_event(const struct event *a, const struct event *b, const char *text)
{
    if (strcmp(a->id, b->id) != 0 || strcmp(a->delivery, b->delivery) != 0 ||
        !same_str(a->site_id, b->site_id) || !same_str(a->event_type, b->event_type) ||
        !same_str(a->path, b->path) || !same_str(a->user_id, b->user_id) ||
        !same_str(a->request_id, b->request_id) || a->ts_ms != b->ts_ms ||
        a->received_ms != b->received_ms || a->has_client_ts != b->has_client_ts ||
        a->client_ts_ms != b->client_ts_ms || a->visitor != b->visitor ||
        strcmp(a->country, b->country) != 0 || !same_prev_visitor(a, b) || !same_attrs(a, b) ||
        memcmp(&a->device, &b->device, sizeof a->device) ||
        (a->properties == NULL) != (b->properties == NULL) ||
        (a->properties != NULL && !json_equal(a->properties, b->properties)) || !same_visit(a, b)) {
        fail_msg("%s: the events differ", text);
    }
}

/* envelope_decode() (its fast scan first) and envelope_decode_json() (jansson alone) give
 * text the same outcome, the same reason, and the same event. Returns the outcome. */
static int
assert_decoders_agree(const char *text)
{
    struct event a, b;
    struct app_err ea = {0, ""}, eb = {0, ""};
    int ra = envelope_decode(text, strlen(text), &a, &ea);
    int rb = envelope_decode_json(text, strlen(text), &b, &eb);

    if (ra != rb || strcmp(ea.msg, eb.msg) != 0 || ea.code != eb.code) {
        fail_msg("%s: %d \"%s\" against jansson's %d \"%s\"", text, ra, ea.msg, rb, eb.msg);
    }
    if (ra == 0) {
        assert_same_event(&a, &b, text);
        event_cleanup(&a);
        event_cleanup(&b);
    }
    return ra;
}

static void
test_round_trip_all_fields(void **state)
{
    struct event in, out;
    struct app_err err = {0, ""};
    size_t len = 0;
    char *text;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:i}}", "site_id", "site-abc-123",
                            "event_type", "page_view", "timestamp", "2025-11-15T10:00:00.042Z",
                            "path", "/pricing?plan=pro", "user_id", "user-7", "properties", "ref",
                            "newsletter", "count", 3),
                  &in);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_int_equal(envelope_decode(text, len, &out, &err), 0);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.site_id, "site-abc-123");
    assert_string_equal(out.event_type, "page_view");
    assert_string_equal(out.path, "/pricing"); /* the query is never stored */
    assert_string_equal(out.user_id, "user-7");
    assert_int_equal(out.ts_ms, EXAMPLE_MS + 42);
    assert_int_equal(out.received_ms, EXAMPLE_MS + 123);
    assert_non_null(out.properties);
    assert_true(json_equal(out.properties, in.properties));
    free(text);
    event_cleanup(&in);
    event_cleanup(&out);
}

/* The path an envelope carries is the URL's path alone: the query and the fragment are
 * dropped, whichever comes first (event_path_len()). */
static void
test_path_without_query_or_fragment(void **state)
{
    static const struct {
        const char *sent, *kept;
    } cases[] = {
        {"/pricing", "/pricing"},     {"/pricing?plan=pro", "/pricing"},
        {"/a#section", "/a"},         {"/a#frag?not-a-query", "/a"},
        {"/a?q=1#frag", "/a"},        {"?token=secret", ""},
        {"#access_token=secret", ""}, {"/caf\u00e9?x=1", "/caf\u00e9"},
        {"/a\\b?c", "/a\\b"},         {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256], want[64];
        struct event in;
        size_t len = 0;
        char *text;
        json_t *env, *kept;

        snprintf(body, sizeof body,
                 "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                 "\"2025-11-15T10:00:00Z\",\"path\":\"%s\"}",
                 cases[i].sent);
        snprintf(want, sizeof want, "\"%s\"", cases[i].kept);
        request_event(json_loads(body, 0, NULL), &in);
        text = envelope_encode(&in, &len);
        assert_non_null(text);
        env = json_loads(text, 0, NULL);
        kept = json_loads(want, JSON_DECODE_ANY, NULL);
        assert_non_null(env);
        assert_non_null(kept);
        if (!json_equal(json_object_get(env, "path"), kept)) {
            fail_msg("path \"%s\" sent: the envelope says %s, not %s", cases[i].sent, text, want);
        }
        json_decref(kept);
        json_decref(env);
        free(text);
        event_cleanup(&in);
    }
}

static void
test_round_trip_optional_fields_absent(void **state)
{
    struct event in, out;
    size_t len = 0;
    char *text;
    json_t *parsed;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s}", "site_id", "s", "event_type", "click", "timestamp",
                            "1969-07-20T20:17:40Z"),
                  &in);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    /* Absent optional fields are left out, not written as null or "". */
    parsed = json_loads(text, 0, NULL);
    assert_non_null(parsed);
    assert_null(json_object_get(parsed, "path"));
    assert_null(json_object_get(parsed, "user_id"));
    assert_null(json_object_get(parsed, "properties"));
    json_decref(parsed);
    assert_int_equal(envelope_decode(text, len, &out, NULL), 0);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.site_id, "s");
    assert_string_equal(out.event_type, "click");
    assert_int_equal(out.ts_ms, -14182940000LL);
    assert_int_equal(out.received_ms, in.received_ms);
    assert_null(out.path);
    assert_null(out.user_id);
    assert_null(out.properties);
    free(text);
    event_cleanup(&in);
    event_cleanup(&out);
}

static void
test_round_trip_empty_optional_strings(void **state)
{
    struct event in, out;
    size_t len = 0;
    char *text;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s,s:s,s:s}", "site_id", "s", "event_type", "e", "timestamp",
                            "2025-11-15T10:00:00Z", "path", "", "user_id", ""),
                  &in);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(envelope_decode(text, len, &out, NULL), 0);
    assert_non_null(out.path);
    assert_string_equal(out.path, "");
    assert_non_null(out.user_id);
    assert_string_equal(out.user_id, "");
    free(text);
    event_cleanup(&in);
    event_cleanup(&out);
}

static void
test_round_trip_nested_properties(void **state)
{
    const char *body =
        "{\"site_id\":\"caf\\u00e9-\\u65e5\\u672c\",\"event_type\":\"purchase\","
        "\"timestamp\":\"2025-11-15T15:30:00+05:30\",\"path\":\"/\\u00fcber\","
        "\"properties\":{\"cart\":{\"items\":[{\"sku\":\"A-1\",\"qty\":2,\"price\":19.99},"
        "{\"sku\":\"B-2\",\"qty\":1,\"price\":-0.5}],\"coupon\":null,\"gift\":false},"
        "\"big\":9007199254740993,\"neg\":-42,\"exp\":1.5e300,\"emoji\":\"\\ud83d\\ude00\","
        "\"quote\":\"a\\\"b\\\\c\\n\",\"empty\":{},\"list\":[[],[1,[2,[3]]]]}}";
    json_t *src = json_loads(body, 0, NULL);
    struct event in, out;
    size_t len = 0;
    char *text;

    (void)state;
    assert_non_null(src);
    request_event(json_incref(src), &in);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(envelope_decode(text, len, &out, NULL), 0);
    assert_string_equal(out.site_id, "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac");
    assert_string_equal(out.path, "/\xc3\xbc"
                                  "ber");
    assert_int_equal(out.ts_ms, EXAMPLE_MS);
    assert_non_null(out.properties);
    assert_true(json_equal(out.properties, json_object_get(src, "properties")));
    assert_int_equal(json_integer_value(json_object_get(out.properties, "big")),
                     9007199254740993LL);
    assert_string_equal(json_string_value(json_object_get(out.properties, "emoji")),
                        "\xf0\x9f\x98\x80");
    free(text);
    event_cleanup(&in);
    event_cleanup(&out);
    json_decref(src);
}

static void
test_encoded_text_has_version(void **state)
{
    struct event in;
    size_t len = 0;
    char *text;
    json_t *parsed;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s}", "site_id", "s", "event_type", "e", "timestamp",
                            "2025-11-15T10:00:00Z"),
                  &in);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"v\":1"));
    assert_null(strchr(text, '\n')); /* one Redis list element, compact */
    parsed = json_loads(text, 0, NULL);
    assert_non_null(parsed);
    assert_int_equal(json_integer_value(json_object_get(parsed, "v")), ENVELOPE_VERSION);
    assert_string_equal(json_string_value(json_object_get(parsed, "id")), in.id);
    assert_int_equal(json_integer_value(json_object_get(parsed, "ts")), EXAMPLE_MS);
    assert_int_equal(json_integer_value(json_object_get(parsed, "received")), EXAMPLE_MS + 123);
    assert_null(json_object_get(parsed, "timestamp"));
    json_decref(parsed);
    free(text);
    event_cleanup(&in);
}

/* The exact text of version 1, which envelopes already queued are written in: the order
 * of the members, no spaces, properties as jansson's compact dump of the client's JSON. */
static void
test_encode_known_text(void **state)
{
    static const char expect[] =
        "{\"v\":1,\"id\":\"" VALID_ID
        "\",\"site_id\":\"site-abc-123\",\"event_type\":\"page_view\","
        "\"ts\":1763200800000,\"received\":1763200800123,\"path\":\"/pricing\",\"user_id\":\"u1\","
        "\"vsrc\":\"client\",\"properties\":{\"a\":[1,2.5,\"x\\u0001\\\"\"],\"b\":{\"c\":null,"
        "\"d\":true},\"e\":{}},"
        "\"rid\":\"r1\"}";
    struct event in;
    size_t len = 0;
    char *text;

    (void)state;
    request_event(json_loads("{\"site_id\":\"site-abc-123\",\"event_type\":\"page_view\","
                             "\"timestamp\":\"2025-11-15T10:00:00Z\",\"path\":\"/pricing\","
                             "\"user_id\":\"u1\",\"properties\":{\"a\":[1, 2.5, \"x\\u0001\\\"\"],"
                             "\"b\":{\"c\":null,\"d\":true},\"e\":{}}}",
                             0, NULL),
                  &in);
    snprintf(in.id, sizeof in.id, "%s", VALID_ID);
    in.request_id = "r1";
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_string_equal(text, expect);
    assert_int_equal(len, strlen(expect));
    free(text);
    event_cleanup(&in);
}

static void
test_encode_len_may_be_null(void **state)
{
    struct event in;
    char *text;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s}", "site_id", "s", "event_type", "e", "timestamp",
                            "2025-11-15T10:00:00Z"),
                  &in);
    text = envelope_encode(&in, NULL);
    assert_non_null(text);
    free(text);
    event_cleanup(&in);
}

static void
test_decode_known_text(void **state)
{
    /* The example in envelope.h, with an extra field a later version might add. */
    const char *text = "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"site-abc-123\","
                       "\"event_type\":\"page_view\",\"ts\":1763200800000,"
                       "\"received\":1763200800123,\"path\":\"/pricing\",\"user_id\":\"u1\","
                       "\"properties\":{\"a\":[1,2]},\"future_field\":{\"x\":1}}";
    struct event ev;
    struct app_err err = {0, ""};

    (void)state;
    assert_int_equal(envelope_decode(text, strlen(text), &ev, &err), 0);
    assert_string_equal(ev.id, VALID_ID);
    assert_string_equal(ev.site_id, "site-abc-123");
    assert_string_equal(ev.event_type, "page_view");
    assert_int_equal(ev.ts_ms, EXAMPLE_MS);
    assert_int_equal(ev.received_ms, EXAMPLE_MS + 123);
    assert_string_equal(ev.path, "/pricing");
    assert_string_equal(ev.user_id, "u1");
    assert_int_equal(json_array_size(json_object_get(ev.properties, "a")), 2);
    assert_null(ev.request_id);
    /* The event holds the decoded object's only reference. */
    assert_int_equal(ev.src->refcount, 1);
    event_cleanup(&ev);
}

static void
test_decode_respects_length(void **state)
{
    const char *text = "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\","
                       "\"event_type\":\"e\",\"ts\":1,\"received\":2}GARBAGE";
    size_t json_len = strlen(text) - strlen("GARBAGE");
    char *exact = malloc(json_len);
    struct event ev;

    (void)state;
    assert_non_null(exact);
    memcpy(exact, text, json_len); /* no NUL: reading past len trips ASan */
    assert_int_equal(envelope_decode(exact, json_len, &ev, NULL), 0);
    assert_int_equal(ev.received_ms, 2);
    event_cleanup(&ev);
    free(exact);
    assert_decode_rejects(text, NOT_JSON);
}

static void
test_decode_rejects_not_json(void **state)
{
    (void)state;
    assert_decode_rejects("", NOT_JSON);
    assert_decode_rejects("not json", NOT_JSON);
    assert_decode_rejects("{\"v\":1,", NOT_JSON);
    assert_decode_rejects("{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\","
                          "\"event_type\":\"e\",\"ts\":1,\"received\":2",
                          NOT_JSON);
}

static void
test_decode_rejects_deep_nesting(void **state)
{
    /* An envelope whose properties nest 3,000 arrays: refused before jansson recurses. */
    size_t depth = 3000, n = 2 * depth + 256, o = 0;
    char *text = malloc(n);
    struct event ev;
    struct app_err err = {0};

    (void)state;
    assert_non_null(text);
    o += (size_t)snprintf(text, n,
                          "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\","
                          "\"ts\":1,\"received\":2,\"properties\":{\"x\":");
    memset(text + o, '[', depth);
    memset(text + o + depth, ']', depth);
    o += 2 * depth;
    memcpy(text + o, "}}", 3);
    assert_int_equal(envelope_decode(text, strlen(text), &ev, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg, "envelope is nested more than 64 levels deep");
    free(text);
}

static void
test_decode_rejects_non_object(void **state)
{
    (void)state;
    /* Without JSON_DECODE_ANY jansson parses only objects and arrays: an array is named. */
    assert_decode_rejects("[1,2]", "envelope is not a JSON object");
    assert_decode_rejects("[{\"v\":1,\"id\":\"" VALID_ID
                          "\",\"site_id\":\"s\",\"event_type\":\"e\","
                          "\"ts\":1,\"received\":2}]",
                          "envelope is not a JSON object");
    assert_decode_rejects("\"text\"", NOT_JSON);
    assert_decode_rejects("1", NOT_JSON);
    assert_decode_rejects("null", NOT_JSON);
}

static void
test_decode_rejects_wrong_version(void **state)
{
    static const char *const versions[] = {"0", "2", "-1", "1.0", "\"1\"", "true", "null"};
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"v\":%s,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\","
                 "\"ts\":1,\"received\":2}",
                 versions[i]);
        assert_decode_rejects(text, VERSION_MSG);
    }
    /* No version at all. */
    assert_decode_rejects("{\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\","
                          "\"ts\":1,\"received\":2}",
                          VERSION_MSG);
}

static void
test_decode_rejects_bad_id(void **state)
{
    static const char *const ids[] = {
        "\"\"",
        "\"abc\"",
        "\"0190163d-8694-7abc-8def-0123456789a\"",
        "\"0190163d-8694-7abc-8def-0123456789abc\"",
        "\"0190163D-8694-7ABC-8DEF-0123456789AB\"",
        "\"0190163d_8694_7abc_8def_0123456789ab\"",
        "5",
        "null",
        "[\"" VALID_ID "\"]",
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"v\":1,\"id\":%s,\"site_id\":\"s\",\"event_type\":\"e\","
                 "\"ts\":1,\"received\":2}",
                 ids[i]);
        assert_decode_rejects(text, ID_MSG);
    }
    assert_decode_rejects("{\"v\":1,\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,"
                          "\"received\":2}",
                          ID_MSG);
}

#define TIMES_MSG "envelope field 'received' is missing or not an integer"

static void
test_decode_rejects_invalid_fields(void **state)
{
    /* The members after v and id, and the reason each envelope is refused with. */
    static const struct {
        const char *fields;
        const char *msg;
    } cases[] = {
        /* Required: site_id, event_type and ts, named in that order. */
        {"\"received\":2", "Missing required fields: site_id, event_type, ts"},
        {"\"event_type\":\"e\",\"ts\":1,\"received\":2", "Missing required fields: site_id"},
        {"\"site_id\":\"s\",\"ts\":1,\"received\":2", "Missing required fields: event_type"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"received\":2", "Missing required fields: ts"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":null,\"received\":2",
         "Missing required fields: ts"},
        /* A client's timestamp is not what an envelope carries. */
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\","
         "\"received\":2",
         "Missing required fields: ts"},
        {"\"site_id\":\"\",\"event_type\":\"e\",\"ts\":1,\"received\":2",
         "Field 'site_id' must be 1-256 bytes"},
        {"\"site_id\":5,\"event_type\":\"e\",\"ts\":1,\"received\":2",
         "Field 'site_id' must be a string"},
        {"\"site_id\":\"s\",\"event_type\":[],\"ts\":1,\"received\":2",
         "Field 'event_type' must be a string"},
        /* ts and received: integers, UTC milliseconds. */
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":\"1\",\"received\":2",
         "envelope field 'ts' is not an integer"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1.5,\"received\":2",
         "envelope field 'ts' is not an integer"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1763200800000.5,\"received\":1",
         "envelope field 'ts' is not an integer"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1", TIMES_MSG},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":null", TIMES_MSG},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":\"1\"", TIMES_MSG},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":2.0", TIMES_MSG},
        /* The times come before the optional fields. */
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":\"2\",\"path\":7",
         TIMES_MSG},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":7",
         "Field 'path' must be a string"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":[]",
         "Field 'user_id' must be a string"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":[1]",
         "Field 'properties' must be an object"},
        {"\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":"
         "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
         "Field 'properties' is nested more than 32 levels deep"},
    };
    char text[1024];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "{\"v\":1,\"id\":\"" VALID_ID "\",%s}", cases[i].fields);
        assert_decode_rejects(text, cases[i].msg);
    }
}

/* The members only an envelope has: ts and received as integers, which may be before
 * 1970, and rid, the request id. */
static void
test_decode_envelope_members(void **state)
{
    static const struct {
        const char *fields;
        long long ts, received;
        const char *rid; /* NULL: none */
    } cases[] = {
        {"\"ts\":1763200800000,\"received\":1763200800123", EXAMPLE_MS, EXAMPLE_MS + 123, NULL},
        {"\"ts\":-1000,\"received\":0", -1000, 0, NULL},
        {"\"ts\":1,\"received\":2,\"rid\":\"req-1\"", 1, 2, "req-1"},
        {"\"ts\":1,\"received\":2,\"rid\":\"a.b_C:9-z\"", 1, 2, "a.b_C:9-z"},
        /* A client's timestamp beside ts is an unknown member, ignored. */
        {"\"ts\":1,\"received\":2,\"timestamp\":\"nope\"", 1, 2, NULL},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event ev;
        struct app_err err = {0, ""};
        snprintf(text, sizeof text,
                 "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\",%s}",
                 cases[i].fields);
        if (envelope_decode(text, strlen(text), &ev, &err) != 0) {
            fail_msg("rejected %s: %s", text, err.msg);
        }
        assert_int_equal(ev.ts_ms, cases[i].ts);
        assert_int_equal(ev.received_ms, cases[i].received);
        if (cases[i].rid == NULL) {
            assert_null(ev.request_id);
        } else {
            assert_non_null(ev.request_id);
            assert_string_equal(ev.request_id, cases[i].rid);
        }
        event_cleanup(&ev);
    }
}

/* An event with a client event_id: its derived id, its own delivery ("dlv") and, when
 * ingest corrected its timestamp, the client's ("cts") survive the trip. */
static void
test_round_trip_client_id_delivery_and_client_ts(void **state)
{
    struct event in, out;
    struct app_err err = {0, ""};
    size_t len = 0;
    char *text;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s,s:s}", "site_id", "site \"1\"", "event_type", "e",
                            "timestamp", "2025-11-15T10:00:00Z", "event_id", "click-42_a"),
                  &in);
    memcpy(in.delivery, in.id, sizeof in.delivery); /* the UUIDv7 request_event() made */
    event_derive_id(in.site_id, in.client_id, in.id);
    assert_string_equal(in.id, "site \"1\":click-42_a");
    in.has_client_ts = 1;
    in.client_ts_ms = EXAMPLE_MS + TS_DAY_MS;
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"dlv\":\""));
    assert_non_null(strstr(text, "\"cts\":"));
    assert_int_equal(envelope_decode(text, len, &out, &err), 0);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.delivery, in.delivery);
    assert_string_equal(event_delivery(&out), in.delivery);
    assert_int_equal(out.has_client_ts, 1);
    assert_int_equal(out.client_ts_ms, EXAMPLE_MS + TS_DAY_MS);
    free(text);
    event_cleanup(&out);

    /* Without a client id the delivery is the id: no "dlv", no "cts" (version 1 as before). */
    in.delivery[0] = '\0';
    in.has_client_ts = 0;
    snprintf(in.id, sizeof in.id, "%s", VALID_ID);
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_null(strstr(text, "\"dlv\""));
    assert_null(strstr(text, "\"cts\""));
    assert_int_equal(envelope_decode(text, len, &out, &err), 0);
    assert_string_equal(out.delivery, "");
    assert_string_equal(event_delivery(&out), VALID_ID);
    assert_int_equal(out.has_client_ts, 0);
    free(text);
    event_cleanup(&out);
    event_cleanup(&in);
}

/* The id of an envelope: a UUIDv7, or "<site_id>:<event_id>" of its own site; dlv a UUIDv7;
 * cts an integer. */
static void
test_decode_ids_of_client_events(void **state)
{
    static const struct {
        const char *id, *site, *extra;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"s:abc", "s", "", NULL},
        {"s:a_B-9", "s", ",\"dlv\":\"" VALID_ID "\"", NULL},
        {"a:b:c", "a:b", "", NULL},
        {"s:abc", "s", ",\"cts\":5", NULL},
        {"t:abc", "s", "", ID_MSG},
        {"s:", "s", "", ID_MSG},
        {"s:a b", "s", "", ID_MSG},
        {"s:a:b", "s", "", ID_MSG},
        {"sabc", "s", "", ID_MSG},
        {"s:" VALID_ID, "s", "", NULL},
        {"s:abc", "s", ",\"dlv\":\"abc\"", "envelope field 'dlv' is not a valid delivery id"},
        {"s:abc", "s", ",\"dlv\":5", "envelope field 'dlv' is not a valid delivery id"},
        {"s:abc", "s", ",\"cts\":\"x\"", "envelope field 'cts' is not an integer"},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event ev;
        struct app_err err = {0, ""};
        snprintf(text, sizeof text,
                 "{\"v\":1,\"id\":\"%s\",\"site_id\":\"%s\",\"event_type\":\"e\",\"ts\":1,"
                 "\"received\":2%s}",
                 cases[i].id, cases[i].site, cases[i].extra);
        if (cases[i].msg != NULL) {
            assert_decode_rejects(text, cases[i].msg);
            continue;
        }
        if (envelope_decode(text, strlen(text), &ev, &err) != 0) {
            fail_msg("rejected %s: %s", text, err.msg);
        }
        assert_string_equal(ev.id, cases[i].id);
        event_cleanup(&ev);
    }
    /* 64 characters of event_id is the most. */
    char eid[70];
    memset(eid, 'x', 65);
    eid[65] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"s:%s\",\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,"
             "\"received\":2}",
             eid);
    assert_decode_rejects(text, ID_MSG);
    eid[64] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"s:%s\",\"site_id\":\"s\",\"event_type\":\"e\",\"ts\":1,"
             "\"received\":2}",
             eid);
    struct event ok;
    assert_int_equal(envelope_decode(text, strlen(text), &ok, NULL), 0);
    event_cleanup(&ok);
}

static void
test_decode_rejects_site_id_too_long(void **state)
{
    char site[258];
    char text[1024];
    struct event ev;
    struct app_err err = {0, ""};

    (void)state;
    memset(site, 's', 256);
    site[256] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"%s\",\"event_type\":\"e\","
             "\"ts\":1,\"received\":2}",
             site);
    assert_int_equal(envelope_decode(text, strlen(text), &ev, &err), 0);
    assert_int_equal(strlen(ev.site_id), 256);
    event_cleanup(&ev);

    site[256] = 's';
    site[257] = '\0';
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"%s\",\"event_type\":\"e\","
             "\"ts\":1,\"received\":2}",
             site);
    assert_int_equal(envelope_decode(text, strlen(text), &ev, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg, "Field 'site_id' must be 1-256 bytes");
}

/* Every character JSON must escape, and UTF-8 that it must not, survive the hand-written
 * encoder; the text is JSON that jansson reads back to the same strings. */
static void
test_round_trip_escapes(void **state)
{
    static const char nasty[] = "q\"b\\s/\x01\x1f\t\n\r \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 end";
    struct event in, out;
    struct app_err err = {0, ""};
    json_error_t jerr;
    json_t *parsed;
    size_t len = 0;
    char *text;

    (void)state;
    request_event(json_pack("{s:s,s:s,s:s,s:s,s:s}", "site_id", nasty, "event_type", "e\"", "path",
                            nasty, "user_id", "\\", "timestamp", "2025-11-15T10:00:00Z"),
                  &in);
    in.request_id = "r\"1";
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    parsed = json_loadb(text, len, 0, &jerr);
    if (parsed == NULL) {
        fail_msg("not JSON: %s in %s", jerr.text, text);
    }
    assert_string_equal(json_string_value(json_object_get(parsed, "rid")), "r\"1");
    json_decref(parsed);
    /* ingest writes no such request id (X-Request-Id is [A-Za-z0-9._:-]): refused. */
    assert_decode_rejects(text, RID_MSG);
    free(text);
    in.request_id = "r-1";
    text = envelope_encode(&in, &len);
    assert_non_null(text);
    assert_int_equal(envelope_decode(text, len, &out, &err), 0);
    assert_string_equal(out.site_id, nasty);
    assert_string_equal(out.path, nasty);
    assert_string_equal(out.event_type, "e\"");
    assert_string_equal(out.user_id, "\\");
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.request_id, "r-1");
    free(text);
    event_cleanup(&in);
    event_cleanup(&out);
}

/* envelope_decode() scans the form envelope_encode() writes by hand and leaves anything
 * else to jansson (envelope_decode_json()): on texts at the edges of that form, both must
 * agree on the outcome, the reason, and the event. */
static void
test_fast_scan_agrees_with_jansson(void **state)
{
    static const char *const head = "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\"";
    static const char *const tails[] = {
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":-0,\"received\":0,\"cts\":3,\"path\":\"\",\"user_id\":\"\"}",
        ",\"event_type\":\"e\",\"ts\":01,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":1.5,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":1e3,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":123456789012345678,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":12345678901234567890,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":\"/a\\\"b\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":\"/caf\u00e9\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":\"/caf\xc3\xa9\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":\"\xff\"}",
        ",\"event_type\":\"\",\"ts\":1,\"received\":2}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"path\":null}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"other\":1}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2} ",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":{}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":{\"a\":\"}{\\\"\",\"b\":[{}]}"
        ","
        "\"rid\":\"r\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":{\"a\":1,\"a\":2}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":[]}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":{\"a\":}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":null}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"rid\":5}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"path\":\"/p\"}",
        ",\"event_type\":\"e\",\"ts\":1}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"vsrc\":\"client\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"vsrc\":\"device\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"vsrc\":\"hash\","
        "\"rid\":\"r\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"vsrc\":\"other\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"vsrc\":\"hash\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"vsrc\":null}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"vsrc\":\"\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"DE\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"user_id\":\"u\",\"vsrc\":\"hash\","
        "\"cc\":\"JP\",\"properties\":{},\"rid\":\"r\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"de\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"DEU\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":null}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"\\u0044E\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"rid\":\"r\",\"cc\":\"FR\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"FR\",\"att\":{\"s\":\"Google\"}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"s\":\"a\",\"m\":\"b\",\"ch\":"
        "\"c\","
        "\"us\":\"d\",\"um\":\"e\",\"uc\":\"f\",\"ut\":\"g\",\"ux\":\"h\"},\"properties\":{}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"ch\":\"c\",\"s\":\"a\"}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"s\":\"\"}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"s\":\"\\u00e9\"}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"s\":1}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":{\"zz\":\"x\"}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"att\":null}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"FR\",\"br\":\"Chrome\",\"brv\":"
        "\"1\","
        "\"os\":\"iOS\",\"osv\":\"17\",\"dev\":\"mobile\",\"properties\":{}}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"os\":\"Mac OS X\",\"dev\":\"desktop\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"dev\":\"phone\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"br\":\"\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"br\":\"a\\\"b\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"brv\":\"12345678901234567\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"dev\":\"tablet\",\"br\":\"Edge\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"cc\":\"FR\",\"att\":{\"s\":\"Google\"},"
        "\"br\":\"Chrome\",\"dev\":\"mobile\"}",
        ",\"event_type\":\"e\",\"ts\":1,\"received\":2,\"br\":\"Chrome\","
        "\"att\":{\"s\":\"Google\"}}",
    };
    char text[6000];
    (void)state;

    for (size_t i = 0; i < sizeof tails / sizeof tails[0] + 3; i++) {
        if (i < sizeof tails / sizeof tails[0]) {
            snprintf(text, sizeof text, "%s%s", head, tails[i]);
        } else if (i == sizeof tails / sizeof tails[0]) { /* properties 33 deep, then 32 */
            int n = snprintf(text, sizeof text,
                             "%s,\"event_type\":\"e\",\"ts\":1,\"received\":2,"
                             "\"properties\":",
                             head);
            for (int d = 0; d < 33; d++) {
                text[n++] = '{', text[n++] = '"', text[n++] = 'a', text[n++] = '"', text[n++] = ':';
            }
            text[n++] = '1';
            for (int d = 0; d < 34; d++) {
                text[n++] = '}';
            }
            text[n] = '\0';
        } else if (i == sizeof tails / sizeof tails[0] + 1) {
            snprintf(text, sizeof text,
                     "{\"v\":1,\"id\":\"s:k-1\",\"dlv\":\"%s\",\"site_id\":\"s\","
                     "\"event_type\":\"e\",\"ts\":1,\"received\":2}",
                     VALID_ID);
        } else { /* a path one byte too long */
            int n = snprintf(text, sizeof text,
                             "%s,\"event_type\":\"e\",\"ts\":1,\"received\":2,"
                             "\"path\":\"",
                             head);
            memset(text + n, 'p', EVENT_PATH_MAX + 1);
            snprintf(text + n + EVENT_PATH_MAX + 1, 4, "\"}");
        }
        assert_decoders_agree(text);
    }
}

/* The envelope's members in the order envelope_encode() writes them (so that the fast
 * scan reads the base whole), each with a valid value, then one it does not know. */
static const char *const env_members[] = {"v",  "id",         "dlv", "site_id", "event_type",
                                          "ts", "received",   "cts", "path",    "user_id",
                                          "vy", "properties", "rid", "other"};
static const char *const env_valid[] = {
    "1",       "\"s:k-1\"",     "\"" VALID_ID "\"", "\"s\"",
    "\"e\"",   "1763200800000", "1763200800123",    "1763200799000",
    "\"/p\"",  "\"u\"",         "\"" PREV_ID "\"",  "{\"a\":[1,{\"b\":null}]}",
    "\"r-1\"", "\"x\""};
#define ENV_N (sizeof env_members / sizeof env_members[0])

/* Every JSON type, with the strings and integers at the edges of the envelope's rules. */
static const char *const env_any[] = {"\"x\"",
                                      "\"\"",
                                      "\"s\"",
                                      "\"" VALID_ID "\"",
                                      "\"s:k-1\"",
                                      "\"caf\\u00e9\"",
                                      "\"a b\"",
                                      "\"" PREV_ID "\"",
                                      "\"0123456789ABCDEF0123456789abcdef\"",
                                      "1",
                                      "0",
                                      "-1",
                                      "1.5",
                                      "1e3",
                                      "-62135596800000",
                                      "-62135596800001",
                                      "253402300799999",
                                      "253402300800000",
                                      "317332720800000",
                                      "9223372036854775807",
                                      "-9223372036854775808",
                                      "true",
                                      "false",
                                      "null",
                                      "{}",
                                      "{\"a\":1}",
                                      "[]",
                                      "[\"x\"]"};

/* An envelope with member m set to v (mode 0), or m twice: its valid value in its place
 * and v after the others (1), or v in its place and its valid value after (2); m == ENV_N:
 * the base. */
static void
make_envelope(size_t m, const char *v, int mode, char *out, size_t outlen)
{
    size_t at = 0;

    out[at++] = '{';
    for (size_t k = 0; k < ENV_N; k++) {
        const char *val = k == m && mode != 1 ? v : env_valid[k];
        if (k == ENV_N - 1 && k != m) {
            continue; /* the unknown member only when it is the one tried */
        }
        at += (size_t)snprintf(out + at, outlen - at, "\"%s\":%s,", env_members[k], val);
    }
    if (m < ENV_N && mode != 0) {
        at += (size_t)snprintf(out + at, outlen - at, "\"%s\":%s,", env_members[m],
                               mode == 1 ? v : env_valid[m]);
    }
    out[at - 1] = '}';
}

/* One input, one answer: every member of an envelope with a value of every type, and each
 * repeated, decode alike by the fast scan and by jansson. */
static void
test_decode_member_type_table(void **state)
{
    char text[1024];
    size_t accepted = 0;

    (void)state;
    make_envelope(ENV_N, NULL, 0, text, sizeof text);
    assert_int_equal(assert_decoders_agree(text), 0); /* the base is valid */
    for (size_t m = 0; m < ENV_N; m++) {
        for (size_t v = 0; v < sizeof env_any / sizeof env_any[0]; v++) {
            for (int mode = 0; mode < 3; mode++) {
                make_envelope(m, env_any[v], mode, text, sizeof text);
                accepted += assert_decoders_agree(text) == 0;
            }
        }
    }
    assert_true(accepted >= 100); /* the table is not all refusals */
}

/* The envelope's times are instants within years 0001-9999, as every time ingest writes;
 * its request id is what ingest makes one of (1-64 of [A-Za-z0-9._:-]). */
#define VSRC_MSG "envelope field 'vsrc' is not client, device or hash"
#define VY_MSG "envelope field 'vy' is not a visitor id"
#define CC_MSG "envelope field 'cc' is not a country code (two letters A-Z)"
#define ATT_MSG(k) "envelope field 'att." k "' is not a string of 1-256 bytes"

/* A page view's attribution goes through the envelope and back, by both decoders, after cc:
 * only its present members; an event without any has no "att". */
static void
test_round_trip_attribution(void **state)
{
    json_t *body = json_loads("{\"site_id\":\"s\",\"event_type\":\"page_view\",\"timestamp\":"
                              "\"2025-11-15T10:00:00Z\"}",
                              0, NULL);
    struct app_err err = {0, ""};
    struct event ev, back;
    char *text, big[EVENT_ATTR_MAX + 1];

    (void)state;
    memset(big, 'x', EVENT_ATTR_MAX);
    big[EVENT_ATTR_MAX] = '\0';
    for (int k = -1; k < EVENT_N_ATTRS; k++) {
        request_event(json_incref(body), &ev);
        snprintf(ev.country, sizeof ev.country, "DE");
        if (k >= 0) {
            ev.attr[k] = k % 2 ? "Direct / None" : "caf\xc3\xa9 \"q\"";
            ev.attr[(k + 3) % EVENT_N_ATTRS] = big;
        }
        text = envelope_encode(&ev, NULL);
        assert_non_null(text);
        assert_true((strstr(text, "\"cc\":\"DE\",\"att\":{\"") != NULL) == (k >= 0));
        assert_int_equal(envelope_decode(text, strlen(text), &back, &err), 0);
        assert_same_event(&ev, &back, text);
        assert_int_equal(assert_decoders_agree(text), 0);
        event_cleanup(&back);
        event_cleanup(&ev);
        free(text);
    }
    json_decref(body);
}

#define BR_MSG "envelope field 'br' is not 1-48 printable ASCII characters but '\"' and '\\'"
#define BRV_MSG "envelope field 'brv' is not 1-16 printable ASCII characters but '\"' and '\\'"
#define DEV_MSG "envelope field 'dev' is not mobile, tablet or desktop"

/* The client's device goes through the envelope and back, by both decoders, after cc and att,
 * member by member; an unknown member is not written. */
static void
test_round_trip_device(void **state)
{
    static const struct event_device all[] = {
        {"", "", "", "", ""},
        {"Chrome Mobile", "119", "Android", "14", "mobile"},
        {"Firefox", "", "Windows", "10", "desktop"},
        {"", "", "", "", "tablet"},
        {"Other", "", "Other", "", ""},
    };
    struct app_err err = {0, ""};
    struct event ev, back;
    char *text;

    (void)state;
    request_event(json_loads("{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                             "\"2025-11-15T10:00:00Z\"}",
                             0, NULL),
                  &ev);
    snprintf(ev.country, sizeof ev.country, "DE");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ev.device = all[i];
        text = envelope_encode(&ev, NULL);
        assert_non_null(text);
        assert_true((strstr(text, "\"br\"") != NULL) == (all[i].browser[0] != '\0'));
        assert_true((strstr(text, "\"dev\"") != NULL) == (all[i].device[0] != '\0'));
        assert_int_equal(envelope_decode(text, strlen(text), &back, &err), 0);
        assert_memory_equal(&back.device, &all[i], sizeof all[i]);
        assert_int_equal(assert_decoders_agree(text), 0);
        event_cleanup(&back);
        free(text);
    }
    event_cleanup(&ev);
}

/* The client's country goes through the envelope and back, by both decoders, right after
 * vsrc; an event without one has no "cc". */
static void
test_round_trip_country(void **state)
{
    static const char *const all[] = {"", "DE", "JP", "ZZ"};
    json_t *body = json_loads("{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                              "\"2025-11-15T10:00:00Z\",\"user_id\":\"u\"}",
                              0, NULL);
    struct app_err err = {0, ""};
    struct event ev, back;
    char *text, want[64];

    (void)state;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        request_event(json_incref(body), &ev);
        snprintf(ev.country, sizeof ev.country, "%s", all[i]);
        text = envelope_encode(&ev, NULL);
        assert_non_null(text);
        snprintf(want, sizeof want, "\"vsrc\":\"client\",\"cc\":\"%s\"", all[i]);
        assert_true((strstr(text, want) != NULL) == (all[i][0] != '\0'));
        assert_true((strstr(text, "\"cc\"") != NULL) == (all[i][0] != '\0'));
        assert_int_equal(envelope_decode(text, strlen(text), &back, &err), 0);
        assert_string_equal(back.country, all[i]);
        assert_int_equal(assert_decoders_agree(text), 0);
        event_cleanup(&back);
        event_cleanup(&ev);
        free(text);
    }
    json_decref(body);
}

/* A hashed visitor's id under yesterday's salt goes through the envelope and back, by both
 * decoders, right after vsrc and before cc; an event without one has no "vy". */
static void
test_round_trip_prev_visitor(void **state)
{
    static const char *const all[] = {"", PREV_ID, "ffffffffffffffffffffffffffffffff"};
    json_t *body = json_loads("{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                              "\"2025-11-15T10:00:00Z\"}",
                              0, NULL);
    struct app_err err = {0, ""};
    struct event ev, back;
    char *text, want[128];

    (void)state;
    for (size_t i = 0; i < 2 * sizeof all / sizeof all[0]; i++) {
        const char *vy = all[i / 2];
        request_event(json_incref(body), &ev);
        memcpy(ev.visitor_id, "00000000000000000000000000000001", EVENT_VISITOR_ID_LEN + 1);
        ev.user_id = ev.visitor_id;
        ev.visitor = EVENT_VISITOR_HASH;
        snprintf(ev.prev_visitor, sizeof ev.prev_visitor, "%s", vy);
        snprintf(ev.country, sizeof ev.country, "%s", i % 2 ? "DE" : "");
        text = envelope_encode(&ev, NULL);
        assert_non_null(text);
        snprintf(want, sizeof want, "\"vsrc\":\"hash\",\"vy\":\"%s\"%s", vy,
                 i % 2 ? ",\"cc\":\"DE\"" : "");
        assert_true((strstr(text, want) != NULL) == (vy[0] != '\0'));
        assert_true((strstr(text, "\"vy\"") != NULL) == (vy[0] != '\0'));
        assert_int_equal(envelope_decode(text, strlen(text), &back, &err), 0);
        assert_string_equal(back.prev_visitor, vy);
        assert_same_event(&ev, &back, text);
        event_cleanup(&back);
        assert_int_equal(envelope_decode_json(text, strlen(text), &back, &err), 0);
        assert_string_equal(back.prev_visitor, vy);
        assert_int_equal(assert_decoders_agree(text), 0);
        event_cleanup(&back);
        event_cleanup(&ev);
        free(text);
    }
    json_decref(body);
}

/* Each visitor source goes through the envelope and back, by both decoders. */
static void
test_round_trip_visitor_source(void **state)
{
    static const enum event_visitor all[] = {EVENT_VISITOR_UNKNOWN, EVENT_VISITOR_CLIENT,
                                             EVENT_VISITOR_DEVICE, EVENT_VISITOR_HASH};
    json_t *body = json_loads("{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":"
                              "\"2025-11-15T10:00:00Z\",\"user_id\":\"u\"}",
                              0, NULL);
    struct app_err err = {0, ""};
    struct event ev, back;
    char *text;

    (void)state;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        request_event(json_incref(body), &ev);
        ev.visitor = all[i];
        text = envelope_encode(&ev, NULL);
        assert_non_null(text);
        assert_true((strstr(text, "\"vsrc\"") != NULL) == (all[i] != EVENT_VISITOR_UNKNOWN));
        assert_int_equal(envelope_decode(text, strlen(text), &back, &err), 0);
        assert_int_equal(back.visitor, all[i]);
        assert_int_equal(assert_decoders_agree(text), 0);
        event_cleanup(&back);
        event_cleanup(&ev);
        free(text);
    }
    json_decref(body);
}

static void
test_decode_rejects_out_of_range(void **state)
{
    static const struct {
        const char *ts, *received, *extra;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"-62135596800000", "253402300799999", "", NULL},
        {"253402300799999", "-62135596800000", ",\"cts\":253402300799999", NULL},
        {"317332720800000", "1", "", "envelope field 'ts' is outside years 0001-9999"},
        {"253402300800000", "1", "", "envelope field 'ts' is outside years 0001-9999"},
        {"-62135596800001", "1", "", "envelope field 'ts' is outside years 0001-9999"},
        {"9223372036854775807", "1", "", "envelope field 'ts' is outside years 0001-9999"},
        {"-9223372036854775808", "1", "", "envelope field 'ts' is outside years 0001-9999"},
        {"1", "317332720800000", "", "envelope field 'received' is outside years 0001-9999"},
        {"1", "-9223372036854775808", "", "envelope field 'received' is outside years 0001-9999"},
        {"1", "2", ",\"cts\":253402300800000", "envelope field 'cts' is outside years 0001-9999"},
        {"1", "2", ",\"cts\":9223372036854775807",
         "envelope field 'cts' is outside years 0001-9999"},
        {"1", "2", ",\"rid\":\"\"", RID_MSG},
        {"1", "2", ",\"rid\":\"a b\"", RID_MSG},
        {"1", "2", ",\"rid\":\"caf\\u00e9\"", RID_MSG},
        {"1", "2", ",\"rid\":5", RID_MSG},
        {"1", "2", ",\"rid\":null", RID_MSG},
        {"1", "2", ",\"rid\":\"0123456789012345678901234567890123456789012345678901234567890123\"",
         NULL},
        {"1", "2", ",\"rid\":\"01234567890123456789012345678901234567890123456789012345678901234\"",
         RID_MSG},
        /* How the visitor was known: one of three names, else a dead letter. */
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"client\"", NULL},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"device\"", NULL},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"hash\"", NULL},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"Hash\"", VSRC_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"\"", VSRC_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":1", VSRC_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":null", VSRC_MSG},
        /* Yesterday's id of a hashed visitor: 32 of [0-9a-f], else a dead letter; vsrc's reason
         * first, then vy's, then cc's. */
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"hash\",\"vy\":\"" PREV_ID "\"", NULL},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"hash\",\"vy\":\"" PREV_ID "\",\"cc\":\"DE\"",
         NULL},
        {"1", "2", ",\"vy\":\"" PREV_ID "\"", NULL},
        {"1", "2", ",\"vy\":\"0123456789abcdef0123456789abcde\"", VY_MSG},   /* 31 */
        {"1", "2", ",\"vy\":\"0123456789abcdef0123456789abcdef0\"", VY_MSG}, /* 33 */
        {"1", "2", ",\"vy\":\"0123456789ABCDEF0123456789abcdef\"", VY_MSG},
        {"1", "2", ",\"vy\":\"0123456789abcdef0123456789abcdeg\"", VY_MSG},
        {"1", "2", ",\"vy\":\"0123456789abcdef0123456789abcde \"", VY_MSG},
        {"1", "2", ",\"vy\":\"0123456789abcdef0123456789abcd\\u00e9\"", VY_MSG},
        {"1", "2", ",\"vy\":\"\"", VY_MSG},
        {"1", "2", ",\"vy\":12345678", VY_MSG},
        {"1", "2", ",\"vy\":null", VY_MSG},
        {"1", "2", ",\"vy\":[\"" PREV_ID "\"]", VY_MSG},
        {"1", "2", ",\"vy\":{}", VY_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"x\",\"vy\":\"X\"", VSRC_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"hash\",\"vy\":\"X\",\"cc\":\"de\"", VY_MSG},
        /* The client's country: two letters A-Z, else a dead letter; vsrc's reason first. */
        {"1", "2", ",\"cc\":\"DE\"", NULL},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"hash\",\"cc\":\"US\"", NULL},
        {"1", "2", ",\"cc\":\"de\"", CC_MSG},
        {"1", "2", ",\"cc\":\"D\"", CC_MSG},
        {"1", "2", ",\"cc\":\"DEU\"", CC_MSG},
        {"1", "2", ",\"cc\":\"D1\"", CC_MSG},
        {"1", "2", ",\"cc\":\"\"", CC_MSG},
        {"1", "2", ",\"cc\":\"\\u00c4E\"", CC_MSG},
        {"1", "2", ",\"cc\":49", CC_MSG},
        {"1", "2", ",\"cc\":null", CC_MSG},
        {"1", "2", ",\"cc\":[\"DE\"]", CC_MSG},
        {"1", "2", ",\"user_id\":\"u\",\"vsrc\":\"x\",\"cc\":\"de\"", VSRC_MSG},
        /* The attribution: an object of strings of 1-256 bytes; cc's reason first. */
        {"1", "2", ",\"att\":{\"s\":\"Google\",\"ch\":\"Organic Search\"}", NULL},
        {"1", "2", ",\"att\":{}", NULL},
        {"1", "2", ",\"att\":{\"other\":1}", NULL},
        {"1", "2", ",\"att\":[]", "envelope field 'att' is not an object"},
        {"1", "2", ",\"att\":null", "envelope field 'att' is not an object"},
        {"1", "2", ",\"att\":{\"s\":\"\"}", ATT_MSG("s")},
        {"1", "2", ",\"att\":{\"s\":\"a\",\"ux\":1}", ATT_MSG("ux")},
        {"1", "2", ",\"att\":{\"um\":null}", ATT_MSG("um")},
        {"1", "2", ",\"cc\":\"de\",\"att\":{\"s\":\"\"}", CC_MSG},
        /* The device: names 1-48, versions 1-16 printable ASCII but '"' and '\\', the class
         * one of three; cc's and att's reasons first, then member by member. */
        {"1", "2", ",\"br\":\"Chrome\",\"brv\":\"120\",\"dev\":\"desktop\"", NULL},
        {"1", "2", ",\"br\":\"123456789012345678901234567890123456789012345678\"", NULL},
        {"1", "2", ",\"br\":\"1234567890123456789012345678901234567890123456789\"", BR_MSG},
        {"1", "2", ",\"br\":\"\"", BR_MSG},
        {"1", "2", ",\"br\":\"a\\\"b\"", BR_MSG},
        {"1", "2", ",\"br\":\"\\u00e9\"", BR_MSG},
        {"1", "2", ",\"br\":7", BR_MSG},
        {"1", "2", ",\"br\":null", BR_MSG},
        {"1", "2", ",\"brv\":\"12345678901234567\"", BRV_MSG},
        {"1", "2", ",\"dev\":\"phone\"", DEV_MSG},
        {"1", "2", ",\"dev\":\"\"", DEV_MSG},
        {"1", "2", ",\"cc\":\"de\",\"dev\":\"phone\"", CC_MSG},
        {"1", "2", ",\"br\":\"\",\"dev\":\"phone\"", BR_MSG},
        {"1", "2", ",\"att\":{\"s\":\"Google\"},\"br\":\"Chrome\",\"dev\":\"mobile\"", NULL},
        {"1", "2", ",\"att\":{\"s\":\"\"},\"dev\":\"phone\"", ATT_MSG("s")},
    };
    char text[512];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\","
                 "\"ts\":%s,\"received\":%s%s}",
                 cases[i].ts, cases[i].received, cases[i].extra);
        if (cases[i].msg != NULL) {
            assert_decode_rejects(text, cases[i].msg);
        }
        assert_int_equal(assert_decoders_agree(text), cases[i].msg != NULL ? -1 : 0);
    }
}

/* Out of memory while decoding: each allocation a decode makes fails in turn. The decode
 * then gives exactly the event it gives with memory to spare, or fails with ERR_INTERNAL
 * (a batch to retry, never a dead letter), and leaves nothing allocated. */
static void
test_decode_out_of_memory(void **state)
{
    char long_props[600];
    const char *texts[] = {
        NULL, /* the base, the fast scan's form: filled below */
        /* jansson's: an escape, and strings long enough for its buffers to grow */
        "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"site-\\u0041-0123456789abcdef\","
        "\"event_type\":\"page_view_0123456789abcdef\",\"ts\":1763200800000,"
        "\"received\":1763200800123,\"path\":\"/a/b/c/d/e/f/g/h/i/j/k/l/m\","
        "\"properties\":{\"referrer\":\"https://example.com/0123456789\",\"n\":[1,2,3]}}",
        long_props,
    };
    char base[1024];
    int (*decoders[])(const char *, size_t, struct event *,
                      struct app_err *) = {envelope_decode, envelope_decode_json};

    (void)state;
    make_envelope(ENV_N, NULL, 0, base, sizeof base);
    texts[0] = base;
    snprintf(long_props, sizeof long_props,
             "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"site-abcdefghijklmnopqrstuvwxyz\","
             "\"event_type\":\"e\",\"ts\":1,\"received\":2,\"properties\":{\"k0123456789\":"
             "\"v0123456789abcdefghijklmnopqrstuvwxyz\",\"list\":[\"abcdefghijklmnopq\","
             "{\"deep\":{\"deeper\":\"0123456789abcdefghij\"}}]},\"rid\":\"r-0123456789\"}");
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        for (size_t d = 0; d < sizeof decoders / sizeof decoders[0]; d++) {
            struct event want, got;
            struct app_err err = {0, ""};
            long live = failalloc_live(), made = 0;

            assert_int_equal(decoders[d](texts[t], strlen(texts[t]), &want, &err), 0);
            for (long n = 1; made >= n - 1; n++) {
                failalloc_arm(n);
                int rc = decoders[d](texts[t], strlen(texts[t]), &got, &err);
                made = failalloc_count();
                failalloc_arm(0);
                if (rc == 0) {
                    assert_same_event(&want, &got, texts[t]);
                    event_cleanup(&got);
                } else if (err.code != ERR_INTERNAL) {
                    fail_msg("allocation %ld of %ld failed: \"%s\" (code %d) for %s", n, made,
                             err.msg, err.code, texts[t]);
                } else {
                    assert_true(made >= n); /* only a failed allocation may fail it */
                }
            }
            event_cleanup(&want);
            assert_int_equal(failalloc_live(), live); /* nothing leaked */
        }
    }
}

/* --- the visit member ---------------------------------------------------------------------- */

#define VISIT_HEAD                                                                                 \
    "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"ts\":1,"    \
    "\"received\":2,\"path\":\"/b\",\"visit\":"
/* A visit's second page view, of another path: every member, in envelope_encode()'s order. */
#define VISIT_FULL                                                                                 \
    "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1763200800000,\"n\":0,\"b\":-1,\"d\":5000,"        \
    "\"e\":\"/a\",\"en\":0,\"eb\":-1,\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":\"/a\",\"xob\":1}"

/* Decode VISIT_HEAD + visit + tail; both decoders agree. */
static int
decode_visit(const char *visit, const char *tail, struct event *ev, struct app_err *err)
{
    char text[8192];

    snprintf(text, sizeof text, "%s%s%s", VISIT_HEAD, visit, tail);
    assert_decoders_agree(text);
    return envelope_decode(text, strlen(text), ev, err);
}

/* The envelope of ev (which has a visit), with a request id so that the visit is not its last
 * member, and with its visit member moved last, where ingest's push script splices it: the
 * text encoded without the visit, and the member (what the two texts do not share) before its
 * final '}'. Sets *len; free it. */
static char *
visit_last(struct event *ev, size_t *len_out)
{
    size_t blen, at = 0, vlen, len;
    const char *rid = ev->request_id;
    char *text, *base, *out;

    ev->request_id = "req-1";
    text = envelope_encode(ev, &len);
    ev->has_visit = 0;
    base = envelope_encode(ev, &blen);
    ev->has_visit = 1;
    ev->request_id = rid;
    assert_non_null(text);
    assert_non_null(base);
    while (at < blen && base[at] == text[at]) {
        at++;
    }
    while (at > 0 && text[at] != ',') { /* the shared prefix ends inside ,"visit" */
        at--;
    }
    vlen = len - blen;
    out = malloc(len + 1);
    assert_non_null(out);
    memcpy(out, base, blen - 1);
    memcpy(out + blen - 1, text + at, vlen);
    memcpy(out + blen - 1 + vlen, "}", 2);
    assert_string_not_equal(out, text);
    free(base);
    free(text);
    *len_out = len;
    return out;
}

/* Whether envelope_decode() takes text by its fast scan: it then makes a few allocations (one
 * jansson string), where jansson alone makes one or more for each member. */
static int
takes_fast_path(const char *text, size_t len)
{
    struct event ev;
    struct app_err err = {0, ""};
    long fast, json;

    failalloc_arm(0);
    assert_int_equal(envelope_decode(text, len, &ev, &err), 0);
    fast = failalloc_count();
    event_cleanup(&ev);
    failalloc_arm(0);
    assert_int_equal(envelope_decode_json(text, len, &ev, &err), 0);
    json = failalloc_count();
    event_cleanup(&ev);
    return fast * 4 < json;
}

/* A string of 256 bytes: an attribution member at its longest. */
#define V16 "vvvvvvvvvvvvvvvv"
#define V256 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16 V16

/* A visit's attribution, device and country, every member, in envelope_encode()'s order. */
#define VA_FULL                                                                                    \
    "{\"s\":\"Google\",\"m\":\"search\",\"ch\":\"Paid Search\",\"us\":\"g\",\"um\":\"cpc\","       \
    "\"uc\":\"spring\",\"ut\":\"shoes\",\"ux\":\"ad-1\",\"br\":\"Chrome\",\"brv\":\"120\","        \
    "\"os\":\"Android\",\"osv\":\"14\",\"dev\":\"mobile\",\"cc\":\"DE\"}"

/* text, envelope_encode() of ev, decodes to ev again. */
static void
assert_decodes_back(const struct event *ev, const char *text, size_t len)
{
    struct event back;
    struct app_err err = {0, ""};

    assert_int_equal(envelope_decode(text, len, &back, &err), 0);
    assert_same_event(ev, &back, text);
    event_cleanup(&back);
}

/* Good visit members (test_visit_decodes_and_round_trips()). */
static const char *const good_visits[] = {
    VISIT_FULL,
    /* jansson's path: another order, an unknown member, spaces */
    "{\"xob\":1,\"xo\":\"/a\",\"xb\":0,\"xn\":1,\"x\":\"/b\",\"eb\":-1,\"en\":0,\"e\":\"/a\","
    "\"d\":5000,"
    "\"b\":-1,\"n\":0,\"start\":1763200800000,\"s\":2,\"id\":\"" VALID_ID "\",\"new\":[1] }",
    /* the first event of a visit: a page view starting it */
    "{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":1,\"d\":0,\"e\":\"/b\",\"en\":1,"
    "\"eb\":1,\"x\":\"/b\",\"xn\":1,\"xb\":1}",
    /* a click: no page, no bounce change; an id of a client event of site s */
    "{\"id\":\"s:k-1\",\"s\":3,\"start\":1,\"n\":0,\"b\":0,\"d\":7,\"en\":0,\"xn\":0,\"xb\":0}",
    /* xob without xo: ignored */
    "{\"id\":\"s:k-1\",\"s\":3,\"start\":1,\"n\":0,\"b\":0,\"d\":7,\"en\":0,\"xn\":0,\"xb\":0,"
    "\"xob\":5}",
    /* a path escaped, and one of UTF-8 (jansson's path) */
    "{\"id\":\"s:k-1\",\"s\":1,\"start\":1,\"n\":1,\"b\":1,\"d\":0,\"e\":\"/a\\\"b\",\"en\":1,"
    "\"eb\":1,\"x\":\"/caf\xc3\xa9\",\"xn\":1,\"xb\":1}",
    /* the visit's first page view had no path (a bounce, no entry): this second one, with
     * a path, is its entry and ends the bounce, which the entry page never had (eb 0) */
    "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":-1,\"d\":9,\"e\":\"/b\","
    "\"en\":1,\"eb\":0,\"x\":\"/b\",\"xn\":1,\"xb\":0}",
    /* 7: a later event with its visit's attribution, device and country (va), every member */
    "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":0,\"d\":9,\"en\":0,\"xn\":0,"
    "\"xb\":0,\"va\":" VA_FULL "}",
    /* 8: a visit whose first event had none of them: an empty va */
    "{\"id\":\"" VALID_ID "\",\"s\":3,\"start\":1,\"n\":0,\"b\":0,\"d\":9,\"en\":0,\"xn\":0,"
    "\"xb\":0,\"va\":{}}",
    /* 9: jansson's path: va first, its members in another order, an unknown one, UTF-8 */
    "{\"va\":{\"cc\":\"FR\",\"dev\":\"tablet\",\"x\":[1],\"ch\":\"Referral\",\"s\":\"caf\xc3\xa9."
    "fr\"},"
    "\"id\":\"" VALID_ID "\",\"s\":3,\"start\":1,\"n\":0,\"b\":0,\"d\":9,\"en\":0,\"xn\":0,"
    "\"xb\":0}",
    /* 10: only some members, after xo */
    "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":-1,\"d\":5,\"e\":\"/a\","
    "\"en\":0,\"eb\":-1,\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":\"/a\",\"xob\":1,"
    "\"va\":{\"uc\":\"spring\",\"os\":\"iOS\",\"cc\":\"DE\"}}",
    /* 11: va's strings at their limit, 256 bytes */
    "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":0,\"d\":0,\"en\":0,\"xn\":0,"
    "\"xb\":0,\"va\":{\"s\":\"" V256 "\",\"um\":\"" V256 "\",\"ux\":\"" V256 "\"}}",
};

/* Good visit members: decoded member by member, by either decoder (another order, unknown
 * members inside visit, the optional ones absent), and envelope_encode() writes them back so
 * that they decode to the same event. */
static void
test_visit_decodes_and_round_trips(void **state)
{
    (void)state;

    for (size_t i = 0; i < sizeof good_visits / sizeof good_visits[0]; i++) {
        struct event ev, back;
        struct app_err err = {0, ""};
        char *text;
        size_t len;

        if (decode_visit(good_visits[i], "}", &ev, &err) != 0) {
            fail_msg("visit %s refused: %s", good_visits[i], err.msg);
        }
        assert_true(ev.has_visit);
        if (i < 2) {
            assert_string_equal(ev.visit.id, VALID_ID);
            assert_true(ev.visit.seq == 2 && ev.visit.start_ms == 1763200800000LL);
            assert_true(ev.visit.n == 0 && ev.visit.b == -1 && ev.visit.d == 5000);
            assert_string_equal(ev.visit.e, "/a");
            assert_string_equal(ev.visit.x, "/b");
            assert_string_equal(ev.visit.xo, "/a");
            assert_true(ev.visit.en == 0 && ev.visit.xn == 1 && ev.visit.xb == 0);
            assert_int_equal(ev.visit.eb, -1);
            assert_int_equal(ev.visit.xob, 1);
        }
        if (i == 2) {
            assert_true(ev.visit.en == 1 && ev.visit.eb == 1);
        }
        if (i == 6) {
            assert_true(ev.visit.b == -1 && ev.visit.en == 1 && ev.visit.eb == 0);
            assert_string_equal(ev.visit.e, "/b");
        }
        assert_int_equal(ev.visit.has_va, i >= 7);
        if (i == 11) {
            assert_int_equal(strlen(ev.visit.va.attr[EVENT_ATTR_UTM_CONTENT]), EVENT_ATTR_MAX);
        }
        if (i == 7) {
            static const char *const want[EVENT_N_ATTRS] = {
                "Google", "search", "Paid Search", "g", "cpc", "spring", "shoes", "ad-1"};
            for (int k = 0; k < EVENT_N_ATTRS; k++) {
                assert_string_equal(ev.visit.va.attr[k], want[k]);
            }
            assert_string_equal(ev.visit.va.device.browser, "Chrome");
            assert_string_equal(ev.visit.va.device.browser_version, "120");
            assert_string_equal(ev.visit.va.device.os, "Android");
            assert_string_equal(ev.visit.va.device.os_version, "14");
            assert_string_equal(ev.visit.va.device.device, "mobile");
            assert_string_equal(ev.visit.va.country, "DE");
            assert_null(ev.attr[EVENT_ATTR_SOURCE]); /* the event's own are not the visit's */
            assert_string_equal(ev.country, "");
        }
        if (i == 8 || i == 9) {
            assert_null(ev.visit.va.attr[EVENT_ATTR_MEDIUM]);
            assert_string_equal(ev.visit.va.device.browser, "");
            assert_string_equal(ev.visit.va.country, i == 8 ? "" : "FR");
        }
        if (i == 9) {
            assert_string_equal(ev.visit.va.attr[EVENT_ATTR_SOURCE], "caf\xc3\xa9.fr");
            assert_string_equal(ev.visit.va.device.device, "tablet");
        }
        if (i == 3 || i == 4) {
            assert_int_equal(ev.visit.eb, 0);
            assert_null(ev.visit.e);
            assert_null(ev.visit.x);
            assert_null(ev.visit.xo);
            assert_int_equal(ev.visit.xob, 0);
        }
        text = envelope_encode(&ev, &len);
        assert_non_null(text);
        if (i == 0) {
            assert_non_null(strstr(text, ",\"visit\":" VISIT_FULL "}"));
        }
        assert_decoders_agree(text);
        if (i != 5 && i != 9) { /* an escape and UTF-8 stay jansson's */
            assert_true(takes_fast_path(text, len));
        }
        {
            /* Where ingest's push script puts it: last. */
            size_t last_len;
            char *last = visit_last(&ev, &last_len);
            assert_decoders_agree(last);
            if (i != 5 && i != 9) {
                assert_true(takes_fast_path(last, last_len));
            }
            assert_int_equal(envelope_decode(last, last_len, &back, &err), 0);
            assert_string_equal(back.visit.id, ev.visit.id);
            assert_int_equal(back.visit.eb, ev.visit.eb);
            event_cleanup(&back);
            free(last);
        }
        assert_decodes_back(&ev, text, len);
        free(text);
        event_cleanup(&ev);
    }
}

/* envelope_event_with_visit() gives an event decoded without a visit exactly what decoding the
 * envelope with that visit spliced in (envelope_with_visit(), envelope_visit_encode()) gives,
 * for each good visit, on envelopes of either decoder's path; an eb without e and an xob
 * without xo, which the envelope leaves out, are 0 either way; and out of memory leaves the
 * event as it was. */
static void
test_event_with_visit_equals_splice(void **state)
{
    static const char *const bases[] = {
        "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"ts\":1,"
        "\"received\":2,\"path\":\"/b\"}",
        "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"click\",\"ts\":1,"
        "\"received\":2,\"user_id\":\"u\",\"properties\":{\"k\":[1,\"v\"]},\"rid\":\"r-1\"}",
        /* jansson's path: an escape */
        "{\"v\":1,\"id\":\"" VALID_ID "\",\"site_id\":\"s\",\"event_type\":\"e\\u0041\",\"ts\":1,"
        "\"received\":2}",
    };
    (void)state;

    for (size_t i = 0; i < sizeof good_visits / sizeof good_visits[0] + 2; i++) {
        struct event with;
        struct event_visit v;
        struct app_err err = {0, ""};

        if (i < sizeof good_visits / sizeof good_visits[0]) {
            assert_int_equal(decode_visit(good_visits[i], "}", &with, &err), 0);
            v = with.visit;
        } else if (i > sizeof good_visits / sizeof good_visits[0]) {
            /* va as visit_step() gives it: some members, one long, the device's in part */
            static char longest[EVENT_ATTR_MAX + 1];
            memset(longest, 'u', EVENT_ATTR_MAX);
            event_init(&with);
            v = (struct event_visit){.id = "s:k-1", .seq = 2, .start_ms = 1, .has_va = 1};
            v.va.attr[EVENT_ATTR_SOURCE] = "example.org";
            v.va.attr[EVENT_ATTR_UTM_CONTENT] = longest;
            strcpy(v.va.device.os, "Windows");
            strcpy(v.va.device.device, "desktop");
            strcpy(v.va.country, "SE");
        } else { /* eb without e, xob without xo */
            event_init(&with);
            v = (struct event_visit){.id = "s:k-1",
                                     .seq = 4,
                                     .start_ms = 1,
                                     .b = 0,
                                     .d = 3,
                                     .eb = 1,
                                     .x = "/x",
                                     .xn = 1,
                                     .xob = 1};
        }
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            struct event want, got;
            size_t mlen, len;
            char *member = envelope_visit_encode(&v, &mlen);
            char *text;

            assert_non_null(member);
            text = envelope_with_visit(bases[b], strlen(bases[b]), member, mlen, &len);
            assert_non_null(text);
            assert_int_equal(strlen(text), len);
            assert_int_equal(envelope_decode(text, len, &want, &err), 0);
            assert_int_equal(envelope_decode(bases[b], strlen(bases[b]), &got, &err), 0);
            assert_false(got.has_visit);
            for (long n = 1;; n++) { /* each allocation failing in turn, then none */
                failalloc_arm(n);
                int rc = envelope_event_with_visit(&got, &v);
                long made = failalloc_count();
                failalloc_arm(0);
                if (rc == 0) {
                    assert_true(made < n);
                    break;
                }
                assert_false(got.has_visit);
                assert_non_null(got.src);
            }
            assert_same_event(&want, &got, text);
            assert_int_equal(got.visit.eb, v.e != NULL ? v.eb : 0);
            assert_int_equal(got.visit.xob, v.xo != NULL ? v.xob : 0);
            event_cleanup(&want);
            event_cleanup(&got);
            free(text);
            free(member);
        }
        event_cleanup(&with);
    }
}

/* The good visit member visit (of envelope_encode()'s form) in VISIT_HEAD decodes, encodes back
 * to that very text, and decodes again to the same event (by the fast path when fast). */
static void
assert_visit_round_trips(const char *visit, const char *name, int fast)
{
    struct event ev;
    struct app_err err = {0, ""};
    char *text;
    size_t len;

    assert_int_equal(decode_visit(visit, "}", &ev, &err), 0);
    text = envelope_encode(&ev, &len);
    assert_non_null(text);
    if (strstr(text, visit) == NULL) {
        fail_msg("%s: not encoded back as it was", name);
    }
    if (fast) {
        assert_true(takes_fast_path(text, len));
    }
    assert_decodes_back(&ev, text, len);
    free(text);
    event_cleanup(&ev);
}

/* Paths at their limit: the fast path's strings then take more than its buffer on the stack. */
static void
test_visit_long_paths(void **state)
{
    char visit[7000], path[EVENT_PATH_MAX + 1];
    struct event ev;
    struct app_err err = {0, ""};

    (void)state;
    memset(path, 'p', EVENT_PATH_MAX);
    path[0] = '/';
    path[EVENT_PATH_MAX] = '\0';
    snprintf(visit, sizeof visit,
             "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":0,\"d\":0,\"e\":\"%s\","
             "\"en\":0,\"eb\":0,\"x\":\"%s\",\"xn\":1,\"xb\":0,\"xo\":\"%s\",\"xob\":0}",
             path, path, path);
    assert_visit_round_trips(visit, "long paths", 0);
    /* One byte more: refused. */
    path[EVENT_PATH_MAX - 1] = '\0';
    snprintf(visit, sizeof visit,
             "{\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":0,\"d\":0,\"e\":\"%spp\","
             "\"en\":0,\"eb\":0,\"xn\":0,\"xb\":0}",
             path);
    assert_int_equal(decode_visit(visit, "}", &ev, &err), -1);
    assert_string_equal(err.msg, "envelope field 'visit.e' is not a string of at most 2048 bytes");
}

/* Each bad value of each member, and each missing required member: refused (a dead letter)
 * with the reason, by both decoders. */
static void
test_visit_rejects(void **state)
{
#define VB(m) "envelope field 'visit." m "' "
#define V_BASE "\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":0,\"d\":0,\"en\":0,"
/* V_BASE with an entry e (its eb follows) */
#define V_BASE_E                                                                                   \
    "\"id\":\"" VALID_ID "\",\"s\":2,\"start\":1,\"n\":0,\"b\":-1,\"d\":0,\"e\":\"/a\",\"en\":0,"
    static const struct {
        const char *visit, *msg;
    } bad[] = {
        {"[]", "envelope field 'visit' is not an object"},
        {"null", "envelope field 'visit' is not an object"},
        {"\"v\"", "envelope field 'visit' is not an object"},
        {"{}", VB("id") "is missing"},
        {"{\"id\":5}", VB("id") "is not a valid event id"},
        {"{\"id\":\"x\"}", VB("id") "is not a valid event id"},
        {"{\"id\":\"t:k-1\"}", VB("id") "is not a valid event id"}, /* another site's */
        {"{\"id\":\"s:k 1\"}", VB("id") "is not a valid event id"},
        {"{\"id\":\"" VALID_ID "\"}", VB("s") "is missing"},
        {"{\"id\":\"" VALID_ID "\",\"s\":0}", VB("s") "is not an integer of at least 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":\"1\"}", VB("s") "is not an integer of at least 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1.0}", VB("s") "is not an integer of at least 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1}", VB("start") "is missing"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":253402300800000}",
         VB("start") "is not an integer time within years 0001-9999"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":true}",
         VB("start") "is not an integer time within years 0001-9999"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1}", VB("n") "is missing"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":2}", VB("n") "is not 0 or 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":-1}", VB("n") "is not 0 or 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":true}", VB("n") "is not 0 or 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1}", VB("b") "is missing"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":2}",
         VB("b") "is not -1, 0 or 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":-2}",
         VB("b") "is not -1, 0 or 1"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0}", VB("d") "is missing"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":-1}",
         VB("d") "is not an integer of at least 0"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0.5}",
         VB("d") "is not an integer of at least 0"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0,\"e\":1}",
         VB("e") "is not a string of at most 2048 bytes"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0,\"e\":null}",
         VB("e") "is not a string of at most 2048 bytes"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0}",
         VB("en") "is missing"},
        {"{" V_BASE "\"en\":3}", VB("en") "is not 0 or 1"},
        /* eb, with e: each bad value (and without e a bad value is still a bad value) */
        {"{" V_BASE_E "\"eb\":2,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":-2,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":\"1\",\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":null,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":0.5,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":true,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE_E "\"eb\":9223372036854775807,\"xn\":0,\"xb\":0}",
         VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE "\"eb\":2,\"xn\":0,\"xb\":0}", VB("eb") "is not -1, 0 or 1"},
        {"{" V_BASE "\"x\":[]}", VB("x") "is not a string of at most 2048 bytes"},
        {"{" V_BASE "\"x\":\"/a\"}", VB("xn") "is missing"},
        {"{" V_BASE "\"xn\":-1,\"xb\":0}", VB("xn") "is not 0 or 1"},
        {"{" V_BASE "\"xn\":0}", VB("xb") "is missing"},
        {"{" V_BASE "\"xn\":0,\"xb\":5}", VB("xb") "is not -1, 0 or 1"},
        {"{" V_BASE "\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":{}}",
         VB("xo") "is not a string of at most 2048 bytes"},
        {"{" V_BASE "\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":\"/a\"}", VB("xob") "is missing"},
        {"{" V_BASE "\"x\":\"/b\",\"xn\":1,\"xb\":0,\"xo\":\"/a\",\"xob\":-1}",
         VB("xob") "is not 0 or 1"},
        /* consistent with each other */
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0,\"en\":1,\"xn\":0,"
         "\"xb\":0}",
         VB("e") "is missing with en 1"},
        {"{" V_BASE "\"xn\":1,\"xb\":0}", VB("x") "is missing with xn 1 or xb not 0"},
        {"{" V_BASE "\"xn\":0,\"xb\":-1}", VB("x") "is missing with xn 1 or xb not 0"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"xo\":\"/a\",\"xob\":0}",
         VB("xo") "is present without a move of x"},
        {"{" V_BASE "\"x\":\"/b\",\"xn\":0,\"xb\":1,\"xo\":\"/a\",\"xob\":0}",
         VB("xo") "is present without a move of x"},
        /* eb exactly with e: e without eb (entry set, and a bounce change on it), eb without e
         * (of any value, 0 included) */
        {"{" V_BASE_E "\"xn\":0,\"xb\":0}", VB("eb") "is missing with e"},
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":1,\"d\":0,\"e\":\"/a\","
         "\"en\":1,\"x\":\"/a\",\"xn\":1,\"xb\":1}",
         VB("eb") "is missing with e"},
        {"{" V_BASE "\"eb\":0,\"xn\":0,\"xb\":0}", VB("eb") "is present without e"},
        {"{" V_BASE "\"eb\":-1,\"x\":\"/a\",\"xn\":0,\"xb\":-1}", VB("eb") "is present without e"},
        /* en 1 without e is told first, eb or not */
        {"{\"id\":\"" VALID_ID "\",\"s\":1,\"start\":1,\"n\":1,\"b\":0,\"d\":0,\"en\":1,\"eb\":1,"
         "\"xn\":0,\"xb\":0}",
         VB("e") "is missing with en 1"},
        /* eb present and e with it, but x missing for xb: still told */
        {"{" V_BASE_E "\"eb\":-1,\"xn\":0,\"xb\":-1}", VB("x") "is missing with xn 1 or xb not 0"},
        /* va: an object of the rules of the envelope's own att, device members and cc */
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":[]}", VB("va") "is not an object"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":null}", VB("va") "is not an object"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"s\":\"\"}}",
         VB("va.s") "is not a string of 1-256 bytes"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"ux\":5}}",
         VB("va.ux") "is not a string of 1-256 bytes"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"us\":\"" V256 "v\"}}",
         VB("va.us") "is not a string of 1-256 bytes"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"s\":\"g\",\"ch\":\"x\",\"br\":\"\"}}",
         VB("va.br") "is not 1-48 printable ASCII characters but '\"' and '\\'"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"brv\":\"12345678901234567\"}}",
         VB("va.brv") "is not 1-16 printable ASCII characters but '\"' and '\\'"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"os\":\"a\\\"b\"}}",
         VB("va.os") "is not 1-48 printable ASCII characters but '\"' and '\\'"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"dev\":\"phone\"}}",
         VB("va.dev") "is not mobile, tablet or desktop"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"cc\":\"de\"}}",
         VB("va.cc") "is not a country code (two letters A-Z)"},
        {"{" V_BASE "\"xn\":0,\"xb\":0,\"va\":{\"s\":\"g\",\"cc\":\"DEU\"}}",
         VB("va.cc") "is not a country code (two letters A-Z)"},
        /* the visit's own rules are told first */
        {"{" V_BASE "\"xn\":0,\"va\":{\"cc\":\"de\"}}", VB("xb") "is missing"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text, "%s%s}", VISIT_HEAD, bad[i].visit);
        assert_decoders_agree(text);
        assert_decode_rejects(text, bad[i].msg);
    }
#undef VB
#undef V_BASE
#undef V_BASE_E
}

/* envelope_escape(): the one escaper of envelope strings, by table; the worst case fills
 * ENVELOPE_ESCAPED_MAX exactly. */
static void
test_escape(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"", 0, ""},
        {"/plain/path", 11, "/plain/path"},
        {"a\"b", 3, "a\\\"b"},
        {"a\\b", 3, "a\\\\b"},
        {"\x01\x1f\x20\x7f", 4, "\\u0001\\u001f \x7f"},
        {"nul\0in", 6, "nul\\u0000in"},
        {"\xc3\xa9t\xc3\xa9\n", 6, "\xc3\xa9t\xc3\xa9\\u000a"},
        {"end\"", 4, "end\\\""},
        {"\"start", 6, "\\\"start"},
    };
    char out[64], worst[ENVELOPE_ESCAPED_MAX(8)];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = envelope_escape(cases[i].in, cases[i].n, out);
        if (len != strlen(cases[i].out) || memcmp(out, cases[i].out, len) != 0) {
            fail_msg("case %zu: \"%.*s\", not \"%s\"", i, (int)len, out, cases[i].out);
        }
    }
    assert_int_equal(envelope_escape("\x01\x02\x03\x04\x05\x06\x07\x08", 8, worst), sizeof worst);
    assert_memory_equal(worst + 42, "\\u0008", 6);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_round_trip_all_fields),
        cmocka_unit_test(test_visit_decodes_and_round_trips),
        cmocka_unit_test(test_visit_long_paths),
        cmocka_unit_test(test_visit_rejects),
        cmocka_unit_test(test_path_without_query_or_fragment),
        cmocka_unit_test(test_round_trip_escapes),
        cmocka_unit_test(test_round_trip_optional_fields_absent),
        cmocka_unit_test(test_round_trip_empty_optional_strings),
        cmocka_unit_test(test_round_trip_nested_properties),
        cmocka_unit_test(test_decode_rejects_deep_nesting),
        cmocka_unit_test(test_encoded_text_has_version),
        cmocka_unit_test(test_encode_known_text),
        cmocka_unit_test(test_encode_len_may_be_null),
        cmocka_unit_test(test_decode_known_text),
        cmocka_unit_test(test_decode_respects_length),
        cmocka_unit_test(test_decode_rejects_not_json),
        cmocka_unit_test(test_decode_rejects_non_object),
        cmocka_unit_test(test_decode_rejects_wrong_version),
        cmocka_unit_test(test_decode_rejects_bad_id),
        cmocka_unit_test(test_decode_rejects_invalid_fields),
        cmocka_unit_test(test_decode_envelope_members),
        cmocka_unit_test(test_decode_rejects_site_id_too_long),
        cmocka_unit_test(test_round_trip_client_id_delivery_and_client_ts),
        cmocka_unit_test(test_decode_ids_of_client_events),
        cmocka_unit_test(test_fast_scan_agrees_with_jansson),
        cmocka_unit_test(test_decode_member_type_table),
        cmocka_unit_test(test_decode_rejects_out_of_range),
        cmocka_unit_test(test_round_trip_visitor_source),
        cmocka_unit_test(test_round_trip_prev_visitor),
        cmocka_unit_test(test_round_trip_country),
        cmocka_unit_test(test_round_trip_attribution),
        cmocka_unit_test(test_round_trip_device),
        cmocka_unit_test(test_decode_out_of_memory),
        cmocka_unit_test(test_event_with_visit_equals_splice),
    };

    jsonmem_install(); /* jansson's allocations through failalloc's counters */

    return cmocka_run_group_tests_name("envelope: queue format v1 encode and decode", tests, NULL,
                                       NULL);
}
