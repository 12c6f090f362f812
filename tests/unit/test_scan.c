/* test_scan.c - unit tests for reporting/scan.c: visits of known shape counted with and
 * without filters, one row, buckets and values of visit-level and event-level dimensions,
 * the order of a breakdown, and each allocation failing in turn. The read that feeds it is
 * checked against real servers and a recomputation in Python (tests/it/it_figures.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "scan.h"
#include "ts.h"

#define DAY 86400000LL
#define NOV15 1763164800000LL /* 2025-11-15T00:00:00Z */
#define MIN 60000LL

/* An event: time (minutes after NOV15), user, type ("pv", "click", "scroll"), path, and the
 * values of the slots 0 (filter 0's), 1 (filter 1's) and SCAN_BY. */
struct ev {
    long min;
    uint64_t user;
    const char *type, *path, *v0, *v1, *by;
};

/* A visit: its start (minutes; NOVISIT: events without a visit) and up to 6 events. */
#define NOVISIT (-100000)
struct visit {
    long start;
    int n;
    struct ev ev[6];
};

/* Whether `by` reads the events' v1 (a property) rather than their by (a device). */
static int by_v1;

static void
fill(const struct ev *in, struct scan_event *out)
{
    memset(out, 0, sizeof *out);
    out->ts = NOV15 + in->min * MIN;
    out->user = in->user;
    out->page_view = strcmp(in->type, "pv") == 0;
    out->interacts = strcmp(in->type, "click") == 0;
    out->path = in->path;
    out->val[0] = in->v0;
    out->val[1] = in->v1;
    out->val[SCAN_BY] = by_v1 ? in->v1 : in->by;
}

/* Count the visits into s. Returns scan_visit()'s first failure, or 0. */
static int
count(struct scan *s, const struct visit *vs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct scan_event ev[6];
        int rc = 0;
        for (int k = 0; k < vs[i].n; k++) {
            fill(&vs[i].ev[k], &ev[k]);
        }
        if (vs[i].start == NOVISIT) {
            for (int k = 0; k < vs[i].n && rc == 0; k++) {
                rc = scan_visit(s, &ev[k], 1, -1);
            }
        } else {
            rc = scan_visit(s, ev, (size_t)vs[i].n, NOV15 + vs[i].start * MIN);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The visits of the tests: over 2025-11-15 (the range is that one day). v0 is a source, v1
 * a plan property, by a device. */
static const struct visit VISITS[] = {
    /* A bounce from Google on a phone. */
    {60, 1, {{60, 1, "pv", "/", "Google", NULL, "mobile"}}},
    /* Two pages from Google, 90 s, then a click: not a bounce. */
    {120,
     3,
     {{120, 2, "pv", "/", "Google", "pro", "desktop"},
      {121, 2, "pv", "/pricing", "Google", NULL, "desktop"},
      {122, 2, "click", "/pricing", "Google", "pro", "desktop"}}},
    /* Direct, a page then a scroll: a bounce. The same user as the first visit. */
    {200,
     2,
     {{200, 1, "pv", "/blog", NULL, NULL, "mobile"},
      {205, 1, "scroll", "/blog", NULL, NULL, "mobile"}}},
    /* Began the day before, goes on into the range: its events count, not its visit. */
    {-30, 2, {{-30, 3, "pv", "/", "Bing", NULL, NULL}, {10, 3, "pv", "/docs", "Bing", NULL, NULL}}},
    /* Began in the range, goes on past its end: a whole visit of 2 page views, 1 in range. */
    {1430,
     2,
     {{1430, 4, "pv", "/late", "Google", NULL, "tablet"},
      {1450, 4, "pv", "/next", "Google", NULL, "tablet"}}},
    /* An event without a visit, without a user. */
    {NOVISIT, 1, {{300, 0, "pv", "/", NULL, NULL, NULL}}},
};

static void
setup_range(struct day_range *r)
{
    *r = range_make(NULL, NOV15 / TS_DAY_MS, 1);
}

static void
test_one_row(void **state)
{
    struct filters fs = {0};
    struct day_range r;
    struct scan s;

    (void)state;
    setup_range(&r);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_ONE, 0, NULL), 0);
    assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
    assert_int_equal(s.n_rows, 1);
    /* Users 1, 2, 3, 4; events in range: 1 + 3 + 2 + 1 (of 4's visit) + 1 (of 4's) + 1. */
    assert_int_equal(s.rows[0].s.visitors, 4);
    assert_int_equal(s.rows[0].s.events, 9);
    assert_int_equal(s.rows[0].s.pageviews, 7);
    /* Visits begun in the range: 4 (not the one of the day before), bounces 2. */
    assert_int_equal(s.rows[0].s.visits, 4);
    assert_int_equal(s.rows[0].s.bounces, 2);
    assert_int_equal(s.rows[0].s.duration_ms, (2 + 5 + 20) * MIN);
    scan_cleanup(&s);
}

