/* test_cfg.c - unit tests for common/cfg.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <limits.h>

#include "cfg.h"
#include "log.h"
#include "svc.h"

#define DEFAULT_URI "mongodb://127.0.0.1:27017/analytics"

/* The variables every test table uses; cleared before each test so that the
 * environment the tests run in cannot leak into them. */
static const char *const var_names[] = {"PORT",           "MONGO_URI",    "LOG_LEVEL",
                                        "QUEUE_KEY",      "BATCH",        "REDIS_HOST",
                                        "REDIS_PASSWORD", "BIND_ADDRESS", "VISIT_TIMEOUT_S"};

/* The values a table stores into, reset before each test. */
static struct {
    int port;
    long batch;
    const char *uri;
    enum log_level level;
    const char *queue_key;
    const char *redis_host;
    const char *password;
} out;

/* A CFG_URI row's check: accepts "scheme://rest" for the scheme "mongodb". (What the
 * driver accepts is store_check_uri()'s, tested in test_store.c.) */
static int
check_mongodb(const char *value, struct app_err *err)
{
    if (strncmp(value, "mongodb://", 10) != 0 || value[10] == '\0') {
        return err_set(err, ERR_INVALID, "Invalid URI Schema, expecting 'mongodb://'");
    }
    return 0;
}

static int
clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof var_names / sizeof var_names[0]; i++) {
        unsetenv(var_names[i]);
    }
    memset(&out, 0, sizeof out);
    out.port = -7;
    out.batch = -7;
    out.level = (enum log_level) - 1;
    return 0;
}

/* Load a one-row table and return cfg_load's result, err filled. */
static int
load_one(const char *name, const char *def, enum cfg_kind kind, void *dest, long min, long max,
         struct app_err *err)
{
    const struct cfg_var vars[] = {{name, def, kind, dest, min, max, 0, check_mongodb}};

    err->code = 0;
    err->msg[0] = '\0';
    return cfg_load(vars, 1, err);
}

/* Assert that err's message starts with "<name>:". */
static void
assert_names(const struct app_err *err, const char *name)
{
    size_t n = strlen(name);

    assert_int_equal(err->code, ERR_INVALID);
    if (strncmp(err->msg, name, n) != 0 || err->msg[n] != ':') {
        fail_msg("message \"%s\" does not start with \"%s:\"", err->msg, name);
    }
    assert_null(strchr(err->msg, '\n'));
}

static void
test_defaults_when_unset(void **state)
{
    const struct cfg_var vars[] = {
        {"PORT", "3000", CFG_PORT, &out.port, 0, 0, 0, NULL},
        {"MONGO_URI", DEFAULT_URI, CFG_URI, &out.uri, 0, 0, 0, check_mongodb},
        {"LOG_LEVEL", "info", CFG_LOG_LEVEL, &out.level, 0, 0, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &out.queue_key, 0, 0, 0, NULL},
        {"BATCH", "100", CFG_INT, &out.batch, 1, 1000, 0, NULL},
        {"REDIS_HOST", "127.0.0.1", CFG_STRING, &out.redis_host, 0, 0, 0, NULL},
        {"REDIS_PASSWORD", "", CFG_STRING, &out.password, 0, 0, 1, NULL},
    };
    struct app_err err = {0, ""};

    (void)state;
    assert_int_equal(cfg_load(vars, sizeof vars / sizeof vars[0], &err), 0);
    assert_int_equal(out.port, 3000);
    assert_string_equal(out.uri, DEFAULT_URI);
    assert_int_equal(out.level, LOG_LVL_INFO);
    assert_string_equal(out.queue_key, "events");
    assert_int_equal(out.batch, 100);
    assert_string_equal(out.redis_host, "127.0.0.1");
    assert_string_equal(out.password, "");
}

