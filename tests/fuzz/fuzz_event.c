/* fuzz_event.c - libFuzzer target: the event parser/validator, the envelope codec, the
 * timestamp parsers, the query-string parser, reporting's GET /events parameters and
 * cursor and its READ_TOKENS parser, with round-trip properties. Each input
 * runs on a thread with the stack of a civetweb worker (102400 bytes, Debian's
 * CIVETWEB_THREAD_STACK_SIZE), so a parse that recurses too deep for a worker crashes
 * here too. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/same_event.h"
#include "auth.h"
#include "envelope.h"
#include "event.h"
#include "explorer.h"
#include "export_plan.h"
#include "params.h"
#include "ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORKER_STACK_BYTES 102400

/* A decoded envelope survives envelope_encode() -> envelope_decode() unchanged, its visit
 * member and yesterday's visitor id included. */
static void
envelope_round_trip(const struct event *ev)
{
    struct event back;
    struct app_err err = {0};
    size_t len;
    char *text = envelope_encode(ev, &len);

    if (text == NULL) {
        abort();
    }
    if (envelope_decode(text, len, &back, &err) != 0 || !same_visit(ev, &back) ||
        !same_prev_visitor(ev, &back) || strcmp(back.id, ev->id) != 0 || back.ts_ms != ev->ts_ms) {
        abort();
    }
    event_cleanup(&back);
    free(text);
}

/* envelope_decode() (its fast scan, or jansson) and envelope_decode_json() (jansson alone)
 * must agree on every text: the same outcome, the same event or the same reason. */
static void
decoders_agree(const char *buf, size_t len)
{
    struct event a, b;
    struct app_err ea = {0}, eb = {0};
    int ra = envelope_decode(buf, len, &a, &ea), rb = envelope_decode_json(buf, len, &b, &eb);

    if (ra != rb || (ra != 0 && (strcmp(ea.msg, eb.msg) != 0 || ea.code != eb.code))) {
        abort();
    }
    if (ra == 0 && (strcmp(a.id, b.id) != 0 || strcmp(a.delivery, b.delivery) != 0 ||
                    !same_str(a.site_id, b.site_id) || !same_str(a.event_type, b.event_type) ||
                    !same_str(a.path, b.path) || !same_str(a.user_id, b.user_id) ||
                    !same_str(a.request_id, b.request_id) || !same_str(a.client_id, b.client_id) ||
                    a.ts_ms != b.ts_ms || a.received_ms != b.received_ms ||
                    a.has_client_ts != b.has_client_ts || a.client_ts_ms != b.client_ts_ms ||
                    a.visitor != b.visitor || strcmp(a.country, b.country) != 0 ||
                    !same_prev_visitor(&a, &b) || !same_attrs(&a, &b) ||
                    memcmp(&a.device, &b.device, sizeof a.device) != 0 ||
                    (a.properties == NULL) != (b.properties == NULL) ||
                    (a.properties != NULL && !json_equal(a.properties, b.properties)) ||
                    !same_visit(&a, &b))) {
        abort();
    }
    if (ra == 0 && (a.has_visit || a.prev_visitor[0] != '\0')) {
        envelope_round_trip(&a);
    }
    if (ra == 0) {
        event_cleanup(&a);
        event_cleanup(&b);
    }
}

/* A request body that validates must survive envelope encode -> decode unchanged, but for
 * its path's query string and fragment, which the envelope drops (event_path_len()). */