/* Filter cases on slot 0 (source, visit-level) and slot 1 (a property, event-level). */
static void
test_filters(void **state)
{
    static const struct {
        const char *f0, *f1; /* NULL: none */
        int64_t visitors, visits, pageviews, events, bounces;
    } rows[] = {
        {"source:is:Google", NULL, 3, 3, 4, 5, 1},
        {"source:is_not:Google", NULL, 2, 1, 3, 4, 1},
        {"source:is:(none)", NULL, 1, 1, 2, 3, 1},
        {"source:contains:oo", NULL, 3, 3, 4, 5, 1},
        /* A property on one event selects it, and its whole visit: visitor 2's. */
        {NULL, "prop.plan:is:pro", 1, 1, 1, 2, 0},
        {NULL, "prop.plan:is:(none)", 4, 4, 6, 7, 2},
        {"source:is:Google", "prop.plan:is_not:pro", 3, 3, 3, 3, 1},
        {"source:is:Yahoo", NULL, 0, 0, 0, 0, 0},
    };
    struct day_range r;

    (void)state;
    setup_range(&r);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filters fs = {0};
        struct scan s;
        char msg[160];
        if (rows[i].f0 != NULL) {
            assert_int_equal(filter_parse(rows[i].f0, &fs.f[fs.n++], msg, sizeof msg), 0);
        } else { /* slot 0 taken by a visit-level filter that lets every visit pass */
            assert_int_equal(filter_parse("utm_term:is_not:x", &fs.f[fs.n++], msg, sizeof msg), 0);
        }
        if (rows[i].f1 != NULL) {
            assert_int_equal(filter_parse(rows[i].f1, &fs.f[fs.n++], msg, sizeof msg), 0);
        }
        assert_int_equal(scan_init(&s, &fs, &r, SCAN_ONE, 0, NULL), 0);
        assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
        print_message("case %zu\n", i);
        assert_int_equal(s.rows[0].s.visitors, rows[i].visitors);
        assert_int_equal(s.rows[0].s.visits, rows[i].visits);
        assert_int_equal(s.rows[0].s.pageviews, rows[i].pageviews);
        assert_int_equal(s.rows[0].s.events, rows[i].events);
        assert_int_equal(s.rows[0].s.bounces, rows[i].bounces);
        scan_cleanup(&s);
    }
}

/* Entry and exit pages are the visit's first and last page views' paths. */
static void
test_pages(void **state)
{
    static const struct {
        const char *f;
        int64_t visits, events;
    } rows[] = {
        {"entry_page:is:/", 2, 5}, /* 1's, 2's, and the day before's (its event in range) */
        {"exit_page:is:/pricing", 1, 3},
        {"exit_page:is:/next", 1, 1},   /* its event past the range does not count */
        {"entry_page:is:(none)", 0, 1}, /* the event without a visit */
        {"entry_page:contains:/", 4, 8},
    };
    struct day_range r;

    (void)state;
    setup_range(&r);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filters fs = {0};
        struct scan s;
        char msg[160];
        assert_int_equal(filter_parse(rows[i].f, &fs.f[fs.n++], msg, sizeof msg), 0);
        assert_int_equal(scan_init(&s, &fs, &r, SCAN_ONE, 0, NULL), 0);
        assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
        print_message("case %s\n", rows[i].f);
        assert_int_equal(s.rows[0].s.visits, rows[i].visits);
        assert_int_equal(s.rows[0].s.events, rows[i].events);
        scan_cleanup(&s);
    }
}