static void
test_defaults_when_empty(void **state)
{
    const struct cfg_var vars[] = {
        {"PORT", "3000", CFG_PORT, &out.port, 0, 0, 0, NULL},
        {"MONGO_URI", DEFAULT_URI, CFG_URI, &out.uri, 0, 0, 0, check_mongodb},
        {"LOG_LEVEL", "warn", CFG_LOG_LEVEL, &out.level, 0, 0, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &out.queue_key, 0, 0, 0, NULL},
        {"BATCH", "100", CFG_INT, &out.batch, 1, 1000, 0, NULL},
        {"REDIS_HOST", "127.0.0.1", CFG_STRING, &out.redis_host, 0, 0, 0, NULL},
    };
    struct app_err err = {0, ""};

    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        setenv(vars[i].name, "", 1);
    }
    assert_int_equal(cfg_load(vars, sizeof vars / sizeof vars[0], &err), 0);
    assert_int_equal(out.port, 3000);
    assert_string_equal(out.uri, DEFAULT_URI);
    assert_int_equal(out.level, LOG_LVL_WARN);
    assert_string_equal(out.queue_key, "events");
    assert_int_equal(out.batch, 100);
    assert_string_equal(out.redis_host, "127.0.0.1");
}

static void
test_environment_overrides_default(void **state)
{
    const struct cfg_var vars[] = {
        {"PORT", "3000", CFG_PORT, &out.port, 0, 0, 0, NULL},
        {"QUEUE_KEY", "events", CFG_NONEMPTY, &out.queue_key, 0, 0, 0, NULL},
        {"REDIS_HOST", "127.0.0.1", CFG_STRING, &out.redis_host, 0, 0, 0, NULL},
        {"BATCH", "100", CFG_INT, &out.batch, 1, 1000, 0, NULL},
    };
    struct app_err err = {0, ""};

    (void)state;
    setenv("PORT", "8080", 1);
    setenv("QUEUE_KEY", "q:test", 1);
    setenv("REDIS_HOST", "redis.internal", 1);
    setenv("BATCH", "250", 1);
    assert_int_equal(cfg_load(vars, sizeof vars / sizeof vars[0], &err), 0);
    assert_int_equal(out.port, 8080);
    assert_string_equal(out.queue_key, "q:test");
    assert_string_equal(out.redis_host, "redis.internal");
    assert_int_equal(out.batch, 250);
}

static void
test_port_accepts(void **state)
{
    static const struct {
        const char *text;
        int port;
    } cases[] = {{"1", 1}, {"80", 80}, {"3000", 3000}, {"65535", 65535}};
    struct app_err err;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("PORT", cases[i].text, 1);
        out.port = -7;
        if (load_one("PORT", "3000", CFG_PORT, &out.port, 0, 0, &err) != 0) {
            fail_msg("PORT=\"%s\" rejected: %s", cases[i].text, err.msg);
        }
        assert_int_equal(out.port, cases[i].port);
        out.port = -7;
        if (load_one("PORT", "3000", CFG_LISTEN, &out.port, 0, 0, &err) != 0) {
            fail_msg("listen PORT=\"%s\" rejected: %s", cases[i].text, err.msg);
        }
        assert_int_equal(out.port, cases[i].port);
    }
}

static void
test_port_zero_only_for_listening(void **state)
{
    struct app_err err;

    (void)state;
    setenv("PORT", "0", 1);
    out.port = -7;
    assert_int_equal(load_one("PORT", "3000", CFG_LISTEN, &out.port, 0, 0, &err), 0);
    assert_int_equal(out.port, 0);
    assert_int_equal(load_one("PORT", "3000", CFG_PORT, &out.port, 0, 0, &err), -1);
    assert_names(&err, "PORT");
}

static void
test_write_concern(void **state)
{
    static const char *const good[] = {"majority", "1", "3", "50"};
    static const char *const bad[] = {"0", "51", "Majority", "all", "-1", "1.5"};
    const char *w = NULL;
    struct app_err err;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("MONGO_WRITE_CONCERN", good[i], 1);
        assert_int_equal(
            load_one("MONGO_WRITE_CONCERN", "majority", CFG_WRITE_CONCERN, &w, 0, 0, &err), 0);
        assert_string_equal(w, good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("MONGO_WRITE_CONCERN", bad[i], 1);
        assert_int_equal(
            load_one("MONGO_WRITE_CONCERN", "majority", CFG_WRITE_CONCERN, &w, 0, 0, &err), -1);
        assert_names(&err, "MONGO_WRITE_CONCERN");
    }
    unsetenv("MONGO_WRITE_CONCERN");
}

