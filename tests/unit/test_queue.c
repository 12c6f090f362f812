/* test_queue.c - unit tests for the parts of processor/queue.c that need no Redis server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "queue.h"
#include "text.h"

/* 2025-11-15T10:00:00.123Z: past 2^32, so a 32-bit truncation would show. */
#define EXAMPLE_MS 1763200800123LL

static void
test_keys_of_a_consumer(void **state)
{
    queue_t *q = queue_new("events", "host:1234:abcd");

    (void)state;
    assert_non_null(q);
    assert_string_equal(queue_name(q, QUEUE_PENDING), "events");
    assert_string_equal(queue_name(q, QUEUE_CONSUMER), "host:1234:abcd");
    assert_string_equal(queue_name(q, QUEUE_PROCESSING), "events:processing:host:1234:abcd");
    assert_string_equal(queue_name(q, QUEUE_DEAD), "events:dead");
    assert_string_equal(queue_name(q, QUEUE_HEARTBEAT), "events:heartbeat:host:1234:abcd");
    assert_string_equal(queue_name(q, QUEUE_CONSUMERS), "events:consumers");
    queue_free(q);
}

/* Every name is QUEUE_KEY and a suffix: a hash-tag QUEUE_KEY puts them in one cluster
 * slot, and another consumer's keys (recovery's) are built the same way. */
static void
test_keys_with_hash_tag(void **state)
{
    queue_t *q = queue_new("{events}", "h:1:a");
    char *other;

    (void)state;
    assert_non_null(q);
    assert_string_equal(queue_name(q, QUEUE_PROCESSING), "{events}:processing:h:1:a");
    assert_string_equal(queue_name(q, QUEUE_CONSUMERS), "{events}:consumers");
    other = queue_consumer_key(q, "heartbeat", "h:2:b");
    assert_string_equal(other, "{events}:heartbeat:h:2:b");
    free(other);
    other = queue_consumer_key(q, "processing", "");
    assert_string_equal(other, "{events}:processing:");
    free(other);
    queue_free(q);
}

/* The SCAN pattern of --recover-orphans matches QUEUE_KEY literally. */
static void
test_glob_escape(void **state)
{
    static const char *const cases[][2] = {
        {"events:processing:", "events:processing:"},
        {"", ""},
        {"a*b?c[d]e\\f", "a\\*b\\?c\\[d\\]e\\\\f"},
        {"{events}", "{events}"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = queue_glob_escape(cases[i][0]);
        assert_string_equal(e, cases[i][1]);
        free(e);
    }
}

/* An operator's handle has no consumer keys, and the consumer operations refuse to run
 * (before any Redis call: the connection is never used). */
static void
test_keys_without_consumer(void **state)
{
    queue_t *q = queue_new("tenant-a:events", NULL);
    struct queue_batch b;
    struct app_err err = {0};

    (void)state;
    assert_non_null(q);
    assert_string_equal(queue_name(q, QUEUE_PENDING), "tenant-a:events");
    assert_null(queue_name(q, QUEUE_CONSUMER));
    assert_null(queue_name(q, QUEUE_PROCESSING));
    assert_null(queue_name(q, QUEUE_HEARTBEAT));
    assert_string_equal(queue_name(q, QUEUE_CONSUMERS), "tenant-a:events:consumers");
    assert_string_equal(queue_name(q, QUEUE_DEAD), "tenant-a:events:dead");
    queue_batch_init(&b);
    assert_int_equal(queue_claim(q, NULL, 10, 10, 1800, &b, &err), -1);
    assert_int_equal(err.code, ERR_INTERNAL);
    assert_int_equal(queue_list(q, NULL, &b, &err), -1);
    assert_int_equal(queue_ack(q, NULL, NULL, 0, &err), -1);
    assert_int_equal(queue_requeue(q, NULL, &err), -1);
    assert_int_equal(queue_heartbeat(q, NULL, 1000, &err), -1);
    assert_int_equal(queue_unregister(q, NULL, &err), -1);
    assert_int_equal(b.n, 0);
    queue_free(q);
}

/* Keys are built at their full length, however long QUEUE_KEY and the consumer are
 * (no fixed-size buffers to overflow or truncate). */
static void
test_keys_long(void **state)
{
    char name[2001], consumer[301], want[2400];
    queue_t *q;

    (void)state;
    memset(name, 'q', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memset(consumer, 'c', sizeof consumer - 1);
    consumer[sizeof consumer - 1] = '\0';
    q = queue_new(name, consumer);
    assert_non_null(q);
    snprintf(want, sizeof want, "%s:processing:%s", name, consumer);
    assert_string_equal(queue_name(q, QUEUE_PROCESSING), want);
    snprintf(want, sizeof want, "%s:dead", name);
    assert_string_equal(queue_name(q, QUEUE_DEAD), want);
    queue_free(q);
    queue_free(NULL);
}

/* Parse a dead-letter entry, check it has exactly the five documented fields with the
 * right types, and return it (json_decref it). */
static json_t *
load_entry(const char *text)
{
    json_error_t jerr;
    json_t *o;

    assert_non_null(text);
    assert_true(text_is_utf8(text, strlen(text)));
    o = json_loads(text, 0, &jerr);
    if (o == NULL) {
        fail_msg("entry is not JSON: %s", jerr.text);
    }
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), 5);
    assert_true(json_is_string(json_object_get(o, "reason")));
    assert_true(json_is_string(json_object_get(o, "error")));
    assert_true(json_is_integer(json_object_get(o, "attempts")));
    assert_true(json_is_integer(json_object_get(o, "failed_at")));
    assert_true(json_is_string(json_object_get(o, "payload")));
    return o;
}

