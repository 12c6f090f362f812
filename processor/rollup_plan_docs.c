/* rollup_plan_docs.c - the documents a batch's events count in (rollup_plan_init()): their
 * ids, collections and buckets, and the index over them. The decisions on them are
 * rollup_plan.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rollup_doc.h"
#include "rollup_plan_int.h"
#include "ts.h"

/* --- the documents ----------------------------------------------------------------------- */

/* The index's hash of document `s` of namespace ns. Not stored anywhere: free to change (the
 * user hash a site-hour keeps is rollup_user_hash(), a stored format). */
static uint64_t
hash(int ns, const char *s)
{
    return hash_fnv1a(HASH_FNV1A_BASIS ^ (uint64_t)ns, s, strlen(s));
}

size_t
rollup_plan_slot_of(const struct rollup_plan *p, const char *id, int ns)
{
    size_t slot = hash(ns, id) % p->n_slots;

    while (p->slots[slot] >= 0) {
        const struct plan_doc *d = &p->docs[p->slots[slot]];
        if (d->ns == ns && strcmp(d->id, id) == 0) {
            break;
        }
        slot = (slot + 1) % p->n_slots;
    }
    return slot;
}

/* The index of document `id` (taken: freed here when already present), added when new;
 * -1 when id is NULL (out of memory). */
