/* test_explorer.c - unit tests for reporting/explorer.c: GET /events' parameters, cursor,
 * MongoDB query, the JSON of an event and the bounds of a page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "explorer.h"
#include "ts.h"

#define D15 1763164800000LL /* 2025-11-15T00:00:00Z */
#define D16 1763251200000LL /* 2025-11-16T00:00:00Z */
#define T10 1763200800000LL /* 2025-11-15T10:00:00Z */
#define NONE_FROM TS_MIN_MS
#define NONE_TO (TS_MAX_MS + 1)

/* Cursors computed outside explorer.c (Python: base64url of 0x01, the timestamp and the
 * FNV-1a 64 hash of the filters, big endian, then the id). */
#define CUR_S1_T10_EV1 "AQAAAZqG9RUAg4zmL5GXZCRldi0x"      /* site s1 only; (T10, "ev-1") */
#define CUR_S1_CLICK_DAY "AQAAAZqG9RUARS1D51yBha1zMTphYmM" /* s1, click, 2025-11-15; "s1:abc" */

static void
test_parse_accepts(void **state)
{
    static const struct {
        const char *qs;
        int64_t from, to;
        long limit;
        const char *type, *user, *path;
        int properties;
    } rows[] = {
        {"site_id=s1", NONE_FROM, NONE_TO, 100, "", "", "", 1},
        {"site_id=s1&properties=true", NONE_FROM, NONE_TO, 100, "", "", "", 1},
        {"site_id=s1&properties=false", NONE_FROM, NONE_TO, 100, "", "", "", 0},
        {"site_id=s1&properties=", NONE_FROM, NONE_TO, 100, "", "", "", 1},
        {"site_id=s1&properties=fal%73e&limit=7", NONE_FROM, NONE_TO, 7, "", "", "", 0},
        {"site_id=s1&limit=1", NONE_FROM, NONE_TO, 1, "", "", "", 1},
        {"site_id=s1&limit=1000", NONE_FROM, NONE_TO, 1000, "", "", "", 1},
        /* A date `from` is its midnight; a date `to` the end of that day. */
        {"site_id=s1&from=2025-11-15&to=2025-11-15", D15, D16, 100, "", "", "", 1},
        /* An instant `to` is exclusive, as it is. */
        {"site_id=s1&from=2025-11-15T10:00:00Z&to=2025-11-16T00:00:00Z", T10, D16, 100, "", "", "",
         1},
        {"site_id=s1&from=2025-11-15T12:00:00%2B02:00", T10, NONE_TO, 100, "", "", "", 1},
        {"site_id=s1&to=2025-11-15T10:00:00.000Z", NONE_FROM, T10, 100, "", "", "", 1},
        /* The shortest range: one millisecond. */
        {"site_id=s1&from=2025-11-15T10:00:00Z&to=2025-11-15T10:00:00.001Z", T10, T10 + 1, 100, "",
         "", "", 1},
        /* A date `to` ends with its day, so an instant on that day may start the range. */
        {"site_id=s1&from=2025-11-15T10:00:00Z&to=2025-11-15", T10, D16, 100, "", "", "", 1},
        {"site_id=s1&event_type=click&user_id=u%201&path=%2Fa%3Fb", NONE_FROM, NONE_TO, 100,
         "click", "u 1", "/a?b", 1},
        /* Empty parameters are not given. */
        {"site_id=s1&event_type=&from=&limit=", NONE_FROM, NONE_TO, 100, "", "", "", 1},
    };
    struct events_query q;
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        msg[0] = '\0';
        assert_int_equal(explorer_parse(rows[i].qs, NULL, &q, msg, sizeof msg), 0);
        assert_string_equal(q.site_id, "s1");
        assert_int_equal(q.from_ms, rows[i].from);
        assert_int_equal(q.to_ms, rows[i].to);
        assert_int_equal(q.limit, rows[i].limit);
        assert_string_equal(q.event_type, rows[i].type);
        assert_string_equal(q.user_id, rows[i].user);
        assert_string_equal(q.path, rows[i].path);
        assert_int_equal(q.has_after, 0);
        assert_int_equal(q.properties, rows[i].properties);
    }
}

