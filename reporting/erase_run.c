/* erase_run.c - the erasure runner: a thread of each reporting instance that claims a queued
 * job, or one whose runner's lease ran out (it crashed or was killed), and does its steps in
 * bounded batches, recording its progress after each so that another runner resumes where it
 * stopped (docs/design.md#erasure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbread.h"
#include "erase.h"
#include "log.h"
#include "reporting.h"
#include "rollup_doc.h"
#include "ts.h"

/* A claimed job, and where its runner is. */
struct job {
    struct reporting *r;
    mongoc_client_t *client;
    char owner[ERASE_JOB_ID_LEN + 1]; /* this runner's lease */
    char id[ERASE_JOB_ID_LEN + 1];
    enum erase_kind kind;
    char site[EVENT_SITE_ID_MAX + 1];
    char visitor[EVENT_USER_ID_MAX + 1];
    int32_t step;
    int started; /* the document has its started_at */
    char *after; /* ERASE_BY_ID: the last _id read (malloc'd) */
};

static mongoc_collection_t *
coll_of(const struct job *j, const char *name)
{
    return store_collection(j->r->store, j->client, name);
}

/* Copy string field key of doc into out (size n); 0, or -1 when missing or too long. */
static int
copy_str(const bson_t *doc, const char *key, char *out, size_t n)
{
    const char *s = dbread_utf8(doc, key);

    if (s == NULL || strlen(s) >= n) {
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* Claim a job: the oldest queued or running one whose lease ran out. Returns 1 (j filled), 0
 * (none), or -1 with err. */
static int
claim(struct job *j, struct app_err *err)
{
    int64_t now = ts_now_ms();
    bson_t *query = BCON_NEW("state", "{", "$in", "[", BCON_UTF8("queued"), BCON_UTF8("running"),
                             "]", "}", "lease_until", "{", "$lt", BCON_INT64(now), "}");
    bson_t *update =
        BCON_NEW("$set", "{", "state", BCON_UTF8("running"), "owner", BCON_UTF8(j->owner),
                 "lease_until", BCON_INT64(now + j->r->runner.lease_ms), "}");
    bson_t *sort = BCON_NEW("created_at", BCON_INT32(1));
    mongoc_collection_t *coll = coll_of(j, ERASE_JOBS_COLLECTION);
    bson_t reply;
    bson_error_t berr;
    bson_iter_t it;
    int rc = 0;

    if (!mongoc_collection_find_and_modify(coll, query, sort, update, NULL, false, false, true,
                                           &reply, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "claim a job: %s", berr.message);
    } else if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_t doc;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&doc, data, len) && copy_str(&doc, "_id", j->id, sizeof j->id) == 0 &&
            copy_str(&doc, "site_id", j->site, sizeof j->site) == 0) {
            const char *kind = dbread_utf8(&doc, "kind"), *after = dbread_utf8(&doc, "after");
            j->kind = kind != NULL && strcmp(kind, "site") == 0 ? ERASE_SITE : ERASE_VISITOR;
            j->visitor[0] = '\0';
            j->step = (int32_t)dbread_int64(&doc, "step");
            j->started = bson_has_field(&doc, "started_at");
            free(j->after);
            j->after = strdup(after != NULL ? after : "");
            rc = j->after == NULL ? err_set(err, ERR_INTERNAL, "out of memory")
                 : j->kind == ERASE_VISITOR &&
                         copy_str(&doc, "target", j->visitor, sizeof j->visitor) != 0
                     ? err_set(err, ERR_INTERNAL, "job %s has no visitor", j->id)
                     : 1;
        }
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(coll);
    bson_destroy(sort);
    bson_destroy(update);
    bson_destroy(query);
    return rc;
}

/* Update the job's document if this runner still holds it: 1, 0 (the lease was lost: another
 * runner has it), or -1 with err. */
