/* request.c - the parameters, access check, database slot and answer every figure's route
 * shares (request.h). */
#include "request.h"

#include <stdio.h>

#include "params.h"
#include "ts.h"

/* The `filter` parameters of qs into fs. Returns 0, or the status of the 400 sent. */
static int
read_filters(struct mg_connection *conn, const char *qs, struct filters *fs)
{
    char msg[160];

    return filters_read(qs, fs, msg, sizeof msg) != 0 ? http_send_error(conn, 400, "%s", msg) : 0;
}

int
req_read(struct mg_connection *conn, const char *qs, const struct sitetz *tzs, struct req *q,
         const char *missing)
{
    int site_len = reporting_param(qs, "site_id", q->site_id, EVENT_SITE_ID_MAX);
    const char *bad;

    q->date_len = reporting_param(qs, "date", q->date, 10);
    q->from_len = reporting_param(qs, "from", q->from, 10);
    q->to_len = reporting_param(qs, "to", q->to, 10);
    q->type_len = reporting_param(qs, "event_type", q->event_type, EVENT_TYPE_MAX);
    if (site_len == 0 || (q->date_len == 0 && q->from_len == 0 && q->to_len == 0)) {
        return http_send_error(conn, 400, "%s", missing);
    }
    if (site_len < 0) {
        return http_send_error(conn, 400, "Parameter 'site_id' must be 1-%d bytes of UTF-8",
                               EVENT_SITE_ID_MAX);
    }
    bad = range_parse(q->date, q->date_len, q->from, q->from_len, q->to, q->to_len,
                      sitetz_find(tzs, q->site_id), &q->days);
    if (bad != NULL) {
        return http_send_error(conn, 400, "%s", bad);
    }
    if (q->type_len < 0) {
        return http_send_error(conn, 400, "Parameter 'event_type' must be 1-%d bytes of UTF-8",
                               EVENT_TYPE_MAX);
    }
    return read_filters(conn, qs, &q->filters);
}

int
req_db_slot(struct mg_connection *conn, struct reporting *r, struct req *q)
{
    int rc = reporting_may_read(conn, r, q->site_id);

    int64_t now_ms = ts_now_ms();

    req_raw_from(&r->cfg.ret, q->site_id, now_ms, q->raw_from);
    /* Raw reads of the range start at the first day kept (range_raw_from()). */
    q->days.raw_from_ms = retention_site_cutoff_ms(&r->cfg.ret, q->site_id, now_ms);
    return rc != 0 ? rc : reporting_db_enter(conn, r);
}

void
req_raw_from(const struct retention *ret, const char *site_id, int64_t now_ms, char out[16])
{
    int64_t cutoff = retention_site_cutoff_ms(ret, site_id, now_ms);
    char day[TS_FORMAT_LEN];

    out[0] = '\0';
    if (cutoff != INT64_MIN) {
        ts_format(cutoff, day);
        snprintf(out, 16, "%.10s", day);
    }
}

int
req_db_done(struct mg_connection *conn, struct reporting *r, int rc, const struct app_err *err)
{
    reporting_db_leave(r);
    if (rc != 0 && err->code == ERR_INVALID) {
        return http_send_error(conn, 400, "%s", err->msg);
    }
    return rc == 0 ? 0 : reporting_db_failed(conn, r, "stats", err);
}

json_t *
req_reply_head(const struct req *q)
{
    json_t *head = q->date_len > 0 ? json_pack("{s:s,s:s}", "site_id", q->site_id, "date", q->date)
                                   : json_pack("{s:s,s:s,s:s}", "site_id", q->site_id, "from",
                                               q->from, "to", q->to);

    /* A site with a time zone says so: its days are that zone's (a site in UTC answers as it
     * always has). */
    if (head != NULL && q->days.z != NULL &&
        json_object_set_new(head, "timezone", json_string(tz_name(q->days.z))) != 0) {
        json_decref(head);
        return NULL;
    }
    return head;
}

int
req_note_hashed(json_t *reply, const struct req *q)
{
    return q->days.days > 1 ? json_object_set_new(reply, "hashed_visitors", json_string("per_day"))
                            : 0;
}

json_t *
req_filters_json(const struct filters *fs)
{
    json_t *list = json_array();

    for (int i = 0; list != NULL && i < fs->n; i++) {
        char dim[FILTER_KEY_MAX + 8];
        filter_dimension_name(&fs->f[i].d, dim, sizeof dim);
        if (json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "dimension", dim, "operator",
                                                  filter_op_names[fs->f[i].op], "value",
                                                  fs->f[i].value)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

int
req_send(struct mg_connection *conn, const struct req *q, json_t *reply)
{
    if (reply != NULL &&
        ((q->type_len > 0 &&
          json_object_set_new(reply, "event_type", json_string(q->event_type)) != 0) ||
         (q->filters.n > 0 &&
          json_object_set_new(reply, "filters", req_filters_json(&q->filters)) != 0) ||
         (q->raw_from[0] != '\0' &&
          json_object_set_new(reply, "raw_events_from", json_string(q->raw_from)) != 0))) {
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    }
    return http_send_json(conn, 200, reply);
}