static void
test_port_rejects(void **state)
{
    static const char *const bad[] = {
        "abc",  "-1",  "65536", "80x",   " 80",        "+80",  "80 ",    "8 0",
        "0x50", "1e3", "80.0",  "99999", "4294967376", "\t80", "-65535", "--1",
    };
    struct app_err err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("PORT", bad[i], 1);
        out.port = -7;
        if (load_one("PORT", "3000", CFG_PORT, &out.port, 0, 0, &err) != -1) {
            fail_msg("PORT=\"%s\" accepted as %d", bad[i], out.port);
        }
        assert_names(&err, "PORT");
    }
}

static void
test_bad_default_is_reported(void **state)
{
    struct app_err err;

    (void)state;
    assert_int_equal(load_one("PORT", "http", CFG_PORT, &out.port, 0, 0, &err), -1);
    assert_names(&err, "PORT");
}

static void
test_int_range(void **state)
{
    static const struct {
        const char *text;
        int ok;
        long value;
    } cases[] = {
        {"1", 1, 1},    {"1000", 1, 1000}, {"500", 1, 500}, {"0", 0, 0},
        {"1001", 0, 0}, {"-1", 0, 0},      {"x", 0, 0},     {"10 ", 0, 0},
        {"1.5", 0, 0},  {"+5", 0, 0},      {" 5", 0, 0},    {"99999999999999999999", 0, 0},
    };
    struct app_err err;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        setenv("BATCH", cases[i].text, 1);
        out.batch = -7;
        rc = load_one("BATCH", "100", CFG_INT, &out.batch, 1, 1000, &err);
        if (cases[i].ok) {
            if (rc != 0) {
                fail_msg("BATCH=\"%s\" rejected: %s", cases[i].text, err.msg);
            }
            assert_int_equal(out.batch, cases[i].value);
        } else {
            if (rc != -1) {
                fail_msg("BATCH=\"%s\" accepted as %ld", cases[i].text, out.batch);
            }
            assert_names(&err, "BATCH");
        }
    }
}

static void
test_int_negative_range(void **state)
{
    struct app_err err;

    (void)state;
    setenv("BATCH", "-5", 1);
    assert_int_equal(load_one("BATCH", "0", CFG_INT, &out.batch, -10, 10, &err), 0);
    assert_int_equal(out.batch, -5);
    setenv("BATCH", "-11", 1);
    assert_int_equal(load_one("BATCH", "0", CFG_INT, &out.batch, -10, 10, &err), -1);
    assert_names(&err, "BATCH");
}

/* A CFG_URI value is accepted or refused by the row's check, whose reason ends the
 * one-line message. */
static void
test_uri(void **state)
{
    struct app_err err;

    (void)state;
    setenv("MONGO_URI", "http://h:1/db", 1);
    out.uri = NULL;
    assert_int_equal(load_one("MONGO_URI", DEFAULT_URI, CFG_URI, &out.uri, 0, 0, &err), -1);
    assert_names(&err, "MONGO_URI");
    assert_non_null(strstr(err.msg, "expecting 'mongodb://'"));
    assert_null(out.uri);

    setenv("MONGO_URI", "mongodb://user:secret@db1:27017,db2:27018/analytics?replicaSet=rs0", 1);
    assert_int_equal(load_one("MONGO_URI", DEFAULT_URI, CFG_URI, &out.uri, 0, 0, &err), 0);
    assert_string_equal(out.uri,
                        "mongodb://user:secret@db1:27017,db2:27018/analytics?replicaSet=rs0");
}

