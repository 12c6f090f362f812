/* test_store.c - unit tests for common/store.c that need no server: the adaptive size of
 * write commands (store_chunk()), the stop flag, the URI check, the write concern, the
 * reading of write errors and the $in filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mongoc/mongoc.h>

#include "metrics.h"
#include "store.h"

/* A store on a port nothing listens on: it connects lazily, so nothing is sent here. */
static int
setup(void **state)
{
    struct app_err err = {0};

    store_driver_init();
    *state = store_new("mongodb://127.0.0.1:9/unit", "test", 1000, &err);
    return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    store_free(*state);
    store_driver_cleanup();
    return 0;
}

static bson_error_t
error_of(uint32_t domain, uint32_t code, const char *msg)
{
    bson_error_t e;
    bson_set_error(&e, domain, code, "%s", msg);
    return e;
}

static void
test_chunk_starts_at_max(void **state)
{
    assert_int_equal(store_chunk(*state), STORE_CHUNK_MAX);
}

static void
test_timeouts_halve_the_command_that_timed_out(void **state)
{
    store_t *s = *state;
    bson_error_t timeout = error_of(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                                    "Failed to read 4 bytes: socket error or timeout");

    /* A batch of 100 timed out: the next commands carry 50, then 25, ... down to 1. */
    assert_true(store_chunk_outcome(s, 100, &timeout));
    assert_int_equal(store_chunk(s), 50);
    assert_true(store_chunk_outcome(s, 50, &timeout));
    assert_int_equal(store_chunk(s), 25);
    /* A smaller command timing out halves it, a larger one (a retry still in flight)
     * never raises it. */
    assert_true(store_chunk_outcome(s, 100, &timeout));
    assert_int_equal(store_chunk(s), 25);
    assert_true(store_chunk_outcome(s, 10, &timeout));
    assert_int_equal(store_chunk(s), 5);
    for (int i = 0; i < 5; i++) {
        store_chunk_outcome(s, store_chunk(s), &timeout);
    }
    assert_int_equal(store_chunk(s), 1);
}

static void
test_other_errors_change_nothing(void **state)
{
    store_t *s = *state;
    static const struct {
        uint32_t domain, code;
        const char *msg;
    } others[] = {
        {MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "Failed to send: connection reset"},
        {MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, "Failed to connect: timeout"},
        {MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
         "No suitable servers found: timeout"},
        {MONGOC_ERROR_SERVER, 11000, "E11000 duplicate key"},
    };

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        bson_error_t e = error_of(others[i].domain, others[i].code, others[i].msg);
        assert_false(store_chunk_outcome(s, 100, &e));
        assert_int_equal(store_chunk(s), STORE_CHUNK_MAX);
    }
}

static void
test_successes_grow_it_back(void **state)
{
    store_t *s = *state;
    bson_error_t timeout = error_of(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                                    "Failed to read 4 bytes: socket error or timeout");

    store_chunk_outcome(s, 20, &timeout);
    assert_int_equal(store_chunk(s), 10);
    /* STORE_CHUNK_GROW commands in a row that answered in time double it. */
    for (int i = 0; i < STORE_CHUNK_GROW - 1; i++) {
        store_chunk_outcome(s, 10, NULL);
        assert_int_equal(store_chunk(s), 10);
    }
    store_chunk_outcome(s, 10, NULL);
    assert_int_equal(store_chunk(s), 20);
    /* A timeout in between starts the count again. */
    for (int i = 0; i < STORE_CHUNK_GROW - 1; i++) {
        store_chunk_outcome(s, 20, NULL);
    }
    store_chunk_outcome(s, 20, &timeout);
    assert_int_equal(store_chunk(s), 10);
    for (int i = 0; i < STORE_CHUNK_GROW - 1; i++) {
        store_chunk_outcome(s, 10, NULL);
    }
    assert_int_equal(store_chunk(s), 10);
    /* Never past the maximum. */
    for (int i = 0; i < 40 * STORE_CHUNK_GROW; i++) {
        store_chunk_outcome(s, store_chunk(s), NULL);
    }
    assert_int_equal(store_chunk(s), STORE_CHUNK_MAX);
}

/* The value of metric `name` in the store's metrics, or -1 when it has none. */
static double
metric_of(const store_t *s, const char *name)
{
    struct metrics_buf b;
    char key[96];
    const char *at;
    double v = -1;

    metrics_buf_init(&b);
    store_render_metrics(s, &b);
    snprintf(key, sizeof key, "\n%s ", name);
    if (b.data != NULL && (at = strstr(b.data, key)) != NULL) {
        v = strtod(at + strlen(key), NULL);
    }
    metrics_buf_free(&b);
    return v;
}

/* A command on one document (m 0) that timed out is counted, but leaves the chunk as it
 * is, and its successes do not grow the chunk back: only commands of a batch size it. */
