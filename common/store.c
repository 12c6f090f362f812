/* store.c - MongoDB: a client pool, idempotent event writes and the /stats query. */
#include "store.h"

#include <mongoc/mongoc.h>

#include "store_int.h"
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "ts.h"

/* Our own code for a document the driver refused to send. */
#define STORE_CLIENT_REFUSED (-2)

/* Timeouts of the probe pool used by store_ping(): a health check must answer
 * within a probe's deadline even when the server is frozen. */
#define PROBE_TIMEOUT_MS 2000

#define WTIMEOUT_MS 10000

mongoc_client_t *
store_client_pop(store_t *s)
{
    return mongoc_client_pool_pop(s->pool);
}

void
store_client_push(store_t *s, mongoc_client_t *client)
{
    mongoc_client_pool_push(s->pool, client);
}

static void
default_option(mongoc_uri_t *uri, const char *key, int32_t value)
{
    if (!mongoc_uri_has_option(uri, key)) {
        mongoc_uri_set_option_as_int32(uri, key, value);
    }
}

/* libmongoc's SDAM monitoring (called from the pool's monitor threads): a server whose
 * description turns Unknown has been lost (a network error or a failed heartbeat); one
 * that turns from Unknown to a known type has been connected to again. */
static void
on_server_changed(const mongoc_apm_server_changed_t *event)
{
    struct store_counters *c = mongoc_apm_server_changed_get_context(event);
    int was = strcmp(mongoc_server_description_type(
                         mongoc_apm_server_changed_get_previous_description(event)),
                     "Unknown") != 0;
    int is =
        strcmp(mongoc_server_description_type(mongoc_apm_server_changed_get_new_description(event)),
               "Unknown") != 0;

    if (was && !is) {
        atomic_fetch_add(&c->servers_lost, 1);
    } else if (!was && is) {
        atomic_fetch_add(&c->servers_connected, 1);
    }
}

static void
on_heartbeat_failed(const mongoc_apm_server_heartbeat_failed_t *event)
{
    struct store_counters *c = mongoc_apm_server_heartbeat_failed_get_context(event);
    atomic_fetch_add(&c->heartbeats_failed, 1);
}

static int
watch_pool(store_t *s)
{
    mongoc_apm_callbacks_t *cbs = mongoc_apm_callbacks_new();
    bool ok;

    mongoc_apm_set_server_changed_cb(cbs, on_server_changed);
    mongoc_apm_set_server_heartbeat_failed_cb(cbs, on_heartbeat_failed);
    ok = mongoc_client_pool_set_apm_callbacks(s->pool, cbs, &s->counters);
    mongoc_apm_callbacks_destroy(cbs);
    return ok ? 0 : -1;
}

void
store_render_metrics(const store_t *s, struct metrics_buf *b)
{
    metrics_single(b, "analytics_mongodb_connections_total", "counter",
                   "MongoDB servers found reachable after being unknown: the first connection "
                   "and every reconnect.",
                   (double)atomic_load(&s->counters.servers_connected));
    metrics_single(b, "analytics_mongodb_disconnects_total", "counter",
                   "MongoDB servers lost (network error or failed heartbeat).",
                   (double)atomic_load(&s->counters.servers_lost));
    metrics_single(b, "analytics_mongodb_heartbeat_failures_total", "counter",
                   "Failed MongoDB server heartbeats.",
                   (double)atomic_load(&s->counters.heartbeats_failed));
    metrics_single(b, "analytics_mongodb_timeouts_total", "counter",
                   "MongoDB commands of a batch that got no answer within socketTimeoutMS.",
                   (double)atomic_load(&s->chunk_timeouts));
    metrics_single(b, "analytics_mongodb_write_chunk", "gauge",
                   "The most documents one MongoDB command of a batch carries now: halved after "
                   "each timeout, doubled back after 8 commands that did not.",
                   (double)atomic_load(&s->chunk));
}

