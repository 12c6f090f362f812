/* insert.c - the processor's writes of events to MongoDB, and the indexes of the reads. */
#include "insert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "device.h"
#include "event_doc.h"
#include "rollup_doc.h"
#include "rollup_own.h"

/* Our own code for a document the driver refused to send. */
#define INSERT_CLIENT_REFUSED (-2)

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
insert_ensure_indexes(store_t *s, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_database_t *db = store_database(s, client);
    int rc =
        create_index(db, STORE_EVENTS_COLLECTION, "site_id_1_timestamp_1",
                     BCON_NEW(EVDOC_SITE_ID, BCON_INT32(1), EVDOC_TIMESTAMP, BCON_INT32(1)), err);

    /* The visits of a site that started in a range of time (reporting's breakdowns). */
    if (rc == 0) {
        rc = create_index(db, STORE_EVENTS_COLLECTION, "site_id_1_visit_start_1",
                          BCON_NEW(EVDOC_SITE_ID, BCON_INT32(1), EVDOC_VISIT_START, BCON_INT32(1)),
                          err);
    }
    /* GET /events on reporting: a site's events, newest first, by (timestamp, _id). */
    if (rc == 0) {
        rc = create_index(db, STORE_EVENTS_COLLECTION, EVENTS_INDEX_NAME,
                          BCON_NEW(EVDOC_SITE_ID, BCON_INT32(1), EVDOC_TIMESTAMP, BCON_INT32(-1),
                                   EVDOC_ID, BCON_INT32(-1)),
                          err);
    }
    if (rc == 0) {
        rc = create_index(
            db, ROLLUP_PATHS_COLLECTION, "scope_1_views_-1_path_1",
            BCON_NEW("scope", BCON_INT32(1), "views", BCON_INT32(-1), "path", BCON_INT32(1)), err);
    }
    if (rc == 0) { /* a day's top referrers, as its top paths */
        rc = create_index(
            db, ROLLUP_REFERRERS_COLLECTION, "scope_1_views_-1_referrer_1",
            BCON_NEW("scope", BCON_INT32(1), "views", BCON_INT32(-1), "referrer", BCON_INT32(1)),
            err);
    }
    if (rc == 0) { /* the event types of a site's days (/stats/breakdown?by=event_type) */
        rc = create_index(db, ROLLUP_COLLECTION, "site_id_1_date_1",
                          BCON_NEW("site_id", BCON_INT32(1), "date", BCON_INT32(1)), err);
    }
    if (rc == 0) { /* a site's visits over a range of days (and their hours, by date too) */
        rc = create_index(db, ROLLUP_VISITS_COLLECTION, "site_id_1_date_1",
                          BCON_NEW("site_id", BCON_INT32(1), "date", BCON_INT32(1)), err);
    }
    /* A day's top entry and exit pages, as its top paths; and a site's over a range of days. */
    /* A site's visit dimensions over a range of days (reporting's breakdowns and filters). */
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = create_index(db, i == 0 ? ROLLUP_DIMS_COLLECTION : ROLLUP_DIM_VISITS_COLLECTION,
                          "site_id_1_date_1",
                          BCON_NEW("site_id", BCON_INT32(1), "date", BCON_INT32(1)), err);
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        const char *coll = i == 0 ? ROLLUP_ENTRY_PAGES_COLLECTION : ROLLUP_EXIT_PAGES_COLLECTION;
        rc = create_index(
            db, coll, "scope_1_visits_-1_path_1",
            BCON_NEW("scope", BCON_INT32(1), "visits", BCON_INT32(-1), "path", BCON_INT32(1)), err);
        if (rc == 0) {
            rc = create_index(db, coll, "site_id_1_date_1",
                              BCON_NEW("site_id", BCON_INT32(1), "date", BCON_INT32(1)), err);
        }
    }
    mongoc_database_destroy(db);
    store_client_push(s, client);
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

/* The event's document; delivery: the envelope that stored it (a second one with this _id
 * is a client's duplicate, not a redelivery); own: which batch counts it in each figure it
 * is part of (rollup_append_own()). */
