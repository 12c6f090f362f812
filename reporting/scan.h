/* scan.h - the figures of a range computed visit by visit from its raw events, with filters
 * (docs/api.md, Filters and GET /stats/breakdown): what a filtered summary, time series or
 * breakdown, and a breakdown by a visit's source, campaign, device or country, count. The
 * read (query_scan.h) hands each visit's events here; this part is pure, table-tested in
 * tests/unit/test_scan.c.
 *
 * The rules, as docs/api.md gives them: a visit-level filter (filter.h) selects whole visits,
 * an event-level one events; a visit is kept when it passes the visit-level filters and has
 * an event passing the event-level ones. Per row (the whole range, a bucket, or a value of
 * `by`): visitors are the distinct users of the kept events in the range, pageviews and
 * events its kept page views and events; visits, bounces and durations are those of the kept
 * visits that started in the range (each whole). A row of a visit-level `by` takes the
 * visit's value; of an event-level one each event's, and a visit counts in the row of each
 * value its kept events have. */
#ifndef REPORTING_SCAN_H
#define REPORTING_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "filter.h"
#include "query_visits.h"
#include "range.h"

/* What the rows are: one for the whole range, one per bucket of step_ms, or one per value of
 * a dimension. */
enum scan_mode { SCAN_ONE, SCAN_BUCKETS, SCAN_VALUES };

/* The slot of scan_event.val holding the `by` dimension's value. */
#define SCAN_BY FILTER_SLOTS

/* One stored event as the scan needs it. Strings belong to the caller and stay valid for the
 * call of scan_visit(); NULL or "" is absent. */
struct scan_event {
    int64_t ts;    /* its timestamp, ms */
    uint64_t user; /* FNV-1a 64 of its user_id, 0 without one */
    int page_view; /* event_type is page_view */
    int interacts; /* an interaction: another type than page_view, scroll and mousemove */
    const char *path;
    const char *visit_id, *user_id, *type; /* as stored (for a visit_fn; may be NULL) */
    /* The value of filter i's dimension for i < the filters' n, and of `by` at SCAN_BY (each
     * read from the event; unused for entry and exit pages, which the scan computes). */
    const char *val[FILTER_SLOTS + 1];
};

/* The most rows of values and (row, visitor) pairs one scan holds: past them the read is
 * refused (SCAN_TOO_MANY). Their memory: about 150 bytes a row (its value aside), 16 a pair in
 * a table at most half full (a power of two: 32 MiB at most). */
#define SCAN_ROWS_MAX 100000
#define SCAN_PAIRS_MAX 1000000
#define SCAN_TOO_MANY                                                                              \
    "The range has too many distinct values or visitors to count with filters or this "            \
    "breakdown: ask a shorter range"

struct scan_row {
    char *value; /* owned; SCAN_VALUES only */
    struct summary s;
    int64_t stamp; /* the last visit counted here */
};

struct scan_pair {
    uint64_t user;
    uint32_t row; /* row + 1; 0: empty slot */
};

struct scan {
    const struct filters *fs;
    enum scan_mode mode;
    struct filter_dimension by; /* SCAN_VALUES */
    int64_t from_ms, end_ms;    /* the range: [from_ms, end_ms) */
    struct day_range range;     /* its days (SCAN_BUCKETS: range_bucket_of()) */
    int64_t step_ms;            /* SCAN_BUCKETS */
    struct scan_row *rows;
    size_t n_rows, cap_rows;
    uint32_t *index; /* value -> row + 1, open addressing; SCAN_VALUES */
    size_t index_cap;
    struct scan_pair *pairs;
    size_t n_pairs, pairs_cap;
    int64_t stamp;
    /* Optional: called with each kept visit that started in the range (its events, in
     * order), after it is counted; a non-zero answer is scan_visit()'s (GET /stats/funnel
     * walks its steps so). */
    int (*visit_fn)(void *arg, const struct scan_event *ev, size_t n);
    void *visit_arg;
};

/* Start a scan of r (its days) with filters fs (kept by the caller), by mode: SCAN_BUCKETS
 * with step_ms (an hour or a day), SCAN_VALUES with by. Returns 0, or -1 out of memory. */
int scan_init(struct scan *s, const struct filters *fs, const struct day_range *r,
              enum scan_mode mode, int64_t step_ms, const struct filter_dimension *by);

/* Free what s holds (scan_init()ed or zeroed). */
void scan_cleanup(struct scan *s);

/* Count one visit: its events ev[0..n) in their order in the visit (visit_seq), begun at
 * start_ms; or, with start_ms < 0, one event without a visit (n is 1; it counts no visit,
 * and its entry and exit pages are absent). Returns 0, -1 out of memory, or 1 past
 * SCAN_ROWS_MAX or SCAN_PAIRS_MAX (SCAN_TOO_MANY). */
int scan_visit(struct scan *s, const struct scan_event *ev, size_t n, int64_t start_ms);

/* The figures of one rollup_dims or rollup_dim_visits document (common/rollup_doc.h): a
 * combination of the visit dimensions vals[] (rollup_dim_fields[]' order, which is enum
 * filter_dim's first ROLLUP_DIMS; NULL or "" absent), its events, page views, visits, bounces
 * and durations, and the hashes (rollup_user_hash(), the scan's too) of its users. */
struct scan_dims {
    const char *vals[FILTER_COUNTRY + 1];
    int64_t day;        /* its date's day in the range, 0 the first (SCAN_BUCKETS by day) */
    struct summary add; /* visitors unused: the hashes say */
    const int64_t *users;
    size_t n_users;
};

/* Whether the scan's figures can be summed from such documents (scan_add_dims()) instead of
 * walking the raw events: SCAN_ONE, SCAN_VALUES, or SCAN_BUCKETS of a day (a document is one
 * day's), every filter and `by` a dimension they keep (source to country), and no visit_fn. */
int scan_by_dims(const struct scan *s);

/* Count one such document into its row, when it passes the filters (all visit-level, so that
 * a whole combination passes or not; SCAN_BUCKETS: the row of its day): 0, -1 out of memory, 1
 * past SCAN_ROWS_MAX or SCAN_PAIRS_MAX. Summed over a range's documents, the rows are
 * scan_visit()'s over the range's visits: each event, visit and user of a combination shares its
 * row and filters. */
int scan_add_dims(struct scan *s, const struct scan_dims *d);

/* Whether dimension d lists events without a value under FILTER_NONE (every one but path,
 * referrer and the entry and exit pages, which list pages and hosts only). */
int scan_lists_none(int d);

/* The rows of a SCAN_VALUES scan in the order of the answer, the first `limit` kept (the
 * others freed): by visitors, most first, for the dimensions of a visit and properties; by
 * events for path, event_type and referrer, and by visits for entry and exit pages (as the
 * breakdowns from the rollups); ties by value. */
void scan_rank(struct scan *s, size_t limit);

#endif
