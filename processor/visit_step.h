/* visit_step.h - one event's step through its visitor's visit: the rules of docs/design.md
 * "Visits" as pure functions, which the processor's assignment (assign.h) applies to each
 * claimed event in arrival order, with the state kept between batches in Redis.
 *
 * Given the visitor's state (or none) and the next event in arrival order, visit_step()
 * decides new visit or not, updates the state and writes the event's visit member: its
 * contributions to its visit's figures, which summed over the visit's events give the
 * visit's final figures in any order. */
#ifndef PROCESSOR_VISIT_STEP_H
#define PROCESSOR_VISIT_STEP_H

#include <stdint.h>

#include "event.h"

/* One visitor's visit so far. */
struct visit_state {
    int live;               /* 0: no visit yet (the rest unused) */
    int64_t seq;            /* the last event's seq */
    int64_t last_received;  /* the latest arrival, ms */
    int64_t min_ts, max_ts; /* the least and greatest event time, ms */
    int64_t start_ms;       /* the first event's ts */
    int page_views;         /* capped at 2: all a bounce needs */
    int interacted;         /* an event other than page_view, scroll, mousemove */
    char id[EVENT_DOC_ID_MAX + 1];
    char entry[EVENT_PATH_MAX + 1]; /* the first page view's path, "" for none */
    char exit[EVENT_PATH_MAX + 1];  /* the last page view's path, "" for none */
    /* The first event's attribution (enum event_attr, "" for none), device and country: the
     * visit's, given to each later event (struct event_visit's va). */
    char attr[EVENT_N_ATTRS][EVENT_ATTR_MAX + 1];
    struct event_device device;
    char country[EVENT_COUNTRY_LEN + 1];
};

/* The event as the step needs it. */
struct visit_input {
    const char *id;      /* its _id: the visit's id when it starts one */
    int64_t ts_ms;       /* its time */
    int64_t received_ms; /* its arrival at ingest */
    char class;          /* visit_class() */
    const char *path;    /* a page view's path (without query or fragment), or NULL / "" */
    /* The event whose attribution, device and country a visit it starts keeps (its attr,
     * device and country only), or NULL for none. */
    const struct event *own;
};

/* Take event in into state st (a new visit when st has none or when in arrived more than
 * timeout_ms after st's latest arrival, which keeps in's attribution, device and country) and
 * write its member into *m (with va, the visit's attribution, when it does not start the
 * visit), whose strings point into st (valid until its next step) but xo, which points into
 * old_exit (a buffer of EVENT_PATH_MAX + 1 bytes the caller keeps as long as *m). Pure. */
void visit_step(struct visit_state *st, const struct visit_input *in, int64_t timeout_ms,
                struct event_visit *m, char old_exit[EVENT_PATH_MAX + 1]);

/* visit_class(): what an event of event_type is to its visit. */
#define VISIT_PAGE_VIEW 'p'   /* page_view */
#define VISIT_PASSIVE 's'     /* scroll, mousemove: neither a page view nor an interaction */
#define VISIT_INTERACTION 'i' /* anything else */
char visit_class(const char *event_type);

/* The bytes of a packed state: at most this many (visit_state_pack()). */
#define VISIT_STATE_PACKED_MAX                                                                     \
    (2 + 5 * 8 + 2 + (3 + EVENT_N_ATTRS + 5 + 1) * 2 + EVENT_DOC_ID_MAX + 2 * EVENT_PATH_MAX +     \
     EVENT_N_ATTRS * EVENT_ATTR_MAX + 2 * EVENT_DEVICE_NAME_MAX + 2 * EVENT_DEVICE_VERSION_MAX +   \
     7 + EVENT_COUNTRY_LEN)

/* st (live) as bytes into out, which has room for VISIT_STATE_PACKED_MAX: "V2", seq,
 * last_received, min_ts, max_ts and start_ms as 64-bit little-endian integers, page_views and
 * interacted as a byte each, then id, entry, exit, the attribution's members (enum
 * event_attr's order), the device's (browser, browser_version, os, os_version, device) and the
 * country, each as a 16-bit little-endian length and its bytes. Returns the length. Pure. */
size_t visit_state_pack(const struct visit_state *st, char *out);

/* The state packed in buf[0..len) into *st (live), or -1 when buf is not such a state (st is
 * then not live): a state written by another version ("V1", before the visit kept its
 * attribution) is a state the next event cannot continue. Pure. */
int visit_state_unpack(const char *buf, size_t len, struct visit_state *st);

#endif
