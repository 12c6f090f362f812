/* scan.c - the figures of a range computed visit by visit from its raw events, with filters. */
#include "scan.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ts.h"

/* Seeds of the two tables' hashes (hash.h: a table seeds, the function stays). */
#define SEED_VALUES 0x5ca1ab1eULL
#define SEED_PAIRS 0x9e3779b97f4a7c15ULL

int
scan_lists_none(int d)
{
    return d != FILTER_PATH && d != FILTER_REFERRER && d != FILTER_ENTRY_PAGE &&
           d != FILTER_EXIT_PAGE;
}

int
scan_init(struct scan *s, const struct filters *fs, const struct day_range *r, enum scan_mode mode,
          int64_t step_ms, const struct filter_dimension *by)
{
    memset(s, 0, sizeof *s);
    s->fs = fs;
    s->mode = mode;
    s->from_ms = r->from_ms;
    s->range = *r;
    s->end_ms = r->end_ms;
    s->step_ms = step_ms;
    if (by != NULL) {
        s->by = *by;
    }
    if (mode != SCAN_VALUES) {
        s->n_rows = s->cap_rows = mode == SCAN_ONE ? 1 : (size_t)range_buckets(r, step_ms);
        if ((s->rows = calloc(s->cap_rows, sizeof *s->rows)) == NULL) {
            return -1;
        }
    }
    return 0;
}

void
scan_cleanup(struct scan *s)
{
    for (size_t i = 0; s->rows != NULL && i < s->n_rows; i++) {
        free(s->rows[i].value);
    }
    free(s->rows);
    free(s->index);
    free(s->pairs);
    memset(s, 0, sizeof *s);
}

/* The row of value v (SCAN_VALUES), made when new: its index, -1 out of memory, -2 past
 * SCAN_ROWS_MAX. */
static long
value_row(struct scan *s, const char *v)
{
    size_t len = strlen(v), i;
    uint64_t h = hash_fnv1a(HASH_FNV1A_BASIS ^ SEED_VALUES, v, len);

    if (2 * (s->n_rows + 1) > s->index_cap) { /* grow: at most half full */
        size_t cap = s->index_cap != 0 ? 2 * s->index_cap : 64;
        uint32_t *idx = calloc(cap, sizeof *idx);
        if (idx == NULL) {
            return -1;
        }
        for (size_t r = 0; r < s->n_rows; r++) {
            const char *rv = s->rows[r].value;
            uint64_t rh = hash_fnv1a(HASH_FNV1A_BASIS ^ SEED_VALUES, rv, strlen(rv));
            for (i = rh & (cap - 1); idx[i] != 0; i = (i + 1) & (cap - 1)) {
            }
            idx[i] = (uint32_t)(r + 1);
        }
        free(s->index);
        s->index = idx;
        s->index_cap = cap;
    }
    for (i = h & (s->index_cap - 1); s->index[i] != 0; i = (i + 1) & (s->index_cap - 1)) {
        if (strcmp(s->rows[s->index[i] - 1].value, v) == 0) {
            return (long)s->index[i] - 1;
        }
    }
    if (s->n_rows >= SCAN_ROWS_MAX) {
        return -2;
    }
    if (s->n_rows == s->cap_rows) {
        size_t cap = s->cap_rows != 0 ? 2 * s->cap_rows : 16;
        struct scan_row *rows = realloc(s->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return -1;
        }
        s->rows = rows;
        s->cap_rows = cap;
    }
    memset(&s->rows[s->n_rows], 0, sizeof s->rows[0]);
    if ((s->rows[s->n_rows].value = strdup(v)) == NULL) {
        return -1;
    }
    s->index[i] = (uint32_t)(s->n_rows + 1);
    return (long)s->n_rows++;
}

/* Count user u once in row r: 0, -1 out of memory, 1 past SCAN_PAIRS_MAX. */
static int
add_user(struct scan *s, size_t r, uint64_t u)
{
    uint64_t h = (u ^ SEED_PAIRS) * HASH_FNV1A_PRIME ^ ((uint64_t)r * SEED_PAIRS);
    size_t i;

    if (u == 0) {
        return 0;
    }
    if (2 * (s->n_pairs + 1) > s->pairs_cap) {
        size_t cap = s->pairs_cap != 0 ? 2 * s->pairs_cap : 256;
        struct scan_pair *p = calloc(cap, sizeof *p);
        if (p == NULL) {
            return -1;
        }
        for (size_t k = 0; k < s->pairs_cap; k++) {
            const struct scan_pair *q = &s->pairs[k];
            uint64_t qh;
            if (q->row == 0) {
                continue;
            }
            qh = (q->user ^ SEED_PAIRS) * HASH_FNV1A_PRIME ^ ((uint64_t)(q->row - 1) * SEED_PAIRS);
            for (i = (size_t)qh & (cap - 1); p[i].row != 0; i = (i + 1) & (cap - 1)) {
            }
            p[i] = *q;
        }
        free(s->pairs);
        s->pairs = p;
        s->pairs_cap = cap;
    }
    for (i = (size_t)h & (s->pairs_cap - 1); s->pairs[i].row != 0;
         i = (i + 1) & (s->pairs_cap - 1)) {
        if (s->pairs[i].user == u && s->pairs[i].row == r + 1) {
            return 0;
        }
    }
    if (s->n_pairs >= SCAN_PAIRS_MAX) {
        return 1;
    }
    s->pairs[i] = (struct scan_pair){.user = u, .row = (uint32_t)(r + 1)};
    s->n_pairs++;
    s->rows[r].s.visitors++;
    return 0;
}

