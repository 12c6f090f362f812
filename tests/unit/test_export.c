/* test_export.c - unit tests for reporting/export_plan.c and export_render.c: GET /export's
 * parameters, cursor, Accept-Encoding and query, and its NDJSON lines, CSV records and CSV
 * quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export_plan.h"
#include "export_render.h"
#include "ts.h"

/* 2025-11-15T00:00:00Z. */
#define NOV15 1763164800000LL

static void
test_parse(void **state)
{
    static const struct {
        const char *qs;
        const char *err; /* NULL: accepted */
        int64_t from_ms, days;
        int csv, desc, has_after;
    } rows[] = {
        {"site_id=s&date=2025-11-15", NULL, NOV15, 1, 0, 0, 0},
        {"site_id=s&from=2025-11-15&to=2025-11-17&format=csv&order=desc", NULL, NOV15, 3, 1, 1, 0},
        {"site_id=s&date=2025-11-15&format=ndjson&order=asc", NULL, NOV15, 1, 0, 0, 0},
        {"site_id=s&date=2025-11-15&format=&order=", NULL, NOV15, 1, 0, 0, 0},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z,s:e1", NULL, NOV15, 1, 0, 0, 1},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z%2Cid%2Cwith%2Ccommas", NULL,
         NOV15, 1, 0, 0, 1},
        {NULL, EXPORT_MISSING, 0, 0, 0, 0, 0},
        {"date=2025-11-15", EXPORT_MISSING, 0, 0, 0, 0, 0},
        {"site_id=s", EXPORT_MISSING, 0, 0, 0, 0, 0},
        {"site_id=%FF&date=2025-11-15", "Parameter 'site_id' must be 1-256 bytes of UTF-8", 0, 0, 0,
         0, 0},
        {"site_id=s&from=2025-11-15", RANGE_ERR_PAIR, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-31", RANGE_ERR_DATE, 0, 0, 0, 0, 0},
        {"site_id=s&from=2025-11-16&to=2025-11-15", RANGE_ERR_ORDER, 0, 0, 0, 0, 0},
        {"site_id=s&from=2024-01-01&to=2025-11-15", RANGE_ERR_LONG, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&format=json", EXPORT_BAD_FORMAT, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&format=CSV", EXPORT_BAD_FORMAT, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&order=newest", EXPORT_BAD_ORDER, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&cursor=x", EXPORT_BAD_CURSOR, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z", EXPORT_BAD_CURSOR, 0, 0, 0, 0,
         0},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z,", EXPORT_BAD_CURSOR, 0, 0, 0,
         0, 0},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15,id", EXPORT_BAD_CURSOR, 0, 0, 0, 0, 0},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z,%FF", EXPORT_BAD_CURSOR, 0, 0,
         0, 0, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct export_query q;
        char msg[256] = "";
        int rc = export_parse(rows[i].qs, NULL, &q, msg, sizeof msg);
        if (rows[i].err != NULL) {
            assert_int_equal(rc, -1);
            assert_string_equal(msg, rows[i].err);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(q.site_id, "s");
        assert_int_equal(q.days.from_ms, rows[i].from_ms);
        assert_int_equal(q.days.days, rows[i].days);
        assert_int_equal(q.format == EXPORT_CSV, rows[i].csv);
        assert_int_equal(q.desc, rows[i].desc);
        assert_int_equal(q.has_after, rows[i].has_after);
    }
}

