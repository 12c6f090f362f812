/* assign_plan.c - the visit assignment's own decisions (assign_plan.h). */
#include "assign_plan.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "hash.h"

static char *
state_key(const char *shard, const char *site, const char *user)
{
    /* "<shard>:visit:<bytes of site>:<site>:<user>", without snprintf(): one per event */
    size_t ls = strlen(shard), lsite = strlen(site), lu = strlen(user), nd = 0;
    char digits[24], *k = malloc(ls + lsite + lu + sizeof digits + 10), *p;

    if (k == NULL) {
        return NULL;
    }
    for (size_t v = lsite; nd == 0 || v > 0; v /= 10) {
        digits[nd++] = (char)('0' + v % 10);
    }
    p = k;
    memcpy(p, shard, ls);
    p += ls;
    memcpy(p, ":visit:", 7);
    p += 7;
    while (nd > 0) {
        *p++ = digits[--nd];
    }
    *p++ = ':';
    memcpy(p, site, lsite);
    p += lsite;
    *p++ = ':';
    memcpy(p, user, lu);
    p[lu] = '\0';
    return k;
}

/* The slot of key in the visitors' table: the one holding its visitor, or the empty one where
 * it goes. */
static size_t
slot_of(const struct assign_plan *w, const char *key)
{
    size_t i = (size_t)hash_fnv1a(HASH_FNV1A_BASIS, key, strlen(key)) & (w->slots - 1);

    while (w->table[i] != NULL && strcmp(w->table[i]->key, key) != 0) {
        i = (i + 1) & (w->slots - 1);
    }
    return i;
}

/* The visitor of key in the batch, or NULL. */
static struct assign_visitor *
find_visitor(const struct assign_plan *w, const char *key)
{
    return w->table[slot_of(w, key)];
}

/* The visitor of key (taken: freed here when the visitor exists), created when new. */
static struct assign_visitor *
visitor_of(struct assign_plan *w, char *key)
{
    size_t i = slot_of(w, key);
    struct assign_visitor *v;

    if (w->table[i] != NULL) {
        free(key);
        return w->table[i];
    }
    /* Not calloc(): the state's path buffers are most of it, and unused until it is live. */
    if ((v = malloc(sizeof *v)) == NULL) {
        free(key);
        return NULL;
    }
    memset(v, 0, offsetof(struct assign_visitor, st));
    v->st.live = 0;
    v->key = key;
    w->table[i] = v;
    w->order[w->n_visitors++] = v;
    return v;
}

void
assign_plan_free(struct assign_plan *w)
{
    for (size_t i = 0; w->evs != NULL && i < w->n_evs; i++) {
        event_cleanup(&w->evs[i]);
    }
    free(w->evs);
    for (size_t i = 0; w->items != NULL && i < w->n; i++) {
        free(w->items[i].member);
    }
    for (size_t i = 0; i < w->n_visitors; i++) {
        struct assign_visitor *v = w->order[i];
        for (size_t j = 0; j < v->n_ids; j++) {
            free(v->members != NULL ? v->members[j] : NULL);
        }
        free(v->members);
        free(v->ids);
        free(v->new_ev);
        free(v->key);
        free(v->yesterday);
        free(v);
    }
    free(w->items);
    free(w->table);
    free(w->order);
}

/* Whether an event was sent with a client event_id: its _id is "<site_id>:<event_id>". */
static int
client_sent(const struct event *ev)
{
    return strchr(ev->id, ':') != NULL;
}

/* Decode the batch and group its events by visitor. Returns 0, or -1 when out of memory. */
/* Append i to the array *a of *n indexes. Returns 0, or -1 when out of memory. */
static int
append_index(size_t **a, size_t *n, size_t i)
{
    size_t *grown = realloc(*a, (*n + 1) * sizeof *grown);

    if (grown == NULL) {
        return -1;
    }
    *a = grown;
    (*a)[(*n)++] = i;
    return 0;
}

