/* aggpeer.c - the benchmark's yardstick for /stats/aggregated: the plain aggregation a peer
 * service (the Node peer) would run on the same server for the same answer, timed
 * from C with no HTTP in between.
 *
 *   aggpeer URI SITE DATE MODE RUNS   runs MODE RUNS times after one unmeasured run, then
 *                                     prints "mode=M runs=N p50_us=X p99_us=Y" and the
 *                                     answer, {"total_views":..,"unique_users":..,
 *                                     "top_paths":[..]} as /stats writes it; exit 1 on error
 *
 * MODE:
 *   peer    three commands, one after another, as a Node service would write them:
 *           countDocuments of the day's events; [$match non-empty user_id, $group by
 *           user_id, $count]; [$match non-empty path, $group by path with $sum, $sort,
 *           $limit 10]
 *   [...]   any other pipeline, given as extended JSON (to time one stage against another);
 *           the answer printed is then the number of documents it returned, as total_views
 * Every event is matched on site_id and the UTC day of its timestamp, as reporting does. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOP 10
#define MAX_RUNS 10000

struct answer {
    int64_t total, users;
    size_t n_paths;
    struct path_count {
        char *path;
        int64_t views;
    } * paths;
};

static void
answer_clear(struct answer *a)
{
    for (size_t i = 0; i < a->n_paths; i++) {
        free(a->paths[i].path);
    }
    free(a->paths);
    memset(a, 0, sizeof *a);
}

static int
add_path(struct answer *a, const char *path, int64_t views)
{
    struct path_count *p = realloc(a->paths, (a->n_paths + 1) * sizeof *p);

    if (p == NULL) {
        return -1;
    }
    a->paths = p;
    if ((p[a->n_paths].path = strdup(path)) == NULL) {
        return -1;
    }
    p[a->n_paths++].views = views;
    return 0;
}

/* Views descending, then path ascending (the contract, docs/api.md). */
static int
by_views(const void *x, const void *y)
{
    const struct path_count *a = x, *b = y;

    if (a->views != b->views) {
        return a->views > b->views ? -1 : 1;
    }
    return strcmp(a->path, b->path);
}

static bson_t *
day_match(const char *site, int64_t from_ms, const char *extra)
{
    bson_t *m = BCON_NEW("site_id", BCON_UTF8(site), "timestamp", "{", "$gte",
                         BCON_DATE_TIME(from_ms), "$lt", BCON_DATE_TIME(from_ms + 86400000), "}");

    if (extra != NULL) {
        BCON_APPEND(m, extra, "{", "$gt", BCON_UTF8(""), "}");
    }
    return m;
}

/* Run pipeline on coll; hand each result document to fn. Returns 0 or -1. */
static int
aggregate(mongoc_collection_t *coll, bson_t *pipeline,
          int (*fn)(const bson_t *doc, struct answer *a), struct answer *a)
{
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    bson_error_t err;
    int rc = 0;

    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        rc = fn(doc, a);
    }
    if (mongoc_cursor_error(cur, &err)) {
        fprintf(stderr, "aggpeer: aggregate: %s\n", err.message);
        rc = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
    return rc;
}

static int
take_count(const bson_t *doc, struct answer *a)
{
    bson_iter_t it;

    if (bson_iter_init_find(&it, doc, "n") && BSON_ITER_HOLDS_NUMBER(&it)) {
        a->users = bson_iter_as_int64(&it);
    }
    return 0;
}

static int
take_path(const bson_t *doc, struct answer *a)
{
    bson_iter_t id, views;

    if (!bson_iter_init_find(&id, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&id) ||
        !bson_iter_init_find(&views, doc, "views")) {
        return 0;
    }
    return add_path(a, bson_iter_utf8(&id, NULL), bson_iter_as_int64(&views));
}

static int
run_peer(mongoc_collection_t *coll, const char *site, int64_t from_ms, struct answer *a)
{
    bson_t *m = day_match(site, from_ms, NULL);
    bson_error_t err;

    a->total = mongoc_collection_count_documents(coll, m, NULL, NULL, NULL, &err);
    bson_destroy(m);
    if (a->total < 0) {
        fprintf(stderr, "aggpeer: count: %s\n", err.message);
        return -1;
    }
    m = day_match(site, from_ms, "user_id");
    if (aggregate(coll,
                  BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(m), "}", "{", "$group",
                           "{", "_id", BCON_UTF8("$user_id"), "}", "}", "{", "$count",
                           BCON_UTF8("n"), "}", "]"),
                  take_count, a) != 0) {
        bson_destroy(m);
        return -1;
    }
    bson_destroy(m);
    m = day_match(site, from_ms, "path");
    if (aggregate(coll,
                  BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(m), "}", "{", "$group",
                           "{", "_id", BCON_UTF8("$path"), "views", "{", "$sum", BCON_INT32(1), "}",
                           "}", "}", "{", "$sort", "{", "views", BCON_INT32(-1), "_id",
                           BCON_INT32(1), "}", "}", "{", "$limit", BCON_INT32(TOP), "}", "]"),
                  take_path, a) != 0) {
        bson_destroy(m);
        return -1;
    }
    bson_destroy(m);
    return 0;
}

