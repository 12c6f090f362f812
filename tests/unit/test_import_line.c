/* test_import_line.c - unit tests for ingest/import_line.c: an exported line (GET /export's
 * NDJSON) as the event POST /import queues, row by row, and its envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "import_line.h"

#define UUID "01a2520f-4381-7016-b3f4-caa6ce047595"
#define BASE                                                                                       \
    "\"site_id\":\"s1\",\"event_type\":\"page_view\",\"timestamp\":\"2026-03-10T07:54:18.054Z\""

/* One line and the answer: rc, and the reason when refused. */
static const struct {
    const char *line;
    int rc;
    const char *why;
} rows[] = {
    {"{\"id\":\"" UUID "\"," BASE "}", 0, NULL},
    {"{\"id\":\"s1:e-1\"," BASE ",\"path\":null,\"user_id\":null}", 0, NULL},
    {"{\"id\":\"s2:e-1\"," BASE "}", -1,
     "Field 'id' must be the event's _id: a UUIDv7 or '<site_id>:<event_id>' of its site_id"},
    {"{" BASE "}", -1,
     "Field 'id' must be the event's _id: a UUIDv7 or '<site_id>:<event_id>' of its site_id"},
    {"{\"id\":7," BASE "}", -1,
     "Field 'id' must be the event's _id: a UUIDv7 or '<site_id>:<event_id>' of its site_id"},
    /* A NUL in a string: jansson's parse refuses it (JSON_ALLOW_NUL is not given). */
    {"{\"id\":\"s1:e\\u0000x\"," BASE "}", -2, NULL},
    {"{\"id\":\"s1:e\",\"site_id\":\"s1\",\"event_type\":\"x\"}", -1,
     "Missing required fields: timestamp"},
    {"{\"id\":\"s1:e\"," BASE ",\"path\":3}", -1, "Field 'path' must be a string"},
    {"{\"id\":\"s1:e\"," BASE ",\"properties\":[]}", -1, "Field 'properties' must be an object"},
    {"{\"id\":\"s1:e\"," BASE ",\"properties\":{\"utm_source\":1}}", -1,
     "Field 'properties.utm_source' must be a string of at most 256 bytes"},
    {"{\"id\":\"s1:e\"," BASE ",\"received_at\":\"yesterday\"}", -1, NULL},
    {"{\"id\":\"s1:e\"," BASE ",\"client_timestamp\":5}", -1, NULL},
    {"{\"id\":\"s1:e\"," BASE ",\"visitor_source\":\"hash\"}", -1,
     "Field 'visitor_source' must be client, device or hash, with a user_id"},
    {"{\"id\":\"s1:e\"," BASE ",\"user_id\":\"u\",\"visitor_source\":\"robot\"}", -1,
     "Field 'visitor_source' must be client, device or hash, with a user_id"},
    {"{\"id\":\"s1:e\"," BASE ",\"country\":\"DEU\"}", -1,
     "Field 'country' must be two letters A-Z"},
    {"{\"id\":\"s1:e\"," BASE ",\"country\":\"d1\"}", -1,
     "Field 'country' must be two letters A-Z"},
    {"{\"id\":\"s1:e\"," BASE ",\"source\":\"\"}", -1,
     "Field 'source' must be a string of 1-256 bytes"},
    {"{\"id\":\"s1:e\"," BASE ",\"utm_term\":[]}", -1,
     "Field 'utm_term' must be a string of 1-256 bytes"},
    {"{\"id\":\"s1:e\"," BASE ",\"device\":\"phone\"}", -1,
     "Field 'device' must be mobile, tablet or desktop"},
    {"{\"id\":\"s1:e\"," BASE ",\"browser\":\"a\\\"b\"}", -1,
     "Field 'browser' must be 1-48 printable ASCII characters but '\"' and '\\'"},
    /* The processor's own fields, and unknown ones, are ignored. */
    {"{\"id\":\"s1:e\"," BASE ",\"createdAt\":1,\"delivery\":[],\"own\":{},\"visit_seq\":\"x\","
     "\"visit_id\":2,\"later\":true}",
     0, NULL},
    /* Not a JSON object: -2. */
    {"hello", -2, NULL},
    {"[1]", -2, "Line is not a JSON object"},
    {"{\"id\":", -2, NULL},
};

