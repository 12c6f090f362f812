/* test_dbread.c - unit tests for reporting/dbread.c: what a read hands its callback, how it
 * stops, fails and sizes its batches, that it releases everything on every path, and the
 * fields it takes from a document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dbread.h"

/* The fake driver: the store's pool, the collection and the cursor (all wrapped, see the
 * Makefile) are tokens; the cursor answers docs[0..n_docs), then fails when cursor_fails. */
#define DOCS_MAX 4
static bson_t *docs[DOCS_MAX];
static int n_docs;
static int cursor_fails;
static int next_calls, error_calls, finds, aggregates;
static int clients_out, collections_out, cursors_out; /* taken and not yet given back */
static const bson_t *seen_query, *seen_opts;
static const char *seen_collection;
static uint32_t batch_sizes[DOCS_MAX];
static int n_batch_sizes;

static char client_token, collection_token, cursor_token;

mongoc_client_t *__wrap_store_client_pop(store_t *s);
void __wrap_store_client_push(store_t *s, mongoc_client_t *client);
mongoc_collection_t *__wrap_store_collection(const store_t *s, mongoc_client_t *client,
                                             const char *name);
mongoc_cursor_t *__wrap_mongoc_collection_find_with_opts(mongoc_collection_t *coll,
                                                         const bson_t *filter, const bson_t *opts,
                                                         const mongoc_read_prefs_t *prefs);
mongoc_cursor_t *__wrap_mongoc_collection_aggregate(mongoc_collection_t *coll,
                                                    mongoc_query_flags_t flags,
                                                    const bson_t *pipeline, const bson_t *opts,
                                                    const mongoc_read_prefs_t *prefs);
bool __wrap_mongoc_cursor_next(mongoc_cursor_t *cur, const bson_t **doc);
bool __wrap_mongoc_cursor_error(mongoc_cursor_t *cur, bson_error_t *error);
void __wrap_mongoc_cursor_set_batch_size(mongoc_cursor_t *cur, uint32_t n);
void __wrap_mongoc_cursor_destroy(mongoc_cursor_t *cur);
void __wrap_mongoc_collection_destroy(mongoc_collection_t *coll);

mongoc_client_t *
__wrap_store_client_pop(store_t *s)
{
    (void)s;
    clients_out++;
    return (mongoc_client_t *)&client_token;
}

void
__wrap_store_client_push(store_t *s, mongoc_client_t *client)
{
    (void)s;
    assert_ptr_equal(client, &client_token);
    clients_out--;
}

mongoc_collection_t *
__wrap_store_collection(const store_t *s, mongoc_client_t *client, const char *name)
{
    (void)s;
    assert_ptr_equal(client, &client_token);
    seen_collection = name;
    collections_out++;
    return (mongoc_collection_t *)&collection_token;
}

mongoc_cursor_t *
__wrap_mongoc_collection_find_with_opts(mongoc_collection_t *coll, const bson_t *filter,
                                        const bson_t *opts, const mongoc_read_prefs_t *prefs)
{
    assert_ptr_equal(coll, &collection_token);
    assert_null(prefs);
    finds++;
    seen_query = filter;
    seen_opts = opts;
    cursors_out++;
    return (mongoc_cursor_t *)&cursor_token;
}

mongoc_cursor_t *
__wrap_mongoc_collection_aggregate(mongoc_collection_t *coll, mongoc_query_flags_t flags,
                                   const bson_t *pipeline, const bson_t *opts,
                                   const mongoc_read_prefs_t *prefs)
{
    assert_ptr_equal(coll, &collection_token);
    assert_int_equal(flags, MONGOC_QUERY_NONE);
    assert_null(prefs);
    aggregates++;
    seen_query = pipeline;
    seen_opts = opts;
    cursors_out++;
    return (mongoc_cursor_t *)&cursor_token;
}

bool
__wrap_mongoc_cursor_next(mongoc_cursor_t *cur, const bson_t **doc)
{
    assert_ptr_equal(cur, &cursor_token);
    if (next_calls >= n_docs) {
        next_calls++;
        return false;
    }
    *doc = docs[next_calls++];
    return true;
}

bool
__wrap_mongoc_cursor_error(mongoc_cursor_t *cur, bson_error_t *error)
{
    assert_ptr_equal(cur, &cursor_token);
    error_calls++;
    if (cursor_fails && next_calls > n_docs) {
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "socket error");
        return true;
    }
    return false;
}

