/* assign_plan.h - the visit assignment's own decisions (assign.h), apart from Redis: a claimed
 * batch decoded and grouped by visitor, each event's step in arrival order once the states
 * are loaded, and what the commit writes. */
#ifndef PROCESSOR_ASSIGN_PLAN_H
#define PROCESSOR_ASSIGN_PLAN_H

#include <stddef.h>

#include "event.h"
#include "queue.h"
#include "visit_step.h"

/* Where a visitor's state came from. */
enum assign_origin { ASSIGN_FROM_NONE, ASSIGN_FROM_TODAY, ASSIGN_FROM_YESTERDAY };

/* One visitor of the batch. */
struct assign_visitor {
    char *key, *yesterday; /* malloc'd; yesterday NULL when no event named one */
    enum assign_origin origin;
    int reset;   /* a new visit started in this batch */
    int stepped; /* the state changed */
    size_t n_ids;
    size_t *ids;    /* the batch's events sent with a client event_id: indexes into the batch */
    char **members; /* members[j]: the stored member of ids[j] (read), or NULL */
    size_t n_new;   /* new e: fields, from the events new_ev[0..n_new) */
    size_t *new_ev; /* indexes into the batch of the events whose member is stored anew */
    struct visit_state st; /* last: its buffers are not zeroed (st.live 0: unused) */
};

/* One event of the batch. */
struct assign_item {
    struct event *ev; /* evs[i] */
    int decoded;
    int stepped;              /* ev got its visit from its own step (not a copy's member) */
    struct assign_visitor *v; /* NULL: passed on as it is */
    char *member;             /* its visit member (malloc'd), once assigned */
    size_t member_len;
};

struct assign_plan {
    struct assign_item *items;
    /* The batch's events decoded (an event not decoded: src NULL), each that was stepped with
     * its visit (envelope_event_with_visit()): assign_plan_take_events() hands them on. */
    struct event *evs;
    size_t n, n_evs;               /* n_evs: those of evs initialised */
    struct assign_visitor **table; /* open addressing by key, 2^k slots */
    size_t slots, n_visitors;
    struct assign_visitor **order; /* the visitors in first-seen order */
};

/* An envelope longer than this cannot be one ingest wrote (its body is at most MAX_BODY_BYTES,
 * 1 MiB, and what it adds is a few KB): it is passed on undecoded, so that no such text (a
 * hand-pushed 17 MB one in it_fault_poison.sh) holds the shard's lease while it is parsed. */
#define ASSIGN_ENVELOPE_MAX (1024 * 1024 + 64 * 1024)

/* Decode the batch b into w (zeroed before) and group its events by visitor, whose state keys
 * are under shard. Returns 0, or -1 when out of memory. Free w with assign_plan_free(). */
int assign_plan_group(struct assign_plan *w, const struct queue_batch *b, const char *shard);

/* Each event's step (visit_step()), in the batch's order, once the visitors' states are
 * loaded: each event with a visitor gets its member (a client's duplicate the one its first
 * copy got). Returns 0, or -1 when out of memory. */
int assign_plan_step(struct assign_plan *w, long timeout_s);

/* The commit's mode of visitor v: "-0" plain, "r1" continued from yesterday's key, "n0" or
 * "n1" a new visit replacing today's state (and yesterday's key). */
const char *assign_plan_mode(const struct assign_visitor *v);

/* "e:<_id>", the state's field of the member of ev (sent with a client event_id), malloc'd
 * with its length in *len; NULL when out of memory. */
char *assign_plan_field(const struct event *ev, size_t *len);

/* The batch's events as the drain would decode the envelopes committed: each one decoded and
 * passed on as it was, or stepped (with its visit); the others (not decoded, or a client's
 * duplicate given a stored member) with src NULL. Once the commit succeeded; moves them out of
 * w (n of them: release each with event_cleanup() and the array with free()). */
struct event *assign_plan_take_events(struct assign_plan *w);

void assign_plan_free(struct assign_plan *w);

#endif
