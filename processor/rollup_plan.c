/* rollup_plan.c - the decisions of the rollup protocol, as pure functions (the documents they
 * are about: rollup_plan_docs.c). */
#include "rollup_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollup_doc.h"
#include "rollup_plan_int.h"

/* --- redelivered events -------------------------------------------------------------------- */

/* Whether redelivered event j is a client's duplicate: its stored document came from
 * another envelope (a missing delivery is the document's _id). */
static int
client_dup(const struct rollup_plan *p, size_t j)
{
    const struct event *ev = &p->evs[p->dups[j]];
    const char *stored = p->dlv[j][0] != '\0' ? p->dlv[j] : ev->id;

    return strcmp(stored, event_delivery(ev)) != 0;
}

size_t
rollup_plan_client_duplicates(struct rollup_plan *p)
{
    size_t keep = 0;

    p->client_dups = 0;
    for (size_t j = 0; j < p->n_dups; j++) {
        p->client_dups += (size_t)client_dup(p, j);
    }
    for (size_t x = 0; x < p->n_pairs; x++) {
        if (!client_dup(p, p->pairs[x].j)) {
            p->pairs[keep++] = p->pairs[x]; /* a redelivery: to decide from its owner */
        }
    }
    p->n_pairs = keep;
    return p->client_dups;
}

enum rollup_doc_state
rollup_plan_doc_state(int64_t runs_seq, int voided, int64_t seq)
{
    return voided ? ROLLUP_DOC_VOIDED : runs_seq >= seq ? ROLLUP_DOC_APPLIED : ROLLUP_DOC_OPEN;
}

int
rollup_plan_answer(struct plan_question *q, int matched, enum rollup_doc_state st)
{
    if (!matched && st == ROLLUP_DOC_OPEN) {
        return 0; /* the update lost the race to create the document: nothing is known yet */
    }
    q->voided = matched || st == ROLLUP_DOC_VOIDED;
    return 1;
}

size_t
rollup_plan_pending(const struct rollup_plan *p)
{
    return p->n_pairs;
}

static const char *
owner_of(const struct rollup_plan *p, const struct plan_pair *x)
{
    return p->own[x->j * ROLLUP_KINDS + (size_t)x->k];
}

static long
doc_of_pair(const struct rollup_plan *p, const struct plan_pair *x)
{
    return p->doc_of[p->dups[x->j]][x->k];
}

