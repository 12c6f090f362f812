/* envelope.c - the queue envelope: how an event travels from ingest to the processor. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"

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

/* Append ,"key":"value" (prefix is the literal ,"key":" of length plen), the value being
 * the bytes from v to end (or to a NUL before end), escaped as JSON requires; the text is
 * valid UTF-8 (jansson or event_scan() checked it), so only '"', '\\' and control
 * characters need escaping. */
static void
put_string_n(struct out *o, const char *prefix, size_t plen, const char *v, const char *end)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = v;

    put(o, prefix, plen);
    for (;; v++) {
        unsigned char c = v < end ? (unsigned char)*v : '\0';
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

/* Append ,"key":"v", v's first n bytes (PUT_STRING_N) or all of it. */
#define PUT_STRING_N(o, key, v, n)                                                                 \
    put_string_n(o, ",\"" key "\":\"", sizeof(",\"" key "\":\"") - 1, v, (v) + (n))
#define PUT_STRING(o, key, v) PUT_STRING_N(o, key, v, strlen(v))

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
        PUT_STRING_N(&o, "path", ev->path, event_path_len(ev->path));
    }
    if (ev->user_id != NULL) {
        PUT_STRING(&o, "user_id", ev->user_id);
    }
    if (event_visitor_name(ev->visitor) != NULL) {
        PUT_STRING(&o, "vsrc", event_visitor_name(ev->visitor));
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

/* The rule of the envelope's times on what a decoder read, for both decoders: ts, received
 * and cts (when has_client_ts) are instants within years 0001-9999, as every time ingest
 * writes is. (rid, when present, is a request id as ingest makes one:
 * event_request_id_valid().) */
static int
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

/* --- the fast path of envelope_decode() --------------------------------------------------- */

/* A cursor over an envelope's text. */
struct scan {
    const char *p, *end;
};

/* Skip the literal text lit; 0 when it is not next. */
static int
scan_lit(struct scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
        return 0;
    }
    s->p += n;
    return 1;
}

#define SCAN_LIT(s, lit) scan_lit((s), (lit), sizeof(lit) - 1)

/* A JSON string of printable ASCII with no escape (so with nothing to unescape and nothing
 * to check as UTF-8): its bytes *v[0..*n). 0 for any other value. */
static int
scan_str(struct scan *s, const char **v, size_t *n)
{
    const char *q;

    if (s->p >= s->end || *s->p != '"') {
        return 0;
    }
    for (q = s->p + 1; q < s->end && *q != '"'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c >= 0x80 || c == '\\') {
            return 0;
        }
    }
    if (q >= s->end) {
        return 0;
    }
    *v = s->p + 1;
    *n = (size_t)(q - *v);
    s->p = q + 1;
    return 1;
}

/* A JSON integer of at most 18 digits (so one that fits, as jansson reads it). */
static int
scan_int(struct scan *s, int64_t *v)
{
    const char *q = s->p;
    int64_t x = 0;
    int neg = 0, digits = 0;

    if (q < s->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q < s->end && *q == '0' && q + 1 < s->end && q[1] >= '0' && q[1] <= '9') {
        return 0; /* a leading zero: not JSON */
    }
    for (; q < s->end && *q >= '0' && *q <= '9'; q++) {
        if (++digits > 18) {
            return 0;
        }
        x = x * 10 + (*q - '0');
    }
    if (digits == 0 || (q < s->end && (*q == '.' || *q == 'e' || *q == 'E'))) {
        return 0;
    }
    *v = neg ? -x : x;
    s->p = q;
    return 1;
}

/* The properties object: parsed by jansson from its own text, which ends where its brackets
 * (outside strings) balance; NULL when it is not an object nested at most
 * EVENT_PROPERTIES_DEPTH_MAX deep, or not JSON. */
