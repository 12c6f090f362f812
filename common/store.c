/* store.c - MongoDB for the processor and reporting: the driver, a client pool, health. */
#include "store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

/* Timeouts of the probe pool used by store_ping(): a health check must answer
 * within a probe's deadline even when the server is frozen. */
#define PROBE_TIMEOUT_MS 2000

#define WTIMEOUT_MS 10000

struct store {
    mongoc_client_pool_t *pool;     /* reads and writes */
    const atomic_int *stop;         /* see store_set_stop_flag(); NULL: never */
    atomic_size_t chunk;            /* see store_chunk() */
    atomic_uint chunk_streak;       /* commands in a row that did not time out */
    atomic_ullong chunk_timeouts;   /* commands that timed out (each halved chunk) */
    struct store_counters counters; /* of pool, updated by its monitor threads */
    mongoc_client_pool_t *probe;    /* store_ping() only, with short timeouts */
    char *db;
    mongoc_write_concern_t *wc; /* for the processor's writes; NULL: the URI's */
    mongoc_read_prefs_t *rp;    /* store_pin_reads(): the primary; NULL: the URI's */
    mongoc_read_concern_t *rc;  /* and its read concern (with rp) */
};

/* The driver's messages, at our levels. Two are harmless and demoted to debug: the test
 * server lacks endSessions, which the driver warns about when a client is destroyed (see
 * docs/development.md), and with MONGOC_DISABLE_SHM the driver notes at mongoc_init() that its
 * counters are kept in memory rather than in /dev/shm. */
static void
driver_log(mongoc_log_level_t mlevel, const char *domain, const char *message, void *data)
{
    static const char *const demoted[] = {"Couldn't send \"endSessions\"",
                                          "Falling back to malloc for counters"};
    enum log_level level;

    (void)data;
    switch (mlevel) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        level = LOG_LVL_ERROR;
        break;
    case MONGOC_LOG_LEVEL_WARNING:
        level = LOG_LVL_WARN;
        break;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        level = LOG_LVL_INFO;
        break;
    case MONGOC_LOG_LEVEL_TRACE:
        return;
    default:
        level = LOG_LVL_DEBUG;
        break;
    }
    for (size_t i = 0; i < sizeof demoted / sizeof demoted[0]; i++) {
        if (strncmp(message, demoted[i], strlen(demoted[i])) == 0) {
            level = LOG_LVL_DEBUG;
        }
    }
    log_msg(level, "mongoc[%s]: %s", domain, message);
}

void
store_driver_init(void)
{
    mongoc_log_trace_disable();
    mongoc_log_set_handler(driver_log, NULL);
    mongoc_init();
}

void
store_driver_cleanup(void)
{
    mongoc_cleanup();
}

int
store_check_uri(const char *value, struct app_err *err)
{
    bson_error_t berr;
    mongoc_uri_t *uri;

    /* The driver also logs why a URI is bad; the caller's one line says it already. */
    mongoc_log_set_handler(NULL, NULL);
    uri = mongoc_uri_new_with_error(value, &berr);
    mongoc_log_set_handler(driver_log, NULL);
    if (uri == NULL) {
        return err_set(err, ERR_INVALID, "%s", berr.message);
    }
    mongoc_uri_destroy(uri);
    return 0;
}

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

mongoc_collection_t *
store_collection(const store_t *s, mongoc_client_t *client, const char *name)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(client, s->db, name);

    if (s->rp != NULL) {
        mongoc_collection_set_read_prefs(coll, s->rp);
        mongoc_collection_set_read_concern(coll, s->rc);
    }
    return coll;
}

mongoc_database_t *
store_database(const store_t *s, mongoc_client_t *client)
{
    mongoc_database_t *db = mongoc_client_get_database(client, s->db);

    if (s->rp != NULL) {
        mongoc_database_set_read_prefs(db, s->rp);
        mongoc_database_set_read_concern(db, s->rc);
    }
    return db;
}

int
store_append_write_concern(const store_t *s, bson_t *opts)
{
    return s->wc == NULL || mongoc_write_concern_append(s->wc, opts) ? 0 : -1;
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
#ifdef FAULT_INJECTION
    store_cmdlog_callbacks(cbs);
#endif
    ok = mongoc_client_pool_set_apm_callbacks(s->pool, cbs, &s->counters);
    mongoc_apm_callbacks_destroy(cbs);
    return ok ? 0 : -1;
}