/* The row of a value of `by` (NULL or "": absent): its index, -3 when it is not listed, -1
 * out of memory, -2 past SCAN_ROWS_MAX. */
static long
by_row(struct scan *s, const char *v)
{
    if (v == NULL || v[0] == '\0') {
        if (!scan_lists_none(s->by.dim)) {
            return -3;
        }
        v = FILTER_NONE;
    }
    return value_row(s, v);
}

/* The row an instant falls in (SCAN_ONE, SCAN_BUCKETS): -3 outside the range. */
static long
time_row(const struct scan *s, int64_t ms)
{
    if (ms < s->from_ms || ms >= s->end_ms) {
        return -3;
    }
    return s->mode == SCAN_ONE ? 0 : (long)range_bucket_of(&s->range, s->step_ms, ms);
}

/* Whether event e passes the event-level filters. */
static int
event_passes(const struct filters *fs, const struct scan_event *e)
{
    for (int i = 0; i < fs->n; i++) {
        if (filter_dim_kind(fs->f[i].d.dim) == FILTER_KIND_EVENT &&
            !filter_pass(&fs->f[i], e->val[i])) {
            return 0;
        }
    }
    return 1;
}

/* The value of visit-level dimension d of a visit: its entry or exit page, or its first
 * event's value at slot. */
static const char *
visit_value(int d, const struct scan_event *first, int slot, const char *entry, const char *exit)
{
    return d == FILTER_ENTRY_PAGE ? entry : d == FILTER_EXIT_PAGE ? exit : first->val[slot];
}

/* Map a row lookup's failure to scan_visit()'s answer. */
static int
row_failed(long r)
{
    return r == -2 ? 1 : -1;
}

int
scan_visit(struct scan *s, const struct scan_event *ev, size_t n, int64_t start_ms)
{
    const struct filters *fs = s->fs;
    const char *entry = NULL, *exit = NULL, *vval = NULL;
    int64_t lo = ev[0].ts, hi = ev[0].ts, pvs = 0;
    int interacts = 0, any = 0, by_event = 0, counts_visit;
    long vrow = -3;

    for (size_t k = 0; k < n; k++) {
        if (start_ms >= 0 && ev[k].page_view && ev[k].path != NULL && ev[k].path[0] != '\0') {
            entry = entry != NULL ? entry : ev[k].path;
            exit = ev[k].path;
        }
        lo = ev[k].ts < lo ? ev[k].ts : lo;
        hi = ev[k].ts > hi ? ev[k].ts : hi;
        pvs += ev[k].page_view;
        interacts |= ev[k].interacts;
    }
    for (int i = 0; i < fs->n; i++) {
        int d = fs->f[i].d.dim;
        if (filter_dim_kind(d) == FILTER_KIND_VISIT &&
            !filter_pass(&fs->f[i], visit_value(d, &ev[0], i, entry, exit))) {
            return 0;
        }
    }
    counts_visit = start_ms >= s->from_ms && start_ms < s->end_ms;
    if (s->mode == SCAN_VALUES) {
        by_event = filter_dim_kind(s->by.dim) == FILTER_KIND_EVENT;
        vval = by_event ? NULL : visit_value(s->by.dim, &ev[0], SCAN_BY, entry, exit);
        if (!by_event && (vval == NULL || vval[0] == '\0') && !scan_lists_none(s->by.dim)) {
            return 0; /* a visit without a page of its own: no entry or exit page to list */
        }
    } else if (counts_visit) {
        vrow = time_row(s, start_ms);
    }
    s->stamp++;
    for (size_t k = 0; k < n; k++) {
        const struct scan_event *e = &ev[k];
        long row;
        int rc;
        if (!event_passes(fs, e)) {
            continue;
        }
        /* A visit's row is made by its first kept event: a visit without one lists nothing. */
        if (!any && s->mode == SCAN_VALUES && !by_event && (vrow = by_row(s, vval)) < 0) {
            return row_failed(vrow);
        }
        any = 1;
        row = s->mode != SCAN_VALUES ? time_row(s, e->ts)
              : by_event             ? by_row(s, e->val[SCAN_BY])
                                     : vrow;
        if (row == -1 || row == -2) {
            return row_failed(row);
        }
        if (row < 0) {
            continue;
        }
        if (e->ts >= s->from_ms && e->ts < s->end_ms) {
            s->rows[row].s.events++;
            s->rows[row].s.pageviews += e->page_view;
            if ((rc = add_user(s, (size_t)row, e->user)) != 0) {
                return rc;
            }
        }
        /* A visit counts once in the row of each value its kept events have. */
        if (by_event && counts_visit && s->rows[row].stamp != s->stamp) {
            s->rows[row].stamp = s->stamp;
            s->rows[row].s.visits++;
            s->rows[row].s.bounces += pvs == 1 && !interacts;
            s->rows[row].s.duration_ms += hi - lo;
        }
    }
    if (!by_event && any && counts_visit && vrow >= 0) {
        s->rows[vrow].s.visits++;
        s->rows[vrow].s.bounces += pvs == 1 && !interacts;
        s->rows[vrow].s.duration_ms += hi - lo;
    }
    return any && counts_visit && s->visit_fn != NULL ? s->visit_fn(s->visit_arg, ev, n) : 0;
}

