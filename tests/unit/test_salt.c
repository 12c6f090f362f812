/* test_salt.c - unit tests for ingest/salt.c's cache and Redis exchange, with rconn_command()
 * faked at link time (-Wl,--wrap): one round trip a day, the value Redis answers wins, a
 * failure answers for 250 ms, a value that is not a salt is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "salt.h"
#include "ts.h"

/* The fake Redis: the commands sent, and the next replies (a type and a string). */
static char sent[8][128];
static int n_sent;
static struct {
    int type; /* REDIS_REPLY_*, or -1: no reply (err filled) */
    const char *str;
} replies[8];
static int n_replies, next_reply;

redisReply *__wrap_rconn_command(rconn_t *c, struct app_err *err, const char *fmt, ...);

redisReply *
__wrap_rconn_command(rconn_t *c, struct app_err *err, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    (void)c;
    va_start(ap, fmt);
    if (n_sent < 8) {
        vsnprintf(sent[n_sent++], sizeof sent[0], fmt, ap);
    }
    va_end(ap);
    assert_true(next_reply < n_replies);
    if (replies[next_reply].type < 0) {
        next_reply++;
        err_set(err, ERR_TRANSIENT, "redis: Connection refused");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->type = replies[next_reply].type;
    if (replies[next_reply].str != NULL) {
        r->str = strdup(replies[next_reply].str);
        r->len = strlen(r->str);
    }
    next_reply++;
    return r;
}

static void
expect_reply(int type, const char *str)
{
    replies[n_replies].type = type;
    replies[n_replies].str = str;
    n_replies++;
}

/* Wait out the 250 ms during which a failure answers for the requests after it. */
static void
past_retry(void)
{
    struct timespec t = {0, 300 * 1000 * 1000};

    nanosleep(&t, NULL);
}

static void
reset(void)
{
    n_sent = n_replies = next_reply = 0;
}

#define DAY1 1763164800000LL /* 2025-11-15T00:00:00Z */
#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void
test_salt_cache(void **state)
{
    struct rconn_opts opts = {.host = "127.0.0.1", .port = 1, .timeout_ms = 100, .cluster = ""};
    struct app_err err = {0};
    unsigned char s1[SALT_LEN], s2[SALT_LEN], want[SALT_LEN], p[SALT_LEN];
    int has = -1;
    salt_t *s = salt_new(&opts, "events", &err);
    char value[2 * SALT_LEN + 1];

    (void)state;
    assert_non_null(s);
    reset();
    /* The first ingest of the day: Redis had none (nil), ours is the day's; yesterday's is
     * read beside it (none). */
    expect_reply(REDIS_REPLY_NIL, NULL);
    expect_reply(REDIS_REPLY_NIL, NULL);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, s1, p, &has, &err), 0);
    assert_int_equal(n_sent, 2);
    assert_int_equal(strncmp(sent[0], "SET events:salt:2025-11-15 ", 27), 0);
    assert_string_equal(sent[0] + 27 + 64, " NX EX 270000 GET");
    memcpy(value, sent[0] + 27, 64);
    value[64] = '\0';
    assert_int_equal(salt_parse(value, 64, want), 0);
    assert_memory_equal(s1, want, SALT_LEN); /* the value it sent is the salt it uses */
    assert_string_equal(sent[1], "GET events:salt:2025-11-14");
    assert_int_equal(has, 0);
    /* The rest of the day: from memory, no command. */
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, s2, p, &has, &err), 0);
    assert_memory_equal(s1, s2, SALT_LEN);
    assert_int_equal(n_sent, 2);
    /* The next day: another ingest made it first, its value wins; yesterday's is the one in
     * memory (no GET). */
    reset();
    expect_reply(REDIS_REPLY_STRING, HEX_A);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS + 1, s2, p, &has, &err), 0);
    assert_int_equal(n_sent, 1);
    assert_int_equal(strncmp(sent[0], "SET events:salt:2025-11-16 ", 27), 0);
    assert_int_equal(salt_parse(HEX_A, 64, want), 0);
    assert_memory_equal(s2, want, SALT_LEN);
    assert_int_equal(has, 1);
    assert_memory_equal(p, s1, SALT_LEN);
    /* The day before the first (a site whose zone is behind UTC): fetched, its own day
     * before read beside it; then the first day again, from memory: several days are kept. */
    reset();
    expect_reply(REDIS_REPLY_STRING, HEX_B);
    expect_reply(REDIS_REPLY_NIL, NULL);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS - 1, s2, p, &has, &err), 0);
    assert_int_equal(n_sent, 2);
    assert_int_equal(strncmp(sent[0], "SET events:salt:2025-11-14 ", 27), 0);
    assert_string_equal(sent[1], "GET events:salt:2025-11-13");
    assert_int_equal(has, 0);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, s2, p, &has, &err), 0);
    assert_memory_equal(s2, s1, SALT_LEN);
    assert_int_equal(n_sent, 2);
    salt_free(s);
}

static void
test_salt_failures(void **state)
{
    struct rconn_opts opts = {.host = "127.0.0.1", .port = 1, .timeout_ms = 100, .cluster = ""};
    struct app_err err = {0};
    unsigned char out[SALT_LEN], want[SALT_LEN], p[SALT_LEN];
    int has = -1;
    salt_t *s = salt_new(&opts, "{q}", &err);

    (void)state;
    assert_non_null(s);
    reset();
    /* Redis fails: -1, and the requests of the next 250 ms fail at once with its reason. */
    expect_reply(-1, NULL);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, out, p, &has, &err), -1);
    assert_int_equal(err.code, ERR_TRANSIENT);
    memset(&err, 0, sizeof err);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, out, p, &has, &err), -1);
    assert_string_equal(err.msg, "redis: Connection refused");
    assert_int_equal(n_sent, 1);
    /* An error reply, and a value that is not a salt: refused, never used. */
    reset();
    past_retry();
    expect_reply(REDIS_REPLY_STRING, "not a salt");
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, out, p, &has, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(sent[0] + 24 + 64, " NX EX 270000 GET");
    assert_int_equal(strncmp(sent[0], "SET {q}:salt:2025-11-15 ", 24), 0);
    reset();
    past_retry();
    expect_reply(REDIS_REPLY_ERROR, "ERR syntax error");
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, out, p, &has, &err), -1);
    assert_int_equal(err.code, ERR_TRANSIENT);
    /* Then Redis answers: the day's salt, and yesterday's. */
    reset();
    past_retry();
    expect_reply(REDIS_REPLY_STRING, HEX_B);
    expect_reply(REDIS_REPLY_STRING, HEX_A);
    assert_int_equal(salt_of_day(s, DAY1 / TS_DAY_MS, out, p, &has, &err), 0);
    assert_int_equal(salt_parse(HEX_B, 64, want), 0);
    assert_memory_equal(out, want, SALT_LEN);
    assert_int_equal(has, 1);
    assert_int_equal(salt_parse(HEX_A, 64, want), 0);
    assert_memory_equal(p, want, SALT_LEN);
    salt_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_salt_cache),
        cmocka_unit_test(test_salt_failures),
    };

    return cmocka_run_group_tests_name("salt: the daily salt's cache and its Redis exchange", tests,
                                       NULL, NULL);
}
