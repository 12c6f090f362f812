/* envelope.c - the queue envelope: how an event travels from ingest to the processor. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
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
static void
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

/* The envelope's names of the attribution's members (enum event_attr, "att" and "visit.va"). */
static const char *const att_keys[EVENT_N_ATTRS] = {"s", "m", "ch", "us", "um", "uc", "ut", "ux"};

/* Append ,"va":{...}, the visit's attribution, device and country: the members of a, each only
 * when set, in the order the fast path of the decoder reads them (scan_va()): the attribution's
 * (att_keys[]), the device's (device_members[]), "cc". */
static void
put_va(struct out *o, const struct event_visit_attr *a)
{
    const char *sep = "\"";

    put(o, ",\"va\":{", 7);
    for (int k = 0; k < EVENT_N_ATTRS + DEVICE_N + 1; k++) {
        const char *key, *v;
        if (k < EVENT_N_ATTRS) {
            key = att_keys[k];
            v = a->attr[k] != NULL ? a->attr[k] : "";
        } else if (k < EVENT_N_ATTRS + DEVICE_N) {
            key = device_members[k - EVENT_N_ATTRS].key;
            v = device_get(&a->device, k - EVENT_N_ATTRS);
        } else {
            key = "cc";
            v = a->country;
        }
        if (v[0] != '\0') {
            put(o, sep, strlen(sep));
            put(o, key, strlen(key));
            put_string_n(o, "\":\"", 3, v, v + strlen(v));
            sep = ",\"";
        }
    }
    put(o, "}", 1);
}

/* Append the object {...} of visit v: its members in the order the fast path of the decoder
 * reads them (scan_visit()), e, x and xo only when set, eb only with e, xob only with xo, va
 * only when has_va. */
static void
put_visit_object(struct out *o, const struct event_visit *v)
{
    put(o, "{", 1);
    put_string_n(o, "\"id\":\"", 6, v->id, v->id + strlen(v->id));
    PUT_INT(o, "s", v->seq);
    PUT_INT(o, "start", v->start_ms);
    PUT_INT(o, "n", v->n);
    PUT_INT(o, "b", v->b);
    PUT_INT(o, "d", v->d);
    if (v->e != NULL) {
        PUT_STRING(o, "e", v->e);
    }
    PUT_INT(o, "en", v->en);
    if (v->e != NULL) {
        PUT_INT(o, "eb", v->eb);
    }
    if (v->x != NULL) {
        PUT_STRING(o, "x", v->x);
    }
    PUT_INT(o, "xn", v->xn);
    PUT_INT(o, "xb", v->xb);
    if (v->xo != NULL) {
        PUT_STRING(o, "xo", v->xo);
        PUT_INT(o, "xob", v->xob);
    }
    if (v->has_va) {
        put_va(o, &v->va);
    }
    put(o, "}", 1);
}

/* Append ,"visit":{...}. */
static void
put_visit(struct out *o, const struct event_visit *v)
{
    put(o, ",\"visit\":", 9);
    put_visit_object(o, v);
}

/* Room for visit v's object, escapes aside: its fixed part and its strings. */
static size_t
visit_room(const struct event_visit *v)
{
    size_t n = 160 + len_or_0(v->id) + len_or_0(v->e) + len_or_0(v->x) + len_or_0(v->xo);

    if (v->has_va) {
        n += 120 + sizeof v->va.device + sizeof v->va.country;
        for (int k = 0; k < EVENT_N_ATTRS; k++) {
            n += len_or_0(v->va.attr[k]);
        }
    }
    return n;
}

char *
envelope_visit_encode(const struct event_visit *v, size_t *len)
{
    struct out o = {0};

    o.cap = visit_room(v);
    if ((o.buf = malloc(o.cap)) == NULL) {
        return NULL;
    }
    put_visit_object(&o, v);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    o.buf[o.len] = '\0';
    *len = o.len;
    return o.buf;
}