static void
test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct event ev;
        struct app_err err = {0};
        int rc = import_line(rows[i].line, strlen(rows[i].line), &ev, &err);
        if (rc != rows[i].rc) {
            fail_msg("row %zu: %d, expected %d (%s)", i, rc, rows[i].rc, err.msg);
        }
        if (rc != 0) {
            assert_int_equal(err.code, ERR_INVALID);
            assert_null(ev.src);
        }
        if (rows[i].why != NULL) {
            assert_string_equal(err.msg, rows[i].why);
        }
        event_cleanup(&ev);
    }
}

/* Every stored field that an envelope carries comes through; the delivery is left to seal. */
static void
test_fields(void **state)
{
    static const char line[] =
        "{\"id\":\"" UUID "\",\"site_id\":\"s1\",\"event_type\":\"page_view\",\"path\":\"/a\","
        "\"user_id\":\"3f2a00000000000000000000000000ff\",\"visitor_source\":\"hash\","
        "\"country\":\"DE\",\"source\":\"Google\",\"medium\":\"search\",\"channel\":\"Paid\","
        "\"utm_source\":\"g\",\"utm_medium\":\"cpc\",\"utm_campaign\":\"spring\","
        "\"utm_term\":\"t\",\"utm_content\":\"c\",\"browser\":\"Chrome\",\"browser_version\":"
        "\"120\",\"os\":\"Linux\",\"os_version\":\"6\",\"device\":\"desktop\",\"visit_id\":\"" UUID
        "\",\"visit_seq\":1,\"visit_start\":\"2026-03-10T07:54:18.054Z\","
        "\"timestamp\":\"2026-03-10T07:54:18.054Z\",\"createdAt\":\"2026-03-10T07:54:19.000Z\","
        "\"received_at\":\"2026-03-10T07:54:18.100Z\",\"client_timestamp\":"
        "\"2026-03-10T08:54:18.054Z\",\"delivery\":\"" UUID "\",\"properties\":{\"k\":[1]},"
        "\"own\":{\"b\":\"x\"}}";
    struct event ev, back;
    struct app_err err = {0};
    char *env;
    size_t len;

    (void)state;
    assert_int_equal(import_line(line, sizeof line - 1, &ev, &err), 0);
    assert_string_equal(ev.id, UUID);
    assert_null(ev.client_id);
    assert_int_equal(ev.visitor, EVENT_VISITOR_HASH);
    assert_string_equal(ev.country, "DE");
    assert_string_equal(ev.attr[EVENT_ATTR_CHANNEL], "Paid");
    assert_string_equal(ev.attr[EVENT_ATTR_UTM_CONTENT], "c");
    assert_string_equal(ev.device.os_version, "6");
    assert_int_equal(ev.received_ms, 1773129258100LL);
    assert_int_equal(ev.ts_ms, 1773129258054LL);
    assert_true(ev.has_client_ts);
    assert_int_equal(ev.client_ts_ms, 1773132858054LL);
    assert_false(ev.has_visit);
    /* As seal gives it: a new delivery id. Its envelope decodes to the same fields. */
    event_new_id(ev.received_ms, ev.delivery);
    assert_non_null(env = envelope_encode(&ev, &len));
    assert_int_equal(envelope_decode(env, len, &back, &err), 0);
    assert_string_equal(back.id, UUID);
    assert_string_equal(back.delivery, ev.delivery);
    assert_string_equal(back.user_id, ev.user_id);
    assert_int_equal(back.visitor, EVENT_VISITOR_HASH);
    assert_string_equal(back.country, "DE");
    assert_string_equal(back.attr[EVENT_ATTR_SOURCE], "Google");
    assert_string_equal(back.device.browser, "Chrome");
    assert_int_equal(back.received_ms, ev.received_ms);
    assert_int_equal(back.client_ts_ms, ev.client_ts_ms);
    assert_false(back.has_visit);
    event_cleanup(&back);
    free(env);
    event_cleanup(&ev);
}

/* Without received_at, the caller's time (-1 here); without visitor_source, none. */
static void
test_defaults(void **state)
{
    static const char line[] = "{\"id\":\"s1:e-1\"," BASE ",\"user_id\":\"u\"}";
    struct event ev;
    struct app_err err = {0};

    (void)state;
    assert_int_equal(import_line(line, sizeof line - 1, &ev, &err), 0);
    assert_string_equal(ev.id, "s1:e-1");
    assert_int_equal(ev.received_ms, -1);
    assert_false(ev.has_client_ts);
    assert_int_equal(ev.visitor, EVENT_VISITOR_UNKNOWN);
    assert_string_equal(ev.country, "");
    assert_null(ev.attr[EVENT_ATTR_SOURCE]);
    assert_string_equal(ev.device.browser, "");
    event_cleanup(&ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