store_t *
store_new(const char *uri_str, const char *appname, int socket_timeout_ms, struct app_err *err)
{
    bson_error_t berr;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_str, &berr);
    store_t *s = NULL;
    const char *db;

    if (uri == NULL) {
        err_set(err, ERR_INVALID, "MONGO_URI: %s", berr.message);
        return NULL;
    }
    default_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
    default_option(uri, MONGOC_URI_CONNECTTIMEOUTMS, 2000);
    default_option(uri, MONGOC_URI_SOCKETTIMEOUTMS, socket_timeout_ms);
    /* A read the driver retries by itself can block for two socket timeouts (the retry
     * opens a new connection whose handshake waits as long); our callers retry on their
     * own, with backoff and a check for SIGTERM, so one timeout is the most a call takes. */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYREADS)) {
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS, false);
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME)) {
        mongoc_uri_set_appname(uri, appname);
    }
    db = mongoc_uri_get_database(uri);
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->db = strdup(db && *db ? db : STORE_DEFAULT_DB)) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto fail;
    }
    atomic_init(&s->chunk, STORE_CHUNK_MAX);
    atomic_init(&s->chunk_streak, 0);
    atomic_init(&s->chunk_timeouts, 0);
    s->pool = mongoc_client_pool_new(uri);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, PROBE_TIMEOUT_MS);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, PROBE_TIMEOUT_MS);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, PROBE_TIMEOUT_MS);
    s->probe = mongoc_client_pool_new(uri);
    if (s->pool == NULL || s->probe == NULL) {
        err_set(err, ERR_INVALID, "MONGO_URI: cannot create a client pool");
        goto fail;
    }
    mongoc_client_pool_set_error_api(s->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_error_api(s->probe, MONGOC_ERROR_API_VERSION_2);
    if (watch_pool(s) != 0) {
        err_set(err, ERR_INTERNAL, "cannot set MongoDB monitoring callbacks");
        goto fail;
    }
    mongoc_uri_destroy(uri);
    return s;
fail:
    mongoc_uri_destroy(uri);
    store_free(s);
    return NULL;
}

int
store_set_write_concern(store_t *s, const char *w, struct app_err *err)
{
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    long n;

    if (strcmp(w, "majority") == 0) {
        mongoc_write_concern_set_wmajority(wc, WTIMEOUT_MS);
    } else if (cfg_parse_long(w, 1, 50, &n) == 0) {
        mongoc_write_concern_set_w(wc, (int32_t)n);
        mongoc_write_concern_set_wtimeout_int64(wc, WTIMEOUT_MS);
    } else {
        mongoc_write_concern_destroy(wc);
        return err_set(err, ERR_INVALID, "\"%.32s\" is not \"majority\" or a number from 1 to 50",
                       w);
    }
    mongoc_write_concern_destroy(s->wc);
    s->wc = wc;
    return 0;
}

void
store_set_stop_flag(store_t *s, const volatile sig_atomic_t *stop)
{
    s->stop = stop;
}

int
store_stopping(const store_t *s, struct app_err *err)
{
    if (s->stop != NULL && *s->stop) {
        return err_set(err, ERR_TRANSIENT, "stopping");
    }
    return 0;
}

size_t
store_chunk(const store_t *s)
{
    return atomic_load(&s->chunk);
}

int
store_chunk_outcome(store_t *s, size_t m, const bson_error_t *berr)
{
    /* libmongoc's words for a socket that got no answer within socketTimeoutMS. */
    int timed_out = berr != NULL && berr->domain == MONGOC_ERROR_STREAM &&
                    berr->code == MONGOC_ERROR_STREAM_SOCKET && strstr(berr->message, "timeout");
    size_t n = atomic_load(&s->chunk);

    if (timed_out) {
        size_t half = m > 1 ? m / 2 : 1;
        atomic_fetch_add(&s->chunk_timeouts, 1);
        atomic_store(&s->chunk_streak, 0);
        if (half < n) {
            atomic_store(&s->chunk, half);
            LOG_WARN("mongodb: a command of %zu documents timed out; at most %zu at a time now", m,
                     half);
        }
    } else if (berr == NULL && n < STORE_CHUNK_MAX &&
               atomic_fetch_add(&s->chunk_streak, 1) + 1 >= STORE_CHUNK_GROW) {
        atomic_store(&s->chunk_streak, 0);
        atomic_store(&s->chunk, n * 2 < STORE_CHUNK_MAX ? n * 2 : STORE_CHUNK_MAX);
    }
    return timed_out;
}

