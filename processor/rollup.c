/* rollup.c - exact per-site, per-day figures kept up to date by the processors. */
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "log.h"
#include "rollup_doc.h"
#include "rollup_plan.h"
#include "ts.h"

/* Everything one rollup_apply() works with. */
struct ctx {
    store_t *s;
    const struct rollup_batch *b;
    mongoc_collection_t *events, *rollups, *paths, *users, *hours, *refs;
    struct app_err *err;
    struct rollup_plan *plan;
};

/* --- writes --------------------------------------------------------------------------- */

/* The fields a rollup document gets when an update creates it. */
static void
append_on_insert(bson_t *update, const struct rollup_plan *p, const struct plan_doc *d)
{
    bson_t set;
    char day[TS_FORMAT_LEN];

    bson_append_document_begin(update, "$setOnInsert", -1, &set);
    if (d->ns == PLAN_PATH || d->ns == PLAN_REF) {
        const char *scope = p->docs[d->scope].id;
        BSON_APPEND_UTF8(&set, "scope", scope);
        /* The leaf of the id "<scope>|<leaf>": the path, or the referrer's host. */
        BSON_APPEND_UTF8(&set, d->ns == PLAN_PATH ? "path" : "referrer", d->id + strlen(scope) + 1);
    } else {
        ts_format(d->ev->ts_ms, day);
        BSON_APPEND_UTF8(&set, "site_id", d->ev->site_id);
        bson_append_utf8(&set, "date", -1, day, 10);
        if (rollup_plan_is_hour(d)) {
            BSON_APPEND_DATE_TIME(&set, "hour", ts_floor(d->ev->ts_ms, TS_HOUR_MS));
            /* Its set u holds every user counted since its creation (a site-hour created
             * before the sets were kept has no u_all: reporting counts its users from the
             * raw events). */
            BSON_APPEND_BOOL(&set, "u_all", true);
        }
        if (d->kind == ROLLUP_KIND_TYPE || d->kind == ROLLUP_KIND_HOUR_TYPE) {
            BSON_APPEND_UTF8(&set, "event_type", d->ev->event_type);
        } else {
            BSON_APPEND_NULL(&set, "event_type");
        }
    }
    bson_append_document_end(update, &set);
}

/* {_id: id, "runs.<run>": {$not: {$gte: seq}}}: batch run:seq has not been applied to
 * the document (nor any later batch of that run). */
static bson_t *
not_applied_filter(const char *id, const char *run, int64_t seq)
{
    char key[ROLLUP_RUN_LEN + 8];

    snprintf(key, sizeof key, "runs.%s", run);
    return BCON_NEW("_id", BCON_UTF8(id), key, "{", "$not", "{", "$gte", BCON_INT64(seq), "}", "}");
}

/* Options of an upsert with the store's write concern. */
static bson_t *
upsert_opts(const store_t *s)
{
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    store_append_write_concern(s, opts);
    return opts;
}

/* Run one update. Returns 1 when it matched or upserted, 0 when an upsert answered a
 * duplicate key, -1 on any other failure. A duplicate key means that the document was
 * there and did not match, or that another processor created it at that moment and this
 * update changed nothing: which of the two, only the document tells (doc_state()). */
static int
update_doc(struct ctx *c, mongoc_collection_t *coll, const bson_t *filter, const bson_t *update,
           int upsert)
{
    bson_t *opts;
    bson_t reply;
    bson_error_t berr;
    int rc;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    opts = upsert ? upsert_opts(c->s) : NULL;
    if (mongoc_collection_update_one(coll, filter, update, opts, &reply, &berr)) {
        bson_iter_t it;
        rc = upsert ||
             (bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) > 0);
    } else if (berr.code == STORE_DUPLICATE_KEY ||
               store_first_write_error(&reply, NULL, 0) == STORE_DUPLICATE_KEY) {
        rc = 0;
    } else {
        err_set(c->err, ERR_TRANSIENT, "mongodb rollup update: %s", berr.message);
        rc = -1;
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    return rc;
}

