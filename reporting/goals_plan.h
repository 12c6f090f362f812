/* goals_plan.h - the pure decisions behind GET /stats/goals (docs/api.md): which event types
 * are goals, the parameters goal= and by=, the one aggregation over the raw events that
 * counts each goal's (or one goal's property values') events and converted visitors, and the
 * rows of the answer. No I/O; table-tested in tests/unit/test_goals_plan.c. */
#ifndef REPORTING_GOALS_PLAN_H
#define REPORTING_GOALS_PLAN_H

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "range.h"

/* The row of the events a goal breakdown finds without the property, or with one that is not
 * a non-empty string (Plausible's name for it). */
#define GOALS_NONE "(none)"

/* The most goals (or values of a property) a range may have: more is refused (a 400), so
 * that the aggregation's one answer document and reporting's rows stay small. */
#define GOALS_VALUES_MAX 1000

/* The longest property key by= names (after "prop."). */
#define GOALS_KEY_MAX FILTER_KEY_MAX

#define GOALS_ERR_GOAL "Parameter 'goal' must be 1-64 bytes of UTF-8"
#define GOALS_ERR_BUILTIN                                                                          \
    "Parameter 'goal' must be a custom event type, not page_view, click, scroll, mousemove or "    \
    "form"
#define GOALS_ERR_BY                                                                               \
    "Parameter 'by' must be prop.<key>, the key 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"
#define GOALS_ERR_BY_GOAL "Parameter 'by' must be given with 'goal'"

/* Whether event type t is one of the tracker's built-in types (page_view, click, scroll,
 * mousemove, form), which are never goals. */
int goals_builtin(const char *t);

/* goal= (length len as reporting_param() gives it: 0 absent or empty, -1 unreadable or over
 * 64 bytes) and by= (its length likewise, read with room for more than its longest form).
 * Sets key to by's property key ("" without by). Returns NULL, or the message of the 400. */
const char *goals_params(const char *goal, int goal_len, const char *by, int by_len,
                         char key[GOALS_KEY_MAX + 1]);

/* The aggregation ({pipeline: [...]}) of site_id's events over the days of r: without goal,
 * every custom event type; with goal (key ""), that type alone; with goal and key, that
 * type's events by their properties.<key>. One $match (the site and range through the index
 * {site_id, timestamp}, and the types), then one $facet: "events" ({_id: name, n}) and
 * "visitors" ({_id: name, n}: distinct non-empty user_ids), each at most GOALS_VALUES_MAX + 1
 * rows; with key also "none_events" and "none_visitors" ([{n}] or []). site_id and goal are
 * plain strings, key only the characters goals_params() lets through. Free with
 * bson_destroy(). */
bson_t *goals_pipeline(const char *site_id, const struct day_range *r, const char *goal,
                       const char *key);

/* The rows of an answer: a goal or property value, its converted visitors and its events. */
struct goal_row {
    char *name; /* owned */
    int64_t visitors, events;
};
struct goal_rows {
    size_t n;
    struct goal_row *rows; /* owned, at most GOALS_VALUES_MAX + 1 */
};

/* Free the rows and zero them. */
void goal_rows_clear(struct goal_rows *g);

/* The rows of the aggregation's document doc (goals_pipeline()): one a name of "events",
 * with its visitors from "visitors" (0 when it has none); with none (a key was given) and
 * some events in "none_events", also a GOALS_NONE row. Returns 0 and fills out
 * (goal_rows_clear()), 1 when a facet has more than GOALS_VALUES_MAX rows (out empty), or -1
 * out of memory (out empty). */
int goal_rows_of(const bson_t *doc, int none, struct goal_rows *out);

/* Sort rows by visitors, descending, then events, descending, then name (bytes, ascending),
 * and keep the first `limit`. */
void goal_rows_rank(struct goal_rows *g, size_t limit);

/* The conversion rate of `converted` visitors among `visitors`, in percent (100 x converted /
 * visitors, unrounded as /stats/summary's bounce_rate), 0 without visitors. */
double goals_rate(int64_t converted, int64_t visitors);

#endif