static void
test_buckets(void **state)
{
    struct filters fs = {0};
    struct day_range r;
    struct scan s;

    (void)state;
    setup_range(&r);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_BUCKETS, 3600000, NULL), 0);
    assert_int_equal(s.n_rows, 24);
    assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
    /* 00:10 the visit of the day before; 01:00 a bounce; 02:00-02:02 visitor 2; 03:20 and
     * 03:25 visitor 1 again; 05:00 the lone event; 23:50 visitor 4 (its 00:10 the next day). */
    assert_int_equal(s.rows[0].s.events, 1);
    assert_int_equal(s.rows[0].s.visits, 0);
    assert_int_equal(s.rows[1].s.visits, 1);
    assert_int_equal(s.rows[2].s.events, 3);
    assert_int_equal(s.rows[2].s.visitors, 1);
    assert_int_equal(s.rows[3].s.bounces, 1);
    assert_int_equal(s.rows[5].s.visitors, 0);
    assert_int_equal(s.rows[5].s.events, 1);
    assert_int_equal(s.rows[23].s.visits, 1);
    assert_int_equal(s.rows[23].s.duration_ms, 20 * MIN);
    scan_cleanup(&s);
}

/* By a visit's device: each visit in its first event's row; unknown ones under (none). By a
 * property: each event in its value's row, a visit in each row its events have. */
static void
test_values(void **state)
{
    struct filters fs = {0};
    struct filter_dimension device = {.dim = FILTER_DEVICE}, plan = {.dim = FILTER_PROP};
    struct day_range r;
    struct scan s;

    (void)state;
    setup_range(&r);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_VALUES, 0, &device), 0);
    assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
    scan_rank(&s, 10);
    assert_int_equal(s.n_rows, 4);
    /* One visitor each (user 1 twice on mobile; the lone event has none): by value. */
    assert_string_equal(s.rows[0].value, "(none)");
    assert_int_equal(s.rows[0].s.visitors, 1);
    assert_int_equal(s.rows[0].s.events, 2);
    assert_int_equal(s.rows[0].s.visits, 0);
    assert_string_equal(s.rows[1].value, "desktop");
    assert_string_equal(s.rows[2].value, "mobile");
    assert_int_equal(s.rows[2].s.visitors, 1);
    assert_int_equal(s.rows[2].s.visits, 2);
    assert_int_equal(s.rows[2].s.bounces, 2);
    assert_string_equal(s.rows[3].value, "tablet");
    scan_cleanup(&s);

    strcpy(plan.key, "plan");
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_VALUES, 0, &plan), 0);
    by_v1 = 1;
    assert_int_equal(count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
    by_v1 = 0;
    scan_rank(&s, 1);
    assert_int_equal(s.n_rows, 1); /* (none) first: 4 visitors; pro cut by the limit */
    assert_string_equal(s.rows[0].value, "(none)");
    assert_int_equal(s.rows[0].s.visitors, 4);
    assert_int_equal(s.rows[0].s.visits, 4);
    scan_cleanup(&s);
}

/* The rollups of a visit's dimensions (rollup_dims, rollup_dim_visits) of VISITS over the
 * `days` days of r, as the processors keep them: per (day, source, device) the events in the
 * range, their page views and users; per (start day, source, device) the visits begun in the
 * range, bounces and durations. Added to s by scan_add_dims(). */
