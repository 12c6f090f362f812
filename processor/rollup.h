/* rollup.h - exact per-site, per-day figures kept up to date by the processors, so that
 * /stats reads a few small documents instead of scanning the day's events. The documents
 * are described in common/rollup_doc.h.
 *
 * An event counts in up to seven figures ("kinds", below): its site-day, its site-day and
 * type, (with a non-empty path) the path document of each of the two, its site-hour and
 * site-hour and type, and (a page view with a referrer) its site-day's referrer document. Each
 * figure is decided by itself: a batch that crashed between applying on the site-days and on the
 * site-hours is voided, and its events taken over, on the site-hours only.
 *
 * Exactly once, with any number of processors, crashes and redeliveries:
 *  - Each processor run has a random run id; its batches are numbered 1, 2, ... and
 *    applied one after another. A batch id is "<run>:<seq>". A batch that will never
 *    apply (given up, or handed back) ends its run (rollup_batch_new_run()).
 *  - A batch inserts its events with own = {kind: batch id} (rollup_append_own()):
 *    the batch that first stored an event is the one to count it, in each figure.
 *  - It applies its counts to each document with one conditional update: only if
 *    runs.<run> < seq (not applied yet) and its id is not in voided; the same update
 *    sets runs.<run> = seq. So a retried batch never counts twice.
 *  - An event that is already stored (a redelivery) is counted by this batch only if
 *    its owner V never will: the batch first "voids" V on that figure's document (adds
 *    V to voided, only if runs.<run of V> < seq of V, i.e. V has not applied there),
 *    which makes V's own update fail forever; then it takes the event over (compare-
 *    and-set of own.<kind> from V to itself). If V had applied there, the event is
 *    already counted and is skipped. Every event of a voided batch is redelivered (a
 *    redelivery means that batch's processing list went back to the queue), so each is
 *    taken over in turn.
 *  - A redelivery is the same envelope again: each envelope has a delivery id (ingest's
 *    UUIDv7), stored in the event's document. An event already stored from another
 *    envelope (a client that sent one event_id twice, through one ingest or two) is a
 *    client's duplicate: its owner V may be a live batch that has not applied yet, and
 *    voiding V would lose V's other events there. So it is neither voided for nor taken
 *    over, and not counted here: V counts it, or, if V crashed, V's own redelivery of the
 *    envelope that stored it takes it over.
 *  - A user document belongs to the batch that created it (b), and that batch counts
 *    the user once in the site-day. Site-hours have no user documents: each keeps the set u
 *    of its users' hashes, added by the update that adds their views (rollup_plan_counts()),
 *    so a user is in it exactly when one of its events is counted there. A
 *    batch that counts an event of that user and finds
 *    b voided on the site-day takes the user document over (compare-and-set of b): its
 *    owner will never count it there. Owners are only voided through their redelivered
 *    events, never because of a user, so a live batch keeps its users.
 *  - Whether a batch has applied or is voided on a document is read from the document
 *    (runs.<run>, voided: rollup_plan_doc_state()), never inferred from an update's duplicate
 *    key: an upsert whose filter is not a plain equality gets one when another processor
 *    creates the document at that moment, having changed nothing; it is then run again.
 * Updates are single-document and conditional, so this needs no transactions. The
 * decisions are rollup_plan.h's pure functions; rollup_apply() runs them on MongoDB.
 */
#ifndef PROCESSOR_ROLLUP_H
#define PROCESSOR_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "insert.h"
#include "rollup_doc.h"
#include "store.h"

/* The figures an event counts in, each kept in its own rollup document: the site-day, the
 * site-day of its event type, when it has a path that path's counts in each of the two,
 * the site-hour and site-hour of its type, and, for a page view with a referrer
 * (rollup_event_referrer()), that referrer's views in its site-day. The site-days count
 * users too. */
enum rollup_kind {
    ROLLUP_KIND_ALL = 0,
    ROLLUP_KIND_TYPE = 1,
    ROLLUP_KIND_PATH_ALL = 2,
    ROLLUP_KIND_PATH_TYPE = 3,
    ROLLUP_KIND_HOUR_ALL = 4,
    ROLLUP_KIND_HOUR_TYPE = 5,
    ROLLUP_KIND_REFERRER = 6, /* a page view with a referrer: its site-day's referrer doc */
    ROLLUP_KINDS = 7
};
/* Their names in an event document's `own` field: "a", "t", "pa", "pt", "h", "ht", "r". */
extern const char *const rollup_kind_names[ROLLUP_KINDS];

/* The referrer event ev counts under (rollup_referrer_host() of properties.referrer of a
 * page_view) into out: its length, or -1 when it counts under none. */
int rollup_event_referrer(const struct event *ev, char out[ROLLUP_REFERRER_MAX + 1]);

/* The `own` documents of one batch's events: an event's has one of four shapes (with or
 * without a path, with or without a referrer), each built once per batch and copied into
 * every event document of that shape (building it for each event was a tenth of the
 * processor's instructions). rollup_own_init() keeps batch by pointer;
 * rollup_own_cleanup() frees what was built. */
struct rollup_own {
    const char *batch;
    bson_t shape[4];
    unsigned built; /* bit s: shape[s] is built */
};
void rollup_own_init(struct rollup_own *o, const char *batch);
void rollup_own_cleanup(struct rollup_own *o);

/* Append own: {<kind name>: batch} to an event's document, for each kind it counts in (pa
 * and pt only with a non-empty path, r only with a referrer; an event stored before the hour kinds
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

/* What a rollup_apply() did beyond counting its own events. */
struct rollup_tally {
    size_t taken_over;        /* (event, figure) pairs counted for a batch that never will */
    size_t users_taken_over;  /* user documents of a voided batch counted by this one */
    size_t client_duplicates; /* events stored from another envelope (a client's second send
                               * of one event_id): counted by that one, not here; added only
                               * by the call that succeeds */
};

/* Count the events of batch b in the rollup documents: those with outcome
 * INSERT_NEW (stored by this batch, with own = b) and those INSERT_DUPLICATE whose
 * owner has not and will not count them (see above); INSERT_REJECTED and
 * INSERT_CONFLICT ones are not stored and not counted. Idempotent: call it again with the same
 * arguments after a failure. Returns 0, or -1 with err: ERR_TRANSIENT when MongoDB is away
 * or slow, or a stop was requested (retry later, for as long as it lasts); ERR_INTERNAL (out
 * of memory) or ERR_INVALID (owners that keep changing, a document that never settles) when
 * retrying may never help (the processor gives up after MAX_ATTEMPTS). Adds to
 * *tally. */
int rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
                 const enum insert_outcome *outcomes, size_t n, struct rollup_tally *tally,
                 struct app_err *err);

#endif
