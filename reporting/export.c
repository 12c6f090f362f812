/* export.c - GET /export: a site's raw events in a range of days, streamed as NDJSON or CSV
 * in chunks (gzip when the client takes it) from one MongoDB cursor, in a bounded memory
 * however many events the range holds. */
#include <string.h>
#include <zlib.h>

#include "dbread.h"
#include "export_plan.h"
#include "export_render.h"
#include "reporting.h"

/* The text rendered is sent (or compressed) once it reaches EXPORT_FLUSH_BYTES; a chunk of
 * gzip output is at most EXPORT_ZCHUNK bytes. */
#define EXPORT_FLUSH_BYTES (64 * 1024)
#define EXPORT_ZCHUNK (32 * 1024)
/* A batch from MongoDB holds at most EXPORT_BATCH_BYTES of events (range_batch()), and at
 * most EXPORT_BATCH_MAX of them. */
#define EXPORT_BATCH_BYTES (4 * 1024 * 1024)
#define EXPORT_BATCH_MAX 1000

/* One export being streamed. */
struct stream {
    struct mg_connection *conn;
    const struct export_query *q;
    struct jsontext text; /* rendered, not yet sent (owned) */
    int head_sent;        /* the reply's head is out: a failure can no longer be answered */
    int gone;             /* a write failed: the client left or stopped reading */
    int gzip;             /* the body is gzip'd through z */
    z_stream z;
    unsigned char zout[EXPORT_ZCHUNK];
    long events; /* events rendered */
};

/* Send the reply's head, once. */
static void
send_head(struct stream *s)
{
    char name[48], headers[256];

    if (s->head_sent) {
        return;
    }
    export_filename(s->q, name);
    snprintf(headers, sizeof headers,
             "Content-Disposition: attachment; filename=\"%s\"\r\nVary: "
             "Accept-Encoding\r\nX-Content-Type-Options: nosniff\r\n%s",
             name, s->gzip ? "Content-Encoding: gzip\r\n" : "");
    http_send_chunked_head(s->conn, 200,
                           s->q->format == EXPORT_CSV ? "text/csv; charset=utf-8; header=present"
                                                      : "application/x-ndjson",
                           headers);
    s->head_sent = 1;
}

/* Send data[0..n) as one chunk (none when n is 0). Returns 0, or -1 when the client is gone
 * (the write failed or timed out: REQUEST_TIMEOUT_MS). */
static int
send_chunk(struct stream *s, const void *data, size_t n)
{
    if (n > 0 && mg_send_chunk(s->conn, data, (unsigned)n) < 0) {
        s->gone = 1;
        return -1;
    }
    return 0;
}

/* Send what text holds, through gzip when on with zlib's flush mode: Z_NO_FLUSH (gzip sends
 * when it has enough), Z_SYNC_FLUSH (everything so far, the stream left open) or Z_FINISH
 * (everything and the end of the gzip stream). Returns 0, or -1 when the client is gone. */
static int
flush(struct stream *s, int mode)
{
    int zrc;

    send_head(s);
    if (!s->gzip) {
        int rc = send_chunk(s, s->text.s, s->text.len);
        s->text.len = 0;
        return rc;
    }
    s->z.next_in = (unsigned char *)s->text.s;
    s->z.avail_in = (uInt)s->text.len;
    do {
        s->z.next_out = s->zout;
        s->z.avail_out = sizeof s->zout;
        zrc = deflate(&s->z, mode);
        if (zrc == Z_STREAM_ERROR || send_chunk(s, s->zout, sizeof s->zout - s->z.avail_out) != 0) {
            return -1; /* Z_STREAM_ERROR: a broken state, never with ours */
        }
    } while (s->z.avail_out == 0 || (mode == Z_FINISH && zrc != Z_STREAM_END));
    s->text.len = 0;
    return 0;
}

/* For each event: rendered into text, which is sent once it holds EXPORT_FLUSH_BYTES. */
static int
export_doc(const bson_t *doc, void *arg, struct app_err *err)
{
    struct stream *s = arg;
    size_t before = s->text.len;
    int rc = s->q->format == EXPORT_CSV ? export_csv_record(&s->text, doc)
                                        : export_ndjson(&s->text, doc);

    if (rc != 0) {
        s->text.len = before;
        return err_set(err, ERR_INTERNAL,
                       "cannot render an event (no string _id, a string not UTF-8, or out of "
                       "memory)");
    }
    s->events++;
    if (s->text.len >= EXPORT_FLUSH_BYTES && flush(s, Z_NO_FLUSH) != 0) {
        return err_set(err, ERR_INTERNAL, "the client is gone");
    }
    return DBREAD_NEXT;
}

/* The next batch: as many events as fit in EXPORT_BATCH_BYTES at the largest size met. */
static uint32_t
export_batch(void *arg, size_t largest)
{
    (void)arg;
    return range_batch(EXPORT_BATCH_BYTES, largest, EXPORT_BATCH_MAX);
}