#define DIMS_MAX 32
static int
add_dims(struct scan *s, const struct day_range *r)
{
    struct {
        int64_t day;
        const char *source, *device;
        int visit;
        struct summary x;
        int64_t users[8];
        size_t n_users;
    } docs[DIMS_MAX];
    size_t n = 0;

    for (size_t i = 0; i < sizeof VISITS / sizeof VISITS[0]; i++) {
        const struct visit *v = &VISITS[i];
        const struct ev *first = &v->ev[0]; /* every event stores its visit's dimensions */
        int64_t lo = first->min, hi = first->min, pvs = 0, interacts = 0;
        for (int k = 0; k < v->n; k++) {
            lo = v->ev[k].min < lo ? v->ev[k].min : lo;
            hi = v->ev[k].min > hi ? v->ev[k].min : hi;
            pvs += strcmp(v->ev[k].type, "pv") == 0;
            interacts |= strcmp(v->ev[k].type, "click") == 0;
        }
        for (int k = -1; k < v->n; k++) { /* -1: the visit's document */
            int64_t min = k < 0 ? v->start : v->ev[k].min, ms = NOV15 + min * MIN, j;
            if ((k < 0 && v->start == NOVISIT) || ms < r->from_ms || ms >= r->end_ms) {
                continue;
            }
            int64_t day = (ms - r->from_ms) / DAY;
            for (j = 0; j < (int64_t)n; j++) {
                if (docs[j].day == day && docs[j].visit == (k < 0) &&
                    (docs[j].source == first->v0 ||
                     (docs[j].source && first->v0 && !strcmp(docs[j].source, first->v0))) &&
                    (docs[j].device == first->by ||
                     (docs[j].device && first->by && !strcmp(docs[j].device, first->by)))) {
                    break;
                }
            }
            if (j == (int64_t)n) {
                assert_true(n < DIMS_MAX);
                memset(&docs[n], 0, sizeof docs[n]);
                docs[n].day = day;
                docs[n].source = first->v0;
                docs[n].device = first->by;
                docs[n++].visit = k < 0;
            }
            if (k < 0) {
                docs[j].x.visits++;
                docs[j].x.bounces += pvs == 1 && !interacts;
                docs[j].x.duration_ms += (hi - lo) * MIN;
                continue;
            }
            docs[j].x.events++;
            docs[j].x.pageviews += strcmp(v->ev[k].type, "pv") == 0;
            if (v->ev[k].user != 0) { /* the set u: distinct */
                size_t u = 0;
                while (u < docs[j].n_users && docs[j].users[u] != (int64_t)v->ev[k].user) {
                    u++;
                }
                if (u == docs[j].n_users) {
                    docs[j].users[docs[j].n_users++] = (int64_t)v->ev[k].user;
                }
            }
        }
    }
    for (size_t j = 0; j < n; j++) {
        struct scan_dims d = {.day = docs[j].day, .add = docs[j].x};
        d.vals[FILTER_SOURCE] = docs[j].source;
        d.vals[FILTER_DEVICE] = docs[j].device;
        d.users = docs[j].users;
        d.n_users = docs[j].n_users;
        int rc = scan_add_dims(s, &d);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Summed from the rollups of a visit's dimensions, the rows are those of the visits' events:
 * one row, values and days, with and without filters on those dimensions. */
static void
test_dims(void **state)
{
    static const struct {
        enum scan_mode mode;
        int by_device, days;
        const char *filter; /* on slot 0: the source; NULL: none */
    } rows[] = {
        {SCAN_ONE, 0, 1, "source:is:Google"},
        {SCAN_ONE, 0, 1, "source:is:(none)"},
        {SCAN_VALUES, 1, 1, NULL},
        {SCAN_VALUES, 1, 1, "source:is_not:Bing"},
        {SCAN_VALUES, 1, 2, "source:contains:oo"},
        {SCAN_BUCKETS, 0, 2, NULL},
        {SCAN_BUCKETS, 0, 2, "source:is:Google"},
    };
    struct filter_dimension device = {.dim = FILTER_DEVICE};

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct filters fs = {0};
        struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, rows[i].days);
        const struct filter_dimension *by = rows[i].by_device ? &device : NULL;
        int64_t step = rows[i].mode == SCAN_BUCKETS ? DAY : 0;
        struct scan raw, dims;
        char msg[128];

        if (rows[i].filter != NULL) {
            assert_int_equal(filter_parse(rows[i].filter, &fs.f[0], msg, sizeof msg), 0);
            fs.n = 1;
        }
        assert_int_equal(scan_init(&raw, &fs, &r, rows[i].mode, step, by), 0);
        assert_int_equal(scan_init(&dims, &fs, &r, rows[i].mode, step, by), 0);
        assert_true(scan_by_dims(&dims));
        assert_int_equal(count(&raw, VISITS, sizeof VISITS / sizeof VISITS[0]), 0);
        assert_int_equal(add_dims(&dims, &r), 0);
        if (rows[i].mode == SCAN_VALUES) {
            scan_rank(&raw, 10);
            scan_rank(&dims, 10);
        }
        assert_int_equal(dims.n_rows, raw.n_rows);
        for (size_t k = 0; k < raw.n_rows; k++) {
            const struct summary *a = &raw.rows[k].s, *b = &dims.rows[k].s;
            if (raw.rows[k].value != NULL) {
                assert_string_equal(dims.rows[k].value, raw.rows[k].value);
            }
            if (memcmp(a, b, sizeof *a) != 0) {
                fail_msg(
                    "row %zu, row %zu: visitors %lld/%lld visits %lld/%lld pageviews %lld/%lld "
                    "events %lld/%lld bounces %lld/%lld duration %lld/%lld",
                    i, k, (long long)b->visitors, (long long)a->visitors, (long long)b->visits,
                    (long long)a->visits, (long long)b->pageviews, (long long)a->pageviews,
                    (long long)b->events, (long long)a->events, (long long)b->bounces,
                    (long long)a->bounces, (long long)b->duration_ms, (long long)a->duration_ms);
            }
        }
        scan_cleanup(&raw);
        scan_cleanup(&dims);
    }
    /* Not from them: a property, a path, an hour, entry pages. */
    struct filters fs = {0};
    struct day_range r = range_make(NULL, NOV15 / TS_DAY_MS, 1);
    struct filter_dimension prop = {.dim = FILTER_PROP}, entry = {.dim = FILTER_ENTRY_PAGE};
    struct scan s;
    char msg[128];
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_VALUES, 0, &prop), 0);
    assert_false(scan_by_dims(&s));
    scan_cleanup(&s);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_VALUES, 0, &entry), 0);
    assert_false(scan_by_dims(&s));
    scan_cleanup(&s);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_BUCKETS, 3600000, NULL), 0);
    assert_false(scan_by_dims(&s));
    scan_cleanup(&s);
    assert_int_equal(filter_parse("path:is:/", &fs.f[0], msg, sizeof msg), 0);
    fs.n = 1;
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_ONE, 0, NULL), 0);
    assert_false(scan_by_dims(&s));
    scan_cleanup(&s);
}