static void
test_parse_refuses(void **state)
{
    static const char bad_from[] = "Parameter 'from' must be an RFC 3339 instant (e.g. "
                                   "2025-11-15T10:00:00Z) or a date YYYY-MM-DD";
    static const char bad_to[] = "Parameter 'to' must be an RFC 3339 instant (e.g. "
                                 "2025-11-15T10:00:00Z) or a date YYYY-MM-DD";
    static const struct {
        const char *qs, *msg;
    } rows[] = {
        {NULL, EXPLORER_MISSING_SITE},
        {"", EXPLORER_MISSING_SITE},
        {"site_id=", EXPLORER_MISSING_SITE},
        {"limit=5", EXPLORER_MISSING_SITE},
        {"site_id=%FF", "Parameter 'site_id' must be 1-256 bytes of UTF-8"},
        {"site_id=s1&event_type=%C3", "Parameter 'event_type' must be 1-64 bytes of UTF-8"},
        {"site_id=s1&user_id=%00", "Parameter 'user_id' must be 1-256 bytes of UTF-8"},
        {"site_id=s1&path=%G1", "Parameter 'path' must be 1-2048 bytes of UTF-8"},
        {"site_id=s1&from=2025-11-31", bad_from},
        {"site_id=s1&from=2025-11-15T10:00:00", bad_from},
        {"site_id=s1&from=yesterday", bad_from},
        {"site_id=s1&from=1763200800000", bad_from},
        {"site_id=s1&to=2025-13-01", bad_to},
        {"site_id=s1&to=2025-11-15T25:00:00Z", bad_to},
        {"site_id=s1&from=2025-11-16&to=2025-11-15", EXPLORER_FROM_AFTER_TO},
        {"site_id=s1&from=2025-11-15T10:00:00.001Z&to=2025-11-15T10:00:00Z",
         EXPLORER_FROM_AFTER_TO},
        /* An empty range: `to` is exclusive. */
        {"site_id=s1&from=2025-11-15T10:00:00Z&to=2025-11-15T10:00:00Z", EXPLORER_FROM_AFTER_TO},
        {"site_id=s1&from=2025-11-16&to=2025-11-15T23:59:59.999Z", EXPLORER_FROM_AFTER_TO},
        /* A date `to` ends with its day: the next day's midnight is after it. */
        {"site_id=s1&from=2025-11-16T00:00:00Z&to=2025-11-15", EXPLORER_FROM_AFTER_TO},
        {"site_id=s1&limit=0", EXPLORER_BAD_LIMIT},
        {"site_id=s1&limit=1001", EXPLORER_BAD_LIMIT},
        {"site_id=s1&limit=-1", EXPLORER_BAD_LIMIT},
        {"site_id=s1&limit=10x", EXPLORER_BAD_LIMIT},
        {"site_id=s1&limit=%2010", EXPLORER_BAD_LIMIT},
        {"site_id=s1&limit=99999999999999999999", EXPLORER_BAD_LIMIT},
        {"site_id=s1&cursor=abc!", EXPLORER_BAD_CURSOR},
        {"site_id=s1&properties=1", EXPLORER_BAD_PROPERTIES},
        {"site_id=s1&properties=FALSE", EXPLORER_BAD_PROPERTIES},
        {"site_id=s1&properties=yes", EXPLORER_BAD_PROPERTIES},
        {"site_id=s1&properties=falsey", EXPLORER_BAD_PROPERTIES},
        {"site_id=s1&properties=%FF", EXPLORER_BAD_PROPERTIES},
        /* The cursor of another query's filters. */
        {"site_id=s1&event_type=click&cursor=" CUR_S1_T10_EV1, EXPLORER_OTHER_CURSOR},
        {"site_id=s2&cursor=" CUR_S1_T10_EV1, EXPLORER_OTHER_CURSOR},
        {"site_id=s1&from=2025-11-15&cursor=" CUR_S1_T10_EV1, EXPLORER_OTHER_CURSOR},
        {"site_id=s1&filter=path:is:/&cursor=" CUR_S1_T10_EV1, EXPLORER_OTHER_CURSOR},
        /* Filters: filter.h's 400s, and a visit's pages, which a page of events lacks. */
        {"site_id=s1&filter=path",
         "Parameter 'filter' must be <dimension>:<is|is_not|contains>:<value>, not 'path'"},
        {"site_id=s1&filter=entry_page:is:/",
         "Filter dimension 'entry_page' does not apply to /events"},
        {"site_id=s1&filter=source:is:x&filter=exit_page:is:/",
         "Filter dimension 'exit_page' does not apply to /events"},
    };
    struct events_query q;
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        msg[0] = '\0';
        if (explorer_parse(rows[i].qs, NULL, &q, msg, sizeof msg) != -1) {
            fail_msg("accepted %s", rows[i].qs);
        }
        assert_string_equal(msg, rows[i].msg);
    }
}

