/* rollup.c - exact per-site, per-day figures kept up to date by the processors. */
#include "rollup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rollup_doc.h"
#include "ts.h"

/* How many times an event's owner may change under our feet before we give up (and
 * retry the batch later): each change is another processor taking it over. */
#define TAKEOVER_TRIES 8

/* One document this batch touches. */
enum doc_ns { NS_SCOPE = 0, NS_PATH = 1, NS_USER = 2 };

struct doc {
    char *id;
    int ns;                 /* enum doc_ns: its collection (the same id may be in two) */
    int is_path;            /* rollup_paths, else rollups */
    const struct event *ev; /* one of its events: the fields written at insert */
    int kind;               /* the kind of its figure */
    long scope;             /* path and user documents: the index of their site-day */
    int64_t views, users;
    int mine;                        /* user documents: created by, or taken over by, this batch */
    char owner[ROLLUP_BATCH_ID_MAX]; /* user documents: their b, as last read */
};

/* Documents by id: an array and an open-addressing index over it. */
struct table {
    struct doc *docs;
    size_t n, cap;
    long *slots; /* index into docs, or -1 */
    size_t nslots;
};

/* Everything one rollup_apply() works with. */
struct ctx {
    store_t *s;
    const struct rollup_batch *b;
    mongoc_collection_t *events, *rollups, *paths, *users;
    struct app_err *err;
    struct rollup_tally *tally;
};

void
rollup_batch_init(struct rollup_batch *b)
{
    char rnd[EVENT_ID_LEN + 1];

    /* The random part of a UUIDv7: 16 hex digits (62 random bits). */
    event_new_id(ts_now_ms(), rnd);
    snprintf(b->run, sizeof b->run, "%.4s%.12s", rnd + 19, rnd + 24);
    b->seq = 0;
    b->id[0] = '\0';
#ifdef FAULT_INJECTION
    b->fault = NULL;
    b->fault_seq = 0;
#endif
}

const char *const rollup_kind_names[ROLLUP_KINDS] = {"a", "t", "pa", "pt"};

int
rollup_append_own(bson_t *doc, const struct event *ev, const char *batch)
{
    bson_t own;

    if (!bson_append_document_begin(doc, "own", -1, &own)) {
        return -1;
    }
    for (int k = 0; k < ROLLUP_KINDS; k++) {
        if (k < ROLLUP_KIND_PATH_ALL || (ev->path != NULL && ev->path[0] != '\0')) {
            bson_append_utf8(&own, rollup_kind_names[k], -1, batch, -1);
        }
    }
    return bson_append_document_end(doc, &own) ? 0 : -1;
}

void
rollup_batch_next(struct rollup_batch *b)
{
    b->seq++;
    snprintf(b->id, sizeof b->id, "%s:%" PRId64, b->run, b->seq);
}

/* Split a batch id "<run>:<seq>". Returns 0, or -1 when it is not one. */
static int
parse_batch(const char *id, char run[ROLLUP_RUN_LEN + 1], int64_t *seq)
{
    const char *colon = strchr(id, ':');
    char *end;
    long long v;

    if (colon == NULL || colon - id != ROLLUP_RUN_LEN) {
        return -1;
    }
    v = strtoll(colon + 1, &end, 10);
    if (*end != '\0' || v < 1) {
        return -1;
    }
    memcpy(run, id, ROLLUP_RUN_LEN);
    run[ROLLUP_RUN_LEN] = '\0';
    *seq = v;
    return 0;
}

/* --- ids ------------------------------------------------------------------------------ */

static int
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* --- the table ------------------------------------------------------------------------ */

static uint64_t
hash(int ns, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)ns;
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static int
table_init(struct table *t, size_t max)
{
    t->n = 0;
    t->cap = max ? max : 1;
    t->nslots = t->cap * 2;
    t->docs = calloc(t->cap, sizeof *t->docs);
    t->slots = malloc(t->nslots * sizeof *t->slots);
    if (t->docs == NULL || t->slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < t->nslots; i++) {
        t->slots[i] = -1;
    }
    return 0;
}