char *
envelope_with_visit(const char *env, size_t len, const char *member, size_t member_len,
                    size_t *out_len)
{
    static const char key[] = ",\"visit\":";
    size_t n;
    char *out;

    if (len < 2 || env[len - 1] != '}') {
        return NULL;
    }
    n = len - 1 + sizeof key - 1 + member_len + 1;
    if ((out = malloc(n + 1)) == NULL) {
        return NULL;
    }
    memcpy(out, env, len - 1);
    memcpy(out + len - 1, key, sizeof key - 1);
    memcpy(out + len - 1 + sizeof key - 1, member, member_len);
    out[n - 1] = '}';
    out[n] = '\0';
    *out_len = n;
    return out;
}

int
envelope_event_with_visit(struct event *ev, const struct event_visit *v)
{
    enum { N_STRS = 4 + EVENT_N_ATTRS };
    const char *strs[N_STRS] = {v->id, v->e, v->x, v->xo};
    size_t len[N_STRS], at = 0;
    char local[4 * (EVENT_PATH_MAX + 1)], *text;
    json_t *held, *src;
    const char *t;

    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        strs[4 + k] = v->has_va ? v->va.attr[k] : NULL;
    }
    for (int i = 0; i < N_STRS; i++) {
        len[i] = strs[i] != NULL ? strlen(strs[i]) : 0;
        at += len[i] + 1;
    }
    text = at <= sizeof local ? local : malloc(at);
    if (text == NULL) {
        return -1;
    }
    at = 0;
    for (int i = 0; i < N_STRS; i++) {
        memcpy(text + at, strs[i] != NULL ? strs[i] : "", len[i]);
        at += len[i];
        text[at++] = '\0';
    }
    held = json_stringn_nocheck(text, at);
    if (text != local) {
        free(text);
    }
    if (held == NULL || (src = json_array()) == NULL) {
        json_decref(held);
        return -1;
    }
    if (json_array_append(src, ev->src) != 0) {
        json_decref(held);
        json_decref(src);
        return -1;
    }
    if (json_array_append_new(src, held) != 0) { /* which releases held */
        json_decref(src);
        return -1;
    }
    json_decref(ev->src); /* src holds it now */
    ev->src = src;
    t = json_string_value(held);
    ev->visit = *v;
    ev->visit.id = t;
    t += len[0] + 1;
    ev->visit.e = v->e != NULL ? t : NULL;
    t += len[1] + 1;
    ev->visit.x = v->x != NULL ? t : NULL;
    t += len[2] + 1;
    ev->visit.xo = v->xo != NULL ? t : NULL;
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        t += len[3 + k] + 1;
        ev->visit.va.attr[k] = strs[4 + k] != NULL ? t : NULL;
    }
    /* What the envelope leaves out (put_visit_object()) decodes as 0, or "". */
    ev->visit.eb = v->e != NULL ? v->eb : 0;
    ev->visit.xob = v->xo != NULL ? v->xob : 0;
    if (!v->has_va) {
        memset(&ev->visit.va, 0, sizeof ev->visit.va);
    }
    ev->has_visit = 1;
    return 0;
}

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
static int
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
static int
take_country(const char *s, size_t n, char *out)
{
    if (n != EVENT_COUNTRY_LEN || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
        return 0;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* The rule of each member of "att" for both decoders: 1-EVENT_ATTR_MAX bytes. */
#define ATT_FITS(n) ((n) >= 1 && (n) <= EVENT_ATTR_MAX)

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

/* --- the visit member ------------------------------------------------------------------- */

/* The members of "visit", in the order envelope_encode() writes them. */
enum {
    V_ID,
    V_S,
    V_START,
    V_N,
    V_B,
    V_D,
    V_E,
    V_EN,
    V_EB,
    V_X,
    V_XN,
    V_XB,
    V_XO,
    V_XOB,
    V_MEMBERS
};

/* Each member's rule, and the reason its value breaks it. */
enum visit_rule { R_ID, R_SEQ, R_TIME, R_01, R_SIGN, R_DUR, R_PATH };
static const struct {
    const char *name;
    enum visit_rule rule;
} visit_members[V_MEMBERS] = {
    [V_ID] = {"id", R_ID},   [V_S] = {"s", R_SEQ},    [V_START] = {"start", R_TIME},
    [V_N] = {"n", R_01},     [V_B] = {"b", R_SIGN},   [V_D] = {"d", R_DUR},
    [V_E] = {"e", R_PATH},   [V_EN] = {"en", R_01},   [V_EB] = {"eb", R_SIGN},
    [V_X] = {"x", R_PATH},   [V_XN] = {"xn", R_01},   [V_XB] = {"xb", R_SIGN},
    [V_XO] = {"xo", R_PATH}, [V_XOB] = {"xob", R_01},
};
static const char *const visit_reasons[] = {
    [R_ID] = "is not a valid event id",
    [R_SEQ] = "is not an integer of at least 1",
    [R_TIME] = "is not an integer time within years 0001-9999",
    [R_01] = "is not 0 or 1",
    [R_SIGN] = "is not -1, 0 or 1",
    [R_DUR] = "is not an integer of at least 0",
    [R_PATH] = "is not a string of at most 2048 bytes",
};

/* What a decoder found in "visit": each member present or not, a string (its bytes, as
 * jansson reads them) or an integer, or neither. */
struct visit_raw {
    unsigned char present[V_MEMBERS], is_str[V_MEMBERS], is_int[V_MEMBERS];
    const char *s[V_MEMBERS];
    size_t len[V_MEMBERS];
    int64_t i[V_MEMBERS];
    int has_va;                 /* "va" read (by the fast path: checked, strings aside) */
    struct event_visit_attr va; /* its device and country; its strings are set later */
};

/* Whether member m of r keeps its rule. */
static int
visit_member_ok(const struct visit_raw *r, int m, const char *site_id)
{
    int64_t v = r->i[m];

    switch (visit_members[m].rule) {
    case R_ID:
        return r->is_str[m] && r->len[m] <= EVENT_DOC_ID_MAX && strlen(r->s[m]) == r->len[m] &&
               event_doc_id_valid(r->s[m], site_id);
    case R_PATH:
        return r->is_str[m] && event_string_fits(EVENT_PATH, r->len[m]);
    case R_SEQ:
        return r->is_int[m] && v >= 1;
    case R_TIME:
        return r->is_int[m] && event_time_valid(v);
    case R_01:
        return r->is_int[m] && (v == 0 || v == 1);
    case R_SIGN:
        return r->is_int[m] && v >= -1 && v <= 1;
    case R_DUR:
        return r->is_int[m] && v >= 0;
    }
    return 0;
}

/* The rules of "visit" (the contract: docs/design.md, Visits), for both decoders: every member
 * required but e, eb, x and xo, and xob required with xo only (ignored without it); each
 * present one keeps its rule; then e is there when en is 1, eb exactly when e is (an eb without
 * e is refused, not ignored as xob is: it would be a bounce change with no page to add it on),
 * x when xn is 1 or xb is not 0, and xo only when the exit moved (x there, xn 1). Fills
 * ev->visit (its strings are r's) and sets has_visit; or -1 with err, ev untouched. */
static int
visit_check(const struct visit_raw *r, struct event *ev, struct app_err *err)
{
    struct event_visit v;

    for (int m = 0; m < V_MEMBERS; m++) {
        int optional =
            m == V_E || m == V_EB || m == V_X || m == V_XO || (m == V_XOB && !r->present[V_XO]);
        if (!r->present[m] || (m == V_XOB && !r->present[V_XO])) {
            if (!optional) {
                return err_set(err, ERR_INVALID, "envelope field 'visit.%s' is missing",
                               visit_members[m].name);
            }
            continue;
        }
        if (!visit_member_ok(r, m, ev->site_id)) {
            return err_set(err, ERR_INVALID, "envelope field 'visit.%s' %s", visit_members[m].name,
                           visit_reasons[visit_members[m].rule]);
        }
    }
    if (r->i[V_EN] == 1 && !r->present[V_E]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.e' is missing with en 1");
    }
    if (r->present[V_E] && !r->present[V_EB]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.eb' is missing with e");
    }
    if (r->present[V_EB] && !r->present[V_E]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.eb' is present without e");
    }
    if ((r->i[V_XN] == 1 || r->i[V_XB] != 0) && !r->present[V_X]) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.x' is missing with xn 1 or xb not 0");
    }
    if (r->present[V_XO] && (!r->present[V_X] || r->i[V_XN] != 1)) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.xo' is present without a move of x");
    }
    v.id = r->s[V_ID];
    v.seq = r->i[V_S];
    v.start_ms = r->i[V_START];
    v.n = (int)r->i[V_N];
    v.b = (int)r->i[V_B];
    v.d = r->i[V_D];
    v.e = r->present[V_E] ? r->s[V_E] : NULL;
    v.en = (int)r->i[V_EN];
    v.eb = r->present[V_E] ? (int)r->i[V_EB] : 0;
    v.x = r->present[V_X] ? r->s[V_X] : NULL;
    v.xn = (int)r->i[V_XN];
    v.xb = (int)r->i[V_XB];
    v.xo = r->present[V_XO] ? r->s[V_XO] : NULL;
    v.xob = r->present[V_XO] ? (int)r->i[V_XOB] : 0;
    v.has_va = r->has_va;
    v.va = r->va;
    ev->visit = v;
    ev->has_visit = 1;
    return 0;
}