static void
test_parse_cursor(void **state)
{
    struct events_query q;
    char msg[256];

    (void)state;
    assert_int_equal(
        explorer_parse("site_id=s1&limit=7&cursor=" CUR_S1_T10_EV1, NULL, &q, msg, sizeof msg), 0);
    assert_int_equal(q.has_after, 1);
    assert_int_equal(q.after_ms, T10);
    assert_string_equal(q.after_id, "ev-1");
    assert_int_equal(q.limit, 7); /* the limit may change from page to page */
    assert_int_equal(explorer_parse("site_id=s1&event_type=click&from=2025-11-15&to=2025-11-15&"
                                    "cursor=" CUR_S1_CLICK_DAY,
                                    NULL, &q, msg, sizeof msg),
                     0);
    assert_int_equal(q.after_ms, T10);
    assert_string_equal(q.after_id, "s1:abc");
}

static void
test_cursor_encode_matches_reference(void **state)
{
    struct events_query q;
    char out[EXPLORER_CURSOR_MAX + 1], msg[256];

    (void)state;
    assert_int_equal(explorer_parse("site_id=s1", NULL, &q, msg, sizeof msg), 0);
    explorer_cursor_encode(&q, T10, "ev-1", out);
    assert_string_equal(out, CUR_S1_T10_EV1);
    assert_int_equal(explorer_parse("site_id=s1&event_type=click&from=2025-11-15&to=2025-11-15",
                                    NULL, &q, msg, sizeof msg),
                     0);
    explorer_cursor_encode(&q, T10, "s1:abc", out);
    assert_string_equal(out, CUR_S1_CLICK_DAY);
}

/* Every (timestamp, id) comes back as it went, the longest id and the extreme instants
 * included. */
static void
test_cursor_round_trip(void **state)
{
    static const int64_t times[] = {TS_MIN_MS, -1, 0, 1, T10, TS_MAX_MS};
    char long_id[EVENT_DOC_ID_MAX + 1];
    const char *ids[] = {"a", "ev-1", "s1:abc", "\xc3\xa9t\xc3\xa9", long_id};
    struct events_query q, back;
    char out[EXPLORER_CURSOR_MAX + 1], msg[256];

    (void)state;
    memset(long_id, 'x', EVENT_DOC_ID_MAX);
    long_id[EVENT_DOC_ID_MAX] = '\0';
    assert_int_equal(explorer_parse("site_id=s1&user_id=u&path=/p", NULL, &q, msg, sizeof msg), 0);
    for (size_t t = 0; t < sizeof times / sizeof times[0]; t++) {
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            explorer_cursor_encode(&q, times[t], ids[i], out);
            assert_true(strlen(out) <= EXPLORER_CURSOR_MAX);
            back = q;
            assert_int_equal(explorer_cursor_decode(out, strlen(out), &back), 0);
            assert_int_equal(back.has_after, 1);
            assert_int_equal(back.after_ms, times[t]);
            assert_string_equal(back.after_id, ids[i]);
        }
    }
}

