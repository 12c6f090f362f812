/* rawinsert.c - the benchmark's baseline for the processor: the raw cost, on the same
 * MongoDB server, of the writes a processor makes for the same events, without its
 * conditions or bookkeeping.
 *
 *   rawinsert URI N BATCH      writes N events in batches of BATCH (1-10000), then prints
 *                              "events=N seconds=S rate=R" and exits 0 (1 on any error)
 *
 * Each batch is one unordered insert_many of documents shaped like the processor's
 * ({_id, site_id, event_type, path, user_id, timestamp: Date, createdAt: Date,
 * own: {a, t, pa, pt}}), then one unordered bulk of plain upserts per rollup collection,
 * one upsert per distinct document the batch touches (see common/rollup_doc.h for the ids):
 * rollup_users ($setOnInsert, one per distinct user in the site-day and in the site-day
 * of its type), rollup_paths ($inc views, one per path in each of the two) and rollups
 * ($inc views and users, the site-day and each site-day-type) and rollup_hours ($inc views and
 * $addToSet of the users' FNV-1a 64 hashes, the site-hour and each site-hour-type: every
 * event falls in hour 10). Write concern majority
 * with a 10 s wtimeout, as the processor's default. The indexes the processor creates
 * are created first, outside the timing.
 *
 * The events are those tests/bench/bench.sh feeds the processor (and tests/bench/ sends): event
 * i has site_id "bench-site", event_type "click" when i % 4 == 3 else "page_view",
 * path "/p<i % 50>", user_id "u<i % 200>", timestamp 2025-11-15T10:00:00Z + (i % 3600) s. */
#include <inttypes.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rollup_doc.h"

#define SITE "bench-site"
#define DATE "2025-11-15"
#define DAY_START_MS 1763164800000LL /* 2025-11-15T00:00:00Z */
#define PATHS 50
#define USERS 200
#define MAX_BATCH 10000
#define ID_LEN 96

/* The fields of event i. */
static const char *const types[] = {"page_view", "click"};

struct ev {
    char id[48];
    int type; /* index in types */
    char path[16];
    char user[16];
    int64_t ts_ms;
};

static void
make_event(long i, uint64_t run, struct ev *e)
{
    /* UUID-like and unique: a random run prefix and the event number. */
    snprintf(e->id, sizeof e->id,
             "%08" PRIx64 "-%04" PRIx64 "-7%03" PRIx64 "-8%03" PRIx64 "-%012lx", run >> 32,
             (run >> 16) & 0xffff, (run >> 4) & 0xfff, run & 0xf, (unsigned long)i);
    e->type = i % 4 == 3 ? 1 : 0;
    snprintf(e->path, sizeof e->path, "/p%ld", i % PATHS);
    snprintf(e->user, sizeof e->user, "u%ld", i % USERS);
    e->ts_ms = DAY_START_MS + 10 * 3600 * 1000LL + (i % 3600) * 1000LL;
}

/* The site-day id (type NULL) or site-day-type id, as common/rollup_doc.c makes them. */
static void
scope_id(const char *type, char *out, size_t n)
{
    if (type != NULL) {
        snprintf(out, n, "%s|%zu:%s|%zu:%s", DATE, strlen(type), type, strlen(SITE), SITE);
    } else {
        snprintf(out, n, "%s|*|%zu:%s", DATE, strlen(SITE), SITE);
    }
}

/* A set of distinct ids with a count each (linear search: a batch touches few). */
struct set {
    char (*ids)[ID_LEN];
    int64_t *counts;
    int *scope; /* user and path documents: the index of their site-day in the scopes;
                 * site-days: the index of their type in types, -1 for all types */
    size_t n, cap;
};

static int
set_init(struct set *s, size_t cap)
{
    s->ids = calloc(cap, sizeof *s->ids);
    s->counts = calloc(cap, sizeof *s->counts);
    s->scope = calloc(cap, sizeof *s->scope);
    s->n = 0;
    s->cap = cap;
    return s->ids != NULL && s->counts != NULL && s->scope != NULL ? 0 : -1;
}

static void
set_free(struct set *s)
{
    free(s->ids);
    free(s->counts);
    free(s->scope);
}

/* Index of id in s, added (count 0) if new; -1 when full. */
static long
set_ref(struct set *s, const char *id, int scope)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->ids[i], id) == 0) {
            return (long)i;
        }
    }
    if (s->n == s->cap) {
        return -1;
    }
    snprintf(s->ids[s->n], ID_LEN, "%s", id);
    s->counts[s->n] = 0;
    s->scope[s->n] = scope;
    return (long)s->n++;
}

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Options of every write: unordered, majority with a 10 s wtimeout. */
static bson_t *
write_opts(const mongoc_write_concern_t *wc)
{
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    mongoc_write_concern_append((mongoc_write_concern_t *)wc, opts);
    return opts;
}

