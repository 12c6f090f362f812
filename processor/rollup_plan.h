/* rollup_plan.h - the decisions of the rollup protocol (rollup.h) as pure functions: given
 * a batch and what the store reported, which documents to void, which events and user
 * documents to take over, and what to count where. rollup.c runs a plan against MongoDB;
 * tests/unit/test_rollup_plan.c runs it against tables of what a store could report.
 *
 *   rollup_plan_init()          the documents of the batch's events; the ones it stored
 *                               are counted at once, the redelivered ones are pending
 *   read the owners (own.<kind>) and the delivery of the redelivered events into
 *   own[] and dlv[]                                                                [store]
 *   rollup_plan_client_duplicates()  the redelivered events stored from another envelope
 *                               (a client's second send of one event_id) leave the plan
 *   while rollup_plan_pending() (at most ROLLUP_TAKEOVER_TRIES rounds):
 *     rollup_plan_questions()   which (document, owner) to resolve: void the owner there
 *                               unless it has applied there; each answer into q[] by
 *                               rollup_plan_answer(), voiding again while it says so [store]
 *     rollup_plan_takeovers()   compare-and-sets of own.<kind> from a voided owner  [store]
 *     read the owners again into own[]; rollup_plan_round_end()                  [store]
 *   rollup_plan_users()         the user documents of what this batch counts: read every
 *                               b with rollup_plan_user_owner(), create the missing
 *                               ones (b: this batch) and read b again               [store]
 *   rollup_plan_user_questions()  is the owner of a user document voided on its
 *                               site-day? the answers into q[] (one read of the
 *                               site-days' voided lists)                            [store]
 *   rollup_plan_user_takeovers()  compare-and-sets of b from a voided owner; when there
 *                               are any, read every b back again                    [store]
 *   rollup_plan_counts()        views and users to add to each document             [store]
 */
#ifndef PROCESSOR_ROLLUP_PLAN_H
#define PROCESSOR_ROLLUP_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "insert.h"
#include "rollup_own.h"
#include "sitetz.h"

/* How many rounds an event's owner may change under our feet before the batch gives up
 * (and is retried later): each change is another processor taking it over. */
#define ROLLUP_TAKEOVER_TRIES 8

/* How many times one conditional update of a document is run while the document itself
 * says that it has neither applied nor been voided (rollup_plan_doc_state()), before the batch
 * gives up (and is retried later): a second run after a lost race finds the document there. */
#define ROLLUP_UPDATE_TRIES 8

/* What a rollup document says of one batch. */
enum rollup_doc_state {
    ROLLUP_DOC_OPEN = 0,    /* neither, or no such document */
    ROLLUP_DOC_APPLIED = 1, /* the batch has applied its counts there */
    ROLLUP_DOC_VOIDED = 2,  /* the batch is in its voided list: it never applies there */
};

/* The collection of a document (PLAN_EVENT: the batch's event ids, to find a second copy).
 * PLAN_VISIT: a visit site-day or site-hour (rollup_visits); PLAN_ENTRY, PLAN_EXIT: an entry
 * or exit page (rollup_entry_pages, rollup_exit_pages), whose scope is its site-day in
 * rollup_visits. */
enum plan_ns {
    PLAN_SCOPE = 0,
    PLAN_PATH = 1,
    PLAN_USER = 2,
    PLAN_EVENT = 3,
    PLAN_REF = 4,
    PLAN_VISIT = 5,
    PLAN_ENTRY = 6,
    PLAN_EXIT = 7,
    PLAN_DIMS = 8, /* a site-day's dimensions (rollup_dims), a child of the site-day */
    PLAN_VDIMS = 9 /* a visit site-day's dimensions (rollup_dim_visits), a child of it */
};

