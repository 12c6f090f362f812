/* rollup_own.c - the rollup kinds of an event, the `own` stamp of its document, and batch ids. */
#include "rollup_own.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ts.h"

const char *const rollup_kind_names[ROLLUP_KINDS] = {"a", "t", "pa", "pt", "h", "ht", "r"};

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
    for (int s = 0; s < 4; s++) {
        if (o->built & (1u << s)) {
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
    int s = has_ref * 2 + has_path;
    bson_t *own = &o->shape[s];

    if (!(o->built & (1u << s))) {
        bson_init(own);
        o->built |= 1u << s;
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            int path_kind = k == ROLLUP_KIND_PATH_ALL || k == ROLLUP_KIND_PATH_TYPE;
            if ((k == ROLLUP_KIND_REFERRER && has_ref) ||
                (k != ROLLUP_KIND_REFERRER && (!path_kind || has_path))) {
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