void
store_free(store_t *s)
{
    if (s == NULL) {
        return;
    }
    mongoc_write_concern_destroy(s->wc);
    if (s->probe != NULL) {
        mongoc_client_pool_destroy(s->probe);
    }
    if (s->pool != NULL) {
        mongoc_client_pool_destroy(s->pool);
    }
    free(s->db);
    free(s);
}

int
store_ping(store_t *s, struct app_err *err)
{
    mongoc_client_t *client = mongoc_client_pool_pop(s->probe);
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t berr;
    int rc = 0;

    BSON_APPEND_INT32(&cmd, "ping", 1);
    if (!mongoc_client_command_simple(client, "admin", &cmd, NULL, NULL, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb ping: %s", berr.message);
    }
    bson_destroy(&cmd);
    mongoc_client_pool_push(s->probe, client);
    return rc;
}

/* createIndexes for one index of one collection. */
static int
create_index(mongoc_database_t *db, const char *coll, const char *name, bson_t *key,
             struct app_err *err)
{
    bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8(coll), "indexes", "[", "{", "key",
                           BCON_DOCUMENT(key), "name", BCON_UTF8(name), "}", "]");
    bson_error_t berr;
    int rc = 0;

    if (!mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb createIndexes %s: %s", name, berr.message);
    }
    bson_destroy(cmd);
    bson_destroy(key);
    return rc;
}

int
store_ensure_indexes(store_t *s, struct app_err *err)
{
    mongoc_client_t *client = mongoc_client_pool_pop(s->pool);
    mongoc_database_t *db = mongoc_client_get_database(client, s->db);
    int rc = create_index(db, STORE_EVENTS_COLLECTION, "site_id_1_timestamp_1",
                          BCON_NEW("site_id", BCON_INT32(1), "timestamp", BCON_INT32(1)), err);

    if (rc == 0) {
        rc = create_index(
            db, STORE_PATHS_COLLECTION, "scope_1_views_-1_path_1",
            BCON_NEW("scope", BCON_INT32(1), "views", BCON_INT32(-1), "path", BCON_INT32(1)), err);
    }
    mongoc_database_destroy(db);
    mongoc_client_pool_push(s->pool, client);
    return rc;
}

/* Append a JSON value as a BSON value under key. */
static int
append_json(bson_t *b, const char *key, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        bson_t child;
        const char *k;
        json_t *item;
        bson_append_document_begin(b, key, -1, &child);
        json_object_foreach(v, k, item)
        {
            if (append_json(&child, k, item) != 0) {
                return -1;
            }
        }
        return bson_append_document_end(b, &child) ? 0 : -1;
    }
    case JSON_ARRAY: {
        bson_t child;
        size_t i;
        json_t *item;
        bson_append_array_begin(b, key, -1, &child);
        json_array_foreach(v, i, item)
        {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            if (append_json(&child, idx, item) != 0) {
                return -1;
            }
        }
        return bson_append_array_end(b, &child) ? 0 : -1;
    }
    case JSON_STRING:
        return bson_append_utf8(b, key, -1, json_string_value(v), (int)json_string_length(v)) ? 0
                                                                                              : -1;
    case JSON_INTEGER:
        return bson_append_int64(b, key, -1, json_integer_value(v)) ? 0 : -1;
    case JSON_REAL:
        return bson_append_double(b, key, -1, json_real_value(v)) ? 0 : -1;
    case JSON_TRUE:
    case JSON_FALSE:
        return bson_append_bool(b, key, -1, json_is_true(v)) ? 0 : -1;
    case JSON_NULL:
        return bson_append_null(b, key, -1) ? 0 : -1;
    }
    return -1;
}

static void
append_opt_utf8(bson_t *b, const char *key, const char *v)
{
    if (v != NULL) {
        bson_append_utf8(b, key, -1, v, -1);
    } else {
        bson_append_null(b, key, -1);
    }
}