/* A cursor is the line's timestamp and id: every instant ts_format() writes reads back. */
static void
test_cursor(void **state)
{
    static const struct {
        const char *s;
        int rc;
        int64_t ms;
        const char *id;
    } rows[] = {
        {"2025-11-15T00:00:00.000Z,a", 0, NOV15, "a"},
        {"2025-11-15T00:00:00.001Z,site:e,1", 0, NOV15 + 1, "site:e,1"},
        {"2025-11-15T01:00:00+01:00,x", 0, NOV15, "x"},
        {"0001-01-01T00:00:00.000Z,x", 0, TS_MIN_MS, "x"},
        {"2025-11-15T00:00:00.000Z", -1, 0, NULL},
        {",x", -1, 0, NULL},
        {"2025-11-15T00:00:00.000Z,", -1, 0, NULL},
        {"2025-11-15X00:00:00.000Z,x", -1, 0, NULL},
        {"2025-02-30T00:00:00.000Z,x", -1, 0, NULL},
        {"2025-11-15T00:00:00.000Z,\xc3", -1, 0, NULL},
    };
    static const int64_t instants[] = {NOV15, NOV15 + 999, TS_MIN_MS, TS_MAX_MS, 0, -1};
    int64_t ms;
    char id[EVENT_DOC_ID_MAX + 1], text[EXPORT_CURSOR_MAX + 1], long_id[EVENT_DOC_ID_MAX + 2];
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (export_cursor_parse(rows[i].s, strlen(rows[i].s), &ms, id) != rows[i].rc) {
            fail_msg("row %zu: %s", i, rows[i].s);
        }
        if (rows[i].rc == 0) {
            assert_int_equal(ms, rows[i].ms);
            assert_string_equal(id, rows[i].id);
        }
    }
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        char ts[TS_FORMAT_LEN];
        ts_format(instants[i], ts);
        snprintf(text, sizeof text, "%s,some-id", ts);
        assert_int_equal(export_cursor_parse(text, strlen(text), &ms, id), 0);
        assert_int_equal(ms, instants[i]);
        assert_string_equal(id, "some-id");
    }
    /* The longest id, and one byte more. */
    memset(long_id, 'i', sizeof long_id - 1);
    long_id[EVENT_DOC_ID_MAX] = '\0';
    snprintf(text, sizeof text, "2025-11-15T00:00:00.000Z,%.*s", EVENT_DOC_ID_MAX, long_id);
    assert_int_equal(export_cursor_parse(text, strlen(text), &ms, id), 0);
    assert_string_equal(id, long_id);
    long_id[EVENT_DOC_ID_MAX] = 'i';
    long_id[EVENT_DOC_ID_MAX + 1] = '\0';
    {
        char longer[EXPORT_CURSOR_MAX + 2];
        snprintf(longer, sizeof longer, "2025-11-15T00:00:00.000Z,%s", long_id);
        assert_int_equal(export_cursor_parse(longer, strlen(longer), &ms, id), -1);
    }
}

static void
test_accepts_gzip(void **state)
{
    static const struct {
        const char *ae;
        int gzip;
    } rows[] = {
        {NULL, 0},
        {"", 0},
        {"identity", 0},
        {"gzip", 1},
        {"GZip", 1},
        {"x-gzip", 1},
        {"gzip, deflate, br", 1},
        {"deflate,gzip", 1},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", 1},
        {"gzip;q=0", 0},
        {"gzip; q=0.000", 0},
        {"gzip;Q=0.0", 0},
        {"gzip;q=0.001", 1},
        {"gzip;q=1", 1},
        {"gzip;q=1.000", 1},
        {"gzip;q=2", 0},
        {"gzip;q=abc", 0},
        {"gzip;q=0.0001", 0},
        {"*", 1},
        {"*;q=0", 0},
        {"gzip;q=0, *", 0},
        {"*, gzip;q=0", 0},
        {"deflate, *;q=0.5", 1},
        {"gzipx", 0},
        {"  gzip  ;  q=0.5 ", 1},
        {"gzip;level=1", 1},
        {"gzip;level=1;q=0", 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (export_accepts_gzip(rows[i].ae) != rows[i].gzip) {
            fail_msg("row %zu: \"%s\"", i, rows[i].ae != NULL ? rows[i].ae : "(null)");
        }
    }
}

/* The text t holds, NUL-terminated, for comparing. */
static const char *
text_of(struct jsontext *t)
{
    return t->len > 0 ? t->s : "";
}

static void
test_csv_field(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } rows[] = {
        {"", ""},
        {"plain", "plain"},
        {"with space", "with space"},
        {" lead", " lead"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},
        {"\"\"", "\"\"\"\"\"\""},
        {"line\nbreak", "\"line\nbreak\""},
        {"cr\rhere", "\"cr\rhere\""},
        {"crlf\r\n", "\"crlf\r\n\""},
        {"{\"a\":1,\"b\":\"x\"}", "\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\""},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"semi;colon", "semi;colon"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct jsontext t = {0};
        assert_int_equal(export_csv_field(&t, rows[i].in, strlen(rows[i].in)), 0);
        assert_string_equal(text_of(&t), rows[i].out);
        jsontext_free(&t);
    }
}