/* The collection of a site-day, site-hour, path or referrer document. */
static mongoc_collection_t *
coll_of(const struct ctx *c, const struct plan_doc *d)
{
    if (d->ns == PLAN_PATH || d->ns == PLAN_REF) {
        return d->ns == PLAN_PATH ? c->paths : c->refs;
    }
    return rollup_plan_is_hour(d) ? c->hours : c->rollups;
}

/* What document `id` of coll says of batch run:seq (`batch`, its id), read from the document
 * itself (rollup_plan_doc_state()): its runs.<run> and whether its voided list holds the
 * batch. Returns the state, or -1 with c->err. */
static int
doc_state(struct ctx *c, mongoc_collection_t *coll, const char *id, const char *run, int64_t seq,
          const char *batch)
{
    char key[ROLLUP_RUN_LEN + 8];
    bson_t *filter, *opts;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int64_t runs_seq = 0;
    int voided = 0, rc;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    snprintf(key, sizeof key, "runs.%s", run);
    filter = BCON_NEW("_id", BCON_UTF8(id));
    opts = BCON_NEW("projection", "{", key, BCON_INT32(1), "voided", BCON_INT32(1), "}", "limit",
                    BCON_INT64(1));
    cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
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
        rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup read: %s", berr.message);
    } else {
        rc = (int)rollup_plan_doc_state(runs_seq, voided, seq);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(filter);
    return rc;
}

/* Answer question q (see rollup_plan_answer()): void its owner on its document unless the
 * owner has applied there, running the void again for as long as the document says neither
 * (a duplicate key from an upsert that lost the race to create the document). Returns 0 with
 * q->voided set, or -1 with c->err. */