/* own: which batch counts the event in each figure it is part of (see rollup.h). */
static int
event_to_bson(const struct event *ev, int64_t now_ms, const char *batch, bson_t *doc)
{
    bson_t own;

    bson_init(doc);
    BSON_APPEND_UTF8(doc, "_id", ev->id);
    BSON_APPEND_UTF8(doc, "site_id", ev->site_id);
    BSON_APPEND_UTF8(doc, "event_type", ev->event_type);
    append_opt_utf8(doc, "path", ev->path);
    append_opt_utf8(doc, "user_id", ev->user_id);
    BSON_APPEND_DATE_TIME(doc, "timestamp", ev->ts_ms);
    BSON_APPEND_DATE_TIME(doc, "createdAt", now_ms);
    if (ev->properties != NULL && append_json(doc, "properties", ev->properties) != 0) {
        return -1;
    }
    bson_append_document_begin(doc, "own", -1, &own);
    for (int k = 0; k < STORE_KINDS; k++) {
        if (k < STORE_KIND_PATH_ALL || (ev->path != NULL && ev->path[0] != '\0')) {
            bson_append_utf8(&own, store_kind_names[k], -1, batch, -1);
        }
    }
    bson_append_document_end(doc, &own);
    return 0;
}

/* The code of the first entry of reply.writeErrors, or 0 when there is none. */
int32_t
store_first_write_error(const bson_t *reply, char *msg, size_t msglen)
{
    bson_iter_t it, child;

    if (bson_iter_init_find(&it, reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &child) && bson_iter_next(&child) &&
        BSON_ITER_HOLDS_DOCUMENT(&child)) {
        bson_iter_t e;
        int32_t code = 0;
        if (bson_iter_recurse(&child, &e) && bson_iter_find(&e, "code")) {
            code = bson_iter_as_int64(&e) != 0 ? (int32_t)bson_iter_as_int64(&e) : 0;
        }
        if (msg != NULL && bson_iter_recurse(&child, &e) && bson_iter_find(&e, "errmsg") &&
            BSON_ITER_HOLDS_UTF8(&e)) {
            snprintf(msg, msglen, "%s", bson_iter_utf8(&e, NULL));
        }
        return code != 0 ? code : -1;
    }
    return 0;
}

/* Server error codes that mean "this document can never be stored as it is". */
static int
is_document_error(int32_t code)
{
    static const int32_t codes[] = {2, 14, 52, 53, 55, 57, 121, 10334, 17280, 17419, 16837};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i] == code) {
            return 1;
        }
    }
    return 0;
}

/* The error code a failed write reports for its document(s): the first entry
 * of reply.writeErrors, else the server's command error code when it is a
 * duplicate key or a document error (the test server reports a duplicate in
 * a batch as a command error), else 0: a transient failure. */
static int32_t
write_error_code(const bson_t *reply, const bson_error_t *berr, char *msg, size_t msglen)
{
    int32_t code = store_first_write_error(reply, msg, msglen);

    if (code != 0) {
        return code;
    }
    /* The driver itself refuses a document it cannot send (too large, say). */
    if (berr->domain == MONGOC_ERROR_BSON ||
        (berr->domain == MONGOC_ERROR_COMMAND && berr->code == MONGOC_ERROR_COMMAND_INVALID_ARG)) {
        if (msg != NULL) {
            snprintf(msg, msglen, "%.100s", berr->message);
        }
        return STORE_CLIENT_REFUSED;
    }
    if (berr->domain == MONGOC_ERROR_SERVER &&
        (berr->code == STORE_DUPLICATE_KEY || is_document_error((int32_t)berr->code))) {
        if (msg != NULL) {
            snprintf(msg, msglen, "%.100s", berr->message);
        }
        return (int32_t)berr->code;
    }
    return 0;
}

/* Write one document. Returns 0 with *outcome set, or -1 (transient). */
static int
insert_one(mongoc_collection_t *coll, const bson_t *doc, const bson_t *opts,
           enum store_outcome *outcome, char reason[128], struct app_err *err)
{
    bson_t reply;
    bson_error_t berr;
    int rc = 0;

    if (mongoc_collection_insert_one(coll, doc, opts, &reply, &berr)) {
        *outcome = STORE_INSERTED;
    } else {
        char msg[128] = "";
        int32_t code = write_error_code(&reply, &berr, msg, sizeof msg);
        if (code == STORE_DUPLICATE_KEY) {
            *outcome = STORE_DUPLICATE;
        } else if (code != 0) {
            /* A document-level write error: the server refuses this document. */
            *outcome = STORE_REJECTED;
            if (code == STORE_CLIENT_REFUSED) {
                snprintf(reason, 128, "refused by the driver: %.100s", msg);
            } else {
                snprintf(reason, 128, "mongodb write error %d: %.90s", code, msg);
            }
        } else {
            rc = err_set(err, ERR_TRANSIENT, "mongodb insert: %s", berr.message);
        }
    }
    bson_destroy(&reply);
    return rc;
}