/* CFG_CHECKED: the row's check decides, and its reason follows the variable's name. */
static void
test_checked(void **state)
{
    struct app_err err;

    (void)state;
    setenv("QUEUE_KEY", "http://h", 1);
    out.queue_key = NULL;
    assert_int_equal(load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED, &out.queue_key, 0, 0, &err),
                     -1);
    assert_string_equal(err.msg, "QUEUE_KEY: Invalid URI Schema, expecting 'mongodb://'");
    assert_null(out.queue_key);

    setenv("QUEUE_KEY", "mongodb://x", 1);
    assert_int_equal(load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED, &out.queue_key, 0, 0, &err),
                     0);
    assert_string_equal(out.queue_key, "mongodb://x");

    /* Unset: the default goes through the same check. */
    unsetenv("QUEUE_KEY");
    assert_int_equal(load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED, &out.queue_key, 0, 0, &err),
                     0);
    assert_string_equal(out.queue_key, "mongodb://d");
    assert_int_equal(load_one("QUEUE_KEY", "bad", CFG_CHECKED, &out.queue_key, 0, 0, &err), -1);
    assert_names(&err, "QUEUE_KEY");
}

/* CFG_CHECKED_OFF: set and empty is kept and given to the check (which here refuses it),
 * where CFG_CHECKED takes the default; unset takes the default as ever. */
static void
test_checked_off(void **state)
{
    struct app_err err;

    (void)state;
    setenv("QUEUE_KEY", "", 1);
    out.queue_key = NULL;
    assert_int_equal(load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED, &out.queue_key, 0, 0, &err),
                     0);
    assert_string_equal(out.queue_key, "mongodb://d");
    out.queue_key = NULL;
    assert_int_equal(
        load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED_OFF, &out.queue_key, 0, 0, &err), -1);
    assert_names(&err, "QUEUE_KEY");
    assert_null(out.queue_key);
    setenv("QUEUE_KEY", "mongodb://x", 1);
    assert_int_equal(
        load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED_OFF, &out.queue_key, 0, 0, &err), 0);
    assert_string_equal(out.queue_key, "mongodb://x");
    unsetenv("QUEUE_KEY");
    assert_int_equal(
        load_one("QUEUE_KEY", "mongodb://d", CFG_CHECKED_OFF, &out.queue_key, 0, 0, &err), 0);
    assert_string_equal(out.queue_key, "mongodb://d");
}

static void
test_log_level(void **state)
{
    static const struct {
        const char *text;
        enum log_level level;
    } cases[] = {
        {"debug", LOG_LVL_DEBUG}, {"INFO", LOG_LVL_INFO}, {"info", LOG_LVL_INFO},
        {"warn", LOG_LVL_WARN},   {"Warn", LOG_LVL_WARN}, {"error", LOG_LVL_ERROR},
        {"ERROR", LOG_LVL_ERROR},
    };
    static const char *const bad[] = {"verbose", "warning", "inf", "info ", "trace", "0"};
    struct app_err err;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("LOG_LEVEL", cases[i].text, 1);
        out.level = (enum log_level) - 1;
        if (load_one("LOG_LEVEL", "info", CFG_LOG_LEVEL, &out.level, 0, 0, &err) != 0) {
            fail_msg("LOG_LEVEL=\"%s\" rejected: %s", cases[i].text, err.msg);
        }
        assert_int_equal(out.level, cases[i].level);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("LOG_LEVEL", bad[i], 1);
        if (load_one("LOG_LEVEL", "info", CFG_LOG_LEVEL, &out.level, 0, 0, &err) != -1) {
            fail_msg("LOG_LEVEL=\"%s\" accepted", bad[i]);
        }
        assert_names(&err, "LOG_LEVEL");
    }
}