/* The jansson path's "visit.va" (any JSON value; NULL when absent) checked into v: the rules of
 * the envelope's own "att" members, device members and "cc" (unknown members ignored). Returns
 * 0, or -1 with err set. */
static int
take_va(json_t *va, struct event_visit *v, struct app_err *err)
{
    static const char device_reason[] = "envelope field '";
    json_t *cc;

    if (va == NULL) {
        return 0;
    }
    if (!json_is_object(va)) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.va' is not an object");
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        json_t *a = json_object_get(va, att_keys[k]);
        if (a != NULL && (!json_is_string(a) || !ATT_FITS(json_string_length(a)))) {
            return err_set(err, ERR_INVALID,
                           "envelope field 'visit.va.%s' is not a string of 1-%d bytes",
                           att_keys[k], EVENT_ATTR_MAX);
        }
        v->va.attr[k] = json_string_value(a);
    }
    for (int m = 0; m < DEVICE_N; m++) {
        json_t *d = json_object_get(va, device_members[m].key);
        if (d != NULL && (!json_is_string(d) || !device_take(&v->va.device, m, json_string_value(d),
                                                             json_string_length(d)))) {
            /* "envelope field 'visit.va.br' is not ...": the envelope's own reason, renamed */
            return err_set(err, ERR_INVALID, "envelope field 'visit.va.%s",
                           device_members[m].reason + sizeof device_reason - 1);
        }
    }
    cc = json_object_get(va, "cc");
    if (cc != NULL &&
        (!json_is_string(cc) ||
         !take_country(json_string_value(cc), json_string_length(cc), v->va.country))) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.va.cc' is not a country code (two letters A-Z)");
    }
    v->has_va = 1;
    return 0;
}