const char *const store_kind_names[STORE_KINDS] = {"a", "t", "pa", "pt"};

int
store_insert_events(store_t *s, const struct event *evs, size_t n, int64_t now_ms,
                    const char *batch, enum store_outcome *outcomes, char (*reasons)[128],
                    struct app_err *err)
{
    mongoc_client_t *client = mongoc_client_pool_pop(s->pool);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, s->db, STORE_EVENTS_COLLECTION);
    bson_t *docs = calloc(n ? n : 1, sizeof *docs);
    const bson_t **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    /* validate:false leaves field names in `properties` as the client sent them
     * (MongoDB 5.0+ stores dotted and $-prefixed nested names). */
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false), "validate", BCON_BOOL(false));
    bson_t *one_opts = BCON_NEW("validate", BCON_BOOL(false));
    bson_t reply = BSON_INITIALIZER;
    bson_error_t berr;
    size_t built = 0;
    int rc = -1;

    if (docs == NULL || ptrs == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (s->wc != NULL && (!mongoc_write_concern_append(s->wc, opts) ||
                          !mongoc_write_concern_append(s->wc, one_opts))) {
        err_set(err, ERR_INTERNAL, "cannot apply the write concern");
        goto done;
    }
    for (; built < n; built++) {
        if (event_to_bson(&evs[built], now_ms, batch, &docs[built]) != 0) {
            built++;
            err_set(err, ERR_INTERNAL, "cannot build the document of event %s", evs[built - 1].id);
            goto done;
        }
        ptrs[built] = &docs[built];
        outcomes[built] = STORE_INSERTED;
    }
    /* Chunk by chunk. A chunk whose insert_many reports write errors (duplicates, most
     * likely) is written again one document at a time, since which of its documents were
     * inserted differs between servers. */
    for (size_t from = 0, m; from < n; from += m) {
        m = store_chunk(s);
        m = m < n - from ? m : n - from;
        if (store_stopping(s, err) != 0) {
            goto done;
        }
        bson_destroy(&reply);
        if (mongoc_collection_insert_many(coll, ptrs + from, m, opts, &reply, &berr)) {
            store_chunk_outcome(s, m, NULL);
            continue;
        }
        if (write_error_code(&reply, &berr, NULL, 0) == 0) {
            store_chunk_outcome(s, m, &berr);
            err_set(err, ERR_TRANSIENT, "mongodb insert_many: %s", berr.message);
            goto done;
        }
        for (size_t i = from; i < from + m; i++) {
            if (store_stopping(s, err) != 0 ||
                insert_one(coll, &docs[i], one_opts, &outcomes[i], reasons[i], err) != 0) {
                goto done;
            }
        }
    }
    rc = 0;
done:
    bson_destroy(&reply);
    for (size_t i = 0; i < built; i++) {
        bson_destroy(&docs[i]);
    }
    free(docs);
    free(ptrs);
    bson_destroy(opts);
    bson_destroy(one_opts);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(s->pool, client);
    return rc;
}

/* The pipeline: match the site-day (and type), then count, distinct users and
 * top paths in one $facet. */