static void
test_nonempty(void **state)
{
    struct app_err err;

    (void)state;
    /* Empty in the environment falls back to the default... */
    setenv("QUEUE_KEY", "", 1);
    assert_int_equal(load_one("QUEUE_KEY", "events", CFG_NONEMPTY, &out.queue_key, 0, 0, &err), 0);
    assert_string_equal(out.queue_key, "events");
    /* ...so only an empty default can make it empty, and that is an error. */
    assert_int_equal(load_one("QUEUE_KEY", "", CFG_NONEMPTY, &out.queue_key, 0, 0, &err), -1);
    assert_names(&err, "QUEUE_KEY");
    unsetenv("QUEUE_KEY");
    assert_int_equal(load_one("QUEUE_KEY", "", CFG_NONEMPTY, &out.queue_key, 0, 0, &err), -1);
    assert_names(&err, "QUEUE_KEY");
    /* A plain string may be empty. */
    assert_int_equal(load_one("QUEUE_KEY", "", CFG_STRING, &out.queue_key, 0, 0, &err), 0);
    assert_string_equal(out.queue_key, "");
}

static void
test_required_without_default(void **state)
{
    struct app_err err;

    (void)state;
    assert_int_equal(load_one("REDIS_HOST", NULL, CFG_STRING, &out.redis_host, 0, 0, &err), -1);
    assert_names(&err, "REDIS_HOST");
    setenv("REDIS_HOST", "", 1);
    assert_int_equal(load_one("REDIS_HOST", NULL, CFG_STRING, &out.redis_host, 0, 0, &err), -1);
    assert_names(&err, "REDIS_HOST");
    setenv("REDIS_HOST", "db", 1);
    assert_int_equal(load_one("REDIS_HOST", NULL, CFG_STRING, &out.redis_host, 0, 0, &err), 0);
    assert_string_equal(out.redis_host, "db");
}

static void
test_first_bad_variable_is_named(void **state)
{
    const struct cfg_var vars[] = {
        {"REDIS_HOST", "127.0.0.1", CFG_STRING, &out.redis_host, 0, 0, 0, NULL},
        {"LOG_LEVEL", "info", CFG_LOG_LEVEL, &out.level, 0, 0, 0, NULL},
        {"PORT", "3000", CFG_PORT, &out.port, 0, 0, 0, NULL},
        {"MONGO_URI", DEFAULT_URI, CFG_URI, &out.uri, 0, 0, 0, check_mongodb},
    };
    const size_t n = sizeof vars / sizeof vars[0];
    struct app_err err = {0, ""};

    (void)state;
    setenv("PORT", "abc", 1);
    setenv("MONGO_URI", "not-a-uri", 1);
    assert_int_equal(cfg_load(vars, n, &err), -1);
    assert_names(&err, "PORT");

    setenv("LOG_LEVEL", "verbose", 1);
    assert_int_equal(cfg_load(vars, n, &err), -1);
    assert_names(&err, "LOG_LEVEL");

    unsetenv("LOG_LEVEL");
    setenv("PORT", "80", 1);
    assert_int_equal(cfg_load(vars, n, &err), -1);
    assert_names(&err, "MONGO_URI");

    unsetenv("MONGO_URI");
    assert_int_equal(cfg_load(vars, n, &err), 0);
    assert_int_equal(out.port, 80);
}

/* BIND_ADDRESS, through the rows every program has (SVC_LISTEN_VARS): an IPv4 address in
 * dotted form, or the program stops at start naming the variable. An IPv6 address is
 * refused with its own message: Debian's civetweb 1.15 is built without IPv6
 * (mg_check_feature(8) is 0) and answers "[::1]:3000" with "invalid port spec". */