/* The index of the question (doc, owner) in q[], or -1. */
static long
question_of(const struct rollup_plan *p, long doc, const char *owner)
{
    for (size_t i = 0; i < p->n_q; i++) {
        if (p->q[i].doc == doc && strcmp(p->q[i].owner, owner) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* The question (doc, owner), added unless it is there already. */
static long
ask(struct rollup_plan *p, long doc, const char *owner)
{
    long q = question_of(p, doc, owner);

    if (q >= 0) {
        return q;
    }
    p->q[p->n_q] = (struct plan_question){doc, owner, 0};
    return (long)p->n_q++;
}

size_t
rollup_plan_questions(struct rollup_plan *p)
{
    p->n_q = 0;
    for (size_t x = 0; x < p->n_pairs; x++) {
        struct plan_pair *pr = &p->pairs[x];
        const char *owner = owner_of(p, pr);
        if (strcmp(owner, p->batch) == 0) {
            /* Ours already: stored by this batch, or taken over by an earlier try. */
            p->counted[p->dups[pr->j]][pr->k] = 1;
            pr->state = PAIR_SETTLED;
        } else if (owner[0] == '\0') {
            pr->state = PAIR_VOIDED; /* stored without an owner: nobody counts it */
        } else {
            pr->q = ask(p, doc_of_pair(p, pr), owner);
            pr->state = PAIR_ASKED;
        }
    }
    return p->n_q;
}

/* The compare-and-set of (kind, from) in cas[], added unless it is there already. */
static struct plan_cas *
cas_for(struct rollup_plan *p, int kind, const char *from)
{
    for (size_t c = 0; c < p->n_cas; c++) {
        if (p->cas[c].kind == kind && strcmp(p->cas[c].from, from) == 0) {
            return &p->cas[c];
        }
    }
    p->cas[p->n_cas] = (struct plan_cas){kind, from, NULL, 0};
    return &p->cas[p->n_cas++];
}

/* Lay out cas[c].ids in cas_ids, in the order of cas[], for the ids counted in cas[c].n. */
static void
place_ids(struct rollup_plan *p)
{
    size_t at = 0;

    for (size_t c = 0; c < p->n_cas; c++) {
        p->cas[c].ids = p->cas_ids + at;
        at += p->cas[c].n;
        p->cas[c].n = 0;
    }
}

/* Add id to the compare-and-set of (kind, from): only counted while laying out (fill 0,
 * before place_ids()), stored in its ids after (fill 1). */
static void
cas_add(struct rollup_plan *p, int kind, const char *from, const char *id, int fill)
{
    struct plan_cas *c = cas_for(p, kind, from);

    if (fill) {
        c->ids[c->n] = id;
    }
    c->n++;
}

size_t
rollup_plan_takeovers(struct rollup_plan *p)
{
    p->n_cas = 0;
    for (size_t x = 0; x < p->n_pairs; x++) {
        struct plan_pair *pr = &p->pairs[x];
        if (pr->state == PAIR_ASKED) {
            pr->state = p->q[pr->q].voided ? PAIR_VOIDED : PAIR_SETTLED; /* applied: counted */
        }
    }
    for (int fill = 0; fill < 2; fill++) {
        for (size_t x = 0; x < p->n_pairs; x++) {
            const struct plan_pair *pr = &p->pairs[x];
            if (pr->state == PAIR_VOIDED) {
                cas_add(p, pr->k, owner_of(p, pr), p->evs[p->dups[pr->j]].id, fill);
            }
        }
        if (fill == 0) {
            place_ids(p);
        }
    }
    for (size_t x = 0; x < p->n_pairs; x++) {
        if (p->pairs[x].state == PAIR_VOIDED) {
            p->pairs[x].state = PAIR_SENT;
        }
    }
    return p->n_cas;
}

size_t
rollup_plan_round_end(struct rollup_plan *p)
{
    size_t keep = 0;

    for (size_t x = 0; x < p->n_pairs; x++) {
        struct plan_pair pr = p->pairs[x];
        if (pr.state != PAIR_SENT) {
            continue; /* settled */
        }
        if (strcmp(owner_of(p, &pr), p->batch) == 0) {
            p->counted[p->dups[pr.j]][pr.k] = 1;
            p->taken_over++;
            continue;
        }
        p->pairs[keep++] = (struct plan_pair){pr.j, pr.k, -1, PAIR_OPEN}; /* another moved first */
    }
    p->n_pairs = keep;
    return keep;
}

/* --- users ----------------------------------------------------------------------------------- */

size_t
rollup_plan_users(struct rollup_plan *p)
{
    p->n_users = 0;
    for (size_t i = 0; i < p->n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            long u = p->user_of[i][k];
            if (u >= 0 && p->counted[i][k] && !p->docs[u].listed) {
                p->docs[u].listed = 1;
                p->docs[u].mine = 0;
                p->docs[u].owner[0] = '\0';
                p->user_docs[p->n_users++] = u;
            }
        }
    }
    return p->n_users;
}

int
rollup_plan_user_owner(struct rollup_plan *p, const char *id, const char *owner)
{
    long u = p->slots[rollup_plan_slot_of(p, id, PLAN_USER)];
    struct plan_doc *d;

    if (u < 0 || !p->docs[u].listed) {
        return -1;
    }
    d = &p->docs[u];
    size_t n = strnlen(owner, sizeof d->owner - 1); /* as snprintf "%s" would cut it */
    memcpy(d->owner, owner, n);
    d->owner[n] = '\0';
    d->mine = strcmp(owner, p->batch) == 0;
    return 0;
}

static size_t
users_mine(const struct rollup_plan *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n_users; i++) {
        n += p->docs[p->user_docs[i]].mine != 0;
    }
    return n;
}

size_t
rollup_plan_user_questions(struct rollup_plan *p)
{
    p->n_q = 0;
    p->users_mine_before = users_mine(p);
    for (size_t i = 0; i < p->n_users; i++) {
        const struct plan_doc *u = &p->docs[p->user_docs[i]];
        if (!u->mine && u->owner[0] != '\0') {
            ask(p, u->scope, u->owner);
        }
    }
    return p->n_q;
}

size_t
rollup_plan_user_takeovers(struct rollup_plan *p)
{
    p->n_cas = 0;
    for (int fill = 0; fill < 2; fill++) {
        for (size_t i = 0; i < p->n_users; i++) {
            const struct plan_doc *u = &p->docs[p->user_docs[i]];
            long q;
            if (u->mine || u->owner[0] == '\0') {
                continue;
            }
            q = question_of(p, u->scope, u->owner); /* asked by rollup_plan_user_questions() */
            if (q >= 0 && p->q[q].voided) {
                cas_add(p, -1, u->owner, u->id, fill); /* a live owner keeps its user: not here */
            }
        }
        if (fill == 0) {
            place_ids(p);
        }
    }
    return p->n_cas;
}

static int
cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The user of event i in figure k, when it is a site-hour's or a dimensions document's (the
 * figures with a set u) and counted here: its user id, else NULL. */
static const char *
hour_user(const struct rollup_plan *p, size_t i, int k)
{
    const char *user = p->evs[i].user_id;

    return (k == ROLLUP_KIND_HOUR_ALL || k == ROLLUP_KIND_HOUR_TYPE || k == ROLLUP_KIND_DIMS) &&
                   p->counted[i][k] && rollup_plan_nonempty(user)
               ? user
               : NULL;
}

/* The site-hours' user hashes: laid out per document (u_at), filled, then sorted and made
 * distinct within each (u_n). */
static void
hour_users(struct rollup_plan *p)
{
    size_t at = 0;

    for (size_t i = 0; i < p->n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            if (hour_user(p, i, k) != NULL) {
                p->docs[p->doc_of[i][k]].u_n++;
            }
        }
    }
    for (size_t d = 0; d < p->n_docs; d++) {
        p->docs[d].u_at = at;
        at += p->docs[d].u_n;
        p->docs[d].u_n = 0;
    }
    for (size_t i = 0; i < p->n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            const char *user = hour_user(p, i, k);
            if (user != NULL) {
                struct plan_doc *d = &p->docs[p->doc_of[i][k]];
                p->uhash[d->u_at + d->u_n++] = rollup_user_hash(user);
            }
        }
    }
    for (size_t d = 0; d < p->n_docs; d++) {
        int64_t *h = p->uhash + p->docs[d].u_at;
        size_t n = p->docs[d].u_n, keep = 0;
        qsort(h, n, sizeof *h, cmp_int64);
        for (size_t x = 0; x < n; x++) {
            if (keep == 0 || h[keep - 1] != h[x]) {
                h[keep++] = h[x];
            }
        }
        p->docs[d].u_n = keep;
    }
}