static int
update_job(struct job *j, const bson_t *update, struct app_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(j->id), "owner", BCON_UTF8(j->owner));
    mongoc_collection_t *coll = coll_of(j, ERASE_JOBS_COLLECTION);
    bson_t reply;
    bson_error_t berr;
    int rc;

    rc = mongoc_collection_update_one(coll, filter, update, NULL, &reply, &berr)
             ? dbread_int64(&reply, "matchedCount") > 0
             : err_set(err, ERR_TRANSIENT, "update job: %s", berr.message);
    bson_destroy(&reply);
    mongoc_collection_destroy(coll);
    bson_destroy(filter);
    return rc;
}

/* What a step does with each document it reads: fills err and returns -1 on failure. */
typedef int (*each_fn)(struct job *j, const bson_t *doc, bson_t *ids, long *done,
                       struct app_err *err);

/* Read up to JOBS_BATCH documents of collection name matching filter (with opts) and hand each
 * to each(). Returns how many were read, or -1 with err. */
static long
read_batch(struct job *j, const char *name, const bson_t *filter, bson_t *opts, each_fn each,
           bson_t *ids, long *done, struct app_err *err)
{
    mongoc_collection_t *coll = coll_of(j, name);
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    long n = 0;

    BSON_APPEND_INT64(opts, "limit", j->r->runner.batch);
    cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    while (n >= 0 && mongoc_cursor_next(cur, &doc)) {
        n = each(j, doc, ids, done, err) != 0 ? -1 : n + 1;
    }
    if (n >= 0 && mongoc_cursor_error(cur, &berr)) {
        n = err_set(err, ERR_TRANSIENT, "find %s: %s", name, berr.message);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    return n;
}

/* Append doc's _id to the array ids. 0, or -1 with err. */
static int
append_id(const bson_t *doc, bson_t *ids, struct app_err *err)
{
    bson_iter_t it;
    char key[16];
    const char *k;

    if (!bson_iter_init_find(&it, doc, "_id")) {
        return 0;
    }
    bson_uint32_to_string(bson_count_keys(ids), &k, key, sizeof key);
    return bson_append_value(ids, k, -1, bson_iter_value(&it))
               ? 0
               : err_set(err, ERR_INTERNAL, "out of memory");
}

/* each() of ERASE_BY_FILTER: every document read goes. */
static int
each_found(struct job *j, const bson_t *doc, bson_t *ids, long *done, struct app_err *err)
{
    (void)j;
    (void)done;
    return append_id(doc, ids, err);
}

/* each() of ERASE_BY_ID: the page's last _id into j->after; the ids of the job's site (and
 * visitor) go. */
static int
each_page(struct job *j, const bson_t *doc, bson_t *ids, long *done, struct app_err *err)
{
    const char *id = dbread_utf8(doc, "_id");

    (void)done;
    if (id == NULL) {
        return 0; /* not a rollup's */
    }
    free(j->after);
    if ((j->after = strdup(id)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return erase_id_matches(id, j->site, j->kind == ERASE_VISITOR ? j->visitor : NULL)
               ? append_id(doc, ids, err)
               : 0;
}

/* each() of ERASE_HASH_SET: take the visitor's hash out of the document's set u with a
 * compare-and-set (the filter holds the whole array read), re-read and retried while a
 * processor's $addToSet changes it in between. One more in *done when it was taken out. */
static int
each_set(struct job *j, const bson_t *doc, bson_t *ids, long *done, struct app_err *err)
{
    int64_t h = rollup_user_hash(j->visitor);
    size_t n_steps;
    /* The step's collection: the site-hours' or the visit dimensions' sets. */
    mongoc_collection_t *coll = coll_of(j, erase_steps(j->kind, &n_steps)[j->step].collection);
    bson_t *cur = bson_copy(doc);
    int rc = 0;

    (void)ids;
    for (int tries = 0; rc == 0 && cur != NULL && tries < 100; tries++) {
        bson_iter_t u, id;
        bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, arr, reply;
        bson_error_t berr;
        int left;
        if (!bson_iter_init_find(&u, cur, "u") || !BSON_ITER_HOLDS_ARRAY(&u) ||
            !bson_iter_init_find(&id, cur, "_id")) {
            break; /* no set: nothing of the visitor's */
        }
        bson_append_value(&filter, "_id", -1, bson_iter_value(&id));
        bson_append_value(&filter, "u", -1, bson_iter_value(&u));
        bson_append_document_begin(&update, "$set", -1, &set);
        bson_append_array_begin(&set, "u", -1, &arr);
        left = erase_set_without(&u, h, &arr);
        bson_append_array_end(&set, &arr);
        bson_append_document_end(&update, &set);
#ifdef FAULT_INJECTION
        /* The test variant's race (FAULT_JOBS_CAS_RACE): a processor's $addToSet of the user
         * hash 1 between the read and the swap, which must then fail and be retried. */
        if (tries == 0 && left > 0 && getenv("FAULT_JOBS_CAS_RACE") != NULL) {
            bson_t *add = BCON_NEW("$addToSet", "{", "u", BCON_INT64(1), "}");
            bson_t by_id = BSON_INITIALIZER;
            bson_append_value(&by_id, "_id", -1, bson_iter_value(&id));
            mongoc_collection_update_one(coll, &by_id, add, NULL, NULL, NULL);
            bson_destroy(&by_id);
            bson_destroy(add);
        }
#endif
        if (left < 0) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        } else if (left == 0) {
            bson_destroy(&filter);
            bson_destroy(&update);
            break; /* gone already */
        } else if (!mongoc_collection_update_one(coll, &filter, &update, NULL, &reply, &berr)) {
            rc =
                err_set(err, ERR_TRANSIENT, "update %s: %s", ROLLUP_HOURS_COLLECTION, berr.message);
            bson_destroy(&reply);
        } else {
            int matched = dbread_int64(&reply, "matchedCount") > 0;
            bson_destroy(&reply);
            if (matched) {
                (*done)++;
                bson_destroy(&filter);
                bson_destroy(&update);
                break;
            }
            /* The set changed since it was read: read it again. */
            LOG_INFO("erasure job %s: site-hour %s changed under the swap; read again", j->id,
                     dbread_utf8(cur, "_id") != NULL ? dbread_utf8(cur, "_id") : "?");
            bson_t by_id = BSON_INITIALIZER;
            bson_append_value(&by_id, "_id", -1, bson_iter_value(&id));
            mongoc_cursor_t *c = mongoc_collection_find_with_opts(coll, &by_id, NULL, NULL);
            const bson_t *again;
            bson_destroy(&by_id); /* before cur, whose _id it copied */
            bson_destroy(cur);
            cur = mongoc_cursor_next(c, &again) ? bson_copy(again) : NULL;
            if (cur == NULL && mongoc_cursor_error(c, &berr)) {
                rc = err_set(err, ERR_TRANSIENT, "find %s: %s", ROLLUP_HOURS_COLLECTION,
                             berr.message);
            }
            mongoc_cursor_destroy(c);
        }
        bson_destroy(&filter);
        bson_destroy(&update);
    }
    bson_destroy(cur);
    mongoc_collection_destroy(coll);
    return rc;
}

/* Delete the documents of collection name whose _ids are in the array ids; how many into *n.
 * 0, or -1 with err. */
static int
delete_ids(struct job *j, const char *name, const bson_t *ids, long *n, struct app_err *err)
{
    mongoc_collection_t *coll;
    bson_t filter = BSON_INITIALIZER, in, reply;
    bson_error_t berr;
    int rc = 0;

    if (bson_count_keys(ids) == 0) {
        bson_destroy(&filter);
        return 0;
    }
    bson_append_document_begin(&filter, "_id", -1, &in);
    bson_append_array(&in, "$in", -1, ids);
    bson_append_document_end(&filter, &in);
    coll = coll_of(j, name);
    if (mongoc_collection_delete_many(coll, &filter, NULL, &reply, &berr)) {
        *n += (long)dbread_int64(&reply, "deletedCount");
    } else {
        rc = err_set(err, ERR_TRANSIENT, "delete from %s: %s", name, berr.message);
    }
    bson_destroy(&reply);
    mongoc_collection_destroy(coll);
    bson_destroy(&filter);
    return rc;
}

/* One batch of step st: how many documents it erased into *n, and whether the step is done
 * (it found fewer than a batch). 0, or -1 with err. */
static int
run_batch(struct job *j, const struct erase_step *st, long *n, int *finished, struct app_err *err)
{
    bson_t *filter = bson_new(), *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
    bson_t ids = BSON_INITIALIZER;
    each_fn each = each_found;
    long read;
    int rc = 0;

    *n = 0;
    if (st->how == ERASE_BY_ID) {
        if (j->after[0] != '\0') {
            BCON_APPEND(filter, "_id", "{", "$gt", BCON_UTF8(j->after), "}");
        }
        BCON_APPEND(opts, "sort", "{", "_id", BCON_INT32(1), "}");
        each = each_page;
    } else {
        BSON_APPEND_UTF8(filter, "site_id", j->site);
    }
    if (st->how == ERASE_BY_FILTER && j->kind == ERASE_VISITOR) {
        BSON_APPEND_UTF8(filter, "user_id", j->visitor);
    }
    if (st->how == ERASE_HASH_SET) {
        BSON_APPEND_INT64(filter, "u", rollup_user_hash(j->visitor));
        BCON_APPEND(opts, "projection", "{", "u", BCON_INT32(1), "}");
        each = each_set;
    }
    read = read_batch(j, st->collection, filter, opts, each, &ids, n, err);
    if (read < 0 || delete_ids(j, st->collection, &ids, n, err) != 0) {
        rc = -1;
    }
    *finished = read < j->r->runner.batch;
    bson_destroy(&ids);
    bson_destroy(opts);
    bson_destroy(filter);
    return rc;
}

/* The fields of a job its audit record keeps (never its target). */
static const char *const audit_fields[] = {"_id",     "kind",       "site_id",
                                           "deleted", "created_at", "started_at"};

/* Record the audit record of the finished job j (its document as it ends: kind, site, dates,
 * counts; never the visitor), then the job done, without its visitor. Returns 1, 0 (lease
 * lost) or -1 with err. */
static int
finish_job(struct job *j, struct app_err *err)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(j->id)), *audit = NULL;
    bson_t *update = BCON_NEW("$set", "{", "state", BCON_UTF8("done"), "finished_at",
                              BCON_DATE_TIME(ts_now_ms()), "}", "$unset", "{", "target",
                              BCON_UTF8(""), "owner", BCON_UTF8(""), "after", BCON_UTF8(""), "}");
    mongoc_collection_t *jobs = coll_of(j, ERASE_JOBS_COLLECTION), *audits = NULL;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = -1;

    cur = mongoc_collection_find_with_opts(jobs, filter, NULL, NULL);
    if (!mongoc_cursor_next(cur, &doc)) {
        err_set(err, ERR_TRANSIENT, "read job %s: %s", j->id,
                mongoc_cursor_error(cur, &berr) ? berr.message : "gone");
        goto done;
    }
    /* Field by field: a projection is not to be relied on (the test server ignores it), and
     * the job still holds the visitor. */
    audit = bson_new();
    for (size_t i = 0; i < sizeof audit_fields / sizeof audit_fields[0]; i++) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, audit_fields[i]) &&
            !bson_append_value(audit, audit_fields[i], -1, bson_iter_value(&it))) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    BSON_APPEND_DATE_TIME(audit, "finished_at", ts_now_ms());
    audits = coll_of(j, ERASE_AUDIT_COLLECTION);
    /* Once per job: a runner that stopped after it finds it there (11000). */
    if (!mongoc_collection_insert_one(audits, audit, NULL, NULL, &berr) &&
        berr.code != STORE_DUPLICATE_KEY) {
        err_set(err, ERR_TRANSIENT, "insert audit: %s", berr.message);
        goto done;
    }
    rc = update_job(j, update, err);
