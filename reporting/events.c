/* events.c - GET /events: a site's raw events, newest first, page by page. */
#include "explorer.h"
#include "query.h"
#include "reporting.h"

int
reporting_handle_events(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    struct events_query *q = malloc(sizeof *q); /* 3 KiB: off the worker's stack */
    struct events_page page = {0};
    struct app_err err = {0};
    char msg[256], cursor[EXPLORER_CURSOR_MAX + 1];
    json_t *reply;
    int rc;

    if (q == NULL) {
        return http_send_error(conn, 500, "Internal error");
    }
    if (explorer_parse(mg_get_request_info(conn)->query_string, q, msg, sizeof msg) != 0) {
        free(q);
        return http_send_error(conn, 400, "%s", msg);
    }
    if ((rc = reporting_may_read(conn, r, q->site_id)) != 0 ||
        (rc = reporting_db_enter(conn, r)) != 0) {
        free(q);
        return rc;
    }
    rc = query_events(r->store, q, &page, &err);
    reporting_db_leave(r);
    if (rc != 0) {
        free(q);
        return reporting_db_failed(conn, r, "events", &err);
    }
    if (page.more) {
        explorer_cursor_encode(q, page.last_ms, page.last_id, cursor);
    }
    reply =
        json_pack("{s:o,s:s?}", "events", page.events, "next_cursor", page.more ? cursor : NULL);
    free(q);
    return http_send_json(conn, 200, reply);
}