/* The pipeline of the [...] mode (extended JSON), and its documents counted as total. */
static const char *raw_json;

static int
run_raw(mongoc_collection_t *coll, const char *site, int64_t from_ms, struct answer *a)
{
    bson_error_t err;
    bson_t *stages = bson_new_from_json((const uint8_t *)raw_json, -1, &err);
    mongoc_cursor_t *cur;
    const bson_t *doc;
    int rc = 0;

    (void)site;
    (void)from_ms;
    if (stages == NULL) {
        fprintf(stderr, "aggpeer: pipeline: %s\n", err.message);
        return -1;
    }
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, stages, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        a->total++;
    }
    if (mongoc_cursor_error(cur, &err)) {
        fprintf(stderr, "aggpeer: aggregate: %s\n", err.message);
        rc = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(stages);
    return rc;
}

static int64_t
now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int
cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return (a > b) - (a < b);
}

/* Quiet: the test server lacks endSessions, which the driver warns about. */
static void
log_errors_only(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
    (void)domain;
    (void)data;
    if (level <= MONGOC_LOG_LEVEL_ERROR) {
        fprintf(stderr, "aggpeer: %s\n", message);
    }
}

int
main(int argc, char **argv)
{
    mongoc_client_t *client = NULL;
    mongoc_collection_t *coll = NULL;
    mongoc_uri_t *uri = NULL;
    bson_error_t err;
    struct answer a = {0, 0, 0, NULL};
    int (*run)(mongoc_collection_t *, const char *, int64_t, struct answer *) = NULL;
    int64_t *times = NULL, from_ms;
    struct tm day = {0};
    long runs = 0;
    char *end = NULL;
    int rc = 1;

    if (argc == 6) {
        runs = strtol(argv[5], &end, 10);
        run = strcmp(argv[4], "peer") == 0 ? run_peer : argv[4][0] == '[' ? run_raw : NULL;
        raw_json = argv[4];
    }
    if (run == NULL || end == NULL || *end != '\0' || runs < 1 || runs > MAX_RUNS ||
        sscanf(argv[3], "%4d-%2d-%2d", &day.tm_year, &day.tm_mon, &day.tm_mday) != 3) {
        fprintf(stderr, "usage: aggpeer URI SITE YYYY-MM-DD peer|PIPELINE RUNS(1-%d)\n", MAX_RUNS);
        return 1;
    }
    day.tm_year -= 1900;
    day.tm_mon -= 1;
    from_ms = (int64_t)timegm(&day) * 1000;
    mongoc_init();
    mongoc_log_set_handler(log_errors_only, NULL);
    if ((uri = mongoc_uri_new_with_error(argv[1], &err)) == NULL) {
        fprintf(stderr, "aggpeer: %s\n", err.message);
        goto done;
    }
    client = mongoc_client_new_from_uri(uri);
    coll = mongoc_client_get_collection(client, mongoc_uri_get_database(uri), "events");
    if ((times = calloc((size_t)runs, sizeof *times)) == NULL) {
        goto done;
    }
    for (long i = -1; i < runs; i++) { /* run -1: connection and warm-up, not timed */
        int64_t t0 = now_us();
        answer_clear(&a);
        if (run(coll, argv[2], from_ms, &a) != 0) {
            goto done;
        }
        if (i >= 0) {
            times[i] = now_us() - t0;
        }
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_i64);
    qsort(a.paths, a.n_paths, sizeof *a.paths, by_views);
    printf("mode=%s runs=%ld p50_us=%lld p99_us=%lld\n", argv[4], runs,
           (long long)times[(runs - 1) / 2], (long long)times[(runs * 99 + 99) / 100 - 1]);
    printf("{\"total_views\":%lld,\"unique_users\":%lld,\"top_paths\":[", (long long)a.total,
           (long long)a.users);
    for (size_t i = 0; i < a.n_paths && i < TOP; i++) {
        printf("%s{\"path\":\"%s\",\"views\":%lld}", i ? "," : "", a.paths[i].path,
               (long long)a.paths[i].views);
    }
    printf("]}\n");
    rc = 0;
done:
    answer_clear(&a);
    free(times);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc;
}
