/* query.h - reporting's reads of MongoDB: the figures of /stats, from the rollup documents
 * (common/rollup_doc.h) or from the raw events. */
#ifndef REPORTING_QUERY_H
#define REPORTING_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "explorer.h"
#include "rollup_doc.h"
#include "store.h"

/* The figures of /stats for one site and UTC day. */
struct stats {
    int64_t total_views;
    int64_t unique_users;
    size_t n_paths; /* top_paths[0..n_paths), most viewed first, then by path */
    struct stats_path {
        char *path; /* owned */
        int64_t views;
    } top_paths[ROLLUP_TOP_PATHS];
};

/* Free the paths of st and zero it. */
void stats_clear(struct stats *st);

/* A query: the stats of site_id for the UTC day starting at day_start_ms, narrowed to
 * event_type unless it is NULL; site_id and event_type are matched as plain strings.
 * Returns 0 and fills out (release it with stats_clear()), or -1 with err filled (out is
 * then empty). Thread-safe. */
typedef int (*query_stats_fn)(store_t *s, const char *site_id, int64_t day_start_ms,
                              const char *event_type, struct stats *out, struct app_err *err);

/* From the rollup documents: at most a site-day document and the top path documents,
 * however many events the day has. */
int query_stats_rollups(store_t *s, const char *site_id, int64_t day_start_ms,
                        const char *event_type, struct stats *out, struct app_err *err);

/* From the raw events, with one aggregation over the {site_id, timestamp} range: the same
 * answer as query_stats_rollups(). */
int query_stats_events(store_t *s, const char *site_id, int64_t day_start_ms,
                       const char *event_type, struct stats *out, struct app_err *err);

/* A page of GET /events. */
struct events_page {
    json_t *events;  /* owned: the events' JSON (explorer_render()), newest first */
    int more;        /* another page follows */
    int64_t last_ms; /* the (timestamp, _id) of the last event, when events is not empty */
    char last_id[EVENT_DOC_ID_MAX + 1];
};

/* A query: the page of events q asks for, from the index EVENTS_INDEX_NAME (one find() of
 * q->limit + 1 documents). Returns 0 and fills out (the caller json_decref()s
 * out->events), or -1 with err filled: ERR_TRANSIENT when MongoDB failed, ERR_INTERNAL
 * when out of memory or a stored event has no string _id or no date timestamp. Thread-safe. */
int query_events(store_t *s, const struct events_query *q, struct events_page *out,
                 struct app_err *err);

#endif
