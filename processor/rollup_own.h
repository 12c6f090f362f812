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

#endif