/* The jansson path's "visit" (any JSON value; NULL when absent) checked into ev. */
static int
take_visit(json_t *visit, struct event *ev, struct app_err *err)
{
    struct visit_raw r;

    if (visit == NULL) {
        return 0;
    }
    if (!json_is_object(visit)) {
        return err_set(err, ERR_INVALID, "envelope field 'visit' is not an object");
    }
    memset(&r, 0, sizeof r);
    for (int m = 0; m < V_MEMBERS; m++) {
        json_t *v = json_object_get(visit, visit_members[m].name);
        r.present[m] = v != NULL;
        if (json_is_string(v)) {
            r.is_str[m] = 1;
            r.s[m] = json_string_value(v);
            r.len[m] = json_string_length(v);
        } else if (json_is_integer(v)) {
            r.is_int[m] = 1;
            r.i[m] = json_integer_value(v);
        }
    }
    if (visit_check(&r, ev, err) != 0) {
        return -1;
    }
    return take_va(json_object_get(visit, "va"), &ev->visit, err);
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
    F_VID, /* the visit's strings: id, e, x, xo */
    F_VE,
    F_VX,
    F_VXO,
    F_ATT,                        /* the attribution's, enum event_attr's order */
    F_VA = F_ATT + EVENT_N_ATTRS, /* the visit's attribution's (visit.va), the same order */
    F_N = F_VA + EVENT_N_ATTRS
};

