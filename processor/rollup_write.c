/* rollup_write.c - one batch's conditional writes on one rollup document, settled by reading it. */
#include "rollup_write.h"

#include <stdio.h>
#include <string.h>

#include "ts.h"

/* A dimensions document's fields: its date (its scope's: the event's site-day, or the visit's
 * start) and each of its visit's dimensions that is present (its site_id is the filter's). */
static void
dims_on_insert(bson_t *set, const struct rollup_plan *p, const struct plan_doc *d)
{
    const char *vals[ROLLUP_DIMS];
    char day[TS_FORMAT_LEN];

    ts_format(p->docs[d->scope].day * TS_DAY_MS, day);
    bson_append_utf8(set, "date", -1, day, 10);
    rollup_event_dims(d->ev, vals);
    for (int i = 0; i < ROLLUP_DIMS; i++) {
        if (vals[i] != NULL && vals[i][0] != '\0') {
            BSON_APPEND_UTF8(set, rollup_dim_fields[i], vals[i]);
        }
    }
}

void
rollup_write_on_insert(bson_t *update, const struct rollup_plan *p, const struct plan_doc *d)
{
    bson_t set;
    char day[TS_FORMAT_LEN];

    bson_append_document_begin(update, "$setOnInsert", -1, &set);
    if (d->ns == PLAN_DIMS || d->ns == PLAN_VDIMS) {
        dims_on_insert(&set, p, d);
    } else if (d->ns == PLAN_VISIT || d->ns == PLAN_ENTRY || d->ns == PLAN_EXIT) {
        /* Bucketed by the visit's start. A visit site-day's or site-hour's site_id, and a
         * page's scope, are the filter's (rollup_write_not_applied()). */
        ts_format((d->ns == PLAN_VISIT ? d : &p->docs[d->scope])->day * TS_DAY_MS, day);
        if (d->ns != PLAN_VISIT) {
            BSON_APPEND_UTF8(&set, "site_id", d->ev->site_id);
            BSON_APPEND_UTF8(&set, "path", d->id + strlen(p->docs[d->scope].id) + 1);
        }
        bson_append_utf8(&set, "date", -1, day, 10);
        if (rollup_plan_is_hour(d)) {
            BSON_APPEND_DATE_TIME(&set, "hour", d->hour_ms);
        } else if (d->ns == PLAN_VISIT) {
            /* Its visits are all in rollup_dim_visits too (common/rollup_doc.h). */
            BSON_APPEND_BOOL(&set, ROLLUP_DIMS_FLAG, true);
        }
    } else if (d->ns == PLAN_PATH || d->ns == PLAN_REF) {
        /* Its scope comes from the filter's equality (rollup_write_not_applied()). The leaf
         * of the id "<scope>|<leaf>": the path, or the referrer's host. */
        BSON_APPEND_UTF8(&set, d->ns == PLAN_PATH ? "path" : "referrer",
                         d->id + strlen(p->docs[d->scope].id) + 1);
    } else {
        ts_format(d->day * TS_DAY_MS, day); /* the site's own calendar day */
        if (rollup_plan_is_hour(d)) {
            /* A site-day's site_id is its filter's (rollup_write_not_applied()). */
            BSON_APPEND_UTF8(&set, "site_id", d->ev->site_id);
        }
        bson_append_utf8(&set, "date", -1, day, 10);
        if (rollup_plan_is_hour(d)) {
            BSON_APPEND_DATE_TIME(&set, "hour", d->hour_ms);
            /* Its set u holds every user counted since its creation (a site-hour created
             * before the sets were kept has no u_all: reporting counts its users from the
             * raw events). */
            BSON_APPEND_BOOL(&set, "u_all", true);
        }
        if (d->kind == ROLLUP_KIND_TYPE || d->kind == ROLLUP_KIND_HOUR_TYPE) {
            BSON_APPEND_UTF8(&set, "event_type", d->ev->event_type);
        } else {
            BSON_APPEND_NULL(&set, "event_type");
            if (d->kind == ROLLUP_KIND_ALL) {
                /* Its events are all in rollup_dims too (common/rollup_doc.h). */
                BSON_APPEND_BOOL(&set, ROLLUP_DIMS_FLAG, true);
            }
        }
    }
    bson_append_document_end(update, &set);
}