static int
event_to_bson(const struct event *ev, int64_t now_ms, struct rollup_own *own, bson_t *doc)
{
    bson_init(doc);
    BSON_APPEND_UTF8(doc, EVDOC_ID, ev->id);
    BSON_APPEND_UTF8(doc, EVDOC_SITE_ID, ev->site_id);
    BSON_APPEND_UTF8(doc, EVDOC_EVENT_TYPE, ev->event_type);
    append_opt_utf8(doc, EVDOC_PATH, ev->path);
    append_opt_utf8(doc, EVDOC_USER_ID, ev->user_id);
    if (event_visitor_name(ev->visitor) != NULL) {
        BSON_APPEND_UTF8(doc, EVDOC_VISITOR_SOURCE, event_visitor_name(ev->visitor));
    }
    /* The visit's attribution, device and country (its first event's, visit.va) when the event
     * has them, else its own: a breakdown counts each visit by how it began. */
    struct event_attr_view v = event_visit_attrs(ev);
    if (v.country[0] != '\0') {
        BSON_APPEND_UTF8(doc, EVDOC_COUNTRY, v.country);
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        static const char *const names[EVENT_N_ATTRS] = EVDOC_ATTR_NAMES;
        if (v.attr[k] != NULL) {
            BSON_APPEND_UTF8(doc, names[k], v.attr[k]);
        }
    }
    for (int m = 0; m < DEVICE_N; m++) { /* browser, browser_version, os, os_version, device */
        if (device_get(v.device, m)[0] != '\0') {
            BSON_APPEND_UTF8(doc, device_members[m].doc, device_get(v.device, m));
        }
    }
    if (ev->has_visit) {
        BSON_APPEND_UTF8(doc, EVDOC_VISIT_ID, ev->visit.id);
        BSON_APPEND_INT64(doc, EVDOC_VISIT_SEQ, ev->visit.seq);
        BSON_APPEND_DATE_TIME(doc, EVDOC_VISIT_START, ev->visit.start_ms);
    }
    BSON_APPEND_DATE_TIME(doc, EVDOC_TIMESTAMP, ev->ts_ms);
    BSON_APPEND_DATE_TIME(doc, EVDOC_CREATED_AT, now_ms);
    BSON_APPEND_DATE_TIME(doc, EVDOC_RECEIVED_AT, ev->received_ms);
    if (ev->has_client_ts) {
        BSON_APPEND_DATE_TIME(doc, EVDOC_CLIENT_TIMESTAMP, ev->client_ts_ms);
    }
    BSON_APPEND_UTF8(doc, EVDOC_DELIVERY, event_delivery(ev));
    if (ev->properties != NULL && append_json(doc, EVDOC_PROPERTIES, ev->properties) != 0) {
        return -1;
    }
    return rollup_append_own(doc, ev, own);
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
        return INSERT_CLIENT_REFUSED;
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

/* Write one document. Returns 0 with *outcome set, or -1 (transient; a timeout is counted,
 * see store_chunk_outcome()). */
static int
insert_one(store_t *s, mongoc_collection_t *coll, const bson_t *doc, const bson_t *opts,
           enum insert_outcome *outcome, char reason[INSERT_REASON_LEN], struct app_err *err)
{
    bson_t reply;
    bson_error_t berr;
    int rc = 0;

    if (mongoc_collection_insert_one(coll, doc, opts, &reply, &berr)) {
        *outcome = INSERT_NEW;
    } else {
        char msg[INSERT_REASON_LEN] = "";
        int32_t code = write_error_code(&reply, &berr, msg, sizeof msg);
        if (code == STORE_DUPLICATE_KEY) {
            *outcome = INSERT_DUPLICATE;
        } else if (code != 0) {
            /* A document-level write error: the server refuses this document. */
            *outcome = INSERT_REJECTED;
            if (code == INSERT_CLIENT_REFUSED) {
                snprintf(reason, INSERT_REASON_LEN, "refused by the driver: %.100s", msg);
            } else {
                snprintf(reason, INSERT_REASON_LEN, "mongodb write error %d: %.90s", code, msg);
            }
        } else {
            store_chunk_outcome(s, 0, &berr);
            rc = err_set(err, ERR_TRANSIENT, "mongodb insert: %s", berr.message);
        }
    }
    bson_destroy(&reply);
    return rc;
}

/* Whether a and b hold the same value under key, or neither has one. */
static int
same_field(const bson_t *a, const bson_t *b, const char *key)
{
    bson_iter_t ia, ib;
    int in_a = bson_iter_init_find(&ia, a, key), in_b = bson_iter_init_find(&ib, b, key), same;
    bson_t va = BSON_INITIALIZER, vb = BSON_INITIALIZER;

    if (!in_a || !in_b) {
        return in_a == in_b;
    }
    /* The value's bytes, with its type: a copy of each under one key. */
    same = bson_append_iter(&va, "v", 1, &ia) && bson_append_iter(&vb, "v", 1, &ib) &&
           bson_equal(&va, &vb);
    bson_destroy(&va);
    bson_destroy(&vb);
    return same;
}

enum insert_outcome
insert_compare_stored(const struct event *ev, const bson_t *doc, const bson_t *stored,
                      char reason[INSERT_REASON_LEN])
{
    /* The last two are compared only when the stored document has received_at. */
    static const char *const content[] = {
        EVDOC_EVENT_TYPE, EVDOC_PATH,        EVDOC_USER_ID,
        EVDOC_TIMESTAMP,  EVDOC_PROPERTIES,  EVDOC_VISIT_ID,
        EVDOC_VISIT_SEQ,  EVDOC_RECEIVED_AT, EVDOC_CLIENT_TIMESTAMP};
    bson_iter_t it;
    const char *delivery = ev->id; /* a document without one was stored by its _id's envelope */
    size_t n = sizeof content / sizeof content[0];

    if (!same_field(doc, stored, EVDOC_SITE_ID)) {
        snprintf(reason, INSERT_REASON_LEN, "event %.80s is stored for another site_id", ev->id);
        return INSERT_CONFLICT;
    }
    if (bson_iter_init_find(&it, stored, EVDOC_DELIVERY) && BSON_ITER_HOLDS_UTF8(&it)) {
        delivery = bson_iter_utf8(&it, NULL);
    }
    if (strcmp(delivery, event_delivery(ev)) != 0) {
        return INSERT_DUPLICATE; /* a client's second send of one event_id */
    }
    if (!bson_iter_init_find(&it, stored, EVDOC_RECEIVED_AT)) {
        n -= 2; /* stored before received_at and client_timestamp existed */
    }
    for (size_t k = 0; k < n; k++) {
        if (!same_field(doc, stored, content[k])) {
            snprintf(reason, INSERT_REASON_LEN, "event %.80s is stored with another %s", ev->id,
                     content[k]);
            return INSERT_CONFLICT;
        }
    }
    /* Its visit's dimensions name its rollup_dims documents: compared when the stored document
     * counts there (own.d), which documents stored before those rollups lack. */
    bson_iter_t own_d;
    if (bson_iter_init(&it, stored) && bson_iter_find_descendant(&it, "own.d", &own_d)) {
        for (int k = 0; k < ROLLUP_DIMS; k++) {
            if (!same_field(doc, stored, rollup_dim_fields[k])) {
                snprintf(reason, INSERT_REASON_LEN, "event %.80s is stored with another %s", ev->id,
                         rollup_dim_fields[k]);
                return INSERT_CONFLICT;
            }
        }
    }
    return INSERT_DUPLICATE;
}

/* What check_duplicates() works with. */
struct dups {
    const struct event *evs;
    const bson_t *docs;
    enum insert_outcome *outcomes;
    char (*reasons)[INSERT_REASON_LEN];
    unsigned char *read; /* read[i]: outcomes[i] decided by a read */
};

/* Decide event i, found already stored, against its stored document (chunked_hit_fn). */
static void
compare_stored(void *arg, const bson_t *stored, size_t i)
{
    struct dups *d = arg;

    if (!d->read[i]) {
        d->read[i] = 1;
        d->outcomes[i] = insert_compare_stored(&d->evs[i], &d->docs[i], stored, d->reasons[i]);
    }
}

/* Read the stored documents of the events found already stored (INSERT_DUPLICATE) and
 * decide, against docs[i], whether each is that event (insert_compare_stored()), in queries of at
 * most store_chunk() ids (chunked_find()). Returns 0, or -1 with err (ERR_TRANSIENT: a document
 * could not be read, which a retry of the batch settles). */
static int
check_duplicates(store_t *s, mongoc_collection_t *coll, const struct event *evs, const bson_t *docs,
                 size_t n, enum insert_outcome *outcomes, char (*reasons)[INSERT_REASON_LEN],
                 struct app_err *err)
{
    struct dups d = {evs, docs, outcomes, reasons, calloc(n ? n : 1, 1)};
    struct chunked_keys keys;
    bson_t *sites = NULL;
    int rc = -1, misses = 0;

    if (chunked_keys_new(&keys, n) != 0 || d.read == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i] == INSERT_DUPLICATE) {
            chunked_keys_add(&keys, evs[i].id, i);
        }
    }
    chunked_keys_sort(&keys);
    /* With the shard key {site_id, _id}, sent to the shards of those ids (docs/scaling.md). */
    if ((keys.n > 0 && (sites = chunked_sites_in(evs, NULL, n, err)) == NULL) ||
        chunked_find(s, coll, sites, NULL, &keys, compare_stored, &d, "read of stored events",
                     err) != 0) {
        goto done;
    }
    /* Missed: stored for another site_id (an envelope that reuses another site's id, which only
     * a forged envelope does). Read by _id alone (sent to every shard; never in a normal run):
     * insert_compare_stored() calls it a conflict. */
    for (size_t x = 0; x < keys.n && misses == 0; x++) {
        misses = !d.read[keys.k[x].at];
    }
    if (misses && chunked_find(s, coll, NULL, NULL, &keys, compare_stored, &d,
                               "read of stored events", err) != 0) {
        goto done;
    }
    for (size_t x = 0; x < keys.n; x++) {
        if (!d.read[keys.k[x].at]) {
            err_set(err, ERR_TRANSIENT, "event %s: a duplicate key, but no document", keys.k[x].id);
            goto done;
        }
    }
    rc = 0;