/* The visit's string members, by field. */
static const int visit_strings[][2] = {{F_VID, V_ID}, {F_VE, V_E}, {F_VX, V_X}, {F_VXO, V_XO}};

/* An integer member of "visit": ,"<name>":<int> (lit is that prefix). */
static int
scan_visit_int(struct scan *s, const char *lit, size_t n, struct visit_raw *r, int m)
{
    if (!scan_lit(s, lit, n) || !scan_int(s, &r->i[m])) {
        return 0;
    }
    r->present[m] = r->is_int[m] = 1;
    return 1;
}

/* An optional string member of "visit": where it is in f[] / n[] (field fi), when present. */
static int
scan_visit_str(struct scan *s, const char *lit, size_t n, struct visit_raw *r, int m,
               const char **f, size_t *len)
{
    if (!scan_lit(s, lit, n)) {
        return 1; /* absent */
    }
    if (!scan_str(s, f, len)) {
        return 0;
    }
    r->present[m] = r->is_str[m] = 1;
    return 1;
}

#define VI(s, lit, r, m) scan_visit_int((s), (lit), sizeof(lit) - 1, (r), (m))
#define VS(s, lit, r, m, fi) scan_visit_str((s), (lit), sizeof(lit) - 1, (r), (m), &f[fi], &n[fi])

/* The key "key": of an object's member next in s: the first one's right after its '{' (*first
 * set, then cleared), any other's after a comma. 0 when it is not next. */
static int
scan_key(struct scan *s, int *first, const char *key)
{
    size_t kn = strlen(key), at = *first ? 0 : 1;

    if ((size_t)(s->end - s->p) < at + kn + 3 || (at == 1 && s->p[0] != ',') || s->p[at] != '"' ||
        memcmp(s->p + at + 1, key, kn) != 0 || memcmp(s->p + at + 1 + kn, "\":", 2) != 0) {
        return 0;
    }
    s->p += at + kn + 3;
    *first = 0;
    return 1;
}

/* The "va" object as envelope_encode() writes it (put_va()), its attribution's strings' places
 * in f[] / n[] (F_VA), its device and country into r->va; 1 when it is of that form and each
 * member keeps its rule, else 0. */
static int
scan_va(struct scan *s, struct visit_raw *r, const char **f, size_t *n)
{
    const char *v;
    size_t vn;
    int first = 1;

    if (!SCAN_LIT(s, "{")) {
        return 0;
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (scan_key(s, &first, att_keys[k]) &&
            (!scan_str(s, &f[F_VA + k], &n[F_VA + k]) || !ATT_FITS(n[F_VA + k]))) {
            return 0;
        }
    }
    for (int m = 0; m < DEVICE_N; m++) {
        if (scan_key(s, &first, device_members[m].key) &&
            (!scan_str(s, &v, &vn) || !device_take(&r->va.device, m, v, vn))) {
            return 0;
        }
    }
    if (scan_key(s, &first, "cc") &&
        (!scan_str(s, &v, &vn) || !take_country(v, vn, r->va.country))) {
        return 0;
    }
    r->has_va = 1;
    return SCAN_LIT(s, "}");
}