done:
    mongoc_collection_destroy(audits);
    bson_destroy(audit);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(jobs);
    bson_destroy(update);
    bson_destroy(filter);
    return rc;
}

/* Do claimed job j from its step on. Returns 1 (done), 0 (stopped: its lease lost or given
 * back at a stop) or -1 with err. */
static int
run_job(struct job *j, struct app_err *err)
{
    size_t n_steps;
    const struct erase_step *steps = erase_steps(j->kind, &n_steps);

    LOG_INFO("erasure job %s (%s) from step %d", j->id, erase_kind_names[j->kind], (int)j->step);
    while ((size_t)j->step < n_steps) {
        const struct erase_step *st = &steps[j->step];
        char field[64];
        long n = 0;
        int finished = 0, rc;
        if (atomic_load(&svc_stop_requested)) {
            bson_t *give = BCON_NEW("$set", "{", "lease_until", BCON_INT64(0), "}");
            rc = update_job(j, give, err);
            bson_destroy(give);
            return rc < 0 ? -1 : 0;
        }
        if (run_batch(j, st, &n, &finished, err) != 0) {
            return -1;
        }
#ifdef FAULT_INJECTION
        /* The test variant's pause after each batch (tests/it/it_erasure.sh: a job slow
         * enough to be killed mid-way). */
        const char *pause = getenv("FAULT_JOBS_PAUSE_MS");
        if (pause != NULL) {
            struct timespec ts = {0, strtol(pause, NULL, 10) % 1000 * 1000000L};
            nanosleep(&ts, NULL);
        }
#endif
        if (finished) {
            j->step++;
            j->after[0] = '\0';
        }
        snprintf(field, sizeof field, "deleted.%s", st->collection);
        bson_t *progress = BCON_NEW("$inc", "{", field, BCON_INT64(n), "}"), set;
        bson_append_document_begin(progress, "$set", -1, &set);
        BSON_APPEND_INT32(&set, "step", j->step);
        BSON_APPEND_UTF8(&set, "after", j->after);
        BSON_APPEND_INT64(&set, "lease_until", ts_now_ms() + j->r->runner.lease_ms);
        if (!j->started) {
            BSON_APPEND_DATE_TIME(&set, "started_at", ts_now_ms());
        }
        bson_append_document_end(progress, &set);
        rc = update_job(j, progress, err);
        bson_destroy(progress);
        if (rc != 1) {
            return rc;
        }
        j->started = 1;
    }
    return finish_job(j, err);
}

