/* erase.c - the admin routes of erasure: DELETE /sites/{site}[/visitors/{id}] queues a job,
 * GET /jobs/{id} says how it goes (docs/api.md#erasure). erase_run.c does the jobs. */
#include "erase.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "dbread.h"
#include "reporting.h"
#include "ts.h"

int
erase_random_hex(char *out, size_t n)
{
    unsigned char buf[32];
    size_t got = 0;

    if (n > sizeof buf) {
        return -1;
    }
    while (got < n) {
        ssize_t k = getrandom(buf + got, n - got, 0);
        if (k < 0) {
            return -1;
        }
        got += (size_t)k;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    }
    return 0;
}

/* The request's path as sent (the listener does not decode it: http_opts.raw_paths), without
 * civetweb's clean-up of "." and ".." segments. */
static const char *
request_path(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);

    return ri->local_uri_raw != NULL ? ri->local_uri_raw : ri->local_uri;
}

/* A job's date field as ISO text into out, or NULL when it has none. */
static json_t *
date_json(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    char t[TS_FORMAT_LEN];

    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DATE_TIME(&it)) {
        return json_null();
    }
    ts_format(bson_iter_date_time(&it), t);
    return json_string(t);
}

/* The reply of a job document: {job_id, kind, site_id, state, deleted, created_at,
 * started_at, finished_at}. NULL out of memory. */
static json_t *
job_json(const bson_t *doc)
{
    json_t *deleted = json_object(), *j;
    bson_iter_t it, d;

    if (deleted != NULL && bson_iter_init_find(&it, doc, "deleted") &&
        BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &d)) {
        while (bson_iter_next(&d)) {
            json_object_set_new(
                deleted, bson_iter_key(&d),
                json_integer(BSON_ITER_HOLDS_NUMBER(&d) ? bson_iter_as_int64(&d) : 0));
        }
    }
    j = json_pack("{s:s?,s:s?,s:s?,s:s?,s:o?,s:o,s:o,s:o}", "job_id", dbread_utf8(doc, "_id"),
                  "kind", dbread_utf8(doc, "kind"), "site_id", dbread_utf8(doc, "site_id"), "state",
                  dbread_utf8(doc, "state"), "deleted", deleted, "created_at",
                  date_json(doc, "created_at"), "started_at", date_json(doc, "started_at"),
                  "finished_at", date_json(doc, "finished_at"));
    return j;
}

/* A read's callback: a copy of the first document into *(bson_t **)arg. */
static int
copy_first(const bson_t *doc, void *arg, struct app_err *err)
{
    bson_t **out = arg;

    if ((*out = bson_copy(doc)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return DBREAD_STOP;
}

/* The first document of collection `jobs` matching filter, target left out (into *found, a copy
 * to destroy, or NULL: none). Returns 0, or -1 with err. */
static int
find_job(struct reporting *r, const bson_t *filter, bson_t **found, struct app_err *err)
{
    bson_t *opts = BCON_NEW("projection", "{", "target", BCON_INT32(0), "}");
    struct dbread q = {
        DBREAD_FIND, ERASE_JOBS_COLLECTION, filter, opts, "find job", copy_first, found, NULL};
    int rc;

    *found = NULL;
    rc = dbread_run(r->store, &q, err);
    bson_destroy(opts);
    return rc;
}

/* An unfinished job of the same target (into *found, a copy), or none (*found NULL).
 * Returns 0, or -1 with err. */
static int
find_same(struct reporting *r, const struct erase_target *t, bson_t **found, struct app_err *err)
{
    bson_t *filter =
        BCON_NEW("kind", BCON_UTF8(erase_kind_names[t->kind]), "site_id", BCON_UTF8(t->site),
                 "state", "{", "$in", "[", BCON_UTF8("queued"), BCON_UTF8("running"), "]", "}");
    int rc;

    if (t->kind == ERASE_VISITOR) {
        BSON_APPEND_UTF8(filter, "target", t->visitor);
    }
    rc = find_job(r, filter, found, err);
    bson_destroy(filter);
    return rc;
}

/* Insert a new queued job for t (its document into *made, caller destroys). 0, or -1. */
static int
insert_job(struct reporting *r, const struct erase_target *t, bson_t **made, struct app_err *err)
{
    char id[ERASE_JOB_ID_LEN + 1];
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    bson_error_t berr;
    int rc = 0;

    *made = NULL;
    if (erase_random_hex(id, ERASE_JOB_ID_LEN / 2) != 0) {
        return err_set(err, ERR_INTERNAL, "getrandom failed");
    }
    /* The visitor's id stays in the job only while it runs (erase_run.c unsets it). */
    *made = BCON_NEW("_id", BCON_UTF8(id), "kind", BCON_UTF8(erase_kind_names[t->kind]), "site_id",
                     BCON_UTF8(t->site), "state", BCON_UTF8("queued"), "step", BCON_INT32(0),
                     "after", BCON_UTF8(""), "lease_until", BCON_INT64(0), "deleted", "{", "}",
                     "created_at", BCON_DATE_TIME(ts_now_ms()));
    if (t->kind == ERASE_VISITOR) {
        BSON_APPEND_UTF8(*made, "target", t->visitor);
    }
    client = store_client_pop(r->store);
    coll = store_collection(r->store, client, ERASE_JOBS_COLLECTION);
    if (!mongoc_collection_insert_one(coll, *made, NULL, NULL, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "insert job: %s", berr.message);
    }
    mongoc_collection_destroy(coll);
    store_client_push(r->store, client);
    return rc;
}

int
erase_handle_delete(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    struct erase_target t;
    struct app_err err = {0};
    const char *bad = erase_parse_path(request_path(conn), &t);
    bson_t *job = NULL;
    int status;

    if (bad != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = reporting_may_admin(conn, r, t.site, "erase")) != 0 ||
        (status = reporting_db_enter(conn, r)) != 0) {
        return status;
    }
    /* The same target while its job is unfinished: that job (two requests at once may still
     * make two jobs, both harmless). */
    status = find_same(r, &t, &job, &err);
    if (status == 0 && job == NULL) {
        status = insert_job(r, &t, &job, &err);
    }
    reporting_db_leave(r);
    if (status != 0) {
        bson_destroy(job);
        return reporting_db_failed(conn, r, "erase", &err);
    }
    status = http_send_json(conn, 202, job_json(job));
    bson_destroy(job);
    return status;
}

int
erase_handle_job(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    char id[ERASE_JOB_ID_LEN + 1];
    const char *bad = erase_parse_job_path(request_path(conn), id);
    struct app_err err = {0};
    bson_t *filter, *job = NULL;
    int status;

    if (bad != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if ((status = reporting_db_enter(conn, r)) != 0) {
        return status;
    }
    filter = BCON_NEW("_id", BCON_UTF8(id));
    status = find_job(r, filter, &job, &err);
    bson_destroy(filter);
    reporting_db_leave(r);
    if (status != 0) {
        bson_destroy(job);
        return reporting_db_failed(conn, r, "job", &err);
    }
    if (job == NULL) {
        return http_send_error(conn, 404, "Unknown job: %s", id);
    }
    const char *site = dbread_utf8(job, "site_id");
    if ((status = reporting_may_admin(conn, r, site != NULL ? site : "", "erase")) == 0) {
        status = http_send_json(conn, 200, job_json(job));
    }
    bson_destroy(job);
    return status;
}
