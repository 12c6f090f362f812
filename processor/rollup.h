/* rollup.h - exact per-site, per-day figures kept up to date by the processors, so that
 * /stats reads a few small documents instead of scanning the day's events. The documents
 * are described in common/rollup_doc.h.
 *
 * An event counts in up to twelve figures ("kinds", below): its site-day, its site-day and
 * type, (with a non-empty path) the path document of each of the two, its site-hour and
 * site-hour and type, (a page view with a referrer) its site-day's referrer document, and
 * (with a visit) its changes to its visit's figures in the visit site-day and site-hour of
 * the visit's start, its entry page and its exit pages (rollup_own.h). Each
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
 * Updates are single-document and conditional, so this needs no transactions. The kinds,
 * the own stamp and the batch ids are rollup_own.h's; the decisions are rollup_plan.h's pure
 * functions; rollup_apply() runs them on MongoDB.
 */
#ifndef PROCESSOR_ROLLUP_H
#define PROCESSOR_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "insert.h"
#include "rollup_own.h"
#include "sitetz.h"
#include "store.h"

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
 * *tally. Each site's days and hours are those of its time zone in tzs (NULL: UTC). */
int rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
                 const enum insert_outcome *outcomes, size_t n, const struct sitetz *tzs,
                 struct rollup_tally *tally, struct app_err *err);

#endif