/* Run the upserts filters[i] / updates[i] as one unordered bulk. Fills *reply. */
static int
bulk_upsert(mongoc_collection_t *coll, const mongoc_write_concern_t *wc, bson_t **filters,
            bson_t **updates, size_t n, bson_t *reply)
{
    bson_t *opts = write_opts(wc), *one = BCON_NEW("upsert", BCON_BOOL(true));
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
    bson_error_t err;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!mongoc_bulk_operation_update_one_with_opts(bulk, filters[i], updates[i], one, &err)) {
            fprintf(stderr, "rawinsert: %s\n", err.message);
            rc = -1;
        }
    }
    if (rc == 0 && mongoc_bulk_operation_execute(bulk, reply, &err) == 0) {
        fprintf(stderr, "rawinsert: upserts into %s: %s\n", mongoc_collection_get_name(coll),
                err.message);
        rc = -1;
    } else if (rc != 0) {
        bson_init(reply);
    }
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(opts);
    bson_destroy(one);
    for (size_t i = 0; i < n; i++) {
        bson_destroy(filters[i]);
        bson_destroy(updates[i]);
    }
    return rc;
}

/* The collections, the write concern and the scratch space of a run. */
struct ctx {
    mongoc_collection_t *events, *rollups, *paths, *users, *hours;
    mongoc_write_concern_t *wc;
    struct ev *evs;
    bson_t **docs, **filters, **updates;
    uint64_t run;
};