void
__wrap_mongoc_cursor_set_batch_size(mongoc_cursor_t *cur, uint32_t n)
{
    assert_ptr_equal(cur, &cursor_token);
    assert_true(n_batch_sizes < DOCS_MAX);
    batch_sizes[n_batch_sizes++] = n;
}

void
__wrap_mongoc_cursor_destroy(mongoc_cursor_t *cur)
{
    assert_ptr_equal(cur, &cursor_token);
    cursors_out--;
}

void
__wrap_mongoc_collection_destroy(mongoc_collection_t *coll)
{
    assert_ptr_equal(coll, &collection_token);
    collections_out--;
}

/* The callback under test: records the "i" of each document, answers answers[k] for the
 * k-th (DBREAD_NEXT past them), and fills err when it answers -1. */
struct seen {
    int i[DOCS_MAX];
    int n;
    int answers[DOCS_MAX];
    size_t largest[DOCS_MAX]; /* what the batch function was given */
    int n_batch;
};

static int
each(const bson_t *doc, void *arg, struct app_err *err)
{
    struct seen *sn = arg;
    int answer = sn->answers[sn->n];

    sn->i[sn->n++] = (int)dbread_int64(doc, "i");
    if (answer < 0) {
        return err_set(err, ERR_INTERNAL, "the callback failed");
    }
    return answer;
}

static uint32_t
batch(void *arg, size_t largest)
{
    struct seen *sn = arg;

    sn->largest[sn->n_batch++] = largest;
    return (uint32_t)(100 + sn->n_batch);
}

static int
setup(void **state)
{
    (void)state;
    /* Sizes grow, then shrink: the largest so far is the second's. */
    docs[0] = BCON_NEW("i", BCON_INT32(0));
    docs[1] = BCON_NEW("i", BCON_INT32(1), "pad", BCON_UTF8("a longer document"));
    docs[2] = BCON_NEW("i", BCON_INT32(2));
    n_docs = 3;
    cursor_fails = 0;
    next_calls = error_calls = finds = aggregates = 0;
    clients_out = collections_out = cursors_out = 0;
    seen_query = seen_opts = NULL;
    seen_collection = NULL;
    n_batch_sizes = 0;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (int i = 0; i < DOCS_MAX; i++) {
        bson_destroy(docs[i]);
        docs[i] = NULL;
    }
    return 0;
}

/* Whatever the read did, it gave back the client and released the collection and cursor. */
static void
assert_released(void)
{
    assert_int_equal(clients_out, 0);
    assert_int_equal(collections_out, 0);
    assert_int_equal(cursors_out, 0);
}

static void
test_find_reads_every_document(void **state)
{
    bson_t *filter = BCON_NEW("a", BCON_INT32(1)), *opts = BCON_NEW("batchSize", BCON_INT32(8));
    struct seen sn = {0};
    struct dbread q = {.kind = DBREAD_FIND,
                       .collection = "things",
                       .query = filter,
                       .opts = opts,
                       .what = "mongodb things",
                       .each = each,
                       .arg = &sn};
    struct app_err err = {0};

    (void)state;
    assert_int_equal(dbread_run(NULL, &q, &err), 0);
    assert_int_equal(finds, 1);
    assert_int_equal(aggregates, 0);
    assert_string_equal(seen_collection, "things");
    assert_ptr_equal(seen_query, filter);
    assert_ptr_equal(seen_opts, opts);
    assert_int_equal(sn.n, 3);
    assert_int_equal(sn.i[0], 0);
    assert_int_equal(sn.i[1], 1);
    assert_int_equal(sn.i[2], 2);
    assert_int_equal(error_calls, 1);
    assert_int_equal(n_batch_sizes, 0); /* no batch function: the driver's batches */
    assert_int_equal(err.code, ERR_NONE);
    assert_released();
    bson_destroy(opts);
    bson_destroy(filter);
}

static void
test_aggregate_runs_the_pipeline(void **state)
{
    bson_t *pipeline = BCON_NEW("pipeline", "[", "]");
    struct seen sn = {0};
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = "events",
                       .query = pipeline,
                       .what = "mongodb events",
                       .each = each,
                       .arg = &sn};

    (void)state;
    n_docs = 0;
    assert_int_equal(dbread_run(NULL, &q, NULL), 0);
    assert_int_equal(aggregates, 1);
    assert_int_equal(finds, 0);
    assert_ptr_equal(seen_query, pipeline);
    assert_null(seen_opts);
    assert_int_equal(sn.n, 0);
    assert_released();
    bson_destroy(pipeline);
}