/* The string field name of o, which must have exactly len bytes. */
static const char *
field(json_t *o, const char *name, size_t len)
{
    json_t *s = json_object_get(o, name);

    assert_non_null(s);
    assert_int_equal(json_string_length(s), len);
    return json_string_value(s);
}

static void
test_dead_entry_round_trip(void **state)
{
    static const char payload[] = "{\"v\":1,\"id\":\"0190163d\",\"site_id\":\"s\\\"q\\\\b\","
                                  "\"url\":\"https://example.com/caf\xc3\xa9\"}";
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("invalid", "document rejected: bad \"site_id\"\n", 3, EXAMPLE_MS,
                            payload, sizeof payload - 1);
    o = load_entry(text);
    assert_string_equal(field(o, "reason", 7), "invalid");
    assert_string_equal(field(o, "error", 33), "document rejected: bad \"site_id\"\n");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 3);
    assert_true(json_integer_value(json_object_get(o, "failed_at")) == EXAMPLE_MS);
    assert_memory_equal(field(o, "payload", sizeof payload - 1), payload, sizeof payload);
    json_decref(o);
    free(text);
}

static void
test_dead_entry_number_edges(void **state)
{
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("", "", 0, 0, "", 0);
    o = load_entry(text);
    assert_string_equal(field(o, "reason", 0), "");
    assert_string_equal(field(o, "error", 0), "");
    assert_string_equal(field(o, "payload", 0), "");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "failed_at")), 0);
    json_decref(o);
    free(text);

    text = queue_dead_entry("r", "e", 2147483647, 253402300799999LL, "p", 1);
    o = load_entry(text);
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 2147483647);
    assert_true(json_integer_value(json_object_get(o, "failed_at")) == 253402300799999LL);
    json_decref(o);
    free(text);
}

static void
test_dead_entry_payload_len_respected(void **state)
{
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("r", "e", 1, EXAMPLE_MS, "abcdef\xff", 3);
    o = load_entry(text);
    assert_string_equal(field(o, "payload", 3), "abc");
    json_decref(o);
    free(text);
}

static void
test_dead_entry_payload_invalid_utf8(void **state)
{
    static const char payload[] = "{\"url\":\"/p\xff\xfe\",\"t\":\"caf\xc3\xa9\xe2\x82\"}";
    static const char want[] = "{\"url\":\"/p??\",\"t\":\"caf\xc3\xa9??\"}";
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("invalid", "not UTF-8", 1, EXAMPLE_MS, payload, sizeof payload - 1);
    o = load_entry(text);
    assert_string_equal(field(o, "payload", sizeof want - 1), want);
    json_decref(o);
    free(text);

    /* Overlong, surrogate and truncated forms, and nothing else. */
    text = queue_dead_entry("invalid", "x", 1, EXAMPLE_MS, "\xc0\x80\xed\xa0\x80\xf0\x9f", 7);
    o = load_entry(text);
    assert_string_equal(field(o, "payload", 7), "???????");
    json_decref(o);
    free(text);
}

static void
test_dead_entry_payload_nul_bytes(void **state)
{
    static const char payload[] = "a\0b\0\0{\"k\":\"\xc3\xa9\"}\0";
    static const char want[] = "a?b??{\"k\":\"\xc3\xa9\"}?";
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("invalid", "NUL", 1, EXAMPLE_MS, payload, sizeof payload - 1);
    o = load_entry(text);
    assert_string_equal(field(o, "payload", sizeof want - 1), want);
    json_decref(o);
    free(text);
}