/* Write events first..first+n-1 as batch number seq. */
static int
write_batch(struct ctx *c, long first, size_t n, long seq)
{
    struct set scopes = {0}, paths = {0}, users = {0};
    bson_t *opts = write_opts(c->wc), reply;
    bson_error_t err;
    bson_iter_t it, arr, one;
    char id[ID_LEN];
    int64_t now = wall_ms();
    size_t k;
    int rc = -1;

    bson_init(&reply);
    snprintf(id, sizeof id, "%016" PRIx64 ":%ld", c->run, seq); /* the batch id */
    if (set_init(&scopes, 2 * n) != 0 || set_init(&paths, 2 * n) != 0 ||
        set_init(&users, 2 * n) != 0) {
        fprintf(stderr, "rawinsert: out of memory\n");
        goto done;
    }
    /* The events, and the distinct documents they count in. */
    for (size_t i = 0; i < n; i++) {
        struct ev *e = &c->evs[i];
        bson_t *d = bson_new(), own;
        make_event(first + (long)i, c->run, e);
        BSON_APPEND_UTF8(d, "_id", e->id);
        BSON_APPEND_UTF8(d, "site_id", SITE);
        BSON_APPEND_UTF8(d, "event_type", types[e->type]);
        BSON_APPEND_UTF8(d, "path", e->path);
        BSON_APPEND_UTF8(d, "user_id", e->user);
        BSON_APPEND_DATE_TIME(d, "timestamp", e->ts_ms);
        BSON_APPEND_DATE_TIME(d, "createdAt", now);
        bson_append_document_begin(d, "own", -1, &own);
        BSON_APPEND_UTF8(&own, "a", id);
        BSON_APPEND_UTF8(&own, "t", id);
        BSON_APPEND_UTF8(&own, "pa", id);
        BSON_APPEND_UTF8(&own, "pt", id);
        bson_append_document_end(d, &own);
        c->docs[i] = d;
        for (int kind = 0; kind < 2; kind++) {
            char scope[ID_LEN], child[2 * ID_LEN];
            long s, p;
            scope_id(kind == 0 ? NULL : types[e->type], scope, sizeof scope);
            s = set_ref(&scopes, scope, kind == 0 ? -1 : e->type);
            snprintf(child, sizeof child, "%s|%s", scope, e->path);
            p = set_ref(&paths, child, (int)s);
            snprintf(child, sizeof child, "%s|%s", scope, e->user);
            if (s < 0 || p < 0 || set_ref(&users, child, (int)s) < 0) {
                fprintf(stderr, "rawinsert: out of memory\n");
                goto done;
            }
            scopes.counts[s]++;
            paths.counts[p]++;
        }
    }
    if (!mongoc_collection_insert_many(c->events, (const bson_t **)c->docs, n, opts, &reply,
                                       &err)) {
        fprintf(stderr, "rawinsert: insert_many: %s\n", err.message);
        goto done;
    }
    bson_destroy(&reply);
    /* Users: created if new; the new ones count in their site-day's users. */
    for (k = 0; k < users.n; k++) {
        c->filters[k] = BCON_NEW("_id", BCON_UTF8(users.ids[k]));
        c->updates[k] = BCON_NEW("$setOnInsert", "{", "b", BCON_UTF8(id), "}");
    }
    if (bulk_upsert(c->users, c->wc, c->filters, c->updates, users.n, &reply) != 0) {
        goto done;
    }
    if (bson_iter_init_find(&it, &reply, "upserted") && bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            if (bson_iter_recurse(&arr, &one) && bson_iter_find(&one, "index")) {
                int64_t idx = bson_iter_as_int64(&one);
                if (idx >= 0 && (size_t)idx < users.n) {
                    users.counts[idx] = 1;
                }
            }
        }
    }
    bson_destroy(&reply);
    /* Paths: views per site-day and path. */
    for (k = 0; k < paths.n; k++) {
        const char *path = strrchr(paths.ids[k], '|') + 1;
        c->filters[k] = BCON_NEW("_id", BCON_UTF8(paths.ids[k]));
        c->updates[k] =
            BCON_NEW("$inc", "{", "views", BCON_INT64(paths.counts[k]), "}", "$setOnInsert", "{",
                     "scope", BCON_UTF8(scopes.ids[paths.scope[k]]), "path", BCON_UTF8(path), "}");
    }
    if (bulk_upsert(c->paths, c->wc, c->filters, c->updates, paths.n, &reply) != 0) {
        goto done;
    }
    bson_destroy(&reply);
    /* Site-days: views and new users. */
    for (k = 0; k < scopes.n; k++) {
        int64_t new_users = 0;
        bson_t set;
        for (size_t u = 0; u < users.n; u++) {
            new_users += users.scope[u] == (int)k ? users.counts[u] : 0;
        }
        c->filters[k] = BCON_NEW("_id", BCON_UTF8(scopes.ids[k]));
        c->updates[k] = BCON_NEW("$inc", "{", "views", BCON_INT64(scopes.counts[k]), "users",
                                 BCON_INT64(new_users), "}");
        bson_append_document_begin(c->updates[k], "$setOnInsert", -1, &set);
        BSON_APPEND_UTF8(&set, "site_id", SITE);
        BSON_APPEND_UTF8(&set, "date", DATE);
        if (scopes.scope[k] >= 0) {
            BSON_APPEND_UTF8(&set, "event_type", types[scopes.scope[k]]);
        } else {
            BSON_APPEND_NULL(&set, "event_type");
        }
        bson_append_document_end(c->updates[k], &set);
    }
    if (bulk_upsert(c->rollups, c->wc, c->filters, c->updates, scopes.n, &reply) != 0) {
        goto done;
    }
    bson_destroy(&reply);
    /* Site-hours: views and the set of the users' hashes ("<date>T10|..." ids). */
    for (k = 0; k < scopes.n; k++) {
        char hour[ID_LEN + 4];
        bson_t add, each;
        size_t x = 0;
        snprintf(hour, sizeof hour, "%sT10%s", DATE, scopes.ids[k] + strlen(DATE));
        c->filters[k] = BCON_NEW("_id", BCON_UTF8(hour));
        c->updates[k] =
            BCON_NEW("$inc", "{", "views", BCON_INT64(scopes.counts[k]), "}", "$setOnInsert", "{",
                     "site_id", BCON_UTF8(SITE), "date", BCON_UTF8(DATE), "hour",
                     BCON_DATE_TIME(DAY_START_MS + 36000000), "u_all", BCON_BOOL(true), "}");
        bson_append_document_begin(c->updates[k], "$addToSet", -1, &add);
        bson_append_document_begin(&add, "u", -1, &each);
        {
            bson_t hashes;
            char idx[24];
            const char *key;
            bson_append_array_begin(&each, "$each", -1, &hashes);
            for (size_t u = 0; u < users.n; u++) {
                if (users.scope[u] == (int)k) {
                    bson_uint32_to_string((uint32_t)x++, &key, idx, sizeof idx);
                    BSON_APPEND_INT64(&hashes, key,
                                      rollup_user_hash(strrchr(users.ids[u], '|') + 1));
                }
            }
            bson_append_array_end(&each, &hashes);
        }
        bson_append_document_end(&add, &each);
        bson_append_document_end(c->updates[k], &add);
    }
    if (bulk_upsert(c->hours, c->wc, c->filters, c->updates, scopes.n, &reply) != 0) {
        goto done;
    }
    rc = 0;
done:
    bson_destroy(&reply);
    for (size_t i = 0; i < n; i++) {
        bson_destroy(c->docs[i]);
        c->docs[i] = NULL;
    }
    bson_destroy(opts);
    set_free(&scopes);
    set_free(&paths);
    set_free(&users);
    return rc;
}