/* The fields of a rollup document's shard key besides _id (docs/scaling.md), those a filter
 * may carry: a path's or referrer's scope, a site-day's site_id. */
static const char *const key_fields[] = {"scope", "site_id"};

bson_t *
rollup_write_not_applied(const struct rollup_plan *p, const struct plan_doc *d, const char *run,
                         int64_t seq)
{
    char key[ROLLUP_RUN_LEN + 8];
    bson_t *f = BCON_NEW("_id", BCON_UTF8(d->id));

    if (d->ns == PLAN_PATH || d->ns == PLAN_REF || d->ns == PLAN_ENTRY || d->ns == PLAN_EXIT) {
        BSON_APPEND_UTF8(f, key_fields[0], p->docs[d->scope].id);
    } else if (d->ns == PLAN_VISIT || d->ns == PLAN_DIMS || d->ns == PLAN_VDIMS ||
               (d->ns == PLAN_SCOPE && !rollup_plan_is_hour(d))) {
        BSON_APPEND_UTF8(f, key_fields[1], d->ev->site_id);
    }
    snprintf(key, sizeof key, "runs.%s", run);
    BCON_APPEND(f, key, "{", "$not", "{", "$gte", BCON_INT64(seq), "}", "}");
    return f;
}

/* The conditions of filter on _id and on the other fields of the shard key: its document's
 * key, by which doc_state() reads it. */
static void
key_of(const bson_t *filter, bson_t *key)
{
    bson_iter_t it;

    bson_init(key);
    if (!bson_iter_init(&it, filter)) {
        return;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        int keep = strcmp(k, "_id") == 0;
        for (size_t i = 0; !keep && i < sizeof key_fields / sizeof *key_fields; i++) {
            keep = strcmp(k, key_fields[i]) == 0;
        }
        if (keep) {
            bson_append_iter(key, NULL, 0, &it);
        }
    }
}

/* Run one upsert, with the store's write concern. Returns 1 when it matched or created the
 * document (an upsert that succeeds did one of the two), 0 when it answered a duplicate key,
 * -1 on any other failure (a timeout is counted, see store_chunk_outcome()). A duplicate key
 * means that the document was there and did not match, or that another processor created it
 * at that moment and this update changed nothing: which of the two, only the document tells
 * (doc_state()). */
static int
update_doc(store_t *s, mongoc_collection_t *coll, const bson_t *filter, const bson_t *update,
           struct app_err *err)
{
    bson_t *opts;
    bson_t reply;
    bson_error_t berr;
    int rc;

    if (store_stopping(s, err) != 0) {
        return -1;
    }
    opts = BCON_NEW("upsert", BCON_BOOL(true));
    store_append_write_concern(s, opts);
    if (mongoc_collection_update_one(coll, filter, update, opts, &reply, &berr)) {
        rc = 1;
    } else if (berr.code == STORE_DUPLICATE_KEY ||
               store_first_write_error(&reply, NULL, 0) == STORE_DUPLICATE_KEY) {
        rc = 0;
    } else {
        store_chunk_outcome(s, 0, &berr);
        rc = err_set(err, ERR_TRANSIENT, "mongodb rollup update: %s", berr.message);
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    return rc;
}

/* What the document of coll that write filter `filter` is on says of batch run:seq (`batch`,
 * its id), read from the document itself (rollup_plan_doc_state()) by its shard key (key_of()):
 * its runs.<run> and whether its voided list holds the batch. Returns the state, or -1 with
 * err. */
static int
doc_state(store_t *s, mongoc_collection_t *coll, const bson_t *write, const char *run, int64_t seq,
          const char *batch, struct app_err *err)
{
    char key[ROLLUP_RUN_LEN + 8];
    bson_t filter, *opts;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int64_t runs_seq = 0;
    int voided = 0, rc;

    if (store_stopping(s, err) != 0) {
        return -1;
    }
    snprintf(key, sizeof key, "runs.%s", run);
    key_of(write, &filter);
    opts = BCON_NEW("projection", "{", key, BCON_INT32(1), "voided", BCON_INT32(1), "}", "limit",
                    BCON_INT64(1));
    cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it, arr;
        if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, key, &arr) &&
            BSON_ITER_HOLDS_NUMBER(&arr)) {
            runs_seq = bson_iter_as_int64(&arr);
        }
        if (bson_iter_init_find(&it, doc, "voided") && BSON_ITER_HOLDS_ARRAY(&it) &&
            bson_iter_recurse(&it, &arr)) {
            while (!voided && bson_iter_next(&arr)) {
                voided =
                    BSON_ITER_HOLDS_UTF8(&arr) && strcmp(bson_iter_utf8(&arr, NULL), batch) == 0;
            }
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        store_chunk_outcome(s, 0, &berr);
        rc = err_set(err, ERR_TRANSIENT, "mongodb rollup read: %s", berr.message);
    } else {
        rc = (int)rollup_plan_doc_state(runs_seq, voided, seq);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    return rc;
}