static void
table_free(struct table *t)
{
    for (size_t i = 0; t->docs != NULL && i < t->n; i++) {
        free(t->docs[i].id);
    }
    free(t->docs);
    free(t->slots);
}

/* The slot of document `id` of namespace ns: where it is, or the free slot where it
 * would go. */
static size_t
table_slot(const struct table *t, const char *id, int ns)
{
    size_t slot = hash(ns, id) % t->nslots;

    while (t->slots[slot] >= 0) {
        const struct doc *d = &t->docs[t->slots[slot]];
        if (d->ns == ns && strcmp(d->id, id) == 0) {
            break;
        }
        slot = (slot + 1) % t->nslots;
    }
    return slot;
}

/* The index of the document `id` of namespace ns, or -1 when it is not in the table. */
static long
table_find(const struct table *t, const char *id, int ns)
{
    return t->slots[table_slot(t, id, ns)];
}

/* The index of the document `id` of namespace ns (id is taken: freed here when already
 * present), added with the given fields when new; -1 when id is NULL (out of memory).
 * At most `max` distinct ids (table_init()). */
static long
table_ref(struct table *t, char *id, int ns, const struct event *ev, int kind, long scope)
{
    size_t slot;

    if (id == NULL) {
        return -1;
    }
    slot = table_slot(t, id, ns);
    if (t->slots[slot] >= 0) {
        free(id);
        return t->slots[slot];
    }
    if (t->n == t->cap) {
        free(id);
        return -1; /* cannot happen: the caller sized the table */
    }
    t->docs[t->n] = (struct doc){id, ns, ns == NS_PATH, ev, kind, scope, 0, 0, 0, ""};
    t->slots[slot] = (long)t->n;
    return (long)t->n++;
}

/* --- writes --------------------------------------------------------------------------- */

static int cas_many(struct ctx *c, mongoc_collection_t *coll, const char *const *ids, size_t n,
                    const char *field, const char *from);