static void
test_stop_ends_the_read(void **state)
{
    struct seen sn = {.answers = {DBREAD_NEXT, DBREAD_STOP}};
    struct dbread q = {.kind = DBREAD_FIND, .what = "w", .each = each, .arg = &sn};
    struct app_err err = {0};

    (void)state;
    assert_int_equal(dbread_run(NULL, &q, &err), 0);
    assert_int_equal(sn.n, 2);
    assert_int_equal(next_calls, 2); /* the third is never asked for */
    assert_int_equal(error_calls, 1);
    assert_int_equal(err.code, ERR_NONE);
    assert_released();
}

static void
test_callback_failure_is_the_reads(void **state)
{
    struct seen sn = {.answers = {DBREAD_NEXT, -1}};
    struct dbread q = {.kind = DBREAD_AGGREGATE, .what = "w", .each = each, .arg = &sn};
    struct app_err err = {0};

    (void)state;
    cursor_fails = 1; /* never asked: the callback's error stands */
    assert_int_equal(dbread_run(NULL, &q, &err), -1);
    assert_int_equal(sn.n, 2);
    assert_int_equal(next_calls, 2);
    assert_int_equal(error_calls, 0);
    assert_int_equal(err.code, ERR_INTERNAL);
    assert_string_equal(err.msg, "the callback failed");
    assert_released();
}

static void
test_cursor_failure_is_transient(void **state)
{
    struct seen sn = {0};
    struct dbread q = {.kind = DBREAD_FIND, .what = "mongodb rollup", .each = each, .arg = &sn};
    struct app_err err = {0};

    (void)state;
    cursor_fails = 1;
    assert_int_equal(dbread_run(NULL, &q, &err), -1);
    assert_int_equal(sn.n, 3);
    assert_int_equal(err.code, ERR_TRANSIENT);
    assert_string_equal(err.msg, "mongodb rollup: socket error");
    assert_released();
}

static void
test_batches_follow_the_largest_document(void **state)
{
    struct seen sn = {.answers = {DBREAD_NEXT, DBREAD_NEXT, DBREAD_STOP}};
    struct dbread q = {.kind = DBREAD_FIND, .what = "w", .each = each, .arg = &sn, .batch = batch};

    (void)state;
    assert_int_equal(dbread_run(NULL, &q, NULL), 0);
    /* After each document the callback went on from, not after the one it stopped at. */
    assert_int_equal(sn.n_batch, 2);
    assert_int_equal(sn.largest[0], docs[0]->len);
    assert_int_equal(sn.largest[1], docs[1]->len);
    assert_int_equal(n_batch_sizes, 2);
    assert_int_equal(batch_sizes[0], 101);
    assert_int_equal(batch_sizes[1], 102);
    assert_released();
}

static void
test_largest_is_kept(void **state)
{
    struct seen sn = {0};
    struct dbread q = {.kind = DBREAD_FIND, .what = "w", .each = each, .arg = &sn, .batch = batch};

    (void)state;
    assert_int_equal(dbread_run(NULL, &q, NULL), 0);
    assert_int_equal(sn.n_batch, 3);
    assert_int_equal(sn.largest[2], docs[1]->len); /* the third is smaller */
    assert_released();
}

static void
test_fields(void **state)
{
    bson_t *doc = BCON_NEW("s", BCON_UTF8("x"), "i32", BCON_INT32(7), "i64", BCON_INT64(1LL << 40),
                           "d", BCON_DOUBLE(2.9), "t", BCON_BOOL(true), "f", BCON_BOOL(false));

    (void)state;
    assert_string_equal(dbread_utf8(doc, "s"), "x");
    assert_null(dbread_utf8(doc, "i32")); /* not a string */
    assert_null(dbread_utf8(doc, "missing"));
    assert_int_equal(dbread_int64(doc, "i32"), 7);
    assert_int_equal(dbread_int64(doc, "i64"), 1LL << 40);
    assert_int_equal(dbread_int64(doc, "d"), 2);
    assert_int_equal(dbread_int64(doc, "s"), 0); /* not a number */
    assert_int_equal(dbread_int64(doc, "missing"), 0);
    assert_true(dbread_bool(doc, "t"));
    assert_false(dbread_bool(doc, "f"));
    assert_false(dbread_bool(doc, "i32")); /* not a boolean */
    assert_false(dbread_bool(doc, "missing"));
    bson_destroy(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_reads_every_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_runs_the_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_ends_the_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_failure_is_the_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_failure_is_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_follow_the_largest_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_largest_is_kept, setup, teardown),
        cmocka_unit_test(test_fields),
    };

    return cmocka_run_group_tests_name("dbread: one read of MongoDB", tests, NULL, NULL);
}