/* A stored event as the processor writes it (processor/insert.c), with a visit. */
static bson_t *
stored_event(void)
{
    return BCON_NEW("_id", BCON_UTF8("s:e,1"), "site_id", BCON_UTF8("s"), "event_type",
                    BCON_UTF8("pageview"), "path", BCON_UTF8("/a,b"), "user_id", BCON_NULL,
                    "country", BCON_UTF8("DE"), "visit_id", BCON_UTF8("s:v1"), "visit_seq",
                    BCON_INT64(2), "visit_start", BCON_DATE_TIME(NOV15), "timestamp",
                    BCON_DATE_TIME(NOV15 + 1), "createdAt", BCON_DATE_TIME(NOV15 + 2),
                    "received_at", BCON_DATE_TIME(NOV15 + 3), "delivery", BCON_UTF8("d1"),
                    "properties", "{", "k", BCON_UTF8("say \"hi\""), "n", BCON_INT32(3), "}", "own",
                    "{", "b", BCON_UTF8("x"), "}");
}

static void
test_ndjson(void **state)
{
    struct jsontext t = {0};
    bson_t *doc = stored_event();
    bson_t *no_id = BCON_NEW("site_id", BCON_UTF8("s"));
    (void)state;

    assert_int_equal(export_ndjson(&t, doc), 0);
    assert_string_equal(
        text_of(&t),
        "{\"id\":\"s:e,1\",\"site_id\":\"s\",\"event_type\":\"pageview\",\"path\":\"/a,b\","
        "\"user_id\":null,\"country\":\"DE\",\"visit_id\":\"s:v1\",\"visit_seq\":2,"
        "\"visit_start\":\"2025-11-15T00:00:00.000Z\",\"timestamp\":\"2025-11-15T00:00:00.001Z\","
        "\"createdAt\":\"2025-11-15T00:00:00.002Z\",\"received_at\":\"2025-11-15T00:00:00.003Z\","
        "\"delivery\":\"d1\",\"properties\":{\"k\":\"say \\\"hi\\\"\",\"n\":3},"
        "\"own\":{\"b\":\"x\"}}\n");
    t.len = 0;
    assert_int_equal(export_ndjson(&t, no_id), -1);
    jsontext_free(&t);
    bson_destroy(no_id);
    bson_destroy(doc);
}

static void
test_csv(void **state)
{
    struct jsontext t = {0};
    bson_t *doc = stored_event();
    (void)state;

    assert_int_equal(export_csv_header(&t), 0);
    assert_string_equal(text_of(&t),
                        "id,site_id,event_type,path,user_id,timestamp,received_at,"
                        "client_timestamp,createdAt,delivery,visitor_source,country,source,"
                        "medium,channel,utm_source,utm_medium,utm_campaign,utm_term,utm_content,"
                        "browser,browser_version,os,os_version,device,visit_id,visit_seq,"
                        "visit_start,properties\r\n");
    t.len = 0;
    assert_int_equal(export_csv_record(&t, doc), 0);
    assert_string_equal(text_of(&t), "\"s:e,1\",s,pageview,\"/a,b\",,2025-11-15T00:00:00.001Z,"
                                     "2025-11-15T00:00:00.003Z,,2025-11-15T00:00:00.002Z,d1,,DE,,,"
                                     ",,,,,,,,,,,s:v1,2,2025-11-15T00:00:00.000Z,"
                                     "\"{\"\"k\"\":\"\"say \\\"\"hi\\\"\"\"\",\"\"n\"\":3}\"\r\n");
    jsontext_free(&t);
    bson_destroy(doc);
}

