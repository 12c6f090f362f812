/* rollup_plan_int.h - what the two halves of the rollup planner share: the documents of a
 * batch (rollup_plan_docs.c) and the decisions on them (rollup_plan.c). Not for other files. */
#ifndef PROCESSOR_ROLLUP_PLAN_INT_H
#define PROCESSOR_ROLLUP_PLAN_INT_H

#include <stddef.h>

#include "rollup_plan.h"

/* The states of a pending pair within a round. */
enum {
    PAIR_OPEN = 0,    /* to decide from its owner */
    PAIR_ASKED = 1,   /* waiting for the answer to q[pair.q] */
    PAIR_VOIDED = 2,  /* its owner never counts it here: take it over */
    PAIR_SENT = 3,    /* in a compare-and-set */
    PAIR_SETTLED = 4, /* decided: counted here, or by its owner */
};

/* The slot of document `id` of namespace ns in p's index: where it is, or the free slot where
 * it would go. */
size_t rollup_plan_slot_of(const struct rollup_plan *p, const char *id, int ns);

/* Whether s is a non-empty string. */
static inline int
rollup_plan_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

#endif