static void
request_round_trip(const char *buf, size_t len)
{
    json_t *body = event_parse_body(buf, len, NULL);
    struct event ev, back;
    struct app_err err = {0};
    char *text;
    size_t text_len = 0;

    event_init(&back);
    if (body == NULL || event_from_request(body, &ev, &err) != 0) {
        json_decref(body);
        return;
    }
    ev.received_ms = 1;
    ev.request_id = "fuzz-rid";
    event_new_id(ev.ts_ms, ev.id);
    text = envelope_encode(&ev, &text_len);
    if (text == NULL) {
        abort();
    }
    decoders_agree(text, text_len);
    if (envelope_decode(text, text_len, &back, &err) != 0 || strcmp(back.id, ev.id) != 0 ||
        strcmp(back.site_id, ev.site_id) != 0 || strcmp(back.event_type, ev.event_type) != 0 ||
        back.ts_ms != ev.ts_ms || back.received_ms != ev.received_ms || back.request_id == NULL ||
        strcmp(back.request_id, ev.request_id) != 0 || (ev.path == NULL) != (back.path == NULL) ||
        (ev.path && (strlen(back.path) != event_path_len(ev.path) ||
                     strncmp(ev.path, back.path, strlen(back.path)) != 0)) ||
        (ev.user_id == NULL) != (back.user_id == NULL) ||
        (ev.user_id && strcmp(ev.user_id, back.user_id) != 0) || ev.visitor != back.visitor ||
        (ev.properties == NULL) != (back.properties == NULL) ||
        (ev.properties && !json_equal(ev.properties, back.properties))) {
        abort(); /* the envelope lost or changed something */
    }
    free(text);
    event_cleanup(&back);
    event_cleanup(&ev);
    json_decref(body);
}

/* The envelope ingest would queue for ev (seal()'s, with a fixed delivery id, receive time
 * and request id): malloc'd text, to compare two paths' events by. */
static char *
sealed(struct event *ev)
{
    char *text;

    memcpy(ev->delivery, "0190163d-8694-7abc-8def-0123456789ab", EVENT_ID_LEN + 1);
    if (ev->client_id != NULL) {
        event_derive_id(ev->site_id, ev->client_id, ev->id);
    } else {
        memcpy(ev->id, ev->delivery, sizeof ev->delivery);
        ev->delivery[0] = '\0';
    }
    ev->received_ms = 1;
    ev->request_id = "fuzz-rid";
    if ((text = envelope_encode(ev, NULL)) == NULL) {
        abort();
    }
    return text;
}

/* The scanner's event s and the jansson path's for item: that path accepts it too, and
 * both make the same envelope. */
static void
same_as_jansson(struct event *s, json_t *item)
{
    struct event j;
    struct app_err err = {0};
    char *a, *b;

    if (event_from_request(item, &j, &err) != 0 || j.properties != NULL) {
        abort(); /* the scanner accepted what the jansson path refuses, or read otherwise */
    }
    a = sealed(s);
    b = sealed(&j);
    if (strcmp(a, b) != 0) {
        abort();
    }
    free(a);
    free(b);
    event_cleanup(&j);
}

/* One input, one answer: event_scan() and event_scan_batch() accept only what the jansson
 * path accepts, making the same envelopes, and leave what they refuse untouched (for the
 * jansson path, whose answer it then is). */