/* One document the batch touches. */
struct plan_doc {
    char *id;               /* owned */
    int ns;                 /* enum plan_ns (the same id may be in two collections) */
    const struct event *ev; /* site-day and path documents: one of their events, whose
                             * fields the document gets when an update creates it (a visit
                             * document: the day and hour of its visit's start) */
    int kind;               /* enum rollup_kind of its figure; user documents: of their scope */
    long scope;             /* path, referrer and user documents: the index of their site-day */
    int64_t views, users;   /* what this batch adds (rollup_plan_counts()) */
    int64_t pageviews;      /* a dimensions document: the page views of its views */
    /* Visit documents: what this batch adds (rollup_plan_counts(); may be negative on an exit
     * page), and how many (event, figure) pairs it counts there: the update is written when
     * there is one, even if the sums are 0. */
    int64_t visits, bounces, duration_ms;
    size_t hits;
    size_t u_at, u_n;                /* site-hour and dimensions documents: the user hashes to
                                      * add to its set u,
                                      * uhash[u_at..u_at + u_n), distinct (rollup_plan_counts()) */
    int listed;                      /* user documents: in users[] */
    int mine;                        /* user documents: b is this batch, as last read */
    char owner[ROLLUP_BATCH_ID_MAX]; /* user documents: b as last read ("" unread) */
    /* Site-day, site-hour and visit documents: their bucket in the site's time zone (UTC
     * without one): the day (days since 1970-01-01) and a site-hour's first instant. */
    int64_t day, hour_ms;
};

/* A question for the store. Events: has batch `owner` applied on document doc? (If not, the
 * executor voids it there first, so that it never will.) User documents: is `owner` in the
 * voided list of site-day doc? The answer: voided 1 (voided now or before), 0 (applied). */
struct plan_question {
    long doc;
    const char *owner; /* points into the plan */
    int voided;
};

/* A compare-and-set for the store: on each of ids[0..n), set the field (own.<kind> of an
 * event, or b of a user document when kind is -1) to this batch where it is `from` ("":
 * where it is missing). Which succeeded, the next read of the owners tells. */
struct plan_cas {
    int kind;
    const char *from;
    const char **ids; /* points into the plan */
    size_t n;
};

/* One (redelivered event, figure) pair still to decide. */
struct plan_pair {
    size_t j;  /* index in dups[] */
    int k;     /* enum rollup_kind */
    long q;    /* its question in q[], or -1 */
    int state; /* see rollup_plan.c */
};

struct rollup_plan {
    const char *batch;        /* this batch's id */
    const struct sitetz *tzs; /* the sites' time zones (SITE_TIMEZONES; NULL: all UTC) */
    const struct event *evs;
    size_t n;
    /* The documents: an array, and an open-addressing index over it. */
    struct plan_doc *docs;
    size_t n_docs, cap_docs;
    long *slots;
    size_t n_slots;
    long (*doc_of)[ROLLUP_KINDS];           /* doc_of[i][k]: event i's document of kind k, or -1 */
    long (*user_of)[ROLLUP_KINDS];          /* user_of[i][k]: its user document in scope k (a
                                             * site-day or site-hour kind), or -1 */
    unsigned char (*counted)[ROLLUP_KINDS]; /* this batch counts event i in figure k */
    /* The redelivered events (INSERT_DUPLICATE): evs[dups[j]], and their owners as last
     * read: own[j * ROLLUP_KINDS + k] ("" when missing). The executor fills own. */
    size_t *dups;
    size_t n_dups;
    char (*own)[ROLLUP_BATCH_ID_MAX];
    /* The delivery of each stored document, as read with own: dlv[j] ("" when missing:
     * a document stored before deliveries were recorded, whose delivery is its _id). */
    char (*dlv)[EVENT_DOC_ID_MAX + 2];
    size_t client_dups; /* of the redelivered events, a client's duplicates */
    struct plan_pair *pairs;
    size_t n_pairs;
    /* The user documents listed by rollup_plan_users(). */
    long *user_docs;
    size_t n_users;
    /* The questions and compare-and-sets of the current step. */
    struct plan_question *q;
    size_t n_q;
    struct plan_cas *cas;
    size_t n_cas;
    const char **cas_ids;
    /* What the plan took over: (event, figure) pairs, and user documents. */
    size_t taken_over, users_taken_over;
    size_t users_mine_before;
    /* The hashes of the users this batch counts in each site-hour (plan_doc u_at, u_n). */
    int64_t *uhash;
};

/* Whether d is a site-hour document (in rollup_hours, or a visit site-hour in rollup_visits;
 * else a site-day or page document). */
int rollup_plan_is_hour(const struct plan_doc *d);

/* Plan batch `batch` (its id, kept by pointer) of events evs[0..n) with their outcomes:
 * INSERT_NEW ones are this batch's to count, INSERT_DUPLICATE ones are pending,
 * INSERT_REJECTED and INSERT_CONFLICT ones are not stored and not counted. Of two copies of one
 * envelope in the batch (same id and delivery), only the first is planned; copies of one id with
 * different deliveries are each planned, and rollup_plan_client_duplicates() keeps only
 * the one whose delivery stored the document. Returns 0, or -1 out of memory (then
 * rollup_plan_free() it). */