void
rollup_plan_counts(struct rollup_plan *p)
{
    p->users_taken_over += users_mine(p) - p->users_mine_before;
    for (size_t d = 0; d < p->n_docs; d++) {
        p->docs[d].views = 0;
        p->docs[d].pageviews = 0;
        p->docs[d].users = 0;
        p->docs[d].u_n = 0;
        p->docs[d].visits = p->docs[d].bounces = p->docs[d].duration_ms = 0;
        p->docs[d].hits = 0;
    }
    hour_users(p);
    for (size_t i = 0; i < p->n_users; i++) {
        const struct plan_doc *u = &p->docs[p->user_docs[i]];
        if (u->mine) {
            p->docs[u->scope].users++;
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            struct plan_doc *d = p->counted[i][k] ? &p->docs[p->doc_of[i][k]] : NULL;
            int64_t visits, bounces, duration_ms;
            if (d == NULL) {
                continue;
            }
            if (!ROLLUP_KIND_IS_VISIT(k)) {
                d->views++;
                d->pageviews +=
                    k == ROLLUP_KIND_DIMS && strcmp(p->evs[i].event_type, "page_view") == 0;
                continue;
            }
            rollup_visit_contribution(&p->evs[i], k, &visits, &bounces, &duration_ms);
            d->visits += visits;
            d->bounces += bounces;
            d->duration_ms += duration_ms;
            d->hits++;
        }
    }
}