static void
test_cursor_refuses_malformed(void **state)
{
    static const char *rows[] = {
        "",
        "A",
        "AQ",
        "AQAAAZqG9RUAg4zmL5GXZCRldi0x=",    /* padding */
        "AQAAAZqG9RUAg4zmL5GXZCRldi0xMg==", /* padding */
        "AQAAAZqG9RUAg4zmL5GXZCRldi0xMh",   /* stray bits: not the encoder's output */
        "AQAAAZqG9RUAg4zmL5GXZCRldi0xM",    /* a length of 4k + 1 */
        "AQAAAZqG9RUAg4zmL5GXZCRldi0+",     /* base64, not base64url */
        "AQAAAZqG9RUAg4zmL5GXZCRldi0/",
        "AQAAAZqG9RUAg4zmL5GXZCRldi0 ",
        "AgAAAZqG9RUAg4zmL5GXZCRldi0x", /* version 2 */
        "AQAA5nfSH9wAg4zmL5GXZCRldi0x", /* timestamp after 9999-12-31 */
        "AQAAAZqG9RUAg4zmL5GXZCT_",     /* an id that is not UTF-8 */
        "AQAAAZqG9RUAg4zmL5GXZCQ",      /* no id */
    };
    struct events_query q;
    char msg[256];

    (void)state;
    assert_int_equal(explorer_parse("site_id=s1", NULL, &q, msg, sizeof msg), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(explorer_cursor_decode(rows[i], strlen(rows[i]), &q), -1);
        assert_int_equal(q.has_after, 0);
    }
    /* An embedded NUL, and one byte longer than the longest cursor. */
    assert_int_equal(explorer_cursor_decode("AQAA\0ZqG", 8, &q), -1);
    {
        char big[EXPLORER_CURSOR_MAX + 2];
        memset(big, 'A', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        assert_int_equal(explorer_cursor_decode(big, strlen(big), &q), -1);
    }
}

/* The filters' hash changes with each filter, not with the limit or the cursor. */
static void
test_filters_hash(void **state)
{
    static const char *others[] = {
        "site_id=s2",
        "site_id=s1&event_type=e",
        "site_id=s1&user_id=e",
        "site_id=s1&path=e",
        "site_id=s1&from=2025-11-15",
        "site_id=s1&to=2025-11-15",
        "site_id=s1e",
        "site_id=s&event_type=1e",
        "site_id=s1&filter=path:is:/",
        "site_id=s1&filter=path:is_not:/",
        "site_id=s1&filter=prop.a:is:b",
        "site_id=s1&filter=source:is:/",
    };
    struct events_query base, q;
    char msg[256];

    (void)state;
    assert_int_equal(explorer_parse("site_id=s1&event_type=", NULL, &base, msg, sizeof msg), 0);
    assert_int_equal(explorer_parse("site_id=s1&limit=3", NULL, &q, msg, sizeof msg), 0);
    assert_true(explorer_filters_hash(&base) == explorer_filters_hash(&q));
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_int_equal(explorer_parse(others[i], NULL, &q, msg, sizeof msg), 0);
        assert_true(explorer_filters_hash(&base) != explorer_filters_hash(&q));
    }
}

/* The filter as canonical extended JSON. */
static void
expect_filter(const char *qs, const char *json)
{
    struct events_query q;
    char msg[256];
    bson_t *f;
    char *s;

    assert_int_equal(explorer_parse(qs, NULL, &q, msg, sizeof msg), 0);
    f = explorer_filter(&q);
    s = bson_as_canonical_extended_json(f, NULL);
    assert_string_equal(s, json);
    bson_free(s);
    bson_destroy(f);
}

static void
test_filter(void **state)
{
    (void)state;
    expect_filter("site_id=s1", "{ \"site_id\" : \"s1\", \"timestamp\" : { \"$gte\" : { \"$date\" "
                                ": { \"$numberLong\" : \"-62135596800000\" } }, \"$lt\" : { "
                                "\"$date\" : { \"$numberLong\" : \"253402300800000\" } } } }");
    /* A value that looks like an operator stays a string. */
    expect_filter("site_id=%7B%22%24ne%22%3A1%7D&from=2025-11-15&to=2025-11-15&event_type=click&"
                  "user_id=u&path=/p",
                  "{ \"site_id\" : \"{\\\"$ne\\\":1}\", \"timestamp\" : { \"$gte\" : { \"$date\" "
                  ": { \"$numberLong\" : \"1763164800000\" } }, \"$lt\" : { \"$date\" : { "
                  "\"$numberLong\" : \"1763251200000\" } } }, \"event_type\" : \"click\", "
                  "\"user_id\" : \"u\", \"path\" : \"/p\" }");
    /* After a cursor: the upper bound drops to just after the cursor's instant. */
    expect_filter("site_id=s1&cursor=" CUR_S1_T10_EV1,
                  "{ \"site_id\" : \"s1\", \"timestamp\" : { \"$gte\" : { \"$date\" : { "
                  "\"$numberLong\" : \"-62135596800000\" } }, \"$lt\" : { \"$date\" : { "
                  "\"$numberLong\" : \"1763200800001\" } } }, \"$or\" : [ { \"timestamp\" : { "
                  "\"$lt\" : { \"$date\" : { \"$numberLong\" : \"1763200800000\" } } } }, { "
                  "\"timestamp\" : { \"$date\" : { \"$numberLong\" : \"1763200800000\" } }, "
                  "\"_id\" : { \"$lt\" : \"ev-1\" } } ] }");
}

