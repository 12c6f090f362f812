/* events.c - GET /events: a site's raw events, newest first, page by page, each page read
 * and written within a bounded memory. */
#include <stdio.h>
#include <string.h>

#include "dbread.h"
#include "event_doc.h"
#include "explorer.h"
#include "jsontext.h"
#include "query_scan.h"
#include "reporting.h"
#include "request.h"
#include "ts.h"

/* The reply's head: the page's text starts with it, so that the reply is sent without a
 * copy of the page next to it. */
static const char head[] = "{\"events\":[";
#define HEAD_LEN (sizeof head - 1)

/* A page being read: the head, then the events' JSON, comma-separated, and where it ends. */
struct page {
    struct jsontext text; /* owned */
    long n;               /* events in text */
    int more;             /* another page follows */
    int64_t last_ms;      /* the (timestamp, _id) of the last event, when n > 0 */
    char last_id[EVENT_DOC_ID_MAX + 1];
};

/* The read of a page: what q asks for, into pg. */
struct page_read {
    const struct events_query *q;
    struct page *pg;
};

/* For each event: rendered as text (explorer_render()) and kept while the page has room for
 * it (explorer_page_fits()) and q's limit is not reached; else the page is full (more). */
static int
page_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    const struct page_read *pr = arg;
    struct page *pg = pr->pg;
    bson_iter_t it;
    size_t len;
    char *ev;

    if (pr->q->filters.n > 0 && !query_scan_doc_passes(&pr->q->filters, doc)) {
        return DBREAD_NEXT;
    }
    if (pg->n == pr->q->limit) {
        pg->more = 1;
        return DBREAD_STOP;
    }
    if ((ev = explorer_render(doc, pr->q->properties, &len)) == NULL) {
        return err_set(err, ERR_INTERNAL,
                       "cannot render an event (no string _id or no date timestamp, or out of "
                       "memory)");
    }
    if (!explorer_page_fits(pg->n, pg->text.len - HEAD_LEN, len)) {
        free(ev);
        pg->more = 1; /* the next page starts with this event */
        return DBREAD_STOP;
    }
    if ((pg->n > 0 && jsontext_append(&pg->text, ",", 1) != 0) ||
        jsontext_append(&pg->text, ev, len) != 0) {
        free(ev);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    free(ev);
    pg->n++;
    bson_iter_init_find(&it, doc, EVDOC_TIMESTAMP);
    pg->last_ms = bson_iter_date_time(&it);
    bson_iter_init_find(&it, doc, EVDOC_ID);
    snprintf(pg->last_id, sizeof pg->last_id, "%s", bson_iter_utf8(&it, NULL));
    return DBREAD_NEXT;
}

/* The next batch: as many events as fit in the room left in the page (explorer_batch()). */
static uint32_t
page_batch(void *arg, size_t largest)
{
    const struct page_read *pr = arg;

    return explorer_batch(pr->q, pr->pg->n, pr->pg->text.len - HEAD_LEN, largest);
}

/* Read the page q asks for into pg, with one aggregation (explorer_pipeline()) whose
 * batches are sized to the room left in the page (page_batch()), each event taken by
 * page_doc(): reporting holds the page, one event and one batch. Returns 0, or -1 with err
 * filled: ERR_TRANSIENT when MongoDB failed, ERR_INTERNAL when out of memory or a stored
 * event has no string _id or no date timestamp. */
static int
read_page(store_t *s, const struct events_query *q, struct page *pg, struct app_err *err)
{
    struct page_read pr = {.q = q, .pg = pg};
    bson_t *pipeline = explorer_pipeline(q);
    bson_t *opts = BCON_NEW("batchSize", BCON_INT64(explorer_batch(q, 0, 0, 0)));
    const struct dbread rd = {.kind = DBREAD_AGGREGATE,
                              .collection = STORE_EVENTS_COLLECTION,
                              .query = pipeline,
                              .opts = opts,
                              .what = "mongodb find events",
                              .each = page_doc,
                              .arg = &pr,
                              .batch = page_batch};
    int rc = jsontext_append(&pg->text, head, HEAD_LEN) != 0
                 ? err_set(err, ERR_INTERNAL, "out of memory")
                 : dbread_run(s, &rd, err);

    bson_destroy(opts);
    bson_destroy(pipeline);
    return rc;
}

/* {"events":[<page>],"next_cursor":...[,"raw_events_from":"<day>"]}: the tail appended to
 * the page's text, sent (raw_from: req_raw_from(), "" left out). */
static int
send_page(struct mg_connection *conn, const struct events_query *q, struct page *pg,
          const char *raw_from)
{
    char tail[EXPLORER_CURSOR_MAX + 80], cursor[EXPLORER_CURSOR_MAX + 3], from[40] = "";

    snprintf(cursor, sizeof cursor, "null");
    if (pg->more) {
        cursor[0] = '"';
        explorer_cursor_encode(q, pg->last_ms, pg->last_id, cursor + 1);
        snprintf(cursor + strlen(cursor), 2, "\"");
    }
    if (raw_from[0] != '\0') {
        snprintf(from, sizeof from, ",\"raw_events_from\":\"%s\"", raw_from);
    }
    snprintf(tail, sizeof tail, "],\"next_cursor\":%s%s}", cursor, from);
    if (jsontext_append(&pg->text, tail, strlen(tail)) != 0) {
        return http_send_error(conn, 500, "Internal error");
    }
    return http_send_text(conn, 200, "application/json", pg->text.s, pg->text.len);
}

int
reporting_handle_events(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    struct events_query *q = malloc(sizeof *q); /* 3 KiB: off the worker's stack */
    struct page pg;
    struct app_err err = {0};
    char msg[256], raw_from[16];
    int rc;

    memset(&pg, 0, sizeof pg);
    if (q == NULL) {
        return http_send_error(conn, 500, "Internal error");
    }
    if (explorer_parse(mg_get_request_info(conn)->query_string, &r->cfg.tzs, q, msg, sizeof msg) !=
        0) {
        free(q);
        return http_send_error(conn, 400, "%s", msg);
    }
    if ((rc = reporting_may_read(conn, r, q->site_id)) != 0 ||
        (rc = reporting_db_enter(conn, r)) != 0) {
        free(q);
        return rc;
    }
    rc = read_page(r->store, q, &pg, &err);
    reporting_db_leave(r);
    req_raw_from(&r->cfg.ret, q->site_id, ts_now_ms(), raw_from);
    rc = rc != 0 ? reporting_db_failed(conn, r, "events", &err) : send_page(conn, q, &pg, raw_from);
    jsontext_free(&pg.text);
    free(q);
    return rc;
}