done:
    bson_destroy(sites);
    chunked_keys_free(&keys);
    free(d.read);
    return rc;
}

/* What the inserts of insert_events() work with. */
struct inserts {
    store_t *s;
    mongoc_collection_t *coll;
    bson_t *docs;
    const bson_t **ptrs;
    const bson_t *opts, *one_opts;
    enum insert_outcome *outcomes;
    char (*reasons)[INSERT_REASON_LEN];
};

/* The insert_many of documents [from, from + m) (chunked_cmd_fn). When it reports write
 * errors (duplicates, most likely), its documents are written again one at a time, since
 * which of them were inserted differs between servers. */
static int
insert_chunk(void *arg, size_t from, size_t m, bson_error_t *berr, struct app_err *err)
{
    struct inserts *w = arg;
    bson_t reply;
    int rc = 0;

    if (!mongoc_collection_insert_many(w->coll, w->ptrs + from, m, w->opts, &reply, berr)) {
        rc = write_error_code(&reply, berr, NULL, 0) == 0 ? 1 : 2;
        for (size_t i = from; i < from + m && rc == 2; i++) {
            if (store_stopping(w->s, err) != 0 ||
                insert_one(w->s, w->coll, &w->docs[i], w->one_opts, &w->outcomes[i], w->reasons[i],
                           err) != 0) {
                rc = -1;
            }
        }
    }
    bson_destroy(&reply);
    return rc;
}