/* The fields a rollup document gets when an update creates it. */
static void
append_on_insert(bson_t *update, const struct table *t, const struct doc *d)
{
    bson_t set;
    char day[TS_FORMAT_LEN];

    bson_append_document_begin(update, "$setOnInsert", -1, &set);
    if (d->is_path) {
        BSON_APPEND_UTF8(&set, "scope", t->docs[d->scope].id);
        BSON_APPEND_UTF8(&set, "path", d->ev->path);
    } else {
        ts_format(d->ev->ts_ms, day);
        BSON_APPEND_UTF8(&set, "site_id", d->ev->site_id);
        bson_append_utf8(&set, "date", -1, day, 10);
        if (d->kind == ROLLUP_KIND_TYPE) {
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

/* Run one update. Returns 1 when it matched or upserted, 0 when an upsert found the
 * document there but not matching (a duplicate key), -1 on any other failure. */
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

/* Whether batch `victim` has been voided on document d (1) or has applied there (0):
 * voids it first when it has not applied. -1 on failure. */
static int
resolve(struct ctx *c, const struct table *t, const struct doc *d, const char *victim)
{
    mongoc_collection_t *coll = d->is_path ? c->paths : c->rollups;
    char run[ROLLUP_RUN_LEN + 1];
    int64_t seq;
    bson_t *filter, *update;
    bson_iter_t it, arr;
    int rc;

    if (parse_batch(victim, run, &seq) != 0) {
        return 1; /* no batch of ours: nobody applies it */
    }
    filter = not_applied_filter(d->id, run, seq);
    update = BCON_NEW("$addToSet", "{", "voided", BCON_UTF8(victim), "}");
    append_on_insert(update, t, d);
    rc = update_doc(c, coll, filter, update, 1);
    bson_destroy(filter);
    bson_destroy(update);
    if (rc != 0) {
        return rc; /* voided now (or before), or a failure */
    }
    /* runs.<run> >= seq: it applied here, unless it had been voided before that. */
    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    filter = BCON_NEW("_id", BCON_UTF8(d->id));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *doc;
    bson_error_t berr;
    rc = 0;
    if (mongoc_cursor_next(cur, &doc)) {
        if (bson_iter_init_find(&it, doc, "voided") && BSON_ITER_HOLDS_ARRAY(&it) &&
            bson_iter_recurse(&it, &arr)) {
            while (bson_iter_next(&arr)) {
                if (BSON_ITER_HOLDS_UTF8(&arr) && strcmp(bson_iter_utf8(&arr, NULL), victim) == 0) {
                    rc = 1;
                }
            }
        }
    } else if (mongoc_cursor_error(cur, &berr)) {
        rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup read: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return rc;
}

/* How many of the n items from `from` on the next command takes (store_chunk() at most),
 * or 0 with c->err "stopping" once a stop is requested. */
static size_t
next_chunk(struct ctx *c, size_t from, size_t n)
{
    size_t m = store_chunk(c->s);

    if (store_stopping(c->s, c->err) != 0) {
        return 0;
    }
    return m < n - from ? m : n - from;
}

/* Run the upserts filters[i] / updates[i] (at most store_chunk()) as one unordered bulk write. When
 * it reports a write error (a duplicate key: an upsert whose condition failed on an existing
 * document), run each by itself: servers differ in what they keep of a bulk with
 * errors (see ../shared/MONGO.md), and each update here is safe to repeat.
 * Returns 0, or -1 with c->err. */
static int
upsert_chunk(struct ctx *c, mongoc_collection_t *coll, bson_t **filters, bson_t **updates, size_t n)
{
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t *one = BCON_NEW("upsert", BCON_BOOL(true));
    mongoc_bulk_operation_t *bulk;
    bson_t reply;
    bson_error_t berr;
    int rc = -1;

    store_append_write_concern(c->s, opts);
    bulk = mongoc_collection_create_bulk_operation_with_opts(coll, opts);
    for (size_t i = 0; i < n; i++) {
        if (!mongoc_bulk_operation_update_one_with_opts(bulk, filters[i], updates[i], one, &berr)) {
            err_set(c->err, ERR_INTERNAL, "rollup update: %s", berr.message);
            bson_init(&reply);
            goto done;
        }
    }
    if (mongoc_bulk_operation_execute(bulk, &reply, &berr) != 0) {
        store_chunk_outcome(c->s, n, NULL);
        rc = 0;
    } else if (berr.code == STORE_DUPLICATE_KEY || store_first_write_error(&reply, NULL, 0) != 0) {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = update_doc(c, coll, filters[i], updates[i], 1) < 0 ? -1 : 0;
        }
    } else {
        store_chunk_outcome(c->s, n, &berr);
        err_set(c->err, ERR_TRANSIENT, "mongodb rollup bulk write: %s", berr.message);
    }
done:
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(opts);
    bson_destroy(one);
    return rc;
}

/* Run the upserts filters[i] / updates[i] in bulk writes of store_chunk() at most. Returns
 * 0, or -1 with c->err. */
static int
upsert_all(struct ctx *c, mongoc_collection_t *coll, bson_t **filters, bson_t **updates, size_t n)
{
    for (size_t from = 0, m; from < n; from += m) {
        if ((m = next_chunk(c, from, n)) == 0 ||
            upsert_chunk(c, coll, filters + from, updates + from, m) != 0) {
            return -1;
        }
    }
    return 0;
}

static void
free_ops(bson_t **filters, bson_t **updates, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bson_destroy(filters[i]);
        bson_destroy(updates[i]);
    }
}

/* A filter {_id: {$in: [...]}} being built: in_begin(), in_add() for each id, in_end(). */
struct in_filter {
    bson_t *f;
    bson_t in, list;
    size_t n;
};

static void
in_begin(struct in_filter *x)
{
    x->f = bson_new();
    x->n = 0;
    bson_append_document_begin(x->f, "_id", -1, &x->in);
    bson_append_array_begin(&x->in, "$in", -1, &x->list);
}

static void
in_add(struct in_filter *x, const char *id)
{
    char key[24];

    snprintf(key, sizeof key, "%zu", x->n++);
    BSON_APPEND_UTF8(&x->list, key, id);
}

/* The filter, to free with bson_destroy(). */
static bson_t *
in_end(struct in_filter *x)
{
    bson_append_array_end(&x->in, &x->list);
    bson_append_document_end(x->f, &x->in);
    return x->f;
}

/* {_id: {$in: [ids of docs[idx[0..n)]]}}. */
static bson_t *
ids_filter(const struct table *t, const long *idx, size_t n)
{
    struct in_filter x;

    in_begin(&x);
    for (size_t i = 0; i < n; i++) {
        in_add(&x, t->docs[idx[i]].id);
    }
    return in_end(&x);
}

/* Read the owner (b) of each user document docs[user_docs[0..n)] into its doc's owner,
 * and mark the ones that are this batch's. */
static int
read_user_owners(struct ctx *c, struct table *t, const long *user_docs, size_t n)
{
    bson_t *in;
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    in = ids_filter(t, user_docs, n);
    cur = mongoc_collection_find_with_opts(c->users, in, NULL, NULL);
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const char *b = "";
        long di;
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
            continue;
        }
        /* A lookup, allocating nothing: an owner skipped here for want of memory would
         * leave its user uncounted. */
        di = table_find(t, bson_iter_utf8(&it, NULL), NS_USER);
        if (di < 0) {
            continue; /* not one of this batch's user documents */
        }
        if (bson_iter_init_find(&it, doc, "b") && BSON_ITER_HOLDS_UTF8(&it)) {
            b = bson_iter_utf8(&it, NULL);
        }
        snprintf(t->docs[di].owner, sizeof t->docs[di].owner, "%s", b);
        t->docs[di].mine = strcmp(b, c->b->id) == 0;
    }
    if (mongoc_cursor_error(cur, &berr)) {
        rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup users: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(in);
    return rc;
}

/* Whether batch id `b` is in the voided list of the rollup document `scope`: 1, 0, or -1
 * on failure. */
static int
is_voided(struct ctx *c, const struct doc *scope, const char *b)
{
    bson_t *filter;
    bson_error_t berr;
    int64_t n;

    if (store_stopping(c->s, c->err) != 0) {
        return -1;
    }
    filter = BCON_NEW("_id", BCON_UTF8(scope->id), "voided", BCON_UTF8(b));
    n = mongoc_collection_count_documents(c->rollups, filter, NULL, NULL, NULL, &berr);
    bson_destroy(filter);
    if (n < 0) {
        return err_set(c->err, ERR_TRANSIENT, "mongodb rollup voided: %s", berr.message);
    }
    return n > 0;
}

/* Create the missing user documents (b: this batch), then learn which are this batch's:
 * created now or by an earlier try, or taken over. A user document whose owner has been
 * voided on its site-day is counted by nobody, since a voided batch never applies there:
 * it is taken over (compare-and-set of b) by this batch, which counts an event of that
 * user. Only voided owners are taken from, never voided here, so a live batch keeps its
 * users. */
static int
claim_users(struct ctx *c, struct table *t, const long *user_docs, size_t n)
{
    bson_t **filters = calloc(n ? n : 1, sizeof *filters);
    bson_t **updates = calloc(n ? n : 1, sizeof *updates);
    size_t taken = 0;
    int rc = -1;

    if (filters == NULL || updates == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        filters[i] = BCON_NEW("_id", BCON_UTF8(t->docs[user_docs[i]].id));
        updates[i] = BCON_NEW("$setOnInsert", "{", "b", BCON_UTF8(c->b->id), "}");
    }
    if (n == 0) {
        rc = 0;
        goto done;
    }
    if (upsert_all(c, c->users, filters, updates, n) != 0 ||
        read_user_owners(c, t, user_docs, n) != 0) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const struct doc *u = &t->docs[user_docs[i]];
        const char *uid = u->id, *owner = u->owner;
        int v;
        if (u->mine || owner[0] == '\0') {
            continue;
        }
        if ((v = is_voided(c, &t->docs[u->scope], owner)) < 0) {
            goto done;
        }
        if (v == 1) {
            if (cas_many(c, c->users, &uid, 1, "b", owner) != 0) {
                goto done;
            }
            taken++;
        }
    }
    if (taken > 0) {
        size_t before = 0, after = 0;
        for (size_t i = 0; i < n; i++) {
            before += t->docs[user_docs[i]].mine != 0;
        }
        if (read_user_owners(c, t, user_docs, n) != 0) {
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            after += t->docs[user_docs[i]].mine != 0;
        }
        c->tally->users_taken_over += after - before;
    }
    rc = 0;
done:
    if (filters != NULL && updates != NULL) {
        free_ops(filters, updates, n);
    }
    free(filters);
    free(updates);
    return rc;
}

