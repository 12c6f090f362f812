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

/* Whether visits x and y have the same va (the visit's attribution, device and country), or
 * neither has one (and then both are all zero). */
static inline int
same_visit_attr(const struct event_visit *x, const struct event_visit *y)
{
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (!same_str(x->va.attr[k], y->va.attr[k])) {
            return 0;
        }
    }
    return x->has_va == y->has_va &&
           memcmp(&x->va.device, &y->va.device, sizeof x->va.device) == 0 &&
           strcmp(x->va.country, y->va.country) == 0;
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
            x->xb == y->xb && same_str(x->xo, y->xo) && x->xob == y->xob && same_visit_attr(x, y));
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