static long
doc_ref(struct rollup_plan *p, char *id, int ns, const struct event *ev, int kind, long scope)
{
    size_t slot;

    if (id == NULL) {
        return -1;
    }
    slot = rollup_plan_slot_of(p, id, ns);
    if (p->slots[slot] >= 0) {
        free(id);
        return p->slots[slot];
    }
    if (p->n_docs == p->cap_docs) {
        free(id);
        return -1; /* cannot happen: rollup_plan_init() sized it */
    }
    p->docs[p->n_docs] =
        (struct plan_doc){id, ns, ev, kind, scope, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", 0, 0};
    p->slots[slot] = (long)p->n_docs;
    return (long)p->n_docs++;
}

int
rollup_plan_is_hour(const struct plan_doc *d)
{
    return (d->ns == PLAN_SCOPE &&
            (d->kind == ROLLUP_KIND_HOUR_ALL || d->kind == ROLLUP_KIND_HOUR_TYPE)) ||
           (d->ns == PLAN_VISIT && d->kind == ROLLUP_KIND_VISIT_HOUR);
}

/* doc_ref() of the id "<a><sep><b>", built in buf (of size n) unless it does not fit:
 * most path, user and envelope documents of a batch are already in the plan (a batch has
 * far fewer paths and users than events), and only a new one is copied. */
static long
pair_ref(struct rollup_plan *p, char *buf, size_t n, const char *a, char sep, const char *b, int ns,
         const struct event *ev, int kind, long scope)
{
    size_t la = strlen(a), lb = strlen(b), slot;
    char *id;

    if (la + lb + 2 <= n) {
        memcpy(buf, a, la);
        buf[la] = sep;
        memcpy(buf + la + 1, b, lb + 1);
        slot = rollup_plan_slot_of(p, buf, ns);
        if (p->slots[slot] >= 0) {
            return p->slots[slot];
        }
    }
    if ((id = malloc(la + lb + 2)) == NULL) {
        return -1;
    }
    memcpy(id, a, la);
    id[la] = sep;
    memcpy(id + la + 1, b, lb + 1);
    return doc_ref(p, id, ns, ev, kind, scope);
}

/* The document rollup_child_id(parent's id, leaf) of namespace ns. */
static long
child_ref(struct rollup_plan *p, long parent, const char *leaf, int ns, const struct event *ev,
          int kind)
{
    char buf[1024];

    return pair_ref(p, buf, sizeof buf, p->docs[parent].id, ROLLUP_CHILD_SEP, leaf, ns, ev, kind,
                    parent);
}

/* The key of event ev's visit dimensions (rollup_event_dims(), rollup_dims_key()) into key,
 * the leaf of its documents in both namespaces (PLAN_DIMS under its site-day, PLAN_VDIMS under
 * its visit's). Returns 0, or -1 (cannot happen: ingest keeps each value to EVENT_ATTR_MAX
 * bytes). */
static int
dims_key(const struct event *ev, char key[ROLLUP_DIMS_KEY_MAX])
{
    const char *vals[ROLLUP_DIMS];

    rollup_event_dims(ev, vals);
    return rollup_dims_key(vals, key) < 0 ? -1 : 0;
}

/* The site-day and site-hour documents of the last few (site, type, hour) planned: the next
 * event of one of them (most of a batch: a site's events of a few types, in time order) has
 * the same four, found without building their ids. */
#define SCOPE_MEMO_N 8
struct scope_memo {
    struct {
        const struct event *ev; /* NULL: free */
        int64_t hour_ms;        /* its site-hour's first instant */
        long doc[4];            /* by the order of scopes[] in event_docs() */
    } e[SCOPE_MEMO_N];
    size_t next; /* the entry to replace next */
    /* The visit site-day and site-hour of the last event with a visit (NULL: none yet): most
     * events of a batch with a visit start in the same few hours. */
    const struct event *vev;
    int64_t vhour_ms;
    long vdoc[2];
};

/* The time zone of ev's site (NULL: UTC). */
static const struct tz *
zone_of(const struct rollup_plan *p, const struct event *ev)
{
    return p->tzs != NULL ? sitetz_find(p->tzs, ev->site_id) : NULL;
}

/* The site-day document id of `day` (the site's calendar, days since 1970-01-01), or of the
 * site-hour starting at hour_ms when hour; doc_ref()'d, with its bucket noted on it. */
static long
scope_ref(struct rollup_plan *p, const struct event *ev, int hour, int64_t day, int64_t hour_ms,
          const char *type, int ns, int kind)
{
    long d = doc_ref(p,
                     hour ? rollup_hour_id(ev->site_id, hour_ms, type)
                          : rollup_scope_id(ev->site_id, day * TS_DAY_MS, type),
                     ns, ev, kind, -1);

    if (d >= 0) {
        p->docs[d].day = day;
        p->docs[d].hour_ms = hour_ms;
    }
    return d;
}

/* The visit documents of event i (with a visit): doc_of[i][k] of each visit kind it counts in
 * (rollup_event_visit_kinds()); dims: its dimensions' key (dims_key()). The start's site-day is
 * planned even when only its pages count, as their parent. Returns 0, or -1 out of memory. */
static int
visit_docs(struct rollup_plan *p, size_t i, struct scope_memo *memo,
           const char dims[ROLLUP_DIMS_KEY_MAX])
{
    const struct event *ev = &p->evs[i];
    const struct event_visit *v = &ev->visit;
    unsigned kinds = rollup_event_visit_kinds(ev);
    long vd, vh;

    if (kinds == 0) {
        return 0;
    }
    const struct tz *z = zone_of(p, ev);
    int64_t vhour_ms = tz_hour_start(z, v->start_ms);

    if (memo->vev != NULL && memo->vhour_ms == vhour_ms &&
        strcmp(memo->vev->site_id, ev->site_id) == 0) {
        vd = memo->vdoc[0]; /* the same site-hour of the start, hence the same site-day */
        vh = memo->vdoc[1];
    } else {
        int64_t vday = tz_day_of(z, v->start_ms);
        vd = scope_ref(p, ev, 0, vday, vhour_ms, NULL, PLAN_VISIT, ROLLUP_KIND_VISIT);
        vh = vd < 0 ? -1
                    : scope_ref(p, ev, 1, vday, vhour_ms, NULL, PLAN_VISIT, ROLLUP_KIND_VISIT_HOUR);
        if (vd < 0 || vh < 0) {
            return -1;
        }
        memo->vev = ev;
        memo->vhour_ms = vhour_ms;
        memo->vdoc[0] = vd;
        memo->vdoc[1] = vh;
    }
    if (v->n != 0 || v->b != 0 || v->d != 0) {
        p->doc_of[i][ROLLUP_KIND_VISIT] = vd;
        p->doc_of[i][ROLLUP_KIND_VISIT_HOUR] = vh;
        if ((p->doc_of[i][ROLLUP_KIND_VISIT_DIMS] =
                 child_ref(p, vd, dims, PLAN_VDIMS, ev, ROLLUP_KIND_VISIT_DIMS)) < 0) {
            return -1;
        }
    }
    if (v->e != NULL && (p->doc_of[i][ROLLUP_KIND_ENTRY] =
                             child_ref(p, vd, v->e, PLAN_ENTRY, ev, ROLLUP_KIND_ENTRY)) < 0) {
        return -1;
    }
    if (v->x != NULL && (p->doc_of[i][ROLLUP_KIND_EXIT] =
                             child_ref(p, vd, v->x, PLAN_EXIT, ev, ROLLUP_KIND_EXIT)) < 0) {
        return -1;
    }
    if (v->xo != NULL && (p->doc_of[i][ROLLUP_KIND_EXIT_OLD] =
                              child_ref(p, vd, v->xo, PLAN_EXIT, ev, ROLLUP_KIND_EXIT_OLD)) < 0) {
        return -1;
    }
    return 0;
}

/* Whether a (of site-hour a_hour_ms) and b (of b_hour_ms) fall in the same site-hour and
 * type (hence the same site-day). */
static int
same_scopes(const struct event *a, int64_t a_hour_ms, const struct event *b, int64_t b_hour_ms)
{
    return a_hour_ms == b_hour_ms && strcmp(a->site_id, b->site_id) == 0 &&
           strcmp(a->event_type, b->event_type) == 0;
}

/* The documents of event i: doc_of[i][k] for each kind it counts in (its referrer's in
 * the site-day of all types), user_of[i][k] for its user document in each site-day
 * (site-hours count views only). Returns 0, or -1 out of
 * memory. */
static int
event_docs(struct rollup_plan *p, size_t i, struct scope_memo *memo)
{
    static const int scopes[] = {ROLLUP_KIND_ALL, ROLLUP_KIND_TYPE, ROLLUP_KIND_HOUR_ALL,
                                 ROLLUP_KIND_HOUR_TYPE};
    const struct event *ev = &p->evs[i];
    const struct tz *z = zone_of(p, ev);
    int64_t hour_ms = tz_hour_start(z, ev->ts_ms), day = 0;
    char ref[ROLLUP_REFERRER_MAX + 1], dims[ROLLUP_DIMS_KEY_MAX];
    int ref_len;
    size_t m = 0;

    if (dims_key(ev, dims) != 0) {
        return -1;
    }
    while (m < SCOPE_MEMO_N && memo->e[m].ev != NULL &&
           !same_scopes(memo->e[m].ev, memo->e[m].hour_ms, ev, hour_ms)) {
        m++;
    }
    int reuse = m < SCOPE_MEMO_N && memo->e[m].ev != NULL;
    if (!reuse) {
        m = memo->next;
        memo->next = (memo->next + 1) % SCOPE_MEMO_N;
        memo->e[m].ev = NULL; /* until its four are known */
        memo->e[m].hour_ms = hour_ms;
        day = tz_day_of(z, ev->ts_ms);
    }

    for (size_t s = 0; s < sizeof scopes / sizeof scopes[0]; s++) {
        int k = scopes[s], hour = k >= ROLLUP_KIND_HOUR_ALL;
        const char *type =
            k == ROLLUP_KIND_TYPE || k == ROLLUP_KIND_HOUR_TYPE ? ev->event_type : NULL;
        long sd =
            reuse ? memo->e[m].doc[s] : scope_ref(p, ev, hour, day, hour_ms, type, PLAN_SCOPE, k);
        if (sd < 0) {
            return -1;
        }
        memo->e[m].doc[s] = sd;
        p->doc_of[i][k] = sd;
        if (!hour && rollup_plan_nonempty(ev->path) &&
            (p->doc_of[i][k + 2] = child_ref(p, sd, ev->path, PLAN_PATH, ev, k + 2)) < 0) {
            return -1;
        }
        if (k == ROLLUP_KIND_ALL && (p->doc_of[i][ROLLUP_KIND_DIMS] = child_ref(
                                         p, sd, dims, PLAN_DIMS, ev, ROLLUP_KIND_DIMS)) < 0) {
            return -1;
        }
        if (k == ROLLUP_KIND_ALL && (ref_len = rollup_event_referrer(ev, ref)) > 0 &&
            (p->doc_of[i][ROLLUP_KIND_REFERRER] =
                 child_ref(p, sd, ref, PLAN_REF, ev, ROLLUP_KIND_REFERRER)) < 0) {
            return -1;
        }
        if (!hour && rollup_plan_nonempty(ev->user_id) &&
            (p->user_of[i][k] = child_ref(p, sd, ev->user_id, PLAN_USER, NULL, k)) < 0) {
            return -1;
        }
    }
    memo->e[m].ev = ev;
    return visit_docs(p, i, memo, dims);
}

/* The index of the document of event i's envelope, "<delivery> <id>" (a delivery has no
 * space), added when new; -1 out of memory. */
static long
envelope_ref(struct rollup_plan *p, const struct event *ev)
{
    char buf[EVENT_ID_LEN + EVENT_DOC_ID_MAX + 8];

    return pair_ref(p, buf, sizeof buf, event_delivery(ev), ' ', ev->id, PLAN_EVENT, NULL, -1, -1);
}

int
rollup_plan_init(struct rollup_plan *p, const char *batch, const struct event *evs,
                 const enum insert_outcome *outcomes, size_t n, const struct sitetz *tzs)
{
    size_t sz = n ? n : 1, n_before;
    struct scope_memo memo;

    memset(p, 0, sizeof *p);
    memset(&memo, 0, sizeof memo);
    p->batch = batch;
    p->tzs = tzs;
    p->evs = evs;
    p->n = n;
    /* Per event: its id, two site-days, two paths, two site-hours, a referrer, its dimensions,
     * two users, and with a visit its site-day, site-hour and dimensions, an entry page and
     * two exit pages. */
    p->cap_docs = sz * 17;
    p->n_slots = p->cap_docs * 2;
    p->docs = malloc(p->cap_docs * sizeof *p->docs); /* doc_ref() sets each one it adds */
    p->slots = malloc(p->n_slots * sizeof *p->slots);
    p->doc_of = malloc(sz * sizeof *p->doc_of);
    p->user_of = malloc(sz * sizeof *p->user_of);
    p->counted = calloc(sz, sizeof *p->counted);
    p->dups = calloc(sz, sizeof *p->dups);
    p->pairs = calloc(sz * ROLLUP_KINDS, sizeof *p->pairs);
    p->user_docs = calloc(sz * 2, sizeof *p->user_docs);
    p->q = calloc(sz * ROLLUP_KINDS, sizeof *p->q);
    p->cas = calloc(sz * ROLLUP_KINDS, sizeof *p->cas);
    p->cas_ids = calloc(sz * ROLLUP_KINDS, sizeof *p->cas_ids);
    /* A user in each of two site-hours and its dimensions document. */
    p->uhash = calloc(sz * 3, sizeof *p->uhash);
    if (p->docs == NULL || p->slots == NULL || p->doc_of == NULL || p->user_of == NULL ||
        p->counted == NULL || p->dups == NULL || p->pairs == NULL || p->user_docs == NULL ||
        p->q == NULL || p->cas == NULL || p->cas_ids == NULL || p->uhash == NULL) {
        return -1;
    }
    for (size_t s = 0; s < p->n_slots; s++) {
        p->slots[s] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            p->doc_of[i][k] = p->user_of[i][k] = -1;
        }
        if (outcomes[i] != INSERT_NEW && outcomes[i] != INSERT_DUPLICATE) {
            continue; /* not stored (or not this event's document): not counted */
        }
        /* A second copy of an envelope in the same batch: the first copy is the one this
         * batch may count. Copies from two envelopes (a client that sent one event_id
         * twice) are told apart by their deliveries: "<delivery> <id>", since a delivery
         * has no space. */
        n_before = p->n_docs;
        if (envelope_ref(p, &p->evs[i]) < 0) {
            return -1;
        }
        if (p->n_docs == n_before) {
            continue;
        }
        if (event_docs(p, i, &memo) != 0) {
            return -1;
        }
        if (outcomes[i] == INSERT_DUPLICATE) {
            for (int k = 0; k < ROLLUP_KINDS; k++) {
                if (p->doc_of[i][k] >= 0) {
                    p->pairs[p->n_pairs++] = (struct plan_pair){p->n_dups, k, -1, PAIR_OPEN};
                }
            }
            p->dups[p->n_dups++] = i;
            continue;
        }
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            p->counted[i][k] = p->doc_of[i][k] >= 0;
        }
    }
    /* The owners and deliveries of the redelivered events only (most batches have none). */
    p->own = calloc((p->n_dups ? p->n_dups : 1) * ROLLUP_KINDS, sizeof *p->own);
    p->dlv = calloc(p->n_dups ? p->n_dups : 1, sizeof *p->dlv);
    return p->own != NULL && p->dlv != NULL ? 0 : -1;
}

void
rollup_plan_free(struct rollup_plan *p)
{
    for (size_t d = 0; p->docs != NULL && d < p->n_docs; d++) {
        free(p->docs[d].id);
    }
    free(p->docs);
    free(p->slots);
    free(p->doc_of);
    free(p->user_of);
    free(p->counted);
    free(p->dups);
    free(p->own);
    free(p->dlv);
    free(p->pairs);
    free(p->user_docs);
    free(p->q);
    free(p->cas);
    free(p->cas_ids);
    free(p->uhash);
    memset(p, 0, sizeof *p);
}