/* The query: the range, the order and the cursor's bound on the right side. */
static void
test_pipeline(void **state)
{
    static const struct {
        const char *qs;
        const char *json;
    } rows[] = {
        {"site_id=s&date=2025-11-15",
         "{ \"pipeline\" : [ { \"$match\" : { \"site_id\" : \"s\", \"timestamp\" : { \"$gte\" : { "
         "\"$date\" : \"2025-11-15T00:00:00Z\" }, \"$lt\" : { \"$date\" : \"2025-11-16T00:00:00Z\" "
         "} } } }, { \"$sort\" : { \"timestamp\" : 1, \"_id\" : 1 } } ] }"},
        {"site_id=s&date=2025-11-15&order=desc&cursor=2025-11-15T10:00:00.000Z,e",
         "{ \"pipeline\" : [ { \"$match\" : { \"site_id\" : \"s\", \"timestamp\" : { \"$gte\" : { "
         "\"$date\" : \"2025-11-15T00:00:00Z\" }, \"$lt\" : { \"$date\" : "
         "\"2025-11-15T10:00:00.001Z\" } }, \"$or\" : [ { \"timestamp\" : { \"$lt\" : { \"$date\" "
         ": \"2025-11-15T10:00:00Z\" } } }, { \"timestamp\" : { \"$date\" : "
         "\"2025-11-15T10:00:00Z\" }, \"_id\" : { \"$lt\" : \"e\" } } ] } }, { \"$sort\" : { "
         "\"timestamp\" : -1, \"_id\" : -1 } } ] }"},
        {"site_id=s&date=2025-11-15&cursor=2025-11-15T10:00:00.000Z,e",
         "{ \"pipeline\" : [ { \"$match\" : { \"site_id\" : \"s\", \"timestamp\" : { \"$gte\" : { "
         "\"$date\" : \"2025-11-15T10:00:00Z\" }, \"$lt\" : { \"$date\" : \"2025-11-16T00:00:00Z\" "
         "} }, \"$or\" : [ { \"timestamp\" : { \"$gt\" : { \"$date\" : \"2025-11-15T10:00:00Z\" } "
         "} }, { \"timestamp\" : { \"$date\" : \"2025-11-15T10:00:00Z\" }, \"_id\" : { \"$gt\" : "
         "\"e\" } } ] } }, { \"$sort\" : { \"timestamp\" : 1, \"_id\" : 1 } } ] }"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct export_query q;
        char msg[256];
        assert_int_equal(export_parse(rows[i].qs, NULL, &q, msg, sizeof msg), 0);
        bson_t *p = export_pipeline(&q);
        char *json = bson_as_relaxed_extended_json(p, NULL);
        assert_string_equal(json, rows[i].json);
        bson_free(json);
        bson_destroy(p);
    }
}

static void
test_filename(void **state)
{
    struct export_query q;
    char msg[256], name[48];
    (void)state;

    assert_int_equal(export_parse("site_id=a%22b&from=2025-11-15&to=2025-12-01&format=csv", NULL,
                                  &q, msg, sizeof msg),
                     0);
    export_filename(&q, name);
    assert_string_equal(name, "events-2025-11-15-2025-12-01.csv");
    q.format = EXPORT_NDJSON;
    export_filename(&q, name);
    assert_string_equal(name, "events-2025-11-15-2025-12-01.ndjson");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_accepts_gzip), cmocka_unit_test(test_csv_field),
        cmocka_unit_test(test_ndjson),       cmocka_unit_test(test_csv),
        cmocka_unit_test(test_pipeline),     cmocka_unit_test(test_filename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