static void
test_bind_address(void **state)
{
    enum { OK, NOT_V4, V6 };
    static const struct {
        const char *text;
        int verdict;
        const char *shown; /* as the message quotes it, when not text */
    } cases[] = {
        {"0.0.0.0", OK, NULL},
        {"127.0.0.1", OK, NULL},
        {"10.20.30.40", OK, NULL},
        {"255.255.255.255", OK, NULL},
        {"192.0.2.9", OK, NULL},
        {"999.0.0.1", NOT_V4, NULL}, /* civetweb 1.15 logged it and bound something else */
        {"256.0.0.1", NOT_V4, NULL},
        {"1.2.3.256", NOT_V4, NULL},
        {"127.1", NOT_V4, NULL}, /* inet_aton's short forms */
        {"1.2.3", NOT_V4, NULL},
        {"1.2.3.4.5", NOT_V4, NULL},
        {"01.2.3.4", NOT_V4, NULL}, /* octal to some parsers, decimal to others */
        {"1.2.3.04", NOT_V4, NULL},
        {"0x7f.0.0.1", NOT_V4, NULL},
        {"1.2.3.4:80", NOT_V4, NULL},
        {" 127.0.0.1", NOT_V4, NULL},
        {"127.0.0.1 ", NOT_V4, NULL},
        {"127.0.0.1\n", NOT_V4, "127.0.0.1?"}, /* the message stays one line */
        {"\t127.0.0.1", NOT_V4, "?127.0.0.1"},
        {"+1.2.3.4", NOT_V4, NULL},
        {"-1.2.3.4", NOT_V4, NULL},
        {"1..2.3", NOT_V4, NULL},
        {"1.2.3.", NOT_V4, NULL},
        {".1.2.3", NOT_V4, NULL},
        {"1.2.3.4.", NOT_V4, NULL},
        {"1234.2.3.4", NOT_V4, NULL},
        {"00000000001.2.3.4", NOT_V4, NULL},
        {"localhost", NOT_V4, NULL}, /* a name: civetweb would resolve it, to what it finds */
        {"example.com", NOT_V4, NULL},
        {"*", NOT_V4, NULL},
        {"::1", V6, NULL},
        {"::", V6, NULL},
        {"[::1]", V6, NULL},
        {"2001:db8::7", V6, NULL},
        {"::ffff:127.0.0.1", V6, NULL},
        {"[::1", NOT_V4, NULL},
        {"fe80::1%eth0", NOT_V4, NULL},
        {":::1", NOT_V4, NULL},
    };
    struct svc_cfg c;
    const struct cfg_var vars[] = {SVC_LISTEN_VARS(&c, "3000")};
    struct app_err err;
    char want[256];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("BIND_ADDRESS", cases[i].text, 1);
        memset(&c, 0, sizeof c);
        err.code = 0;
        err.msg[0] = '\0';
        int rc = cfg_load(vars, sizeof vars / sizeof vars[0], &err);
        if (cases[i].verdict == OK) {
            if (rc != 0 || c.bind_address == NULL || strcmp(c.bind_address, cases[i].text) != 0) {
                fail_msg("BIND_ADDRESS=\"%s\" refused: %s", cases[i].text, err.msg);
            }
            continue;
        }
        if (rc != -1) {
            fail_msg("BIND_ADDRESS=\"%s\" accepted", cases[i].text);
        }
        assert_names(&err, "BIND_ADDRESS");
        if (cases[i].verdict == V6) {
            snprintf(want, sizeof want,
                     "BIND_ADDRESS: \"%s\" is an IPv6 address, and civetweb as built here "
                     "listens on IPv4 only: use an IPv4 address (0.0.0.0: every interface)",
                     cases[i].shown ? cases[i].shown : cases[i].text);
        } else {
            snprintf(want, sizeof want,
                     "BIND_ADDRESS: \"%s\" is not an IPv4 address: four numbers 0-255, "
                     "e.g. 0.0.0.0 (every interface) or 127.0.0.1 (this host only)",
                     cases[i].shown ? cases[i].shown : cases[i].text);
        }
        if (strcmp(err.msg, want) != 0) {
            fail_msg("BIND_ADDRESS=\"%s\": \"%s\", expected \"%s\"", cases[i].text, err.msg, want);
        }
    }
    /* Unset or empty: 0.0.0.0. */
    unsetenv("BIND_ADDRESS");
    assert_int_equal(cfg_load(vars, sizeof vars / sizeof vars[0], &err), 0);
    assert_string_equal(c.bind_address, "0.0.0.0");
}

static void
test_err_may_be_null(void **state)
{
    const struct cfg_var vars[] = {{"PORT", "3000", CFG_PORT, &out.port, 0, 0, 0, NULL}};

    (void)state;
    setenv("PORT", "abc", 1);
    assert_int_equal(cfg_load(vars, 1, NULL), -1);
}