static int
resolve(struct ctx *c, struct plan_question *q)
{
    const struct plan_doc *d = &c->plan->docs[q->doc];
    mongoc_collection_t *coll = coll_of(c, d);
    char run[ROLLUP_RUN_LEN + 1];
    int64_t seq;
    bson_t *filter, *update;
    int rc = 1; /* not settled yet */

    if (rollup_batch_parse(q->owner, run, &seq) != 0) {
        q->voided = 1; /* no batch of ours: nobody applies it */
        return 0;
    }
    filter = not_applied_filter(d->id, run, seq);
    update = BCON_NEW("$addToSet", "{", "voided", BCON_UTF8(q->owner), "}");
    append_on_insert(update, c->plan, d);
    for (int tries = 0; rc == 1 && tries < ROLLUP_UPDATE_TRIES; tries++) {
        int matched = update_doc(c, coll, filter, update, 1), st = ROLLUP_DOC_OPEN;
        if (matched < 0 || (!matched && (st = doc_state(c, coll, d->id, run, seq, q->owner)) < 0)) {
            rc = -1;
        } else if (rollup_plan_answer(q, matched, (enum rollup_doc_state)st)) {
            rc = 0;
        }
    }
    if (rc == 1) {
        rc = err_set(c->err, ERR_INVALID, "rollup document %s: batch %s neither applied nor voided",
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
capped_update(struct ctx *c, mongoc_collection_t *coll, const bson_t *filter, const bson_t *capped)
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
    rc = update_doc(c, coll, &uncapped, capped, 1);
    bson_destroy(&uncapped);
    return rc;
}

/* Run this batch's conditional upsert filter / update by itself until its document says it
 * is settled: the batch has applied there (now or before) or is voided there. A duplicate
 * key says nothing by itself (rollup_plan_doc_state()): when the document says neither, the
 * upsert lost the race to create it, and runs again on a document that now exists. A second
 * such miss of a site-hour's update is its full set u (the filter's last condition): then
 * `capped` (NULL: none) counts the views (capped_update()). Returns 0, or -1 with c->err. */
static int
settle(struct ctx *c, mongoc_collection_t *coll, const bson_t *filter, const bson_t *update,
       const bson_t *capped)
{
    bson_iter_t it;
    const char *id = bson_iter_init_find(&it, filter, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                         ? bson_iter_utf8(&it, NULL)
                         : "";

    for (int misses = 0; misses < ROLLUP_UPDATE_TRIES; misses++) {
        int rc = capped != NULL && misses >= 2 ? capped_update(c, coll, filter, capped)
                                               : update_doc(c, coll, filter, update, 1);
        if (rc != 0) {
            return rc < 0 ? -1 : 0;
        }
        if ((rc = doc_state(c, coll, id, c->b->run, c->b->seq, c->b->id)) != ROLLUP_DOC_OPEN) {
            return rc < 0 ? -1 : 0;
        }
    }
    return err_set(c->err, ERR_INVALID, "rollup document %s: batch %s neither applied nor voided",
                   id, c->b->id);
}

/* The upserts of one upsert_all(). */
struct upserts {
    struct ctx *c;
    mongoc_collection_t *coll;
    bson_t **filters, **updates, **capped;
};

/* The settle() of upsert i (chunked_settle_fn). */
static int
settle_one(void *arg, size_t i)
{
    struct upserts *u = arg;

    return settle(u->c, u->coll, u->filters[i], u->updates[i],
                  u->capped != NULL ? u->capped[i] : NULL);
}

/* Run this batch's upserts filters[i] / updates[i] in bulk writes (chunked_upsert()), each
 * settle()d by itself when its bulk write reports a write error; capped[i] (capped NULL: none)
 * is the update of a site-hour whose set u is full (see settle()). Returns 0, or -1 with
 * c->err. */
static int
upsert_all(struct ctx *c, mongoc_collection_t *coll, bson_t **filters, bson_t **updates,
           bson_t **capped, size_t n)
{
    struct upserts u = {c, coll, filters, updates, capped};

    return chunked_upsert(c->s, coll, filters, updates, n, settle_one, &u, "rollup", c->err);
}

/* updateMany {_id: {$in: ids}, field: from ("" = missing)} -> {$set: {field: this batch}}, in
 * commands of store_chunk() ids at most: a compare-and-set on each document (which ones
 * succeeded, a read tells). */
static int
cas_many(struct ctx *c, mongoc_collection_t *coll, const char *const *ids, size_t n,
         const char *field, const char *from)
{
    return chunked_cas(c->s, coll, ids, n, field, from, c->b->id, "rollup takeover", c->err);
}

static void
free_ops(bson_t **filters, bson_t **updates, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bson_destroy(filters[i]);
        bson_destroy(updates[i]);
    }
}

/* The filter x has built (store_in_end()), or NULL with c->err when it could not grow. */
static bson_t *
in_done(struct ctx *c, struct store_in *x)
{
    if (store_in_end(x, c->err) != 0) {
        bson_destroy(x->doc);
        return NULL;
    }
    return x->doc;
}

/* {_id: {$in: [the plan's user documents]}}, or NULL with c->err when it cannot be built. */
static bson_t *
users_filter(struct ctx *c)
{
    const struct rollup_plan *p = c->plan;
    struct store_in x;

    store_in_begin(&x, bson_new(), "_id");
    for (size_t i = 0; i < p->n_users; i++) {
        store_in_add(&x, p->docs[p->user_docs[i]].id);
    }
    return in_done(c, &x);
}

/* Read the owner (b) of each of the plan's user documents into the plan. */
static int
read_user_owners(struct ctx *c)
{
    bson_t *in;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    if ((in = users_filter(c)) == NULL) {
        return -1;
    }
    cur = mongoc_collection_find_with_opts(c->users, in, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const char *id, *b = "";
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
            continue;
        }
        id = bson_iter_utf8(&it, NULL);
        if (bson_iter_init_find(&it, doc, "b") && BSON_ITER_HOLDS_UTF8(&it)) {
            b = bson_iter_utf8(&it, NULL);
        }
        /* Allocates nothing: an owner skipped for want of memory would leave its user
         * uncounted. Not one of this batch's user documents: skipped. */
        rollup_plan_user_owner(c->plan, id, b);
    }
    if (mongoc_cursor_error(cur, &berr)) {
        rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup users: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(in);
    return rc;
}

/* Answer the plan's n_q user questions (is owner q[i].owner in the voided list of site-day
 * q[i].doc?) with one read of those site-days' voided lists, not one count per question.
 * User documents belong to site-days only, all in the rollups collection. Returns 0, or -1
 * with c->err. */
static int
read_voided(struct ctx *c, size_t n_q)
{
    struct rollup_plan *p = c->plan;
    struct store_in x;
    bson_t *f, *opts;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    store_in_begin(&x, bson_new(), "_id");
    for (size_t i = 0; i < n_q; i++) {
        size_t j = 0;
        p->q[i].voided = 0;
        while (j < i && p->q[j].doc != p->q[i].doc) {
            j++;
        }
        if (j == i) { /* each site-day once */
            store_in_add(&x, p->docs[p->q[i].doc].id);
        }
    }
    if ((f = in_done(c, &x)) == NULL) {
        return -1;
    }
    opts = BCON_NEW("projection", "{", "voided", BCON_INT32(1), "}");
    cur = mongoc_collection_find_with_opts(c->rollups, f, opts, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it, v, arr;
        const char *id;
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it) ||
            !bson_iter_init_find(&v, doc, "voided") || !BSON_ITER_HOLDS_ARRAY(&v)) {
            continue;
        }
        id = bson_iter_utf8(&it, NULL);
        for (size_t i = 0; i < n_q; i++) {
            if (strcmp(p->docs[p->q[i].doc].id, id) != 0 || !bson_iter_recurse(&v, &arr)) {
                continue;
            }
            while (!p->q[i].voided && bson_iter_next(&arr)) {
                p->q[i].voided = BSON_ITER_HOLDS_UTF8(&arr) &&
                                 strcmp(bson_iter_utf8(&arr, NULL), p->q[i].owner) == 0;
            }
        }
    }
    if (mongoc_cursor_error(cur, &berr)) {
        rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup voided: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(f);
    return rc;
}

/* Create the missing user documents (b: this batch), then learn which are this batch's:
 * created now or by an earlier try, or taken over. A user document whose owner has been
 * voided on its site-day is counted by nobody, since a voided batch never applies there:
 * it is taken over (compare-and-set of b) by this batch, which counts an event of that
 * user. Only voided owners are taken from, never voided here, so a live batch keeps its
 * users. */
static int
claim_users(struct ctx *c)
{
    struct rollup_plan *p = c->plan;
    size_t n = rollup_plan_users(p), n_q, n_cas, m = 0;
    bson_t **filters = calloc(n ? n : 1, sizeof *filters);
    bson_t **updates = calloc(n ? n : 1, sizeof *updates);
    int rc = -1;

    if (filters == NULL || updates == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (n == 0) {
        rc = 0;
        goto done;
    }
    /* Read the owners first: most users of a batch have a document already (an earlier
     * batch's), and only the missing ones are written, then read back (another processor
     * may have created one meanwhile). */
    if (read_user_owners(c) != 0) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const struct plan_doc *u = &p->docs[p->user_docs[i]];
        if (u->owner[0] == '\0') {
            filters[m] = BCON_NEW("_id", BCON_UTF8(u->id));
            updates[m++] = BCON_NEW("$setOnInsert", "{", "b", BCON_UTF8(c->b->id), "}");
        }
    }
    if (m > 0 &&
        (upsert_all(c, c->users, filters, updates, NULL, m) != 0 || read_user_owners(c) != 0)) {
        goto done;
    }
    /* Each now has an owner, as its document says; one that reads as none is counted by
     * nobody: fail, and the batch is retried. */
    for (size_t i = 0; i < n; i++) {
        const struct plan_doc *u = &p->docs[p->user_docs[i]];
        if (u->owner[0] == '\0') {
            err_set(c->err, ERR_INVALID, "rollup user document %s: no owner after its upsert",
                    u->id);
            goto done;
        }
    }
    n_q = rollup_plan_user_questions(p);
    if (n_q > 0 && read_voided(c, n_q) != 0) {
        goto done;
    }
    n_cas = rollup_plan_user_takeovers(p);
    for (size_t i = 0; i < n_cas; i++) {
        if (cas_many(c, c->users, p->cas[i].ids, p->cas[i].n, "b", p->cas[i].from) != 0) {
            goto done;
        }
    }
    if (n_cas > 0 && read_user_owners(c) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (filters != NULL && updates != NULL) {
        free_ops(filters, updates, m);
    }
    free(filters);
    free(updates);
    return rc;
}

/* Append {$addToSet: {u: {$each: [<hash>...]}}}: the users the batch counts in site-hour d. */
static void
append_user_hashes(bson_t *update, const struct rollup_plan *p, const struct plan_doc *d)
{
    bson_t add, set, each;
    char idx[24];
    const char *k;

    bson_append_document_begin(update, "$addToSet", -1, &add);
    bson_append_document_begin(&add, "u", -1, &set);
    bson_append_array_begin(&set, "$each", -1, &each);
    for (size_t x = 0; x < d->u_n; x++) {
        bson_uint32_to_string((uint32_t)x, &k, idx, sizeof idx);
        BSON_APPEND_INT64(&each, k, p->uhash[d->u_at + x]);
    }
    bson_append_array_end(&set, &each);
    bson_append_document_end(&add, &set);
    bson_append_document_end(update, &add);
}

/* Apply this batch's counts: one conditional upsert per site-day, site-hour, path and
 * referrer document with something to add, one bulk write per collection: the paths, the
 * referrers, the site-days, then the site-hours (a crash between two leaves the rest to a takeover,
 * figure by figure). */
static int
apply_counts(struct ctx *c)
{
    enum { PATHS, REFS, DAYS, HOURS, GROUPS };
    const struct rollup_plan *p = c->plan;
    size_t n = p->n_docs, m[GROUPS] = {0, 0, 0, 0};
    mongoc_collection_t *colls[GROUPS] = {c->paths, c->refs, c->rollups, c->hours};
    bson_t **f[GROUPS], **u[GROUPS], **caps;
    char key[ROLLUP_RUN_LEN + 8];
    int rc = -1, ok = 1;

    for (int g = 0; g < GROUPS; g++) {
        f[g] = calloc(n ? n : 1, sizeof *f[g]);
        u[g] = calloc(n ? n : 1, sizeof *u[g]);
        ok = ok && f[g] != NULL && u[g] != NULL;
    }
    caps = calloc(n ? n : 1, sizeof *caps);
    ok = ok && caps != NULL;
    if (!ok) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    snprintf(key, sizeof key, "runs.%s", c->b->run);
    for (size_t i = 0; i < n; i++) {
        const struct plan_doc *d = &p->docs[i];
        bson_t *filter, *update, *capped, inc;
        int g;
        if (d->ns == PLAN_USER || d->ns == PLAN_EVENT || (d->views == 0 && d->users == 0)) {
            continue; /* not a figure, or nothing to add */
        }
        g = d->ns == PLAN_PATH  ? PATHS
            : d->ns == PLAN_REF ? REFS
                                : (rollup_plan_is_hour(d) ? HOURS : DAYS);
        filter = not_applied_filter(d->id, c->b->run, c->b->seq);
        BCON_APPEND(filter, "voided", "{", "$ne", BCON_UTF8(c->b->id), "}");
        update = bson_new();
        bson_append_document_begin(update, "$inc", -1, &inc);
        BSON_APPEND_INT64(&inc, "views", d->views);
        if (g == DAYS) {
            BSON_APPEND_INT64(&inc, "users", d->users);
        }
        bson_append_document_end(update, &inc);
        if (g == HOURS && d->u_n > 0) {
            /* The set u grows only while it has fewer than ROLLUP_HOUR_USERS_MAX entries
             * (the filter's last condition); past that, capped counts the views alone. */
            capped = bson_copy(update);
            BCON_APPEND(capped, "$set", "{", key, BCON_INT64(c->b->seq), "u_capped",
                        BCON_BOOL(true), "}");
            append_on_insert(capped, p, d);
            BCON_APPEND(filter, ROLLUP_HOUR_USERS_CAP_KEY, "{", "$exists", BCON_BOOL(false), "}");
            append_user_hashes(update, p, d);
            caps[m[g]] = capped;
        }
        BCON_APPEND(update, "$set", "{", key, BCON_INT64(c->b->seq), "}");
        append_on_insert(update, p, d);
        f[g][m[g]] = filter;
        u[g][m[g]++] = update;
    }
    rc = 0;
    for (int g = 0; g < GROUPS && rc == 0; g++) {
        rc = upsert_all(c, colls[g], f[g], u[g], g == HOURS ? caps : NULL, m[g]);
#ifdef FAULT_INJECTION
        if (rc == 0 && g == DAYS && c->b->fault_hours != NULL &&
            c->b->seq == c->b->fault_hours_seq) {
            c->b->fault_hours(c->b);
        }
#endif
    }
done:
    for (int g = 0; g < GROUPS; g++) {
        if (f[g] != NULL && u[g] != NULL) {
            free_ops(f[g], u[g], m[g]);
        }
        free(f[g]);
        free(u[g]);
    }
    for (size_t i = 0; caps != NULL && i < n; i++) {
        bson_destroy(caps[i]);
    }
    free(caps);
    return rc;
}

/* The id of the plan's redelivered event i (chunked_id_fn). */
static const char *
dup_id(const void *arg, size_t i)
{
    const struct rollup_plan *p = arg;

    return p->evs[p->dups[i]].id;
}

/* Record the `own` ids and the delivery of stored event document doc in the plan's own[] and
 * dlv[], for each of its redelivered events [from, from + m) with that id (chunked_doc_fn). */
static void
dup_owners(void *arg, const bson_t *doc, size_t from, size_t m)
{
    struct rollup_plan *p = arg;
    bson_iter_t it, o;
    const char *id, *d = "";

    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
        return;
    }
    id = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, doc, "delivery") && BSON_ITER_HOLDS_UTF8(&it)) {
        d = bson_iter_utf8(&it, NULL);
    }
    /* Every copy of the id: a client's two sends of one event_id may share a batch. */
    for (size_t j = from; j < from + m; j++) {
        if (strcmp(p->evs[p->dups[j]].id, id) != 0) {
            continue;
        }
        snprintf(p->dlv[j], sizeof p->dlv[j], "%s", d);
        if (!bson_iter_init_find(&it, doc, "own") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
            continue;
        }
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            if (bson_iter_recurse(&it, &o) && bson_iter_find(&o, rollup_kind_names[k]) &&
                BSON_ITER_HOLDS_UTF8(&o)) {
                snprintf(p->own[j * ROLLUP_KINDS + (size_t)k], ROLLUP_BATCH_ID_MAX, "%s",
                         bson_iter_utf8(&o, NULL));
            }
        }
    }
}