static void
test_dead_entry_reason_and_error_invalid_utf8(void **state)
{
    /* A lone lead, a valid euro sign, a surrogate. (The literal is split so that "?" "?)"
     * is not read as the trigraph for ']'.) */
    static const char want_error[] = "mongo: ?(\xe2\x82\xac??"
                                     "?)";
    char *text;
    json_t *o;

    (void)state;
    text = queue_dead_entry("bad\xff reason", "mongo: \xc3(\xe2\x82\xac\xed\xa0\x80)", 5,
                            EXAMPLE_MS, "{}", 2);
    o = load_entry(text);
    assert_string_equal(field(o, "reason", 11), "bad? reason");
    assert_string_equal(field(o, "error", sizeof want_error - 1), want_error);
    assert_string_equal(field(o, "payload", 2), "{}");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 5);
    json_decref(o);
    free(text);
}

#define MB (1024 * 1024)

static void
test_dead_entry_payload_1mb(void **state)
{
    char *payload = malloc(MB);
    char *text;
    json_t *o;
    const char *got;

    (void)state;
    assert_non_null(payload);
    /* Valid text with characters JSON must escape, and a multibyte character at the end. */
    for (size_t i = 0; i < MB; i++) {
        payload[i] = "ab\"\\/\n\tz"[i % 8];
    }
    memcpy(payload + MB - 3, "\xe2\x82\xac", 3);
    text = queue_dead_entry("too_large", "e", 1, EXAMPLE_MS, payload, MB);
    o = load_entry(text);
    assert_memory_equal(field(o, "payload", MB), payload, MB);
    json_decref(o);
    free(text);

    /* The same with an invalid byte every 1000 and a NUL at the very end. */
    for (size_t i = 0; i < MB; i += 1000) {
        payload[i] = (char)0xff;
    }
    payload[MB - 1] = '\0';
    text = queue_dead_entry("too_large", "e", 1, EXAMPLE_MS, payload, MB);
    o = load_entry(text);
    got = field(o, "payload", MB);
    for (size_t i = 0; i < MB - 3; i++) {
        char want = i % 1000 == 0 ? '?' : payload[i];
        if (got[i] != want) {
            fail_msg("payload byte %zu is %02x, want %02x", i, (unsigned char)got[i],
                     (unsigned char)want);
        }
    }
    /* The euro sign lost its last byte, so its first two are invalid too. */
    assert_memory_equal(got + MB - 3, "???", 3);
    json_decref(o);
    free(text);
    free(payload);
}

static void
test_batch_init_and_clear_empty(void **state)
{
    struct queue_batch b;

    (void)state;
    memset(&b, 0xa5, sizeof b);
    queue_batch_init(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
    queue_batch_clear(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
    /* Clearing twice is harmless. */
    queue_batch_clear(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
}

/* A string reply as hiredis builds one, from the protocol text, without a server. */
static redisReply *
string_reply(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(rd);
    assert_int_equal(((redisReply *)reply)->type, REDIS_REPLY_STRING);
    return reply;
}

/* Clearing a batch frees its replies (a leak here fails under ASan or valgrind) and
 * leaves it empty and reusable. */
static void
test_batch_clear_frees_items(void **state)
{
    struct queue_batch b;

    (void)state;
    queue_batch_init(&b);
    b.items = malloc(2 * sizeof *b.items);
    assert_non_null(b.items);
    b.items[0] = string_reply("$3\r\nabc\r\n");
    b.items[1] = string_reply("$0\r\n\r\n");
    b.n = 2;
    assert_memory_equal(b.items[0]->str, "abc", 3);
    queue_batch_clear(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
    queue_batch_clear(&b);
    assert_int_equal(b.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_of_a_consumer),
        cmocka_unit_test(test_keys_with_hash_tag),
        cmocka_unit_test(test_glob_escape),
        cmocka_unit_test(test_keys_without_consumer),
        cmocka_unit_test(test_keys_long),
        cmocka_unit_test(test_dead_entry_round_trip),
        cmocka_unit_test(test_dead_entry_number_edges),
        cmocka_unit_test(test_dead_entry_payload_len_respected),
        cmocka_unit_test(test_dead_entry_payload_invalid_utf8),
        cmocka_unit_test(test_dead_entry_payload_nul_bytes),
        cmocka_unit_test(test_dead_entry_reason_and_error_invalid_utf8),
        cmocka_unit_test(test_dead_entry_payload_1mb),
        cmocka_unit_test(test_batch_init_and_clear_empty),
        cmocka_unit_test(test_batch_clear_frees_items),
    };

    return cmocka_run_group_tests_name("queue: keys, dead-letter entries, batches", tests, NULL,
                                       NULL);
}
