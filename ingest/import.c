/* import.c - POST /import: the body read a line at a time (at most MAX_BODY_BYTES each), each
 * line an exported event (import_line.h), queued IMPORT_BATCH at a time; the answer counts
 * the lines and lists the first IMPORT_ERRORS_MAX errors. */
#include "import.h"

#include <stdlib.h>
#include <string.h>

#include "auth_http.h"
#include "envelope.h"
#include "framing.h"
#include "import_line.h"
#include "ingest.h"
#include "shards.h"
#include "text.h"
#include "ts.h"

/* One import in progress. */
struct import {
    struct ingest *in;
    const struct auth_token *token; /* the request's admin token */
    char rid[LOG_REQUEST_ID_MAX + 1];
    size_t lines;  /* read so far, blank ones included: the numbers of the report */
    size_t events; /* lines that were not blank */
    size_t accepted, rejected, omitted;
    json_t *errors; /* the first IMPORT_ERRORS_MAX {"line", "error"} */
    size_t n;       /* events in the batch */
    struct event evs[IMPORT_BATCH];
    char *envelopes[IMPORT_BATCH];
    size_t lens[IMPORT_BATCH];
};

/* Note the error of line no: listed while there is room, else counted. Returns 0, or -1
 * with err when out of memory. */
static int
line_error(struct import *im, size_t no, const char *msg, struct app_err *err)
{
    char clean[256];

    im->rejected++;
    if (json_array_size(im->errors) >= IMPORT_ERRORS_MAX) {
        im->omitted++;
        return 0;
    }
    text_sanitize(clean, sizeof clean, msg, strlen(msg));
    if (json_array_append_new(
            im->errors, json_pack("{s:I,s:s}", "line", (json_int_t)no, "error", clean)) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

static void
batch_clear(struct import *im)
{
    for (size_t i = 0; i < im->n; i++) {
        event_cleanup(&im->evs[i]);
        free(im->envelopes[i]);
        im->envelopes[i] = NULL;
    }
    im->n = 0;
}

/* Queue the batch: each event its delivery id (a new UUIDv7, never its id: the processor
 * takes it for a client's duplicate when the id is stored already) and its envelope, one
 * push per queue shard. Returns 0, or -1 with err (ERR_INTERNAL: out of memory; else Redis). */
static int
flush(struct import *im, struct app_err *err)
{
    struct ingest *in = im->in;
    int64_t now = ts_now_ms();
    size_t maybe = 0;

    if (im->n == 0) {
        return 0;
    }
    for (size_t i = 0; i < im->n; i++) {
        struct event *ev = &im->evs[i];
        if (ev->received_ms < 0) {
            ev->received_ms = now;
        }
        event_new_id(now, ev->delivery);
        ev->request_id = im->rid;
        if ((im->envelopes[i] = envelope_encode(ev, &im->lens[i])) == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    if (shards_push(in->pushers, (unsigned)in->cfg.queue_shards, im->evs, NULL, im->envelopes,
                    im->lens, im->n, &maybe, err) != 0) {
        LOG_WARN("import: %zu event(s) not queued (%zu may be), first %s: %s", im->n, maybe,
                 im->evs[0].id, err->msg);
        atomic_fetch_add(&in->stats.unavailable, im->n);
        return -1;
    }
    atomic_fetch_add(&in->stats.enqueued, im->n);
    im->accepted += im->n;
    batch_clear(im);
    return 0;
}

/* One line (without its '\n' or "\r\n"); blank ones are skipped. Returns 0, 1 when the body
 * is not NDJSON (its first line that is not blank is not a JSON object: err says why), or -1
 * with err when the import cannot go on (out of memory, Redis). */
static int
take_line(struct import *im, const char *line, size_t len, struct app_err *err)
{
    struct event *ev = &im->evs[im->n];
    char msg[160];
    size_t no = ++im->lines;
    int rc;

    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        return 0;
    }
    rc = import_line(line, len, ev, err);
    if (++im->events == 1 && rc == -2) {
        return 1;
    }
    if (rc != 0) {
        return err->code == ERR_INTERNAL ? -1 : line_error(im, no, err->msg, err);
    }
    if (!sites_accepts(im->in->sites, ev->site_id) || im->token == NULL ||
        !auth_covers(im->token, ev->site_id)) {
        snprintf(msg, sizeof msg, "%s site_id '%.64s'",
                 sites_accepts(im->in->sites, ev->site_id) ? "This token may not import"
                                                           : "Unknown",
                 ev->site_id);
        event_cleanup(ev);
        return line_error(im, no, msg, err);
    }
    log_set_request_id(im->rid);
    rc = ++im->n == IMPORT_BATCH ? flush(im, err) : 0;
    log_set_request_id(NULL);
    return rc;
}

/* Read the body, line by line, into take_line(). Lines longer than max are reported and
 * skipped. Returns as take_line(), or -1 with err for a body that could not be read. */
static int
read_lines(struct mg_connection *conn, struct import *im, size_t max, struct app_err *err)
{
    size_t cap = max + 1, have = 0, start;
    char *b = malloc(cap);
    int skipping = 0, rc = 0, r;

    if (b == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (;;) {
        r = framing_read(conn, b + have, cap - have);
        if (r < 0) {
            rc = err_set(err, ERR_INVALID, "Could not read the request body");
            break;
        }
        if (r == 0) { /* the end: a last line without '\n' */
            rc = have > 0 && !skipping ? take_line(im, b, have, err) : 0;
            break;
        }
        have += (size_t)r;
        start = 0;
        for (char *nl; rc == 0 && (nl = memchr(b + start, '\n', have - start)) != NULL;) {
            size_t end = (size_t)(nl - b);
            if (!skipping) {
                rc = take_line(im, b + start, end - start, err);
            }
            skipping = 0;
            start = end + 1;
        }
        if (rc != 0) {
            break;
        }
        memmove(b, b + start, have - start);
        have -= start;
        if (have == cap) { /* a line longer than max: reported, the rest of it dropped */
            char msg[96];
            snprintf(msg, sizeof msg, "Line is longer than %zu bytes (MAX_BODY_BYTES)", max);
            im->events += !skipping;
            if (!skipping && (rc = line_error(im, ++im->lines, msg, err)) != 0) {
                break;
            }
            skipping = 1;
            have = 0;
        }
    }
    free(b);
    return rc;
}

int
import_post(struct mg_connection *conn, void *arg)
{
    struct ingest *in = arg;
    struct app_err err = {0};
    struct import *im = calloc(1, sizeof *im);
    json_t *reply;
    int rc, status;

    if (im == NULL || (im->errors = json_array()) == NULL) {
        free(im);
        return http_send_error(conn, 500, "Internal error");
    }
    im->in = in;
    im->token = auth_request_token(conn, &in->admin);
    event_new_id(ts_now_ms(), im->rid);
    rc = read_lines(conn, im, (size_t)in->cfg.max_body_bytes, &err);
    if (rc == 0 && (rc = flush(im, &err)) == 0 && im->events == 0) {
        rc = 1;
        err_set(&err, ERR_INVALID, "Request body is empty");
    }
    if (rc == 1) {
        http_reply_close_after(conn); /* the rest of the body is not read */
        status = http_send_error(conn, 400,
                                 "Request body must be NDJSON, one exported event per line "
                                 "(GET /export): line %zu: %s",
                                 im->lines > 0 ? im->lines : 1, err.msg);
    } else if (rc != 0 && err.code == ERR_INVALID) {
        http_reply_close_after(conn);
        status = http_send_error(conn, 400, "%s after %zu lines", err.msg, im->lines);
    } else if (rc != 0 && err.code == ERR_INTERNAL) {
        http_reply_close_after(conn);
        status = http_send_error(conn, 500, "Internal error");
    } else if (rc != 0) {
        http_reply_close_after(conn);
        status = http_send_error(conn, 503,
                                 "Queue unavailable after %zu events were queued, please retry "
                                 "(an import sent again stores each event once)",
                                 im->accepted);
    } else {
        LOG_INFO("import %s: %zu lines, %zu events queued, %zu refused", im->rid, im->lines,
                 im->accepted, im->rejected);
        reply = json_pack("{s:I,s:I,s:I,s:O,s:I}", "lines", (json_int_t)im->lines, "queued",
                          (json_int_t)im->accepted, "rejected", (json_int_t)im->rejected, "errors",
                          im->errors, "errors_omitted", (json_int_t)im->omitted);
        status = reply != NULL ? http_send_json(conn, 200, reply)
                               : http_send_error(conn, 500, "Internal error");
    }
    batch_clear(im);
    json_decref(im->errors);
    free(im);
    return status;
}
