/* envelope.c - the queue envelope: how an event travels from ingest to the processor. Its
 * encoder and its jansson decoder; the visit member is envelope_visit.c's, the decoder's fast
 * path envelope_fast.c's. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "envelope_int.h"
#include "jsonmem.h"

void
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

/* Whether byte c is written as it is in a JSON string of an envelope (the text is valid UTF-8,
 * which jansson or event_scan() checked, so only '"', '\\' and control characters are not);
 * and, when it is not, its escape into e: its length (2 for '"' and '\\', 6 for a control
 * character, \u00XX), else 0. */
static inline int
plain_byte(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

static inline size_t
escape_byte(unsigned char c, char e[6])
{
    static const char hex[] = "0123456789abcdef";

    if (plain_byte(c)) {
        return 0;
    }
    e[0] = '\\';
    if (c == '"' || c == '\\') {
        e[1] = (char)c;
        return 2;
    }
    memcpy(e + 1, "u00", 3);
    e[4] = hex[c >> 4];
    e[5] = hex[c & 15];
    return 6;
}

size_t
envelope_escape(const char *s, size_t n, char *out)
{
    char *o = out;

    for (size_t i = 0; i < n; i++) {
        size_t k = escape_byte((unsigned char)s[i], o);
        if (k == 0) {
            *o++ = s[i];
        }
        o += k;
    }
    return (size_t)(o - out);
}

/* Append ,"key":"value" (prefix is the literal ,"key":" of length plen), the value being
 * the bytes from v to end (or to a NUL before end) escaped by escape_byte(): runs of plain
 * bytes copied at once. */
void
put_string_n(struct out *o, const char *prefix, size_t plen, const char *v, const char *end)
{
    const char *run = v;

    put(o, prefix, plen);
    for (;; v++) {
        unsigned char c = v < end ? (unsigned char)*v : '\0';
        char e[6];
        if (plain_byte(c)) {
            continue;
        }
        put(o, run, (size_t)(v - run));
        if (c == '\0') {
            break;
        }
        put(o, e, escape_byte(c, e));
        run = v + 1;
    }
    put(o, "\"", 1);
}

/* Append v in decimal (snprintf is a measurable share of the encoding's cost). */
void
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

/* put() for json_dump_callback(): jansson writes properties straight into the envelope. */
static int
put_json(const char *buf, size_t n, void *data)
{
    struct out *o = data;

    put(o, buf, n);
    return o->failed ? -1 : 0;
}

/* The envelope's names of the attribution's members (enum event_attr, "att" and "visit.va"). */
const char *const att_keys[EVENT_N_ATTRS] = {"s", "m", "ch", "us", "um", "uc", "ut", "ux"};

/* Append ,"att":{...} when ev has any attribution: its present members in att_keys[]'s order,
 * the order the fast path of the decoder reads them (scan_att()). */
static void
put_att(struct out *o, const struct event *ev)
{
    int any = 0;

    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (ev->attr[k] != NULL) {
            put(o, any ? ",\"" : ",\"att\":{\"", any ? 2 : 9);
            put(o, att_keys[k], strlen(att_keys[k]));
            put_string_n(o, "\":\"", 3, ev->attr[k], ev->attr[k] + strlen(ev->attr[k]));
            any = 1;
        }
    }
    if (any) {
        put(o, "}", 1);
    }
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
            len_or_0(ev->request_id) + strlen(ev->prev_visitor);
    if (ev->has_visit) {
        o.cap += visit_room(&ev->visit);
    }
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
        PUT_STRING_N(&o, "path", ev->path, event_path_len(ev->path));
    }
    if (ev->user_id != NULL) {
        PUT_STRING(&o, "user_id", ev->user_id);
    }
    if (event_visitor_name(ev->visitor) != NULL) {
        PUT_STRING(&o, "vsrc", event_visitor_name(ev->visitor));
    }
    if (ev->prev_visitor[0] != '\0') {
        PUT_STRING(&o, "vy", ev->prev_visitor);
    }
    if (ev->country[0] != '\0') {
        PUT_STRING(&o, "cc", ev->country);
    }
    put_att(&o, ev);
    for (int m = 0; m < DEVICE_N; m++) { /* "br", "brv", "os", "osv", "dev" (device.h) */
        const char *k = device_members[m].scan, *v = device_get(&ev->device, m);
        if (v[0] != '\0') {
            put(&o, k, strlen(k));
            put_string_n(&o, "\"", 1, v, v + strlen(v));
        }
    }
    if (ev->has_visit) {
        put_visit(&o, &ev->visit);
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

/* The rule of "vy" for both decoders: a derived visitor id, EVENT_VISITOR_ID_LEN characters of
 * [0-9a-f]. Copies it into out (EVENT_VISITOR_ID_LEN + 1 bytes) and returns 1 when s[0..n) is
 * one, else 0. */
int
take_visitor_id(const char *s, size_t n, char *out)
{
    if (n != EVENT_VISITOR_ID_LEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* The rule of "cc" for both decoders: an ISO 3166-1 alpha-2 code, two letters A-Z. Copies
 * it into out (EVENT_COUNTRY_LEN + 1 bytes) and returns 1 when s[0..n) is one, else 0. */
int
take_country(const char *s, size_t n, char *out)
{
    if (n != EVENT_COUNTRY_LEN || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
        return 0;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* The jansson decoder's "att": each known member, when present, into ev->attr (pointing into
 * att); others are ignored. Returns 0, or -1 with err set. */
static int
take_att(json_t *att, struct event *ev, struct app_err *err)
{
    if (att != NULL && !json_is_object(att)) {
        return err_set(err, ERR_INVALID, "envelope field 'att' is not an object");
    }
    for (int k = 0; att != NULL && k < EVENT_N_ATTRS; k++) {
        json_t *v = json_object_get(att, att_keys[k]);
        if (v != NULL && (!json_is_string(v) || !ATT_FITS(json_string_length(v)))) {
            return err_set(err, ERR_INVALID,
                           "envelope field 'att.%s' is not a string of 1-%d bytes", att_keys[k],
                           EVENT_ATTR_MAX);
        }
        ev->attr[k] = json_string_value(v);
    }
    return 0;
}

/* The rule of the envelope's times on what a decoder read, for both decoders: ts, received
 * and cts (when has_client_ts) are instants within years 0001-9999, as every time ingest
 * writes is. (rid, when present, is a request id as ingest makes one:
 * event_request_id_valid().) */
int
check_times(const struct event *ev, struct app_err *err)
{
    static const char range[] = "envelope field '%s' is outside years 0001-9999";

    if (!event_time_valid(ev->ts_ms)) {
        return err_set(err, ERR_INVALID, range, "ts");
    }
    if (!event_time_valid(ev->received_ms)) {
        return err_set(err, ERR_INVALID, range, "received");
    }
    if (ev->has_client_ts && !event_time_valid(ev->client_ts_ms)) {
        return err_set(err, ERR_INVALID, range, "cts");
    }
    return 0;
}

/* The envelope's times, all UTC milliseconds: ts (the event time, which
 * event_take_fields() found present), received and the optional cts: integers, then
 * check_times(). */
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
    return check_times(ev, err);
}

int
envelope_decode(const char *buf, size_t len, struct event *ev, struct app_err *err)
{
    int rc;

    event_init(ev);
    if ((rc = decode_fast(buf, len, ev)) == 0) {
        return 0;
    }
    if (rc == FAST_NO_MEMORY) {
        return err_set(err, ERR_INTERNAL, "out of memory while decoding the envelope");
    }
    return envelope_decode_json(buf, len, ev, err);
}

int
envelope_decode_json(const char *buf, size_t len, struct event *ev, struct app_err *err)
{
    json_error_t jerr;
    json_t *o = NULL, *v, *id, *dlv, *rid, *vsrc, *vy, *cc;
    unsigned long failures = jsonmem_failures();
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
    if (jsonmem_failures() != failures) {
        /* Whatever jansson made of it (a syntax error, or a string short of a byte): the
         * envelope may be fine, so the batch is tried again, not dead-lettered. */
        err_set(err, ERR_INTERNAL, "out of memory while decoding the envelope");
        goto done;
    }
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
    rid = json_object_get(o, "rid");
    if (rid != NULL && (!json_is_string(rid) ||
                        !event_request_id_valid(json_string_value(rid), json_string_length(rid)))) {
        event_init(ev);
        err_set(err, ERR_INVALID, "envelope field 'rid' is not a valid request id");
        goto done;
    }
    vsrc = json_object_get(o, "vsrc");
    if (vsrc != NULL &&
        (!json_is_string(vsrc) ||
         (ev->visitor = event_visitor_parse(json_string_value(vsrc), json_string_length(vsrc))) ==
             EVENT_VISITOR_UNKNOWN)) {
        event_init(ev);
        err_set(err, ERR_INVALID, "envelope field 'vsrc' is not client, device or hash");
        goto done;
    }
    vy = json_object_get(o, "vy");
    if (vy != NULL &&
        (!json_is_string(vy) ||
         !take_visitor_id(json_string_value(vy), json_string_length(vy), ev->prev_visitor))) {
        event_init(ev);
        err_set(err, ERR_INVALID, "envelope field 'vy' is not a visitor id");
        goto done;
    }
    cc = json_object_get(o, "cc");
    if (cc != NULL && (!json_is_string(cc) ||
                       !take_country(json_string_value(cc), json_string_length(cc), ev->country))) {
        event_init(ev);
        err_set(err, ERR_INVALID, "envelope field 'cc' is not a country code (two letters A-Z)");
        goto done;
    }
    if (take_att(json_object_get(o, "att"), ev, err) != 0) {
        event_init(ev);
        goto done;
    }
    for (int m = 0; m < DEVICE_N; m++) {
        json_t *d = json_object_get(o, device_members[m].key);
        if (d != NULL && (!json_is_string(d) || !device_take(&ev->device, m, json_string_value(d),
                                                             json_string_length(d)))) {
            event_init(ev);
            err_set(err, ERR_INVALID, "%s", device_members[m].reason);
            goto done;
        }
    }
    if (take_visit(json_object_get(o, "visit"), ev, err) != 0) {
        event_init(ev);
        goto done;
    }
    snprintf(ev->id, sizeof ev->id, "%s", json_string_value(id));
    if (dlv != NULL) {
        snprintf(ev->delivery, sizeof ev->delivery, "%s", json_string_value(dlv));
    }
    ev->request_id = rid != NULL ? json_string_value(rid) : NULL;
    ev->src = o; /* the event's strings point into o */
    o = NULL;
    rc = 0;
done:
    json_decref(o);
    return rc;
}