static void
test_parse_long_accepts(void **state)
{
    static const struct {
        const char *text;
        long value;
    } cases[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"007", 7},
        {"-42", -42},
        {"9223372036854775807", LONG_MAX},
        {"-9223372036854775808", LONG_MIN},
    };
    long v;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        v = 12345;
        if (cfg_parse_long(cases[i].text, LONG_MIN, LONG_MAX, &v) != 0) {
            fail_msg("cfg_parse_long rejected \"%s\"", cases[i].text);
        }
        assert_int_equal(v, cases[i].value);
    }
    assert_int_equal(cfg_parse_long("5", 5, 5, &v), 0);
    assert_int_equal(v, 5);
}

static void
test_parse_long_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        " 1",
        "\t1",
        "+1",
        "1 ",
        "1\n",
        "1x",
        "x1",
        "1.0",
        "1e3",
        "0x10",
        "--1",
        "- 1",
        "-",
        "+",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
    };
    long v = 12345;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cfg_parse_long(bad[i], LONG_MIN, LONG_MAX, &v) != -1) {
            fail_msg("cfg_parse_long accepted \"%s\" as %ld", bad[i], v);
        }
    }
    assert_int_equal(cfg_parse_long(NULL, LONG_MIN, LONG_MAX, &v), -1);
    /* The range is inclusive at both ends and nothing outside it passes. */
    assert_int_equal(cfg_parse_long("4", 5, 10, &v), -1);
    assert_int_equal(cfg_parse_long("11", 5, 10, &v), -1);
    assert_int_equal(cfg_parse_long("5", 5, 10, &v), 0);
    assert_int_equal(cfg_parse_long("10", 5, 10, &v), 0);
    assert_int_equal(cfg_parse_long("1", 5, 4, &v), -1);
}

static void
test_parse_long_rejects_any_leading_whitespace(void **state)
{
    /* Leading ' ' and '\t' are refused; strtol() also skips '\n', '\v', '\f'
     * and '\r', so those must be refused too, e.g. PORT=$'\n80'. */
    static const char *const bad[] = {"\n80", "\r80", "\v80", "\f80", "\n\n80"};
    long v = 12345;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cfg_parse_long(bad[i], 0, 65535, &v) != -1) {
            fail_msg("cfg_parse_long accepted whitespace-prefixed \"\\x%02x80\" as %ld",
                     (unsigned char)bad[i][0], v);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_when_unset, clear_env),
        cmocka_unit_test_setup(test_defaults_when_empty, clear_env),
        cmocka_unit_test_setup(test_environment_overrides_default, clear_env),
        cmocka_unit_test_setup(test_port_accepts, clear_env),
        cmocka_unit_test_setup(test_port_zero_only_for_listening, clear_env),
        cmocka_unit_test_setup(test_write_concern, clear_env),
        cmocka_unit_test_setup(test_port_rejects, clear_env),
        cmocka_unit_test_setup(test_bad_default_is_reported, clear_env),
        cmocka_unit_test_setup(test_int_range, clear_env),
        cmocka_unit_test_setup(test_int_negative_range, clear_env),
        cmocka_unit_test_setup(test_uri, clear_env),
        cmocka_unit_test_setup(test_checked, clear_env),
        cmocka_unit_test_setup(test_log_level, clear_env),
        cmocka_unit_test_setup(test_checked_off, clear_env),
        cmocka_unit_test_setup(test_nonempty, clear_env),
        cmocka_unit_test_setup(test_required_without_default, clear_env),
        cmocka_unit_test_setup(test_first_bad_variable_is_named, clear_env),
        cmocka_unit_test_setup(test_bind_address, clear_env),
        cmocka_unit_test_setup(test_err_may_be_null, clear_env),
        cmocka_unit_test_setup(test_parse_long_accepts, clear_env),
        cmocka_unit_test_setup(test_parse_long_rejects, clear_env),
        cmocka_unit_test_setup(test_parse_long_rejects_any_leading_whitespace, clear_env),
    };

    return cmocka_run_group_tests_name("cfg: configuration from the environment", tests, NULL,
                                       NULL);
}