/* Whether dimension d is one that rollup_dims keeps. */
static int
dims_dim(int d)
{
    return d >= FILTER_SOURCE && d <= FILTER_COUNTRY;
}

int
scan_by_dims(const struct scan *s)
{
    if (s->visit_fn != NULL || (s->mode == SCAN_BUCKETS && s->step_ms != TS_DAY_MS) ||
        (s->mode == SCAN_VALUES && !dims_dim(s->by.dim))) {
        return 0;
    }
    for (int i = 0; i < s->fs->n; i++) {
        if (!dims_dim(s->fs->f[i].d.dim)) {
            return 0;
        }
    }
    return 1;
}

int
scan_add_dims(struct scan *s, const struct scan_dims *d)
{
    long row = 0;
    struct summary *x;
    int rc;

    for (int i = 0; i < s->fs->n; i++) {
        if (!filter_pass(&s->fs->f[i], d->vals[s->fs->f[i].d.dim])) {
            return 0;
        }
    }
    if (s->mode == SCAN_VALUES && (row = by_row(s, d->vals[s->by.dim])) < 0) {
        return row_failed(row);
    }
    if (s->mode == SCAN_BUCKETS) {
        if (d->day < 0 || (size_t)d->day >= s->n_rows) {
            return 0; /* not a day of the range */
        }
        row = (long)d->day;
    }
    x = &s->rows[row].s;
    x->events += d->add.events;
    x->pageviews += d->add.pageviews;
    x->visits += d->add.visits;
    x->bounces += d->add.bounces;
    x->duration_ms += d->add.duration_ms;
    for (size_t i = 0; i < d->n_users; i++) {
        if ((rc = add_user(s, (size_t)row, (uint64_t)d->users[i])) != 0) {
            return rc;
        }
    }
    return 0;
}

/* The key a dimension ranks by (scan_rank()). */
static int64_t
rank_key(int d, const struct summary *x)
{
    if (d == FILTER_PATH || d == FILTER_EVENT_TYPE || d == FILTER_REFERRER) {
        return x->events;
    }
    return d == FILTER_ENTRY_PAGE || d == FILTER_EXIT_PAGE ? x->visits : x->visitors;
}

/* Rows by their rank key (in stamp, once counting is done), highest first, then by value. */
static int
rank_cmp(const void *a, const void *b)
{
    const struct scan_row *x = a, *y = b;

    if (x->stamp != y->stamp) {
        return x->stamp > y->stamp ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

void
scan_rank(struct scan *s, size_t limit)
{
    for (size_t i = 0; i < s->n_rows; i++) {
        s->rows[i].stamp = rank_key(s->by.dim, &s->rows[i].s);
    }
    if (s->n_rows > 1) {
        qsort(s->rows, s->n_rows, sizeof s->rows[0], rank_cmp);
    }
    for (size_t i = limit; i < s->n_rows; i++) {
        free(s->rows[i].value);
    }
    s->n_rows = s->n_rows < limit ? s->n_rows : limit;
    /* The index points at the old order: a ranked scan takes no more visits. */
    free(s->index);
    s->index = NULL;
    s->index_cap = 0;
}