void
store_render_metrics(const store_t *s, struct metrics_buf *b)
{
    const struct metrics_row rows[] = {
        {"analytics_mongodb_connections_total", "counter",
         "MongoDB servers found reachable after being unknown: the first connection "
         "and every reconnect.",
         NULL, NULL, (double)atomic_load(&s->counters.servers_connected), NULL, NULL, NULL},
        {"analytics_mongodb_disconnects_total", "counter",
         "MongoDB servers lost (network error or failed heartbeat).", NULL, NULL,
         (double)atomic_load(&s->counters.servers_lost), NULL, NULL, NULL},
        {"analytics_mongodb_heartbeat_failures_total", "counter",
         "Failed MongoDB server heartbeats.", NULL, NULL,
         (double)atomic_load(&s->counters.heartbeats_failed), NULL, NULL, NULL},
        {"analytics_mongodb_timeouts_total", "counter",
         "MongoDB commands of a batch (of many documents or of one) that got no answer "
         "within socketTimeoutMS.",
         NULL, NULL, (double)atomic_load(&s->chunk_timeouts), NULL, NULL, NULL},
        {"analytics_mongodb_write_chunk", "gauge",
         "The most documents one MongoDB command of a batch carries now: halved after "
         "each timeout, doubled back after 8 commands that did not.",
         NULL, NULL, (double)atomic_load(&s->chunk), NULL, NULL, NULL},
    };

    METRICS_TABLE(b, rows);
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
store_pin_reads(store_t *s)
{
    int majority = s->wc != NULL && mongoc_write_concern_get_wmajority(s->wc);

    if (s->rp == NULL) {
        s->rp = mongoc_read_prefs_new(MONGOC_READ_PRIMARY);
        s->rc = mongoc_read_concern_new();
    }
    mongoc_read_concern_set_level(s->rc, majority ? MONGOC_READ_CONCERN_LEVEL_MAJORITY
                                                  : MONGOC_READ_CONCERN_LEVEL_LOCAL);
}

void
store_set_stop_flag(store_t *s, const atomic_int *stop)
{
    s->stop = stop;
}

int
store_stopping(const store_t *s, struct app_err *err)
{
    if (s->stop != NULL && atomic_load(s->stop)) {
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

    if (timed_out && m == 0) {
        atomic_fetch_add(&s->chunk_timeouts, 1);
    } else if (timed_out) {
        size_t half = m > 1 ? m / 2 : 1;
        atomic_fetch_add(&s->chunk_timeouts, 1);
        atomic_store(&s->chunk_streak, 0);
        if (half < n) {
            atomic_store(&s->chunk, half);
            LOG_WARN("mongodb: a command of %zu documents timed out; at most %zu at a time now", m,
                     half);
        }
    } else if (berr == NULL && m > 0 && n < STORE_CHUNK_MAX &&
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
    mongoc_read_prefs_destroy(s->rp);
    mongoc_read_concern_destroy(s->rc);
    if (s->probe != NULL) {
        mongoc_client_pool_destroy(s->probe);
    }
    if (s->pool != NULL) {
        mongoc_client_pool_destroy(s->pool);
    }
    free(s->db);
    free(s);
}

void
store_in_begin(struct store_in *x, bson_t *doc, const char *key)
{
    x->doc = doc;
    x->n = 0;
    x->open = 0;
    if (bson_append_document_begin(doc, key, -1, &x->in)) {
        x->open = bson_append_array_begin(&x->in, "$in", -1, &x->list);
        if (!x->open) {
            bson_append_document_end(doc, &x->in);
        }
    }
    x->ok = x->open;
}

void
store_in_add(struct store_in *x, const char *id)
{
    char buf[16];
    const char *key;

    if (x->ok) {
        bson_uint32_to_string(x->n++, &key, buf, sizeof buf);
        x->ok = BSON_APPEND_UTF8(&x->list, key, id);
    }
}

int
store_in_end(struct store_in *x, struct app_err *err)
{
    if (x->open) {
        x->ok = bson_append_array_end(&x->in, &x->list) && x->ok;
        x->ok = bson_append_document_end(x->doc, &x->in) && x->ok;
        x->open = 0;
    }
    if (!x->ok) {
        return err_set(err, ERR_INTERNAL, "a filter of %" PRIu32 " ids is too large", x->n);
    }
    return 0;
}

int
store_append_in(bson_t *doc, const char *key, char *const *ids, size_t n, struct app_err *err)
{
    struct store_in x;

    store_in_begin(&x, doc, key);
    for (size_t i = 0; i < n; i++) {
        store_in_add(&x, ids[i]);
    }
    return store_in_end(&x, err);
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