/* The `own` ids and the delivery of the plan's redelivered events, read with one query per
 * store_chunk() of them, into its own[] and dlv[] ("" when missing). */
static int
read_owners(struct ctx *c)
{
    return chunked_find(c->s, c->events, c->plan->n_dups, dup_id, dup_owners, c->plan,
                        "rollup owners", c->err);
}

/* Decide, for every (event, figure) pair of the redelivered events, whether this batch
 * counts it (see rollup.h), a set at a time so that a whole redelivered batch costs a few
 * round trips: resolve each (owner, document) once, take the events over with one
 * compare-and-set per (figure, owner) and read back which are ours. */
static int
take_over(struct ctx *c)
{
    struct rollup_plan *p = c->plan;

    if (p->n_dups == 0) {
        return 0;
    }
    if (read_owners(c) != 0) {
        return -1;
    }
    rollup_plan_client_duplicates(p); /* no question, no void, no takeover for those */
    for (int round = 0; rollup_plan_pending(p) > 0; round++) {
        size_t n_q, n_cas;
        if (round == ROLLUP_TAKEOVER_TRIES) {
            /* Not MongoDB being away: retried a few times, then given up (drain.c). */
            return err_set(c->err, ERR_INVALID, "redelivered events: their owners keep changing");
        }
        n_q = rollup_plan_questions(p);
        for (size_t i = 0; i < n_q; i++) {
            if (resolve(c, &p->q[i]) != 0) {
                return -1;
            }
        }
        n_cas = rollup_plan_takeovers(p);
        for (size_t i = 0; i < n_cas; i++) {
            char field[16];
            snprintf(field, sizeof field, "own.%s", rollup_kind_names[p->cas[i].kind]);
            if (cas_many(c, c->events, p->cas[i].ids, p->cas[i].n, field, p->cas[i].from) != 0) {
                return -1;
            }
        }
        if (read_owners(c) != 0) {
            return -1;
        }
        rollup_plan_round_end(p);
    }
    return 0;
}