int
assign_plan_group(struct assign_plan *w, const struct queue_batch *b, const char *shard)
{
    w->n = b->n;
    for (w->slots = 16; w->slots < 2 * b->n; w->slots *= 2) {
    }
    w->items = calloc(b->n, sizeof *w->items);
    w->evs = malloc(b->n * sizeof *w->evs); /* each initialised below, before w->n_evs counts it */
    w->table = calloc(w->slots, sizeof *w->table);
    w->order = calloc(b->n, sizeof *w->order);
    if (w->items == NULL || w->evs == NULL || w->table == NULL || w->order == NULL) {
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct assign_item *it = &w->items[i];
        struct app_err err = {0};
        it->ev = &w->evs[i];
        w->n_evs = i + 1;
        if (b->items[i]->len > ASSIGN_ENVELOPE_MAX) {
            event_init(it->ev);
            continue; /* not ingest's: passed on as it is, for the drain to judge */
        }
        if (envelope_decode(b->items[i]->str, b->items[i]->len, it->ev, &err) != 0) {
            if (err.code == ERR_INTERNAL) {
                return -1;
            }
            continue; /* the drain makes it a dead letter */
        }
        it->decoded = 1;
        if (it->ev->has_visit || it->ev->user_id == NULL || it->ev->user_id[0] == '\0') {
            continue;
        }
        char *key = state_key(shard, it->ev->site_id, it->ev->user_id);
        if (key == NULL || (it->v = visitor_of(w, key)) == NULL) {
            return -1;
        }
        struct assign_visitor *v = it->v;
        if (v->yesterday == NULL && it->ev->prev_visitor[0] != '\0' &&
            (v->yesterday = state_key(shard, it->ev->site_id, it->ev->prev_visitor)) == NULL) {
            return -1;
        }
        if (client_sent(it->ev) && append_index(&v->ids, &v->n_ids, i) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The e: field name of an event's member. */
char *
assign_plan_field(const struct event *ev, size_t *len)
{
    size_t n = strlen(ev->id) + 3;
    char *f = malloc(n);

    if (f != NULL) {
        snprintf(f, n, "e:%s", ev->id);
        *len = n - 1;
    }
    return f;
}

/* The member an earlier event of the batch with the same _id got, or the one stored for it
 * (while the visit it was read with goes on), or NULL. */
static const char *
member_before(const struct assign_plan *w, const struct assign_visitor *v, size_t i, size_t *len)
{
    const char *id = w->items[i].ev->id;

    for (size_t j = 0; j < v->n_new; j++) {
        const struct assign_item *o = &w->items[v->new_ev[j]];
        if (strcmp(o->ev->id, id) == 0) {
            *len = o->member_len;
            return o->member;
        }
    }
    for (size_t j = 0; !v->reset && v->members != NULL && j < v->n_ids; j++) {
        if (v->members[j] != NULL && strcmp(w->items[v->ids[j]].ev->id, id) == 0) {
            *len = strlen(v->members[j]);
            return v->members[j];
        }
    }
    return NULL;
}

/* Each event's step, in arrival order (the batch's). Returns 0, or -1 when out of memory. */
int
assign_plan_step(struct assign_plan *w, long timeout_s)
{
    char path[EVENT_PATH_MAX + 1], old_exit[EVENT_PATH_MAX + 1];

    for (size_t i = 0; i < w->n; i++) {
        struct assign_item *it = &w->items[i];
        struct assign_visitor *v = it->v;
        struct event_visit m;
        const char *before;
        size_t len = 0;
        if (v == NULL) {
            continue;
        }
        /* A hashed visitor's first event under today's id in this batch, when yesterday's id
         * has events earlier in the batch: the visit goes on from those (their state is newer
         * than any Redis has; the commit writes it under yesterday's key first, then renames). */
        struct assign_visitor *y;
        if (!v->stepped && v->origin != ASSIGN_FROM_TODAY && v->yesterday != NULL &&
            (y = find_visitor(w, v->yesterday)) != NULL && y->stepped) {
            v->st = y->st;
            v->origin = ASSIGN_FROM_YESTERDAY;
        }
        if (client_sent(it->ev) && (before = member_before(w, v, i, &len)) != NULL) {
            if ((it->member = strdup(before)) == NULL) {
                return -1;
            }
            it->member_len = len;
            continue;
        }
        struct visit_input in = {.id = it->ev->id,
                                 .ts_ms = it->ev->ts_ms,
                                 .received_ms = it->ev->received_ms,
                                 .class = visit_class(it->ev->event_type),
                                 .path = NULL,
                                 .own = it->ev};
        if (in.class == VISIT_PAGE_VIEW && it->ev->path != NULL) {
            size_t n = event_path_len(it->ev->path);
            n = n > EVENT_PATH_MAX ? EVENT_PATH_MAX : n;
            memcpy(path, it->ev->path, n);
            path[n] = '\0';
            in.path = path;
        }
        visit_step(&v->st, &in, (int64_t)timeout_s * 1000, &m, old_exit);
        v->stepped = 1;
        if (m.n) {
            v->reset = 1;
            v->n_new = 0; /* the fields of the visit before are deleted with it */
        }
        if ((it->member = envelope_visit_encode(&m, &it->member_len)) == NULL ||
            envelope_event_with_visit(it->ev, &m) != 0) {
            return -1;
        }
        it->stepped = 1;
        if (client_sent(it->ev) && append_index(&v->new_ev, &v->n_new, i) != 0) {
            return -1;
        }
    }
    return 0;
}

struct event *
assign_plan_take_events(struct assign_plan *w)
{
    struct event *evs = w->evs;

    for (size_t i = 0; i < w->n; i++) {
        const struct assign_item *it = &w->items[i];
        if (it->v != NULL && !it->stepped) {
            event_cleanup(it->ev); /* a copy's stored member: the drain decodes the envelope */
        }
    }
    w->evs = NULL;
    w->n_evs = 0;
    return evs;
}

/* The commit's mode of visitor v (commit_script). */
const char *
assign_plan_mode(const struct assign_visitor *v)
{
    if (v->reset && v->origin != ASSIGN_FROM_NONE) {
        return v->yesterday != NULL ? "n1" : "n0";
    }
    return v->origin == ASSIGN_FROM_YESTERDAY ? "r1" : "-0";
}
