/* envelope.c - the queue envelope: how an event travels from ingest to the processor. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing output string; failed is set once an allocation fails. Not kept
 * NUL-terminated as it grows (envelope_encode() ends it), but room for the NUL is. */
struct out {
    char *buf;
    size_t len, cap;
    int failed;
};

static void
grow(struct out *o, size_t n)
{
    size_t cap = (o->len + n + 1) * 2;
    char *b = o->failed ? NULL : realloc(o->buf, cap);

    if (b == NULL) {
        o->failed = 1;
        return;
    }
    o->buf = b;
    o->cap = cap;
}

static inline void
put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        grow(o, n);
        if (o->failed) {
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* Append ,"key":"value" (prefix is the literal ,"key":" of length plen) with value
 * escaped as JSON requires; the text is valid UTF-8 (jansson or event_scan() checked
 * it), so only '"', '\\' and control characters need escaping. */
static void
put_string_n(struct out *o, const char *prefix, size_t plen, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = v;

    put(o, prefix, plen);
    for (;; v++) {
        unsigned char c = (unsigned char)*v;
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        put(o, run, (size_t)(v - run));
        if (c == '\0') {
            break;
        }
        run = v + 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(o, e, 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(o, e, 6);
        }
    }
    put(o, "\"", 1);
}

#define PUT_STRING(o, key, v) put_string_n(o, ",\"" key "\":\"", sizeof(",\"" key "\":\"") - 1, v)

/* Append v in decimal (snprintf is a measurable share of the encoding's cost). */
static void
put_num(struct out *o, int64_t v)
{
    char b[24];
    size_t i = sizeof b;
    uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;

    do {
        b[--i] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0) {
        b[--i] = '-';
    }
    put(o, b + i, sizeof b - i);
}

/* Append ,"key":<v>. */
#define PUT_INT(o, key, v)                                                                         \
    do {                                                                                           \
        put(o, ",\"" key "\":", sizeof(",\"" key "\":") - 1);                                      \
        put_num(o, v);                                                                             \
    } while (0)

static size_t
len_or_0(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* put() for json_dump_callback(): jansson writes properties straight into the envelope. */
static int
put_json(const char *buf, size_t n, void *data)
{
    struct out *o = data;

    put(o, buf, n);
    return o->failed ? -1 : 0;
}

/* Written by hand rather than with json_pack() + json_dumps(): this runs once per
 * accepted event, and building a jansson object only to serialise it cost ingest a
 * measurable share of its throughput. Properties, the client's own JSON, are dumped
 * by jansson into the same buffer, not into a string of their own to be copied. */
char *
envelope_encode(const struct event *ev, size_t *len)
{
    struct out o = {0};

    /* One allocation for the usual envelope: its fixed part and its strings (escapes and
     * properties may grow it). */
    o.cap = 160 + strlen(ev->id) + strlen(ev->delivery) + len_or_0(ev->site_id) +
            len_or_0(ev->event_type) + len_or_0(ev->path) + len_or_0(ev->user_id) +
            len_or_0(ev->request_id);
    if ((o.buf = malloc(o.cap)) == NULL) {
        return NULL;
    }
    put(&o, "{\"v\":", 5);
    put_num(&o, ENVELOPE_VERSION);
    PUT_STRING(&o, "id", ev->id); /* a derived id holds the client's site_id */
    if (ev->delivery[0] != '\0' && strcmp(ev->delivery, ev->id) != 0) {
        PUT_STRING(&o, "dlv", ev->delivery);
    }
    PUT_STRING(&o, "site_id", ev->site_id);
    PUT_STRING(&o, "event_type", ev->event_type);
    PUT_INT(&o, "ts", ev->ts_ms);
    PUT_INT(&o, "received", ev->received_ms);
    if (ev->has_client_ts) {
        PUT_INT(&o, "cts", ev->client_ts_ms);
    }
    if (ev->path != NULL) {
        PUT_STRING(&o, "path", ev->path);
    }
    if (ev->user_id != NULL) {
        PUT_STRING(&o, "user_id", ev->user_id);
    }
    if (ev->properties != NULL) {
        put(&o, ",\"properties\":", 14);
        if (json_dump_callback(ev->properties, put_json, &o, JSON_COMPACT) != 0) {
            o.failed = 1;
        }
    }
    if (ev->request_id != NULL) {
        PUT_STRING(&o, "rid", ev->request_id);
    }
    put(&o, "}", 1);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    o.buf[o.len] = '\0';
    if (len != NULL) {
        *len = o.len;
    }
    return o.buf;
}

/* The envelope's times, all UTC milliseconds: ts (the event time, which
 * event_take_fields() found present), received and the optional cts. */
static int
take_times(json_t *o, struct event *ev, struct app_err *err)
{
    json_t *ts = json_object_get(o, "ts");
    json_t *received = json_object_get(o, "received");
    json_t *cts = json_object_get(o, "cts");

    if (!json_is_integer(ts)) {
        return err_set(err, ERR_INVALID, "envelope field 'ts' is not an integer");
    }
    if (!json_is_integer(received)) {
        return err_set(err, ERR_INVALID, "envelope field 'received' is missing or not an integer");
    }
    if (cts != NULL && !json_is_integer(cts)) {
        return err_set(err, ERR_INVALID, "envelope field 'cts' is not an integer");
    }
    ev->ts_ms = json_integer_value(ts);
    ev->received_ms = json_integer_value(received);
    ev->has_client_ts = cts != NULL;
    ev->client_ts_ms = cts != NULL ? json_integer_value(cts) : 0;
    return 0;
}

int
envelope_decode(const char *buf, size_t len, struct event *ev, struct app_err *err)
{
    json_error_t jerr;
    json_t *o = NULL, *v, *id, *dlv, *rid;
    int rc = -1;

    event_init(ev);
    /* ingest never queues deeper JSON; refusing it keeps the parser's recursion bounded
     * whatever else wrote to the list. */
    if (event_json_depth(buf, len, EVENT_BODY_DEPTH_MAX) > EVENT_BODY_DEPTH_MAX) {
        err_set(err, ERR_INVALID, "envelope is nested more than %d levels deep",
                EVENT_BODY_DEPTH_MAX);
        goto done;
    }
    o = json_loadb(buf, len, 0, &jerr);
    if (o == NULL) {
        err_set(err, ERR_INVALID, "envelope is not JSON: %s", jerr.text);
        goto done;
    }
    if (!json_is_object(o)) {
        err_set(err, ERR_INVALID, "envelope is not a JSON object");
        goto done;
    }
    v = json_object_get(o, "v");
    if (!json_is_integer(v) || json_integer_value(v) != ENVELOPE_VERSION) {
        err_set(err, ERR_INVALID, "envelope version is not %d", ENVELOPE_VERSION);
        goto done;
    }
    id = json_object_get(o, "id");
    if (!json_is_string(id) || json_string_length(id) > EVENT_DOC_ID_MAX) {
        err_set(err, ERR_INVALID, "envelope has no valid event id");
        goto done;
    }
    dlv = json_object_get(o, "dlv");
    if (dlv != NULL && (!json_is_string(dlv) || !event_id_valid(json_string_value(dlv)))) {
        err_set(err, ERR_INVALID, "envelope field 'dlv' is not a valid delivery id");
        goto done;
    }
    if (event_take_fields(o, "ts", take_times, ev, err) != 0) {
        goto done;
    }
    /* The id's form depends on the site: a UUIDv7, or "<site_id>:<event_id>". */
    if (!event_doc_id_valid(json_string_value(id), ev->site_id)) {
        event_init(ev);
        err_set(err, ERR_INVALID, "envelope has no valid event id");
        goto done;
    }
    snprintf(ev->id, sizeof ev->id, "%s", json_string_value(id));
    if (dlv != NULL) {
        snprintf(ev->delivery, sizeof ev->delivery, "%s", json_string_value(dlv));
    }
    rid = json_object_get(o, "rid");
    ev->request_id = json_is_string(rid) ? json_string_value(rid) : NULL;
    ev->src = o; /* the event's strings point into o */
    o = NULL;
    rc = 0;
done:
    json_decref(o);
    return rc;
}
