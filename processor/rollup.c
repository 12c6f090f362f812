/* rollup.c - rollup_apply(): a batch's plan run on MongoDB: takeovers, user documents, counts. */
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "rollup_doc.h"
#include "rollup_plan.h"
#include "rollup_write.h"

/* Everything one rollup_apply() works with. */
struct ctx {
    store_t *s;
    const struct rollup_batch *b;
    mongoc_collection_t *events, *rollups, *paths, *users, *hours, *refs;
    mongoc_collection_t *visits, *entries, *exits, *dims, *dim_visits;
    bson_t *sites; /* take_over(): the sites of the redelivered events (chunked_sites_in()) */
    struct app_err *err;
    struct rollup_plan *plan;
};

/* The collection of a site-day, site-hour, path, referrer, visit or dimensions document. */
static mongoc_collection_t *
coll_of(const struct ctx *c, const struct plan_doc *d)
{
    if (d->ns == PLAN_DIMS || d->ns == PLAN_VDIMS) {
        return d->ns == PLAN_DIMS ? c->dims : c->dim_visits;
    }
    if (d->ns == PLAN_VISIT || d->ns == PLAN_ENTRY || d->ns == PLAN_EXIT) {
        return d->ns == PLAN_VISIT ? c->visits : d->ns == PLAN_ENTRY ? c->entries : c->exits;
    }
    if (d->ns == PLAN_PATH || d->ns == PLAN_REF) {
        return d->ns == PLAN_PATH ? c->paths : c->refs;
    }
    return rollup_plan_is_hour(d) ? c->hours : c->rollups;
}

/* The upserts of one upsert_all(). */
struct upserts {
    struct ctx *c;
    mongoc_collection_t *coll;
    bson_t **filters, **updates, **capped;
};

/* rollup_write_settle() of upsert i (chunked_settle_fn). */
static int
settle_one(void *arg, size_t i)
{
    struct upserts *u = arg;

    return rollup_write_settle(u->c->s, u->coll, u->c->b, u->filters[i], u->updates[i],
                               u->capped != NULL ? u->capped[i] : NULL, u->c->err);
}

/* Run this batch's upserts filters[i] / updates[i] in bulk writes (chunked_upsert()), each
 * settled by itself when its bulk write reports a write error; capped[i] (capped NULL: none)
 * is the update of a site-hour whose set u is full (see rollup_write_settle()). Returns 0, or
 * -1 with c->err. */
static int
upsert_all(struct ctx *c, mongoc_collection_t *coll, bson_t **filters, bson_t **updates,
           bson_t **capped, size_t n)
{
    struct upserts u = {c, coll, filters, updates, capped};

    return chunked_upsert(c->s, coll, filters, updates, n, settle_one, &u, "rollup bulk write",
                          c->err);
}

/* updateMany {_id: {$in: ids}, field: from ("" = missing)} -> {$set: {field: this batch}}, in
 * commands of store_chunk() ids at most: a compare-and-set on each document (which ones
 * succeeded, a read tells). */
static int
cas_many(struct ctx *c, mongoc_collection_t *coll, const char *const *ids, size_t n,
         const char *field, const char *from)
{
    return chunked_cas(c->s, coll, c->sites, ids, n, field, from, c->b->id, "rollup takeover",
                       c->err);
}

static void
free_ops(bson_t **filters, bson_t **updates, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bson_destroy(filters[i]);
        bson_destroy(updates[i]);
    }
}

/* Record the b of user document doc in the plan (chunked_hit_fn). */
static void
user_owner(void *arg, const bson_t *doc, size_t at)
{
    bson_iter_t it;
    const char *id, *b = "";

    (void)at;
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
        return;
    }
    id = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, doc, "b") && BSON_ITER_HOLDS_UTF8(&it)) {
        b = bson_iter_utf8(&it, NULL);
    }
    /* Allocates nothing: an owner skipped for want of memory would leave its user
     * uncounted. Not one of this batch's user documents: skipped. */
    rollup_plan_user_owner(arg, id, b);
}

/* Read the owner (b) of each of the plan's user documents (their ids in keys) into the plan,
 * with one query per store_chunk() of them. */
static int
read_user_owners(struct ctx *c, const struct chunked_keys *keys)
{
    return chunked_find(c->s, c->users, NULL, NULL, keys, user_owner, c->plan, "rollup users",
                        c->err);
}

/* Answer question `at` of the plan from site-day doc (its voided list): whether its owner is
 * in it (chunked_hit_fn). */