static void
test_pipeline(void **state)
{
    static const struct {
        const char *qs, *want;
    } rows[] = {
        {"site_id=s1&limit=20",
         "{ \"pipeline\" : [ { \"$match\" : { \"site_id\" : \"s1\", \"timestamp\" : { \"$gte\" : { "
         "\"$date\" : { \"$numberLong\" : \"-62135596800000\" } }, \"$lt\" : { \"$date\" : \""
         "10000-01-01T00:00:00Z\" } } } }, { \"$sort\" : { \"timestamp\" : -1, "
         "\"_id\" : -1 } }, { \"$limit\" : 21 }, { \"$project\" : { \"createdAt\" : 0, "
         "\"delivery\" : 0, \"own\" : 0 } } ] }"},
        /* Without properties, the server leaves them out too. */
        {"site_id=s1&properties=false",
         "{ \"pipeline\" : [ { \"$match\" : { \"site_id\" : \"s1\", \"timestamp\" : { \"$gte\" : { "
         "\"$date\" : { \"$numberLong\" : \"-62135596800000\" } }, \"$lt\" : { \"$date\" : \""
         "10000-01-01T00:00:00Z\" } } } }, { \"$sort\" : { \"timestamp\" : -1, "
         "\"_id\" : -1 } }, { \"$limit\" : 101 }, { \"$project\" : { \"createdAt\" : 0, "
         "\"delivery\" : 0, \"own\" : 0, \"properties\" : 0 } } ] }"},
    };
    struct events_query q;
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bson_t *p;
        char *s;
        assert_int_equal(explorer_parse(rows[i].qs, NULL, &q, msg, sizeof msg), 0);
        p = explorer_pipeline(&q);
        s = bson_as_relaxed_extended_json(p, NULL);
        assert_string_equal(s, rows[i].want);
        bson_free(s);
        bson_destroy(p);
    }
}

static void
test_page_fits(void **state)
{
    static const struct {
        long n;
        size_t used, len;
        int fits;
    } rows[] = {
        {0, 0, 10, 1},
        {0, 0, EXPLORER_PAGE_BYTES * 3, 1}, /* the first event always: a page is never empty */
        {1, 100, 100, 1},
        /* used + ',' + len up to the cap, not past it */
        {1, EXPLORER_PAGE_BYTES - 101, 100, 1},
        {1, EXPLORER_PAGE_BYTES - 100, 100, 0},
        {1, EXPLORER_PAGE_BYTES, 0, 0},
        {2, EXPLORER_PAGE_BYTES * 2, 1, 0}, /* a first event larger than the cap: alone */
        {5, 10, SIZE_MAX, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(explorer_page_fits(rows[i].n, rows[i].used, rows[i].len), rows[i].fits);
    }
}

static void
test_batch(void **state)
{
    static const struct {
        const char *qs;
        long n;
        size_t used, largest;
        uint32_t want;
    } rows[] = {
        /* Before any document: 8 with properties (up to 1 MiB each), 256 without. */
        {"site_id=s&limit=1000", 0, 0, 0, 8},
        {"site_id=s&limit=3", 0, 0, 0, 4},
        {"site_id=s&limit=1000&properties=false", 0, 0, 0, EXPLORER_BATCH_BARE},
        {"site_id=s&limit=10&properties=false", 0, 0, 0, 11},
        /* Then what fits in the page's room at the largest size met, within the bounds. */
        {"site_id=s&limit=1000", 8, 480000, 60000, 9},
        {"site_id=s&limit=1000", 8, 2000, 250, EXPLORER_BATCH_PROPS},
        {"site_id=s&limit=20", 8, 2000, 250, 13},
        {"site_id=s&limit=1000", 1, 900000, 500000, 1},
        {"site_id=s&limit=1000", 3, EXPLORER_PAGE_BYTES, 1000, 1},
        {"site_id=s&limit=1000&properties=false", 256, 76800, 300, EXPLORER_BATCH_BARE},
        {"site_id=s&limit=1000", 1000, 5000, 5, 1},
    };
    struct events_query q;
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(explorer_parse(rows[i].qs, NULL, &q, msg, sizeof msg), 0);
        assert_int_equal(explorer_batch(&q, rows[i].n, rows[i].used, rows[i].largest),
                         rows[i].want);
    }
}