int
rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
             const enum insert_outcome *outcomes, size_t n, struct rollup_tally *tally,
             struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    struct rollup_plan plan;
    struct ctx c = {s, b, NULL, NULL, NULL, NULL, NULL, NULL, err, &plan};
    int rc = -1;

    c.events = store_collection(s, client, STORE_EVENTS_COLLECTION);
    c.rollups = store_collection(s, client, ROLLUP_COLLECTION);
    c.paths = store_collection(s, client, ROLLUP_PATHS_COLLECTION);
    c.users = store_collection(s, client, ROLLUP_USERS_COLLECTION);
    c.hours = store_collection(s, client, ROLLUP_HOURS_COLLECTION);
    c.refs = store_collection(s, client, ROLLUP_REFERRERS_COLLECTION);
    if (rollup_plan_init(&plan, b->id, evs, outcomes, n) != 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    /* Redelivered events: counted here only if their owner never will. Then the users: a
     * site-day counts the user documents this batch owns. */
    if (take_over(&c) != 0 || claim_users(&c) != 0) {
        goto done;
    }
#ifdef FAULT_INJECTION
    if (b->fault != NULL && b->seq == b->fault_seq) {
        b->fault(b);
    }
    if (b->fault_fail_seq != 0 && b->seq == b->fault_fail_seq) {
        err_set(err, ERR_INTERNAL, "failpoint: the rollup of batch %s fails", b->id);
        goto done;
    }
#endif
    rollup_plan_counts(&plan);
    rc = apply_counts(&c);
done:
    if (rc == 0) {
        tally->client_duplicates += plan.client_dups; /* once, as the batch succeeds */
    }
    tally->taken_over += plan.taken_over;
    tally->users_taken_over += plan.users_taken_over;
    mongoc_collection_destroy(c.events);
    mongoc_collection_destroy(c.rollups);
    mongoc_collection_destroy(c.paths);
    mongoc_collection_destroy(c.users);
    mongoc_collection_destroy(c.hours);
    mongoc_collection_destroy(c.refs);
    store_client_push(s, client);
    rollup_plan_free(&plan);
    return rc;
}