static void
test_single_document_commands_count_timeouts_only(void **state)
{
    store_t *s = *state;
    bson_error_t timeout = error_of(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                                    "Failed to read 4 bytes: socket error or timeout");
    bson_error_t reset = error_of(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                                  "Failed to send: connection reset");

    assert_true(metric_of(s, "analytics_mongodb_timeouts_total") == 0);
    assert_true(store_chunk_outcome(s, 0, &timeout));
    assert_int_equal(store_chunk(s), STORE_CHUNK_MAX);
    assert_true(metric_of(s, "analytics_mongodb_timeouts_total") == 1);
    assert_false(store_chunk_outcome(s, 0, &reset));
    assert_true(metric_of(s, "analytics_mongodb_timeouts_total") == 1);
    store_chunk_outcome(s, 40, &timeout);
    assert_int_equal(store_chunk(s), 20);
    assert_true(metric_of(s, "analytics_mongodb_timeouts_total") == 2);
    for (int i = 0; i < 4 * STORE_CHUNK_GROW; i++) {
        store_chunk_outcome(s, 0, NULL);
    }
    assert_int_equal(store_chunk(s), 20);
    for (int i = 0; i < STORE_CHUNK_GROW; i++) {
        store_chunk_outcome(s, 20, NULL);
    }
    assert_int_equal(store_chunk(s), 40);
}

static void
test_stop_flag(void **state)
{
    store_t *s = *state;
    atomic_int stop = 0;
    struct app_err err = {0};

    assert_int_equal(store_stopping(s, &err), 0);
    store_set_stop_flag(s, &stop);
    assert_int_equal(store_stopping(s, &err), 0);
    stop = 1;
    assert_int_equal(store_stopping(s, &err), -1);
    assert_int_equal(err.code, ERR_TRANSIENT);
    assert_string_equal(err.msg, "stopping");
    store_set_stop_flag(s, NULL);
    assert_int_equal(store_stopping(s, &err), 0);
}

static void
test_check_uri(void **state)
{
    static const char *const good[] = {
        "mongodb://h:1/db",
        "mongodb://127.0.0.1:27017/analytics",
        "mongodb://user:secret@db1:27017,db2:27018/analytics?replicaSet=rs0",
    };
    static const char *const bad[] = {"not-a-uri", "http://h:1/db", "mongodb://", ""};
    struct app_err e;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        e.msg[0] = '\0';
        if (store_check_uri(good[i], &e) != 0) {
            fail_msg("%s refused: %s", good[i], e.msg);
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        if (store_check_uri(bad[i], &e) == 0) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
        assert_true(e.msg[0] != '\0');
        assert_null(strchr(e.msg, '\n'));
    }
}

/* The write concern goes into a write's options as {w, wtimeout}; none is set by default. */
static void
test_write_concern(void **state)
{
    store_t *s = *state;
    struct app_err err = {0};
    bson_t *opts = bson_new();
    bson_iter_t it;

    assert_int_equal(store_append_write_concern(s, opts), 0);
    assert_false(bson_iter_init_find(&it, opts, "writeConcern"));
    assert_int_equal(store_set_write_concern(s, "0", &err), -1);
    assert_int_equal(store_set_write_concern(s, "many", &err), -1);
    assert_int_equal(store_set_write_concern(s, "2", &err), 0);
    assert_int_equal(store_append_write_concern(s, opts), 0);
    assert_true(bson_iter_init(&it, opts) && bson_iter_find_descendant(&it, "writeConcern.w", &it));
    assert_int_equal(bson_iter_as_int64(&it), 2);
    bson_destroy(opts);
    opts = bson_new();
    assert_int_equal(store_set_write_concern(s, "majority", &err), 0);
    assert_int_equal(store_append_write_concern(s, opts), 0);
    assert_true(bson_iter_init(&it, opts) && bson_iter_find_descendant(&it, "writeConcern.w", &it));
    assert_string_equal(bson_iter_utf8(&it, NULL), "majority");
    bson_destroy(opts);
}

/* The read preference and read concern of what `s` hands out for reads: a collection's and a
 * database's must agree. */
static void
check_reads(store_t *s, mongoc_read_mode_t mode, const char *level)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, "events");
    mongoc_database_t *db = store_database(s, client);
    const mongoc_read_concern_t *rc = mongoc_collection_get_read_concern(coll);

    assert_int_equal(mongoc_read_prefs_get_mode(mongoc_collection_get_read_prefs(coll)), mode);
    assert_int_equal(mongoc_read_prefs_get_mode(mongoc_database_get_read_prefs(db)), mode);
    if (level == NULL) {
        assert_null(mongoc_read_concern_get_level(rc));
    } else {
        assert_string_equal(mongoc_read_concern_get_level(rc), level);
        assert_string_equal(mongoc_read_concern_get_level(mongoc_database_get_read_concern(db)),
                            level);
    }
    mongoc_database_destroy(db);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
}