/* The runner: claim a job, do it, look again; idle, look every JOBS_POLL_MS; until the stop. */
static void *
runner_main(void *arg)
{
    struct job j = {.r = arg};
    int64_t idle_until = 0;

    if (erase_random_hex(j.owner, ERASE_JOB_ID_LEN / 2) != 0) {
        LOG_ERROR("erasure runner: getrandom failed; no erasure job runs here");
        return NULL;
    }
    while (!atomic_load(&svc_stop_requested)) {
        struct app_err err = {0};
        int rc = 0;
        if (ts_mono_ms() < idle_until) {
            struct timespec slice = {0, 20 * 1000 * 1000};
            nanosleep(&slice, NULL);
            continue;
        }
        j.client = store_client_pop(j.r->store);
        if ((rc = claim(&j, &err)) == 1) {
            rc = run_job(&j, &err);
            if (rc == 1) {
                LOG_INFO("erasure job %s done", j.id);
            } else if (rc == 0) {
                LOG_INFO("erasure job %s left (stop, or another runner has it)", j.id);
            }
        }
        store_client_push(j.r->store, j.client);
        if (rc < 0) {
            LOG_WARN("erasure: %s; retried once the job's lease runs out", err.msg);
        }
        if (rc <= 0) {
            idle_until = ts_mono_ms() + j.r->runner.poll_ms;
        }
    }
    free(j.after);
    return NULL;
}

int
erase_start(struct reporting *r, struct app_err *err)
{
    int rc = pthread_create(&r->runner.thread, NULL, runner_main, r);

    if (rc != 0) {
        return err_set(err, ERR_INTERNAL, "pthread_create: %s", strerror(rc));
    }
    r->runner.started = 1;
    return 0;
}

void
erase_join(struct reporting *r)
{
    if (r->runner.started) {
        pthread_join(r->runner.thread, NULL);
        r->runner.started = 0;
    }
}
