/* rollup_own.h - who counts an event in which rollup figure: the figures an event counts in
 * (its kinds), the `own` stamp its document carries (which batch counts it in each kind), and
 * the ids of the batches that do the counting. The protocol that uses them is in rollup.h. */
#ifndef PROCESSOR_ROLLUP_OWN_H
#define PROCESSOR_ROLLUP_OWN_H

#include <bson/bson.h>
#include <stdint.h>

#include "event.h"
#include "rollup_doc.h"

/* The figures an event counts in, each kept in its own rollup document: the site-day, the
 * site-day of its event type, when it has a path that path's counts in each of the two,
 * the site-hour and site-hour of its type, and, for a page view with a referrer
 * (rollup_event_referrer()), that referrer's views in its site-day. The site-days count
 * users too.
 *
 * An event with a visit (its envelope's "visit" member, struct event_visit) also counts its
 * changes to its visit's figures (rollup_event_visit_kinds()), each in the bucket of the
 * visit's start (not of the event's ts): the site-day of the start in rollup_visits
 * (ROLLUP_KIND_VISIT: visits += n, bounces += b, duration_ms += d) and its site-hour there
 * (ROLLUP_KIND_VISIT_HOUR, the same), when any of n, b, d is not 0; the entry page e
 * (ROLLUP_KIND_ENTRY, in rollup_entry_pages: visits += en, bounces += eb) when e is set;
 * the exit page x (ROLLUP_KIND_EXIT, in rollup_exit_pages: visits += xn, bounces += xb)
 * when x is set; and the exit page it moved from, xo (ROLLUP_KIND_EXIT_OLD, also in
 * rollup_exit_pages: visits -= 1, bounces -= xob) when xo is set. Page documents are
 * children of the start's site-day (rollup_child_id()). Each is a figure of its own under
 * the protocol (rollup.h), exactly as the others; x and xo name two documents (the
 * contract never sends xo == x; if it did, both figures would count on one document).
 * Every event also counts in ROLLUP_KIND_DIMS: the document of its site-day and its visit's
 * dimensions (rollup_event_dims()) in rollup_dims: views += 1, pageviews += 1 for a page view,
 * and its user's hash in the set u (as a site-hour's). */
enum rollup_kind {
    ROLLUP_KIND_ALL = 0,
    ROLLUP_KIND_TYPE = 1,
    ROLLUP_KIND_PATH_ALL = 2,
    ROLLUP_KIND_PATH_TYPE = 3,
    ROLLUP_KIND_HOUR_ALL = 4,
    ROLLUP_KIND_HOUR_TYPE = 5,
    ROLLUP_KIND_REFERRER = 6,   /* a page view with a referrer: its site-day's referrer doc */
    ROLLUP_KIND_DIMS = 7,       /* its site-day's document of its visit's dimensions, rollup_dims */
    ROLLUP_KIND_VISIT = 8,      /* the site-day of the visit's start, in rollup_visits */
    ROLLUP_KIND_VISIT_HOUR = 9, /* the site-hour of the visit's start, in rollup_visits */
    ROLLUP_KIND_VISIT_DIMS = 10, /* the start's site-day and dimensions, in rollup_dim_visits */
    ROLLUP_KIND_ENTRY = 11,      /* the entry page e, in rollup_entry_pages */
    ROLLUP_KIND_EXIT = 12,       /* the exit page x, in rollup_exit_pages */
    ROLLUP_KIND_EXIT_OLD = 13,   /* the exit page xo it moved from (subtracted), there too */
    ROLLUP_KINDS = 14
};
/* Their names in an event document's `own` field: "a", "t", "pa", "pt", "h", "ht", "r", "d",
 * "v", "vh", "vd", "ve", "vx", "vo". An event stored before "d" and "vd" existed has neither:
 * its redelivery takes them over as owner-less figures, as with "h" and "ht". */
extern const char *const rollup_kind_names[ROLLUP_KINDS];

/* Whether kind k is one of the visit figures (ROLLUP_KIND_VISIT and after). */
#define ROLLUP_KIND_IS_VISIT(k) ((k) >= ROLLUP_KIND_VISIT)

