/* assign.h - each claimed event's visit, assigned by the processor (docs/design.md "Visits").
 *
 * Ingest pushes plain envelopes. A processor claims a batch of a shard (queue_claim()) only
 * while it holds the shard's assignment lease, "<shard>:assign" (SET NX PX, its consumer id as
 * value): the claim moves the batch from the right of the shard into "<shard>:assigning", or,
 * when that list is not empty (an assigner stopped before committing), takes that batch as it
 * is, the oldest events of the shard, and names itself in "<shard>:assigner". assign_batch()
 * then reads the states of the batch's visitors (one script, which also renews the lease),
 * applies visit_step() to each event in arrival order, and commits in one script that first
 * checks that the assigner is still the caller: the envelopes, each with its "visit" member,
 * into the caller's processing list (the list emptied), the states written, the lease
 * released. So one assigner at a time per shard sees the events in the order ingest queued
 * them, whatever the number of processors; a processor that dies between claim and commit
 * leaves its batch where the next lease holder takes it first. The assigner, not the lease,
 * fences the commit: a claim that takes the batch over renames it, so a slow assigner's late
 * commit writes nothing; but one slower than the lease whose batch nobody took still commits
 * (a batch of huge envelopes on a loaded machine is not retried forever).
 *
 * State: the hash "<shard>:visit:<bytes of site_id>:<site_id>:<user_id>", field "s" the
 * visit so far (visit_state_pack()), and "e:<_id>" the member given to an event sent with a
 * client event_id, so that a client's second send of it gets the same member. Its TTL is set
 * at each commit to VISIT_TIMEOUT_S + ASSIGN_MARGIN_S: timeouts are decided on arrival times,
 * the TTL only collects. A hashed visitor's event carries its id under yesterday's salt ("vy"):
 * when today's key has no state, yesterday's is continued (and renamed to today's), so a visit
 * crosses UTC midnight. An envelope that already has a visit member (redelivered, or queued
 * by an ingest of an earlier version) or has no user_id is passed on as it is, and one that
 * does not decode too (the drain makes it a dead letter). */
#ifndef PROCESSOR_ASSIGN_H
#define PROCESSOR_ASSIGN_H

#include <stddef.h>

#include "err.h"
#include "queue.h"
#include "rconn.h"

/* A state outlives its visit's last commit by VISIT_TIMEOUT_S and this. */
#define ASSIGN_MARGIN_S 300

/* VISIT_TIMEOUT_S: any number of seconds from 1 to a year. */
#define ASSIGN_TIMEOUT_MAX_S (366L * 86400)
#define ASSIGN_TIMEOUT_VAR(dest)                                                                   \
    {                                                                                              \
        "VISIT_TIMEOUT_S", "1800", CFG_INT, (dest), 1, ASSIGN_TIMEOUT_MAX_S, 0, NULL               \
    }

/* How long a claim holds the shard's lease at most: its commit must come before. */
#define ASSIGN_LEASE_MS 5000

/* The keys of one shard's assignment, for one consumer. */
struct assign_keys {
    const char *shard;      /* the shard's list (QUEUE_PENDING): the state keys' prefix */
    const char *assigning;  /* "<shard>:assigning" */
    const char *lease;      /* "<shard>:assign" */
    const char *assigner;   /* "<shard>:assigner" */
    const char *processing; /* the consumer's processing list of the shard */
    const char *consumers;  /* the registry */
    const char *consumer;   /* the consumer id: the lease's and the assigner's value */
};

/* Claim up to max envelopes of the shard for assignment: ASSIGN_BUSY when another consumer
 * holds the lease, else the number claimed (0: none, the lease released) into out, oldest
 * first, or -1 with err. */
#define ASSIGN_BUSY (-2)
int assign_claim(rconn_t *c, const struct assign_keys *k, size_t max, struct queue_batch *out,
                 struct app_err *err);

/* Assign the visits of the claimed batch b and commit them (see above): on success, returns 0
 * with b's envelopes replaced by those committed; else -1 with err (ERR_TRANSIENT when Redis
 * failed or the batch was taken over: nothing of this call was written, or, without an answer to
 * the commit, maybe all of it; the caller resumes from its processing list either way). */
int assign_batch(rconn_t *c, const struct assign_keys *k, long timeout_s, struct queue_batch *b,
                 struct app_err *err);

#ifdef FAULT_INJECTION
/* The fault build's failpoint FAULT_KILL_IN_ASSIGN: SIGKILL this process in its N-th
 * assign_batch() with a visitor, after reading the states and before the commit. */
extern long assign_fault_kill_at;
/* FAULT_STALL_IN_ASSIGN: sleep ASSIGN_LEASE_MS + 1 s at the same place in the N-th. */
extern long assign_fault_stall_at;
#endif

#endif
