/* funnel_plan.h - the pure decisions behind GET /stats/funnel (docs/api.md): the parameter
 * steps=, the one aggregation over the raw events that reads the events able to match a step,
 * visit by visit, and the matching of each visit's events against the steps, with each
 * step's distinct visitors. No I/O; table-tested in tests/unit/test_funnel_plan.c. */
#ifndef REPORTING_FUNNEL_PLAN_H
#define REPORTING_FUNNEL_PLAN_H

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <stdint.h>

#include "range.h"

#define FUNNEL_STEPS_MIN 2
#define FUNNEL_STEPS_MAX 8

/* The longest value of a step (after "path:" or "event:"), in bytes. */
#define FUNNEL_VALUE_MAX 256

/* The longest steps= a request may send, decoded, in bytes. */
#define FUNNEL_PARAM_MAX 4096

/* The most distinct visitors the funnel's first step may have over a range: more is refused
 * (a 400), so that reporting's table of visitors stays small (16 bytes a visitor at most). */
#define FUNNEL_VISITORS_MAX 100000

/* The events a batch of the aggregation's cursor holds. */
#define FUNNEL_BATCH 512

#define FUNNEL_ERR_MISSING                                                                         \
    "Missing required parameter: steps (2 to 8 steps, each path:<path> or event:<event_type>, "    \
    "comma-separated)"
#define FUNNEL_ERR_PARAM "Parameter 'steps' must be at most 4096 bytes of UTF-8"

/* A step: a page view of one path, or an event of one type. */
enum funnel_kind { FUNNEL_PATH = 0, FUNNEL_EVENT = 1 };
struct funnel_step {
    enum funnel_kind kind;
    char value[FUNNEL_VALUE_MAX + 1];
};
struct funnel {
    size_t n; /* FUNNEL_STEPS_MIN to FUNNEL_STEPS_MAX once parsed */
    struct funnel_step steps[FUNNEL_STEPS_MAX];
};

/* steps= (length len as reporting_param() gives it: 0 absent or empty, -1 unreadable or over
 * FUNNEL_PARAM_MAX bytes): FUNNEL_STEPS_MIN to FUNNEL_STEPS_MAX steps separated by ',', each
 * "path:<path>" or "event:<event_type>" with a value of 1 to FUNNEL_VALUE_MAX bytes (a value
 * cannot hold a ','). Returns 0 and fills f, or -1 with the message of the 400, naming the bad
 * step by its place, in msg. */
int funnel_parse(const char *steps, int len, struct funnel *f, char *msg, size_t msgsz);

/* The step's text as the answer names it, "path:/pricing" or "event:signup", into out.
 * Returns out. */
char *funnel_step_name(const struct funnel_step *s, char *out, size_t outsz);

/* Whether an event (event_type, path: either may be NULL) matches step s: a path step a
 * page_view of exactly that path, an event step an event of exactly that type. */
int funnel_step_match(const struct funnel_step *s, const char *event_type, const char *path);

/* The aggregation ({pipeline: [...]}) of site_id's events of the visits that started in r
 * (visit_start, index {site_id, visit_start}) that can match a step of f (its event types, or
 * a page_view of one of its paths), in visit order ({visit_id: 1, visit_seq: 1}), each with
 * visit_id, visit_seq, user_id, event_type and path only. Reading only those events is
 * enough: a visit's events contain the steps as a subsequence when its matching events do.
 * Filters on other fields go into its first $match. Free with bson_destroy(). */
bson_t *funnel_pipeline(const char *site_id, const struct day_range *r, const struct funnel *f);

/* The aggregation's options: {allowDiskUse: true, batchSize: FUNNEL_BATCH}: MongoDB sorts the
 * range's matching events in memory (no index leads with visit_id), and reporting holds one
 * batch of at most FUNNEL_BATCH projected events (each under 3 KB) at a time. Free with
 * bson_destroy(). */
bson_t *funnel_opts(void);

/* The walk over the aggregation's events, one visit after the other: the step each visit
 * reached (its events, in visit_seq order, contain steps 1..k as a subsequence: matched
 * greedily, the first event matching the next step) and, for each visitor (the user_id of
 * the event that matched step 1 of a visit), the furthest step any of their visits reached.
 * Memory: the current visit's id and one table entry a visitor. */
struct funnel_walk {
    const struct funnel *f;
    char *visit;       /* the current visit's id (owned), NULL before the first event */
    size_t visit_size; /* bytes allocated for it */
    size_t reached;    /* steps the current visit reached */
    uint64_t user;     /* the hash of its step 1's user_id, 0 without one */
    uint64_t *keys;    /* visitors: open addressing by the hash of user_id, 0 empty */
    uint8_t *best;     /* each one's furthest step */
    size_t size, used; /* slots (a power of two, or 0) and visitors */
};

/* Start a walk over f (which outlives it). */
void funnel_walk_init(struct funnel_walk *w, const struct funnel *f);

/* One event of the aggregation (visit_id, user_id, event_type and path as stored; any may be
 * NULL): a new visit_id ends the visit before it. Returns 0; 1 when the first step now has
 * more than FUNNEL_VISITORS_MAX visitors; -1 out of memory. */
int funnel_walk_event(struct funnel_walk *w, const char *visit_id, const char *user_id,
                      const char *event_type, const char *path);

/* End the last visit, after the last event. Returns as funnel_walk_event(). */
int funnel_walk_end(struct funnel_walk *w);

/* Each step's visitors, visitors[0..f->n): those with a visit that reached it. */
void funnel_walk_counts(const struct funnel_walk *w, int64_t visitors[FUNNEL_STEPS_MAX]);

/* Free the walk's memory. */
void funnel_walk_cleanup(struct funnel_walk *w);

#endif