static void
voided_in(void *arg, const bson_t *doc, size_t at)
{
    struct plan_question *q = &((struct rollup_plan *)arg)->q[at];
    bson_iter_t v, arr;

    if (!bson_iter_init_find(&v, doc, "voided") || !BSON_ITER_HOLDS_ARRAY(&v) ||
        !bson_iter_recurse(&v, &arr)) {
        return;
    }
    while (!q->voided && bson_iter_next(&arr)) {
        q->voided = BSON_ITER_HOLDS_UTF8(&arr) && strcmp(bson_iter_utf8(&arr, NULL), q->owner) == 0;
    }
}

/* Answer the plan's n_q user questions (is owner q[i].owner in the voided list of site-day
 * q[i].doc?) with one read of those site-days' voided lists, each site-day once (the
 * questions sorted by its id), not one count per question, by their ids and sites (the
 * rollups' shard key {site_id, _id}). User documents belong to site-days only, all in the
 * rollups collection. Returns 0, or -1 with c->err. */
static int
read_voided(struct ctx *c, size_t n_q)
{
    struct rollup_plan *p = c->plan;
    struct chunked_keys keys;
    bson_t *opts = BCON_NEW("projection", "{", "voided", BCON_INT32(1), "}"), *sites = NULL;
    size_t *at = calloc(n_q, sizeof *at); /* the event of each question's site-day */
    int rc = -1;

    if (chunked_keys_new(&keys, n_q) != 0 || at == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_q; i++) {
        const struct plan_doc *d = &p->docs[p->q[i].doc];
        p->q[i].voided = 0;
        chunked_keys_add(&keys, d->id, i);
        at[i] = (size_t)(d->ev - p->evs);
    }
    chunked_keys_sort(&keys);
    if ((sites = chunked_sites_in(p->evs, at, n_q, c->err)) != NULL) {
        rc = chunked_find(c->s, c->rollups, sites, opts, &keys, voided_in, p, "rollup voided",
                          c->err);
    }
done:
    chunked_keys_free(&keys);
    free(at);
    bson_destroy(sites);
    bson_destroy(opts);
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
    struct chunked_keys keys; /* the user documents' ids */
    int rc = -1;

    if (chunked_keys_new(&keys, n) != 0 || filters == NULL || updates == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (n == 0) {
        rc = 0;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        chunked_keys_add(&keys, p->docs[p->user_docs[i]].id, i);
    }
    chunked_keys_sort(&keys);
    /* Read the owners first: most users of a batch have a document already (an earlier
     * batch's), and only the missing ones are written, then read back (another processor
     * may have created one meanwhile). */
    if (read_user_owners(c, &keys) != 0) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const struct plan_doc *u = &p->docs[p->user_docs[i]];
        if (u->owner[0] == '\0') {
            filters[m] = BCON_NEW("_id", BCON_UTF8(u->id));
            updates[m++] = BCON_NEW("$setOnInsert", "{", "b", BCON_UTF8(c->b->id), "}");
        }
    }
    if (m > 0 && (upsert_all(c, c->users, filters, updates, NULL, m) != 0 ||
                  read_user_owners(c, &keys) != 0)) {
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
    if (n_cas > 0 && read_user_owners(c, &keys) != 0) {
        goto done;
    }
    rc = 0;
done:
    if (filters != NULL && updates != NULL) {
        free_ops(filters, updates, m);
    }
    free(filters);
    free(updates);
    chunked_keys_free(&keys);
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

/* Apply this batch's counts: one conditional upsert per site-day, site-hour, path, referrer,
 * visit and dimensions document with something to add (a visit document: with an event counted
 * there), one bulk write per collection: the paths, the referrers, the site-days, the
 * site-hours, the dimensions, then the visit site-days and site-hours, the visits' dimensions,
 * the entry pages and the exit pages (a crash between two leaves the rest to a takeover, figure
 * by figure). */
static int
apply_counts(struct ctx *c)
{
    enum { PATHS, REFS, DAYS, HOURS, DIMS, VISITS, VDIMS, ENTRIES, EXITS, GROUPS };
    const struct rollup_plan *p = c->plan;
    size_t n = p->n_docs, m[GROUPS] = {0};
    mongoc_collection_t *colls[GROUPS] = {c->paths,  c->refs,       c->rollups, c->hours, c->dims,
                                          c->visits, c->dim_visits, c->entries, c->exits};
    /* f, u: each group's filters and updates; caps: those of a site-hour or dimensions
     * document whose set u is full (rollup_write_settle()). */
    bson_t **f[GROUPS], **u[GROUPS], **caps[GROUPS];
    char key[ROLLUP_RUN_LEN + 8];
    int rc = -1, ok = 1;

    for (int g = 0; g < GROUPS; g++) {
        f[g] = calloc(n ? n : 1, sizeof *f[g]);
        u[g] = calloc(n ? n : 1, sizeof *u[g]);
        caps[g] = calloc(n ? n : 1, sizeof *caps[g]);
        ok = ok && f[g] != NULL && u[g] != NULL && caps[g] != NULL;
    }
    if (!ok) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    snprintf(key, sizeof key, "runs.%s", c->b->run);
    for (size_t i = 0; i < n; i++) {
        const struct plan_doc *d = &p->docs[i];
        bson_t *filter, *update, *capped, inc;
        int g;
        if (d->ns == PLAN_USER || d->ns == PLAN_EVENT ||
            (d->views == 0 && d->users == 0 && d->hits == 0)) {
            continue; /* not a figure, or nothing to add */
        }
        g = d->ns == PLAN_PATH       ? PATHS
            : d->ns == PLAN_REF      ? REFS
            : d->ns == PLAN_VISIT    ? VISITS
            : d->ns == PLAN_ENTRY    ? ENTRIES
            : d->ns == PLAN_EXIT     ? EXITS
            : d->ns == PLAN_DIMS     ? DIMS
            : d->ns == PLAN_VDIMS    ? VDIMS
            : rollup_plan_is_hour(d) ? HOURS
                                     : DAYS;
        filter = rollup_write_not_applied(p, d, c->b->run, c->b->seq);
        BCON_APPEND(filter, "voided", "{", "$ne", BCON_UTF8(c->b->id), "}");
        update = bson_new();
        bson_append_document_begin(update, "$inc", -1, &inc);
        if (g >= VISITS) {
            BSON_APPEND_INT64(&inc, "visits", d->visits);
            BSON_APPEND_INT64(&inc, "bounces", d->bounces);
            if (g == VISITS || g == VDIMS) {
                BSON_APPEND_INT64(&inc, "duration_ms", d->duration_ms);
            }
        } else {
            BSON_APPEND_INT64(&inc, "views", d->views);
        }
        if (g == DAYS) {
            BSON_APPEND_INT64(&inc, "users", d->users);
        } else if (g == DIMS) {
            BSON_APPEND_INT64(&inc, "pageviews", d->pageviews);
        }
        bson_append_document_end(update, &inc);
        if ((g == HOURS || g == DIMS) && d->u_n > 0) {
            /* The set u grows only while it has fewer than ROLLUP_HOUR_USERS_MAX entries
             * (the filter's last condition); past that, capped counts the views alone. */
            capped = bson_copy(update);
            BCON_APPEND(capped, "$set", "{", key, BCON_INT64(c->b->seq), "u_capped",
                        BCON_BOOL(true), "}");
            rollup_write_on_insert(capped, p, d);
            BCON_APPEND(filter, ROLLUP_HOUR_USERS_CAP_KEY, "{", "$exists", BCON_BOOL(false), "}");
            append_user_hashes(update, p, d);
            caps[g][m[g]] = capped;
        }
        BCON_APPEND(update, "$set", "{", key, BCON_INT64(c->b->seq), "}");
        rollup_write_on_insert(update, p, d);
        f[g][m[g]] = filter;
        u[g][m[g]++] = update;
    }
    rc = 0;
    for (int g = 0; g < GROUPS && rc == 0; g++) {
        rc = upsert_all(c, colls[g], f[g], u[g], g == HOURS || g == DIMS ? caps[g] : NULL, m[g]);
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
        for (size_t i = 0; caps[g] != NULL && i < m[g]; i++) {
            bson_destroy(caps[g][i]);
        }
        free(f[g]);
        free(u[g]);
        free(caps[g]);
    }
    return rc;
}

/* Record the `own` ids and the delivery of stored event document doc in the plan's own[] and
 * dlv[], for its redelivered event j (chunked_hit_fn: every copy of the id, as a client's two
 * sends of one event_id may share a batch). */
static void
dup_owner(void *arg, const bson_t *doc, size_t j)
{
    struct rollup_plan *p = arg;
    bson_iter_t it, o;

    p->dlv[j][0] = '\0';
    if (bson_iter_init_find(&it, doc, "delivery") && BSON_ITER_HOLDS_UTF8(&it)) {
        snprintf(p->dlv[j], sizeof p->dlv[j], "%s", bson_iter_utf8(&it, NULL));
    }
    if (!bson_iter_init_find(&it, doc, "own") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return;
    }
    for (int k = 0; k < ROLLUP_KINDS; k++) {
        if (bson_iter_recurse(&it, &o) && bson_iter_find(&o, rollup_kind_names[k]) &&
            BSON_ITER_HOLDS_UTF8(&o)) {
            snprintf(p->own[j * ROLLUP_KINDS + (size_t)k], ROLLUP_BATCH_ID_MAX, "%s",
                     bson_iter_utf8(&o, NULL));
        }
    }
}

/* The `own` ids and the delivery of the plan's redelivered events (their ids in keys), read
 * with one query per store_chunk() of them, into its own[] and dlv[] ("" when missing). */
static int
read_owners(struct ctx *c, const struct chunked_keys *keys)
{
    return chunked_find(c->s, c->events, c->sites, NULL, keys, dup_owner, c->plan, "rollup owners",
                        c->err);
}

/* The rounds of take_over(), with the ids of the redelivered events in keys. */
static int
take_over_rounds(struct ctx *c, const struct chunked_keys *keys)
{
    struct rollup_plan *p = c->plan;

    if (read_owners(c, keys) != 0) {
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
            struct plan_question *q = &p->q[i];
            if (rollup_write_void(c->s, coll_of(c, &p->docs[q->doc]), p, q, c->err) != 0) {
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
        if (read_owners(c, keys) != 0) {
            return -1;
        }
        rollup_plan_round_end(p);
    }
    return 0;
}

/* Decide, for every (event, figure) pair of the redelivered events, whether this batch
 * counts it (see rollup.h), a set at a time so that a whole redelivered batch costs a few
 * round trips: resolve each (owner, document) once, take the events over with one
 * compare-and-set per (figure, owner) and read back which are ours. */
static int
take_over(struct ctx *c)
{
    struct rollup_plan *p = c->plan;
    struct chunked_keys keys;
    int rc;

    if (p->n_dups == 0) {
        return 0;
    }
    if (chunked_keys_new(&keys, p->n_dups) != 0) {
        chunked_keys_free(&keys);
        return err_set(c->err, ERR_INTERNAL, "out of memory");
    }
    for (size_t j = 0; j < p->n_dups; j++) {
        chunked_keys_add(&keys, p->evs[p->dups[j]].id, j);
    }
    chunked_keys_sort(&keys);
    c->sites = chunked_sites_in(p->evs, p->dups, p->n_dups, c->err);
    rc = c->sites != NULL ? take_over_rounds(c, &keys) : -1;
    bson_destroy(c->sites);
    c->sites = NULL;
    chunked_keys_free(&keys);
    return rc;
}

int
rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
             const enum insert_outcome *outcomes, size_t n, const struct sitetz *tzs,
             struct rollup_tally *tally, struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    struct rollup_plan plan;
    struct ctx c = {s,    b,    NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL, err,  &plan};
    int rc = -1;

    c.events = store_collection(s, client, STORE_EVENTS_COLLECTION);
    c.rollups = store_collection(s, client, ROLLUP_COLLECTION);
    c.paths = store_collection(s, client, ROLLUP_PATHS_COLLECTION);
    c.users = store_collection(s, client, ROLLUP_USERS_COLLECTION);
    c.hours = store_collection(s, client, ROLLUP_HOURS_COLLECTION);
    c.refs = store_collection(s, client, ROLLUP_REFERRERS_COLLECTION);
    c.visits = store_collection(s, client, ROLLUP_VISITS_COLLECTION);
    c.entries = store_collection(s, client, ROLLUP_ENTRY_PAGES_COLLECTION);
    c.exits = store_collection(s, client, ROLLUP_EXIT_PAGES_COLLECTION);
    c.dims = store_collection(s, client, ROLLUP_DIMS_COLLECTION);
    c.dim_visits = store_collection(s, client, ROLLUP_DIM_VISITS_COLLECTION);
    if (rollup_plan_init(&plan, b->id, evs, outcomes, n, tzs) != 0) {
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
    mongoc_collection_destroy(c.visits);
    mongoc_collection_destroy(c.entries);
    mongoc_collection_destroy(c.exits);
    mongoc_collection_destroy(c.dims);
    mongoc_collection_destroy(c.dim_visits);
    store_client_push(s, client);
    rollup_plan_free(&plan);
    return rc;
}