int
rollup_write_void(store_t *s, mongoc_collection_t *coll, const struct rollup_plan *p,
                  struct plan_question *q, struct app_err *err)
{
    const struct plan_doc *d = &p->docs[q->doc];
    char run[ROLLUP_RUN_LEN + 1];
    int64_t seq;
    bson_t *filter, *update;
    int rc = 1; /* not settled yet */

    if (rollup_batch_parse(q->owner, run, &seq) != 0) {
        q->voided = 1; /* no batch of ours: nobody applies it */
        return 0;
    }
    filter = rollup_write_not_applied(p, d, run, seq);
    update = BCON_NEW("$addToSet", "{", "voided", BCON_UTF8(q->owner), "}");
    rollup_write_on_insert(update, p, d);
    for (int tries = 0; rc == 1 && tries < ROLLUP_UPDATE_TRIES; tries++) {
        int matched = update_doc(s, coll, filter, update, err), st = ROLLUP_DOC_OPEN;
        if (matched < 0 ||
            (!matched && (st = doc_state(s, coll, filter, run, seq, q->owner, err)) < 0)) {
            rc = -1;
        } else if (rollup_plan_answer(q, matched, (enum rollup_doc_state)st)) {
            rc = 0;
        }
    }
    if (rc == 1) {
        rc = err_set(err, ERR_INVALID, "rollup document %s: batch %s neither applied nor voided",
                     d->id, q->owner);
    }
    bson_destroy(filter);
    bson_destroy(update);
    return rc;
}

/* The fallback of a site-hour's update when it did not match: filter without its last
 * condition (that the set u has fewer than ROLLUP_HOUR_USERS_MAX entries), with update
 * `capped` (the views, no users, and u_capped: true). When the set is full, that counts
 * the views and flags the hour's users as a lower bound; when the batch had applied or was
 * voided there, it matches nothing either. Returns 1, 0 or -1 as update_doc(). */
static int
capped_update(store_t *s, mongoc_collection_t *coll, const bson_t *filter, const bson_t *capped,
              struct app_err *err)
{
    bson_t uncapped = BSON_INITIALIZER;
    bson_iter_t it;
    int rc;

    if (bson_iter_init(&it, filter)) {
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), ROLLUP_HOUR_USERS_CAP_KEY) != 0) {
                bson_append_iter(&uncapped, NULL, 0, &it);
            }
        }
    }
    rc = update_doc(s, coll, &uncapped, capped, err);
    bson_destroy(&uncapped);
    return rc;
}

int
rollup_write_settle(store_t *s, mongoc_collection_t *coll, const struct rollup_batch *b,
                    const bson_t *filter, const bson_t *update, const bson_t *capped,
                    struct app_err *err)
{
    bson_iter_t it;
    const char *id = bson_iter_init_find(&it, filter, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                         ? bson_iter_utf8(&it, NULL)
                         : "";

    for (int misses = 0; misses < ROLLUP_UPDATE_TRIES; misses++) {
        int rc = capped != NULL && misses >= 2 ? capped_update(s, coll, filter, capped, err)
                                               : update_doc(s, coll, filter, update, err);
        if (rc != 0) {
            return rc < 0 ? -1 : 0;
        }
        if ((rc = doc_state(s, coll, filter, b->run, b->seq, b->id, err)) != ROLLUP_DOC_OPEN) {
            return rc < 0 ? -1 : 0;
        }
    }
    return err_set(err, ERR_INVALID, "rollup document %s: batch %s neither applied nor voided", id,
                   b->id);
}