static void
scan_agrees(const char *buf, size_t len)
{
    char *copy = malloc(len + 1);
    json_t *body = event_parse_body(buf, len, NULL);
    struct event s, *evs;
    size_t n = 0;

    if (copy == NULL) {
        abort();
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    if (event_scan(copy, len, &s)) {
        if (body == NULL) {
            abort();
        }
        same_as_jansson(&s, body);
    } else if (memcmp(copy, buf, len) != 0) {
        abort();
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    evs = event_scan_batch(copy, len, 500, &n);
    if (evs != NULL) {
        if (!json_is_array(body) || json_array_size(body) != n) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            same_as_jansson(&evs[i], json_array_get(body, i));
        }
        free(evs);
    } else if (memcmp(copy, buf, len) != 0) {
        abort();
    }
    json_decref(body);
    free(copy);
}

/* GET /export's parsers (see reporting_properties()). */
static void
export_properties(const char *qs, size_t len)
{
    struct export_query xq;
    char msg[256], id[EVENT_DOC_ID_MAX + 1], again_id[EVENT_DOC_ID_MAX + 1];
    char text[EXPORT_CURSOR_MAX + 1], ts[TS_FORMAT_LEN];
    int64_t ms, again_ms;

    if (export_parse(qs, NULL, &xq, msg, sizeof msg) == 0) {
        bson_t *p = export_pipeline(&xq);
        if (xq.days.days < 1 || xq.days.days > RANGE_MAX_DAYS || p == NULL) {
            abort();
        }
        bson_destroy(p);
    }
    (void)export_accepts_gzip(qs);
    if (export_cursor_parse(qs, len, &ms, id) == 0) {
        ts_format(ms, ts);
        snprintf(text, sizeof text, "%s,%s", ts, id);
        if (export_cursor_parse(text, strlen(text), &again_ms, again_id) != 0 || again_ms != ms ||
            strcmp(again_id, id) != 0) {
            abort();
        }
    }
}

/* GET /events: an accepted query has a non-empty range and a limit in 1-1000, builds its
 * filter, and a cursor made for it decodes with it to what was encoded; any cursor the
 * decoder accepts is the encoder's exact output. GET /export: an accepted query has 1-366
 * days and builds its pipeline; an accepted cursor reads back the same from its canonical
 * form. READ_TOKENS: an accepted list has tokens that each match themselves. qs is
 * NUL-terminated. */
static void
reporting_properties(const char *qs, size_t len)
{
    struct events_query *q = malloc(sizeof *q), *back = malloc(sizeof *back);
    char msg[256], cursor[EXPLORER_CURSOR_MAX + 1];
    struct auth a;

    if (q == NULL || back == NULL) {
        abort();
    }
    if (explorer_parse(qs, NULL, q, msg, sizeof msg) == 0) {
        bson_t *f = explorer_filter(q), *o = explorer_pipeline(q);
        if (q->from_ms >= q->to_ms || q->limit < 1 || q->limit > EXPLORER_LIMIT_MAX ||
            (q->properties != 0 && q->properties != 1)) {
            abort();
        }
        bson_destroy(f);
        bson_destroy(o);
        explorer_cursor_encode(q, q->from_ms, "an-id", cursor);
        *back = *q;
        if (explorer_cursor_decode(cursor, strlen(cursor), back) != 0 ||
            back->after_ms != q->from_ms || strcmp(back->after_id, "an-id") != 0) {
            abort();
        }
        *back = *q;
        if (explorer_cursor_decode(qs, len, back) == 0) {
            explorer_cursor_encode(back, back->after_ms, back->after_id, cursor);
            if (strlen(cursor) != len || memcmp(cursor, qs, len) != 0) {
                abort();
            }
        }
    }
    export_properties(qs, len);
    if (auth_parse(qs, &a, msg, sizeof msg) == 0) {
        for (size_t i = 0; i < a.n; i++) {
            if (auth_match(&a, a.tokens[i].token, a.tokens[i].len) != &a.tokens[i]) {
                abort();
            }
        }
        auth_free(&a);
    }
    free(q);
    free(back);
}

struct input {
    const uint8_t *data;
    size_t size;
};

static void *
run_one(void *arg)
{
    const struct input *in = arg;
    const uint8_t *data = in->data;
    size_t size = in->size;
    const char *buf = (const char *)data;
    struct event ev;
    struct app_err err = {0};
    int64_t ms;
    char out[64], *qs;

    request_round_trip(buf, size);
    scan_agrees(buf, size);

    if (envelope_decode(buf, size, &ev, &err) == 0) {
        event_cleanup(&ev);
    }
    decoders_agree(buf, size);

    if (ts_parse_rfc3339(buf, size, &ms) == 0) {
        char text[TS_FORMAT_LEN];
        int64_t again;
        ts_format(ms, text);
        /* Every accepted instant is within years 0001-9999, and its canonical form
         * parses back to the same instant. */
        if (ms < TS_MIN_MS || ms > TS_MAX_MS || ts_parse_rfc3339(text, strlen(text), &again) != 0 ||
            again != ms) {
            abort();
        }
    }
    if (ts_parse_date(buf, size, &ms) == 0 &&
        (ms % TS_DAY_MS != 0 || ms < TS_MIN_MS || ms > TS_MAX_MS)) {
        abort(); /* a date starts at midnight, within years 0001-9999 */
    }

    qs = malloc(size + 1);
    if (qs != NULL) {
        memcpy(qs, data, size);
        qs[size] = '\0';
        int n = params_find(qs, "site_id", out, sizeof out);
        if (n >= 0 && ((size_t)n >= sizeof out || out[n] != '\0')) {
            abort();
        }
        reporting_properties(qs, size);
        free(qs);
    }
    return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    pthread_attr_t attr;
    pthread_t t;

    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES) != 0 ||
        pthread_create(&t, &attr, run_one, &in) != 0) {
        abort();
    }
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    return 0;
}