/* The "visit" object of exactly the form envelope_encode() writes (put_visit()), its strings'
 * places in f[] / n[]; 1 when it is of that form (its rules are checked later, by
 * visit_check()), else 0. */
static int
scan_visit(struct scan *s, struct visit_raw *r, const char **f, size_t *n)
{
    memset(r, 0, sizeof *r);
    if (!SCAN_LIT(s, "{\"id\":") || !scan_str(s, &f[F_VID], &n[F_VID])) {
        return 0;
    }
    r->present[V_ID] = r->is_str[V_ID] = 1;
    if (!VI(s, ",\"s\":", r, V_S) || !VI(s, ",\"start\":", r, V_START) ||
        !VI(s, ",\"n\":", r, V_N) || !VI(s, ",\"b\":", r, V_B) || !VI(s, ",\"d\":", r, V_D) ||
        !VS(s, ",\"e\":", r, V_E, F_VE) || !VI(s, ",\"en\":", r, V_EN) ||
        (r->present[V_E] && !VI(s, ",\"eb\":", r, V_EB)) || !VS(s, ",\"x\":", r, V_X, F_VX) ||
        !VI(s, ",\"xn\":", r, V_XN) || !VI(s, ",\"xb\":", r, V_XB) ||
        !VS(s, ",\"xo\":", r, V_XO, F_VXO)) {
        return 0;
    }
    if (r->present[V_XO] && !VI(s, ",\"xob\":", r, V_XOB)) {
        return 0;
    }
    if (SCAN_LIT(s, ",\"va\":") && !scan_va(s, r, f, n)) {
        return 0;
    }
    return SCAN_LIT(s, "}");
}

/* The "att" object as envelope_encode() writes it (put_att()), its strings' places in f[] /
 * n[]; 1 when it is of that form and each fits, else 0. */
