/* breakdown_scan.c - GET /stats/breakdown from the raw events. */
#include "breakdown_scan.h"

#include "query_scan.h"

/* Row r of a ranked scan by dimension d as the answer gives it. NULL out of memory. */
static json_t *
row_json(const struct scan_row *row, int d)
{
    const struct summary *x = &row->s;
    json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:f}", "value", row->value, "visitors",
                          (json_int_t)x->visitors, "visits", (json_int_t)x->visits, "pageviews",
                          (json_int_t)x->pageviews, "bounce_rate", summary_bounce_rate(x));

    /* The fields of the breakdowns from the rollups, so that a filter changes no reader. */
    if (j != NULL && (d == FILTER_PATH || d == FILTER_EVENT_TYPE || d == FILTER_REFERRER) &&
        json_object_set_new(j, "views", json_integer(x->events)) != 0) {
        json_decref(j);
        j = NULL;
    }
    if (j != NULL && d == FILTER_EVENT_TYPE &&
        json_object_set_new(j, "unique_users", json_integer(x->visitors)) != 0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int
breakdown_scan_answer(struct mg_connection *conn, struct reporting *r, struct req *q,
                      const struct filter_dimension *by, int limit)
{
    struct scan s;
    struct app_err err = {0};
    char name[FILTER_KEY_MAX + 8];
    json_t *reply, *values;
    int status;

    if ((status = req_db_slot(conn, r, q)) != 0) {
        return status;
    }
    status = scan_init(&s, &q->filters, &q->days, SCAN_VALUES, 0, by) != 0
                 ? err_set(&err, ERR_INTERNAL, "out of memory")
                 : query_scan(r->store, q->site_id, &s, &err);
    if ((status = req_db_done(conn, r, status, &err)) != 0) {
        scan_cleanup(&s);
        return status;
    }
    scan_rank(&s, (size_t)limit);
    values = json_array();
    for (size_t i = 0; values != NULL && i < s.n_rows; i++) {
        if (json_array_append_new(values, row_json(&s.rows[i], by->dim)) != 0) {
            json_decref(values);
            values = NULL;
        }
    }
    scan_cleanup(&s);
    filter_dimension_name(by, name, sizeof name);
    reply = req_reply_head(q);
    if (reply == NULL || values == NULL ||
        json_object_set_new(reply, "by", json_string(name)) != 0 ||
        req_note_hashed(reply, q) != 0) {
        json_decref(values);
        json_decref(reply);
        reply = NULL; /* out of memory: the send says so */
    } else if (json_object_set_new(reply, "values", values) != 0) {
        json_decref(reply);
        reply = NULL;
    }
    return req_send(conn, q, reply);
}