static json_t *
scan_properties(struct scan *s)
{
    const char *q = s->p;
    int depth = 0, in_str = 0;
    json_t *o;

    if (q >= s->end || *q != '{') {
        return NULL;
    }
    for (; q < s->end; q++) {
        char c = *q;
        if (in_str) {
            if (c == '\\') {
                q++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > EVENT_PROPERTIES_DEPTH_MAX) {
                return NULL;
            }
        } else if ((c == '}' || c == ']') && --depth == 0) {
            break;
        }
    }
    if (q >= s->end) {
        return NULL;
    }
    o = json_loadb(s->p, (size_t)(q + 1 - s->p), 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    s->p = q + 1;
    return o;
}

/* The string fields of an envelope decoded by decode_fast(): where they are in its text
 * (the first four are enum event_string's). */
enum {
    F_SITE = EVENT_SITE_ID,
    F_TYPE = EVENT_EVENT_TYPE,
    F_PATH = EVENT_PATH,
    F_USER = EVENT_USER_ID,
    F_RID = EVENT_N_STRINGS,
    F_N
};

/* What decode_fast() returns besides 0: the text is not of its form (the jansson path
 * decides), or an allocation failed. */
#define FAST_NOT_MINE 1
#define FAST_NO_MEMORY (-1)

/* The event's src for the strings text[0..len) (NULs between them) and properties props
 * (may be NULL): one jansson string, or with properties the array [that string, props].
 * Takes props's reference in all cases. NULL when out of memory. */
static json_t *
fast_src(const char *text, size_t len, json_t *props)
{
    json_t *strs = json_stringn_nocheck(text, len), *src;

    if (strs == NULL || props == NULL) {
        json_decref(props);
        return strs;
    }
    src = json_array();
    if (src == NULL || json_array_append_new(src, strs) != 0) {
        if (src == NULL) {
            json_decref(strs); /* json_array_append_new() took it otherwise */
        }
        json_decref(src);
        json_decref(props);
        return NULL;
    }
    if (json_array_append_new(src, props) != 0) {
        json_decref(src);
        return NULL;
    }
    return src;
}

/* Decode an envelope of exactly the form envelope_encode() writes: its members in that
 * order, no space, strings of printable ASCII without escapes, integers that fit, and
 * properties (if any) an object no deeper than EVENT_PROPERTIES_DEPTH_MAX. Its fields are
 * then checked with the rules the jansson path applies (event_plain_strings_valid(),
 * check_times(), event_doc_id_valid(), event_id_valid(), event_request_id_valid()), so such an
 * envelope decodes to exactly what the jansson path makes of it; for anything else this returns
 * FAST_NOT_MINE without touching ev, and the jansson path decides (and gives the reason).
 * FAST_NO_MEMORY when an allocation failed. The string fields are copied, NUL-terminated,
 * into one jansson string, which is the event's src (with properties, src is the array
 * [that string, properties]). It costs a tenth of parsing the envelope into a jansson
 * object (callgrind). */
static int
decode_fast(const char *buf, size_t len, struct event *ev)
{
    struct scan s = {buf, buf + len};
    const char *id, *dlv = NULL, *vsrc, *f[F_N] = {NULL, NULL, NULL, NULL, NULL};
    size_t id_n, dlv_n = 0, vsrc_n, n[F_N] = {0, 0, 0, 0, 0}, at = 0, off[F_N];
    struct event e;
    json_t *props = NULL, *src;
    char text[4096];
    const char *t;
    unsigned long failures = jsonmem_failures();

    event_init(&e);
    if (!SCAN_LIT(&s, "{\"v\":1,\"id\":") || !scan_str(&s, &id, &id_n) || id_n > EVENT_DOC_ID_MAX) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"dlv\":") && (!scan_str(&s, &dlv, &dlv_n) || dlv_n != EVENT_ID_LEN)) {
        return FAST_NOT_MINE;
    }
    if (!SCAN_LIT(&s, ",\"site_id\":") || !scan_str(&s, &f[F_SITE], &n[F_SITE]) ||
        !SCAN_LIT(&s, ",\"event_type\":") || !scan_str(&s, &f[F_TYPE], &n[F_TYPE]) ||
        !SCAN_LIT(&s, ",\"ts\":") || !scan_int(&s, &e.ts_ms) || !SCAN_LIT(&s, ",\"received\":") ||
        !scan_int(&s, &e.received_ms)) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"cts\":") && !(e.has_client_ts = scan_int(&s, &e.client_ts_ms))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"path\":") && !scan_str(&s, &f[F_PATH], &n[F_PATH])) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"user_id\":") && !scan_str(&s, &f[F_USER], &n[F_USER])) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"vsrc\":") &&
        (!scan_str(&s, &vsrc, &vsrc_n) ||
         (e.visitor = event_visitor_parse(vsrc, vsrc_n)) == EVENT_VISITOR_UNKNOWN)) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"properties\":") && (props = scan_properties(&s)) == NULL) {
        return jsonmem_failures() != failures ? FAST_NO_MEMORY : FAST_NOT_MINE;
    }
    if ((SCAN_LIT(&s, ",\"rid\":") &&
         (!scan_str(&s, &f[F_RID], &n[F_RID]) || !event_request_id_valid(f[F_RID], n[F_RID]))) ||
        !SCAN_LIT(&s, "}") || s.p != s.end || !event_plain_strings_valid(f, n) ||
        check_times(&e, NULL) != 0) {
        json_decref(props);
        return FAST_NOT_MINE;
    }
    for (int i = 0; i < F_N; i++) { /* checked above: at most 2,693 bytes with the NULs */
        off[i] = at;
        if (f[i] != NULL) {
            memcpy(text + at, f[i], n[i]);
            at += n[i];
        }
        text[at++] = '\0';
    }
    memcpy(e.id, id, id_n);
    e.id[id_n] = '\0';
    if (dlv != NULL) {
        memcpy(e.delivery, dlv, dlv_n);
        e.delivery[dlv_n] = '\0';
    }
    if (!event_doc_id_valid(e.id, text + off[F_SITE]) ||
        (dlv != NULL && !event_id_valid(e.delivery))) {
        json_decref(props);
        return FAST_NOT_MINE;
    }
    if ((src = fast_src(text, at, props)) == NULL || jsonmem_failures() != failures) {
        json_decref(src);
        return FAST_NO_MEMORY;
    }
    t = json_string_value(json_is_array(src) ? json_array_get(src, 0) : src);
    e.site_id = t + off[F_SITE];
    e.event_type = t + off[F_TYPE];
    e.path = f[F_PATH] != NULL ? t + off[F_PATH] : NULL;
    e.user_id = f[F_USER] != NULL ? t + off[F_USER] : NULL;
    e.request_id = f[F_RID] != NULL ? t + off[F_RID] : NULL;
    e.properties = json_is_array(src) ? json_array_get(src, 1) : NULL; /* borrowed from src */
    e.src = src;
    *ev = e;
    return 0;
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
    json_t *o = NULL, *v, *id, *dlv, *rid, *vsrc;
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