int rollup_plan_init(struct rollup_plan *p, const char *batch, const struct event *evs,
                     const enum insert_outcome *outcomes, size_t n, const struct sitetz *tzs);
void rollup_plan_free(struct rollup_plan *p);

/* With the stored deliveries in dlv[] (read with the first owners): a redelivered event
 * whose stored document came from another envelope (its delivery differs from
 * event_delivery() of this one) is a client's duplicate, not a redelivery: that envelope
 * and its batch, live or crashed, count the event (a crashed batch's own redelivery takes
 * it over), so this one is settled at once, not counted here, with no question, no void
 * and no takeover. Voiding a live owner here would lose the counts of all its other
 * events on those documents. Returns the number of client duplicates (also in
 * client_dups). */
size_t rollup_plan_client_duplicates(struct rollup_plan *p);

/* What a rollup document says of batch run:seq, read from the document alone: runs_seq is
 * its runs.<run> (0 when missing, or no document), voided whether the batch is in its voided
 * list. Voided comes first: a voided batch never applies, yet a later batch of its run may
 * have set runs.<run> past seq. Then applied when runs_seq >= seq; else open. An update that
 * answered a duplicate key says nothing by itself: an upsert whose filter is not a plain
 * equality answers one when another processor created the document at that moment, having
 * changed nothing, and MongoDB retries that race by itself only for equality filters. */
enum rollup_doc_state rollup_plan_doc_state(int64_t runs_seq, int voided, int64_t seq);

/* Answer question q from one try of its void (the executor's update that voids q->owner on
 * document q->doc unless the owner has applied there): matched, when the update matched or
 * created the document (the owner is voided there now, or was before); else it answered a
 * duplicate key, and st is what the document says of the owner, read after it. Returns 1
 * with q->voided set when that settles the question, or 0 when the void is to be run again
 * (ROLLUP_DOC_OPEN: the update lost a race to create the document). */
int rollup_plan_answer(struct plan_question *q, int matched, enum rollup_doc_state st);

/* The number of (redelivered event, figure) pairs still undecided. */
size_t rollup_plan_pending(const struct rollup_plan *p);

/* Decide what the owners in own[] settle (this batch's own: counted; missing: to take
 * over) and list the rest as questions in q[0..n_q). Returns n_q. */
size_t rollup_plan_questions(struct rollup_plan *p);

/* With the answers in q[]: list the compare-and-sets that take over the pairs of voided
 * owners in cas[0..n_cas), one per (kind, owner); the pairs whose owner applied are
 * settled (not counted here). Returns n_cas. */
size_t rollup_plan_takeovers(struct rollup_plan *p);

/* With the owners read again into own[]: the pairs now this batch's are counted (taken
 * over); the others (another batch moved first) are pending again. Returns the number
 * pending. */
size_t rollup_plan_round_end(struct rollup_plan *p);

/* List the user documents of the site-days and site-hours where this batch counts an event of a
 * user, in user_docs[0..n_users), with their owners unread. Returns n_users. */
size_t rollup_plan_users(struct rollup_plan *p);

/* Record the b read from user document `id` ("" when it has none). Returns 0, or -1 when
 * it is not one of the listed user documents. Allocates nothing. */
int rollup_plan_user_owner(struct rollup_plan *p, const char *id, const char *owner);

/* List, in q[0..n_q), whether each owner of a listed user document that is not this
 * batch's is voided on its site-day. Returns n_q. */
size_t rollup_plan_user_questions(struct rollup_plan *p);

/* With the answers in q[]: the compare-and-sets of b (kind -1) that take over the user
 * documents of voided owners, in cas[0..n_cas). Returns n_cas. */
size_t rollup_plan_user_takeovers(struct rollup_plan *p);

/* What to add: docs[d].views for each site-day, site-hour and path document (the visit
 * documents: visits, bounces and duration_ms, the sums of rollup_visit_contribution() of the
 * events counted there, and hits), docs[d].users
 * (the listed user documents that are this batch's) for each site-day, and for each
 * site-hour the distinct hashes (rollup_user_hash(), common/rollup_doc.h) of the non-empty
 * user ids of the events this batch counts there (uhash[u_at..u_at + u_n), ascending): added
 * to its set u by the same update that adds its views, so a user is in the set exactly when
 * one of its events is counted there. Also updates users_taken_over. */
void rollup_plan_counts(struct rollup_plan *p);

#endif