/* The indexes insert_ensure_indexes() (processor/insert.c) creates. */
static int
create_indexes(mongoc_database_t *db)
{
    bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8("events"), "indexes", "[", "{", "key", "{",
                           "site_id", BCON_INT32(1), "timestamp", BCON_INT32(1), "}", "name",
                           BCON_UTF8("site_id_1_timestamp_1"), "}", "]");
    bson_t *cmd2 =
        BCON_NEW("createIndexes", BCON_UTF8("rollup_paths"), "indexes", "[", "{", "key", "{",
                 "scope", BCON_INT32(1), "views", BCON_INT32(-1), "path", BCON_INT32(1), "}",
                 "name", BCON_UTF8("scope_1_views_-1_path_1"), "}", "]");
    bson_error_t err;
    int rc = 0;

    if (!mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &err) ||
        !mongoc_database_write_command_with_opts(db, cmd2, NULL, NULL, &err)) {
        fprintf(stderr, "rawinsert: createIndexes: %s\n", err.message);
        rc = -1;
    }
    bson_destroy(cmd);
    bson_destroy(cmd2);
    return rc;
}

/* Quiet: the test server lacks endSessions, which the driver warns about. */
static void
log_errors_only(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
    (void)domain;
    (void)data;
    if (level <= MONGOC_LOG_LEVEL_ERROR) {
        fprintf(stderr, "rawinsert: %s\n", message);
    }
}

int
main(int argc, char **argv)
{
    struct ctx c = {0};
    mongoc_uri_t *uri = NULL;
    mongoc_client_t *client = NULL;
    mongoc_database_t *db = NULL;
    bson_error_t err;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    long n, batch;
    char *end1, *end2;
    double t0, secs;
    int rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: rawinsert URI N BATCH\n");
        bson_destroy(ping);
        return 1;
    }
    n = strtol(argv[2], &end1, 10);
    batch = strtol(argv[3], &end2, 10);
    if (*end1 != '\0' || *end2 != '\0' || n < 1 || batch < 1 || batch > MAX_BATCH) {
        fprintf(stderr, "rawinsert: N must be >= 1 and BATCH 1-%d\n", MAX_BATCH);
        bson_destroy(ping);
        return 1;
    }
    mongoc_init();
    mongoc_log_set_handler(log_errors_only, NULL);
    uri = mongoc_uri_new_with_error(argv[1], &err);
    if (uri == NULL) {
        fprintf(stderr, "rawinsert: %s\n", err.message);
        goto done;
    }
    client = mongoc_client_new_from_uri(uri);
    db = mongoc_client_get_database(
        client, mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri) : "analytics");
    c.events = mongoc_database_get_collection(db, "events");
    c.rollups = mongoc_database_get_collection(db, "rollups");
    c.paths = mongoc_database_get_collection(db, "rollup_paths");
    c.users = mongoc_database_get_collection(db, "rollup_users");
    c.hours = mongoc_database_get_collection(db, "rollup_hours");
    c.wc = mongoc_write_concern_new();
    mongoc_write_concern_set_wmajority(c.wc, 10000);
    c.evs = calloc((size_t)batch, sizeof *c.evs);
    c.docs = calloc((size_t)batch, sizeof *c.docs);
    /* At most 2 documents per event in any one collection. */
    c.filters = calloc(2 * (size_t)batch, sizeof *c.filters);
    c.updates = calloc(2 * (size_t)batch, sizeof *c.updates);
    c.run = ((uint64_t)wall_ms() << 20) ^ (uint64_t)getpid();
    if (c.evs == NULL || c.docs == NULL || c.filters == NULL || c.updates == NULL) {
        fprintf(stderr, "rawinsert: out of memory\n");
        goto done;
    }
    if (!mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &err)) {
        fprintf(stderr, "rawinsert: ping: %s\n", err.message);
        goto done;
    }
    if (create_indexes(db) != 0) {
        goto done;
    }
    t0 = now_s();
    for (long first = 0; first < n; first += batch) {
        size_t m = (size_t)(n - first < batch ? n - first : batch);
        if (write_batch(&c, first, m, first / batch + 1) != 0) {
            goto done;
        }
    }
    secs = now_s() - t0;
    printf("events=%ld seconds=%.3f rate=%.0f\n", n, secs, (double)n / secs);
    rc = 0;
done:
    free(c.evs);
    free(c.docs);
    free(c.filters);
    free(c.updates);
    mongoc_write_concern_destroy(c.wc);
    mongoc_collection_destroy(c.events);
    mongoc_collection_destroy(c.rollups);
    mongoc_collection_destroy(c.paths);
    mongoc_collection_destroy(c.users);
    mongoc_collection_destroy(c.hours);
    mongoc_database_destroy(db);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    bson_destroy(ping);
    mongoc_cleanup();
    return rc;
}
