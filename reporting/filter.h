/* filter.h - the dimensions of reporting's figures and the filters on them (docs/api.md,
 * Filters): what `filter=<dimension>:<is|is_not|contains>:<value>` and a breakdown's `by`
 * name, whether a dimension is its visit's or each event's own, and whether a value passes.
 * Pure: no I/O; table-tested in tests/unit/test_filter.c. */
#ifndef REPORTING_FILTER_H
#define REPORTING_FILTER_H

#include <stddef.h>

/* The dimensions. A visit's (FILTER_KIND_VISIT) are the same on every event of a visit (its
 * first event's, stored on each: common/event_doc.h) or computed over the visit (its entry
 * and exit page); an event's (FILTER_KIND_EVENT) are its own. */
enum filter_dim {
    FILTER_SOURCE = 0,
    FILTER_CHANNEL,
    FILTER_UTM_SOURCE,
    FILTER_UTM_MEDIUM,
    FILTER_UTM_CAMPAIGN,
    FILTER_UTM_TERM,
    FILTER_UTM_CONTENT,
    FILTER_DEVICE,
    FILTER_BROWSER,
    FILTER_OS,
    FILTER_COUNTRY,
    FILTER_ENTRY_PAGE, /* the path of the visit's first page view with a path */
    FILTER_EXIT_PAGE,  /* of its last */
    FILTER_PATH,
    FILTER_EVENT_TYPE,
    FILTER_REFERRER, /* a page view's referrer host (rollup_referrer_host()) */
    FILTER_PROP,     /* properties.<key>, a string */
    FILTER_N_DIMS
};

enum filter_kind { FILTER_KIND_VISIT, FILTER_KIND_EVENT };

/* Dimension d's name (FILTER_PROP: "prop"), its kind, and the event document's field it is
 * read from (NULL: computed, entry and exit page and referrer; FILTER_PROP: under
 * properties.). */
extern const char *const filter_dim_names[FILTER_N_DIMS];
enum filter_kind filter_dim_kind(int d);
const char *filter_dim_field(int d);

enum filter_op { FILTER_IS = 0, FILTER_IS_NOT, FILTER_CONTAINS };

/* The most filters a request may give, and the room of a struct filters: one more, for a
 * filter a route adds itself (GET /stats/goals's goal). A value's and a property key's
 * longest length. */
#define FILTER_MAX 10
#define FILTER_SLOTS (FILTER_MAX + 1)
#define FILTER_VALUE_MAX 256
#define FILTER_KEY_MAX 64

/* The value standing for "absent", as breakdowns name a missing value. */
#define FILTER_NONE "(none)"

/* A dimension with its property key (FILTER_PROP only, else ""). */
struct filter_dimension {
    int dim;
    char key[FILTER_KEY_MAX + 1];
};

/* One filter: dimension, operator and value; none: the value is FILTER_NONE (is and is_not
 * then test for absence). */
struct filter {
    struct filter_dimension d;
    int op;
    int none;
    char value[FILTER_VALUE_MAX + 1];
};

/* The filters of a request, ANDed. */
struct filters {
    int n;
    struct filter f[FILTER_SLOTS];
};

/* Whether a dimension needs a visit's events together (its entry or exit page). */
#define FILTER_OF_PAGES(d) ((d) == FILTER_ENTRY_PAGE || (d) == FILTER_EXIT_PAGE)

/* Read a dimension's name s ("source", "prop.plan", ...) into *out. Returns 0, or -1 when it
 * names none (a key of prop. must be 1-64 of [A-Za-z0-9_-]). */
int filter_dimension_parse(const char *s, size_t len, struct filter_dimension *out);

/* Parse one `filter` parameter's decoded value s ("<dimension>:<op>:<value>"; the value is
 * everything after the second ':'). Returns 0, or -1 with the 400's message written into msg
 * (msgsz bytes), naming the bad part. */
int filter_parse(const char *s, struct filter *out, char *msg, size_t msgsz);

/* Read every `filter` parameter of the query string qs (may be NULL; percent-decoded, UTF-8)
 * into fs, in order, at most FILTER_MAX. Returns 0, or -1 with the 400's message in msg. */
int filters_read(const char *qs, struct filters *fs, char *msg, size_t msgsz);

/* Whether value (NULL: absent; an empty string counts as absent) passes f. */
int filter_pass(const struct filter *f, const char *value);

/* Whether fs has a filter of kind k. */
int filters_have(const struct filters *fs, enum filter_kind k);

/* Write dimension d as its name ("prop.<key>" for a property) into out (outsz >= 70). */
void filter_dimension_name(const struct filter_dimension *d, char *out, size_t outsz);

extern const char *const filter_op_names[3];

#endif