/* Render a stored document given as extended JSON (with or without its properties);
 * compare as JSON values, and with want_text (when not NULL) byte for byte. */
static void
expect_render_text(const char *doc_json, int with_properties, const char *want,
                   const char *want_text)
{
    bson_error_t berr;
    bson_t *doc = bson_new_from_json((const uint8_t *)doc_json, -1, &berr);
    json_t *ev, *w;
    char *text;
    size_t len = 0;

    assert_non_null(doc);
    text = explorer_render(doc, with_properties, &len);
    bson_destroy(doc);
    if (want == NULL) {
        assert_null(text);
        return;
    }
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    ev = json_loads(text, 0, NULL);
    assert_non_null(ev);
    w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(ev, w)) {
        fail_msg("rendered %s, want %s", text, want);
    }
    if (want_text != NULL) {
        assert_string_equal(text, want_text);
    }
    json_decref(w);
    json_decref(ev);
    free(text);
}

static void
expect_render(const char *doc_json, const char *want)
{
    expect_render_text(doc_json, 1, want, NULL);
}

static void
test_render(void **state)
{
    (void)state;
    /* A stored event: internal fields (createdAt, delivery, own) are not shown. */
    expect_render(
        "{\"_id\":\"e1\",\"site_id\":\"s1\",\"event_type\":\"page_view\",\"path\":\"/a\","
        "\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"1763200800000\"}},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"1763200800100\"}},"
        "\"received_at\":{\"$date\":{\"$numberLong\":\"1763200800050\"}},"
        "\"client_timestamp\":{\"$date\":{\"$numberLong\":\"1763200799999\"}},"
        "\"delivery\":\"e1\",\"properties\":{\"n\":{\"$numberLong\":\"9007199254740993\"},"
        "\"x\":1.5,\"s\":\"\\u00e9\",\"b\":true,\"z\":null,\"a\":[1,{\"k\":\"v\"}]},"
        "\"own\":{\"a\":\"b:1\"}}",
        "{\"id\":\"e1\",\"site_id\":\"s1\",\"event_type\":\"page_view\",\"path\":\"/a\","
        "\"user_id\":\"u1\",\"timestamp\":\"2025-11-15T10:00:00.000Z\","
        "\"received_at\":\"2025-11-15T10:00:00.050Z\","
        "\"client_timestamp\":\"2025-11-15T09:59:59.999Z\",\"properties\":{\"n\":9007199254740993,"
        "\"x\":1.5,\"s\":\"\\u00e9\",\"b\":true,\"z\":null,\"a\":[1,{\"k\":\"v\"}]}}");
    /* No path, user or properties sent. */
    expect_render("{\"_id\":\"e2\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":null,\"timestamp\":{\"$date\":{\"$numberLong\":\"-1\"}}}",
                  "{\"id\":\"e2\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":null,\"timestamp\":\"1969-12-31T23:59:59.999Z\"}");
    /* Its visit: visit_id and visit_seq when stored (int64 or int32). */
    expect_render("{\"_id\":\"e4\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}},"
                  "\"visit_id\":\"e3\",\"visit_seq\":{\"$numberLong\":\"2\"}}",
                  "{\"id\":\"e4\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"timestamp\":\"1970-01-01T00:00:00.000Z\","
                  "\"visit_id\":\"e3\",\"visit_seq\":2}");
    expect_render("{\"_id\":\"e5\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}},"
                  "\"visit_id\":\"e5\",\"visit_seq\":1}",
                  "{\"id\":\"e5\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"timestamp\":\"1970-01-01T00:00:00.000Z\","
                  "\"visit_id\":\"e5\",\"visit_seq\":1}");
    /* How the visitor was known and the client's country, when stored. */
    expect_render("{\"_id\":\"e6\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"visitor_source\":\"hash\",\"country\":\"DE\","
                  "\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}}}",
                  "{\"id\":\"e6\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"visitor_source\":\"hash\",\"country\":\"DE\","
                  "\"timestamp\":\"1970-01-01T00:00:00.000Z\"}");
    /* A page view's attribution, when stored, after the country. */
    expect_render("{\"_id\":\"e7\",\"site_id\":\"s1\",\"event_type\":\"page_view\",\"path\":\"/\","
                  "\"country\":\"DE\",\"utm_campaign\":\"spring\",\"source\":\"Google\","
                  "\"medium\":\"search\",\"channel\":\"Paid\",\"utm_source\":\"g\","
                  "\"utm_medium\":\"cpc\",\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}}}",
                  "{\"id\":\"e7\",\"site_id\":\"s1\",\"event_type\":\"page_view\",\"path\":\"/\","
                  "\"user_id\":null,\"country\":\"DE\",\"source\":\"Google\",\"medium\":\"search\","
                  "\"channel\":\"Paid\",\"utm_source\":\"g\",\"utm_medium\":\"cpc\","
                  "\"utm_campaign\":\"spring\",\"timestamp\":\"1970-01-01T00:00:00.000Z\"}");
    /* The client's device, member by member when stored, after the country. */
    expect_render("{\"_id\":\"e8\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"device\":\"mobile\",\"os\":\"iOS\",\"country\":\"DE\","
                  "\"browser\":\"Mobile Safari\",\"browser_version\":\"17\","
                  "\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}}}",
                  "{\"id\":\"e8\",\"site_id\":\"s1\",\"event_type\":\"click\",\"path\":null,"
                  "\"user_id\":\"u1\",\"country\":\"DE\",\"browser\":\"Mobile Safari\","
                  "\"browser_version\":\"17\",\"os\":\"iOS\",\"device\":\"mobile\","
                  "\"timestamp\":\"1970-01-01T00:00:00.000Z\"}");
    /* Not an event: no string _id, no date timestamp. */
    expect_render("{\"_id\":1,\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}}}", NULL);
    expect_render("{\"_id\":\"e3\",\"timestamp\":\"2025-11-15T10:00:00Z\"}", NULL);
    expect_render("{\"_id\":\"e3\"}", NULL);
    /* Compact, in the stored order, as jansson writes it; without properties, none. */
    expect_render_text("{\"_id\":\"e4\",\"site_id\":\"s\",\"event_type\":\"t\","
                       "\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}},"
                       "\"properties\":{\"k\":[0.1,\"\\u001f\\\"\",{}],\"e\":[]}}",
                       1,
                       "{\"id\":\"e4\",\"site_id\":\"s\",\"event_type\":\"t\",\"path\":null,"
                       "\"user_id\":null,\"timestamp\":\"1970-01-01T00:00:00.000Z\","
                       "\"properties\":{\"k\":[0.1,\"\\u001f\\\"\",{}],\"e\":[]}}",
                       "{\"id\":\"e4\",\"site_id\":\"s\",\"event_type\":\"t\",\"path\":null,"
                       "\"user_id\":null,\"timestamp\":\"1970-01-01T00:00:00.000Z\","
                       "\"properties\":{\"k\":[0.10000000000000001,\"\\u001F\\\"\",{}],\"e\":[]}}");
    expect_render_text("{\"_id\":\"e4\",\"timestamp\":{\"$date\":{\"$numberLong\":\"0\"}},"
                       "\"properties\":{\"k\":1}}",
                       0,
                       "{\"id\":\"e4\",\"site_id\":null,\"event_type\":null,\"path\":null,"
                       "\"user_id\":null,\"timestamp\":\"1970-01-01T00:00:00.000Z\"}",
                       NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_cursor),
        cmocka_unit_test(test_cursor_encode_matches_reference),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_refuses_malformed),
        cmocka_unit_test(test_filters_hash),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_page_fits),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_render),
    };

    return cmocka_run_group_tests_name("explorer: GET /events parameters, cursor, query, page",
                                       tests, NULL, NULL);
}
