/* ttl.h - the retention TTL indexes on MongoDB: at start each processor makes the events
 * collection's retention_ttl_* indexes those its settings want (ttl_plan.h), and says whether
 * they or the sweep delete the raw events (docs/design.md#retention). */
#ifndef PROCESSOR_TTL_H
#define PROCESSOR_TTL_H

#include <stdatomic.h>

#include "retention.h"
#include "store.h"
#include "ttl_plan.h"

/* What the start-up's reconciliation left, for /metrics. */
struct ttl_stats {
    atomic_int events_by_ttl; /* 1: the TTL indexes delete the raw events, not the sweep */
    atomic_long indexes;      /* the wanted TTL indexes in place as wanted */
};

/* Reconcile, once: with RETENTION_TTL off, or auto on a server without a TTL monitor (the
 * test server: no serverStatus, asked only when the plan has indexes), or settings no plan can
 * say, the wanted set is empty (every retention_ttl_* index is dropped); else the plan's.
 * listIndexes, then createIndexes of the missing, collMod of a changed age (refused: drop and
 * create it instead), dropIndexes of the unwanted: each idempotent, so any
 * number of processors may do it at once (an index already there or already gone is no
 * error). A failure logs a WARN naming the index and the command, and leaves the raw events to
 * the sweep; it never stops the processor. Logs one INFO line of the outcome. Sets *st. */
void ttl_reconcile(store_t *s, const struct retention *r, enum ttl_mode mode, struct ttl_stats *st);

#endif