static bson_t *
stats_pipeline(const char *site_id, int64_t day_start_ms, const char *event_type)
{
    bson_t *p = bson_new();
    bson_t stages, stage, match, range, facet, arr, st, inner;

    bson_append_array_begin(p, "pipeline", -1, &stages);

    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    bson_append_utf8(&match, "site_id", -1, site_id, -1); /* a plain string: never an operator */
    bson_append_document_begin(&match, "timestamp", -1, &range);
    bson_append_date_time(&range, "$gte", -1, day_start_ms);
    bson_append_date_time(&range, "$lt", -1, day_start_ms + TS_DAY_MS);
    bson_append_document_end(&match, &range);
    if (event_type != NULL) {
        bson_append_utf8(&match, "event_type", -1, event_type, -1);
    }
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);

    bson_append_document_begin(&stages, "1", -1, &stage);
    bson_append_document_begin(&stage, "$facet", -1, &facet);

    bson_append_array_begin(&facet, "total", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    BSON_APPEND_UTF8(&st, "$count", "n");
    bson_append_document_end(&arr, &st);
    bson_append_array_end(&facet, &arr);

    /* {$gt: ""} matches exactly the non-empty strings (type bracketing). */
    bson_append_array_begin(&facet, "users", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    bson_append_document_begin(&st, "$match", -1, &inner);
    BCON_APPEND(&inner, "user_id", "{", "$gt", BCON_UTF8(""), "}");
    bson_append_document_end(&st, &inner);
    bson_append_document_end(&arr, &st);
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$user_id"), "}", "}");
    BCON_APPEND(&arr, "2", "{", "$count", BCON_UTF8("n"), "}");
    bson_append_array_end(&facet, &arr);

    bson_append_array_begin(&facet, "paths", -1, &arr);
    bson_append_document_begin(&arr, "0", -1, &st);
    bson_append_document_begin(&st, "$match", -1, &inner);
    BCON_APPEND(&inner, "path", "{", "$gt", BCON_UTF8(""), "}");
    bson_append_document_end(&st, &inner);
    bson_append_document_end(&arr, &st);
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$path"), "views", "{", "$sum",
                BCON_INT32(1), "}", "}", "}");
    BCON_APPEND(&arr, "2", "{", "$sort", "{", "views", BCON_INT32(-1), "_id", BCON_INT32(1), "}",
                "}");
    BCON_APPEND(&arr, "3", "{", "$limit", BCON_INT32(STORE_TOP_PATHS), "}");
    bson_append_array_end(&facet, &arr);

    bson_append_document_end(&stage, &facet);
    bson_append_document_end(&stages, &stage);
    bson_append_array_end(p, &stages);
    return p;
}

/* The `n` of the first document of facet array `name`, or 0 when it is empty. */
static int64_t
facet_count(const bson_t *doc, const char *name)
{
    bson_iter_t it, d;
    char path[64];

    snprintf(path, sizeof path, "%s.0.n", name);
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &d) &&
        BSON_ITER_HOLDS_NUMBER(&d)) {
        return bson_iter_as_int64(&d);
    }
    return 0;
}

int
store_query_stats(store_t *s, const char *site_id, int64_t day_start_ms, const char *event_type,
                  struct store_stats *out, struct app_err *err)
{
    mongoc_client_t *client = mongoc_client_pool_pop(s->pool);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, s->db, STORE_EVENTS_COLLECTION);
    bson_t *pipeline = stats_pipeline(site_id, day_start_ms, event_type);
    mongoc_cursor_t *cursor =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    bson_error_t berr;
    bson_iter_t it, arr, entry;
    int rc = -1;

    out->total_views = 0;
    out->unique_users = 0;
    out->top_paths = json_array();
    if (out->top_paths == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (!mongoc_cursor_next(cursor, &doc)) {
        if (mongoc_cursor_error(cursor, &berr)) {
            err_set(err, ERR_TRANSIENT, "mongodb aggregate: %s", berr.message);
        } else {
            err_set(err, ERR_INTERNAL, "mongodb aggregate returned no document");
        }
        goto done;
    }
    out->total_views = facet_count(doc, "total");
    out->unique_users = facet_count(doc, "users");
    if (bson_iter_init_find(&it, doc, "paths") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
            const char *path = NULL;
            int64_t views = 0;
            if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &entry)) {
                continue;
            }
            while (bson_iter_next(&entry)) {
                if (strcmp(bson_iter_key(&entry), "_id") == 0 && BSON_ITER_HOLDS_UTF8(&entry)) {
                    path = bson_iter_utf8(&entry, NULL);
                } else if (strcmp(bson_iter_key(&entry), "views") == 0 &&
                           BSON_ITER_HOLDS_NUMBER(&entry)) {
                    views = bson_iter_as_int64(&entry);
                }
            }
            if (path != NULL &&
                json_array_append_new(out->top_paths, json_pack("{s:s,s:I}", "path", path, "views",
                                                                (json_int_t)views)) != 0) {
                err_set(err, ERR_INTERNAL, "out of memory");
                goto done;
            }
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        json_decref(out->top_paths);
        out->top_paths = NULL;
    }
    mongoc_cursor_destroy(cursor);
    bson_destroy(pipeline);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(s->pool, client);
    return rc;
}