static int
scan_att(struct scan *s, const char **f, size_t *n)
{
    const char *sep = "{\"";

    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        size_t kn = strlen(att_keys[k]);
        if ((size_t)(s->end - s->p) > kn + 4 && memcmp(s->p, sep, 2) == 0 &&
            memcmp(s->p + 2, att_keys[k], kn) == 0 && memcmp(s->p + 2 + kn, "\":", 2) == 0) {
            s->p += kn + 4;
            if (!scan_str(s, &f[F_ATT + k], &n[F_ATT + k]) || !ATT_FITS(n[F_ATT + k])) {
                return 0;
            }
            sep = ",\"";
        }
    }
    return sep[0] == ',' && SCAN_LIT(s, "}");
}

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
    const char *id, *dlv = NULL, *vsrc, *vy, *cc, *f[F_N] = {NULL};
    size_t id_n, dlv_n = 0, vsrc_n, vy_n, cc_n, n[F_N] = {0}, at = 0, off[F_N], need = F_N;
    struct event e;
    struct visit_raw vr;
    json_t *props = NULL, *src;
    char local[4096], *text = local;
    const char *t;
    unsigned long failures = jsonmem_failures();
    int has_visit = 0, rc;

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
    if (SCAN_LIT(&s, ",\"vy\":") &&
        (!scan_str(&s, &vy, &vy_n) || !take_visitor_id(vy, vy_n, e.prev_visitor))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"cc\":") &&
        (!scan_str(&s, &cc, &cc_n) || !take_country(cc, cc_n, e.country))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"att\":") && !scan_att(&s, f, n)) {
        return FAST_NOT_MINE;
    }
    for (int m = 0; m < DEVICE_N; m++) { /* each optional, in device_members' order */
        const char *scan = device_members[m].scan, *v;
        size_t v_n;
        if (scan_lit(&s, scan, strlen(scan)) &&
            (!scan_str(&s, &v, &v_n) || !device_take(&e.device, m, v, v_n))) {
            return FAST_NOT_MINE;
        }
    }
    if (SCAN_LIT(&s, ",\"visit\":") && !(has_visit = scan_visit(&s, &vr, f, n))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"properties\":") && (props = scan_properties(&s)) == NULL) {
        return jsonmem_failures() != failures ? FAST_NO_MEMORY : FAST_NOT_MINE;
    }
    /* The visit where envelope_encode() writes it (above), or last, where ingest's former push
     * script spliced it (envelopes queued before the processor assigned visits): both are this
     * form. */
    if ((SCAN_LIT(&s, ",\"rid\":") &&
         (!scan_str(&s, &f[F_RID], &n[F_RID]) || !event_request_id_valid(f[F_RID], n[F_RID]))) ||
        (!has_visit && SCAN_LIT(&s, ",\"visit\":") && !(has_visit = scan_visit(&s, &vr, f, n))) ||
        !SCAN_LIT(&s, "}") || s.p != s.end || !event_plain_strings_valid(f, n) ||
        check_times(&e, NULL) != 0) {
        json_decref(props);
        return FAST_NOT_MINE;
    }
    for (int i = 0; i < F_N; i++) {
        need += n[i];
    }
    /* Without a visit at most 2,693 bytes with the NULs (checked above); a visit's paths may
     * take more. */
    if (need > sizeof local && (text = malloc(need)) == NULL) {
        json_decref(props);
        return FAST_NO_MEMORY;
    }
    for (int i = 0; i < F_N; i++) {
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
    e.site_id = text + off[F_SITE]; /* for visit_check(); set again below */
    if (has_visit) {
        for (size_t k = 0; k < sizeof visit_strings / sizeof visit_strings[0]; k++) {
            vr.s[visit_strings[k][1]] = text + off[visit_strings[k][0]];
            vr.len[visit_strings[k][1]] = n[visit_strings[k][0]];
        }
    }
    if (!event_doc_id_valid(e.id, text + off[F_SITE]) ||
        (dlv != NULL && !event_id_valid(e.delivery)) ||
        (has_visit && visit_check(&vr, &e, NULL) != 0)) {
        json_decref(props);
        rc = FAST_NOT_MINE;
        goto done;
    }
    if ((src = fast_src(text, at, props)) == NULL || jsonmem_failures() != failures) {
        json_decref(src);
        rc = FAST_NO_MEMORY;
        goto done;
    }
    t = json_string_value(json_is_array(src) ? json_array_get(src, 0) : src);
    if (has_visit) {
        e.visit.id = t + off[F_VID];
        e.visit.e = e.visit.e != NULL ? t + off[F_VE] : NULL;
        e.visit.x = e.visit.x != NULL ? t + off[F_VX] : NULL;
        e.visit.xo = e.visit.xo != NULL ? t + off[F_VXO] : NULL;
        for (int k = 0; k < EVENT_N_ATTRS; k++) {
            e.visit.va.attr[k] = f[F_VA + k] != NULL ? t + off[F_VA + k] : NULL;
        }
    }
    e.site_id = t + off[F_SITE];
    e.event_type = t + off[F_TYPE];
    e.path = f[F_PATH] != NULL ? t + off[F_PATH] : NULL;
    e.user_id = f[F_USER] != NULL ? t + off[F_USER] : NULL;
    e.request_id = f[F_RID] != NULL ? t + off[F_RID] : NULL;
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        e.attr[k] = f[F_ATT + k] != NULL ? t + off[F_ATT + k] : NULL;
    }
    e.properties = json_is_array(src) ? json_array_get(src, 1) : NULL; /* borrowed from src */
    e.src = src;
    *ev = e;
    rc = 0;
done:
    if (text != local) {
        free(text);
    }
    return rc;
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
