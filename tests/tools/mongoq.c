/* mongoq.c - tiny MongoDB query tool for the integration tests (there is no mongosh here).
 *
 *   mongoq URI COLLECTION count FILTER   prints the number of matching documents
 *   mongoq URI COLLECTION find FILTER    prints each match as relaxed extended JSON, by _id
 *   mongoq URI COLLECTION insert DOC     inserts one document (extended JSON)
 *   mongoq URI COLLECTION load '{}'      inserts the documents (extended JSON) read from
 *                                        standard input, in batches of LOAD_BATCH
 *   mongoq URI COLLECTION command CMD    runs database command CMD (COLLECTION unused), e.g.
 *                                        '{"listIndexes":"events"}', and prints the reply
 * FILTER and DOC are extended JSON, e.g. '{"site_id":"s1"}'. Exit status 1 on any error. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

#define LOAD_BATCH 1000

/* Insert the n documents of batch, and free them. Returns 0, or 1 on an error. */
static int
insert_batch(mongoc_collection_t *coll, bson_t **batch, size_t n)
{
    bson_error_t err;
    int rc = 0;

    if (n > 0 &&
        !mongoc_collection_insert_many(coll, (const bson_t **)batch, n, NULL, NULL, &err)) {
        fprintf(stderr, "mongoq: load: %s\n", err.message);
        rc = 1;
    }
    for (size_t i = 0; i < n; i++) {
        bson_destroy(batch[i]);
    }
    return rc;
}

/* The load verb: every document on standard input, a batch at a time. */
static int
load(mongoc_collection_t *coll)
{
    static bson_t *batch[LOAD_BATCH];
    bson_json_reader_t *rd = bson_json_reader_new_from_fd(0, false);
    bson_error_t err;
    size_t n = 0;
    int rc = 0, got;

    while (rc == 0) {
        batch[n] = bson_new();
        got = bson_json_reader_read(rd, batch[n], &err);
        if (got != 1) {
            bson_destroy(batch[n]);
            if (got < 0) {
                fprintf(stderr, "mongoq: load: %s\n", err.message);
                rc = 1;
            }
            break;
        }
        if (++n == LOAD_BATCH) {
            rc = insert_batch(coll, batch, n);
            n = 0;
        }
    }
    rc |= insert_batch(coll, batch, n);
    bson_json_reader_destroy(rd);
    return rc;
}

static int
run(mongoc_collection_t *coll, const char *verb, const bson_t *arg)
{
    bson_error_t err;

    if (strcmp(verb, "count") == 0) {
        int64_t n = mongoc_collection_count_documents(coll, arg, NULL, NULL, NULL, &err);
        if (n < 0) {
            fprintf(stderr, "mongoq: count: %s\n", err.message);
            return 1;
        }
        printf("%lld\n", (long long)n);
        return 0;
    }
    if (strcmp(verb, "find") == 0) {
        bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}");
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, arg, opts, NULL);
        const bson_t *doc;
        int rc = 0;
        while (mongoc_cursor_next(cur, &doc)) {
            char *s = bson_as_relaxed_extended_json(doc, NULL);
            printf("%s\n", s);
            bson_free(s);
        }
        if (mongoc_cursor_error(cur, &err)) {
            fprintf(stderr, "mongoq: find: %s\n", err.message);
            rc = 1;
        }
        mongoc_cursor_destroy(cur);
        bson_destroy(opts);
        return rc;
    }
    if (strcmp(verb, "insert") == 0) {
        if (!mongoc_collection_insert_one(coll, arg, NULL, NULL, &err)) {
            fprintf(stderr, "mongoq: insert: %s\n", err.message);
            return 1;
        }
        return 0;
    }
    if (strcmp(verb, "load") == 0) {
        return load(coll);
    }
    if (strcmp(verb, "command") == 0) {
        bson_t reply;
        char *s;
        int ok = mongoc_collection_command_simple(coll, arg, NULL, &reply, &err);
        s = bson_as_relaxed_extended_json(&reply, NULL);
        printf("%s\n", s);
        bson_free(s);
        bson_destroy(&reply);
        if (!ok) {
            fprintf(stderr, "mongoq: command: %s\n", err.message);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "mongoq: unknown verb %s\n", verb);
    return 1;
}

/* Quiet: the test server lacks endSessions, which the driver warns about. */
static void
log_errors_only(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
    (void)domain;
    (void)data;
    if (level <= MONGOC_LOG_LEVEL_ERROR) {
        fprintf(stderr, "mongoq: %s\n", message);
    }
}

int
main(int argc, char **argv)
{
    mongoc_client_t *client = NULL;
    mongoc_collection_t *coll = NULL;
    mongoc_uri_t *uri = NULL;
    bson_t *arg = NULL;
    bson_error_t err;
    int rc = 1;

    if (argc != 5) {
        fprintf(stderr, "usage: mongoq URI COLLECTION count|find|insert|load|command JSON\n");
        return 1;
    }
    mongoc_init();
    mongoc_log_set_handler(log_errors_only, NULL);
    uri = mongoc_uri_new_with_error(argv[1], &err);
    arg = bson_new_from_json((const uint8_t *)argv[4], -1, &err);
    if (uri == NULL || arg == NULL) {
        fprintf(stderr, "mongoq: %s\n", err.message);
        goto done;
    }
    client = mongoc_client_new_from_uri(uri);
    coll = mongoc_client_get_collection(client, mongoc_uri_get_database(uri), argv[2]);
    rc = run(coll, argv[3], arg);
done:
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    bson_destroy(arg);
    mongoc_cleanup();
    return rc;
}
