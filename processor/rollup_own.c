/* rollup_own.c - the rollup kinds of an event, the `own` stamp of its document, and batch ids. */
#include "rollup_own.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ts.h"

const char *const rollup_kind_names[ROLLUP_KINDS] = {"a", "t", "pa", "pt", "h",  "ht", "r",
                                                     "d", "v", "vh", "vd", "ve", "vx", "vo"};

/* The bits of rollup_event_visit_kinds(): the start's site-day and site-hour share one. */
enum { VB_START = 1u, VB_ENTRY = 2u, VB_EXIT = 4u, VB_EXIT_OLD = 8u };

unsigned
rollup_event_visit_kinds(const struct event *ev)
{
    const struct event_visit *v = &ev->visit;

    if (!ev->has_visit) {
        return 0;
    }
    return (v->n != 0 || v->b != 0 || v->d != 0 ? VB_START : 0u) | (v->e != NULL ? VB_ENTRY : 0u) |
           (v->x != NULL ? VB_EXIT : 0u) | (v->xo != NULL ? VB_EXIT_OLD : 0u);
}

/* Whether the visit kinds `bits` (rollup_event_visit_kinds()) hold kind k. */
static int
has_visit_kind(unsigned bits, int k)
{
    switch (k) {
    case ROLLUP_KIND_VISIT:
    case ROLLUP_KIND_VISIT_HOUR:
    case ROLLUP_KIND_VISIT_DIMS:
        return (bits & VB_START) != 0;
    case ROLLUP_KIND_ENTRY:
        return (bits & VB_ENTRY) != 0;
    case ROLLUP_KIND_EXIT:
        return (bits & VB_EXIT) != 0;
    case ROLLUP_KIND_EXIT_OLD:
        return (bits & VB_EXIT_OLD) != 0;
    }
    return 0;
}

void
rollup_visit_contribution(const struct event *ev, int k, int64_t *visits, int64_t *bounces,
                          int64_t *duration_ms)
{
    const struct event_visit *v = &ev->visit;

    *visits = *bounces = *duration_ms = 0;
    switch (k) {
    case ROLLUP_KIND_VISIT:
    case ROLLUP_KIND_VISIT_HOUR:
    case ROLLUP_KIND_VISIT_DIMS:
        *visits = v->n;
        *bounces = v->b;
        *duration_ms = v->d;
        break;
    case ROLLUP_KIND_ENTRY:
        *visits = v->en;
        *bounces = v->eb;
        break;
    case ROLLUP_KIND_EXIT:
        *visits = v->xn;
        *bounces = v->xb;
        break;
    case ROLLUP_KIND_EXIT_OLD:
        *visits = -1;
        *bounces = -v->xob;
        break;
    }
}

void
rollup_event_dims(const struct event *ev, const char *vals[ROLLUP_DIMS])
{
    /* As the processor stores them (insert.c): the visit's when the envelope carries them. */
    struct event_attr_view v = event_visit_attrs(ev);
    static const int attrs[] = {
        EVENT_ATTR_SOURCE,       EVENT_ATTR_CHANNEL,  EVENT_ATTR_UTM_SOURCE, EVENT_ATTR_UTM_MEDIUM,
        EVENT_ATTR_UTM_CAMPAIGN, EVENT_ATTR_UTM_TERM, EVENT_ATTR_UTM_CONTENT};

    for (int i = 0; i < 7; i++) {
        vals[i] = v.attr[attrs[i]];
    }
    vals[7] = v.device->device;
    vals[8] = v.device->browser;
    vals[9] = v.device->os;
    vals[10] = v.country;
}

int
rollup_event_referrer(const struct event *ev, char out[ROLLUP_REFERRER_MAX + 1])
{
    json_t *ref = ev->properties != NULL ? json_object_get(ev->properties, "referrer") : NULL;

    if (ev->event_type == NULL || strcmp(ev->event_type, "page_view") != 0 ||
        !json_is_string(ref)) {
        return -1;
    }
    return rollup_referrer_host(json_string_value(ref), out);
}

void
rollup_own_init(struct rollup_own *o, const char *batch)
{
    o->batch = batch;
    o->built = 0;
}

void
rollup_own_cleanup(struct rollup_own *o)
{
    for (int s = 0; s < ROLLUP_OWN_SHAPES; s++) {
        if (o->built & ((uint64_t)1 << s)) {
            bson_destroy(&o->shape[s]);
        }
    }
    o->built = 0;
}

int
rollup_append_own(bson_t *doc, const struct event *ev, struct rollup_own *o)
{
    char host[ROLLUP_REFERRER_MAX + 1];
    int has_ref = rollup_event_referrer(ev, host) > 0;
    int has_path = ev->path != NULL && ev->path[0] != '\0';
    unsigned visit = rollup_event_visit_kinds(ev);
    int s = (int)visit * 4 + has_ref * 2 + has_path;
    bson_t *own = &o->shape[s];

    if (!(o->built & ((uint64_t)1 << s))) {
        bson_init(own);
        o->built |= (uint64_t)1 << s;
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            int path_kind = k == ROLLUP_KIND_PATH_ALL || k == ROLLUP_KIND_PATH_TYPE;
            if (ROLLUP_KIND_IS_VISIT(k)     ? has_visit_kind(visit, k)
                : k == ROLLUP_KIND_REFERRER ? has_ref
                                            : !path_kind || has_path) {
                if (!bson_append_utf8(own, rollup_kind_names[k], -1, o->batch, -1)) {
                    return -1;
                }
            }
        }
    }
    return bson_append_document(doc, "own", 3, own) ? 0 : -1;
}

/* --- batch ids ----------------------------------------------------------------------- */

void
rollup_batch_new_run(struct rollup_batch *b)
{
    char rnd[EVENT_ID_LEN + 1];

    /* The random part of a UUIDv7: 16 hex digits (62 random bits). */
    event_new_id(ts_now_ms(), rnd);
    snprintf(b->run, sizeof b->run, "%.4s%.12s", rnd + 19, rnd + 24);
    b->id[0] = '\0';
}

void
rollup_batch_init(struct rollup_batch *b)
{
    rollup_batch_new_run(b);
    b->seq = 0;
#ifdef FAULT_INJECTION
    b->fault = NULL;
    b->fault_seq = 0;
    b->fault_hours = NULL;
    b->fault_hours_seq = 0;
    b->fault_fail_seq = 0;
#endif
}

void
rollup_batch_next(struct rollup_batch *b)
{
    b->seq++;
    snprintf(b->id, sizeof b->id, "%s:%" PRId64, b->run, b->seq);
}
