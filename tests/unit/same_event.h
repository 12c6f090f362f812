/* same_event.h - whether two decoded events' optional parts are the same: shared by the
 * envelope's unit tests (tests/unit/test_envelope.c) and its fuzz target
 * (tests/fuzz/fuzz_event.c), which compare the two decoders' events. Header-only. */
#ifndef TESTS_UNIT_SAME_EVENT_H
#define TESTS_UNIT_SAME_EVENT_H

#include <string.h>

#include "event.h"

/* Two optional strings are the same (both NULL, or equal). */
static inline int
same_str(const char *a, const char *b)
{
    return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* Whether a and b have the same visit member, or neither has one. */
static inline int
same_visit(const struct event *a, const struct event *b)
{
    const struct event_visit *x = &a->visit, *y = &b->visit;

    if (a->has_visit != b->has_visit) {
        return 0;
    }
    return !a->has_visit ||
           (same_str(x->id, y->id) && x->seq == y->seq && x->start_ms == y->start_ms &&
            x->n == y->n && x->b == y->b && x->d == y->d && same_str(x->e, y->e) &&
            x->en == y->en && x->eb == y->eb && same_str(x->x, y->x) && x->xn == y->xn &&
            x->xb == y->xb && same_str(x->xo, y->xo) && x->xob == y->xob);
}

/* a and b have the same yesterday's visitor id ("vy"), or neither has one. */
static inline int
same_prev_visitor(const struct event *a, const struct event *b)
{
    return strcmp(a->prev_visitor, b->prev_visitor) == 0;
}

/* The attributions of a and b are the same strings. */
static inline int
same_attrs(const struct event *a, const struct event *b)
{
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (!same_str(a->attr[k], b->attr[k])) {
            return 0;
        }
    }
    return 1;
}

#endif