/* A MONGO_URI shared with reporting may send reads to secondaries (readPreference), and ask
 * for a weaker read concern: reporting follows it, while the processor's reads, once pinned
 * (store_pin_reads()), go to the primary with read concern majority when it writes with
 * majority, else local. */
static void
test_pinned_reads(void **state)
{
    static const char uri[] = "mongodb://127.0.0.1:9/unit?readPreference=secondaryPreferred"
                              "&readConcernLevel=available";
    struct app_err err = {0};
    store_t *s = store_new(uri, "test", 1000, &err);

    (void)state;
    assert_non_null(s);
    check_reads(s, MONGOC_READ_SECONDARY_PREFERRED, "available"); /* reporting's */
    assert_int_equal(store_set_write_concern(s, "majority", &err), 0);
    store_pin_reads(s);
    check_reads(s, MONGOC_READ_PRIMARY, "majority");
    store_free(s);

    s = store_new(uri, "test", 1000, &err);
    assert_non_null(s);
    assert_int_equal(store_set_write_concern(s, "1", &err), 0);
    store_pin_reads(s);
    check_reads(s, MONGOC_READ_PRIMARY, "local"); /* sees its own w:1 writes */
    store_free(s);
}

static void
test_first_write_error(void **state)
{
    bson_t *none = BCON_NEW("nInserted", BCON_INT32(3));
    bson_t *dup = BCON_NEW("writeErrors", "[", "{", "index", BCON_INT32(1), "code",
                           BCON_INT32(STORE_DUPLICATE_KEY), "errmsg", BCON_UTF8("E11000 dup"), "}",
                           "{", "index", BCON_INT32(2), "code", BCON_INT32(121), "}", "]");
    bson_t *nocode = BCON_NEW("writeErrors", "[", "{", "index", BCON_INT32(0), "}", "]");
    char msg[64] = "";

    (void)state;
    assert_int_equal(store_first_write_error(none, msg, sizeof msg), 0);
    assert_int_equal(store_first_write_error(dup, msg, sizeof msg), STORE_DUPLICATE_KEY);
    assert_string_equal(msg, "E11000 dup");
    assert_int_equal(store_first_write_error(nocode, NULL, 0), -1);
    bson_destroy(none);
    bson_destroy(dup);
    bson_destroy(nocode);
}

/* The same document, to the byte, as BCON builds (BSON arrays' keys "0", "1", ...): the ids of
 * the documents read, and so what is stored, do not depend on which program built the filter. */
static void
check_same(const bson_t *got, const bson_t *want)
{
    assert_int_equal(got->len, want->len);
    assert_memory_equal(bson_get_data(got), bson_get_data(want), want->len);
}

static void
test_in_filter(void **state)
{
    static const char *const ids[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    bson_t *want = BCON_NEW("site_id", BCON_UTF8("s"), "scope", "{", "$in", "[", BCON_UTF8("a"),
                            BCON_UTF8("b"), BCON_UTF8("c"), BCON_UTF8("d"), BCON_UTF8("e"),
                            BCON_UTF8("f"), BCON_UTF8("g"), BCON_UTF8("h"), BCON_UTF8("i"),
                            BCON_UTF8("j"), BCON_UTF8("k"), BCON_UTF8("l"), "]", "}");
    bson_t *none = BCON_NEW("_id", "{", "$in", "[", "]", "}");
    bson_t *got = BCON_NEW("site_id", BCON_UTF8("s")), *small;
    uint8_t fixed[64], *buf = fixed;
    size_t buflen = sizeof fixed;
    bson_writer_t *writer;
    struct store_in x;
    struct app_err err = {0};

    (void)state;
    store_in_begin(&x, got, "scope");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        store_in_add(&x, ids[i]);
    }
    assert_int_equal(store_in_end(&x, NULL), 0);
    check_same(got, want);
    bson_reinit(got);
    store_in_begin(&x, got, "_id");
    assert_int_equal(store_in_end(&x, NULL), 0);
    check_same(got, none);
    /* A document that cannot grow (here: a writer's fixed buffer of 64 bytes) fails it. */
    writer = bson_writer_new(&buf, &buflen, 0, NULL, NULL);
    bson_writer_begin(writer, &small);
    store_in_begin(&x, small, "_id");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        store_in_add(&x, "0123456789");
    }
    assert_int_equal(store_in_end(&x, &err), -1);
    assert_int_equal(err.code, ERR_INTERNAL);
    assert_string_equal(err.msg, "a filter of 3 ids is too large");
    bson_writer_end(writer);
    bson_writer_destroy(writer);
    bson_destroy(got);
    bson_destroy(none);
    bson_destroy(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunk_starts_at_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_halve_the_command_that_timed_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_errors_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_successes_grow_it_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_document_commands_count_timeouts_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_concern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_reads, setup, teardown),
        cmocka_unit_test(test_in_filter),
    };

    return cmocka_run_group_tests_name("store: command sizes, stop flag, URI, write errors, $in",
                                       tests, NULL, NULL);
}