/* End the reply after the read of the events returned rc (err filled when it failed):
 * after a whole read the last text, the end of the gzip stream and the empty last chunk;
 * after a failure before anything was sent, its 503 (MongoDB) or 500; after one once the
 * reply was under way, the lines rendered so far and no last chunk (closing the connection
 * tells the client that the reply is cut short: the cursor of its last line resumes it).
 * Returns the reply's status. */
static int
finish(struct stream *s, struct reporting *r, int rc, const struct app_err *err)
{
    int status = 200;

    if (rc == 0) {
        if (flush(s, Z_FINISH) == 0 && mg_send_chunk(s->conn, "", 0) < 0) {
            s->gone = 1;
        }
    } else if (!s->head_sent) {
        if (err->code == ERR_TRANSIENT) {
            status = reporting_db_failed(s->conn, r, "export", err);
        } else {
            LOG_ERROR("export: %s", err->msg);
            status = http_send_error(s->conn, 500, "Internal error");
        }
    } else if (!s->gone) {
        flush(s, Z_SYNC_FLUSH); /* gzip'd: the lines so far, the stream left unfinished */
        LOG_WARN("export: %s after %ld events; the reply is cut short", err->msg, s->events);
        if (err->code == ERR_TRANSIENT) {
            atomic_fetch_add(&r->mongo_errors, 1);
        }
    }
    if (s->gone) {
        LOG_INFO("export: the client stopped reading after %ld events", s->events);
    }
    if (s->gone || rc != 0) {
        http_reply_close_after(s->conn);
    }
    return status;
}

/* Stream the export q asks for on conn (for HEAD, the head alone): one aggregation
 * (export_pipeline()) whose events export_doc() renders and sends as it reads them. Returns
 * the status of the reply. */
static int
stream(struct mg_connection *conn, struct reporting *r, const struct export_query *q)
{
    struct stream *s = calloc(1, sizeof *s); /* 32 KiB: off the worker's stack */
    struct app_err err = {0};
    bson_t *pipeline = NULL, *opts = NULL;
    int rc, status = 200;

    if (s == NULL) {
        return http_send_error(conn, 500, "Internal error");
    }
    s->conn = conn;
    s->q = q;
    s->gzip = export_accepts_gzip(mg_get_header(conn, "Accept-Encoding"));
    if (strcmp(mg_get_request_info(conn)->request_method, "HEAD") == 0) {
        send_head(s);
        free(s);
        return status;
    }
    /* windowBits 15 + 16: a gzip stream (RFC 1952) rather than zlib's. */
    if (s->gzip && deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                Z_DEFAULT_STRATEGY) != Z_OK) {
        free(s);
        return http_send_error(conn, 500, "Internal error");
    }
    pipeline = export_pipeline(q);
    opts = BCON_NEW("batchSize", BCON_INT32(100));
    const struct dbread rd = {.kind = DBREAD_AGGREGATE,
                              .collection = STORE_EVENTS_COLLECTION,
                              .query = pipeline,
                              .opts = opts,
                              .what = "mongodb export events",
                              .each = export_doc,
                              .arg = s,
                              .batch = export_batch};
    rc = q->format == EXPORT_CSV && export_csv_header(&s->text) != 0
             ? err_set(&err, ERR_INTERNAL, "out of memory")
             : dbread_run(r->store, &rd, &err);
    status = finish(s, r, rc, &err);
    if (s->gzip) {
        deflateEnd(&s->z);
    }
    bson_destroy(opts);
    bson_destroy(pipeline);
    jsontext_free(&s->text);
    free(s);
    return status;
}

int
reporting_handle_export(struct mg_connection *conn, void *arg)
{
    struct reporting *r = arg;
    struct export_query *q = malloc(sizeof *q);
    char msg[256];
    int rc;

    if (q == NULL) {
        return http_send_error(conn, 500, "Internal error");
    }
    if (export_parse(mg_get_request_info(conn)->query_string, &r->cfg.tzs, q, msg, sizeof msg) !=
        0) {
        free(q);
        return http_send_error(conn, 400, "%s", msg);
    }
    if ((rc = reporting_may_admin(conn, r, q->site_id, "export")) != 0) {
        free(q);
        return rc;
    }
    /* EXPORT_MAX_STREAMS at once, each holding a worker and a cursor for as long as its
     * client reads: the other routes keep the rest. */
    if (atomic_fetch_add(&r->exports, 1) >= r->cfg.export_max_streams) {
        atomic_fetch_sub(&r->exports, 1);
        free(q);
        return http_send_error_headers(conn, 503, "Retry-After: 10\r\n",
                                       "Too many exports running (EXPORT_MAX_STREAMS), please "
                                       "retry later");
    }
    rc = stream(conn, r, q);
    atomic_fetch_sub(&r->exports, 1);
    free(q);
    return rc;
}
