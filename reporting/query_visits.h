/* query_visits.h - the figures of a site's first row from the rollups (docs/api.md, GET
 * /stats/summary): page views and the visits that started in each hour or day of a range
 * (visits, bounces, their summed duration), the summary of a range, its entry and exit pages.
 *
 * A visit counts in the bucket of its start (the time of its first event); page views count
 * in the bucket of their own time. The processors keep visits, bounces and duration_ms per
 * site-day and site-hour of the visit's start in ROLLUP_VISITS_COLLECTION (ids as the
 * site-days' and site-hours' of all types), and per page in ROLLUP_ENTRY_PAGES_COLLECTION and
 * ROLLUP_EXIT_PAGES_COLLECTION (children of the site-day: {scope, path, visits, bounces}).
 * The visitors of the last minutes (GET /stats/realtime) are query_realtime.h's. */
#ifndef REPORTING_QUERY_VISITS_H
#define REPORTING_QUERY_VISITS_H

#include "query.h"

/* The visit figures of each bucket (an hour or a day) of a range. */
struct visit_series {
    int64_t n;
    int64_t *pageviews, *visits, *bounces, *duration_ms; /* owned, n each */
};

/* Free the arrays of v and zero it. */
void visit_series_clear(struct visit_series *v);

/* The page views (page_view events) and visits (visits, bounces, duration_ms) of site_id in
 * each bucket of step_ms (an hour or a day) over r: two reads by _id. Returns 0 and fills out
 * (visit_series_clear()), or -1 with err. */
int query_visit_series(store_t *s, const char *site_id, const struct day_range *r, int64_t step_ms,
                       struct visit_series *out, struct app_err *err);

/* The figures of GET /stats/summary over a range. */
struct summary {
    int64_t visitors;    /* distinct user_ids over the range (a hashed visitor once a day) */
    int64_t visits;      /* visits that started in the range */
    int64_t pageviews;   /* page_view events in the range */
    int64_t events;      /* events in the range */
    int64_t bounces;     /* of those visits, the ones with one page view and no interaction */
    int64_t duration_ms; /* the summed durations of those visits */
};

/* The summary of site_id over r: the site-days (events, visitors as /stats counts them) and
 * query_visit_series() by day, summed. Returns 0 and fills out, or -1 with err. */
int query_summary(store_t *s, const char *site_id, const struct day_range *r, struct summary *out,
                  struct app_err *err);

/* The derived figures of a summary, as docs/api.md defines them: views per visit (page views
 * / visits), bounce rate (100 * bounces / visits, in percent) and visit duration (mean, in
 * seconds: duration_ms / (1000 * visits)); each 0 without visits. */
double summary_views_per_visit(const struct summary *s);
double summary_bounce_rate(const struct summary *s);
double summary_visit_duration(const struct summary *s);

/* The figures of the first row, in the answers' order (/stats/summary; /stats/timeseries's
 * metric=): the first SUMMARY_COUNTS are counts, the others ratios. */
enum summary_figure {
    SUMMARY_VISITORS = 0,
    SUMMARY_VISITS = 1,
    SUMMARY_PAGEVIEWS = 2,
    SUMMARY_EVENTS = 3,
    SUMMARY_VIEWS_PER_VISIT = 4,
    SUMMARY_BOUNCE_RATE = 5,
    SUMMARY_VISIT_DURATION = 6,
    SUMMARY_FIGURES = 7
};
#define SUMMARY_COUNTS 4
extern const char *const summary_figure_names[SUMMARY_FIGURES];

/* Figure f (enum summary_figure) of s. */
double summary_figure(const struct summary *s, int f);

/* The figure named s (length len: 0 absent, -1 unreadable, as reporting_param() gives it), or
 * -1. */
int summary_figure_of(const char *s, int len);

/* The change from `before` to `now` in percent ((now - before) * 100 / before), or NAN when
 * before is 0 (the answer's null). */
double summary_change(double now, double before);

/* The top `limit` entry pages (exit 0) or exit pages (exit 1) of site_id over r, most visits
 * first, ties by path: rows' views are their visits, users their bounces. Returns 0 and fills
 * out (breakdown_clear()), or -1 with err. */
int query_visit_pages(store_t *s, const char *site_id, const struct day_range *r, int exit,
                      int limit, struct breakdown *out, struct app_err *err);

#endif