/* Path ranks by events, not visitors; pages without a path are not listed. */
static void
test_rank_path(void **state)
{
    static const struct visit vs[] = {
        {0,
         3,
         {{0, 1, "pv", "/a", 0, 0, "/a"},
          {1, 1, "pv", "/a", 0, 0, "/a"},
          {2, 1, "pv", NULL, 0, 0, NULL}}},
        {5, 1, {{5, 2, "pv", "/b", 0, 0, "/b"}}},
        {6, 1, {{6, 3, "pv", "/c", 0, 0, "/c"}}},
    };
    struct filters fs = {0};
    struct filter_dimension path = {.dim = FILTER_PATH};
    struct day_range r;
    struct scan s;

    (void)state;
    setup_range(&r);
    assert_int_equal(scan_init(&s, &fs, &r, SCAN_VALUES, 0, &path), 0);
    assert_int_equal(count(&s, vs, 3), 0);
    scan_rank(&s, 10);
    assert_int_equal(s.n_rows, 3);
    assert_string_equal(s.rows[0].value, "/a");
    assert_int_equal(s.rows[0].s.events, 2);
    assert_int_equal(s.rows[0].s.visits, 1);
    assert_string_equal(s.rows[1].value, "/b");
    assert_string_equal(s.rows[2].value, "/c");
    scan_cleanup(&s);
}

/* Each allocation of a scan by values failing in turn: -1, nothing leaked. */
static void
test_out_of_memory(void **state)
{
    struct filters fs = {0};
    struct filter_dimension device = {.dim = FILTER_DEVICE};
    struct day_range r;
    long live = failalloc_live(), n;

    (void)state;
    setup_range(&r);
    for (n = 1;; n++) {
        struct scan s;
        int rc;
        failalloc_arm(n);
        rc = scan_init(&s, &fs, &r, SCAN_VALUES, 0, &device);
        if (rc == 0) {
            rc = count(&s, VISITS, sizeof VISITS / sizeof VISITS[0]);
        }
        scan_cleanup(&s);
        failalloc_arm(0);
        assert_int_equal(failalloc_live(), live);
        if (rc == 0) {
            break;
        }
        assert_int_equal(rc, -1);
    }
    assert_true(n > 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_row),       cmocka_unit_test(test_filters),
        cmocka_unit_test(test_pages),         cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_values),        cmocka_unit_test(test_rank_path),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_dims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