int
insert_events(store_t *s, const struct event *evs, size_t n, int64_t now_ms, const char *batch,
              enum insert_outcome *outcomes, char (*reasons)[INSERT_REASON_LEN],
              struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    bson_t *docs = calloc(n ? n : 1, sizeof *docs);
    const bson_t **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    /* validate:false leaves field names in `properties` as the client sent them
     * (MongoDB 5.0+ stores dotted and $-prefixed nested names). */
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false), "validate", BCON_BOOL(false));
    bson_t *one_opts = BCON_NEW("validate", BCON_BOOL(false));
    struct inserts w = {s, coll, docs, ptrs, opts, one_opts, outcomes, reasons};
    size_t built = 0;
    struct rollup_own own;
    int rc = -1;

    rollup_own_init(&own, batch);

    if (docs == NULL || ptrs == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (store_append_write_concern(s, opts) != 0 || store_append_write_concern(s, one_opts) != 0) {
        err_set(err, ERR_INTERNAL, "cannot apply the write concern");
        goto done;
    }
    for (; built < n; built++) {
        if (event_to_bson(&evs[built], now_ms, &own, &docs[built]) != 0) {
            built++;
            err_set(err, ERR_INTERNAL, "cannot build the document of event %s", evs[built - 1].id);
            goto done;
        }
        ptrs[built] = &docs[built];
        outcomes[built] = INSERT_NEW;
    }
    if (chunked_run(s, n, insert_chunk, &w, "insert_many", err) != 0) {
        goto done;
    }
    if (check_duplicates(s, coll, evs, docs, n, outcomes, reasons, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    for (size_t i = 0; i < built; i++) {
        bson_destroy(&docs[i]);
    }
    free(docs);
    free(ptrs);
    bson_destroy(opts);
    bson_destroy(one_opts);
    rollup_own_cleanup(&own);
    mongoc_collection_destroy(coll);
    store_client_push(s, client);
    return rc;
}