/* The visit figures ev counts in: bit (k - ROLLUP_KIND_VISIT) for each visit kind k (the two
 * of the start's site-day and site-hour together: both or neither); 0 without a visit. */
unsigned rollup_event_visit_kinds(const struct event *ev);

/* What event ev adds to the visit figure of kind k (a visit kind it counts in): its visits,
 * bounces and duration_ms changes (duration only in the site-day and site-hour). */
void rollup_visit_contribution(const struct event *ev, int k, int64_t *visits, int64_t *bounces,
                               int64_t *duration_ms);

/* The values of the visit dimensions (rollup_dim_fields[], common/rollup_doc.h) that ev's
 * document stores: its visit's (the envelope's visit.va) when it has them, else its own; each
 * NULL or "" when absent. Pointers into ev. */
void rollup_event_dims(const struct event *ev, const char *vals[ROLLUP_DIMS]);

/* The referrer event ev counts under (rollup_referrer_host() of properties.referrer of a
 * page_view) into out: its length, or -1 when it counts under none. */
int rollup_event_referrer(const struct event *ev, char out[ROLLUP_REFERRER_MAX + 1]);

/* The `own` documents of one batch's events: an event's has one of ROLLUP_OWN_SHAPES shapes
 * (with or without a path, with or without a referrer, and which of the four groups of visit
 * figures: rollup_event_visit_kinds()), each built once per batch and copied into
 * every event document of that shape (building it for each event was a tenth of the
 * processor's instructions). rollup_own_init() keeps batch by pointer;
 * rollup_own_cleanup() frees what was built. */
#define ROLLUP_OWN_SHAPES 64
struct rollup_own {
    const char *batch;
    bson_t shape[ROLLUP_OWN_SHAPES];
    uint64_t built; /* bit s: shape[s] is built */
};
void rollup_own_init(struct rollup_own *o, const char *batch);
void rollup_own_cleanup(struct rollup_own *o);

/* Append own: {<kind name>: batch} to an event's document, for each kind it counts in (pa
 * and pt only with a non-empty path, r only with a referrer, the visit kinds as
 * rollup_event_visit_kinds() says; an event stored before the hour kinds
 * existed has no h and ht: its redelivery takes them over as an owner-less figure): the batch that
 * stores an event first is the one to count it. Returns 0, or -1 when the document cannot grow. */
int rollup_append_own(bson_t *doc, const struct event *ev, struct rollup_own *o);

/* A batch id: run and sequence number, and their text form. */
struct rollup_batch {
    char run[ROLLUP_RUN_LEN + 1];
    int64_t seq;
    char id[ROLLUP_BATCH_ID_MAX];
#ifdef FAULT_INJECTION
    /* A failpoint for the fault tests (NULL, the default: none): rollup_apply() of batch
     * number fault_seq calls fault(b) once its user documents are claimed and before any
     * count is applied, to crash half-way through. */
    void (*fault)(const struct rollup_batch *b);
    int64_t fault_seq;
    /* Another (NULL: none): batch number fault_hours_seq calls fault_hours(b) once its
     * counts are applied on the site-days and paths, before the site-hours. */
    void (*fault_hours)(const struct rollup_batch *b);
    int64_t fault_hours_seq;
    /* And (0: none) every rollup_apply() of batch number fault_fail_seq fails, with an
     * internal error, once its user documents are claimed. */
    int64_t fault_fail_seq;
#endif
};

/* Start a run: a random run id, before its first batch; no failpoint. */
void rollup_batch_init(struct rollup_batch *b);

/* End the run after a batch that will never apply (given up, or handed back to the queue
 * after it stored events) and go on with a new random run id; batch numbers go on from the
 * last one, failpoints are kept. A run's batches must apply in order: once a later batch of
 * the run had applied on a document, runs.<run> there would say that the abandoned one had
 * too, and its events, met again, would be counted by nobody. */
void rollup_batch_new_run(struct rollup_batch *b);

/* The id of the run's next batch. */
void rollup_batch_next(struct rollup_batch *b);

#endif
