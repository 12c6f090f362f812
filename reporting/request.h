/* request.h - what every figure's route shares: its parameters (the site, the days, the
 * type), the check that the client may read the site and the MAX_DB_REQUESTS slot of its
 * read, and the head and sending of its answer (docs/api.md). */
#ifndef REPORTING_REQUEST_H
#define REPORTING_REQUEST_H

#include <jansson.h>

#include "err.h"
#include "event.h"
#include "filter.h"
#include "http.h"
#include "range.h"
#include "reporting.h"

/* The parameters every figure shares: the site, the days (date, or from and to), the type. */
struct req {
    char site_id[EVENT_SITE_ID_MAX + 1], date[16], from[16], to[16];
    char event_type[EVENT_TYPE_MAX + 1];
    int date_len, from_len, to_len, type_len;
    struct day_range days;
    struct filters filters; /* the `filter` parameters (filter.h), in their order */
    char raw_from[16];      /* the site's first day of raw events (req_db_slot()), "": all */
};

/* The 400 of a route that takes no filters. */
#define REQ_NO_FILTERS "Parameter 'filter' does not apply to %s"

/* The 400 of a route whose parameters are the site and the days alone (/stats/summary,
 * /stats/goals) when site_id or every day parameter is absent. */
#define REQ_MISSING_DAYS "Missing required parameters: site_id, date or from and to (YYYY-MM-DD)"

/* Read them from the query string into q, the days in the site's time zone of tzs (UTC
 * without one), the filters included (at most FILTER_MAX, each
 * percent-decoded UTF-8 parsed by filter_parse()). Returns 0, or the HTTP status of the 400
 * sent (`missing`: the message when site_id or every day parameter is absent). */
int req_read(struct mg_connection *conn, const char *qs, const struct sitetz *tzs, struct req *q,
             const char *missing);

/* May this request read q's site, and is there a MAX_DB_REQUESTS slot for it? Returns 0
 * with the slot taken and q->raw_from set (req_raw_from()), or the status of the 403 or 503
 * sent. */
int req_db_slot(struct mg_connection *conn, struct reporting *r, struct req *q);

/* The first UTC day (YYYY-MM-DD) of site_id's raw events under the retention settings at
 * now_ms (retention_site_cutoff_ms()), or "" when they are kept for ever: the answers'
 * raw_events_from, left out when "" (docs/api.md#retention-raw_events_from). Days before it
 * may hold none, or some, of their events. */
void req_raw_from(const struct retention *ret, const char *site_id, int64_t now_ms, char out[16]);

/* Release the slot; on a failed query (rc != 0), send the 400 of a read refused for its
 * size (ERR_INVALID, with its message), or log it and send the 503. Returns 0 when the
 * query succeeded, else the status sent. */
int req_db_done(struct mg_connection *conn, struct reporting *r, int rc, const struct app_err *err);

/* {"site_id", "date" or "from" and "to"}: the head of every figure's answer, in the
 * contract's (docs/api.md) order. NULL out of memory. */
json_t *req_reply_head(const struct req *q);

/* Over more than one day, "hashed_visitors":"per_day" (a visitor known by ingest's daily
 * hash counts once a day). Returns 0, or -1 when out of memory. */
int req_note_hashed(json_t *reply, const struct req *q);

/* Filters as an answer echoes them: [{"dimension", "operator", "value"}], in order. NULL out
 * of memory. */
json_t *req_filters_json(const struct filters *fs);

/* Add "event_type" to a reply when the request narrowed to one, "filters" ([{"dimension",
 * "operator", "value"}]) when it gave any, and "raw_events_from" when the site's raw events
 * are not kept for ever, then send it (a NULL reply: out
 * of memory, which the send reports). */
int req_send(struct mg_connection *conn, const struct req *q, json_t *reply);

#endif