/* Apply this batch's counts: one conditional upsert per site-day and per path document
 * with something to add. */
static int
apply_counts(struct ctx *c, const struct table *t)
{
    size_t n = t->n, n_scope = 0, n_path = 0;
    bson_t **f = calloc(n ? n : 1, sizeof *f), **u = calloc(n ? n : 1, sizeof *u);
    bson_t **pf = calloc(n ? n : 1, sizeof *pf), **pu = calloc(n ? n : 1, sizeof *pu);
    char key[ROLLUP_RUN_LEN + 8];
    int rc = -1;

    if (f == NULL || u == NULL || pf == NULL || pu == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    snprintf(key, sizeof key, "runs.%s", c->b->run);
    for (size_t i = 0; i < n; i++) {
        const struct doc *d = &t->docs[i];
        bson_t *filter, *update, inc;
        if (d->ev == NULL || (d->views == 0 && d->users == 0)) {
            continue; /* a user document, or nothing to add */
        }
        filter = not_applied_filter(d->id, c->b->run, c->b->seq);
        BCON_APPEND(filter, "voided", "{", "$ne", BCON_UTF8(c->b->id), "}");
        update = bson_new();
        bson_append_document_begin(update, "$inc", -1, &inc);
        BSON_APPEND_INT64(&inc, "views", d->views);
        if (!d->is_path) {
            BSON_APPEND_INT64(&inc, "users", d->users);
        }
        bson_append_document_end(update, &inc);
        BCON_APPEND(update, "$set", "{", key, BCON_INT64(c->b->seq), "}");
        append_on_insert(update, t, d);
        if (d->is_path) {
            pf[n_path] = filter;
            pu[n_path++] = update;
        } else {
            f[n_scope] = filter;
            u[n_scope++] = update;
        }
    }
    rc = upsert_all(c, c->paths, pf, pu, n_path) == 0 &&
                 upsert_all(c, c->rollups, f, u, n_scope) == 0
             ? 0
             : -1;
done:
    if (f != NULL && u != NULL) {
        free_ops(f, u, n_scope);
    }
    if (pf != NULL && pu != NULL) {
        free_ops(pf, pu, n_path);
    }
    free(f);
    free(u);
    free(pf);
    free(pu);
    return rc;
}

/* The `own` ids of the already-stored events evs[dups[0..n)], read with one query per
 * store_chunk() of them, into own[i * ROLLUP_KINDS + k] ("" when missing). */
static int
read_owners(struct ctx *c, const struct event *evs, const size_t *dups, size_t n,
            char (*own)[ROLLUP_BATCH_ID_MAX])
{
    for (size_t from = 0, m; from < n; from += m) {
        struct in_filter x;
        bson_t *f;
        mongoc_cursor_t *cur;
        const bson_t *doc;
        bson_error_t berr;
        int rc = 0;

        if ((m = next_chunk(c, from, n)) == 0) {
            return -1;
        }
        in_begin(&x);
        for (size_t i = from; i < from + m; i++) {
            in_add(&x, evs[dups[i]].id);
        }
        f = in_end(&x);
        cur = mongoc_collection_find_with_opts(c->events, f, NULL, NULL);
        while (mongoc_cursor_next(cur, &doc)) {
            bson_iter_t it, o;
            const char *id;
            size_t j;
            if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
                continue;
            }
            id = bson_iter_utf8(&it, NULL);
            for (j = from; j < from + m && strcmp(evs[dups[j]].id, id) != 0; j++) {
            }
            if (j == from + m || !bson_iter_init_find(&it, doc, "own") ||
                !BSON_ITER_HOLDS_DOCUMENT(&it)) {
                continue;
            }
            for (int k = 0; k < ROLLUP_KINDS; k++) {
                if (bson_iter_recurse(&it, &o) && bson_iter_find(&o, rollup_kind_names[k]) &&
                    BSON_ITER_HOLDS_UTF8(&o)) {
                    snprintf(own[j * ROLLUP_KINDS + (size_t)k], ROLLUP_BATCH_ID_MAX, "%s",
                             bson_iter_utf8(&o, NULL));
                }
            }
        }
        if (mongoc_cursor_error(cur, &berr)) {
            store_chunk_outcome(c->s, m, &berr);
            rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup owners: %s", berr.message);
        } else {
            store_chunk_outcome(c->s, m, NULL);
        }
        mongoc_cursor_destroy(cur);
        bson_destroy(f);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* One (event, figure) pair of a redelivered event still to decide. */
struct pending {
    size_t j;      /* index in dups */
    int k;         /* kind */
    int candidate; /* its owner has been voided there: try to take it over */
};

/* updateMany {_id: {$in: ids}, field: from ("" = missing)} -> {$set: {field: ours}}, in
 * commands of store_chunk() ids at most: a compare-and-set on each document (which ones
 * succeeded, a read tells). */
static int
cas_many(struct ctx *c, mongoc_collection_t *coll, const char *const *ids, size_t n,
         const char *field, const char *from)
{
    for (size_t at = 0, m; at < n; at += m) {
        struct in_filter x;
        bson_t *f, *update, *opts;
        bson_error_t berr;
        int rc = 0;

        if ((m = next_chunk(c, at, n)) == 0) {
            return -1;
        }
        in_begin(&x);
        for (size_t i = at; i < at + m; i++) {
            in_add(&x, ids[i]);
        }
        f = in_end(&x);
        if (from[0] != '\0') {
            BSON_APPEND_UTF8(f, field, from);
        } else {
            BCON_APPEND(f, field, "{", "$exists", BCON_BOOL(false), "}");
        }
        update = BCON_NEW("$set", "{", field, BCON_UTF8(c->b->id), "}");
        opts = bson_new();
        store_append_write_concern(c->s, opts);
        if (!mongoc_collection_update_many(coll, f, update, opts, NULL, &berr)) {
            store_chunk_outcome(c->s, m, &berr);
            rc = err_set(c->err, ERR_TRANSIENT, "mongodb rollup takeover: %s", berr.message);
        } else {
            store_chunk_outcome(c->s, m, NULL);
        }
        bson_destroy(f);
        bson_destroy(update);
        bson_destroy(opts);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Decide, for every (event, figure) pair of the redelivered events evs[dups[j]], whether
 * this batch counts it (see rollup.h), a set at a time so that a whole redelivered
 * batch costs a few round trips: resolve each (owner, document) once, take the events
 * over with one compare-and-set per (figure, owner) and read back which are ours (their
 * user documents follow in claim_users()). own[] holds the owners read, updated in place. */
static int
take_over_all(struct ctx *c, struct table *t, const struct event *evs, const size_t *dups,
              size_t n_dups, char (*own)[ROLLUP_BATCH_ID_MAX], long (*docs)[ROLLUP_KINDS],
              unsigned char (*counted)[ROLLUP_KINDS])
{
    size_t cap = n_dups * ROLLUP_KINDS, n = 0;
    struct pending *p = calloc(cap ? cap : 1, sizeof *p);
    const char **ids = calloc(cap ? cap : 1, sizeof *ids);
    int rc = -1;

    if (p == NULL || ids == NULL) {
        err_set(c->err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < n_dups; j++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            if (docs[dups[j]][k] >= 0) {
                p[n++] = (struct pending){j, k, 0};
            }
        }
    }
    for (int round = 0; n > 0; round++) {
        size_t keep = 0;
        if (round == TAKEOVER_TRIES) {
            err_set(c->err, ERR_TRANSIENT, "redelivered events: their owners keep changing");
            goto done;
        }
        /* Ours already (an earlier try of this batch), counted by their owner, or voided. */
        for (size_t x = 0; x < n; x++) {
            size_t i = dups[p[x].j];
            const char *owner = own[p[x].j * ROLLUP_KINDS + (size_t)p[x].k];
            int r = 1;
            if (strcmp(owner, c->b->id) == 0) {
                counted[i][p[x].k] = 1;
                continue;
            }
            for (size_t y = 0; y < x && owner[0] != '\0'; y++) { /* resolved already? */
                if (p[y].candidate >= 0 && docs[dups[p[y].j]][p[y].k] == docs[i][p[x].k] &&
                    strcmp(own[p[y].j * ROLLUP_KINDS + (size_t)p[y].k], owner) == 0) {
                    r = p[y].candidate;
                    goto resolved;
                }
            }
            if (owner[0] != '\0' && (r = resolve(c, t, &t->docs[docs[i][p[x].k]], owner)) < 0) {
                goto done;
            }
        resolved:
            p[x].candidate = r; /* 0: its owner counted it */
        }
        /* Take over the voided owners' pairs: one compare-and-set per (kind, owner). */
        for (size_t x = 0; x < n; x++) {
            const char *owner = own[p[x].j * ROLLUP_KINDS + (size_t)p[x].k];
            char field[16];
            size_t m = 0;
            if (p[x].candidate != 1 || strcmp(owner, c->b->id) == 0) {
                continue;
            }
            for (size_t y = x; y < n; y++) {
                if (p[y].candidate == 1 && p[y].k == p[x].k &&
                    strcmp(own[p[y].j * ROLLUP_KINDS + (size_t)p[y].k], owner) == 0) {
                    ids[m++] = evs[dups[p[y].j]].id;
                    p[y].candidate = 2; /* sent */
                }
            }
            snprintf(field, sizeof field, "own.%s", rollup_kind_names[p[x].k]);
            if (cas_many(c, c->events, ids, m, field, owner) != 0) {
                goto done;
            }
        }
        /* Read back who owns what now. */
        if (read_owners(c, evs, dups, n_dups, own) != 0) {
            goto done;
        }
        for (size_t x = 0; x < n; x++) {
            size_t i = dups[p[x].j];
            const char *now = own[p[x].j * ROLLUP_KINDS + (size_t)p[x].k];
            if (p[x].candidate != 2) {
                continue; /* counted by its owner, or ours from the start */
            }
            if (strcmp(now, c->b->id) != 0) {
                p[keep++] = (struct pending){p[x].j, p[x].k, 0}; /* someone else moved first */
                continue;
            }
            counted[i][p[x].k] = 1;
            c->tally->taken_over++;
        }
        n = keep;
    }
    rc = 0;
done:
    free(p);
    free(ids);
    return rc;
}

/* The documents of event ev: docs[k] for each kind it counts in (else -1), users[k] for
 * its user document in the two site-days (else -1). Returns 0, or -1 out of memory. */
static int
event_docs(struct table *t, const struct event *ev, long docs[ROLLUP_KINDS], long users[2])
{
    for (int k = 0; k < ROLLUP_KINDS; k++) {
        docs[k] = -1;
    }
    users[0] = users[1] = -1;
    for (int k = ROLLUP_KIND_ALL; k <= ROLLUP_KIND_TYPE; k++) {
        const char *type = k == ROLLUP_KIND_TYPE ? ev->event_type : NULL;
        long sd = table_ref(t, rollup_scope_id(ev->site_id, ev->ts_ms, type), NS_SCOPE, ev, k, -1);
        if (sd < 0) {
            return -1;
        }
        docs[k] = sd;
        if (nonempty(ev->path) &&
            (docs[k + 2] = table_ref(t, rollup_child_id(t->docs[sd].id, ev->path), NS_PATH, ev,
                                     k + 2, sd)) < 0) {
            return -1;
        }
        if (nonempty(ev->user_id) &&
            (users[k] = table_ref(t, rollup_child_id(t->docs[sd].id, ev->user_id), NS_USER, NULL, k,
                                  sd)) < 0) {
            return -1;
        }
    }
    return 0;
}

int
rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
             const enum insert_outcome *outcomes, size_t n, struct rollup_tally *tally,
             struct app_err *err)
{
    mongoc_client_t *client = store_client_pop(s);
    struct ctx c = {s, b, NULL, NULL, NULL, NULL, err, tally};
    struct table t = {0};
    size_t sz = n ? n : 1, n_dups = 0, n_users = 0;
    long(*docs)[ROLLUP_KINDS] = calloc(sz, sizeof *docs);
    long(*users)[2] = calloc(sz, sizeof *users);
    unsigned char(*counted)[ROLLUP_KINDS] = calloc(sz, sizeof *counted);
    size_t *dups = calloc(sz, sizeof *dups);
    long *user_docs = calloc(sz * 2, sizeof *user_docs);
    char(*own)[ROLLUP_BATCH_ID_MAX] = NULL;
    int rc = -1;

    c.events = store_collection(s, client, STORE_EVENTS_COLLECTION);
    c.rollups = store_collection(s, client, ROLLUP_COLLECTION);
    c.paths = store_collection(s, client, ROLLUP_PATHS_COLLECTION);
    c.users = store_collection(s, client, ROLLUP_USERS_COLLECTION);
    if (docs == NULL || users == NULL || counted == NULL || dups == NULL || user_docs == NULL ||
        table_init(&t, sz * 6) != 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    /* The documents, and what is this batch's to count without asking. */
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i] == INSERT_REJECTED) {
            continue; /* not stored, not counted */
        }
        if (event_docs(&t, &evs[i], docs[i], users[i]) != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (outcomes[i] == INSERT_DUPLICATE) {
            dups[n_dups++] = i;
            continue;
        }
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            counted[i][k] = docs[i][k] >= 0;
        }
    }
    /* Redelivered events: counted here only if their owner never will. */
    if (n_dups > 0) {
        own = calloc(n_dups * ROLLUP_KINDS, sizeof *own);
        if (own == NULL) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (read_owners(&c, evs, dups, n_dups, own) != 0) {
            goto done;
        }
    }
    if (n_dups > 0 && take_over_all(&c, &t, evs, dups, n_dups, own, docs, counted) != 0) {
        goto done;
    }
    /* Users: a site-day counts the user documents this batch owns. */
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            if (users[i][k] >= 0 && counted[i][k] && !t.docs[users[i][k]].mine) {
                t.docs[users[i][k]].mine = -1; /* listed */
                user_docs[n_users++] = users[i][k];
            }
        }
    }
    for (size_t i = 0; i < n_users; i++) {
        t.docs[user_docs[i]].mine = 0;
    }
    if (claim_users(&c, &t, user_docs, n_users) != 0) {
        goto done;
    }
#ifdef FAULT_INJECTION
    if (b->fault != NULL && b->seq == b->fault_seq) {
        b->fault(b);
    }
#endif
    for (size_t i = 0; i < n_users; i++) {
        const struct doc *u = &t.docs[user_docs[i]];
        if (u->mine) {
            t.docs[u->scope].users++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            if (counted[i][k]) {
                t.docs[docs[i][k]].views++;
            }
        }
    }
    rc = apply_counts(&c, &t);
done:
    mongoc_collection_destroy(c.events);
    mongoc_collection_destroy(c.rollups);
    mongoc_collection_destroy(c.paths);
    mongoc_collection_destroy(c.users);
    store_client_push(s, client);
    table_free(&t);
    free(docs);
    free(users);
    free(counted);
    free(dups);
    free(user_docs);
    free(own);
    return rc;
}
