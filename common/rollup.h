/* rollup.h - exact per-site, per-day figures kept up to date by the processors, so that
 * /stats reads a few small documents instead of scanning the day's events.
 *
 * Documents (ids are self-delimiting: "<date>|*|<n>:<site>" for a site-day, with
 * "<n>:<event type>" in place of "*" for one event type; lengths in bytes):
 *   rollups       {_id: site-day id, site_id, date, event_type|null, views, users,
 *                  runs: {<run>: <seq>}, voided: [<batch id>...]}
 *   rollup_paths  {_id: site-day id + "|" + path, scope: site-day id, path, views, runs, voided}
 *   rollup_users  {_id: site-day id + "|" + user_id, b: <batch id>}
 * An event counts in four figures ("kinds", see store.h): its site-day, its site-day
 * and type, and (with a non-empty path) the path document of each of the two.
 *
 * Exactly once, with any number of processors, crashes and redeliveries:
 *  - Each processor run has a random run id; its batches are numbered 1, 2, ... and
 *    applied one after another. A batch id is "<run>:<seq>".
 *  - A batch inserts its events with own = {kind: batch id} (store_insert_events()):
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
 *  - A user document belongs to the batch that created it (b), and that batch counts
 *    the user once in the site-day. A batch that counts an event of that user and finds
 *    b voided on the site-day takes the user document over (compare-and-set of b): its
 *    owner will never count it there. Owners are only voided through their redelivered
 *    events, never because of a user, so a live batch keeps its users.
 * Updates are single-document and conditional, so this needs no transactions.
 */
#ifndef COMMON_ROLLUP_H
#define COMMON_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "store.h"

#define ROLLUP_RUN_LEN 16
#define ROLLUP_BATCH_ID_MAX 48

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
#endif
};

/* Start a run: a random run id, before its first batch; no failpoint. */
void rollup_batch_init(struct rollup_batch *b);

/* The id of the run's next batch. */
void rollup_batch_next(struct rollup_batch *b);

/* What a rollup_apply() did beyond counting its own events. */
struct rollup_tally {
    size_t taken_over;       /* (event, figure) pairs counted for a batch that never will */
    size_t users_taken_over; /* user documents of a voided batch counted by this one */
};

/* Count the events of batch b in the rollup documents: those with outcome
 * STORE_INSERTED (stored by this batch, with own = b) and those STORE_DUPLICATE whose
 * owner has not and will not count them (see above); STORE_REJECTED ones are not
 * stored and not counted. Idempotent: call it again with the same arguments after a
 * failure. Returns 0, or -1 with err (ERR_TRANSIENT: retry later). Adds to *tally. */
int rollup_apply(store_t *s, const struct rollup_batch *b, const struct event *evs,
                 const enum store_outcome *outcomes, size_t n, struct rollup_tally *tally,
                 struct app_err *err);

/* The figures of /stats from the rollup documents: the same answer as
 * store_query_stats() on the raw events, from at most a site-day document and the 10
 * top path documents. Returns 0 (release out->top_paths), or -1 with err. */
int rollup_query(store_t *s, const char *site_id, int64_t day_start_ms, const char *event_type,
                 struct store_stats *out, struct app_err *err);

#endif
